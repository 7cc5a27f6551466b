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
    receipt = next(r for r in world.call("GET", f"{path}/receipts", "finance", 200).json() if r["source"] == "buy_out")
    assert (receipt["reference"], receipt["amount"], receipt["status"]) == ("BUYOUT-1", "100.00", "applied")
    world.call("POST", f"/receipts/{receipt['receipt_id']}/reversal", "finance", 409, json={"reason": "x"})
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


def test_a_direct_lease_owes_vat_on_the_whole_rental_and_a_sale_and_leaseback_on_interest(world: World):
    """直租 is taxed on the whole rental (vat_basis: rental, as data): at activation the VAT inside
    each rental's principal is the vehicle's input VAT, deferred (Dr 2221.02 / Cr 2221.05); billing
    moves each rental's part to output VAT (Dr 2221.05 / Cr 2221.01) beside the VAT inside its
    interest; an early settlement makes the rest due. A loan defers nothing."""
    from datetime import timedelta

    from autofin.domain.money import principal_vat_minor, vat_inside_minor
    from autofin.reference import calendar, voucher_templates
    from autofin.servicing.context import StepContext
    from autofin.servicing.cycle import run_step
    from autofin.store.engine import write_transaction
    from autofin.store.models import BusinessDay, Instalment

    lease = world.active(product_code="DL-EP")
    loan = world.active()
    with world.engine.connect() as conn:
        c = conn.execute(select(Contract).where(Contract.contract_no == lease)).one()
        rows = conn.execute(select(Instalment).where(Instalment.contract_id == c.contract_id).order_by(Instalment.seq)).all()
        loan_vat = conn.execute(select(Instalment.principal_vat_minor).join(Contract, Contract.contract_id == Instalment.contract_id)
                                .where(Contract.contract_no == loan)).scalars().all()
    assert (c.vat_basis, c.vat_rate_ppm) == ("rental", 130_000) and set(loan_vat) == {0}
    assert all(r.principal_vat_minor == vat_inside_minor(r.principal_minor + r.interest_minor, 130_000) - vat_inside_minor(r.interest_minor, 130_000)
               == principal_vat_minor(r.principal_minor, r.interest_minor, 130_000, "rental") > 0 for r in rows)
    deferred = sum(r.principal_vat_minor for r in rows)
    activation = next(v for v in world.call("GET", f"/contracts/{lease}/vouchers", "auditor", 200).json() if v["event_type"] == "disbursement")
    lines = {(line["account"], line["debit"], line["credit"]) for line in activation["lines"]}
    assert {("2221.02", f"{deferred / 100:.2f}", "0.00"), ("2221.05", "0.00", f"{deferred / 100:.2f}")} <= lines
    assert -account_balances_of(world)["2221.05"] == deferred
    ledger_ok(world)  # 2221.05 ties to the principal VAT of the instalments not yet billed

    first = rows[0]
    with write_transaction(world.engine) as conn:
        conn.execute(BusinessDay.__table__.insert().values(business_date=first.due_date, status="open", is_bank_day=True))
    run_step(world.engine, "billing", first.due_date, StepContext(calendar(), voucher_templates()))
    billing = next(v for v in world.call("GET", f"/contracts/{lease}/vouchers", "auditor", 200).json() if v["event_type"] == "billing")
    vat_lines = [(line["account"], line["debit"], line["credit"]) for line in billing["lines"] if line["account"].startswith("2221")]
    interest_vat = vat_inside_minor(first.interest_minor, 130_000)
    assert vat_lines == [("2221.01", "0.00", f"{interest_vat / 100:.2f}"), ("2221.05", f"{first.principal_vat_minor / 100:.2f}", "0.00"),
                         ("2221.01", "0.00", f"{first.principal_vat_minor / 100:.2f}")]
    # the rental's VAT in all: the VAT inside principal + interest
    assert interest_vat + first.principal_vat_minor == vat_inside_minor(first.principal_minor + first.interest_minor, 130_000)
    assert -account_balances_of(world)["2221.05"] == deferred - first.principal_vat_minor
    ledger_ok(world)

    settle(world, lease)  # the rest of the deferred VAT falls due with the principal settled
    assert account_balances_of(world).get("2221.05", 0) == 0
    assert first.due_date - timedelta(days=40) < c.start_date
    ledger_ok(world)


def account_balances_of(world: World) -> dict[str, int]:
    from autofin.store.ledger import account_balances

    with world.engine.connect() as conn:
        return account_balances(conn)
