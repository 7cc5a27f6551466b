"""Post-lease exceptions with multi-level approval: repayment reversal (冲正) of a receipt booked in
error, overpayment refund (溢缴款退款), balloon extension (尾款展期), and from the collections
workbench a collection cost (催收费用申请) and a write-off (核销申请, postlease.collections).

A request names its kind and amount; assets/rules/approval_matrix.yaml gives the roles that
approve it, level by level (reversal and refund: post-loan supervisor, then finance director).
Nothing moves before the last approval, which executes the request in the same transaction,
after checking again that it still holds (the contract may have moved since it was asked for).
The requester approves nothing of their own request, and one person approves one level at most.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from autofin.domain.errors import InputError
from autofin.domain.money import D, format_amount, format_minor, from_minor, principal_vat_minor, to_minor, vat_inside_minor
from autofin.domain.payouts import checked_account
from autofin.domain.products import ALLOCATION_COMPONENTS
from autofin.domain.schedules import Method, ScheduleTerms, build_schedule
from autofin.origination.access import Principal, scope
from autofin.origination.audit import audit
from autofin.origination.contracts import of_contract, terms_of
from autofin.origination.errors import Conflict, Forbidden
from autofin.origination.partners import amount_minor as checked_minor
from autofin.postlease import collections
from autofin.postlease.settlement import instalments_of, keep_schedule
from autofin.reference import approval_matrix, calendar, voucher_templates
from autofin.servicing import payouts
from autofin.servicing.reversal import reverse_receipts
from autofin.store.bulk import insert_assigning_ids
from autofin.store.engine import iso
from autofin.store.ledger import post_contract_events, take_from_suspense
from autofin.store.models import (
    Allocation,
    AppUser,
    Contract,
    Instalment,
    PostLeaseApproval,
    PostLeaseRequest,
    Receipt,
)

# ---------------------------------------------------------------- reading


def get(conn: Connection, who: Principal, request_id: int) -> tuple[Any, Any]:
    return of_contract(conn, who, PostLeaseRequest, request_id, "post-lease request")


def view(conn: Connection, r: Any, contract_no: str) -> dict[str, Any]:
    approvals = conn.execute(select(PostLeaseApproval.__table__, AppUser.username).join(AppUser, AppUser.user_id == PostLeaseApproval.decided_by)
                             .where(PostLeaseApproval.post_lease_request_id == r.post_lease_request_id)
                             .order_by(PostLeaseApproval.level)).all()
    requester = conn.execute(select(AppUser.username).where(AppUser.user_id == r.requested_by)).scalar_one()
    return {
        "request_id": r.post_lease_request_id, "kind": r.kind, "contract_no": contract_no, "receipt_id": r.receipt_id,
        "amount": format_minor(r.amount_minor), "status": r.status, "chain": r.chain, "level": r.level,
        "next_role": r.chain[r.level] if r.status == "pending" else None, "reason": r.reason, "details": r.details,
        "requested_by": requester, "created_at": iso(r.created_at),
        "executed_at": iso(r.executed_at),
        "approvals": [{"level": a.level, "role": a.role, "decision": a.decision, "comment": a.comment, "by": a.username,
                       "at": iso(a.decided_at)} for a in approvals],
    }


def view_one(conn: Connection, who: Principal, request_id: int) -> dict[str, Any]:
    r, contract = get(conn, who, request_id)
    return view(conn, r, contract.contract_no)


def queue(conn: Connection, who: Principal, status: str | None, kind: str | None, role: str | None, limit: int, offset: int) -> list[dict]:
    query = (select(PostLeaseRequest.__table__, Contract.contract_no).join(Contract, Contract.contract_id == PostLeaseRequest.contract_id)
             .where(PostLeaseRequest.status == (status or "pending")).order_by(PostLeaseRequest.post_lease_request_id)
             .limit(limit).offset(offset))
    if kind:
        query = query.where(PostLeaseRequest.kind == kind)
    query = query.where(scope(who, Contract))
    rows = [view(conn, r, r.contract_no) for r in conn.execute(query).all()]
    return [r for r in rows if role is None or r["next_role"] == role]


# ---------------------------------------------------------------- asking


def new_request(conn: Connection, who: Principal, kind: str, contract: Any, amount_minor: int, reason: str, details: dict[str, Any],
                receipt_id: int | None = None, *, unique: bool = True, chain: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A request of `kind` put to its chain (the matrix's for the kind, unless given); with `unique`,
    refused while one of the same kind (and receipt) for the contract is pending."""
    pending = None if not unique else conn.execute(select(PostLeaseRequest.post_lease_request_id).where(
        PostLeaseRequest.contract_id == contract.contract_id, PostLeaseRequest.kind == kind, PostLeaseRequest.status == "pending",
        *([PostLeaseRequest.receipt_id == receipt_id] if receipt_id is not None else []))).first()
    if pending is not None:
        raise Conflict(f"request {pending.post_lease_request_id} for the same {kind.replace('_', ' ')} is already pending")
    steps = list(chain or approval_matrix().post_lease[kind])
    request_id = conn.execute(insert(PostLeaseRequest).values(
        kind=kind, contract_id=contract.contract_id, receipt_id=receipt_id, amount_minor=amount_minor, currency=contract.currency,
        details=details, chain=steps, level=0, status="pending", reason=reason, requested_by=who.user_id)
        .returning(PostLeaseRequest.post_lease_request_id)).scalar_one()
    audit(conn, who, f"post_lease.{kind}.requested", "post_lease_request", request_id, None,
          {"contract_no": contract.contract_no, "amount_minor": amount_minor, "chain": steps, "details": details})
    return view_one(conn, who, request_id)


