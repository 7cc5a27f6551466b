"""The collections workbench (催收工作台) and the loss cycle, as the entry API drives them.

A collection case is opened and closed by the nightly delinquency step. Here people work it:
collectors claim and release cases, log every contact with an outcome code, take promises to pay
(the nightly collections step marks them kept or broken) and set the case's working status and
category; supervisors assign and reassign, send cases to agencies (委外) and recall them, order a
repossession (收车), record it, value and sell the vehicle (车辆处置). Money moves only through
approval chains and vouchers: a collection cost is asked for and approved (收车、诉讼、家访费用申请),
a write-off (核销) goes through two levels; a sale's proceeds first recover the costs and the rest
is paid to the contract, applied by its waterfall that night.

Every id a request names goes through the contract's scope rule (`contracts.of_contract`); the
reference data (groups, outcomes, agencies, cost categories) is assets/collections.yaml.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from autofin.domain.collections import ProceedsSplit, as_decimal_rate, rate_ppm, split_proceeds
from autofin.domain.errors import InputError, RuleSetError
from autofin.domain.lifecycle import CONTRACT
from autofin.domain.money import format_minor
from autofin.domain.text import checked_text
from autofin.origination.access import Principal, scope
from autofin.origination.audit import audit
from autofin.origination.contracts import of_contract
from autofin.origination.errors import Conflict, Forbidden
from autofin.origination.partners import amount_minor
from autofin.reference import collection_setup, voucher_templates
from autofin.store.engine import iso
from autofin.store.ledger import balances_of, post_contract_events, take_from_suspense
from autofin.store.models import (
    Allocation,
    AppUser,
    CaseOutsourcing,
    CollectionCase,
    CollectionContact,
    CollectionCost,
    Contract,
    Customer,
    FieldVisit,
    Instalment,
    Litigation,
    Partner,
    PromiseToPay,
    Receipt,
    Repossession,
    Vehicle,
)

WORKERS = ("collector", "post_loan_supervisor")  # the roles a case can be assigned to
PROMISE_DAYS = 30  # a promise is for a date within this many days


def _text(value: str | None, field: str, limit: int = 2000) -> str | None:
    if value is None:
        return None
    value = checked_text(value.strip(), field)
    if len(value) > limit:
        raise InputError(field, f"at most {limit} characters")
    return value or None


def get_case(conn: Connection, who: Principal, case_id: int) -> tuple[Any, Any]:
    return of_contract(conn, who, CollectionCase, case_id, "collection case")


def _open_case(conn: Connection, who: Principal, case_id: int) -> tuple[Any, Any]:
    case, contract = get_case(conn, who, case_id)
    if case.status != "open":
        raise Conflict(f"case {case_id} is closed ({case.close_reason or 'cured'} on {case.closed_date})")
    return case, contract


# ---------------------------------------------------------------- reading


def _day(value: date | str | None) -> str | None:
    return None if value is None else (value.isoformat() if isinstance(value, date) else str(value))


BILLED_COMPONENTS = ("principal", "interest", "fee", "penalty")


def billed_unpaid(conn: Connection, contract_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each contract's billed instalments still owe, by component (a contract owing nothing is left out)."""
    if not contract_ids:
        return {}
    rows = conn.execute(
        select(Instalment.contract_id, *(func.sum(getattr(Instalment, f"{c}_minor") - getattr(Instalment, f"paid_{c}_minor"))
                                         for c in BILLED_COMPONENTS))
        .where(Instalment.status == "billed", Instalment.contract_id.in_(contract_ids)).group_by(Instalment.contract_id)).all()
    return {row[0]: {c: int(v or 0) for c, v in zip(BILLED_COMPONENTS, row[1:], strict=True)} for row in rows}


def arrears_of(conn: Connection, contract_ids: list[int]) -> dict[int, dict[str, int]]:
    """Billed and unpaid principal, interest and fees (arrears_minor), and penalty, per contract."""
    return {cid: {"arrears_minor": o["principal"] + o["interest"] + o["fee"], "penalty_minor": o["penalty"]}
            for cid, o in billed_unpaid(conn, contract_ids).items()}


_GLANCE = (
    select(CollectionCase.__table__, Contract.contract_no, Contract.dpd, Contract.bucket, Contract.currency, Contract.status.label("contract_status"),
           Customer.name.label("customer_name"), Customer.mobile, Partner.partner_code, Partner.region,
           Vehicle.vin, Vehicle.model_name, Vehicle.inventory_status, AppUser.username.label("assignee"))
    .join(Contract, Contract.contract_id == CollectionCase.contract_id)
    .join(Customer, Customer.customer_id == Contract.customer_id)
    .join(Partner, Partner.partner_id == Contract.partner_id)
    .outerjoin(Vehicle, Vehicle.vehicle_id == Contract.vehicle_id)
    .outerjoin(AppUser, AppUser.user_id == CollectionCase.assignee_user_id)
)


def _glance(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r.contract_id for r in rows]
    owed = arrears_of(conn, ids)
    case_ids = [r.collection_case_id for r in rows]
    last = {}
    promises = {}
    agencies = {}
    if case_ids:
        latest = (select(CollectionContact.collection_case_id, func.max(CollectionContact.collection_contact_id).label("last_id"))
                  .where(CollectionContact.collection_case_id.in_(case_ids)).group_by(CollectionContact.collection_case_id).subquery())
        last = {r.collection_case_id: r for r in conn.execute(
            select(CollectionContact).join(latest, latest.c.last_id == CollectionContact.collection_contact_id)).all()}
        promises = {r.collection_case_id: r for r in conn.execute(
            select(PromiseToPay).where(PromiseToPay.collection_case_id.in_(case_ids), PromiseToPay.status == "open")).all()}
        agencies = {r.collection_case_id: r.agency_code for r in conn.execute(
            select(CaseOutsourcing.collection_case_id, CaseOutsourcing.agency_code)
            .where(CaseOutsourcing.collection_case_id.in_(case_ids), CaseOutsourcing.status == "active")).all()}
    out = []
    for r in rows:
        o = owed.get(r.contract_id, {"arrears_minor": 0, "penalty_minor": 0})
        contact, promise = last.get(r.collection_case_id), promises.get(r.collection_case_id)
        out.append({
            "case_id": r.collection_case_id, "contract_no": r.contract_no, "status": r.status, "stage": r.stage,
            "collection_status": r.collection_status, "category": r.category, "group": r.group_code, "assignee": r.assignee,
            "opened_date": _day(r.opened_date), "closed_date": _day(r.closed_date), "close_reason": r.close_reason,
            "dpd": r.dpd, "bucket": r.bucket, "worst_bucket": r.worst_bucket, "contract_status": r.contract_status,
            "arrears": format_minor(o["arrears_minor"], r.currency), "penalty": format_minor(o["penalty_minor"], r.currency),
            "customer_name": r.customer_name, "mobile": r.mobile, "partner_code": r.partner_code, "region": r.region,
            "vehicle": None if r.vin is None else {"vin": r.vin, "model": r.model_name, "inventory_status": r.inventory_status},
            "last_contact": None if contact is None else {"date": _day(contact.business_date), "kind": contact.kind, "outcome": contact.outcome},
            "open_promise": None if promise is None else {"amount": format_minor(promise.amount_minor, promise.currency),
                                                          "promised_date": _day(promise.promised_date)},
            "agency": agencies.get(r.collection_case_id),
        })
    return out


