"""Personal data stays out of the logs: a customer created, an application submitted, approved,
signed and paid out with every logger at DEBUG, and no resident id, mobile number or account
number appears in any log record."""

from __future__ import annotations

import logging

from sqlalchemy import select

from autofin.store.models import Customer, Mandate
from tests.api.conftest import World


def test_the_flow_logs_no_personal_data(world: World, caplog):
    caplog.set_level(logging.DEBUG)
    contract_no = world.active()
    with world.engine.connect() as conn:
        customer = conn.execute(select(Customer).order_by(Customer.customer_id.desc())).first()
        account = conn.execute(select(Mandate.debtor_account).order_by(Mandate.mandate_id.desc()).limit(1)).scalar_one()
    assert caplog.records, "nothing was logged at all: the test would prove nothing"
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (customer.id_number, customer.mobile, account):
        assert secret not in text, (secret, contract_no)