def _reversal_plan(conn: Connection, receipt: Any, contract: Any, reopen: bool) -> dict[str, Any]:
    """What reversing the receipt takes back, or why it cannot (with the figures)."""
    if receipt.status == "reversed":
        raise Conflict(f"receipt {receipt.receipt_id} is already reversed")
    if receipt.source == "settlement":
        raise Conflict(f"receipt {receipt.receipt_id} settled contract {contract.contract_no} early; a settlement is not reversed here")
    if receipt.source == "prepayment":
        raise Conflict(f"receipt {receipt.receipt_id} paid principal ahead and re-planned the schedule; it is not reversed here")
    if receipt.source == "buy_out":
        raise Conflict(f"receipt {receipt.receipt_id} bought the vehicle out and opened its title transfer; it is not reversed here")
    if receipt.source == "deposit":
        raise Conflict(f"receipt {receipt.receipt_id} set the customer's deposit against the bills; it is not reversed here")
    if receipt.source == "waiver":
        raise Conflict(f"receipt {receipt.receipt_id} is a waiver, not money received; a waiver is not reversed")
    if receipt.source == "credit":
        raise Conflict(f"receipt {receipt.receipt_id} applied customer credit, not money received; reverse the receipt that made the credit")
    parts = {c: 0 for c in (*ALLOCATION_COMPONENTS, "credit")}
    for comp, amount in conn.execute(select(Allocation.component, func.sum(Allocation.amount_minor)).where(
            Allocation.receipt_id == receipt.receipt_id).group_by(Allocation.component)).all():
        parts[comp] = int(amount)
    if receipt.status == "applied":
        if contract.status == "paid_off" and not reopen:
            raise InputError("reopen", f"receipt {receipt.receipt_id} of {format_minor(receipt.amount_minor)} helped pay off contract "
                                       f"{contract.contract_no} (closed {contract.closed_date}); reversing it reopens the contract: "
                                       "ask with reopen=true")
        if contract.status not in ("active", "paid_off"):
            raise Conflict(f"contract {contract.contract_no} is {contract.status}; its receipts are not reversed")
        if parts["credit"] > contract.credit_minor:
            raise InputError("receipt_id", f"receipt {receipt.receipt_id} left {format_minor(parts['credit'])} as customer credit, "
                                           f"but only {format_minor(contract.credit_minor)} of credit remains (used or refunded since)")
    return {"applied": receipt.status == "applied", "reopen": bool(reopen), "components_minor": parts}


