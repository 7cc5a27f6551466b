"""Customers and vehicles."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exists, or_, select

from autofin.api.deps import allowed, principal, store
from autofin.api.idempotency import HEADER, run_once
from autofin.api.schemas import (
    BlacklistIn,
    CustomerIn,
    Offset,
    PathId,
    VehicleIn,
    VehicleStatusIn,
)
from autofin.origination import parties as svc
from autofin.origination.access import Principal
from autofin.store.models import Application, Customer, Vehicle

customers = APIRouter(prefix="/customers", tags=["customers"])
vehicles = APIRouter(prefix="/vehicles", tags=["vehicles"])


@customers.get("")
def list_customers(request: Request, id_number: str | None = None, limit: int = Query(100, ge=1, le=1000),
                   offset: Offset = 0, who: Principal = Depends(principal)) -> list[dict]:
    query = select(Customer).order_by(Customer.customer_id).limit(limit).offset(offset)
    if id_number:
        query = query.where(Customer.id_number == id_number.strip().upper())
    if who.partner_scope is not None:
        query = query.where(or_(
            Customer.partner_id == who.partner_scope,
            exists().where(Application.customer_id == Customer.customer_id, Application.partner_id == who.partner_scope)))
    with store(request).read() as conn:
        return [svc.customer_view(r) for r in conn.execute(query).all()]


@customers.get("/{customer_id}")
def get_customer(request: Request, customer_id: PathId, who: Principal = Depends(principal)) -> dict:
    with store(request).read() as conn:
        return svc.customer_view(svc.get_customer(conn, who, customer_id))


@customers.post("", status_code=201)
def create_customer(request: Request, body: CustomerIn, who: Principal = Depends(allowed("customers.write")),
                    idempotency_key: str | None = Header(None, alias=HEADER)) -> JSONResponse:
    s = store(request)
    with s.write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/customers", body.model_dump_json(),
                        lambda: (201, svc.customer_view(svc.create_customer(conn, who, body.model_dump(), s.today()))))


@customers.post("/{customer_id}/blacklist")
def blacklist_customer(request: Request, customer_id: PathId, body: BlacklistIn,
                       who: Principal = Depends(allowed("customers.blacklist"))) -> dict:
    with store(request).write() as conn:
        row = svc.get_customer(conn, who, customer_id)
        return svc.customer_view(svc.set_customer_blacklist(conn, who, row, body.blacklisted, body.reason))


@vehicles.get("")
def list_vehicles(request: Request, inventory_status: str | None = None, vin: str | None = None,
                  limit: int = Query(100, ge=1, le=1000), offset: Offset = 0,
                  who: Principal = Depends(principal)) -> list[dict]:
    query = select(Vehicle).order_by(Vehicle.vehicle_id).limit(limit).offset(offset)
    if who.partner_scope is not None:
        query = query.where(Vehicle.partner_id == who.partner_scope)
    if inventory_status:
        query = query.where(Vehicle.inventory_status == inventory_status)
    if vin:
        query = query.where(Vehicle.vin == vin.strip().upper())
    with store(request).read() as conn:
        return [svc.vehicle_view(r) for r in conn.execute(query).all()]


@vehicles.get("/{vehicle_id}")
def get_vehicle(request: Request, vehicle_id: PathId, who: Principal = Depends(principal)) -> dict:
    with store(request).read() as conn:
        return svc.vehicle_view(svc.get_vehicle(conn, who, vehicle_id))


@vehicles.post("", status_code=201)
def create_vehicle(request: Request, body: VehicleIn, who: Principal = Depends(allowed("vehicles.write")),
                   idempotency_key: str | None = Header(None, alias=HEADER)) -> JSONResponse:
    with store(request).write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/vehicles", body.model_dump_json(),
                        lambda: (201, svc.vehicle_view(svc.create_vehicle(conn, who, body.model_dump()))))


@vehicles.post("/{vehicle_id}/status")
def move_vehicle(request: Request, vehicle_id: PathId, body: VehicleStatusIn, who: Principal = Depends(allowed("vehicles.status"))) -> dict:
    with store(request).write() as conn:
        row = svc.get_vehicle(conn, who, vehicle_id)
        return svc.vehicle_view(svc.move_vehicle(conn, who, row, body.inventory_status, body.reason))
