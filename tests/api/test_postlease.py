"""Post-lease through the API: payments by hand and in batches (applied by the nightly allocation),
refunds and reversals through their two-level chain, early settlement, balloon extension; the
vouchers each posts, the ledger still balanced and tied to the contracts."""

from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import Workbook
from sqlalchemy import func, select, update

from autofin.domain.money import vat_inside_minor
from autofin.reference import calendar, chart_of_accounts, voucher_templates
from autofin.servicing.context import StepContext
from autofin.servicing.cycle import run_step
from autofin.settings import business_today
from autofin.store.ledger import subledger_vs_ledger, trial_balance_as_of
from autofin.store.models import (
    Allocation,
    AuditEvent,
    Contract,
    DebitOrder,
    Instalment,
    Partner,
    PostLeaseRequest,
    Receipt,
    ScheduleHistory,
)
from tests.api.conftest import World

TODAY = business_today()


def ledger_ok(world: World) -> None:
    with world.engine.connect() as conn:
        rows = trial_balance_as_of(conn, date(2100, 1, 1), chart_of_accounts())
        assert sum(r.debit_minor for r in rows) == sum(r.credit_minor for r in rows)
        assert [(t.account, t.difference_minor) for t in subledger_vs_ledger(conn) if t.difference_minor] == []


def allocate(world: World) -> dict:
    return run_step(world.engine, "allocation", TODAY, StepContext(calendar(), voucher_templates())).counts


def pay(world: World, contract_no: str, amount: str, reference: str, expect: int = 201, **extra) -> dict:
    body = {"contract_no": contract_no, "amount": amount, "value_date": TODAY.isoformat(), "reference": reference, **extra}
    return world.call("POST", "/payments", "finance", expect, json=body).json()


def credited(world: World, amount: str = "1000.00", reference: str = "TRF-1") -> tuple[str, int]:
    """An active contract with nothing due yet, paid `amount`: after allocation it is all customer credit."""
    contract_no = world.active()
    receipt = pay(world, contract_no, amount, reference)
    allocate(world)
    return contract_no, receipt["receipt_id"]


def decide(world: World, request_id: int, who: str, expect: int = 200, decision: str = "approve") -> dict:
    return world.call("POST", f"/post-lease-requests/{request_id}/decision", who, expect, json={"decision": decision}).json()


def credit(world: World, contract_no: str) -> str:
    return world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()["credit"]


def csv_file(rows: list[str]) -> dict:
    return {"file": ("payments.csv", ("contract_no,amount,value_date,source,reference,payer_name\n" + "\n".join(rows)).encode(), "text/csv")}


def test_payments_by_hand_one_by_one_and_in_batches(world: World):
    contract_no = world.active()
    first = pay(world, contract_no, "1000.00", "TRF-1", payer_name="张三")
    assert (first["status"], first["source"], first["amount"], first["business_date"]) == ("unapplied", "transfer", "1000.00", TODAY.isoformat())
    assert pay(world, contract_no, "1000.00", "TRF-1", 409)["detail"] == "a transfer with reference TRF-1 is already entered"
    assert pay(world, contract_no, "10.00", "TRF-X", 422, value_date="2099-01-01")["detail"][0]["loc"][-1] == "value_date"
    for before in ("1900-01-01", (TODAY - timedelta(days=1)).isoformat()):  # the contract was paid out today
        refused = pay(world, contract_no, "10.00", "TRF-X", 422, value_date=before)["detail"][0]
        assert refused["loc"][-1] == "value_date" and f"before contract {contract_no} began on {TODAY}" in refused["msg"]
    assert pay(world, "AF000000000000", "10.00", "TRF-Y", 422)["detail"][0]["loc"][-1] == "contract_no"
    world.call("POST", "/payments", "dealer_a", 403, json={})

    bad = world.call("POST", "/payments/batch", "finance", 422, files=csv_file([
        f"{contract_no},200.00,{TODAY},corporate,CORP-1,某某公司",
        f"{contract_no},abc,{TODAY},transfer,TRF-2,",
        f"NOSUCH,5.00,{TODAY},transfer,TRF-3,",
        f"{contract_no},5.00,{TODAY},transfer,TRF-1,",
        f"{contract_no},6.00,{TODAY},corporate,CORP-1,",
    ])).json()
    assert bad["entered"] == 0
    assert [(e["row"], e["field"]) for e in bad["errors"]] == [(3, "amount"), (4, "contract_no"), (5, "reference"), (6, "reference")]
    good = world.call("POST", "/payments/batch", "finance", 201, files=csv_file([
        f"{contract_no},200.00,{TODAY},corporate,CORP-1,某某公司", f"{contract_no},300.50,{TODAY},transfer,TRF-2,李四"])).json()
    assert (good["entered"], good["total"]) == (2, "500.50")
    book = Workbook()
    book.active.append(["contract_no", "amount", "value_date", "source", "reference"])
    book.active.append([contract_no, "99.50", TODAY.isoformat(), "transfer", "TRF-XLSX"])
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx = world.call("POST", "/payments/batch", "finance", 201, files={"file": ("p.xlsx", buffer.getvalue(), "application/octet-stream")})
    assert xlsx.json()["entered"] == 1

    counts = allocate(world)  # tonight's allocation: nothing is due yet, so all of it is customer credit
    assert (counts["receipts"], counts["received_minor"], counts["to_credit_minor"]) == (4, 1600_00, 1600_00)
    assert credit(world, contract_no) == "1600.00"
    receipts = world.call("GET", f"/contracts/{contract_no}/receipts", "dealer_a", 200).json()
    assert [(r["reference"], r["status"]) for r in receipts] == [("TRF-1", "applied"), ("CORP-1", "applied"), ("TRF-2", "applied"),
                                                               ("TRF-XLSX", "applied")]
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "receipt.entered",
                                                                              AuditEvent.actor == "finance")).scalar_one() == 4
    ledger_ok(world)