def request_reversal(conn: Connection, who: Principal, receipt_id: int, reason: str, reopen: bool) -> dict[str, Any]:
    receipt, contract = of_contract(conn, who, Receipt, receipt_id, "receipt")
    plan = _reversal_plan(conn, receipt, contract, reopen)
    return new_request(conn, who, "reversal", contract, receipt.amount_minor, reason, plan, receipt_id)


def _payee(bank: str, account_no: str, account_name: str) -> dict[str, str]:
    """The account a refund is paid to, checked now as its credit transfer will need it."""
    checked = checked_account("payee", account_name, account_no, bank)
    return {"bank": checked.bank, "account_no": checked.account, "account_name": checked.name}


def _pending_refunds(conn: Connection, contract_id: int) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(PostLeaseRequest.amount_minor), 0)).where(
        PostLeaseRequest.contract_id == contract_id, PostLeaseRequest.kind == "refund", PostLeaseRequest.status == "pending")).scalar_one())


def request_refund(conn: Connection, who: Principal, contract: Any, *, amount: Decimal, reason: str, payee_bank: str, payee_account_no: str,
                   payee_account_name: str) -> dict[str, Any]:
    amount_minor = checked_minor("amount", amount, positive=True)
    account = _payee(payee_bank, payee_account_no, payee_account_name)
    pending = _pending_refunds(conn, contract.contract_id)
    if amount_minor > contract.credit_minor - pending:
        raise InputError("amount", f"refund {format_minor(amount_minor)} is larger than contract {contract.contract_no}'s customer credit "
                                   f"{format_minor(contract.credit_minor)}" + (f" less {format_minor(pending)} already asked for" if pending else ""))
    return new_request(conn, who, "refund", contract, amount_minor, reason, {"payee": account})


def _extension_rows(conn: Connection, contract: Any, months: int, today: date) -> dict[str, Any]:
    product = terms_of(conn, contract)
    rule = product.balloon_extension
    if rule is None:
        raise Conflict(f"contract {contract.contract_no}'s product {product.code} has no balloon extension rule")
    if contract.status != "active" or contract.balloon_minor <= 0:
        raise Conflict(f"contract {contract.contract_no} is {contract.status} with balloon {format_minor(contract.balloon_minor)}; "
                       "only an active contract's outstanding balloon is extended")
    if not 1 <= months <= rule.max_months:
        raise InputError("months", f"1 to {rule.max_months} months under {product.code}'s rule")
    last = conn.execute(select(Instalment).where(Instalment.contract_id == contract.contract_id)
                        .order_by(Instalment.seq.desc()).limit(1)).one()
    if last.status != "scheduled":
        raise Conflict(f"the balloon instalment {last.seq} is already {last.status}; it is extended before it falls due")
    if (last.due_date - today).days < rule.min_days_before:
        raise Conflict(f"the balloon falls due on {last.due_date}; an extension is asked for at least {rule.min_days_before} days before")
    balloon = from_minor(contract.balloon_minor)
    rows = build_schedule(ScheduleTerms(financed=balloon, annual_rate=rule.annual_rate, term_months=months, start_date=last.due_date,
                                        method=Method.ANNUITY, instalment_fee=product.instalment_fee, roll=product.roll_due_dates,
                                        currency=contract.currency), calendar())
    return {"months": months, "annual_rate": str(rule.annual_rate), "balloon": format_amount(balloon), "balloon_seq": last.seq,
            "balloon_due_date": last.due_date.isoformat(),
            "new_instalments": [{"seq": last.seq + r.seq, "due_date": r.due_date.isoformat(), "principal": format_amount(r.principal),
                                 "interest": format_amount(r.interest), "fee": format_amount(r.fee), "payment": format_amount(r.payment)}
                                for r in rows]}


WAIVABLE = ("penalty", "interest", "fee")


def _owed(conn: Connection, contract: Any) -> dict[str, int]:
    """What the contract's billed instalments still owe, by waivable component."""
    owed = collections.billed_unpaid(conn, [contract.contract_id]).get(contract.contract_id, {})
    return {c: owed.get(c, 0) for c in WAIVABLE}


