"""The entry API's money and the nightly cycle together: contracts activated, payments entered by
hand, a refund and an early settlement through the API, then every night up to today with the
simulated banks answering: every control check green, the manual receipt applied by allocation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from autofin.servicing.checks import nightly_checks
from autofin.store.models import Contract, Receipt
from tests.api.conftest import AS_OF, World
from tests.api.test_postlease import TODAY, decide, pay
from tests.servicing.test_bank_cycle import context, run_days


def test_the_cycle_stays_green_over_what_the_api_did(world: World, tmp_path):
    contract_no = world.active()
    receipt = pay(world, contract_no, "800.00", "TRF-NIGHT")
    with world.engine.connect() as conn:
        settled = conn.execute(select(Contract.contract_no).where(Contract.status == "active", Contract.is_migrated.is_(True))
                               .order_by(Contract.contract_id.desc()).limit(1)).scalar_one()
    quote = world.call("GET", f"/contracts/{settled}/settlement-quote", "finance", 200).json()
    world.call("POST", f"/contracts/{settled}/early-settlement", "finance", 200, json={"amount": quote["total"], "reference": "ES-N"})

    run_days(world.engine, context(tmp_path), AS_OF + timedelta(days=1), TODAY)

    with world.engine.connect() as conn:
        assert {k: v for k, v in nightly_checks(conn, TODAY).items() if v} == {}
        assert conn.execute(select(Receipt.status).where(Receipt.receipt_id == receipt["receipt_id"])).scalar_one() == "applied"
        assert conn.execute(select(Contract.credit_minor).where(Contract.contract_no == contract_no)).scalar_one() == 800_00
        assert conn.execute(select(Contract.status).where(Contract.contract_no == settled)).scalar_one() == "settled_early"
    # a refund of that credit after the night, through its chain
    asked = world.call("POST", f"/contracts/{contract_no}/refunds", "finance", 201, json={
        "amount": "800", "reason": "overpaid", "payee_bank": "ICBC", "payee_account_no": "6222020200112233445",
        "payee_account_name": "张三"}).json()
    decide(world, asked["request_id"], "post_loan_supervisor")
    decide(world, asked["request_id"], "finance_director")
    with world.engine.connect() as conn:
        assert {k: v for k, v in nightly_checks(conn, TODAY).items() if v} == {}
