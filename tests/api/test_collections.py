"""The collections workbench and the loss cycle through the API: a case opened by the nightly
cycle, assigned by the rules, worked (contacts, a promise the cycle finds broken), sent to an
agency (commission on what it recovers), the vehicle repossessed, its costs approved, valued and
sold (costs recovered first, the rest through the waterfall), the rest written off over two
levels, and money after the write-off recovered; every amount to the fen in the ledger and in
the warehouse's marts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import duckdb
import pytest
from sqlalchemy import func, select

from autofin.origination.users import add_user
from autofin.reference import calendar, chart_of_accounts, voucher_templates
from autofin.servicing.context import StepContext
from autofin.servicing.cycle import run_step
from autofin.settings import business_today, warehouse_path
from autofin.store.engine import write_transaction
from autofin.store.ledger import account_balances, balances_of, subledger_vs_ledger, trial_balance_as_of
from autofin.store.models import AppUser, CollectionCase, Contract, Instalment, Partner, ProvisionRun, Receipt, Vehicle
from tests.api.conftest import World, make_world
from tests.servicing.test_nightly_reads import book_scans_of, statements_kept

TODAY = business_today()


def step(world: World, name: str, d) -> dict:
    return run_step(world.engine, name, d, StepContext(calendar(), voucher_templates())).counts


def balance(world: World, account: str) -> int:
    with world.engine.connect() as conn:
        return account_balances(conn).get(account, 0)


def ledger_ok(world: World) -> None:
    with world.engine.connect() as conn:
        rows = trial_balance_as_of(conn, TODAY + timedelta(days=365), chart_of_accounts())
        assert sum(r.debit_minor for r in rows) == sum(r.credit_minor for r in rows)
        assert [(t.account, t.difference_minor) for t in subledger_vs_ledger(conn) if t.difference_minor] == []


def decide(world: World, request_id: int, who: str, expect: int = 200) -> dict:
    return world.call("POST", f"/post-lease-requests/{request_id}/decision", who, expect, json={"decision": "approve"}).json()


def vouchers(world: World, contract_no: str, event_type: str) -> list[dict]:
    return [v for v in world.call("GET", f"/contracts/{contract_no}/vouchers", "auditor", 200).json() if v["event_type"] == event_type]


@pytest.fixture
def staff(world: World) -> World:
    with write_transaction(world.engine) as conn:
        for name in ("collector1", "collector2", "collector3"):
            world.tokens[name] = add_user(conn, name, "collector")[1]
    return world


def a_case(world: World) -> tuple[dict, int]:
    """The nightly delinquency opens the book's cases; the one of the contract least past due."""
    step(world, "delinquency", TODAY)
    with world.engine.connect() as conn:
        rows = conn.execute(select(CollectionCase.collection_case_id, Contract.contract_id, Contract.dpd).join(
            Contract, Contract.contract_id == CollectionCase.contract_id).where(
            CollectionCase.status == "open", Contract.vehicle_id.is_not(None)).order_by(Contract.dpd, Contract.contract_id)).all()
    assert rows, "the seeded book has past-due contracts"
    case_id, contract_id = rows[0].collection_case_id, rows[0].contract_id
    return world.call("GET", f"/collection-cases/{case_id}", "post_loan_supervisor", 200).json(), contract_id