def queue(conn: Connection, who: Principal, *, status: str, stage: str | None, bucket: str | None, group: str | None,
          assignee: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Cases by status, stage, bucket, group and assignee ('me', 'none' or a username), worst first.
    The page's cases are picked from the cases and their contracts alone, then read in full: joined to
    customers, partners and vehicles first, every open case of a 1M book (22k) was read and sorted whole
    for each page (150 ms warm, a second cold)."""
    query = (select(CollectionCase.collection_case_id).join(Contract, Contract.contract_id == CollectionCase.contract_id)
             .where(CollectionCase.status == status, scope(who, Contract)))
    if stage:
        query = query.where(CollectionCase.stage == stage)
    if bucket:
        query = query.where(Contract.bucket == bucket)
    if group:
        query = query.where(CollectionCase.group_code == group)
    if assignee == "none":
        query = query.where(CollectionCase.assignee_user_id.is_(None))
    elif assignee == "me":
        query = query.where(CollectionCase.assignee_user_id == who.user_id)
    elif assignee:
        query = query.where(CollectionCase.assignee_user_id == select(AppUser.user_id).where(AppUser.username == assignee).scalar_subquery())
    page = conn.execute(query.order_by(Contract.dpd.desc(), CollectionCase.collection_case_id).limit(limit).offset(offset)).scalars().all()
    rows = {r.collection_case_id: r for r in conn.execute(_GLANCE.where(CollectionCase.collection_case_id.in_(page)))}
    return _glance(conn, [rows[case_id] for case_id in page])


def view(conn: Connection, who: Principal, case_id: int) -> dict[str, Any]:
    _, contract = get_case(conn, who, case_id)
    glance = _glance(conn, [conn.execute(_GLANCE.where(CollectionCase.collection_case_id == case_id)).one()])[0]
    cur = contract.currency
    contacts = conn.execute(select(CollectionContact.__table__, AppUser.username).join(AppUser, AppUser.user_id == CollectionContact.created_by)
                            .where(CollectionContact.collection_case_id == case_id).order_by(CollectionContact.collection_contact_id)).all()
    promises = conn.execute(select(PromiseToPay).where(PromiseToPay.collection_case_id == case_id).order_by(PromiseToPay.promise_to_pay_id)).all()
    outsourcing = conn.execute(select(CaseOutsourcing).where(CaseOutsourcing.collection_case_id == case_id)
                               .order_by(CaseOutsourcing.case_outsourcing_id)).all()
    repossessions = conn.execute(select(Repossession).where(Repossession.collection_case_id == case_id)
                                 .order_by(Repossession.repossession_id)).all()
    costs = conn.execute(select(CollectionCost).where(CollectionCost.collection_case_id == case_id)
                         .order_by(CollectionCost.collection_cost_id)).all()
    lawsuits = conn.execute(select(Litigation).where(Litigation.collection_case_id == case_id).order_by(Litigation.litigation_id)).all()
    visits = conn.execute(_VISITS.where(FieldVisit.collection_case_id == case_id).order_by(FieldVisit.field_visit_id)).all()
    return {
        **glance,
        "contacts": [{"contact_id": c.collection_contact_id, "date": _day(c.business_date), "kind": c.kind, "outcome": c.outcome, "party": c.party,
                      "note": c.note, "agency": c.agency_code, "by": c.username, "at": iso(c.created_at)} for c in contacts],
        "promises": [promise_view(p) for p in promises],
        "outsourcing": [outsourcing_view(o) for o in outsourcing],
        "repossessions": [repossession_view(r) for r in repossessions],
        "costs": [{"cost_id": c.collection_cost_id, "category": c.category, "payee": c.payee, "amount": format_minor(c.amount_minor, cur),
                   "recovered": format_minor(c.recovered_minor, cur), "date": _day(c.business_date), "request_id": c.post_lease_request_id}
                  for c in costs],
        "litigation": [litigation_view(x) for x in lawsuits],
        "visits": [visit_view(v) for v in visits],
    }


def promise_view(p: Any) -> dict[str, Any]:
    return {"promise_id": p.promise_to_pay_id, "case_id": p.collection_case_id, "amount": format_minor(p.amount_minor, p.currency),
            "made_date": _day(p.made_date), "promised_date": _day(p.promised_date), "status": p.status,
            "paid": format_minor(p.paid_minor, p.currency), "resolved_date": _day(p.resolved_date)}


def outsourcing_view(o: Any) -> dict[str, Any]:
    return {"outsourcing_id": o.case_outsourcing_id, "case_id": o.collection_case_id, "agency": o.agency_code, "start_date": _day(o.start_date),
            "end_date": _day(o.end_date), "commission_rate": str(as_decimal_rate(o.commission_rate_ppm)), "status": o.status,
            "ended_date": _day(o.ended_date), "recovered": format_minor(o.recovered_minor, o.currency),
            "commission": format_minor(o.commission_minor, o.currency)}


def repossession_view(r: Any) -> dict[str, Any]:
    money = lambda v: None if v is None else format_minor(v, r.currency)  # noqa: E731
    return {"repossession_id": r.repossession_id, "case_id": r.collection_case_id, "status": r.status, "agent": r.agent_code,
            "ordered_date": _day(r.ordered_date), "repossessed_date": _day(r.repossessed_date), "storage_location": r.storage_location,
            "valuation": money(r.valuation_minor), "valued_date": _day(r.valued_date), "valuer": r.valuer, "sale_price": money(r.sale_minor),
            "sale_date": _day(r.sale_date), "buyer": r.buyer, "costs_recovered": format_minor(r.costs_recovered_minor, r.currency),
            "receipt_id": r.receipt_id, "note": r.note}


# ---------------------------------------------------------------- who works a case


def _worker(conn: Connection, username: str) -> Any:
    user = conn.execute(select(AppUser).where(AppUser.username == username)).first()
    if user is None or not user.is_active or user.role not in WORKERS:
        raise InputError("username", f"{username!r} is not an active collector or post-loan supervisor")
    return user


def _group_of(username: str) -> str | None:
    return next((code for code, members in collection_setup().groups.items() if username in members), None)


def claim(conn: Connection, who: Principal, case_id: int, now: datetime) -> dict[str, Any]:
    """A collector takes an unassigned case (of their own group, when the case has one)."""
    case, _ = _open_case(conn, who, case_id)
    if case.assignee_user_id == who.user_id:
        return view(conn, who, case_id)
    if case.assignee_user_id is not None:
        raise Conflict(f"case {case_id} is assigned to someone else; a supervisor reassigns it")
    group = _group_of(who.username)
    if case.group_code and who.role == "collector" and who.username not in collection_setup().groups.get(case.group_code, ()):
        raise Forbidden(f"case {case_id} belongs to group {case.group_code}; {who.username} is not a member")
    changed = conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id,
                                                        CollectionCase.assignee_user_id.is_(None))
                           .values(assignee_user_id=who.user_id, assigned_at=now, group_code=case.group_code or group)).rowcount
    if not changed:
        raise Conflict(f"case {case_id} was claimed meanwhile")
    audit(conn, who, "collection.claim", "collection_case", case_id, {"assignee_user_id": None}, {"assignee_user_id": who.user_id})
    return view(conn, who, case_id)


def release(conn: Connection, who: Principal, case_id: int) -> dict[str, Any]:
    case, _ = _open_case(conn, who, case_id)
    if case.assignee_user_id is None:
        raise Conflict(f"case {case_id} is not assigned")
    if case.assignee_user_id != who.user_id and who.role != "post_loan_supervisor":
        raise Forbidden("only the assignee or a supervisor releases a case")
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id).values(assignee_user_id=None, assigned_at=None))
    audit(conn, who, "collection.release", "collection_case", case_id, {"assignee_user_id": case.assignee_user_id}, {"assignee_user_id": None})
    return view(conn, who, case_id)


def assign(conn: Connection, who: Principal, case_id: int, username: str, group: str | None, now: datetime) -> dict[str, Any]:
    """A supervisor assigns (or reassigns) a case to a member, in the member's group unless another is named."""
    case, _ = _open_case(conn, who, case_id)
    user = _worker(conn, username)
    groups = collection_setup().groups
    if group is not None and group not in groups:
        raise InputError("group", f"one of {', '.join(groups)}")
    group = group or _group_of(username) or case.group_code
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id)
                 .values(assignee_user_id=user.user_id, assigned_at=now, group_code=group))
    audit(conn, who, "collection.assign", "collection_case", case_id, {"assignee_user_id": case.assignee_user_id, "group": case.group_code},
          {"assignee_user_id": user.user_id, "group": group})
    return view(conn, who, case_id)


