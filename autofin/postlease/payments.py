"""Payments entered by hand (线下转账) and corporate settlements (对公结算): receipts that the
nightly allocation applies by the contract's waterfall, like the banks' answers.

A receipt's business date is the day it is entered, so that night's cycle applies it. Its
reference is unique per source (`<source>:<reference>`): the same transfer entered twice is a 409,
or, in a batch, a listed bad row. A batch is validated whole first; one bad row and nothing is
entered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select

from autofin.domain.errors import InputError
from autofin.domain.money import format_minor
from autofin.domain.text import checked_text
from autofin.origination.access import Principal
from autofin.origination.audit import audit
from autofin.origination.contracts import get_contract
from autofin.origination.errors import Conflict, referenced
from autofin.origination.partners import amount_minor
from autofin.postlease import collections
from autofin.store.engine import iso
from autofin.store.models import Receipt

SOURCES = ("transfer", "corporate")
APPLIED_AT_ONCE = ("settlement", "prepayment", "buy_out")  # applied_receipt's sources
# the receipts whose reference is the bank's, of the transfer that brought the money: payments by hand,
# money applied at once, money matched from suspense (the others carry our own keys: waiver:<id>,
# credit:<contract>:<day>, a debit's end-to-end id...)
BANK_REFERENCED = (*SOURCES, *APPLIED_AT_ONCE, "suspense")
COLUMNS = ("contract_no", "amount", "value_date", "source", "reference", "payer_name")
PAYABLE = ("active", "written_off")  # money for a written-off contract is a recovery (已核销收回), applied at once


def receipt_ref(source: str, reference: str) -> str:
    """A receipt's unique key from its source and the bank's reference."""
    return f"{source}:{reference}"


def view(r: Any, contract_no: str) -> dict[str, Any]:
    return {"receipt_id": r.receipt_id, "contract_no": contract_no, "source": r.source, "reference": r.source_ref.split(":", 1)[-1],
            "amount": format_minor(r.amount_minor), "value_date": r.value_date.isoformat(), "business_date": r.business_date.isoformat(),
            "status": r.status, "payer_name": r.payer_name, "created_at": iso(r.created_at)}


def _validated(conn: Connection, who: Principal, data: Mapping[str, Any], today: date) -> dict[str, Any]:
    source = str(data.get("source") or "transfer")
    if source not in SOURCES:
        raise InputError("source", f"one of {', '.join(SOURCES)}")
    reference = checked_text(str(data.get("reference") or "").strip(), "reference")
    if not reference or len(reference) > 50:
        raise InputError("reference", "the bank's reference of the transfer, 1 to 50 characters")
    amount = amount_minor("amount", data.get("amount"), positive=True)
    try:
        value_date = data["value_date"] if isinstance(data.get("value_date"), date) else date.fromisoformat(str(data.get("value_date")))
    except ValueError:
        raise InputError("value_date", f"{data.get('value_date')!r} is not a date (YYYY-MM-DD)") from None
    if value_date > today:
        raise InputError("value_date", f"{value_date} is after today ({today})")
    contract = referenced("contract_no", lambda: get_contract(conn, who, str(data.get("contract_no") or "")))
    if contract.status not in PAYABLE:
        raise InputError("contract_no", f"contract {contract.contract_no} is {contract.status}; payments are taken for active and written-off contracts")
    began = contract.activated_date or contract.start_date  # paid out (a migrated contract: its start)
    if value_date < began:
        raise InputError("value_date", f"{value_date} is before contract {contract.contract_no} began on {began}")
    return {"contract_id": contract.contract_id, "contract_no": contract.contract_no, "_contract": contract, "source": source,
            "source_ref": receipt_ref(source, reference),
            "amount_minor": amount, "currency": contract.currency, "value_date": value_date, "business_date": today,
            "payer_name": (checked_text(str(data.get("payer_name") or "").strip(), "payer_name") or None)}


def taken(conn: Connection, refs: Sequence[str]) -> set[str]:
    """Which of the receipt keys `refs` are on the books."""
    return set(conn.execute(select(Receipt.source_ref).where(Receipt.source_ref.in_(list(refs)))).scalars()) if refs else set()


def _insert(conn: Connection, who: Principal, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        contract_no, contract = row.pop("contract_no"), row.pop("_contract")
        recovery = contract.status == "written_off"
        receipt_id = conn.execute(insert(Receipt).values(status="applied" if recovery else "unapplied", created_by=who.user_id, **row)
                                  .returning(Receipt.receipt_id)).scalar_one()
        if recovery:
            collections.record_recovery(conn, contract, receipt_id, row["amount_minor"], row["business_date"])
        audit(conn, who, "receipt.recovery" if recovery else "receipt.entered", "receipt", receipt_id, None, {**row, "contract_no": contract_no})
        out.append(view(conn.execute(select(Receipt).where(Receipt.receipt_id == receipt_id)).one(), contract_no))
    return out


def record(conn: Connection, who: Principal, *, contract_no: str, amount: Decimal, value_date: date, source: str, reference: str,
           payer_name: str | None, today: date) -> dict[str, Any]:
    """One payment entered by hand (the same checks as a row of a batch)."""
    row = _validated(conn, who, {"contract_no": contract_no, "amount": amount, "value_date": value_date, "source": source,
                                 "reference": reference, "payer_name": payer_name}, today)
    if taken(conn, [row["source_ref"]]):
        raise Conflict(f"a {row['source']} with reference {reference} is already entered")
    return _insert(conn, who, [row])[0]


def record_batch(conn: Connection, who: Principal, rows: Sequence[Mapping[str, str]], today: date) -> dict[str, Any]:
    """Every row checked first (fields, contracts, references unique in the file and the store);
    one bad row and nothing is entered, with every bad row listed."""
    errors: list[dict[str, Any]] = []
    good: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(rows, start=2):  # row 1 is the header
        unknown = [k for k in raw if k not in COLUMNS]
        if unknown:
            errors.append({"row": n, "field": unknown[0], "reason": f"unknown column; columns: {', '.join(COLUMNS)}"})
            continue
        try:
            row = _validated(conn, who, raw, today)
        except InputError as exc:
            errors.append({"row": n, "field": exc.field, "reason": exc.reason})
            continue
        if row["source_ref"] in seen:
            errors.append({"row": n, "field": "reference", "reason": f"the same as row {seen[row['source_ref']]}"})
            continue
        seen[row["source_ref"]] = n
        good.append({**row, "_row": n})
    for ref in taken(conn, [r["source_ref"] for r in good]):
        errors.append({"row": seen[ref], "field": "reference", "reason": f"{ref} is already entered"})
    if not rows:
        errors.append({"row": 1, "field": "file", "reason": "no rows"})
    if errors:
        return {"entered": 0, "errors": sorted(errors, key=lambda e: e["row"])}
    for r in good:
        r.pop("_row")
    total = sum(r["amount_minor"] for r in good)
    receipts = _insert(conn, who, good)
    return {"entered": len(receipts), "total": format_minor(total), "receipts": receipts, "errors": []}


def list_receipts(conn: Connection, who: Principal, contract_no: str) -> list[dict[str, Any]]:
    contract_id = get_contract(conn, who, contract_no).contract_id
    rows = conn.execute(select(Receipt).where(Receipt.contract_id == contract_id).order_by(Receipt.receipt_id)).all()
    return [view(r, contract_no) for r in rows]


def applied_receipt(conn: Connection, who: Principal, row: Any, source: str, reference: str, amount_minor: int, today: date) -> int:
    """Money received for an operation that applies it at once (a settlement, a prepayment, a
    buy-out): a receipt of `source`, `applied`, its reference unique per source; the caller writes
    its allocations in the same transaction."""
    assert source in APPLIED_AT_ONCE, source  # its reference is the bank's: BANK_REFERENCED names it
    source_ref = receipt_ref(source, reference)
    if taken(conn, [source_ref]):
        raise Conflict(f"a {source} with reference {reference} is already entered")
    return int(conn.execute(insert(Receipt).values(
        contract_id=row.contract_id, source=source, source_ref=source_ref, amount_minor=amount_minor, currency=row.currency,
        value_date=today, business_date=today, status="applied", created_by=who.user_id).returning(Receipt.receipt_id)).scalar_one())