def test_a_case_from_opened_to_written_off_and_recovered(staff: World):
    world = staff
    case, contract_id = a_case(world)
    case_id, contract_no = case["case_id"], case["contract_no"]
    assert (case["status"], case["stage"], case["collection_status"], case["assignee"]) == ("open", "soft", "new", None)
    assert case["vehicle"]["inventory_status"] == "leased"

    # batch assignment by the rules (assets/collections.yaml): 50,000 or more owed → HIGH, M1 → EARLY, the rest → LATE
    unassigned = world.call("GET", "/collection-cases?assignee=none&limit=1000", "collector1", 200).json()
    assert case_id in [c["case_id"] for c in unassigned]
    world.call("POST", "/collection-cases/assignment", "post_loan_supervisor", 422, json={})  # which cases, said explicitly
    run = world.call("POST", "/collection-cases/assignment", "post_loan_supervisor", 200, json={"unassigned": True}).json()
    assert run["cases_assigned"] == len(unassigned) and run["cases_left_in_group_queue"] == 0
    for c in unassigned:
        now = world.call("GET", f"/collection-cases/{c['case_id']}", "collector1", 200).json()
        owed = float(c["arrears"]) + float(c["penalty"])
        group = "HIGH" if owed >= 50000 else "EARLY" if c["bucket"] == "M1" else "LATE"
        assert now["group"] == group and now["assignee"] in {"HIGH": ("collector3",), "EARLY": ("collector1", "collector2"),
                                                              "LATE": ("collector3",)}[group]
    world.call("POST", "/collection-cases/assignment", "collector1", 403, json={"unassigned": True})
    # the supervisor puts it on collector1; collector2 may not work it, nor claim it
    world.call("POST", f"/collection-cases/{case_id}/assign", "post_loan_supervisor", 200, json={"username": "collector1"})
    world.call("POST", f"/collection-cases/{case_id}/contacts", "collector2", 403, json={"kind": "call", "outcome": "NA"})
    world.call("POST", f"/collection-cases/{case_id}/claim", "collector2", 409)
    world.call("POST", f"/collection-cases/{case_id}/assign", "post_loan_supervisor", 422, json={"username": "finance"})

    # contacts and a promise, which the night after its date finds broken
    world.call("POST", f"/collection-cases/{case_id}/contacts", "collector1", 201, json={"kind": "call", "outcome": "NA"})
    bad = world.call("POST", f"/collection-cases/{case_id}/contacts", "collector1", 422, json={"kind": "call", "outcome": "XX"}).json()
    assert bad["detail"][0]["loc"][-1] == "outcome"
    called = world.call("POST", f"/collection-cases/{case_id}/contacts", "collector1", 201,
                        json={"kind": "call", "outcome": "PTP", "note": "本人接听，承诺三日内还款"}).json()
    assert [(c["kind"], c["outcome"], c["by"]) for c in called["contacts"]] == [("call", "NA", "collector1"), ("call", "PTP", "collector1")]
    assert called["collection_status"] == "contacting"
    world.call("POST", f"/collection-cases/{case_id}/promises", "collector1", 422,
               json={"amount": "1000.00", "promised_date": (TODAY + timedelta(days=31)).isoformat()})
    promised = world.call("POST", f"/collection-cases/{case_id}/promises", "collector1", 201,
                          json={"amount": "1000.00", "promised_date": (TODAY + timedelta(days=2)).isoformat()}).json()
    assert (promised["status"], promised["amount"], promised["paid"]) == ("open", "1000.00", "0.00")
    world.call("POST", f"/collection-cases/{case_id}/promises", "collector1", 409,
               json={"amount": "500.00", "promised_date": (TODAY + timedelta(days=1)).isoformat()})
    night = step(world, "collections", TODAY + timedelta(days=3))
    assert night["promises_broken"] == 1 and night["promises_kept"] == 0
    case = world.call("GET", f"/collection-cases/{case_id}", "collector1", 200).json()
    assert [(p["status"], p["paid"]) for p in case["promises"]] == [("broken", "0.00")]
    assert case["collection_status"] == "contacting"

    # outsourcing: 12% of what the contract pays while the agency has it
    world.call("POST", f"/collection-cases/{case_id}/outsourcing", "collector1", 403, json={"agency": "AG-SHHT", "days": 30})
    over = world.call("POST", f"/collection-cases/{case_id}/outsourcing", "post_loan_supervisor", 422,
                      json={"agency": "AG-SHHT", "days": 30, "commission_rate": "0.2"}).json()
    assert over["detail"][0]["loc"][-1] == "commission_rate"
    sent = world.call("POST", f"/collection-cases/{case_id}/outsourcing", "post_loan_supervisor", 201,
                      json={"agency": "AG-SHHT", "days": 30}).json()
    assert (sent["status"], sent["commission_rate"], sent["agency"]) == ("active", "0.12", "AG-SHHT")
    world.call("POST", f"/collection-cases/{case_id}/outsourcing/results", "collector1", 201, json={"outcome": "VIS", "note": "上门见到本人"})
    world.call("POST", "/payments", "finance", 201, json={"contract_no": contract_no, "amount": "2000.00", "value_date": TODAY.isoformat(),
                                                          "reference": "TRF-AGENCY-1"})
    step(world, "allocation", TODAY + timedelta(days=4))
    step(world, "vouchers", TODAY + timedelta(days=4))  # the night's receipts on the day's summary voucher
    with statements_kept(world.engine) as seen:
        night = step(world, "collections", TODAY + timedelta(days=4))
    assert (night["agency_recovered_minor"], night["agency_commission_minor"]) == (2000_00, 240_00)
    assert book_scans_of(world.engine, seen) == {}  # no statement of a night of recoveries reads the book whole
    recalled = world.call("POST", f"/collection-cases/{case_id}/outsourcing/recall", "post_loan_supervisor", 200, json={"reason": "收车"}).json()
    assert (recalled["status"], recalled["recovered"], recalled["commission"]) == ("recalled", "2000.00", "240.00")
    assert balance(world, "6603.02") == 240_00 and balance(world, "2202.03") == -240_00
    assert next(v["lines"] for v in vouchers(world, contract_no, "agency_commission"))[0]["debit"] == "240.00"

    # repossession: ordered, the vehicle taken, which only this moves
    order = world.call("POST", f"/collection-cases/{case_id}/repossessions", "post_loan_supervisor", 201, json={"agent": "RA-ZJ01"}).json()
    rid = order["repossession_id"]
    world.call("POST", f"/collection-cases/{case_id}/repossessions", "post_loan_supervisor", 409, json={"agent": "RA-ZJ01"})
    with world.engine.connect() as conn:
        vehicle_id = conn.execute(select(Contract.vehicle_id).where(Contract.contract_id == contract_id)).scalar_one()
    refused = world.call("POST", f"/vehicles/{vehicle_id}/status", "post_loan_supervisor", 409, json={"inventory_status": "repossessed"}).json()
    assert "never by hand" in refused["detail"]
    taken = world.call("POST", f"/repossessions/{rid}/repossessed", "post_loan_supervisor", 200,
                       json={"repossessed_date": TODAY.isoformat(), "storage_location": "杭州萧山停车场 A-12"}).json()
    assert taken["status"] == "repossessed"
    assert world.call("GET", f"/vehicles/{vehicle_id}", "post_loan_supervisor", 200).json()["inventory_status"] == "repossessed"

    # its costs, each approved on two levels, then posted
    ids = []
    for category, amount, payee in (("repossession", "1500.00", "浙江安顺车辆服务有限公司"), ("storage", "800.00", "萧山停车场")):
        asked = world.call("POST", f"/collection-cases/{case_id}/costs", "collector1", 201,
                           json={"category": category, "amount": amount, "payee": payee, "reason": "收车"}).json()
        assert (asked["kind"], asked["chain"]) == ("collection_cost", ["post_loan_supervisor", "finance_director"])
        ids.append(asked["request_id"])
    assert balance(world, "6603.01") == 0  # nothing before the last approval
    for request_id in ids:
        decide(world, request_id, "post_loan_supervisor")
        assert decide(world, request_id, "finance_director")["status"] == "executed"
    assert balance(world, "6603.01") == 2300_00 and balance(world, "2202.02") == -2300_00

    # valued and sold: the costs first, the rest to the contract
    world.call("POST", f"/repossessions/{rid}/valuation", "post_loan_supervisor", 200, json={"valuation": "30000.00", "valuer": "评估公司"})
    low = world.call("POST", f"/repossessions/{rid}/sale", "post_loan_supervisor", 422, json={"price": "20000.00", "buyer": "某二手车行"}).json()
    assert low["detail"][0]["loc"][-1] == "price"
    sold = world.call("POST", f"/repossessions/{rid}/sale", "post_loan_supervisor", 200, json={"price": "28000.00", "buyer": "某二手车行"}).json()
    assert (sold["status"], sold["sale_price"], sold["costs_recovered"]) == ("sold", "28000.00", "2300.00")
    assert world.call("GET", f"/vehicles/{vehicle_id}", "post_loan_supervisor", 200).json()["inventory_status"] == "disposed"
    assert balance(world, "6603.01") == 0
    with world.engine.connect() as conn:
        receipt = conn.execute(select(Receipt).where(Receipt.receipt_id == sold["receipt_id"])).one()
    assert (receipt.source, receipt.amount_minor, receipt.status) == ("disposal", 25700_00, "unapplied")
    refused = world.call("POST", f"/collection-cases/{case_id}/write-off", "finance", 409, json={"reason": "too early"}).json()
    assert "not yet applied" in refused["detail"]
    step(world, "allocation", TODAY + timedelta(days=5))  # the waterfall pays the bills; what is beyond them is credit
    step(world, "vouchers", TODAY + timedelta(days=5))

    # the rest written off: credit set against it first, the loss approved on two levels
    with world.engine.connect() as conn:
        owed = balances_of(conn, contract_id)
        billed_unpaid = conn.execute(select(func.count()).select_from(Instalment).where(
            Instalment.contract_id == contract_id, Instalment.status.in_(("scheduled", "billed")))).scalar_one()
    total = sum(v for k, v in owed.items() if k != "credit_minor")
    credit_used = min(owed["credit_minor"], total)
    loss = total - credit_used
    assert loss > 0 and credit_used > 0
    asked = world.call("POST", f"/collection-cases/{case_id}/write-off", "post_loan_supervisor", 201, json={"reason": "处置后余额无法收回"}).json()
    assert (asked["kind"], asked["amount"]) == ("write_off", f"{loss // 100}.{loss % 100:02d}")
    decide(world, asked["request_id"], "post_loan_supervisor", 403)  # nobody approves their own request
    world.call("POST", f"/collection-cases/{case_id}/write-off", "finance", 409, json={"reason": "twice"})
    loss_before = balance(world, "6702")
    with write_transaction(world.engine) as conn:
        world.tokens["supervisor2"] = add_user(conn, "supervisor2", "post_loan_supervisor")[1]
    decide(world, asked["request_id"], "supervisor2")
    done = decide(world, asked["request_id"], "finance_director")
    assert done["status"] == "executed"
    assert done["executed"]["written_off"] == asked["amount"]
    assert balance(world, "6702") - loss_before == loss
    lines = vouchers(world, contract_no, "write_off")[0]["lines"]
    by_account = {line["account"]: (line["debit"], line["credit"]) for line in lines}
    assert by_account["6702"][0] == asked["amount"]
    assert by_account["1531"][1] == f"{owed['unbilled_principal_minor'] // 100}.{owed['unbilled_principal_minor'] % 100:02d}"
    contract = world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()
    assert contract["status"] == "written_off"
    case = world.call("GET", f"/collection-cases/{case_id}", "collector1", 200).json()
    assert (case["status"], case["stage"], case["close_reason"]) == ("closed", "written_off", "written_off")
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Instalment).where(Instalment.contract_id == contract_id,
                                                                                Instalment.status == "written_off")).scalar_one() == billed_unpaid
        assert balances_of(conn, contract_id) == dict.fromkeys(owed, 0) | {"credit_minor": owed["credit_minor"] - credit_used}
    ledger_ok(world)

    # money after the write-off is a recovery, applied at once
    recovered = world.call("POST", "/payments", "finance", 201, json={"contract_no": contract_no, "amount": "500.00",
                                                                        "value_date": TODAY.isoformat(), "reference": "TRF-RECOVERY-1"}).json()
    assert recovered["status"] == "applied"
    assert balance(world, "6702") - loss_before == loss - 500_00
    ledger_ok(world)

    # the allowance the buckets need, trued up each night: the allowance account holds exactly the last night's need
    step(world, "collections", TODAY + timedelta(days=5))
    with world.engine.connect() as conn:
        need = conn.execute(select(func.sum(ProvisionRun.required_minor)).where(ProvisionRun.business_date == TODAY + timedelta(days=5))).scalar()
    assert need > 0 and balance(world, "1231") == -need

    # the marts, to the fen
    from autofin.reporting.warehouse import build_warehouse

    build_warehouse(world.engine.url.render_as_string(hide_password=False))
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    row = con.execute("SELECT stage, contacts, promises_made, promises_broken, agency_code, agency_recovered, agency_commission, "
                      "costs, costs_recovered, sale_price, written_off, recovered_after_write_off FROM operations.rpt_operations__collection_cases "
                      "WHERE case_id = ?", [case_id]).fetchone()
    from decimal import Decimal
    assert row == ("written_off", 3, 1, 1, "AG-SHHT", Decimal("2000.00"), Decimal("240.00"), Decimal("2300.00"), Decimal("2300.00"),
                   Decimal("28000.00"), Decimal(loss) / 100, Decimal("500.00"))
    agency = con.execute("SELECT cases, recovered, commission FROM operations.rpt_operations__agency_recovery WHERE agency_code = 'AG-SHHT'").fetchone()
    assert agency == (1, Decimal("2000.00"), Decimal("240.00"))
    losses = con.execute("SELECT SUM(written_off), SUM(recovered) FROM operations.rpt_operations__write_offs").fetchone()
    assert losses == (Decimal(loss) / 100, Decimal("500.00"))


