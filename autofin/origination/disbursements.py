"""Disbursement (放款): requested once the contract is signed and its preconditions are on record;
reviewed by finance (claim/unlock, fraud feedback, single and batch approval); sent to the
dealer's settlement account; paid (the contract activates, the voucher posts, the partner's
disbursed exposure rises) or failed (it may be sent again).

Claims and approvals are conditional UPDATEs restating who may act, as for approval tasks, so of
two reviewers racing exactly one wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from autofin.domain.errors import InputError, TransitionError
from autofin.domain.lifecycle import DISBURSEMENT
from autofin.domain.money import format_minor
from autofin.origination import contracts
from autofin.origination.access import Principal, scope
from autofin.origination.audit import audit
from autofin.origination.errors import Conflict, Forbidden, one_by_one
from autofin.origination.payouts import PaymentGateway, PaymentUnavailable
from autofin.origination.users import usernames
from autofin.reference import approval_matrix
from autofin.store.engine import iso
from autofin.store.models import Application, Contract, Customer, Disbursement, Partner, PartnerHistory

LIVE = ("requested", "in_review", "approved", "sent", "paid")
REVIEWABLE = ("requested", "in_review")


def view(d: Any, names: dict[int, str] | None = None, contract_no: str | None = None) -> dict[str, Any]:
    names = names or {}
    return {
        "disbursement_id": d.disbursement_id, "contract_no": contract_no, "status": d.status, "amount": format_minor(d.amount_minor),
        "currency": d.currency, "payee_bank": d.payee_bank, "payee_account_no": d.payee_account_no,
        "payee_account_name": d.payee_account_name, "locked_by": names.get(d.lock_owner_user_id),
        "lock_expires_at": iso(d.lock_expires_at), "approved_by": names.get(d.approved_by), "approved_at": iso(d.approved_at),
        "payment_ref": d.payment_ref, "sent_at": iso(d.sent_at), "paid_date": None if d.paid_date is None else d.paid_date.isoformat(),
        "failure_reason": d.failure_reason, "fraud_reason": d.fraud_reason, "created_at": iso(d.created_at),
    }


def latest_for(conn: Connection, contract_id: int) -> dict[str, Any] | None:
    d = conn.execute(select(Disbursement).where(Disbursement.contract_id == contract_id)
                     .order_by(Disbursement.disbursement_id.desc()).limit(1)).first()
    return None if d is None else view(d)


def get(conn: Connection, who: Principal, disbursement_id: int) -> tuple[Any, Any]:
    return contracts.of_contract(conn, who, Disbursement, disbursement_id, "disbursement")


def view_one(conn: Connection, who: Principal, disbursement_id: int) -> dict[str, Any]:
    d, contract = get(conn, who, disbursement_id)
    return view(d, usernames(conn, {d.lock_owner_user_id, d.approved_by}), contract.contract_no)


def queue(conn: Connection, who: Principal, status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    query = (select(Disbursement.__table__, Contract.contract_no).join(Contract, Contract.contract_id == Disbursement.contract_id)
             .order_by(Disbursement.disbursement_id).limit(limit).offset(offset))
    query = query.where(Disbursement.status.in_(REVIEWABLE) if not status else Disbursement.status == status, scope(who, Contract))
    rows = conn.execute(query).all()
    names = usernames(conn, {u for r in rows for u in (r.lock_owner_user_id, r.approved_by)})
    return [view(r, names, r.contract_no) for r in rows]


# ---------------------------------------------------------------- request


def request(conn: Connection, who: Principal, contract: Any) -> dict[str, Any]:
    if contract.status != "signed":
        raise Conflict(f"contract {contract.contract_no} is {contract.status}; a disbursement is requested once it is signed")
    live = conn.execute(select(Disbursement.disbursement_id, Disbursement.status).where(
        Disbursement.contract_id == contract.contract_id, Disbursement.status.in_(LIVE))).first()
    if live is not None:
        raise Conflict(f"contract {contract.contract_no} already has disbursement {live.disbursement_id} ({live.status})")
    missing = contracts.missing_conditions(conn, contract)
    if missing:
        raise InputError("preconditions", f"the product needs {', '.join(missing)} on record before paying out "
                                          f"(POST /contracts/{contract.contract_no}/conditions)")
    partner = conn.execute(select(Partner).where(Partner.partner_id == contract.partner_id)).one()
    if partner.status != "active" or partner.is_blacklisted:
        raise Conflict(f"partner {partner.partner_code} is {'blacklisted' if partner.is_blacklisted else partner.status}; nothing is paid to it")
    if not partner.settlement_account_no:
        raise Conflict(f"partner {partner.partner_code} has no settlement account on record")
    disbursement_id = conn.execute(insert(Disbursement).values(
        contract_id=contract.contract_id, amount_minor=contract.financed_minor, currency=contract.currency, status="requested",
        payee_bank=partner.settlement_bank or "", payee_account_no=partner.settlement_account_no,
        payee_account_name=partner.settlement_account_name or partner.name, requested_by=who.user_id).returning(Disbursement.disbursement_id)
    ).scalar_one()
    audit(conn, who, "disbursement.requested", "disbursement", disbursement_id, None,
          {"contract_no": contract.contract_no, "amount_minor": contract.financed_minor, "payee_account_no": partner.settlement_account_no})
    return view_one(conn, who, disbursement_id)


# ---------------------------------------------------------------- review

_ACTIONABLE = and_(
    Disbursement.disbursement_id == bindparam("id"),
    or_(Disbursement.lock_owner_user_id.is_(None), Disbursement.lock_owner_user_id == bindparam("me"),
        Disbursement.lock_expires_at <= bindparam("now")),
)


def _why_not(conn: Connection, who: Principal, disbursement_id: int, wanted: str) -> Exception:
    d, _ = get(conn, who, disbursement_id)
    if d.status not in REVIEWABLE:
        return TransitionError("disbursement", d.status, wanted, DISBURSEMENT.allowed(d.status))
    owner = usernames(conn, {d.lock_owner_user_id}).get(d.lock_owner_user_id)
    return Conflict(f"disbursement {disbursement_id} is locked by {owner} until {iso(d.lock_expires_at)}")


def claim(conn: Connection, who: Principal, disbursement_id: int, now: datetime) -> dict[str, Any]:
    d, _ = get(conn, who, disbursement_id)
    expires = now + timedelta(minutes=approval_matrix().lock_minutes)
    changed = conn.execute(update(Disbursement).where(_ACTIONABLE, Disbursement.status.in_(REVIEWABLE))
                           .values(status="in_review", lock_owner_user_id=who.user_id, lock_expires_at=expires),
                           {"id": disbursement_id, "me": who.user_id, "now": now}).rowcount
    if not changed:
        raise _why_not(conn, who, disbursement_id, "in_review")
    audit(conn, who, "disbursement.claim", "disbursement", disbursement_id, {"status": d.status}, {"status": "in_review", "lock_expires_at": expires})
    return view_one(conn, who, disbursement_id)


def unlock(conn: Connection, who: Principal, disbursement_id: int) -> dict[str, Any]:
    d, _ = get(conn, who, disbursement_id)
    if d.status != "in_review":
        raise TransitionError("disbursement", d.status, "requested", DISBURSEMENT.allowed(d.status))
    if d.lock_owner_user_id != who.user_id and who.role != "finance_director":
        raise Conflict(f"disbursement {disbursement_id} is locked by {usernames(conn, {d.lock_owner_user_id})[d.lock_owner_user_id]}; "
                       "only its owner or the finance director unlocks it")
    conn.execute(update(Disbursement).where(Disbursement.disbursement_id == disbursement_id)
                 .values(status="requested", lock_owner_user_id=None, lock_expires_at=None))
    audit(conn, who, "disbursement.unlock", "disbursement", disbursement_id, {"status": d.status}, {"status": "requested"})
    return view_one(conn, who, disbursement_id)


def approve(conn: Connection, who: Principal, disbursement_id: int, now: datetime, gateway: PaymentGateway) -> dict[str, Any]:
    """Approved, then sent to the bank at once; if the channel is down it stays approved, to be sent again."""
    d, _contract = get(conn, who, disbursement_id)
    if d.requested_by == who.user_id:
        raise Forbidden("nobody approves a disbursement they requested")
    changed = conn.execute(update(Disbursement).where(_ACTIONABLE, Disbursement.status.in_(REVIEWABLE))
                           .values(status="approved", approved_by=who.user_id, approved_at=now, lock_owner_user_id=None, lock_expires_at=None),
                           {"id": disbursement_id, "me": who.user_id, "now": now}).rowcount
    if not changed:
        raise _why_not(conn, who, disbursement_id, "approved")
    audit(conn, who, "disbursement.approved", "disbursement", disbursement_id, {"status": d.status}, {"status": "approved"})
    try:
        _send(conn, who, disbursement_id, now, gateway)
    except PaymentUnavailable as exc:
        audit(conn, who, "disbursement.send_failed", "disbursement", disbursement_id, None, {"reason": str(exc)})
    return view_one(conn, who, disbursement_id)


def approve_many(conn: Connection, who: Principal, ids: Sequence[int], now: datetime, gateway: PaymentGateway) -> list[dict[str, Any]]:
    return one_by_one(conn, [(i, i) for i in ids], "disbursement_id", lambda i: approve(conn, who, i, now, gateway))


def _send(conn: Connection, who: Principal, disbursement_id: int, now: datetime, gateway: PaymentGateway) -> None:
    d, contract = get(conn, who, disbursement_id)
    DISBURSEMENT.check(d.status, "sent")
    if contract.status != "signed":  # a cancelled contract is never paid out, whatever its disbursement says
        raise Conflict(f"contract {contract.contract_no} is {contract.status}; nothing is paid out for it")
    ref = gateway.send(disbursement_id=disbursement_id, amount_minor=d.amount_minor, currency=d.currency, account_no=d.payee_account_no,
                       account_name=d.payee_account_name, bank=d.payee_bank)
    conn.execute(update(Disbursement).where(Disbursement.disbursement_id == disbursement_id)
                 .values(status="sent", payment_ref=ref, sent_at=now, failure_reason=None))
    audit(conn, who, "disbursement.sent", "disbursement", disbursement_id, {"status": d.status}, {"status": "sent", "payment_ref": ref})


def send(conn: Connection, who: Principal, disbursement_id: int, now: datetime, gateway: PaymentGateway) -> dict[str, Any]:
    """Send an approved (or failed) payment again."""
    d, _ = get(conn, who, disbursement_id)
    if d.status not in ("approved", "failed"):
        raise TransitionError("disbursement", d.status, "sent", DISBURSEMENT.allowed(d.status))
    try:
        _send(conn, who, disbursement_id, now, gateway)
    except PaymentUnavailable as exc:
        raise Conflict(f"the bank channel did not take the payment: {exc}; nothing was sent") from None
    return view_one(conn, who, disbursement_id)


def result(conn: Connection, who: Principal, disbursement_id: int, outcome: str, paid_date: date | None, reason: str | None,
           today: date) -> dict[str, Any]:
    """The bank's answer. Paid: the contract activates and the disbursement voucher posts, in this transaction."""
    d, contract = get(conn, who, disbursement_id)
    if outcome not in ("paid", "failed"):
        raise InputError("status", "paid or failed")
    DISBURSEMENT.check(d.status, outcome)
    if outcome == "failed":
        if not reason:
            raise InputError("reason", "say why the payment failed")
        conn.execute(update(Disbursement).where(Disbursement.disbursement_id == disbursement_id, Disbursement.status == "sent")
                     .values(status="failed", failure_reason=reason[:200]))
        audit(conn, who, "disbursement.failed", "disbursement", disbursement_id, {"status": d.status}, {"status": "failed", "reason": reason})
        return view_one(conn, who, disbursement_id)
    paid_on = paid_date or today
    if paid_on > today:
        raise InputError("paid_date", f"{paid_on} is after today ({today})")
    changed = conn.execute(update(Disbursement).where(Disbursement.disbursement_id == disbursement_id, Disbursement.status == "sent")
                           .values(status="paid", paid_date=paid_on)).rowcount
    if not changed:
        raise Conflict(f"disbursement {disbursement_id} changed meanwhile; nothing was written")
    activation = contracts.activate(conn, who, contract, paid_on, disbursement_id)
    audit(conn, who, "disbursement.paid", "disbursement", disbursement_id, {"status": d.status}, {"status": "paid", "paid_date": paid_on})
    return {**view_one(conn, who, disbursement_id), "contract_status": "active", **activation}


