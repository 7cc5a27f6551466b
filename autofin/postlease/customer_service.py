"""Customer service (客户信息变更): a customer's contact details changed, and a contract's direct-debit
mandate replaced by one on a new account, each audited with what it was before.

A mandate the bank stopped (AC04 closed account, MD01 no mandate: the nightly answers mark it
invalid) or one the customer wants moved is replaced by a new mandate (代扣授权) the customer signs
through the signature provider. The old one is revoked; from the next debit night the contract is
debited on the new account. Name and identity number are not changed here: a different person is a
different customer.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from autofin.domain.errors import InputError
from autofin.domain.identity import mask_id, validate_mobile
from autofin.domain.text import checked_text
from autofin.origination.access import Principal
from autofin.origination.audit import audit
from autofin.origination.errors import Conflict
from autofin.origination.esign import SignatureProvider
from autofin.reference import bank_profiles
from autofin.store.models import Customer, DebitOrder, Mandate


def change_contact(conn: Connection, who: Principal, customer: Any, *, mobile: str | None, city: str | None, reason: str) -> Any:
    """A customer's mobile and city changed (the ones given); audited with the old values, masked."""
    values: dict[str, Any] = {}
    if mobile is not None:
        values["mobile"] = validate_mobile(mobile, "mobile")
    if city is not None:
        city_ = checked_text(city.strip(), "city")
        if not city_ or len(city_) > 64:
            raise InputError("city", "1 to 64 characters")
        values["city"] = city_
    if not values:
        raise InputError("mobile", "say what changes: mobile, city")
    reason_ = checked_text(reason.strip(), "reason")
    conn.execute(update(Customer).where(Customer.customer_id == customer.customer_id).values(**values))
    masked = lambda v: {k: (mask_id(x) if k == "mobile" and x else x) for k, x in v.items()}  # noqa: E731
    audit(conn, who, "customer.contact_changed", "customer", customer.customer_id,
          masked({k: getattr(customer, k) for k in values}), {**masked(values), "reason": reason_})
    return conn.execute(select(Customer).where(Customer.customer_id == customer.customer_id)).one()


def mandate_view(m: Any) -> dict[str, Any]:
    return {"mandate_ref": m.mandate_ref, "bank_code": m.bank_code, "debtor_name": m.debtor_name,
            "debtor_account": mask_id(m.debtor_account), "signed_date": m.signed_date.isoformat(), "status": m.status,
            "status_reason": m.status_reason}


def mandates(conn: Connection, contract: Any) -> list[dict[str, Any]]:
    rows = conn.execute(select(Mandate).where(Mandate.contract_id == contract.contract_id).order_by(Mandate.mandate_id)).all()
    return [mandate_view(m) for m in rows]


def replace_mandate(conn: Connection, who: Principal, contract: Any, *, bank_code: str, account_no: str, method: str, otp: str | None,
                    reason: str, provider: SignatureProvider, now: datetime, today: date) -> dict[str, Any]:
    """A new direct-debit mandate on a new account, signed by the customer; the one in force (or the
    one the bank stopped) revoked. Refused while a debit on the old mandate awaits the bank's answer."""
    if contract.status != "active":
        raise Conflict(f"contract {contract.contract_no} is {contract.status}; a mandate is replaced on an active contract")
    if bank_code not in bank_profiles():
        raise InputError("bank_code", f"one of {', '.join(bank_profiles())}")
    in_flight = conn.execute(select(DebitOrder.end_to_end_id).where(DebitOrder.contract_id == contract.contract_id,
                                                                    DebitOrder.status.in_(("pending", "sent")))).first()
    if in_flight is not None:
        raise Conflict(f"debit {in_flight.end_to_end_id} on the current mandate awaits the bank's answer; replace it after the answer")
    current = conn.execute(select(Mandate).where(Mandate.contract_id == contract.contract_id, Mandate.status == "active")).all()
    if any(m.bank_code == bank_code and m.debtor_account == account_no for m in current):
        raise Conflict("the mandate in force is on this account already")
    customer = conn.execute(select(Customer).where(Customer.customer_id == contract.customer_id)).one()
    count = conn.execute(select(func.count()).select_from(Mandate).where(Mandate.contract_id == contract.contract_id)).scalar_one()
    ref = f"MDT{contract.contract_id:010d}-{count + 1}"
    # what the customer signs: the authorisation for this contract, bank and account, dated
    wording = f"代扣授权 direct-debit mandate {ref}: contract {contract.contract_no}, {bank_code} {account_no}, {customer.name}, {today}"
    signed = provider.sign(document_sha256=hashlib.sha256(wording.encode()).hexdigest(), signer_name=customer.name,
                           signer_id_number=customer.id_number, method=method, otp=otp, now=now)
    conn.execute(update(Mandate).where(Mandate.contract_id == contract.contract_id, Mandate.status.in_(("active", "invalid")))
                 .values(status="revoked"))
    conn.execute(insert(Mandate).values(contract_id=contract.contract_id, mandate_ref=ref, bank_code=bank_code, debtor_name=customer.name,
                                        debtor_account=account_no, signed_date=today, status="active"))
    before = [mandate_view(m) for m in conn.execute(select(Mandate).where(Mandate.contract_id == contract.contract_id,
                                                                          Mandate.mandate_ref != ref)).all()]
    audit(conn, who, "mandate.replaced", "contract", contract.contract_no, {"mandates": before},
          {"mandate_ref": ref, "bank_code": bank_code, "debtor_account": mask_id(account_no), "provider_ref": signed.provider_ref,
           "reason": checked_text(reason.strip(), "reason")})
    return {"contract_no": contract.contract_no, "mandates": mandates(conn, contract)}