def test_who_may_see_and_work_a_case(staff: World):
    world = staff
    case, _ = a_case(world)
    case_id = case["case_id"]
    with world.engine.connect() as conn:
        partner = conn.execute(select(Contract.partner_id).join(CollectionCase, CollectionCase.contract_id == Contract.contract_id)
                               .where(CollectionCase.collection_case_id == case_id)).scalar_one()
        from autofin.store.models import Partner
        codes = dict(conn.execute(select(Partner.partner_code, Partner.partner_id)).all())
    foreign = "dealer_b" if codes[world.dealer_b] != partner else "dealer_a"
    world.call("GET", f"/collection-cases/{case_id}", foreign, 404)  # another dealer's case does not exist for it
    assert case_id not in [c["case_id"] for c in world.call("GET", "/collection-cases?limit=1000", foreign, 200).json()]
    for path, body in ((f"/collection-cases/{case_id}/claim", None), (f"/collection-cases/{case_id}/contacts", {"kind": "call", "outcome": "NA"}),
                       (f"/collection-cases/{case_id}/outsourcing", {"agency": "AG-SHHT", "days": 5}),
                       (f"/collection-cases/{case_id}/repossessions", {"agent": "RA-ZJ01"}),
                       (f"/collection-cases/{case_id}/write-off", {"reason": "x"})):
        world.call("POST", path, "dealer_a", 403, json=body)
        world.call("POST", path, "auditor", 403, json=body)
    # a collector releases a case of their group; one outside the group may not claim it, the member may
    world.call("POST", "/collection-cases/assignment", "post_loan_supervisor", 200, json={"case_ids": [case_id]})
    now = world.call("GET", f"/collection-cases/{case_id}", "collector1", 200).json()
    assignee, group = now["assignee"], now["group"]
    outsider = next(c for c in ("collector1", "collector2", "collector3") if c != assignee and
                    (group == "EARLY") != (c in ("collector1", "collector2")))
    world.call("POST", f"/collection-cases/{case_id}/release", outsider, 403)
    world.call("POST", f"/collection-cases/{case_id}/release", assignee, 200)
    world.call("POST", f"/collection-cases/{case_id}/claim", outsider, 403)  # not a member of the case's group
    other = assignee
    assert world.call("POST", f"/collection-cases/{case_id}/claim", other, 200).json()["assignee"] == other
    notice = world.call("GET", f"/collection-cases/{case_id}/default-notice", other, 200)
    assert notice.headers["content-type"] == "application/pdf" and notice.content.startswith(b"%PDF")
    with world.engine.connect() as conn:
        assert conn.execute(select(Vehicle.vehicle_id)).first() is not None


