"""Customers and vehicles: entry with validation, data scope, and the vehicle inventory lifecycle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from autofin.domain.errors import InputError
from autofin.domain.identity import mask_id, validate_mobile, validate_resident_id, validate_uscc, validate_vin
from autofin.domain.lifecycle import VEHICLE
from autofin.domain.money import format_minor
from autofin.origination.access import Principal, scope
from autofin.origination.audit import audit
from autofin.origination.errors import Conflict, Forbidden, NotFound
from autofin.origination.partners import acting_partner, amount_minor
from autofin.reference import vehicle_models
from autofin.store.models import Contract, Customer, Vehicle

CUSTOMER_KINDS = {"individual": "resident_id", "company": "uscc"}
CONDITIONS = ("new", "used")


def get_customer(conn: Connection, who: Principal, customer_id: int) -> Any:
    """A customer the caller may see: a dealer sees those it brought in or has applications for."""
    row = conn.execute(select(Customer).where(Customer.customer_id == customer_id, scope(who, Customer))).first()
    if row is None:
        raise NotFound("customer", customer_id)
    return row


def list_customers(conn: Connection, who: Principal, *, id_number: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    query = select(Customer).where(scope(who, Customer)).order_by(Customer.customer_id).limit(limit).offset(offset)
    if id_number:
        # every id type named: the number alone is not the lead of the (id_type, id_number) key, and
        # without the types SQLite read every customer (1M: 0.1 s a lookup); with them, a seek per type
        query = query.where(Customer.id_type.in_(CUSTOMER_KINDS.values()), Customer.id_number == id_number.strip().upper())
    return [customer_view(r) for r in conn.execute(query).all()]


def list_vehicles(conn: Connection, who: Principal, *, inventory_status: str | None, vin: str | None, limit: int,
                  offset: int) -> list[dict[str, Any]]:
    query = select(Vehicle).where(scope(who, Vehicle)).order_by(Vehicle.vehicle_id).limit(limit).offset(offset)
    if inventory_status:
        query = query.where(Vehicle.inventory_status == inventory_status)
    if vin:
        query = query.where(Vehicle.vin == vin.strip().upper())
    return [vehicle_view(r) for r in conn.execute(query).all()]


def customer_view(row: Any) -> dict[str, Any]:
    return {"customer_id": row.customer_id, "kind": row.kind, "name": row.name, "id_type": row.id_type,
            "id_number_masked": mask_id(row.id_number), "mobile_masked": mask_id(row.mobile) if row.mobile else None,
            "birth_date": row.birth_date.isoformat() if row.birth_date else None, "city": row.city,
            "is_blacklisted": bool(row.is_blacklisted)}


def create_customer(conn: Connection, who: Principal, *, kind: str, name: str, id_number: str, mobile: str | None, city: str | None,
                    today: date) -> Any:
    if kind not in CUSTOMER_KINDS:
        raise InputError("kind", f"one of {', '.join(CUSTOMER_KINDS)}")
    name = name.strip()
    if not name or len(name) > 200:
        raise InputError("name", "1 to 200 characters")
    birth = None
    if kind == "individual":
        number, birth = validate_resident_id(id_number, "id_number", today=today)
    else:
        number = validate_uscc(id_number, "id_number")
    mobile = validate_mobile(mobile or "", "mobile") if mobile or kind == "individual" else None
    existing = conn.execute(select(Customer.customer_id).where(Customer.id_type == CUSTOMER_KINDS[kind], Customer.id_number == number)).scalar()
    if existing is not None:
        try:  # its id only to a caller who may see it: never another dealer's customer
            get_customer(conn, who, existing)
        except NotFound:
            raise Conflict(f"a customer with id {mask_id(number)} is registered already by another partner; "
                           "operations can share the record with you") from None
        raise Conflict(f"a customer with id {mask_id(number)} is registered already (customer_id {existing})")
    values = {"kind": kind, "name": name, "id_type": CUSTOMER_KINDS[kind], "id_number": number, "mobile": mobile,
              "birth_date": birth, "city": (city or "").strip() or None, "partner_id": who.partner_id}
    customer_id = conn.execute(insert(Customer).values(**values).returning(Customer.customer_id)).scalar_one()
    audit(conn, who, "customer.create", "customer", customer_id, None, {**values, "id_number": mask_id(number),
                                                                        "mobile": mask_id(mobile) if mobile else None})
    return conn.execute(select(Customer).where(Customer.customer_id == customer_id)).one()


def set_customer_blacklist(conn: Connection, who: Principal, row: Any, on: bool, reason: str | None) -> Any:
    if on and not (reason or "").strip():
        raise InputError("reason", "say why the customer is blacklisted")
    conn.execute(update(Customer).where(Customer.customer_id == row.customer_id).values(is_blacklisted=on))
    audit(conn, who, "customer.blacklist", "customer", row.customer_id, {"is_blacklisted": bool(row.is_blacklisted)},
          {"is_blacklisted": on, "reason": reason})
    return conn.execute(select(Customer).where(Customer.customer_id == row.customer_id)).one()


def get_vehicle(conn: Connection, who: Principal, vehicle_id: int) -> Any:
    row = conn.execute(select(Vehicle).where(Vehicle.vehicle_id == vehicle_id, scope(who, Vehicle))).first()
    if row is None:
        raise NotFound("vehicle", vehicle_id)
    return row


def vehicle_view(row: Any) -> dict[str, Any]:
    model = vehicle_models().get(row.model_code)
    return {"vehicle_id": row.vehicle_id, "vin": row.vin, "model_code": row.model_code, "brand": row.brand,
            "model_name": row.model_name, "condition": row.condition, "price": format_minor(row.price_minor),
            "inventory_status": row.inventory_status, "branch": row.branch,
            "reference_price": None if model is None else {"min": str(model["price_min"]), "max": str(model["price_max"])}}


def create_vehicle(conn: Connection, who: Principal, *, vin: str, model_code: str, condition: str, price: Decimal, inventory_status: str,
                   partner_code: str | None, branch: str | None) -> Any:
    vin = validate_vin(vin, "vin")
    model = vehicle_models().get(model_code)
    if model is None:
        raise InputError("model_code", f"unknown model {model_code!r}; see GET /reference/vehicle-models")
    if vin[:3] != model["wmi"]:
        raise InputError("vin", f"the VIN's maker code {vin[:3]} is not {model['brand']}'s ({model['wmi']})")
    if condition not in CONDITIONS:
        raise InputError("condition", f"one of {', '.join(CONDITIONS)}")
    if inventory_status not in ("in_stock", "purchase_in_transit"):
        raise InputError("inventory_status", "a vehicle enters inventory in_stock or purchase_in_transit")
    partner_id = acting_partner(conn, who, partner_code).partner_id
    if conn.execute(select(Vehicle.vehicle_id).where(Vehicle.vin == vin)).scalar() is not None:
        raise Conflict(f"vehicle {vin} is registered already")
    values = {"vin": vin, "model_code": model_code, "brand": model["brand"], "model_name": model["name"], "condition": condition,
              "price_minor": amount_minor("price", price, positive=True), "inventory_status": inventory_status,
              "partner_id": partner_id, "branch": (branch or "").strip() or None}
    vehicle_id = conn.execute(insert(Vehicle).values(**values).returning(Vehicle.vehicle_id)).scalar_one()
    audit(conn, who, "vehicle.create", "vehicle", vehicle_id, None, values)
    return conn.execute(select(Vehicle).where(Vehicle.vehicle_id == vehicle_id)).one()


# what a vehicle may be while its contract is in each live status; with no live contract it is
# never reserved nor leased
WHILE_CONTRACT = {"pending_signature": ("reserved", "abnormal"), "signed": ("reserved", "abnormal"),
                  "active": ("leased", "repossessed", "abnormal")}
POST_LOAN_STATUSES = ("repossessed", "disposed")


def move_vehicle(conn: Connection, who: Principal, row: Any, target: str, reason: str | None) -> Any:
    """A status set by hand, within the inventory lifecycle and never against the vehicle's
    contract: a vehicle under a live contract is reserved (before payout) or leased (after), or
    abnormal; one under none is neither reserved nor leased. Repossessed, and out of it, only by
    the repossession's events (postlease.collections); a vehicle disposed of from stock by post-loan staff."""
    if target not in VEHICLE.statuses:
        raise InputError("inventory_status", f"one of {', '.join(VEHICLE.statuses)}")
    if who.role == "dealer" and (target in POST_LOAN_STATUSES or row.inventory_status in POST_LOAN_STATUSES):
        raise Forbidden("repossession and disposal are recorded by post-loan staff")
    if target == "repossessed" or row.inventory_status == "repossessed":
        raise Conflict(f"vehicle {row.vin}: a repossession moves it, through its collection case "
                       "(/collection-cases/{id}/repossessions, /repossessions/{id}/...), never by hand")
    VEHICLE.check(row.inventory_status, target)
    contract = conn.execute(select(Contract.contract_no, Contract.status).where(
        Contract.vehicle_id == row.vehicle_id, Contract.status.in_(tuple(WHILE_CONTRACT))).order_by(Contract.contract_id.desc())).first()
    fitting = WHILE_CONTRACT[contract.status] if contract is not None else tuple(s for s in VEHICLE.statuses if s not in ("reserved", "leased"))
    if target not in fitting:
        whose = f"contract {contract.contract_no} ({contract.status})" if contract is not None else "no live contract"
        raise Conflict(f"vehicle {row.vin} is under {whose}; it can be {', '.join(fitting)} while it is, not {target}")
    conn.execute(update(Vehicle).where(Vehicle.vehicle_id == row.vehicle_id).values(inventory_status=target))
    audit(conn, who, "vehicle.status", "vehicle", row.vehicle_id, {"inventory_status": row.inventory_status},
          {"inventory_status": target, "reason": reason})
    return conn.execute(select(Vehicle).where(Vehicle.vehicle_id == row.vehicle_id)).one()
