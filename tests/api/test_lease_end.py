"""Lease end (租赁期满留购, #17 item 6): a lease, once paid, is bought out at the residual value of its
frozen terms with the VAT its lease type carries; the title-transfer task it opens is done when
the registration changes, and the vehicle leaves the books. Amounts to the fen."""

from __future__ import annotations

from sqlalchemy import select

from autofin.store.models import Contract, Vehicle
from tests.api.conftest import World
from tests.api.test_postlease import ledger_ok


def settle(world: World, contract_no: str) -> None:
    q = world.call("GET", f"/contracts/{contract_no}/settlement-quote", "finance", 200).json()
    world.call("POST", f"/contracts/{contract_no}/early-settlement", "finance", 200, json={"amount": q["total"], "reference": f"ES-{contract_no}"})


def test_a_direct_lease_is_bought_out_with_vat_and_its_title_transferred(world: World):
    loan = world.active()
    assert "only a lease ends with a buy-out" in world.call("GET", f"/contracts/{loan}/buy-out-quote", "finance", 409).json()["detail"]
    lease = world.active(product_code="DL-EP")
    path = f"/contracts/{lease}"
    quote = world.call("GET", f"{path}/buy-out-quote", "finance", 200).json()
    # 100.00 with 13% VAT inside: 100 × 0.13 / 1.13 = 11.504…
    assert (quote["buy_out"], quote["vat_rate"], quote["vat"], quote["payable_now"]) == ("100.00", "0.13", "11.50", False)
    body = {"amount": "100.00", "reference": "BUYOUT-1"}
    assert "is active" in world.call("POST", f"{path}/buy-out", "finance", 409, json=body).json()["detail"]  # not paid yet
    settle(world, lease)
    world.call("POST", f"{path}/buy-out", "dealer_a", 403, json=body)
    wrong = world.call("POST", f"{path}/buy-out", "finance", 422, json={**body, "amount": "99.99"}).json()["detail"][0]
    assert wrong["msg"] == f"received 99.99, the buy-out price of contract {lease} is 100.00"
    done = world.call("POST", f"{path}/buy-out", "finance", 201, json=body).json()
    assert (done["buy_out"], done["vat"], done["status"], done["voucher_debit"]) == ("100.00", "11.50", "open", "100.00")
    world.call("POST", f"{path}/buy-out", "finance", 409, json={**body, "reference": "BUYOUT-2"})  # bought out once
    voucher = next(v for v in world.call("GET", f"{path}/vouchers", "auditor", 200).json() if v["event_type"] == "buy_out")
    assert [(line["account"], line["debit"], line["credit"]) for line in voucher["lines"]] == [
        ("1002", "100.00", "0.00"), ("6051", "0.00", "88.50"), ("2221.01", "0.00", "11.50")]

    tasks = world.call("GET", "/title-transfers", "finance", 200).json()
    assert [(t["contract_no"], t["status"]) for t in tasks] == [(lease, "open")]
    world.call("POST", f"/title-transfers/{done['title_transfer_id']}/complete", "dealer_a", 403, json={"registration_no": "X"})
    world.call("POST", f"/title-transfers/{done['title_transfer_id']}/complete", "finance", 422, json={"registration_no": ""})
    finished = world.call("POST", f"/title-transfers/{done['title_transfer_id']}/complete", "post_loan_supervisor", 200,
                          json={"registration_no": "沪A·登记-2026-0001"}).json()
    assert (finished["status"], finished["registration_no"]) == ("done", "沪A·登记-2026-0001")
    world.call("POST", f"/title-transfers/{done['title_transfer_id']}/complete", "finance", 409, json={"registration_no": "again"})
    assert world.call("GET", "/title-transfers", "finance", 200).json() == []
    with world.engine.connect() as conn:
        vehicle = conn.execute(select(Vehicle.inventory_status).join(Contract, Contract.vehicle_id == Vehicle.vehicle_id)
                               .where(Contract.contract_no == lease)).scalar_one()
    assert vehicle == "transferred"
    ledger_ok(world)