def set_status(conn: Connection, who: Principal, case_id: int, collection_status: str | None, category: str | None) -> dict[str, Any]:
    case, _ = _open_case(conn, who, case_id)
    setup = collection_setup()
    if collection_status is not None and collection_status not in setup.statuses:
        raise InputError("collection_status", f"one of {', '.join(setup.statuses)}")
    if category is not None and category not in setup.categories:
        raise InputError("category", f"one of {', '.join(setup.categories)}")
    _must_work(case, who)
    values = {k: v for k, v in (("collection_status", collection_status), ("category", category)) if v is not None}
    if values:
        conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id).values(**values))
        audit(conn, who, "collection.status", "collection_case", case_id,
              {"collection_status": case.collection_status, "category": case.category}, values)
    return view(conn, who, case_id)


def _must_work(case: Any, who: Principal) -> None:
    """A collector works the cases assigned to them; a supervisor any case."""
    if who.role == "collector" and case.assignee_user_id != who.user_id:
        raise Forbidden(f"case {case.collection_case_id} is not assigned to {who.username}; claim it first")


# ---------------------------------------------------------------- contacts and promises


def log_contact(conn: Connection, who: Principal, case_id: int, *, kind: str, outcome: str, party: str, note: str | None,
                today: date) -> dict[str, Any]:
    case, _ = _open_case(conn, who, case_id)
    _must_work(case, who)
    setup = collection_setup()
    if kind not in setup.contact_kinds or kind == "agency":
        raise InputError("kind", f"one of {', '.join(k for k in setup.contact_kinds if k != 'agency')} (agency results have their own route)")
    if outcome not in setup.outcomes:
        raise InputError("outcome", f"one of {', '.join(setup.outcomes)}")
    contact_id = _contact(conn, who, case, kind, outcome, party, _text(note, "note"), None, today)
    if case.collection_status == "new":
        conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id).values(collection_status="contacting"))
    return {"contact_id": contact_id, **view(conn, who, case_id)}


def _contact(conn: Connection, who: Principal, case: Any, kind: str, outcome: str, party: str, note: str | None, agency: str | None,
             today: date) -> int:
    contact_id = conn.execute(insert(CollectionContact).values(
        collection_case_id=case.collection_case_id, contract_id=case.contract_id, kind=kind, outcome=outcome, party=party, note=note,
        agency_code=agency, business_date=today, created_by=who.user_id).returning(CollectionContact.collection_contact_id)).scalar_one()
    audit(conn, who, "collection.contact", "collection_case", case.collection_case_id, None,
          {"contact_id": contact_id, "kind": kind, "outcome": outcome, "party": party, "agency": agency})
    return int(contact_id)


