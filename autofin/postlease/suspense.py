"""Unidentified receipts (待查明款项) and reconciliation breaks resolved by people.

Money the bank shows that matches no receipt is a break (unmatched_statement_line). Finance books it
to the unidentified receipts: it is then on the books (1002 against 2241.02) and off the break
list. Once someone finds whose it is, it is matched to a contract: a receipt that the night's
allocation applies by the contract's waterfall (suspense_match takes it off 2241.02; the receipt's
own voucher books the bank side). Money seen without a statement (a call from the bank, a
transfer slip) is entered the same way. Every other break is resolved with a reason. All of it
audited; the day close ties 2241.02 to the open unidentified receipts.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from autofin.domain.errors import InputError
from autofin.domain.money import format_minor
from autofin.domain.text import checked_text
from autofin.origination.access import Principal
from autofin.origination.audit import audit
from autofin.origination.contracts import get_contract
from autofin.origination.errors import Conflict, NotFound, referenced
from autofin.origination.partners import amount_minor
from autofin.postlease import payments
from autofin.reference import bank_profiles, voucher_templates
from autofin.store.engine import iso
from autofin.store.ledger import post_batch, post_contract_events
from autofin.store.models import BankStatementLine, MoneyEvent, Receipt, ReconciliationBreak, UnidentifiedReceipt


def _reason(value: str, field: str = "reason") -> str:
    value = checked_text((value or "").strip(), field)
    if not value:
        raise InputError(field, "say why")
    return value


def break_view(b: Any) -> dict[str, Any]:
    return {"break_id": b.reconciliation_break_id, "business_date": b.business_date.isoformat(), "bank_code": b.bank_code, "kind": b.kind,
            "reference": b.reference, "bank_amount": format_minor(b.bank_minor), "book_amount": format_minor(b.book_minor), "status": b.status,
            "resolution": b.resolution, "resolved_at": iso(b.resolved_at)}


def list_breaks(conn: Connection, status: str, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(ReconciliationBreak).where(ReconciliationBreak.status == status)
                        .order_by(ReconciliationBreak.reconciliation_break_id).limit(limit).offset(offset)).all()
    return [break_view(b) for b in rows]


def _open_break(conn: Connection, break_id: int) -> Any:
    row = conn.execute(select(ReconciliationBreak).where(ReconciliationBreak.reconciliation_break_id == break_id)).first()
    if row is None:
        raise NotFound("reconciliation break", break_id)
    if row.status != "open":
        raise Conflict(f"break {break_id} is already resolved: {row.resolution}")
    return row


def _close_break(conn: Connection, who: Principal, row: Any, resolution: str, now: datetime) -> None:
    changed = conn.execute(update(ReconciliationBreak).where(ReconciliationBreak.reconciliation_break_id == row.reconciliation_break_id,
                                                             ReconciliationBreak.status == "open")
                           .values(status="resolved", resolution=resolution, resolved_by=who.user_id, resolved_at=now)).rowcount
    if not changed:
        raise Conflict(f"break {row.reconciliation_break_id} was resolved meanwhile")
    audit(conn, who, "reconciliation_break.resolved", "reconciliation_break", row.reconciliation_break_id, {"status": "open"},
          {"status": "resolved", "resolution": resolution})


def resolve_break(conn: Connection, who: Principal, break_id: int, reason: str, now: datetime) -> dict[str, Any]:
    """A break resolved with a reason (a bank error corrected, a timing difference that cleared...)."""
    row = _open_break(conn, break_id)
    _close_break(conn, who, row, _reason(reason), now)
    return break_view(conn.execute(select(ReconciliationBreak).where(ReconciliationBreak.reconciliation_break_id == break_id)).one())


def unidentified_view(u: Any) -> dict[str, Any]:
    return {"unidentified_id": u.unidentified_receipt_id, "bank_code": u.bank_code, "reference": u.reference,
            "amount": format_minor(u.amount_minor, u.currency), "value_date": u.value_date.isoformat(), "business_date": u.business_date.isoformat(),
            "payer_name": u.payer_name, "status": u.status, "break_id": u.reconciliation_break_id, "receipt_id": u.receipt_id, "note": u.note}


def _book(conn: Connection, who: Principal, *, bank_code: str, reference: str, amount_minor_: int, value_date: date, payer_name: str | None,
          note: str | None, break_id: int | None, today: date) -> dict[str, Any]:
    if conn.execute(select(UnidentifiedReceipt.unidentified_receipt_id).where(UnidentifiedReceipt.reference == reference)).first():
        raise Conflict(f"money with reference {reference} is already among the unidentified receipts")
    # each key a receipt with this bank reference would have (a LIKE '%:REF' read every receipt, and took
    # a waiver's or a credit's own number for a bank reference)
    if payments.taken(conn, [payments.receipt_ref(source, reference) for source in payments.BANK_REFERENCED]):
        raise Conflict(f"a receipt with reference {reference} is already on the books")
    uid = conn.execute(insert(UnidentifiedReceipt).values(
        bank_code=bank_code, reference=reference, amount_minor=amount_minor_, value_date=value_date, business_date=today,
        payer_name=payer_name, status="open", reconciliation_break_id=break_id, note=note, created_by=who.user_id)
        .returning(UnidentifiedReceipt.unidentified_receipt_id)).scalar_one()
    batch = f"unidentified:{uid}"
    conn.execute(insert(MoneyEvent).values(event_type="unidentified_receipt", event_key=batch, contract_id=None, business_date=today,
                                           amount_minor=amount_minor_, batch_id=batch))
    post_batch(conn, batch, voucher_templates())
    audit(conn, who, "unidentified_receipt.booked", "unidentified_receipt", uid, None,
          {"reference": reference, "amount_minor": amount_minor_, "break_id": break_id})
    return unidentified_view(conn.execute(select(UnidentifiedReceipt).where(UnidentifiedReceipt.unidentified_receipt_id == uid)).one())


def book_break(conn: Connection, who: Principal, break_id: int, *, payer_name: str | None, note: str | None, now: datetime,
               today: date) -> dict[str, Any]:
    """An unmatched credit on a bank statement booked to the unidentified receipts; its break resolved."""
    row = _open_break(conn, break_id)
    if row.kind != "unmatched_statement_line":
        raise Conflict(f"break {break_id} is {row.kind}; only money the statement shows and no receipt holds is booked as unidentified")
    line = conn.execute(select(BankStatementLine).where(BankStatementLine.reference == row.reference, BankStatementLine.bank_code == row.bank_code,
                                                        BankStatementLine.status == "break", BankStatementLine.is_credit.is_(True))).first()
    if line is None:
        raise Conflict(f"break {break_id}: the statement line {row.reference} is no longer open (matched since?)")
    out = _book(conn, who, bank_code=row.bank_code, reference=str(row.reference), amount_minor_=line.amount_minor, value_date=line.booking_date,
                payer_name=checked_text(payer_name.strip(), "payer_name") if payer_name else None,
                note=checked_text(note.strip(), "note") if note else None, break_id=break_id, today=today)
    conn.execute(update(BankStatementLine).where(BankStatementLine.bank_statement_line_id == line.bank_statement_line_id).values(status="suspense"))
    _close_break(conn, who, row, f"booked to unidentified receipt {out['unidentified_id']}", now)
    return out


def enter_unidentified(conn: Connection, who: Principal, *, bank_code: str, reference: str, amount: Decimal, value_date: date,
                       payer_name: str | None, note: str | None, today: date) -> dict[str, Any]:
    """Money known to be in the bank (no statement yet) that matches no contract."""
    if bank_code not in bank_profiles():
        raise InputError("bank_code", f"one of {', '.join(bank_profiles())}")
    if value_date > today:
        raise InputError("value_date", f"not after today ({today})")
    return _book(conn, who, bank_code=bank_code, reference=checked_text(reference.strip(), "reference"),
                 amount_minor_=amount_minor("amount", amount, positive=True), value_date=value_date,
                 payer_name=checked_text(payer_name.strip(), "payer_name") if payer_name else None,
                 note=checked_text(note.strip(), "note") if note else None, break_id=None, today=today)


def list_unidentified(conn: Connection, status: str, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(UnidentifiedReceipt).where(UnidentifiedReceipt.status == status)
                        .order_by(UnidentifiedReceipt.unidentified_receipt_id).limit(limit).offset(offset)).all()
    return [unidentified_view(u) for u in rows]


def match(conn: Connection, who: Principal, unidentified_id: int, contract_no: str, reason: str, today: date) -> dict[str, Any]:
    """Unidentified money matched to a contract (认领): a receipt for tonight's allocation, and off 2241.02."""
    u = conn.execute(select(UnidentifiedReceipt).where(UnidentifiedReceipt.unidentified_receipt_id == unidentified_id)).first()
    if u is None:
        raise NotFound("unidentified receipt", unidentified_id)
    if u.status != "open":
        raise Conflict(f"unidentified receipt {unidentified_id} is already {u.status}")
    contract = referenced("contract_no", lambda: get_contract(conn, who, contract_no))
    if contract.status != "active":
        raise InputError("contract_no", f"contract {contract.contract_no} is {contract.status}; money is matched to active contracts")
    if contract.currency != u.currency:
        raise InputError("contract_no", f"contract {contract.contract_no} is in {contract.currency}, the money in {u.currency}")
    receipt_id = conn.execute(insert(Receipt).values(
        contract_id=contract.contract_id, source="transfer", source_ref=payments.receipt_ref("suspense", u.reference), amount_minor=u.amount_minor,
        currency=u.currency, value_date=u.value_date, business_date=today, status="unapplied", payer_name=u.payer_name,
        created_by=who.user_id).returning(Receipt.receipt_id)).scalar_one()
    changed = conn.execute(update(UnidentifiedReceipt).where(UnidentifiedReceipt.unidentified_receipt_id == unidentified_id,
                                                             UnidentifiedReceipt.status == "open")
                           .values(status="matched", contract_id=contract.contract_id, receipt_id=receipt_id)).rowcount
    if not changed:
        raise Conflict(f"unidentified receipt {unidentified_id} was matched meanwhile")
    post_contract_events(conn, f"suspense_match:{unidentified_id}", contract, today,
                         [{"event_type": "suspense_match", "event_key": f"suspense_match:{unidentified_id}", "amount_minor": u.amount_minor}],
                         voucher_templates())
    audit(conn, who, "unidentified_receipt.matched", "unidentified_receipt", unidentified_id, {"status": "open"},
          {"status": "matched", "contract_no": contract.contract_no, "receipt_id": receipt_id, "reason": _reason(reason)})
    return unidentified_view(conn.execute(select(UnidentifiedReceipt).where(UnidentifiedReceipt.unidentified_receipt_id == unidentified_id)).one())