def request_waiver(conn: Connection, who: Principal, contract: Any, *, penalty: Decimal, interest: Decimal, fee: Decimal,
                   reason: str) -> dict[str, Any]:
    """A waiver (减免) of billed penalty, interest or fees, up to what is owed of each; its chain by
    the amount waived (approval_matrix.yaml: waiver)."""
    if contract.status != "active":
        raise Conflict(f"contract {contract.contract_no} is {contract.status}; waivers are for active contracts")
    asked = {"penalty": checked_minor("penalty", penalty), "interest": checked_minor("interest", interest), "fee": checked_minor("fee", fee)}
    total = sum(asked.values())
    if total == 0:
        raise InputError("penalty", "waive something: penalty, interest or fee")
    owed = _owed(conn, contract)
    for c in WAIVABLE:
        if asked[c] > owed[c]:
            raise InputError(c, f"{format_minor(asked[c])} is more than the {format_minor(owed[c])} of {c} contract {contract.contract_no} owes")
    return new_request(conn, who, "waiver", contract, total, reason, {f"{c}_minor": asked[c] for c in WAIVABLE},
                       chain=approval_matrix().waiver_chain(total))


def _execute_waiver(conn: Connection, who: Principal, r: Any, contract: Any, today: date) -> dict[str, Any]:
    """The waived amounts applied to the billed instalments, oldest first, as a receipt of source
    waiver (no money moves) with its allocations, and posted (waiver: the income taken back). What a
    non-accrual contract held in suspense of it is released first, so the waiver takes it from the
    suspense, not from income."""
    asked = {c: int(r.details[f"{c}_minor"]) for c in WAIVABLE}
    owed = _owed(conn, contract)
    for c in WAIVABLE:
        if asked[c] > owed[c]:
            raise InputError(c, f"the waiver of {format_minor(asked[c])} {c} is now more than the {format_minor(owed[c])} owed; reject it")
    vat = vat_inside_minor(asked["interest"], contract.vat_rate_ppm)
    events: list[dict[str, Any]] = []
    held_i = min(contract.suspended_interest_minor, asked["interest"] - vat)
    held_p = min(contract.suspended_penalty_minor, asked["penalty"])
    if held_i or held_p:
        events.append({"event_type": "suspense_release", "event_key": f"suspense_release:waiver:{r.post_lease_request_id}",
                       "interest_minor": held_i, "penalty_minor": held_p})
        take_from_suspense(conn, contract.contract_id, held_i, held_p)
    total = sum(asked.values())
    receipt_id = conn.execute(insert(Receipt).values(
        contract_id=contract.contract_id, source="waiver", source_ref=f"waiver:{r.post_lease_request_id}", amount_minor=total,
        currency=contract.currency, value_date=today, business_date=today, status="applied", created_by=who.user_id)
        .returning(Receipt.receipt_id)).scalar_one()
    left = dict(asked)
    rows = conn.execute(select(Instalment).where(Instalment.contract_id == contract.contract_id, Instalment.status == "billed")
                        .order_by(Instalment.due_date, Instalment.seq)).all()
    for i in rows:
        parts = {c: min(left[c], getattr(i, f"{c}_minor") - getattr(i, f"paid_{c}_minor")) for c in WAIVABLE}
        if not any(parts.values()):
            continue
        conn.execute(insert(Allocation), [{"receipt_id": receipt_id, "instalment_id": i.instalment_id, "component": c, "amount_minor": v,
                                           "business_date": today} for c, v in parts.items() if v])
        conn.execute(update(Instalment).where(Instalment.instalment_id == i.instalment_id).values(
            **{f"paid_{c}_minor": getattr(Instalment, f"paid_{c}_minor") + v for c, v in parts.items() if v}))
        left = {c: left[c] - parts[c] for c in WAIVABLE}
    conn.execute(update(Instalment).where(  # the same rule as the nightly allocation's
        Instalment.contract_id == contract.contract_id, Instalment.status == "billed", Instalment.principal_minor == Instalment.paid_principal_minor,
        Instalment.interest_minor == Instalment.paid_interest_minor, Instalment.fee_minor == Instalment.paid_fee_minor,
        Instalment.penalty_minor == Instalment.paid_penalty_minor).values(status="paid", paid_date=today))
    events.append({"event_type": "waiver", "event_key": f"waiver:{r.post_lease_request_id}", "penalty_minor": asked["penalty"],
                   "interest_minor": asked["interest"], "fee_minor": asked["fee"], "vat_minor": vat})
    posted = post_contract_events(conn, f"waiver:{r.post_lease_request_id}", contract, today, events, voucher_templates())
    return {"receipt_id": receipt_id, "waived": {c: format_minor(v) for c, v in asked.items()}, "vat_reversed": format_minor(vat),
            "from_suspense": format_minor(held_i + held_p), "voucher_debit": format_minor(posted.debit_minor)}


