"""A day of the collections team on the demo book, through the same services the entry API calls:
the team's users, the open cases assigned by the rules, calls logged, promises taken (the nights
after find them kept or broken), cases sent to agencies, home visits and a lawsuit, vehicles
repossessed with their costs approved and sold, contracts written off over two levels, a recovery after a write-off, and
customers' credit refunded (payouts the next nights send as pain.001). So every collections report has rows after `make demo`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from autofin.domain.money import from_minor
from autofin.origination.access import Principal
from autofin.origination.users import add_user
from autofin.postlease import collections as work
from autofin.postlease import payments
from autofin.postlease.requests import decide, request_refund
from autofin.reference import collection_setup
from autofin.servicing.collections import assign_by_rules
from autofin.store.engine import write_transaction
from autofin.store.models import AppUser, CollectionCase, Contract, Instalment, Vehicle

TEAM = (("collector1", "collector"), ("collector2", "collector"), ("collector3", "collector"), ("supervisor1", "post_loan_supervisor"),
        ("supervisor2", "post_loan_supervisor"), ("director1", "finance_director"), ("finance1", "finance"))


@dataclass
class DayOfWork:
    assigned: int = 0
    contacts: int = 0
    promises: int = 0
    outsourced: int = 0
    lawsuits: int = 0
    visits: int = 0
    repossessed_and_sold: int = 0
    costs_approved: int = 0
    written_off: list[str] = field(default_factory=list)
    recoveries: int = 0
    refunds: int = 0


def _team(engine: Engine) -> dict[str, Principal]:
    with write_transaction(engine) as conn:
        for name, role in TEAM:
            if conn.execute(select(AppUser.user_id).where(AppUser.username == name)).first() is None:
                add_user(conn, name, role, by="demo")
        rows = conn.execute(select(AppUser.user_id, AppUser.username, AppUser.role).where(AppUser.username.in_([n for n, _ in TEAM]))).all()
    return {r.username: Principal(r.user_id, r.username, r.role, None) for r in rows}


def work_the_cases(engine: Engine, d: date, *, cases: int = 60, refunds: int = 3) -> DayOfWork:
    """The team's work on business date `d` (the next date the cycle will run)."""
    team = _team(engine)
    out = DayOfWork()
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        out.assigned = assign_by_rules(conn, d, collection_setup(), now)["cases_assigned"]
        open_cases = conn.execute(select(CollectionCase.collection_case_id, CollectionCase.assignee_user_id, Contract.bucket, Contract.contract_id,
                                         Contract.contract_no, Contract.vehicle_id)
                                  .join(Contract, Contract.contract_id == CollectionCase.contract_id)
                                  .where(CollectionCase.status == "open", Contract.status == "active")
                                  .order_by(Contract.dpd, CollectionCase.collection_case_id)).all()
        by_id = {p.user_id: p for p in team.values()}
        for k, case in enumerate(open_cases[:cases]):
            who = by_id.get(case.assignee_user_id) or team["supervisor1"]
            work.log_contact(conn, who, case.collection_case_id, kind="call", outcome="NA" if k % 3 == 0 else "RPC", party="customer",
                             note=None, today=d)
            out.contacts += 1
            if k % 3 == 1:
                work.log_contact(conn, who, case.collection_case_id, kind="call", outcome="PTP", party="customer", note="承诺还款", today=d)
                owed = work.arrears_of(conn, [case.contract_id]).get(case.contract_id, {})
                amount = min(sum(owed.values()), 1000_00)
                if amount > 0:
                    work.promise(conn, who, case.collection_case_id, amount=from_minor(amount), promised_date=d + timedelta(days=k % 3),
                                 today=d)
                    out.promises += 1
        late = [c for c in open_cases if c.bucket in ("M2", "M3", "M4+")]
        with_vehicle = [c for c in late if c.vehicle_id is not None]
        sell, write_off = with_vehicle[:2], [c for c in late if c.bucket == "M4+"][:2]
        agencies = sorted(collection_setup().agencies)
        chosen = {c.collection_case_id for c in (*sell, *write_off)}
        for n, case in enumerate([c for c in late if c.collection_case_id not in chosen][:6]):
            work.outsource(conn, team["supervisor1"], case.collection_case_id, agency=agencies[n % len(agencies)], days=30, commission_rate=None,
                           today=d)
            work.agency_result(conn, team["supervisor1"], case.collection_case_id, outcome="VIS" if n % 2 else "TPC", note=None, today=d)
            out.outsourced += 1
        rest = [c for c in late if c.collection_case_id not in chosen][6:]
        for case in rest[:2]:  # 家访: dispatched, reported, approved
            visit = work.dispatch_visit(conn, team["supervisor1"], case.collection_case_id, visitor="collector3", address_note="登记住址",
                                        today=d)
            work.report_visit(conn, team["collector3"], visit["visit_id"], outcome="VIS", findings="见到本人，称下月还款", today=d)
            work.review_visit(conn, team["supervisor2"], visit["visit_id"], decision="approve", comment=None, today=d)
            out.visits += 1
        for case in rest[2:3]:  # 诉讼: filed, a hearing set, its court fee approved
            claim = sum(work.arrears_of(conn, [case.contract_id]).get(case.contract_id, {}).values())
            suit = work.file_lawsuit(conn, team["supervisor1"], case.collection_case_id, court="杭州市西湖区人民法院", claim=from_minor(claim),
                                     filed_date=d, court_case_no=None, today=d)
            work.hearing(conn, team["supervisor1"], suit["litigation_id"], hearing_date=d + timedelta(days=30), court_case_no=None)
            asked = work.request_cost(conn, team["supervisor1"], case.collection_case_id, category="legal", amount=Decimal("850.00"),
                                      payee="杭州市西湖区人民法院", reason="诉讼费")
            decide(conn, team["supervisor2"], asked["request_id"], "approve", None, now, d)
            decide(conn, team["director1"], asked["request_id"], "approve", None, now, d)
            out.lawsuits += 1
            out.costs_approved += 1
        for case in sell:
            _repossess_and_sell(conn, team, case, d)
            out.repossessed_and_sold += 1
            out.costs_approved += 2
        for case in write_off:
            if case in sell:
                continue
            asked = work.request_write_off(conn, team["supervisor1"], case.collection_case_id, "逾期超过90天，无法联系，经评估无回收可能")
            decide(conn, team["supervisor2"], asked["request_id"], "approve", "同意核销", now, d)
            decide(conn, team["director1"], asked["request_id"], "approve", "同意", now, d)
            out.written_off.append(case.contract_no)
        if out.written_off:
            contract_no = out.written_off[0]
            payments.record(conn, team["finance1"], contract_no=contract_no, amount=Decimal("800.00"), value_date=d, source="transfer",
                            reference=f"RECOVERY-{contract_no}", payer_name=None, today=d)
            out.recoveries += 1
        # customers' credit refunded over two levels: payouts the next nights send as pain.001 and the bank answers
        credited = conn.execute(select(Contract).where(Contract.status.in_(("active", "paid_off")), Contract.credit_minor >= 100_00)
                                .order_by(Contract.credit_minor.desc(), Contract.contract_id).limit(refunds)).all()
        for contract in credited:
            asked = request_refund(conn, team["finance1"], contract, amount=from_minor(contract.credit_minor), reason="客户申请退还溢缴款",
                                   payee_bank="中国工商银行", payee_account_no=f"62220202{contract.contract_id:011d}", payee_account_name="客户本人")
            decide(conn, team["supervisor1"], asked["request_id"], "approve", None, now, d)
            decide(conn, team["director1"], asked["request_id"], "approve", None, now, d)
            out.refunds += 1
    return out


