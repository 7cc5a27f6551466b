"""An entry API over a small seeded book, with a user of every role."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from autofin.api.app import create_app
from autofin.domain.identity import ric_check_digit, with_vin_check_digit
from autofin.origination.access import ROLES
from autofin.origination.bureau import SimulatedBureau
from autofin.origination.users import add_user
from autofin.reference import vehicle_models
from autofin.store.engine import write_transaction
from autofin.store.models import Partner
from tests.support.books import seed_store

AS_OF = date(2026, 11, 2)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(200)
PDF = b"%PDF-1.7\n" + b"0" * 100
_serial = itertools.count(1)


def resident_id(seq: int = 123, birth: date = date(1990, 5, 17), area: str = "330106") -> str:
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + ric_check_digit(first17)


def vin_for(model_code: str, serial: int | None = None) -> str:
    serial = next(_serial) if serial is None else serial
    draft = vehicle_models()[model_code]["wmi"] + "TST01" + "0" + "R" + "A" + f"{serial:06d}"
    return with_vin_check_digit(draft)


@dataclass
class World:
    engine: Engine
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    dealer_a: str = ""
    dealer_b: str = ""

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(self, method: str, path: str, who: str, expect: int | None = None, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers={**self.as_(who), **kwargs.pop("headers", {})}, **kwargs)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response

    def customer(self, who: str = "dealer_a", *, seq: int | None = None, birth: date = date(1990, 5, 17), mobile: str | None = None) -> int:
        """A new individual; unless `seq` picks a bureau profile (see SimulatedBureau), one with a good clean file."""
        while seq is None:
            candidate = 100 + next(_serial) % 800
            report = SimulatedBureau().query("individual", resident_id(candidate, birth))
            if report.score >= 700 and report.open_loans <= 1:
                seq = candidate
        body = {"kind": "individual", "name": "张三", "id_number": resident_id(seq, birth),
                "mobile": mobile or f"139{next(_serial):08d}", "city": "杭州"}
        return self.call("POST", "/customers", who, 201, json=body).json()["customer_id"]

    def vehicle(self, who: str = "dealer_a", *, model: str = "VW-SAGITAR", price: str = "150000", **extra: Any) -> int:
        body = {"vin": vin_for(model), "model_code": model, "price": price, **extra}
        return self.call("POST", "/vehicles", who, 201, json=body).json()["vehicle_id"]

    def application(self, who: str = "dealer_a", *, customer_id: int | None = None, vehicle_id: int | None = None, expect: int = 201,
                    **overrides: Any) -> Any:
        body = {"product_code": "NCL-ANN", "customer_id": customer_id or self.customer(who), "vehicle_id": vehicle_id or self.vehicle(who),
                "down_payment_pct": "30", "term_months": 36, "monthly_income": "20000",
                "items": [{"key": "gps_fee", "amount": "1200", "financed": True}], **overrides}
        response = self.call("POST", "/applications", who, expect, json=body)
        return response.json()

    def upload(self, application_no: str, who: str = "dealer_a", doc_type: str = "id_card", data: bytes = JPEG,
               name: str = "id.jpg", expect: int | None = 201) -> Any:
        return self.call("POST", f"/applications/{application_no}/documents", who, expect,
                         data={"doc_type": doc_type}, files={"file": (name, data, "image/jpeg")})

    def upload_required(self, application_no: str, who: str = "dealer_a") -> None:
        """The documents a submit needs: the id card and the customer's signed credit authorization."""
        self.upload(application_no, who)
        self.upload(application_no, who, doc_type="credit_authorization", data=PDF, name="authorization.pdf")

    def submitted(self, who: str = "dealer_a", **kwargs: Any) -> dict:
        app = self.application(who, **kwargs)
        self.upload_required(app["application_no"], who)
        return self.call("POST", f"/applications/{app['application_no']}/submit", who, 200).json()

    def open_task(self, application_no: str) -> dict:
        tasks = [t for t in self.call("GET", "/approval-tasks", "credit_director", 200).json() if t["application_no"] == application_no]
        assert len(tasks) == 1, tasks
        return tasks[0]

    def approved(self, who: str = "dealer_a", **kwargs: Any) -> dict:
        """An application through every tier of its route: the last decision's answer (with contract_no)."""
        result = self.submitted(who, **kwargs)
        assert result["status"] in ("pre_approved", "referred"), result
        for tier in result["approval_route"]:
            task = self.open_task(result["application_no"])
            assert task["tier"] == tier
            decided = self.call("POST", f"/approval-tasks/{task['task_id']}/decision", tier, 200, json={"decision": "approve"}).json()
        return decided

    def signed(self, who: str = "dealer_a", **kwargs: Any) -> str:
        """A contract signed by its customer, with a direct-debit mandate; its number."""
        contract_no = self.approved(who, **kwargs)["contract_no"]
        pdf = self.call("GET", f"/contracts/{contract_no}/document", who, 200)
        self.call("POST", f"/contracts/{contract_no}/sign", who, 200, json={
            "document_sha256": pdf.headers["X-Document-SHA256"], "method": "sms_otp", "otp": "123456",
            "debit_account": {"bank_code": "ICBC", "account_no": "6222020200112233445"}})
        return contract_no

    def active(self, who: str = "dealer_a", **kwargs: Any) -> str:
        """A contract signed, its preconditions on record, paid out and active; its number."""
        contract_no = self.signed(who, **kwargs)
        for kind in self.call("GET", f"/contracts/{contract_no}", who, 200).json()["product"]["preconditions"]:
            self.call("POST", f"/contracts/{contract_no}/conditions", who, 201, json={"kind": kind, "reference": f"{kind}-{contract_no}"})
        d = self.call("POST", f"/contracts/{contract_no}/disbursement", who, 201).json()
        self.call("POST", f"/disbursements/{d['disbursement_id']}/approve", "finance", 200)
        self.call("POST", f"/disbursements/{d['disbursement_id']}/result", "finance", 200, json={"status": "paid"})
        return contract_no


def make_world(engine: Engine, tmp_path, monkeypatch, contracts: int = 40) -> Iterator[World]:
    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(tmp_path / "data"))
    seed_store(engine, contracts=contracts, as_of=AS_OF)
    with write_transaction(engine) as conn:
        codes = conn.execute(select(Partner.partner_code).where(Partner.kind == "dealer").order_by(Partner.partner_code).limit(2)).scalars().all()
        # two healthy dealers with room under their limits
        conn.execute(update(Partner).where(Partner.partner_code.in_(codes))
                     .values(status="active", rating="B", is_blacklisted=False, credit_limit_minor=100_000_000_00,
                             settlement_bank="中国工商银行杭州分行", settlement_account_no="1202020209000012345",
                             settlement_account_name="经销商结算账户"))
        world = World(engine, TestClient(create_app(engine)), dealer_a=codes[0], dealer_b=codes[1])
        for role in ROLES:
            world.tokens[role] = add_user(conn, role, role, codes[0] if role == "dealer" else None)[1]
        world.tokens["dealer_a"] = world.tokens["dealer"]
        world.tokens["dealer_b"] = add_user(conn, "dealer_b", "dealer", codes[1])[1]
        world.tokens["sales2"] = add_user(conn, "sales2", "sales")[1]
        for name, role in (("officer2", "credit_officer"), ("manager2", "credit_manager"), ("finance2", "finance")):
            world.tokens[name] = add_user(conn, name, role)[1]
    with world.client:
        yield world


@pytest.fixture
def world(sqlite_store, tmp_path, monkeypatch) -> Iterator[World]:
    yield from make_world(sqlite_store, tmp_path, monkeypatch)
