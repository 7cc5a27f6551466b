"""Early settlement (提前结清): the quote on a date, from the calculator (domain.settlement), and its
execution when the quoted amount is received.

Execution, in one transaction: the received amount becomes an applied receipt; it pays every
billed instalment's open amounts (penalty, fee, interest, principal), the outstanding principal of
the instalments not yet due (which become `settled`, the rest of their interest waived), the
interest accrued to the day and the settlement fee. Two vouchers: a receipt for the billed part
and an early_settlement voucher for the rest (VAT split out of the accrued interest by the billing
rule). The contract closes as settled_early, its mandate is revoked, the partner's exposure falls.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from autofin.domain.errors import InputError
from autofin.domain.lifecycle import CONTRACT
from autofin.domain.money import format_amount, format_minor, from_minor, ppm_to_rate, principal_vat_minor, to_minor, vat_inside_minor
from autofin.domain.products import ALLOCATION_COMPONENTS
from autofin.domain.settlement import InstalmentState, PrepaymentQuote, SettlementQuote, early_settlement_quote, partial_prepayment_quote
from autofin.origination.access import Principal
from autofin.origination.audit import audit
from autofin.origination.contracts import terms_of
from autofin.origination.errors import Conflict
from autofin.origination.partners import amount_minor as checked_minor
from autofin.postlease.payments import applied_receipt
from autofin.reference import voucher_templates
from autofin.servicing.delinquency import refresh_dpd
from autofin.store.ledger import post_contract_events
from autofin.store.models import Allocation, Contract, DebitOrder, Instalment, Mandate, Receipt, ScheduleHistory


def instalments_of(conn: Connection, contract_id: int) -> list[Any]:
    return list(conn.execute(select(Instalment).where(Instalment.contract_id == contract_id).order_by(Instalment.seq)).all())


def keep_schedule(conn: Connection, contract: Any, instalments: list[Any], reason: str, request_id: int | None = None) -> None:
    """The contract's schedule as it stands, kept whole in schedule_history under its version,
    before a re-plan changes it (a balloon extension, a partial prepayment)."""
    conn.execute(insert(ScheduleHistory).values(
        contract_id=contract.contract_id, schedule_version=contract.schedule_version, reason=reason, post_lease_request_id=request_id,
        instalments=[{"seq": i.seq, "due_date": i.due_date.isoformat(), "status": i.status, "principal_minor": i.principal_minor,
                      "interest_minor": i.interest_minor, "fee_minor": i.fee_minor, "principal_vat_minor": i.principal_vat_minor}
                     for i in instalments]))


def _states(conn: Connection, row: Any) -> list[InstalmentState]:
    return [InstalmentState(
        seq=i.seq, due_date=i.due_date, principal=from_minor(i.principal_minor), interest=from_minor(i.interest_minor),
        fee=from_minor(i.fee_minor), is_billed=i.status in ("billed", "paid"), paid_principal=from_minor(i.paid_principal_minor),
        paid_interest=from_minor(i.paid_interest_minor), paid_fee=from_minor(i.paid_fee_minor), penalty=from_minor(i.penalty_minor),
        paid_penalty=from_minor(i.paid_penalty_minor)) for i in instalments_of(conn, row.contract_id)]


def quote(conn: Connection, row: Any, as_of: date, today: date) -> SettlementQuote:
    """What settles the contract with money received on `as_of`, from the books as they stand today.
    A later date is refused: what will be owed then depends on what is paid and charged until
    then (instalments falling due, penalties), which the books cannot know today."""
    if as_of > today:
        raise InputError("as_of", f"{as_of} is after today ({today}): a quote is for money received today; ask on the day it is paid")
    if row.status != "active":
        raise Conflict(f"contract {row.contract_no} is {row.status}; only an active contract is settled early")
    return early_settlement_quote(terms_of(conn, row), start_date=row.start_date, instalments=_states(conn, row), as_of=as_of)


def quote_view(row: Any, q: SettlementQuote) -> dict[str, Any]:
    cur = row.currency
    return {"contract_no": row.contract_no, "as_of": q.as_of.isoformat(), "unpaid_billed": format_amount(q.unpaid_billed, cur),
            "penalties": format_amount(q.penalties, cur), "outstanding_principal": format_amount(q.outstanding_principal, cur),
            "accrued_interest": format_amount(q.accrued_interest, cur), "settlement_fee": format_amount(q.settlement_fee, cur),
            "months_elapsed": q.months_elapsed, "total": format_amount(q.total, cur),
            "customer_credit": format_minor(row.credit_minor, cur),
            "note": "valid for payment received on as_of; customer credit is not netted (refund it separately)"}


def _nothing_in_flight(conn: Connection, row: Any, what: str) -> None:
    """Refused while a debit awaits the bank's answer or a receipt awaits tonight's allocation: the
    books would change under the quote."""
    in_flight = conn.execute(select(func.count(), func.coalesce(func.sum(DebitOrder.amount_minor), 0)).where(
        DebitOrder.contract_id == row.contract_id, DebitOrder.status.in_(("pending", "sent")))).one()
    if in_flight[0]:
        raise Conflict(f"contract {row.contract_no} has {in_flight[0]} direct debit(s) of {format_minor(int(in_flight[1]))} "
                       f"awaiting the bank's answer; {what} once they are answered")
    waiting = conn.execute(select(func.count(), func.coalesce(func.sum(Receipt.amount_minor), 0)).where(
        Receipt.contract_id == row.contract_id, Receipt.status == "unapplied")).one()
    if waiting[0]:
        raise Conflict(f"contract {row.contract_no} has {waiting[0]} receipt(s) of {format_minor(int(waiting[1]))} "
                       f"not yet applied; {what} after tonight's allocation")


def execute(conn: Connection, who: Principal, row: Any, *, amount: Decimal, reference: str, today: date) -> dict[str, Any]:
    amount_minor = checked_minor("amount", amount, positive=True)
    CONTRACT.check(row.status, "settled_early")
    _nothing_in_flight(conn, row, "settle")
    q = quote(conn, row, today, today)
    due = to_minor(q.total)
    if amount_minor != due:
        raise InputError("amount", f"received {format_minor(amount_minor)}, but the settlement of contract {row.contract_no} "
                                   f"on {today} is {format_minor(due)} (billed {format_amount(q.unpaid_billed)} + penalties "
                                   f"{format_amount(q.penalties)} + principal {format_amount(q.outstanding_principal)} + interest "
                                   f"{format_amount(q.accrued_interest)} + fee {format_amount(q.settlement_fee)})")
    receipt_id = applied_receipt(conn, who, row, "settlement", reference, amount_minor, today)

    rows = instalments_of(conn, row.contract_id)
    allocations: list[dict[str, Any]] = []
    billed = dict.fromkeys(ALLOCATION_COMPONENTS, 0)
    for i in rows:
        if i.status != "billed":
            continue
        for comp in ALLOCATION_COMPONENTS:
            open_minor = getattr(i, f"{comp}_minor") - getattr(i, f"paid_{comp}_minor")
            if open_minor:
                allocations.append({"instalment_id": i.instalment_id, "component": comp, "amount_minor": open_minor})
                billed[comp] += open_minor
        conn.execute(update(Instalment).where(Instalment.instalment_id == i.instalment_id).values(
            status="paid", paid_date=today, **{f"paid_{c}_minor": getattr(i, f"{c}_minor") for c in ALLOCATION_COMPONENTS}))
    unbilled = [i for i in rows if i.status == "scheduled"]
    accrued, fee = to_minor(q.accrued_interest), to_minor(q.settlement_fee)
    for n, i in enumerate(unbilled):
        interest = accrued if n == 0 else 0
        allocations.append({"instalment_id": i.instalment_id, "component": "principal", "amount_minor": i.principal_minor})
        if interest:
            allocations.append({"instalment_id": i.instalment_id, "component": "interest", "amount_minor": interest})
        conn.execute(update(Instalment).where(Instalment.instalment_id == i.instalment_id).values(
            status="settled", paid_date=today, paid_principal_minor=i.principal_minor, paid_interest_minor=interest))
    if fee:
        allocations.append({"instalment_id": None, "component": "fee", "amount_minor": fee})
    conn.execute(insert(Allocation), [{"receipt_id": receipt_id, "business_date": today, **a} for a in allocations])
    outstanding = sum(i.principal_minor for i in unbilled)
    assert sum(a["amount_minor"] for a in allocations) == amount_minor, "the settlement allocates exactly what was received"

    batch = f"settlement:{receipt_id}"
    events = []
    if any(billed.values()):
        events.append({"event_type": "receipt", "event_key": f"receipt:{receipt_id}", **{f"{c}_minor": v for c, v in billed.items()}})
    events.append({"event_type": "early_settlement", "event_key": f"early_settlement:{receipt_id}", "outstanding_principal_minor": outstanding,
                   "interest_minor": accrued, "vat_minor": vat_inside_minor(accrued, row.vat_rate_ppm), "fee_minor": fee,
                   "principal_vat_minor": sum(i.principal_vat_minor for i in unbilled)})  # a direct lease's deferred VAT falls due
    posted = post_contract_events(conn, batch, row, today, events, voucher_templates())
    conn.execute(update(Contract).where(Contract.contract_id == row.contract_id).values(status="settled_early", closed_date=today))
    conn.execute(update(Mandate).where(Mandate.contract_id == row.contract_id, Mandate.status == "active").values(status="revoked"))
    refresh_dpd(conn, today, f"SELECT {int(row.contract_id)}")
    audit(conn, who, "contract.settled_early", "contract", row.contract_no, {"status": row.status},
          {"status": "settled_early", "receipt_id": receipt_id, "amount_minor": amount_minor, "outstanding_principal_minor": outstanding,
           "accrued_interest_minor": accrued, "settlement_fee_minor": fee, "billed": billed})
    return {"contract_no": row.contract_no, "status": "settled_early", "receipt_id": receipt_id, "amount": format_minor(amount_minor),
            "quote": quote_view(row, q), "vouchers": posted.entries, "voucher_debit": format_minor(posted.debit_minor),
            "voucher_credit": format_minor(posted.credit_minor)}


# ---------------------------------------------------------------- partial prepayment (部分提前还款)


def prepayment_quote(conn: Connection, row: Any, principal: Decimal, option: str, today: date) -> PrepaymentQuote:
    """What paying `principal` ahead costs today, and the schedule after it (domain.settlement)."""
    if row.status != "active":
        raise Conflict(f"contract {row.contract_no} is {row.status}; only an active contract pays principal ahead")
    return partial_prepayment_quote(terms_of(conn, row), start_date=row.start_date, instalments=_states(conn, row), as_of=today,
                                    principal=principal, option=option, annual_rate=ppm_to_rate(row.annual_rate_ppm))


def prepayment_view(row: Any, q: PrepaymentQuote) -> dict[str, Any]:
    cur = row.currency
    return {"contract_no": row.contract_no, "as_of": q.as_of.isoformat(), "option": q.option, "principal": format_amount(q.principal, cur),
            "accrued_interest": format_amount(q.accrued_interest, cur), "fee": format_amount(q.fee, cur), "total": format_amount(q.total, cur),
            "outstanding_before": format_amount(q.outstanding_before, cur),
            "outstanding_after": format_amount(q.outstanding_before - q.principal, cur),
            "instalment_before": format_amount(q.payment_before, cur), "instalment_after": format_amount(q.payment_after, cur),
            "instalments_left": len(q.schedule), "maturity_date": q.schedule[-1].due_date.isoformat(),
            "schedule": [{"seq": r.seq, "due_date": r.due_date.isoformat(), "principal": format_amount(r.principal, cur),
                          "interest": format_amount(r.interest, cur), "fee": format_amount(r.fee, cur),
                          "payment": format_amount(r.principal + r.interest + r.fee, cur)} for r in q.schedule]}


def prepay(conn: Connection, who: Principal, row: Any, *, principal: Decimal, option: str, amount: Decimal, reference: str,
           today: date) -> dict[str, Any]:
    """The quoted total received: one applied receipt allocated to principal, interest and fee; the
    old schedule kept in schedule_history; the unbilled instalments re-planned (fewer, or smaller);
    one voucher (`partial_prepayment`, VAT split out of the interest by the billing rule)."""
    amount_minor = checked_minor("amount", amount, positive=True)
    _nothing_in_flight(conn, row, "pay ahead")
    q = prepayment_quote(conn, row, principal, option, today)
    due = to_minor(q.total)
    if amount_minor != due:
        raise InputError("amount", f"received {format_minor(amount_minor)}, but paying {format_amount(q.principal)} ahead on {today} "
                                   f"is {format_minor(due)} (principal {format_amount(q.principal)} + interest "
                                   f"{format_amount(q.accrued_interest)} + fee {format_amount(q.fee)})")
    receipt_id = applied_receipt(conn, who, row, "prepayment", reference, amount_minor, today)
    principal_minor, interest_minor, fee_minor = to_minor(q.principal), to_minor(q.accrued_interest), to_minor(q.fee)
    conn.execute(insert(Allocation), [{"receipt_id": receipt_id, "business_date": today, "instalment_id": None, "component": c, "amount_minor": a}
                                      for c, a in (("principal", principal_minor), ("interest", interest_minor), ("fee", fee_minor)) if a])
    old = instalments_of(conn, row.contract_id)
    keep_schedule(conn, row, old, f"partial_prepayment:{option}")
    unbilled = [i for i in old if i.status == "scheduled"]
    deferred_vat_before = sum(i.principal_vat_minor for i in unbilled)
    deferred_vat_after = 0
    for i, r in zip(unbilled, q.schedule, strict=False):
        p, n = to_minor(r.principal), to_minor(r.interest)
        vat = principal_vat_minor(p, n, row.vat_rate_ppm, row.vat_basis)
        deferred_vat_after += vat
        conn.execute(update(Instalment).where(Instalment.instalment_id == i.instalment_id).values(
            principal_minor=p, interest_minor=n, fee_minor=to_minor(r.fee), principal_vat_minor=vat))
    dropped = [i.instalment_id for i in unbilled[len(q.schedule):]]
    if dropped:
        conn.execute(delete(Instalment).where(Instalment.instalment_id.in_(dropped)))
    maturity = q.schedule[-1].due_date
    conn.execute(update(Contract).where(Contract.contract_id == row.contract_id).values(
        schedule_version=row.schedule_version + 1, term_months=row.term_months - len(dropped), maturity_date=maturity))
    posted = post_contract_events(conn, f"prepayment:{receipt_id}", row, today, [{
        "event_type": "partial_prepayment", "event_key": f"partial_prepayment:{receipt_id}", "outstanding_principal_minor": principal_minor,
        "interest_minor": interest_minor, "vat_minor": vat_inside_minor(interest_minor, row.vat_rate_ppm), "fee_minor": fee_minor,
        "principal_vat_minor": deferred_vat_before - deferred_vat_after}],
        voucher_templates())
    audit(conn, who, "contract.partial_prepayment", "contract", row.contract_no, {"schedule_version": row.schedule_version},
          {"schedule_version": row.schedule_version + 1, "option": option, "receipt_id": receipt_id, "principal_minor": principal_minor,
           "interest_minor": interest_minor, "fee_minor": fee_minor, "instalments_left": len(q.schedule), "maturity_date": maturity})
    return {"contract_no": row.contract_no, "receipt_id": receipt_id, "amount": format_minor(amount_minor), "quote": prepayment_view(row, q),
            "schedule_version": row.schedule_version + 1, "voucher_debit": format_minor(posted.debit_minor),
            "voucher_credit": format_minor(posted.credit_minor)}