def mark_fraud(conn: Connection, who: Principal, disbursement_id: int, reason: str) -> dict[str, Any]:
    """Fraud feedback: the payment is blocked for good, the application flagged, the customer
    blacklisted and the partner flagged (with a history row naming the contract)."""
    d, contract = get(conn, who, disbursement_id)
    DISBURSEMENT.check(d.status, "blocked")
    conn.execute(update(Disbursement).where(Disbursement.disbursement_id == disbursement_id)
                 .values(status="blocked", fraud_reason=reason[:200], lock_owner_user_id=None, lock_expires_at=None))
    conn.execute(update(Application).where(Application.application_id == contract.application_id)
                 .values(is_flagged=True, flag_reason=f"suspected fraud at disbursement: {reason}"[:200]))
    conn.execute(update(Customer).where(Customer.customer_id == contract.customer_id).values(is_blacklisted=True))
    partner = conn.execute(select(Partner).where(Partner.partner_id == contract.partner_id)).one()
    conn.execute(update(Partner).where(Partner.partner_id == partner.partner_id).values(is_fraud_flagged=True))
    conn.execute(insert(PartnerHistory).values(partner_id=partner.partner_id, field="is_fraud_flagged",
                                               old_value=str(bool(partner.is_fraud_flagged)).lower(), new_value="true",
                                               reason=f"contract {contract.contract_no}: {reason}"[:500], changed_by=who.user_id))
    audit(conn, who, "disbursement.blocked", "disbursement", disbursement_id, {"status": d.status},
          {"status": "blocked", "reason": reason, "customer_id": contract.customer_id, "partner_code": partner.partner_code})
    return view_one(conn, who, disbursement_id)