def promise(conn: Connection, who: Principal, case_id: int, *, amount: Decimal, promised_date: date, today: date) -> dict[str, Any]:
    """A promise to pay by a date within PROMISE_DAYS; one open promise per case at a time."""
    case, contract = _open_case(conn, who, case_id)
    _must_work(case, who)
    amount_ = amount_minor("amount", amount, positive=True)
    if not today <= promised_date <= today + timedelta(days=PROMISE_DAYS):
        raise InputError("promised_date", f"from today ({today}) to {today + timedelta(days=PROMISE_DAYS)}")
    owed = sum(arrears_of(conn, [contract.contract_id]).get(contract.contract_id, {}).values())
    if amount_ > owed:
        raise InputError("amount", f"{format_minor(amount_)} is more than the {format_minor(owed)} contract {contract.contract_no} owes now")
    open_ = conn.execute(select(PromiseToPay.promise_to_pay_id, PromiseToPay.promised_date).where(
        PromiseToPay.collection_case_id == case_id, PromiseToPay.status == "open")).first()
    if open_ is not None:
        raise Conflict(f"promise {open_.promise_to_pay_id} for {open_.promised_date} is still open")
    promise_id = conn.execute(insert(PromiseToPay).values(
        collection_case_id=case_id, contract_id=contract.contract_id, amount_minor=amount_, currency=contract.currency, made_date=today,
        promised_date=promised_date, status="open", created_by=who.user_id).returning(PromiseToPay.promise_to_pay_id)).scalar_one()
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id).values(collection_status="promised"))
    audit(conn, who, "collection.promise", "collection_case", case_id, None,
          {"promise_id": promise_id, "amount_minor": amount_, "promised_date": promised_date.isoformat()})
    return promise_view(conn.execute(select(PromiseToPay).where(PromiseToPay.promise_to_pay_id == promise_id)).one())


# ---------------------------------------------------------------- outsourcing (委外)


def outsource(conn: Connection, who: Principal, case_id: int, *, agency: str, days: int, commission_rate: Decimal | None,
              today: date) -> dict[str, Any]:
    case, contract = _open_case(conn, who, case_id)
    agencies = collection_setup().agencies
    if agency not in agencies:
        raise InputError("agency", f"one of {', '.join(agencies)}")
    terms = agencies[agency]
    if not 1 <= days <= terms.max_days:
        raise InputError("days", f"1 to {terms.max_days} days for {agency}")
    try:
        rate = terms.commission_rate_ppm if commission_rate is None else rate_ppm(commission_rate, "commission_rate")
    except RuleSetError:
        raise InputError("commission_rate", "a rate between 0 and 1 with at most six decimal places") from None
    if rate > terms.commission_rate_ppm:
        raise InputError("commission_rate", f"at most {as_decimal_rate(terms.commission_rate_ppm)}, {agency}'s agreed rate")
    if case.stage not in ("soft",):
        raise Conflict(f"case {case_id} is at stage {case.stage}; a case goes to an agency from in-house collection (soft)")
    outsourcing_id = conn.execute(insert(CaseOutsourcing).values(
        collection_case_id=case_id, contract_id=contract.contract_id, agency_code=agency, start_date=today,
        end_date=today + timedelta(days=days - 1), commission_rate_ppm=rate, status="active", currency=contract.currency,
        assigned_by=who.user_id).returning(CaseOutsourcing.case_outsourcing_id)).scalar_one()
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id).values(stage="outsourced"))
    audit(conn, who, "collection.outsource", "collection_case", case_id, {"stage": case.stage},
          {"stage": "outsourced", "outsourcing_id": outsourcing_id, "agency": agency, "days": days, "commission_rate_ppm": rate})
    return outsourcing_view(conn.execute(select(CaseOutsourcing).where(CaseOutsourcing.case_outsourcing_id == outsourcing_id)).one())


def _active_outsourcing(conn: Connection, case_id: int) -> Any:
    row = conn.execute(select(CaseOutsourcing).where(CaseOutsourcing.collection_case_id == case_id,
                                                     CaseOutsourcing.status == "active")).first()
    if row is None:
        raise Conflict(f"case {case_id} is not with an agency")
    return row


def recall(conn: Connection, who: Principal, case_id: int, reason: str | None, today: date) -> dict[str, Any]:
    case, _ = _open_case(conn, who, case_id)
    row = _active_outsourcing(conn, case_id)
    conn.execute(update(CaseOutsourcing).where(CaseOutsourcing.case_outsourcing_id == row.case_outsourcing_id)
                 .values(status="recalled", ended_date=today))
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id, CollectionCase.stage == "outsourced")
                 .values(stage="soft"))
    audit(conn, who, "collection.recall", "collection_case", case_id, {"stage": case.stage},
          {"stage": "soft", "outsourcing_id": row.case_outsourcing_id, "reason": _text(reason, "reason")})
    return outsourcing_view(conn.execute(select(CaseOutsourcing).where(CaseOutsourcing.case_outsourcing_id == row.case_outsourcing_id)).one())


def agency_result(conn: Connection, who: Principal, case_id: int, *, outcome: str, note: str | None, today: date) -> dict[str, Any]:
    """What the agency reports (a visit, a call, a promise), logged on the case as kind agency."""
    case, _ = _open_case(conn, who, case_id)
    row = _active_outsourcing(conn, case_id)
    if outcome not in collection_setup().outcomes:
        raise InputError("outcome", f"one of {', '.join(collection_setup().outcomes)}")
    contact_id = _contact(conn, who, case, "agency", outcome, "customer", _text(note, "note"), row.agency_code, today)
    return {"contact_id": contact_id, **view(conn, who, case_id)}


# ---------------------------------------------------------------- repossession and disposal (收车, 车辆处置)


def _vehicle_to(conn: Connection, who: Principal, vehicle_id: int, target: str, why: str) -> None:
    """The vehicle's inventory status, moved by a repossession event (never by hand)."""
    from autofin.domain.lifecycle import VEHICLE

    current = conn.execute(select(Vehicle.inventory_status).where(Vehicle.vehicle_id == vehicle_id)).scalar_one()
    VEHICLE.check(current, target)
    conn.execute(update(Vehicle).where(Vehicle.vehicle_id == vehicle_id).values(inventory_status=target))
    audit(conn, who, "vehicle.status", "vehicle", vehicle_id, {"inventory_status": current}, {"inventory_status": target, "reason": why})


def get_repossession(conn: Connection, who: Principal, repossession_id: int) -> tuple[Any, Any]:
    return of_contract(conn, who, Repossession, repossession_id, "repossession")