# ---------------------------------------------------------------- deposits (保证金)


def _pending_deposit(conn: Connection, contract_id: int) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(PostLeaseRequest.amount_minor), 0)).where(
        PostLeaseRequest.contract_id == contract_id, PostLeaseRequest.kind.in_(("deposit_offset", "deposit_refund")),
        PostLeaseRequest.status == "pending")).scalar_one())


def _deposit_amount(conn: Connection, contract: Any, amount: Decimal) -> int:
    amount_minor = checked_minor("amount", amount, positive=True)
    pending = _pending_deposit(conn, contract.contract_id)
    if amount_minor > contract.deposit_held_minor - pending:
        raise InputError("amount", f"{format_minor(amount_minor)} is more than contract {contract.contract_no}'s deposit held "
                                   f"{format_minor(contract.deposit_held_minor)}" + (f" less {format_minor(pending)} already asked for" if pending else ""))
    return amount_minor


def request_deposit_offset(conn: Connection, who: Principal, contract: Any, *, amount: Decimal, reason: str) -> dict[str, Any]:
    """保证金冲抵: the customer's deposit set against the contract's bills, at the customer's request."""
    if contract.status != "active":
        raise Conflict(f"contract {contract.contract_no} is {contract.status}; a deposit is set against an active contract's bills")
    return new_request(conn, who, "deposit_offset", contract, _deposit_amount(conn, contract, amount), reason, {}, unique=False)


def request_deposit_refund(conn: Connection, who: Principal, contract: Any, *, amount: Decimal, reason: str, payee_bank: str,
                           payee_account_no: str, payee_account_name: str) -> dict[str, Any]:
    """保证金退还: the deposit paid back once the contract is closed."""
    if contract.status not in ("paid_off", "settled_early"):
        raise Conflict(f"contract {contract.contract_no} is {contract.status}; a deposit is refunded once the contract is paid off or settled "
                       "(until then it is set against the bills)")
    return new_request(conn, who, "deposit_refund", contract, _deposit_amount(conn, contract, amount), reason,
                       {"payee": _payee(payee_bank, payee_account_no, payee_account_name)}, unique=False)


def _take_deposit(conn: Connection, r: Any, contract: Any) -> None:
    changed = conn.execute(update(Contract).where(Contract.contract_id == contract.contract_id,
                                                  Contract.deposit_held_minor >= r.amount_minor)
                           .values(deposit_held_minor=Contract.deposit_held_minor - r.amount_minor)).rowcount
    if not changed:
        raise InputError("amount", f"{format_minor(r.amount_minor)} is now more than the deposit held; reject this request")


def _execute_deposit_offset(conn: Connection, who: Principal, r: Any, contract: Any, today: date) -> dict[str, Any]:
    """A receipt of source deposit that tonight's allocation applies by the waterfall (deposit_applied
    takes it off 2241.04; the receipt's voucher books the bills)."""
    _take_deposit(conn, r, contract)
    receipt_id = conn.execute(insert(Receipt).values(
        contract_id=contract.contract_id, source="deposit", source_ref=f"deposit:{r.post_lease_request_id}", amount_minor=r.amount_minor,
        currency=contract.currency, value_date=today, business_date=today, status="unapplied", created_by=who.user_id)
        .returning(Receipt.receipt_id)).scalar_one()
    posted = _post(conn, contract, "deposit_applied", f"deposit_applied:{r.post_lease_request_id}", today, amount_minor=r.amount_minor)
    return {"receipt_id": receipt_id, "applied": format_minor(r.amount_minor),
            "deposit_left": format_minor(contract.deposit_held_minor - r.amount_minor), "voucher_debit": format_minor(posted.debit_minor)}