def test_the_collections_parameters_are_readable_by_every_role(world: World):
    setup = world.call("GET", "/reference/collections", "dealer_a", 200).json()
    assert setup["groups"]["EARLY"]["members"] == ["collector1", "collector2"]
    assert setup["assignment"][0] == {"when": {"arrears_from": "50000.00"}, "group": "HIGH"}
    assert setup["agencies"]["AG-SHHT"] == {"name": "上海华通商务咨询有限公司", "commission_rate": "0.12", "max_days": 60}
    assert setup["provisioning"] == {"current": "0.01", "M1": "0.05", "M2": "0.2", "M3": "0.4", "M4+": "0.7"}


def test_a_lawsuit_and_a_home_visit_on_a_case(staff: World):
    world = staff
    case, _ = a_case(world)
    case_id = case["case_id"]
    with write_transaction(world.engine) as conn:
        world.tokens["supervisor2"] = add_user(conn, "supervisor2", "post_loan_supervisor")[1]

    # 家访: dispatched to collector1, reported by them (and logged as a visit contact), returned once, then approved
    world.call("POST", f"/collection-cases/{case_id}/visits", "collector1", 403, json={"visitor": "collector1"})
    visit = world.call("POST", f"/collection-cases/{case_id}/visits", "post_loan_supervisor", 201,
                       json={"visitor": "collector1", "address_note": "杭州市西湖区某小区"}).json()
    vid = visit["visit_id"]
    assert (visit["status"], visit["visitor"]) == ("dispatched", "collector1")
    world.call("POST", f"/collection-cases/{case_id}/visits", "post_loan_supervisor", 409, json={"visitor": "collector2"})  # one at a time
    world.call("POST", f"/visits/{vid}/report", "collector2", 403, json={"outcome": "VIS", "findings": "x"})  # not theirs
    world.call("POST", f"/visits/{vid}/review", "post_loan_supervisor", 409, json={"decision": "approve"})  # nothing reported yet
    reported = world.call("POST", f"/visits/{vid}/report", "collector1", 200, json={"outcome": "VNF", "findings": "人不在，邻居称已搬走"}).json()
    assert (reported["status"], reported["outcome"]) == ("reported", "VNF")
    assert world.call("POST", f"/visits/{vid}/review", "post_loan_supervisor", 200, json={"decision": "return", "comment": "补充车辆情况"}
                      ).json()["status"] == "dispatched"
    world.call("POST", f"/visits/{vid}/report", "collector1", 200, json={"outcome": "VIS", "findings": "见到本人，车辆在小区停放"})
    approved = world.call("POST", f"/visits/{vid}/review", "supervisor2", 200, json={"decision": "approve"}).json()
    assert (approved["status"], approved["review_comment"]) == ("approved", None)
    contacts = world.call("GET", f"/collection-cases/{case_id}", "collector1", 200).json()["contacts"]
    assert [(c["kind"], c["outcome"], c["by"]) for c in contacts] == [("visit", "VNF", "collector1"), ("visit", "VIS", "collector1")]

    # 诉讼: filed (the case moves to legal), a hearing, the judgement, its costs approved as legal costs, closed
    world.call("POST", f"/collection-cases/{case_id}/litigation", "collector1", 403,
               json={"court": "杭州市西湖区人民法院", "claim": "60000.00", "filed_date": TODAY.isoformat()})
    late = world.call("POST", f"/collection-cases/{case_id}/litigation", "post_loan_supervisor", 422,
                      json={"court": "杭州市西湖区人民法院", "claim": "60000.00", "filed_date": (TODAY + timedelta(days=1)).isoformat()}).json()
    assert late["detail"][0]["loc"][-1] == "filed_date"
    suit = world.call("POST", f"/collection-cases/{case_id}/litigation", "post_loan_supervisor", 201,
                      json={"court": "杭州市西湖区人民法院", "claim": "60000.00", "filed_date": TODAY.isoformat()}).json()
    lid = suit["litigation_id"]
    assert (suit["status"], suit["claim"]) == ("filed", "60000.00")
    assert world.call("GET", f"/collection-cases/{case_id}", "collector1", 200).json()["stage"] == "legal"
    world.call("POST", f"/collection-cases/{case_id}/outsourcing", "post_loan_supervisor", 409, json={"agency": "AG-SHHT", "days": 30})
    world.call("POST", f"/litigation/{lid}/close", "post_loan_supervisor", 422, json={"result": "won"})
    world.call("POST", f"/litigation/{lid}/hearing", "post_loan_supervisor", 200,
               json={"hearing_date": (TODAY + timedelta(days=20)).isoformat(), "court_case_no": "(2026)浙0106民初1234号"})
    judged = world.call("POST", f"/litigation/{lid}/judgement", "post_loan_supervisor", 200,
                        json={"judgement_date": TODAY.isoformat(), "awarded": "58000.00", "note": "支持本金及罚息"}).json()
    assert (judged["status"], judged["awarded"], judged["court_case_no"]) == ("judged", "58000.00", "(2026)浙0106民初1234号")
    asked = world.call("POST", f"/collection-cases/{case_id}/costs", "post_loan_supervisor", 201,
                       json={"category": "legal", "amount": "1250.00", "payee": "杭州市西湖区人民法院", "reason": "诉讼费"}).json()
    decide(world, asked["request_id"], "supervisor2")
    assert decide(world, asked["request_id"], "finance_director")["executed"]["amount"] == "1250.00"
    assert balance(world, "6603.01") == 1250_00 and balance(world, "2202.02") == -1250_00
    closed = world.call("POST", f"/litigation/{lid}/close", "post_loan_supervisor", 200, json={"result": "enforcement_failed"}).json()
    assert (closed["status"], closed["close_result"], closed["closed_date"]) == ("closed", "enforcement_failed", TODAY.isoformat())
    world.call("POST", f"/litigation/{lid}/hearing", "post_loan_supervisor", 409, json={"hearing_date": TODAY.isoformat()})
    detail = world.call("GET", f"/collection-cases/{case_id}", "auditor", 200).json()
    assert detail["stage"] == "soft" and [x["status"] for x in detail["litigation"]] == ["closed"]
    assert [c["category"] for c in detail["costs"]] == ["legal"]
    ledger_ok(world)