def order_repossession(conn: Connection, who: Principal, case_id: int, *, agent: str, note: str | None, today: date) -> dict[str, Any]:
    _, contract = _open_case(conn, who, case_id)
    agents = collection_setup().repossession_agents
    if agent not in agents:
        raise InputError("agent", f"one of {', '.join(agents)}")
    if contract.vehicle_id is None:
        raise Conflict(f"contract {contract.contract_no} has no vehicle on record")
    if contract.status != "active":
        raise Conflict(f"contract {contract.contract_no} is {contract.status}")
    running = conn.execute(select(Repossession.repossession_id, Repossession.status).where(
        Repossession.contract_id == contract.contract_id, Repossession.status.in_(("ordered", "repossessed", "valued")))).first()
    if running is not None:
        raise Conflict(f"repossession {running.repossession_id} of this vehicle is {running.status}")
    active = conn.execute(select(CaseOutsourcing.case_outsourcing_id).where(CaseOutsourcing.collection_case_id == case_id,
                                                                             CaseOutsourcing.status == "active")).first()
    if active is not None:
        raise Conflict(f"case {case_id} is with an agency (assignment {active.case_outsourcing_id}); recall it first")
    repossession_id = conn.execute(insert(Repossession).values(
        collection_case_id=case_id, contract_id=contract.contract_id, vehicle_id=contract.vehicle_id, status="ordered", agent_code=agent,
        ordered_date=today, currency=contract.currency, note=_text(note, "note"), ordered_by=who.user_id)
        .returning(Repossession.repossession_id)).scalar_one()
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id).values(stage="repossession"))
    audit(conn, who, "repossession.ordered", "repossession", repossession_id, None, {"case_id": case_id, "agent": agent})
    return repossession_view(conn.execute(select(Repossession).where(Repossession.repossession_id == repossession_id)).one())


def _advance(conn: Connection, who: Principal, model: Any, key: int, entity: str, allowed: tuple[str, ...], target: str,
             **values: Any) -> Any:
    """A repossession's or a lawsuit's status moved on, from one of `allowed` only, in one conditional
    UPDATE (of two people acting at once exactly one wins), and audited. Returns the row as it was."""
    row, _ = of_contract(conn, who, model, key, entity)
    if row.status not in allowed:
        raise Conflict(f"{entity} {key} is {row.status}; it becomes {target} from {' or '.join(allowed)} only")
    primary = model.__table__.primary_key.columns.values()[0]
    changed = conn.execute(update(model).where(primary == key, model.status == row.status).values(status=target, **values)).rowcount
    if not changed:
        raise Conflict(f"{entity} {key} changed meanwhile")
    audit(conn, who, f"{model.__tablename__}.{target}", model.__tablename__, key, {"status": row.status},
          {"status": target, **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}})
    return row


def _move(conn: Connection, who: Principal, repossession_id: int, allowed: tuple[str, ...], target: str, **values: Any) -> Any:
    return _advance(conn, who, Repossession, repossession_id, "repossession", allowed, target, **values)


def register_repossession(conn: Connection, who: Principal, repossession_id: int, *, repossessed_date: date, storage_location: str,
                          today: date) -> dict[str, Any]:
    """The vehicle is taken (收车登记): it becomes `repossessed`."""
    if repossessed_date > today:
        raise InputError("repossessed_date", f"not after today ({today})")
    row = _move(conn, who, repossession_id, ("ordered",), "repossessed", repossessed_date=repossessed_date,
                storage_location=_text(storage_location, "storage_location", 200))
    if repossessed_date < row.ordered_date:
        raise InputError("repossessed_date", f"not before the order ({row.ordered_date})")
    _vehicle_to(conn, who, row.vehicle_id, "repossessed", f"repossession {repossession_id}")
    return repossession_view(conn.execute(select(Repossession).where(Repossession.repossession_id == repossession_id)).one())


def cancel_repossession(conn: Connection, who: Principal, repossession_id: int) -> dict[str, Any]:
    row = _move(conn, who, repossession_id, ("ordered",), "cancelled")
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == row.collection_case_id,
                                              CollectionCase.stage == "repossession").values(stage="soft"))
    return repossession_view(conn.execute(select(Repossession).where(Repossession.repossession_id == repossession_id)).one())


def release_vehicle(conn: Connection, who: Principal, repossession_id: int) -> dict[str, Any]:
    """The vehicle goes back to the customer (the arrears were settled or agreed): leased again."""
    row = _move(conn, who, repossession_id, ("repossessed", "valued"), "released")
    _vehicle_to(conn, who, row.vehicle_id, "leased", f"repossession {repossession_id} released")
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == row.collection_case_id,
                                              CollectionCase.stage == "repossession").values(stage="soft"))
    return repossession_view(conn.execute(select(Repossession).where(Repossession.repossession_id == repossession_id)).one())


def value_vehicle(conn: Connection, who: Principal, repossession_id: int, *, valuation: Decimal, valuer: str, today: date) -> dict[str, Any]:
    """The repossessed vehicle's valuation (车辆评估): the price a sale is held against."""
    amount = amount_minor("valuation", valuation, positive=True)
    _move(conn, who, repossession_id, ("repossessed", "valued"), "valued", valuation_minor=amount, valued_date=today,
          valuer=_text(valuer, "valuer", 200))
    return repossession_view(conn.execute(select(Repossession).where(Repossession.repossession_id == repossession_id)).one())


def unrecovered_costs(conn: Connection, contract_id: int) -> list[Any]:
    return list(conn.execute(select(CollectionCost).where(CollectionCost.contract_id == contract_id,
                                                          CollectionCost.recovered_minor < CollectionCost.amount_minor)
                             .order_by(CollectionCost.collection_cost_id)).all())