def test_a_refund_runs_its_two_level_chain_then_moves_the_money(world: World):
    contract_no, _ = credited(world)
    too_much = world.call("POST", f"/contracts/{contract_no}/refunds", "finance", 422, json={
        "amount": "5000", "reason": "overpaid", "payee_bank": "ICBC", "payee_account_no": "6222020200112233445",
        "payee_account_name": "张三"}).json()["detail"][0]
    assert (too_much["loc"][-1], too_much["msg"]) == ("amount", f"refund 5000.00 is larger than contract {contract_no}'s customer credit 1000.00")
    asked = world.call("POST", f"/contracts/{contract_no}/refunds", "finance", 201, json={
        "amount": "400", "reason": "overpaid", "payee_bank": "ICBC", "payee_account_no": "6222020200112233445",
        "payee_account_name": "张三"}).json()
    assert (asked["status"], asked["chain"], asked["next_role"]) == ("pending", ["post_loan_supervisor", "finance_director"], "post_loan_supervisor")
    rid = asked["request_id"]
    assert decide(world, rid, "finance_director", 403)["detail"] == "level 1 of a refund is approved by post_loan_supervisor, not finance_director"
    first = decide(world, rid, "post_loan_supervisor")
    assert (first["status"], first["level"], first["next_role"], first["executed"]) == ("pending", 1, "finance_director", None)
    assert credit(world, contract_no) == "1000.00"  # nothing moves before the last approval
    assert [r["request_id"] for r in world.call("GET", "/post-lease-requests?role=finance_director", "finance_director", 200).json()] == [rid]
    done = decide(world, rid, "finance_director")
    assert (done["status"], done["executed"]["refunded"], done["executed"]["credit_left"]) == ("executed", "400.00", "600.00")
    assert credit(world, contract_no) == "600.00"
    decide(world, rid, "finance_director", 409)
    refund = [v for v in world.call("GET", f"/contracts/{contract_no}/vouchers", "auditor", 200).json() if v["event_type"] == "refund"]
    assert [(line["account"], line["debit"], line["credit"]) for line in refund[0]["lines"]] == [
        ("2241.01", "400.00", "0.00"), ("2202.04", "0.00", "400.00")]  # owed to the customer until the bank pays it
    with world.engine.connect() as conn:
        actions = conn.execute(select(AuditEvent.action).where(AuditEvent.entity == "post_lease_request", AuditEvent.entity_id == str(rid))
                               .order_by(AuditEvent.audit_event_id)).scalars().all()
    assert actions == ["post_lease.refund.requested", "post_lease.refund.approve", "post_lease.refund.approve", "post_lease.refund.executed"]
    ledger_ok(world)


def test_a_reversal_takes_back_what_the_receipt_did(world: World):
    contract_no, receipt_id = credited(world)
    asked = world.call("POST", f"/receipts/{receipt_id}/reversal", "finance", 201, json={"reason": "booked to the wrong contract"}).json()
    world.call("POST", f"/receipts/{receipt_id}/reversal", "finance", 409, json={"reason": "twice"})
    decide(world, asked["request_id"], "post_loan_supervisor")
    done = decide(world, asked["request_id"], "finance_director")
    assert done["executed"]["components"]["credit"] == "1000.00" and done["executed"]["reopened"] is False
    assert credit(world, contract_no) == "0.00"
    with world.engine.connect() as conn:
        assert conn.execute(select(Receipt.status).where(Receipt.receipt_id == receipt_id)).scalar_one() == "reversed"
        assert conn.execute(select(func.sum(Allocation.amount_minor)).where(Allocation.receipt_id == receipt_id)).scalar_one() == 0
    reversal = [v for v in world.call("GET", f"/contracts/{contract_no}/vouchers", "auditor", 200).json() if v["event_type"] == "reversal"]
    assert [(line["account"], line["debit"], line["credit"]) for line in reversal[0]["lines"]] == [
        ("2241.01", "1000.00", "0.00"), ("1002", "0.00", "1000.00")]
    ledger_ok(world)


