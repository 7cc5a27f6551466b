"""Disbursement (放款): requested once the contract is signed and its preconditions are on record;
reviewed by finance (claim/unlock, fraud feedback, single and batch approval). Approval queues its
payouts, one per payee (servicing.payouts: the dealer's settlement account, the tax, the insurer,
the GPS supplier); the night's pain.001 file carries them to the bank (sent); the bank's pain.002
pays them (the last one activates the contract, the voucher posts, the partner's disbursed
exposure rises) or fails one (failed: its failed payouts may be queued again).

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
from autofin.origination.users import usernames
from autofin.reference import approval_matrix
from autofin.servicing import payouts
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
        "sent_at": iso(d.sent_at), "paid_date": None if d.paid_date is None else d.paid_date.isoformat(),
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
    return {**view(d, usernames(conn, {d.lock_owner_user_id, d.approved_by}), contract.contract_no),
            "payouts": [{**p, "contract_no": contract.contract_no} for p in payouts.of_disbursement(conn, disbursement_id)]}


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


def approve(conn: Connection, who: Principal, disbursement_id: int, now: datetime, today: date) -> dict[str, Any]:
    """Approved: its payouts are queued for the night's payout file."""
    d, contract = get(conn, who, disbursement_id)
    if d.requested_by == who.user_id:
        raise Forbidden("nobody approves a disbursement they requested")
    if contract.status != "signed":  # a cancelled contract is never paid out, whatever its disbursement says
        raise Conflict(f"contract {contract.contract_no} is {contract.status}; nothing is paid out for it")
    changed = conn.execute(update(Disbursement).where(_ACTIONABLE, Disbursement.status.in_(REVIEWABLE))
                           .values(status="approved", approved_by=who.user_id, approved_at=now, lock_owner_user_id=None, lock_expires_at=None),
                           {"id": disbursement_id, "me": who.user_id, "now": now}).rowcount
    if not changed:
        raise _why_not(conn, who, disbursement_id, "approved")
    audit(conn, who, "disbursement.approved", "disbursement", disbursement_id, {"status": d.status}, {"status": "approved"})
    payouts.queue_disbursement(conn, who, d, contract, today)
    return view_one(conn, who, disbursement_id)


def approve_many(conn: Connection, who: Principal, ids: Sequence[int], now: datetime, today: date) -> list[dict[str, Any]]:
    return one_by_one(conn, [(i, i) for i in ids], "disbursement_id", lambda i: approve(conn, who, i, now, today))


def send(conn: Connection, who: Principal, disbursement_id: int, today: date) -> dict[str, Any]:
    """A failed disbursement's failed payouts queued again (the dealer's to its settlement account
    as the partner record now has it)."""
    d, _ = get(conn, who, disbursement_id)
    if d.status != "failed":
        raise TransitionError("disbursement", d.status, "approved", DISBURSEMENT.allowed(d.status))
    for p in payouts.of_disbursement(conn, disbursement_id):
        if p["status"] == "failed":
            payouts.retry(conn, who, p["payout_id"], None, today, "disbursement sent again")
    return view_one(conn, who, disbursement_id)


def result(conn: Connection, who: Principal, disbursement_id: int, outcome: str, paid_date: date | None, reason: str | None,
           today: date) -> dict[str, Any]:
    """Paid outside the payout files (online banking, 网银): the payouts not with the bank are paid
    by hand, and the contract activates in this transaction. A failure is the bank's answer, never
    entered by hand."""
    d, contract = get(conn, who, disbursement_id)
    if outcome != "paid":
        raise InputError("status", "paid (a failure comes from the bank's pain.002 on the payout file)")
    DISBURSEMENT.check(d.status, "paid")
    paid_on = paid_date or today
    if paid_on > today:
        raise InputError("paid_date", f"{paid_on} is after today ({today})")
    payouts.pay_by_hand(conn, who, disbursement_id, paid_on)
    followed = payouts.follow_disbursements(conn, who, [disbursement_id])
    if not followed["activated"]:
        raise Conflict(f"disbursement {disbursement_id} still has payouts to pay; nothing was written")
    activation = conn.execute(select(Contract.status).where(Contract.contract_id == contract.contract_id)).scalar_one()
    return {**view_one(conn, who, disbursement_id), "contract_status": activation}


def mark_fraud(conn: Connection, who: Principal, disbursement_id: int, reason: str) -> dict[str, Any]:
    """Fraud feedback: the payment is blocked for good, the application flagged, the customer
    blacklisted and the partner flagged (with a history row naming the contract)."""
    d, contract = get(conn, who, disbursement_id)
    DISBURSEMENT.check(d.status, "blocked")
    conn.execute(update(Disbursement).where(Disbursement.disbursement_id == disbursement_id)
                 .values(status="blocked", fraud_reason=reason[:200], lock_owner_user_id=None, lock_expires_at=None))
    payouts.cancel_queued(conn, who, disbursement_id)
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