def sell_vehicle(conn: Connection, who: Principal, repossession_id: int, *, price: Decimal, buyer: str, today: date,
                 min_ratio: Decimal = Decimal("0.8")) -> dict[str, Any]:
    """The vehicle sold (处置): it becomes `disposed`; the proceeds recover the collection costs
    first (cost_recovery voucher) and the rest is a receipt for the contract that tonight's allocation
    applies by its waterfall, any surplus becoming the customer's credit. A price under 80% of the
    valuation is refused: such a sale is valued again first."""
    row, contract = get_repossession(conn, who, repossession_id)
    proceeds = amount_minor("price", price, positive=True)
    if row.status == "valued" and proceeds * 10 < row.valuation_minor * int(min_ratio * 10):
        raise InputError("price", f"{format_minor(proceeds)} is under {min_ratio:.0%} of the valuation {format_minor(row.valuation_minor)}; "
                                  "have the vehicle valued again")
    _move(conn, who, repossession_id, ("valued",), "sold", sale_minor=proceeds, sale_date=today, buyer=_text(buyer, "buyer", 200))
    costs = unrecovered_costs(conn, contract.contract_id)
    split: ProceedsSplit = split_proceeds(proceeds, sum(c.amount_minor - c.recovered_minor for c in costs))
    left = split.costs_recovered_minor
    for c in costs:  # oldest cost first
        part = min(left, c.amount_minor - c.recovered_minor)
        if part:
            conn.execute(update(CollectionCost).where(CollectionCost.collection_cost_id == c.collection_cost_id)
                         .values(recovered_minor=CollectionCost.recovered_minor + part))
            left -= part
    if split.costs_recovered_minor:
        post_contract_events(conn, f"disposal:{repossession_id}", contract, today,
                             [{"event_type": "cost_recovery", "event_key": f"cost_recovery:{repossession_id}",
                               "amount_minor": split.costs_recovered_minor}], voucher_templates())
    receipt_id = None
    if split.to_contract_minor:
        receipt_id = conn.execute(insert(Receipt).values(
            contract_id=contract.contract_id, source="disposal", source_ref=f"disposal:{repossession_id}", amount_minor=split.to_contract_minor,
            currency=contract.currency, value_date=today, business_date=today, status="unapplied", payer_name=_text(buyer, "buyer", 200),
            created_by=who.user_id).returning(Receipt.receipt_id)).scalar_one()
    conn.execute(update(Repossession).where(Repossession.repossession_id == repossession_id)
                 .values(costs_recovered_minor=split.costs_recovered_minor, receipt_id=receipt_id))
    _vehicle_to(conn, who, row.vehicle_id, "disposed", f"repossession {repossession_id} sold")
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == row.collection_case_id).values(stage="disposal"))
    audit(conn, who, "repossession.proceeds", "repossession", repossession_id, None,
          {"proceeds_minor": proceeds, "costs_recovered_minor": split.costs_recovered_minor, "to_contract_minor": split.to_contract_minor,
           "receipt_id": receipt_id})
    return repossession_view(conn.execute(select(Repossession).where(Repossession.repossession_id == repossession_id)).one())


# ---------------------------------------------------------------- litigation (诉讼) and home visits (家访)

CLOSE_RESULTS = ("paid", "settled", "enforcement_failed", "withdrawn", "lost")


def litigation_view(x: Any) -> dict[str, Any]:
    money = lambda v: None if v is None else format_minor(v, x.currency)  # noqa: E731
    return {"litigation_id": x.litigation_id, "case_id": x.collection_case_id, "status": x.status, "court": x.court,
            "court_case_no": x.court_case_no, "claim": format_minor(x.claim_minor, x.currency), "filed_date": _day(x.filed_date),
            "hearing_date": _day(x.hearing_date), "judgement_date": _day(x.judgement_date), "awarded": money(x.awarded_minor),
            "judgement_note": x.judgement_note, "closed_date": _day(x.closed_date), "close_result": x.close_result, "close_note": x.close_note}


def get_litigation(conn: Connection, who: Principal, litigation_id: int) -> tuple[Any, Any]:
    return of_contract(conn, who, Litigation, litigation_id, "litigation")


def _litigation(conn: Connection, litigation_id: int) -> dict[str, Any]:
    return litigation_view(conn.execute(select(Litigation).where(Litigation.litigation_id == litigation_id)).one())


def file_lawsuit(conn: Connection, who: Principal, case_id: int, *, court: str, claim: Decimal, filed_date: date, court_case_no: str | None,
                 today: date) -> dict[str, Any]:
    """A lawsuit filed (诉讼登记): the case moves to the legal stage (recall it from an agency first)."""
    case, contract = _open_case(conn, who, case_id)
    claim_ = amount_minor("claim", claim, positive=True)
    if filed_date > today:
        raise InputError("filed_date", f"not after today ({today})")
    if case.stage not in ("soft", "legal"):
        raise Conflict(f"case {case_id} is at stage {case.stage}; a lawsuit is filed from in-house collection")
    running = conn.execute(select(Litigation.litigation_id).where(Litigation.collection_case_id == case_id,
                                                                  Litigation.status != "closed")).first()
    if running is not None:
        raise Conflict(f"lawsuit {running.litigation_id} of this case is still open")
    litigation_id = conn.execute(insert(Litigation).values(
        collection_case_id=case_id, contract_id=contract.contract_id, status="filed", court=_text(court, "court", 200),
        court_case_no=_text(court_case_no, "court_case_no", 64), claim_minor=claim_, currency=contract.currency, filed_date=filed_date,
        filed_by=who.user_id).returning(Litigation.litigation_id)).scalar_one()
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == case_id).values(stage="legal"))
    audit(conn, who, "litigation.filed", "litigation", litigation_id, None, {"case_id": case_id, "claim_minor": claim_})
    return _litigation(conn, litigation_id)


def _step(conn: Connection, who: Principal, litigation_id: int, allowed: tuple[str, ...], target: str, **values: Any) -> Any:
    return _advance(conn, who, Litigation, litigation_id, "litigation", allowed, target, **values)


def hearing(conn: Connection, who: Principal, litigation_id: int, *, hearing_date: date, court_case_no: str | None) -> dict[str, Any]:
    row, _ = get_litigation(conn, who, litigation_id)
    if hearing_date < row.filed_date:
        raise InputError("hearing_date", f"not before the filing ({row.filed_date})")
    _step(conn, who, litigation_id, ("filed", "hearing"), "hearing", hearing_date=hearing_date,
          court_case_no=_text(court_case_no, "court_case_no", 64) or row.court_case_no)
    return _litigation(conn, litigation_id)


def judgement(conn: Connection, who: Principal, litigation_id: int, *, judgement_date: date, awarded: Decimal, note: str | None,
              today: date) -> dict[str, Any]:
    row, _ = get_litigation(conn, who, litigation_id)
    awarded_ = amount_minor("awarded", awarded)
    if not row.filed_date <= judgement_date <= today:
        raise InputError("judgement_date", f"from the filing ({row.filed_date}) to today ({today})")
    _step(conn, who, litigation_id, ("filed", "hearing"), "judged", judgement_date=judgement_date, awarded_minor=awarded_,
          judgement_note=_text(note, "note"))
    return _litigation(conn, litigation_id)


