"""Customers and vehicles: validation answers 422 naming the field; duplicates and transitions 409."""

from __future__ import annotations

from datetime import date

import pytest

from autofin.domain.identity import ric_check_digit
from tests.api.conftest import World, resident_id, vin_for

GOOD_ID = resident_id(123, date(1990, 5, 17))


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"id_number": GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")}, "id_number", "check character"),
        ({"id_number": "33010619901332123" + ric_check_digit("33010619901332123")}, "id_number", "is not a date of birth"),
        ({"id_number": "33010619900517123"}, "id_number", "17 digits and a check character"),
        ({"id_number": resident_id(123, date(1990, 5, 17), area="990101")}, "id_number", "unknown area code"),
        ({"mobile": "12345678901"}, "mobile", "mainland mobile"),
        ({"kind": "company", "id_number": "91330100MA2XXXXX1X"}, "id_number", "unified social credit code"),
        ({"kind": "person"}, "kind", ""),
        ({"name": ""}, "name", ""),
        ({"extra": 1}, "extra", ""),
    ],
)
def test_customer_validation(world: World, body, field, message):
    payload = {"kind": "individual", "name": "李四", "id_number": GOOD_ID, "mobile": "13912345678", **body}
    detail = world.call("POST", "/customers", "dealer_a", 422, json=payload).json()["detail"]
    assert detail[0]["loc"][-1] == field and message in detail[0]["msg"]


def test_customer_birth_date_comes_from_the_id_and_duplicates_conflict(world: World):
    first = world.call("POST", "/customers", "dealer_a", 201, json={"name": "李四", "id_number": GOOD_ID, "mobile": "+86 139-1234-5678"}).json()
    assert first["birth_date"] == "1990-05-17" and first["id_number_masked"] == "330***********1234"[:3] + "*" * 11 + GOOD_ID[-4:]
    assert first["mobile_masked"] == "139****5678"
    again = world.call("POST", "/customers", "sales", 409, json={"name": "李四", "id_number": GOOD_ID, "mobile": "13912345678"}).json()
    assert f"customer_id {first['customer_id']}" in again["detail"] and GOOD_ID not in again["detail"]
    # the customer is dealer A's: dealer B sees nothing (the same answer as for no customer at all)
    assert world.call("GET", f"/customers/{first['customer_id']}", "dealer_b", 404).json() == {"detail": f"customer {first['customer_id']} not found"}
    assert world.call("GET", "/customers/999999", "dealer_b", 404).json() == {"detail": "customer 999999 not found"}
    company = world.call("POST", "/customers", "sales", 201, json={"kind": "company", "name": "杭州某某物流有限公司",
                                                                   "id_number": "91110000600037341L"}).json()
    assert company["id_type"] == "uscc" and company["birth_date"] is None


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"vin": vin_for("VW-SAGITAR", 1)[:8] + "Z" + vin_for("VW-SAGITAR", 1)[9:]}, "vin", "check digit"),
        ({"vin": "LFV" + "I" * 14}, "vin", "I, O and Q"),
        ({"vin": "LFV123"}, "vin", "17 characters"),
        ({"model_code": "FORD-T"}, "model_code", "unknown model"),
        ({"vin": vin_for("BYD-HAN", 2)}, "vin", "maker code LC0"),
        ({"price": "-1"}, "price", ""),
        ({"price": "1.001"}, "price", ""),
        ({"inventory_status": "leased"}, "inventory_status", ""),
    ],
)
def test_vehicle_validation(world: World, body, field, message):
    payload = {"vin": vin_for("VW-SAGITAR", 3), "model_code": "VW-SAGITAR", "price": "150000", **body}
    detail = world.call("POST", "/vehicles", "dealer_a", 422, json=payload).json()["detail"]
    assert detail[0]["loc"][-1] == field and message in detail[0]["msg"]


def test_vehicle_inventory_lifecycle(world: World):
    vehicle_id = world.vehicle(inventory_status="purchase_in_transit")
    got = world.call("GET", f"/vehicles/{vehicle_id}", "dealer_a", 200).json()
    assert got["inventory_status"] == "purchase_in_transit" and got["reference_price"] == {"min": "129900", "max": "179900"}
    move = lambda who, target, expect: world.call("POST", f"/vehicles/{vehicle_id}/status", who, expect,  # noqa: E731
                                                  json={"inventory_status": target}).json()
    assert move("dealer_a", "in_stock", 200)["inventory_status"] == "in_stock"
    assert "no live contract" in move("dealer_a", "reserved", 409)["detail"]  # reserved and leased follow a contract
    assert "no live contract" in move("dealer_a", "leased", 409)["detail"]
    assert move("dealer_a", "transfer_in_transit", 200)["inventory_status"] == "transfer_in_transit"
    assert move("dealer_a", "in_stock", 200)["inventory_status"] == "in_stock"
    world.call("POST", f"/vehicles/{vehicle_id}/status", "dealer_a", 403, json={"inventory_status": "disposed"})
    assert move("post_loan_supervisor", "disposed", 200)["inventory_status"] == "disposed"
    final = move("admin", "in_stock", 409)
    assert final["allowed"] == []


def test_a_vehicle_follows_its_contract_and_a_wrong_change_is_undone_by_the_right_role(world: World):
    vehicle_id = world.vehicle()
    move = lambda who, target, expect: world.call("POST", f"/vehicles/{vehicle_id}/status", who, expect,  # noqa: E731
                                                  json={"inventory_status": target}).json()
    contract_no = world.signed(vehicle_id=vehicle_id)
    assert world.call("GET", f"/vehicles/{vehicle_id}", "dealer_a", 200).json()["inventory_status"] == "reserved"
    refused = move("dealer_a", "in_stock", 409)["detail"]
    assert f"contract {contract_no} (signed)" in refused and "reserved, abnormal" in refused
    move("sales", "abnormal", 200)  # damaged in the yard: abnormal...
    move("sales", "reserved", 200)  # ... and back, for the contract is still there
    for kind in world.call("GET", f"/contracts/{contract_no}", "dealer_a", 200).json()["product"]["preconditions"]:
        world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_a", 201, json={"kind": kind, "reference": kind})
    d = world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_a", 201).json()
    world.call("POST", f"/disbursements/{d['disbursement_id']}/approve", "finance", 200)
    world.call("POST", f"/disbursements/{d['disbursement_id']}/result", "finance", 200, json={"status": "paid"})
    assert world.call("GET", f"/vehicles/{vehicle_id}", "dealer_a", 200).json()["inventory_status"] == "leased"
    assert "contract" in move("dealer_a", "in_stock", 409)["detail"]  # a leased car is not back in stock while its contract runs
    # repossession is recorded through the collection case (tests/api/test_collections.py), never by hand
    assert "never by hand" in move("post_loan_supervisor", "repossessed", 409)["detail"]
    world.call("POST", f"/vehicles/{vehicle_id}/status", "dealer_a", 403, json={"inventory_status": "repossessed"})
    world.call("GET", f"/vehicles/{vehicle_id}", "dealer_b", 404)
    world.call("POST", "/vehicles", "dealer_a", 409, json={"vin": world.call("GET", f"/vehicles/{vehicle_id}", "admin").json()["vin"],
                                                          "model_code": "VW-SAGITAR", "price": "150000"})
