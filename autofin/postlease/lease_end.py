"""Lease end (租赁期满留购): a direct lease or a sale-and-leaseback, paid off (or settled early),
ends with the lessee buying the vehicle at the residual value of its frozen terms (the product's
`lease_end`), with the VAT that the lease type carries inside it. The money is a receipt applied at
once (source `buy_out`); the buy-out posts `buy_out`
(Dr 1002 / Cr 6051, VAT to 2221.01) and opens the title-transfer task (过户); the task is done
when the registration is changed, and the vehicle leaves the books as `transferred`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from autofin.domain.errors import InputError
from autofin.domain.lifecycle import VEHICLE
from autofin.domain.money import format_minor, rate_to_ppm, to_minor, vat_inside_minor
from autofin.domain.text import checked_text
from autofin.origination.access import Principal, scope
from autofin.origination.audit import audit
from autofin.origination.contracts import terms_of
from autofin.origination.errors import Conflict, NotFound
from autofin.origination.partners import amount_minor as checked_minor
from autofin.postlease.payments import applied_receipt
from autofin.reference import voucher_templates
from autofin.store.engine import as_date, iso
from autofin.store.ledger import post_contract_events
from autofin.store.models import Allocation, Contract, TitleTransfer, Vehicle

LEASES = ("direct_lease", "sale_leaseback")
ENDED = ("paid_off", "settled_early")


def view(t: Any, contract_no: str) -> dict[str, Any]:
    return {"title_transfer_id": t.title_transfer_id, "contract_no": contract_no, "vehicle_id": t.vehicle_id,
            "buy_out": format_minor(t.buy_out_minor, t.currency), "vat": format_minor(t.vat_minor, t.currency), "reference": t.reference,
            "bought_out_date": as_date(t.bought_out_date).isoformat(), "status": t.status, "registration_no": t.registration_no,
            "transferred_date": None if t.transferred_date is None else as_date(t.transferred_date).isoformat(), "created_at": iso(t.created_at)}


def _price(conn: Connection, row: Any) -> tuple[int, int, Decimal]:
    """The buy-out price, the VAT inside it and its rate, from the contract's frozen terms."""
    if row.business_type not in LEASES:
        raise Conflict(f"contract {row.contract_no} is a {row.business_type}; only a lease ends with a buy-out")
    rule = terms_of(conn, row).lease_end
    if rule is None:
        raise Conflict(f"contract {row.contract_no}'s product has no lease-end rule")
    price = to_minor(rule.buy_out_price)
    return price, vat_inside_minor(price, rate_to_ppm(rule.vat_rate)), rule.vat_rate


def quote(conn: Connection, row: Any) -> dict[str, Any]:
    price, vat, vat_rate = _price(conn, row)
    return {"contract_no": row.contract_no, "business_type": row.business_type, "buy_out": format_minor(price, row.currency),
            "vat_rate": str(vat_rate), "vat": format_minor(vat, row.currency), "payable_now": row.status in ENDED, "status": row.status}


def buy_out(conn: Connection, who: Principal, row: Any, *, amount: Decimal, reference: str, today: date) -> dict[str, Any]:
    price, vat, _ = _price(conn, row)
    if row.status not in ENDED:
        raise Conflict(f"contract {row.contract_no} is {row.status}; the vehicle is bought out once the lease is paid off or settled")
    reference = checked_text(reference.strip(), "reference")
    if not reference:
        raise InputError("reference", "the bank's reference of the buy-out payment")
    if conn.execute(select(TitleTransfer.title_transfer_id).where(TitleTransfer.contract_id == row.contract_id)).first():
        raise Conflict(f"contract {row.contract_no}'s vehicle is already bought out")
    received = checked_minor("amount", amount, positive=True)
    if received != price:
        raise InputError("amount", f"received {format_minor(received)}, the buy-out price of contract {row.contract_no} is {format_minor(price)}")
    # the money, as a receipt applied at once to the buy-out (cash received and the statement see it)
    receipt_id = applied_receipt(conn, who, row, "buy_out", reference, price, today)
    conn.execute(insert(Allocation).values(receipt_id=receipt_id, instalment_id=None, component="buy_out", amount_minor=price,
                                           business_date=today))
    transfer_id = conn.execute(insert(TitleTransfer).values(
        contract_id=row.contract_id, vehicle_id=row.vehicle_id, buy_out_minor=price, vat_minor=vat, currency=row.currency, reference=reference,
        bought_out_date=today, status="open", created_by=who.user_id).returning(TitleTransfer.title_transfer_id)).scalar_one()
    posted = post_contract_events(conn, f"buy_out:{transfer_id}", row, today, [{
        "event_type": "buy_out", "event_key": f"buy_out:{transfer_id}", "amount_minor": price, "vat_minor": vat}], voucher_templates())
    audit(conn, who, "contract.bought_out", "contract", row.contract_no, None,
          {"title_transfer_id": transfer_id, "buy_out_minor": price, "vat_minor": vat, "reference": reference})
    return {**view(conn.execute(select(TitleTransfer).where(TitleTransfer.title_transfer_id == transfer_id)).one(), row.contract_no),
            "voucher_debit": format_minor(posted.debit_minor)}


def listing(conn: Connection, who: Principal, status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    query = (select(TitleTransfer.__table__, Contract.contract_no).join(Contract, Contract.contract_id == TitleTransfer.contract_id)
             .where(scope(who, Contract)).order_by(TitleTransfer.title_transfer_id).limit(limit).offset(offset))
    if status:
        query = query.where(TitleTransfer.status == status)
    return [view(r, r.contract_no) for r in conn.execute(query).all()]


def complete(conn: Connection, who: Principal, transfer_id: int, registration_no: str, today: date) -> dict[str, Any]:
    """The registration changed to the lessee (过户完成): the task is done, the vehicle `transferred`."""
    t = conn.execute(select(TitleTransfer.__table__, Contract.contract_no).join(Contract, Contract.contract_id == TitleTransfer.contract_id)
                     .where(TitleTransfer.title_transfer_id == transfer_id, scope(who, Contract))).first()
    if t is None:
        raise NotFound("title transfer", transfer_id)
    registration_no = checked_text(registration_no.strip(), "registration_no")
    if not registration_no:
        raise InputError("registration_no", "the vehicle registration certificate's number after the transfer")
    changed = conn.execute(update(TitleTransfer).where(TitleTransfer.title_transfer_id == transfer_id, TitleTransfer.status == "open")
                           .values(status="done", registration_no=registration_no, transferred_date=today, done_by=who.user_id)).rowcount
    if not changed:
        raise Conflict(f"title transfer {transfer_id} is already {t.status}")
    if t.vehicle_id is not None:
        status = conn.execute(select(Vehicle.inventory_status).where(Vehicle.vehicle_id == t.vehicle_id)).scalar_one()
        VEHICLE.check(status, "transferred")
        conn.execute(update(Vehicle).where(Vehicle.vehicle_id == t.vehicle_id).values(inventory_status="transferred"))
        audit(conn, who, "vehicle.status", "vehicle", t.vehicle_id, {"inventory_status": status}, {"inventory_status": "transferred"})
    audit(conn, who, "title_transfer.done", "title_transfer", transfer_id, {"status": "open"},
          {"status": "done", "registration_no": registration_no})
    return view(conn.execute(select(TitleTransfer).where(TitleTransfer.title_transfer_id == transfer_id)).one(), t.contract_no)