def test_a_reversal_is_refused_with_the_figures_when_the_credit_is_gone(world: World):
    contract_no, receipt_id = credited(world, "500.00")
    refund = world.call("POST", f"/contracts/{contract_no}/refunds", "finance", 201, json={
        "amount": "300", "reason": "asked", "payee_bank": "ICBC", "payee_account_no": "6222020200112233445", "payee_account_name": "张三"}).json()
    decide(world, refund["request_id"], "post_loan_supervisor")
    decide(world, refund["request_id"], "finance_director")
    refused = world.call("POST", f"/receipts/{receipt_id}/reversal", "finance", 422, json={"reason": "error"}).json()["detail"][0]
    assert refused["msg"] == f"receipt {receipt_id} left 500.00 as customer credit, but only 200.00 of credit remains (used or refunded since)"


def test_reversing_a_receipt_of_a_paid_off_contract_needs_the_reopen_rule(world: World):
    contract_no, receipt_id = credited(world)
    with world.engine.begin() as conn:  # as if that receipt had paid the contract off
        conn.execute(update(Contract).where(Contract.contract_no == contract_no).values(status="paid_off", closed_date=TODAY))
    refused = world.call("POST", f"/receipts/{receipt_id}/reversal", "finance", 422, json={"reason": "error"}).json()["detail"][0]
    assert refused["loc"][-1] == "reopen" and "helped pay off contract" in refused["msg"] and "1000.00" in refused["msg"]
    asked = world.call("POST", f"/receipts/{receipt_id}/reversal", "finance", 201, json={"reason": "error", "reopen": True}).json()
    decide(world, asked["request_id"], "post_loan_supervisor")
    rejected = decide(world, asked["request_id"], "finance_director", decision="reject")
    assert (rejected["status"], rejected["executed"]) == ("rejected", None)
    assert world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()["status"] == "paid_off"  # nothing moved
    again = world.call("POST", f"/receipts/{receipt_id}/reversal", "finance", 201, json={"reason": "error", "reopen": True}).json()
    decide(world, again["request_id"], "post_loan_supervisor")
    assert decide(world, again["request_id"], "finance_director")["executed"]["reopened"] is True
    shown = world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()
    assert (shown["status"], shown["closed_date"], shown["credit"]) == ("active", None, "0.00")