@pytest.fixture
def big_world(sqlite_store, tmp_path, monkeypatch) -> Iterator[World]:
    """A book of 400 contracts: enough cases past due to page through and to differ in days."""
    yield from make_world(sqlite_store, tmp_path, monkeypatch, contracts=400)


def test_the_queue_is_worst_first_in_pages_by_every_filter(big_world: World):
    """The work queue against the cases read straight from the tables: most days past due first (then
    the case), pages that follow each other, each filter (bucket, group, assignee by name, me, none)
    and a dealer's own partner only."""
    world = big_world
    with write_transaction(world.engine) as conn:
        for name in ("collector1", "collector2", "collector3"):
            world.tokens[name] = add_user(conn, name, "collector")[1]
    step(world, "delinquency", TODAY)
    opened = [c["case_id"] for c in world.call("GET", "/collection-cases?limit=1000", "post_loan_supervisor", 200).json()]
    # six assigned by the rules (a group and its collector), four by hand, the rest unassigned
    world.call("POST", "/collection-cases/assignment", "post_loan_supervisor", 200, json={"case_ids": opened[2:8]})
    for case_id in opened[8:12]:
        world.call("POST", f"/collection-cases/{case_id}/assign", "post_loan_supervisor", 200, json={"username": "collector2"})
    with world.engine.connect() as conn:
        cases = conn.execute(select(CollectionCase.collection_case_id, Contract.dpd, Contract.bucket, CollectionCase.group_code,
                                    AppUser.username, Partner.partner_code)
                             .join(Contract, Contract.contract_id == CollectionCase.contract_id).join(Partner, Partner.partner_id == Contract.partner_id)
                             .outerjoin(AppUser, AppUser.user_id == CollectionCase.assignee_user_id)
                             .where(CollectionCase.status == "open")).all()
    worst_first = [c.collection_case_id for c in sorted(cases, key=lambda c: (-c.dpd, c.collection_case_id))]
    assert len(worst_first) >= 20 and len({c.dpd for c in cases}) > 10 and len({c.partner_code for c in cases}) > 5

    def ids(who: str = "post_loan_supervisor", **params: object) -> list[int]:
        return [c["case_id"] for c in world.call("GET", "/collection-cases", who, 200, params={"limit": 1000, **params}).json()]

    def kept(keep) -> list[int]:
        by_id = {c.collection_case_id: c for c in cases}
        return [i for i in worst_first if keep(by_id[i])]

    assert ids() == worst_first
    assert ids(limit=3) + ids(limit=3, offset=3) == worst_first[:6]
    grouped = next(c for c in cases if c.group_code is not None)
    assert ids(group=grouped.group_code) == kept(lambda c: c.group_code == grouped.group_code) != []
    for bucket in {c.bucket for c in cases}:
        assert ids(bucket=bucket) == kept(lambda c, b=bucket: c.bucket == b) != []
    assert ids(assignee="collector2") == kept(lambda c: c.username == "collector2") and len(ids(assignee="collector2")) >= 4
    assert ids(assignee="none") == kept(lambda c: c.username is None) and len(ids(assignee="none")) == len(cases) - 10
    assert ids("collector1", assignee="me") == kept(lambda c: c.username == "collector1")
    assert ids(assignee="nobody-by-this-name") == []
    assert ids("dealer_a") == kept(lambda c: c.partner_code == world.dealer_a) != []