def _execute_deposit_refund(conn: Connection, who: Principal, r: Any, contract: Any, today: date) -> dict[str, Any]:
    _take_deposit(conn, r, contract)
    posted = _post(conn, contract, "deposit_refund", f"deposit_refund:{r.post_lease_request_id}", today, amount_minor=r.amount_minor)
    payout = payouts.queue_refund(conn, who, "deposit_refund", r, contract, today)
    return {"refunded": format_minor(r.amount_minor), "deposit_left": format_minor(contract.deposit_held_minor - r.amount_minor),
            "payee": r.details.get("payee"), "payout_id": payout["payout_id"], "voucher_debit": format_minor(posted.debit_minor)}


def request_extension(conn: Connection, who: Principal, contract: Any, months: int, reason: str, today: date) -> dict[str, Any]:
    return new_request(conn, who, "balloon_extension", contract, contract.balloon_minor, reason, _extension_rows(conn, contract, months, today))


# ---------------------------------------------------------------- deciding


def decide(conn: Connection, who: Principal, request_id: int, decision: str, comment: str | None, now: datetime,
           today: date) -> dict[str, Any]:
    if decision not in ("approve", "reject"):
        raise InputError("decision", "approve or reject")
    r, contract = get(conn, who, request_id)
    if r.status != "pending":
        raise Conflict(f"request {request_id} is already {r.status}")
    role = r.chain[r.level]
    if who.role != role:
        raise Forbidden(f"level {r.level + 1} of a {r.kind.replace('_', ' ')} is approved by {role}, not {who.role}")
    if r.requested_by == who.user_id:
        raise Forbidden("nobody approves their own request")
    if conn.execute(select(PostLeaseApproval.level).where(PostLeaseApproval.post_lease_request_id == request_id,
                                                          PostLeaseApproval.decided_by == who.user_id)).first():
        raise Conflict(f"{who.username} already approved a level of request {request_id}")
    last = r.level + 1 == len(r.chain)
    status = "rejected" if decision == "reject" else ("executed" if last else "pending")
    changed = conn.execute(update(PostLeaseRequest).where(PostLeaseRequest.post_lease_request_id == request_id,
                                                          PostLeaseRequest.status == "pending", PostLeaseRequest.level == r.level)
                           .values(level=r.level + (decision == "approve"), status=status,
                                   executed_at=now if status == "executed" else None)).rowcount
    if not changed:
        raise Conflict(f"request {request_id} was decided meanwhile; nothing was written")
    conn.execute(insert(PostLeaseApproval).values(post_lease_request_id=request_id, level=r.level + 1, role=role, decision=decision,
                                                  comment=comment, decided_by=who.user_id, decided_at=now))
    audit(conn, who, f"post_lease.{r.kind}.{decision}", "post_lease_request", request_id, {"status": r.status, "level": r.level},
          {"status": status, "level": r.level + 1, "comment": comment})
    out: dict[str, Any] = {}
    if status == "executed":
        out = EXECUTE[r.kind](conn, who, r, contract, today)
        audit(conn, who, f"post_lease.{r.kind}.executed", "post_lease_request", request_id, None, out)
    return {**view_one(conn, who, request_id), "executed": out or None}


# ---------------------------------------------------------------- executing


def _post(conn: Connection, contract: Any, event_type: str, key: str, today: date, **amounts: int) -> Any:
    return post_contract_events(conn, key, contract, today, [{"event_type": event_type, "event_key": key, **amounts}], voucher_templates())


def _execute_reversal(conn: Connection, who: Principal, r: Any, contract: Any, today: date) -> dict[str, Any]:
    receipt = conn.execute(select(Receipt).where(Receipt.receipt_id == r.receipt_id)).one()
    plan = _reversal_plan(conn, receipt, contract, bool(r.details.get("reopen")))  # still true?
    done = reverse_receipts(conn, today, f"SELECT {int(receipt.receipt_id)}", f"reversal:{receipt.receipt_id}", voucher_templates())
    if not plan["applied"]:
        return {"receipt_id": receipt.receipt_id, "applied": False, "posted": 0}
    return {"receipt_id": receipt.receipt_id, "applied": True, "reopened": bool(done.reopened),
            "components": {c: format_minor(v) for c, v in plan["components_minor"].items()},
            "voucher_debit": format_minor(done.posted.debit_minor), "voucher_credit": format_minor(done.posted.credit_minor)}