def close_lawsuit(conn: Connection, who: Principal, litigation_id: int, *, result: str, note: str | None, today: date) -> dict[str, Any]:
    """The lawsuit closed (诉讼结案) with its result; the case goes back to in-house collection if still open."""
    if result not in CLOSE_RESULTS:
        raise InputError("result", f"one of {', '.join(CLOSE_RESULTS)}")
    row = _step(conn, who, litigation_id, ("filed", "hearing", "judged"), "closed", closed_date=today, close_result=result,
                close_note=_text(note, "note"))
    conn.execute(update(CollectionCase).where(CollectionCase.collection_case_id == row.collection_case_id, CollectionCase.stage == "legal")
                 .values(stage="soft"))
    return _litigation(conn, litigation_id)


def visit_view(v: Any) -> dict[str, Any]:
    return {"visit_id": v.field_visit_id, "case_id": v.collection_case_id, "status": v.status, "visitor": v.visitor,
            "address_note": v.address_note, "dispatched_date": _day(v.dispatched_date), "reported_date": _day(v.reported_date),
            "outcome": v.outcome, "findings": v.findings, "review_comment": v.review_comment, "reviewed_date": _day(v.reviewed_date)}


_VISITS = select(FieldVisit.__table__, AppUser.username.label("visitor")).join(AppUser, AppUser.user_id == FieldVisit.visitor_user_id)


def get_visit(conn: Connection, who: Principal, visit_id: int) -> tuple[Any, Any]:
    return of_contract(conn, who, FieldVisit, visit_id, "visit")


def visit_of(conn: Connection, visit_id: int) -> dict[str, Any]:
    return visit_view(conn.execute(_VISITS.where(FieldVisit.field_visit_id == visit_id)).one())


def dispatch_visit(conn: Connection, who: Principal, case_id: int, *, visitor: str, address_note: str | None, today: date) -> dict[str, Any]:
    """A home visit dispatched to a collector (家访派单); one open visit per case."""
    _, contract = _open_case(conn, who, case_id)
    user = _worker(conn, visitor)
    running = conn.execute(select(FieldVisit.field_visit_id).where(FieldVisit.collection_case_id == case_id,
                                                                   FieldVisit.status.in_(("dispatched", "reported")))).first()
    if running is not None:
        raise Conflict(f"visit {running.field_visit_id} of this case is not yet reviewed")
    visit_id = conn.execute(insert(FieldVisit).values(
        collection_case_id=case_id, contract_id=contract.contract_id, status="dispatched", visitor_user_id=user.user_id,
        address_note=_text(address_note, "address_note", 500), dispatched_date=today, dispatched_by=who.user_id)
        .returning(FieldVisit.field_visit_id)).scalar_one()
    audit(conn, who, "visit.dispatched", "field_visit", visit_id, None, {"case_id": case_id, "visitor": visitor})
    return visit_of(conn, visit_id)


def report_visit(conn: Connection, who: Principal, visit_id: int, *, outcome: str, findings: str, today: date) -> dict[str, Any]:
    """The visitor's report (家访登记): also logged on the case as a visit contact."""
    row, _ = get_visit(conn, who, visit_id)
    if row.visitor_user_id != who.user_id:
        raise Forbidden(f"visit {visit_id} was dispatched to another collector")
    if row.status != "dispatched":
        raise Conflict(f"visit {visit_id} is {row.status}")
    if outcome not in ("VIS", "VNF"):
        raise InputError("outcome", "VIS (customer met) or VNF (not found)")
    findings_ = _text(findings, "findings")
    if not findings_:
        raise InputError("findings", "what was found: the customer, the vehicle, the address")
    case = conn.execute(select(CollectionCase).where(CollectionCase.collection_case_id == row.collection_case_id)).one()
    conn.execute(update(FieldVisit).where(FieldVisit.field_visit_id == visit_id)
                 .values(status="reported", reported_date=today, outcome=outcome, findings=findings_))
    _contact(conn, who, case, "visit", outcome, "customer", findings_, None, today)
    audit(conn, who, "visit.reported", "field_visit", visit_id, {"status": "dispatched"}, {"status": "reported", "outcome": outcome})
    return visit_of(conn, visit_id)


def review_visit(conn: Connection, who: Principal, visit_id: int, *, decision: str, comment: str | None, today: date) -> dict[str, Any]:
    """A supervisor's review (家访审核): approve, or return the report to the visitor."""
    row, _ = get_visit(conn, who, visit_id)
    if decision not in ("approve", "return"):
        raise InputError("decision", "approve or return")
    if row.status != "reported":
        raise Conflict(f"visit {visit_id} is {row.status}; a report is reviewed")
    if row.visitor_user_id == who.user_id:
        raise Forbidden("nobody reviews their own visit")
    target = "approved" if decision == "approve" else "dispatched"
    conn.execute(update(FieldVisit).where(FieldVisit.field_visit_id == visit_id).values(
        status=target, reviewed_by=who.user_id, review_comment=_text(comment, "comment"), reviewed_date=today))
    audit(conn, who, f"visit.{decision}", "field_visit", visit_id, {"status": "reported"}, {"status": target, "comment": comment})
    return visit_of(conn, visit_id)


# ---------------------------------------------------------------- money asked for: costs and write-off


def request_cost(conn: Connection, who: Principal, case_id: int, *, category: str, amount: Decimal, payee: str, reason: str) -> dict[str, Any]:
    from autofin.postlease.requests import new_request

    case, contract = get_case(conn, who, case_id)
    categories = collection_setup().cost_categories
    if category not in categories:
        raise InputError("category", f"one of {', '.join(categories)}")
    amount_ = amount_minor("amount", amount, positive=True)
    payee_ = _text(payee, "payee", 200)
    if not payee_:
        raise InputError("payee", "who is paid: the repossession agent, the court, the valuer")
    return new_request(conn, who, "collection_cost", contract, amount_, reason,
                       {"case_id": case.collection_case_id, "category": category, "payee": payee_}, unique=False)


def execute_cost(conn: Connection, who: Principal, r: Any, contract: Any, today: date) -> dict[str, Any]:
    cost_id = conn.execute(insert(CollectionCost).values(
        collection_case_id=r.details["case_id"], contract_id=contract.contract_id, category=r.details["category"], payee=r.details["payee"],
        amount_minor=r.amount_minor, currency=contract.currency, business_date=today, post_lease_request_id=r.post_lease_request_id)
        .returning(CollectionCost.collection_cost_id)).scalar_one()
    posted = post_contract_events(conn, f"collection_cost:{cost_id}", contract, today,
                                  [{"event_type": "collection_cost", "event_key": f"collection_cost:{cost_id}", "amount_minor": r.amount_minor}],
                                  voucher_templates())
    return {"cost_id": cost_id, "category": r.details["category"], "amount": format_minor(r.amount_minor),
            "voucher_debit": format_minor(posted.debit_minor)}


