"""Customer service through the API (客户信息变更): contact details changed with an audit trail,
and a direct-debit mandate the bank stopped replaced by a new one the customer signs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from autofin.reference import bank_profiles, calendar, voucher_templates
from autofin.servicing.context import StepContext
from autofin.servicing.cycle import run_step
from autofin.store.engine import write_transaction
from autofin.store.models import AuditEvent, BusinessDay, Contract, Customer, DebitOrder, Instalment, Mandate
from tests.api.conftest import World


def test_a_new_mandate_after_ac04_is_debited_on_the_new_account(world: World, tmp_path):
    """客户信息变更: contact details changed (audited), and a contract whose mandate the bank stopped
    (AC04, closed account) gets a new mandate signed by the customer; the next debit night draws on it."""
    contract_no = world.active()
    with world.engine.connect() as conn:
        cid, customer_id = conn.execute(select(Contract.contract_id, Contract.customer_id).where(Contract.contract_no == contract_no)).one()
    # contact details: mobile and city, audited with the old values masked
    world.call("POST", f"/customers/{customer_id}/contact", "dealer_a", 403, json={"mobile": "13800001111", "reason": "x"})
    world.call("POST", f"/customers/{customer_id}/contact", "finance", 422, json={"mobile": "12345", "reason": "客户来电"})
    changed = world.call("POST", f"/customers/{customer_id}/contact", "finance", 200, json={"mobile": "13800001111", "reason": "客户来电"}).json()
    assert changed["mobile_masked"].endswith("1111") and changed["mobile_masked"] != "13800001111"
    with world.engine.connect() as conn:
        assert conn.execute(select(Customer.mobile).where(Customer.customer_id == customer_id)).scalar_one() == "13800001111"
        event = conn.execute(select(AuditEvent).where(AuditEvent.action == "customer.contact_changed")).one()
        assert "13800001111" not in str(event.after) and event.actor == "finance"

    # the bank stopped the mandate: AC04, closed account (as the nightly answers mark it)
    with write_transaction(world.engine) as conn:
        conn.execute(update(Mandate).where(Mandate.contract_id == cid).values(status="invalid", status_reason="AC04"))
    before = world.call("GET", f"/contracts/{contract_no}/mandates", "finance", 200).json()["mandates"]
    assert [(m["status"], m["status_reason"]) for m in before] == [("invalid", "AC04")]
    body = {"bank_code": "BOC", "account_no": "6013820000123456789", "otp": "123456", "reason": "原账户已销户"}
    world.call("POST", f"/contracts/{contract_no}/mandates", "dealer_a", 403, json=body)
    world.call("POST", f"/contracts/{contract_no}/mandates", "finance", 422, json={**body, "bank_code": "NOSUCH"})
    done = world.call("POST", f"/contracts/{contract_no}/mandates", "finance", 201, json=body).json()
    assert [(m["status"], m["bank_code"]) for m in done["mandates"]] == [("revoked", "ICBC"), ("active", "BOC")]
    assert done["mandates"][1]["debtor_account"] != body["account_no"]  # masked
    world.call("POST", f"/contracts/{contract_no}/mandates", "finance", 409, json=body)  # the same account again

    # the first instalment falls due: billed, and debited on the new account
    with world.engine.connect() as conn:
        due = conn.execute(select(func.min(Instalment.due_date)).where(Instalment.contract_id == cid)).scalar_one()
    ctx = StepContext(calendar(), voucher_templates(), banks=bank_profiles(), bank_root=tmp_path / "bank_files")
    while not calendar().is_business_day(due):
        due += timedelta(days=1)
    with write_transaction(world.engine) as conn:  # the date opened as a bank business day (business_day, as the cycle would)
        conn.execute(BusinessDay.__table__.insert().values(business_date=due, status="open", is_bank_day=True))
    run_step(world.engine, "billing", due, ctx)
    assert run_step(world.engine, "debit_orders", due, ctx).counts["orders"] >= 1
    with world.engine.connect() as conn:
        order = conn.execute(select(DebitOrder.mandate_id, Mandate.bank_code, Mandate.debtor_account).join(
            Mandate, Mandate.mandate_id == DebitOrder.mandate_id).where(DebitOrder.contract_id == cid)).one()
    assert (order.bank_code, order.debtor_account) == ("BOC", "6013820000123456789")
    files = list((tmp_path / "bank_files" / "outbound" / "BOC").glob("*"))
    assert files and any(b"6013820000123456789" in f.read_bytes() for f in files)
