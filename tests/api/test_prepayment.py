"""Partial prepayment (部分提前还款, #17 item 2) through the API: the quote, the money received, the
schedule re-planned (fewer instalments or smaller ones) with the old one kept, the voucher, and the
cycle billing the new instalment. Amounts to the fen."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from autofin.reference import calendar, voucher_templates
from autofin.servicing.context import StepContext
from autofin.servicing.cycle import run_step
from autofin.store.engine import write_transaction
from autofin.store.models import BusinessDay, Contract, Instalment, ScheduleHistory
from tests.api.conftest import World
from tests.api.test_postlease import TODAY, ledger_ok


def scheduled(world: World, contract_no: str) -> list[tuple]:
    with world.engine.connect() as conn:
        cid = conn.execute(select(Contract.contract_id).where(Contract.contract_no == contract_no)).scalar_one()
        return [tuple(r) for r in conn.execute(select(Instalment.seq, Instalment.due_date, Instalment.principal_minor, Instalment.interest_minor)
                                                .where(Instalment.contract_id == cid, Instalment.status == "scheduled").order_by(Instalment.seq))]


def minor(text: str) -> int:
    return int(Decimal(text) * 100)


def test_lower_instalment_then_shorten_term_with_the_old_schedule_kept(world: World):
    contract_no = world.active()
    before = scheduled(world, contract_no)
    outstanding = sum(r[2] for r in before)
    path = f"/contracts/{contract_no}"
    world.call("GET", f"{path}/prepayment-quote?principal=9999.99&option=lower_instalment", "finance", 422)  # under the 10,000.00 minimum
    world.call("GET", f"{path}/prepayment-quote?principal=20000&option=skip", "finance", 422)
    world.call("GET", f"{path}/prepayment-quote?principal=20000&option=lower_instalment", "dealer_b", 404)  # another dealer's contract
    q = world.call("GET", f"{path}/prepayment-quote?principal=20000&option=lower_instalment", "finance", 200).json()
    assert (q["principal"], q["fee"], q["instalments_left"]) == ("20000.00", "600.00", len(before))  # 3% in the first year
    assert minor(q["total"]) == 20000_00 + minor(q["accrued_interest"]) + 600_00
    assert minor(q["instalment_after"]) < minor(q["instalment_before"]) and q["maturity_date"] == before[-1][1].isoformat()
    assert minor(q["outstanding_after"]) == outstanding - 20000_00

    body = {"principal": "20000", "option": "lower_instalment", "amount": "20000.00", "reference": "PP-1"}
    wrong = world.call("POST", f"{path}/prepayments", "finance", 422, json=body).json()["detail"][0]
    assert wrong["msg"].startswith(f"received 20000.00, but paying 20000.00 ahead on {TODAY} is {q['total']}")
    world.call("POST", f"{path}/prepayments", "dealer_a", 403, json={**body, "amount": q["total"]})
    done = world.call("POST", f"{path}/prepayments", "finance", 201, json={**body, "amount": q["total"]}).json()
    assert (done["schedule_version"], done["voucher_debit"], done["voucher_credit"]) == (2, q["total"], q["total"])
    world.call("POST", f"{path}/prepayments", "finance", 409, json={**body, "amount": q["total"], "principal": "20000"})  # the same reference
    after = scheduled(world, contract_no)
    assert [r[1] for r in after] == [r[1] for r in before]  # the same due dates
    assert sum(r[2] for r in after) == outstanding - 20000_00
    assert [(r[2], r[3]) for r in after] == [(minor(x["principal"]), minor(x["interest"])) for x in q["schedule"]]
    voucher = next(v for v in world.call("GET", f"{path}/vouchers", "auditor", 200).json() if v["event_type"] == "partial_prepayment")
    lines = {line["account"]: (line["debit"], line["credit"]) for line in voucher["lines"]}
    assert lines["1002"] == (q["total"], "0.00") and lines["1531"] == ("0.00", "20000.00") and lines["6021"] == ("0.00", "600.00")
    receipt = next(r for r in world.call("GET", f"{path}/receipts", "finance", 200).json() if r["reference"] == "PP-1")
    world.call("POST", f"/receipts/{receipt['receipt_id']}/reversal", "finance", 409, json={"reason": "x"})  # re-planned: not reversed here
    ledger_ok(world)

    # then shorten the term: the same instalment, fewer of them, the maturity earlier
    q2 = world.call("GET", f"{path}/prepayment-quote?principal=30000&option=shorten_term", "finance", 200).json()
    assert q2["instalments_left"] < len(after) and q2["maturity_date"] < q["maturity_date"]
    assert minor(q2["instalment_after"]) <= minor(q2["instalment_before"])
    world.call("POST", f"{path}/prepayments", "finance", 201, json={"principal": "30000", "option": "shorten_term", "amount": q2["total"],
                                                                    "reference": "PP-2"})
    shortened = scheduled(world, contract_no)
    assert len(shortened) == q2["instalments_left"] and sum(r[2] for r in shortened) == outstanding - 50000_00
    contract = world.call("GET", path, "finance", 200).json()
    assert contract["maturity_date"] == q2["maturity_date"]
    with world.engine.connect() as conn:
        kept = conn.execute(select(ScheduleHistory.schedule_version, ScheduleHistory.reason, ScheduleHistory.instalments)
                            .order_by(ScheduleHistory.schedule_version)).all()
    assert [(v, reason, sum(i["status"] == "scheduled" for i in rows)) for v, reason, rows in kept] == [(1, "partial_prepayment:lower_instalment", len(before)),
                                        (2, "partial_prepayment:shorten_term", len(after))]
    ledger_ok(world)

    # the cycle bills the re-planned instalment on its due date
    due = shortened[0][1]
    with write_transaction(world.engine) as conn:
        conn.execute(BusinessDay.__table__.insert().values(business_date=due, status="open", is_bank_day=calendar().is_business_day(due)))
    billed = run_step(world.engine, "billing", due, StepContext(calendar(), voucher_templates())).counts
    assert billed["principal_minor"] >= shortened[0][2] and due - TODAY < timedelta(days=40)
    ledger_ok(world)