def _execute_refund(conn: Connection, who: Principal, r: Any, contract: Any, today: date) -> dict[str, Any]:
    if r.amount_minor > contract.credit_minor:
        raise InputError("amount", f"refund {format_minor(r.amount_minor)} is now larger than contract {contract.contract_no}'s customer "
                                   f"credit {format_minor(contract.credit_minor)}; reject this request")
    conn.execute(update(Contract).where(Contract.contract_id == contract.contract_id)
                 .values(credit_minor=Contract.credit_minor - r.amount_minor))
    posted = _post(conn, contract, "refund", f"refund:{r.post_lease_request_id}", today, credit_minor=r.amount_minor)
    payout = payouts.queue_refund(conn, who, "refund", r, contract, today)
    return {"refunded": format_minor(r.amount_minor), "credit_left": format_minor(contract.credit_minor - r.amount_minor),
            "payee": r.details.get("payee"), "payout_id": payout["payout_id"], "voucher_debit": format_minor(posted.debit_minor)}


def _execute_extension(conn: Connection, who: Principal, r: Any, contract: Any, today: date) -> dict[str, Any]:
    """The old schedule kept whole in schedule_history; the balloon taken out of its instalment and
    re-planned as the new instalments. Nothing is owed more or less today: no voucher."""
    plan = _extension_rows(conn, contract, int(r.details["months"]), today)
    if plan["new_instalments"] != r.details["new_instalments"]:
        raise Conflict("the contract changed since the extension was asked for; reject it and ask again")
    old = instalments_of(conn, contract.contract_id)
    keep_schedule(conn, contract, old, "balloon_extension", r.post_lease_request_id)
    last = old[-1]
    # a direct lease's VAT deferred on the balloon moves with it: each row's by the rule, the last new
    # row taking the rounding, so what 2221.05 holds does not change
    last_vat = principal_vat_minor(last.principal_minor - contract.balloon_minor, last.interest_minor, contract.vat_rate_ppm, contract.vat_basis)
    conn.execute(update(Instalment).where(Instalment.instalment_id == last.instalment_id)
                 .values(principal_minor=last.principal_minor - contract.balloon_minor, principal_vat_minor=last_vat))
    new = [{"contract_id": contract.contract_id, "seq": n["seq"], "due_date": date.fromisoformat(n["due_date"]), "status": "scheduled",
            "principal_minor": to_minor(D(n["principal"])), "interest_minor": to_minor(D(n["interest"])), "fee_minor": to_minor(D(n["fee"]))}
           for n in plan["new_instalments"]]
    for n in new:
        n["principal_vat_minor"] = principal_vat_minor(n["principal_minor"], n["interest_minor"], contract.vat_rate_ppm, contract.vat_basis)
    new[-1]["principal_vat_minor"] += last.principal_vat_minor - last_vat - sum(n["principal_vat_minor"] for n in new)
    insert_assigning_ids(conn, Instalment.__table__, new)
    maturity = new[-1]["due_date"]
    conn.execute(update(Contract).where(Contract.contract_id == contract.contract_id).values(
        balloon_minor=0, term_months=contract.term_months + len(new), maturity_date=maturity,
        schedule_version=contract.schedule_version + 1))
    return {"schedule_version": contract.schedule_version + 1, "maturity_date": maturity.isoformat(), "instalments_added": len(new),
            "balloon_moved": format_minor(contract.balloon_minor)}


EXECUTE = {"reversal": _execute_reversal, "refund": _execute_refund, "balloon_extension": _execute_extension,
           "collection_cost": collections.execute_cost, "write_off": collections.execute_write_off, "waiver": _execute_waiver,
           "deposit_offset": _execute_deposit_offset, "deposit_refund": _execute_deposit_refund}