def test_early_settlement_of_a_contract_in_arrears(world: World):
    """A migrated contract with billed, unpaid instalments and penalties: the quote, a wrong amount
    refused with the figures, the right amount settling it."""
    with world.engine.connect() as conn:
        row = conn.execute(
            select(Contract.contract_no, Contract.contract_id, Contract.financed_minor, Contract.vat_rate_ppm, Partner.partner_code)
            .join(Partner, Partner.partner_id == Contract.partner_id)
            .where(Contract.status == "active", Contract.contract_id.in_(select(Instalment.contract_id).where(Instalment.status == "billed")),
                   ~Contract.contract_id.in_(select(DebitOrder.contract_id)))
            .order_by(Contract.contract_id).limit(1)).one()
    q = world.call("GET", f"/contracts/{row.contract_no}/settlement-quote", "finance", 200).json()
    assert float(q["unpaid_billed"]) > 0 and q["as_of"] == TODAY.isoformat()
    later = world.call("GET", f"/contracts/{row.contract_no}/settlement-quote?as_of={TODAY + timedelta(days=90)}", "finance", 422)
    assert later.json()["detail"][0]["loc"][-1] == "as_of" and "after today" in later.json()["detail"][0]["msg"]
    wrong = world.call("POST", f"/contracts/{row.contract_no}/early-settlement", "finance", 422,
                       json={"amount": "1.00", "reference": "ES-1"}).json()["detail"][0]
    assert wrong["loc"][-1] == "amount"
    assert wrong["msg"].startswith(f"received 1.00, but the settlement of contract {row.contract_no} on {TODAY} is {q['total']}")
    world.call("POST", f"/contracts/{row.contract_no}/early-settlement", "dealer_a", 403, json={"amount": q["total"], "reference": "ES-1"})
    before = world.call("GET", f"/partners/{row.partner_code}", "finance", 200).json()["exposure"]
    done = world.call("POST", f"/contracts/{row.contract_no}/early-settlement", "finance", 200,
                      json={"amount": q["total"], "reference": "ES-1"}).json()
    assert (done["status"], done["amount"], done["vouchers"]) == ("settled_early", q["total"], 2)
    assert done["voucher_debit"] == done["voucher_credit"] == q["total"]
    after = world.call("GET", f"/partners/{row.partner_code}", "finance", 200).json()["exposure"]
    assert round(float(before["disbursed"]) - float(after["disbursed"]), 2) == row.financed_minor / 100
    with world.engine.connect() as conn:
        statuses = dict(conn.execute(select(Instalment.status, func.count()).where(Instalment.contract_id == row.contract_id)
                                     .group_by(Instalment.status)).all())
        assert set(statuses) <= {"paid", "settled"} and statuses.get("settled", 0) > 0
        allocated = conn.execute(select(func.sum(Allocation.amount_minor)).where(Allocation.receipt_id == done["receipt_id"])).scalar_one()
        assert allocated == round(float(q["total"]) * 100)
        contract = conn.execute(select(Contract).where(Contract.contract_id == row.contract_id)).one()
        assert (contract.status, contract.closed_date, contract.dpd, contract.bucket) == ("settled_early", TODAY, 0, "current")
    vouchers = {v["event_type"]: v for v in world.call("GET", f"/contracts/{row.contract_no}/vouchers", "auditor", 200).json()}
    settlement = {line["account"]: line for line in vouchers["early_settlement"]["lines"]}
    accrued = round(float(q["accrued_interest"]) * 100)
    assert settlement["1531"]["credit"] == q["outstanding_principal"] and settlement.get("6021", {}).get("credit") == q["settlement_fee"]
    if accrued:
        assert settlement["2221.01"]["credit"] == f"{vat_inside_minor(accrued, row.vat_rate_ppm) / 100:.2f}"
    world.call("POST", f"/contracts/{row.contract_no}/early-settlement", "finance", 409, json={"amount": q["total"], "reference": "ES-2"})
    ledger_ok(world)


def test_balloon_extension_replans_the_balloon_and_keeps_the_old_schedule(world: World):
    contract_no = world.active(product_code="BLN-LEASE", term_months=24)
    contract = world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()
    balloon = contract["balloon"]
    assert float(balloon) > 0
    too_long = world.call("POST", f"/contracts/{contract_no}/balloon-extension", "dealer_a", 422, json={"months": 30, "reason": "cash flow"})
    assert too_long.json()["detail"][0]["loc"][-1] == "months"
    asked = world.call("POST", f"/contracts/{contract_no}/balloon-extension", "dealer_a", 201, json={"months": 12, "reason": "cash flow"}).json()
    assert asked["chain"] == ["post_loan_supervisor", "credit_manager"] and len(asked["details"]["new_instalments"]) == 12
    assert round(sum(float(r["principal"]) for r in asked["details"]["new_instalments"]), 2) == float(balloon)
    decide(world, asked["request_id"], "dealer_a", 403)
    decide(world, asked["request_id"], "post_loan_supervisor")
    done = decide(world, asked["request_id"], "credit_manager")["executed"]
    assert (done["schedule_version"], done["instalments_added"], done["balloon_moved"]) == (2, 12, balloon)
    after = world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()
    assert (after["balloon"], after["term_months"], after["schedule_version"]) == ("0.00", 36, 2)
    assert after["maturity_date"] == asked["details"]["new_instalments"][-1]["due_date"]
    with world.engine.connect() as conn:
        c = conn.execute(select(Contract).where(Contract.contract_no == contract_no)).one()
        assert conn.execute(select(func.sum(Instalment.principal_minor), func.count()).where(
            Instalment.contract_id == c.contract_id)).one() == (c.financed_minor, 36)
        history = conn.execute(select(ScheduleHistory).where(ScheduleHistory.contract_id == c.contract_id)).one()
        assert (history.schedule_version, len(history.instalments), history.reason) == (1, 24, "balloon_extension")
        assert sum(i["principal_minor"] for i in history.instalments) == c.financed_minor
        assert conn.execute(select(PostLeaseRequest.status).where(PostLeaseRequest.post_lease_request_id == asked["request_id"])).scalar_one() == "executed"
    # no voucher of its own: the payout of each share and the activation only (the deferred VAT moved with the balloon, tied below)
    assert {v["event_type"] for v in world.call("GET", f"/contracts/{contract_no}/vouchers", "auditor", 200).json()} == {
        "disbursement_payout", "disbursement"}
    world.call("POST", f"/contracts/{contract_no}/balloon-extension", "dealer_a", 409, json={"months": 6, "reason": "again"})
    ledger_ok(world)