def _repossess_and_sell(conn: Connection, team: dict[str, Principal], case: Any, d: date) -> None:
    boss = team["supervisor1"]
    order = work.order_repossession(conn, boss, case.collection_case_id, agent=sorted(collection_setup().repossession_agents)[0],
                                    note="客户失联，派单收车", today=d)
    rid = order["repossession_id"]
    work.register_repossession(conn, boss, rid, repossessed_date=d, storage_location="公司合作停车场", today=d)
    for category, amount, payee in (("repossession", Decimal("1500.00"), "收车公司"), ("storage", Decimal("300.00"), "停车场")):
        asked = work.request_cost(conn, team["collector3"], case.collection_case_id, category=category, amount=amount, payee=payee,
                                  reason="收车费用")
        decide(conn, boss, asked["request_id"], "approve", None, datetime.now(UTC), d)
        decide(conn, team["director1"], asked["request_id"], "approve", None, datetime.now(UTC), d)
    price = conn.execute(select(Vehicle.price_minor).where(Vehicle.vehicle_id == case.vehicle_id)).scalar_one()
    outstanding = conn.execute(select(Instalment.principal_minor).where(Instalment.contract_id == case.contract_id)).scalars().all()
    valuation = min(price // 2, sum(outstanding)) // 100 * 100
    work.value_vehicle(conn, boss, rid, valuation=from_minor(valuation), valuer="二手车评估中心", today=d)
    work.sell_vehicle(conn, boss, rid, price=from_minor(valuation * 9 // 10 // 100 * 100), buyer="二手车商", today=d)