WRITE_OFF_PARTS = {"outstanding_principal": "unbilled_principal_minor", "principal": "principal_minor", "interest": "interest_minor",
                   "fee": "fee_minor", "penalty": "penalty_minor"}


def _write_off_plan(conn: Connection, contract: Any) -> dict[str, int]:
    if contract.status != "active":
        raise Conflict(f"contract {contract.contract_no} is {contract.status}; only an active contract is written off")
    balances = balances_of(conn, contract.contract_id)
    parts = {name: balances[column] for name, column in WRITE_OFF_PARTS.items()}
    owed = sum(parts.values())
    credit = min(contract.credit_minor, owed)
    # the interest and penalty held in suspense were never income: reversed against what is written
    # off (penalty first); what suspense exceeds the rest by was paid meanwhile, and is released as income
    reverse_penalty = min(contract.suspended_penalty_minor, owed - credit)
    reverse_interest = min(contract.suspended_interest_minor, owed - credit - reverse_penalty)
    # a direct lease's VAT deferred on the unbilled principal is never owed: the loss is that much less
    deferred_vat = balances["deferred_vat_minor"]
    return {**parts, "credit": credit, "suspense": reverse_penalty + reverse_interest, "principal_vat": deferred_vat,
            "release_interest": contract.suspended_interest_minor - reverse_interest,
            "release_penalty": contract.suspended_penalty_minor - reverse_penalty,
            "loss": owed - credit - reverse_penalty - reverse_interest - deferred_vat}


def request_write_off(conn: Connection, who: Principal, case_id: int, reason: str) -> dict[str, Any]:
    from autofin.postlease.requests import new_request

    case, contract = _open_case(conn, who, case_id)
    if conn.execute(select(Receipt.receipt_id).where(Receipt.contract_id == contract.contract_id, Receipt.status == "unapplied")).first():
        raise Conflict(f"contract {contract.contract_no} has money received and not yet applied; ask after tonight's allocation")
    if conn.execute(select(Repossession.repossession_id).where(Repossession.contract_id == contract.contract_id,
                                                               Repossession.status.in_(("ordered", "repossessed", "valued")))).first():
        raise Conflict(f"contract {contract.contract_no}'s vehicle is being repossessed or sold; the proceeds come first")
    plan = _write_off_plan(conn, contract)
    if plan["loss"] <= 0:
        raise Conflict(f"contract {contract.contract_no} owes nothing beyond its customer credit; nothing to write off")
    return new_request(conn, who, "write_off", contract, plan["loss"], reason, {"case_id": case.collection_case_id, "as_asked_minor": plan})


def execute_write_off(conn: Connection, who: Principal, r: Any, contract: Any, today: date) -> dict[str, Any]:
    """Every balance of the contract taken off the books as they stand now (penalty may have grown
    since the request): the customer's credit set against them first and the interest and penalty
    held in suspense (non-accrual) reversed, the rest to credit losses.
    Its open instalments become written_off, the contract written_off, the case closed."""
    CONTRACT.check(contract.status, "written_off")
    plan = _write_off_plan(conn, contract)
    if conn.execute(select(Receipt.receipt_id).where(Receipt.contract_id == contract.contract_id, Receipt.status == "unapplied")).first():
        raise Conflict(f"contract {contract.contract_no} has money received and not yet applied; approve after tonight's allocation")
    events: list[dict[str, Any]] = []
    if plan["release_interest"] or plan["release_penalty"]:
        events.append({"event_type": "suspense_release", "event_key": f"suspense_release:write_off:{contract.contract_id}",
                       "interest_minor": plan["release_interest"], "penalty_minor": plan["release_penalty"]})
    events.append({"event_type": "write_off", "event_key": f"write_off:{contract.contract_id}", "amount_minor": plan["suspense"],
                   **{f"{name}_minor": plan[name] for name in (*WRITE_OFF_PARTS, "credit", "principal_vat")}})
    posted = post_contract_events(conn, f"write_off:{r.post_lease_request_id}", contract, today, events, voucher_templates())
    conn.execute(update(Instalment).where(Instalment.contract_id == contract.contract_id, Instalment.status.in_(("scheduled", "billed")))
                 .values(status="written_off"))
    conn.execute(update(Contract).where(Contract.contract_id == contract.contract_id)
                 .values(status="written_off", closed_date=today, credit_minor=Contract.credit_minor - plan["credit"]))
    # all it held in suspense goes: reversed against what is written off, the rest released
    take_from_suspense(conn, contract.contract_id, contract.suspended_interest_minor, contract.suspended_penalty_minor)
    case_id = r.details["case_id"]
    conn.execute(update(CollectionCase).where(CollectionCase.contract_id == contract.contract_id, CollectionCase.status == "open")
                 .values(status="closed", closed_date=today, close_reason="written_off", stage="written_off"))
    conn.execute(update(CaseOutsourcing).where(CaseOutsourcing.contract_id == contract.contract_id, CaseOutsourcing.status == "active")
                 .values(status="closed", ended_date=today))
    conn.execute(update(PromiseToPay).where(PromiseToPay.contract_id == contract.contract_id, PromiseToPay.status == "open")
                 .values(status="cancelled", resolved_date=today))
    return {"case_id": case_id, "written_off": format_minor(plan["loss"]), "credit_used": format_minor(plan["credit"]),
            "suspense_reversed": format_minor(plan["suspense"]),
            "components": {k: format_minor(plan[k]) for k in WRITE_OFF_PARTS}, "voucher_debit": format_minor(posted.debit_minor)}


def record_recovery(conn: Connection, contract: Any, receipt_id: int, amount_minor_: int, today: date) -> Any:
    """Money received for a written-off contract (已核销收回): applied at once, whole, as a recovery
    (one allocation of component recovery, no instalment), and posted against the credit losses."""
    conn.execute(insert(Allocation).values(receipt_id=receipt_id, instalment_id=None, component="recovery", amount_minor=amount_minor_,
                                           business_date=today))
    return post_contract_events(conn, f"recovery:{receipt_id}", contract, today,
                                [{"event_type": "recovery", "event_key": f"recovery:{receipt_id}", "amount_minor": amount_minor_}],
                                voucher_templates())
