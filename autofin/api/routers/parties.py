"""Customers and vehicles."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from autofin.api.deps import Caller, IdempotencyKeyHeader, StoreDep, requires
from autofin.api.idempotency import run_once
from autofin.api.public import CustomerPublic, PublicRouter, VehiclePublic
from autofin.api.schemas import BlacklistIn, ContactChangeIn, CustomerIn, Limit, Offset, PathId, VehicleIn, VehicleStatusIn
from autofin.origination import parties as svc
from autofin.postlease import customer_service

customers = PublicRouter(prefix="/customers", tags=["customers"])
vehicles = PublicRouter(prefix="/vehicles", tags=["vehicles"])


@customers.get("")
def list_customers(s: StoreDep, who: Caller, id_number: str | None = None, limit: Limit = 100, offset: Offset = 0) -> list[CustomerPublic]:
    with s.read() as conn:
        return [CustomerPublic.model_validate(c) for c in svc.list_customers(conn, who, id_number=id_number, limit=limit, offset=offset)]


@customers.get("/{customer_id}")
def get_customer(s: StoreDep, customer_id: PathId, who: Caller) -> CustomerPublic:
    with s.read() as conn:
        return CustomerPublic.model_validate(svc.customer_view(svc.get_customer(conn, who, customer_id)))


@customers.post("", status_code=201, response_model=CustomerPublic, dependencies=[requires("customers.write")])
def create_customer(s: StoreDep, body: CustomerIn, who: Caller, idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    with s.write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/customers", body.model_dump_json(),
                        lambda: (201, svc.customer_view(svc.create_customer(conn, who, **body.model_dump(), today=s.today()))), CustomerPublic)


@customers.post("/{customer_id}/blacklist", dependencies=[requires("customers.blacklist")])
def blacklist_customer(s: StoreDep, customer_id: PathId, body: BlacklistIn, who: Caller) -> CustomerPublic:
    with s.write() as conn:
        row = svc.get_customer(conn, who, customer_id)
        return CustomerPublic.model_validate(svc.customer_view(svc.set_customer_blacklist(conn, who, row, body.blacklisted, body.reason)))


@customers.post("/{customer_id}/contact", dependencies=[requires("customers.service")])
def change_contact(s: StoreDep, customer_id: PathId, body: ContactChangeIn, who: Caller) -> CustomerPublic:
    """客户信息变更: the customer's mobile or city, audited with the old values (masked)."""
    with s.write() as conn:
        row = svc.get_customer(conn, who, customer_id)
        return CustomerPublic.model_validate(svc.customer_view(customer_service.change_contact(conn, who, row, mobile=body.mobile,
                                                                                              city=body.city, reason=body.reason)))


@vehicles.get("")
def list_vehicles(s: StoreDep, who: Caller, inventory_status: str | None = None, vin: str | None = None, limit: Limit = 100,
                  offset: Offset = 0) -> list[VehiclePublic]:
    with s.read() as conn:
        return [VehiclePublic.model_validate(v) for v in svc.list_vehicles(conn, who, inventory_status=inventory_status, vin=vin,
                                                                            limit=limit, offset=offset)]


@vehicles.get("/{vehicle_id}")
def get_vehicle(s: StoreDep, vehicle_id: PathId, who: Caller) -> VehiclePublic:
    with s.read() as conn:
        return VehiclePublic.model_validate(svc.vehicle_view(svc.get_vehicle(conn, who, vehicle_id)))


@vehicles.post("", status_code=201, response_model=VehiclePublic, dependencies=[requires("vehicles.write")])
def create_vehicle(s: StoreDep, body: VehicleIn, who: Caller, idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    with s.write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/vehicles", body.model_dump_json(),
                        lambda: (201, svc.vehicle_view(svc.create_vehicle(conn, who, **body.model_dump()))), VehiclePublic)


@vehicles.post("/{vehicle_id}/status", dependencies=[requires("vehicles.status")])
def move_vehicle(s: StoreDep, vehicle_id: PathId, body: VehicleStatusIn, who: Caller) -> VehiclePublic:
    with s.write() as conn:
        row = svc.get_vehicle(conn, who, vehicle_id)
        return VehiclePublic.model_validate(svc.vehicle_view(svc.move_vehicle(conn, who, row, body.inventory_status, body.reason)))
