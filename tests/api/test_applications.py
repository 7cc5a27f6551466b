"""Applications through the API: plan, documents, submission and every pre-approval outcome,
anti-fraud, limits, idempotency, scope, and nothing half-written."""

from __future__ import annotations

import fcntl
import shutil
import threading
from datetime import UTC, date, datetime

import pytest
import yaml
from sqlalchemy import event, func, select, update

from autofin.api.deps import Store
from autofin.domain.errors import InputError
from autofin.origination.applications import Adapters, decide, get_application, record
from autofin.origination.bureau import SimulatedBureau
from autofin.origination.partners import exposure
from autofin.origination.users import authenticate
from autofin.settings import assets_dir
from autofin.store.engine import write_transaction
from autofin.store.models import Application, AuditEvent, Contract, Customer, Decision, Document, Partner, Vehicle
from tests.api.conftest import AS_OF, JPEG, PDF, World


def test_the_plan_is_the_quote(world: World):
    app = world.application()
    assert app["status"] == "draft" and app["financed_amount"] == "106200.00"  # 150000 − 30% + financed GPS fee 1200
    quote = world.call("POST", "/quotes", "auditor", 403, json={})
    quote = world.call("POST", "/quotes", "credit_officer", 200, json={
        "product_code": "NCL-ANN", "price": "150000", "down_payment_pct": "30", "term_months": 36,
        "items": [{"key": "gps_fee", "amount": "1200", "financed": True}]}).json()
    assert quote == app["plan"]
    assert quote["schedule"][0]["payment"] == "3327.43" and quote["schedule"][-1]["payment"] == "3327.55"
    # the financed GPS fee is a finance charge: the customer gets 105000.00 of credit for those payments
    assert quote["total_payable"] == "119787.60" and quote["apr"] == "0.087636"
    bad = world.call("POST", "/quotes", "sales", 422, json={"product_code": "NCL-ANN", "price": "150000", "down_payment_pct": "10",
                                                           "term_months": 36}).json()["detail"][0]
    assert bad["loc"][-1] == "down_payment" and "minimum of 20" in bad["msg"]
    bad = world.call("POST", "/quotes", "sales", 422, json={"product_code": "NCL-ANN", "price": "150000", "down_payment_pct": "30",
                                                           "term_months": 37}).json()["detail"][0]
    assert bad["loc"][-1] == "term" and "offers" in bad["msg"]


def test_documents_are_checked_before_they_are_stored(world: World, tmp_path):
    app = world.application()
    no = app["application_no"]
    refused = world.call("POST", f"/applications/{no}/submit", "dealer_a", 422).json()["detail"][0]
    assert refused["loc"][-1] == "documents" and "id_card, credit_authorization" in refused["msg"]
    documents = tmp_path / "data" / "documents"
    big = JPEG + bytes(10 * 1024 * 1024)
    assert world.upload(no, data=big, expect=413).json()["detail"][0]["loc"][-1] == "file"
    assert world.upload(no, data=b"GIF89a" + bytes(50), name="x.jpg", expect=415).json()["detail"][0]["loc"][-1] == "file"
    world.upload(no, doc_type="passport", expect=422)
    assert not documents.exists() or not any(documents.rglob("*"))
    first = world.upload(no).json()
    again = world.upload(no, doc_type="photo").json()
    pdf = world.upload(no, doc_type="invoice", data=PDF, name="invoice.pdf").json()
    assert first["sha256"] == again["sha256"] and first["content_type"] == "image/jpeg" and pdf["content_type"] == "application/pdf"
    assert sorted(p.name for p in documents.rglob("*") if p.is_file()) == sorted({first["sha256"], pdf["sha256"]})
    assert (documents / first["sha256"][:2] / first["sha256"]).read_bytes() == JPEG
    download = world.call("GET", f"/applications/{no}/documents/{pdf['document_id']}", "credit_officer", 200)
    assert download.content == PDF and download.headers["content-type"] == "application/pdf"
    world.call("GET", f"/applications/{no}/documents/{pdf['document_id']}", "dealer_b", 404)
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Document)).scalar_one() == 3


def _decision(world: World, application_no: str):
    with world.engine.connect() as conn:
        return conn.execute(select(Decision).join(Application, Application.application_id == Decision.application_id)
                            .where(Application.application_no == application_no)).one()


def test_a_clean_application_is_pre_approved_with_everything_it_saw(world: World):
    result = world.submitted()
    assert (result["outcome"], result["status"], result["reason_code"], result["rule_hits"]) == ("pass", "pre_approved", None, [])
    assert result["grade"] in ("A", "B", "C") and result["rule_set_version"].startswith("2026.11+")
    decision = _decision(world, result["application_no"])
    assert decision.rule_set_version == result["rule_set_version"] and decision.score == result["score"]
    inputs = decision.details["inputs"]
    assert inputs["application"]["financed"] == "106200.00" and inputs["application"]["down_payment_pct"] == "0.3000"
    assert inputs["customer"]["age"] == 36 and inputs["bureau"]["found"] is True and inputs["fraud"]["applications_same_id_30d"] == 1
    assert decision.details["rules_evaluated"] == 23
    shown = world.call("GET", f"/applications/{result['application_no']}", "dealer_a", 200).json()
    assert shown["status"] == "pre_approved" and shown["decisions"][0]["outcome"] == "pass"
    world.call("POST", f"/applications/{result['application_no']}/submit", "dealer_a", 409)


@pytest.mark.parametrize(
    ("customer", "overrides", "status", "reason", "rules"),
    [
        ({"seq": 985}, {}, "rejected", "BUREAU_COURT", ["COURT_RECORDS"]),
        ({"seq": 975}, {}, "rejected", "BUREAU_OVERDUE", ["SEVERE_OVERDUE"]),
        ({"seq": 965}, {}, "referred", "BUREAU_OVERDUE", ["FREQUENT_OVERDUE"]),
        ({"seq": 955}, {}, "rejected", "FRAUD_WATCHLIST", ["INDUSTRY_WATCHLIST"]),
        ({"birth": date(2009, 1, 1)}, {}, "rejected", "AGE", ["AGE_18_60"]),
        ({"birth": date(1966, 1, 1)}, {"term_months": 48}, "referred", "AGE", ["AGE_AT_MATURITY"]),
        ({}, {"monthly_income": "4000"}, "rejected", "DTI", ["DTI_HARD", "DTI_SOFT"]),
        ({}, {"monthly_income": None}, "referred", "DTI", ["NO_INCOME"]),
        ({}, {"price": "185000"}, "referred", "PRICE", ["PRICE_IN_RANGE"]),
        ({}, {"price": "260000"}, "referred", "FRAUD_PRICE", ["INVOICE_FAR_FROM_REFERENCE", "PRICE_IN_RANGE"]),
    ],
)
def test_rule_outcomes(world: World, customer, overrides, status, reason, rules):
    customer_id = world.customer(**customer)
    result = world.submitted(customer_id=customer_id, **overrides)
    assert (result["status"], result["reason_code"]) == (status, reason)
    assert [h["rule"] for h in result["rule_hits"] if h["rule"] not in ("GRADE_D", "GRADE_E")] == rules


def test_thin_file_and_partner_rating(world: World):
    thin = world.submitted(customer_id=world.customer(seq=995))
    assert thin["status"] == "referred" and "THIN_FILE" in [h["rule"] for h in thin["rule_hits"]]
    with world.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.partner_code == world.dealer_a).values(rating="D"))
    rated = world.submitted()
    assert rated["status"] == "referred" and [h["rule"] for h in rated["rule_hits"]][:1] == ["PARTNER_RATING_D"]


def test_anti_fraud_vin_and_velocity(world: World):
    with world.engine.connect() as conn:
        live = conn.execute(select(Contract.vehicle_id, Contract.partner_id).join(Vehicle, Vehicle.vehicle_id == Contract.vehicle_id)
                            .where(Contract.status == "active", Vehicle.partner_id == Contract.partner_id).limit(1)).one()
        code = conn.execute(select(Partner.partner_code).where(Partner.partner_id == live.partner_id)).scalar_one()
    with world.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.partner_id == live.partner_id)
                     .values(status="active", is_blacklisted=False, rating="B", credit_limit_minor=10**12))
    vin = world.submitted("sales", vehicle_id=live.vehicle_id, partner_code=code, price="150000")
    assert vin["status"] == "rejected" and vin["reason_code"] == "FRAUD_VIN"
    assert "VIN_ON_LIVE_CONTRACT" in [h["rule"] for h in vin["rule_hits"]]

    vehicle_id = world.vehicle()
    assert world.submitted(vehicle_id=vehicle_id)["status"] == "pre_approved"
    second = world.submitted(vehicle_id=vehicle_id)
    assert second["status"] == "referred" and [h["rule"] for h in second["rule_hits"]] == ["VIN_IN_OPEN_APPLICATION"]

    customer_id = world.customer()
    outcomes = [world.submitted(customer_id=customer_id)["status"] for _ in range(3)]
    assert outcomes[:2] == ["pre_approved", "pre_approved"] and outcomes[2] == "referred"

    mobile = "13700001111"
    shared = [world.submitted(customer_id=world.customer(mobile=mobile))["rule_hits"] for _ in range(3)]
    assert [h["rule"] for h in shared[2]] == ["MANY_APPLICATIONS_MOBILE"] and shared[0] == []


def test_the_dealer_reject_rate_counts_its_own_pre_approvals_of_the_last_30_days(world: World):
    """The dealer facts count the dealer's pre-approval decisions of the last 30 days, and only
    those: not another dealer's, not an approval tier's, not one older than the window. The count
    reads the dealer's window from an index, so a dealer's years of history do not slow its submits."""
    for seq in (955, 956, 957):  # the industry watchlist: rejected
        assert world.submitted("dealer_b", customer_id=world.customer("dealer_b", seq=seq))["status"] == "rejected"
    aged = world.submitted("dealer_b", customer_id=world.customer("dealer_b", seq=958))
    world.approved("dealer_b")  # its approval tiers' decisions are not pre-approvals
    world.submitted("dealer_a", customer_id=world.customer("dealer_a", seq=959))  # another dealer's reject
    with world.engine.begin() as conn:
        conn.execute(update(Decision).where(Decision.application_id == select(Application.application_id)
                                            .where(Application.application_no == aged["application_no"]).scalar_subquery())
                     .values(decided_at=func.datetime("now", "-31 days")))
    checks = []  # the anti-fraud statement as the submit runs it, and its parameters

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "FROM decision" in statement and "count(" in statement.lower():
            checks.append((statement, parameters))

    event.listen(world.engine, "before_cursor_execute", keep)
    try:
        fraud = _decision(world, world.submitted("dealer_b")["application_no"]).details["inputs"]["fraud"]
    finally:
        event.remove(world.engine, "before_cursor_execute", keep)
    # three rejects and one pass within 30 days (the aged reject and the other dealer's are not counted)
    assert (fraud["dealer_decisions_30d"], fraud["dealer_reject_rate_30d"]) == (4, "0.7500")
    [(statement, parameters)] = checks
    with world.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()]
    # both dealer counts read the dealer's window from the index, never the dealer's applications
    assert sum("COVERING INDEX ix_decision_partner_window" in step for step in plan) == 2, plan
    assert not any("ix_application_partner" in step for step in plan), plan


def test_blacklisted_customer_is_rejected(world: World):
    customer_id = world.customer()
    world.call("POST", f"/customers/{customer_id}/blacklist", "dealer_a", 403, json={"blacklisted": True, "reason": "x"})
    world.call("POST", f"/customers/{customer_id}/blacklist", "credit_manager", 200, json={"blacklisted": True, "reason": "fraud ring"})
    assert world.submitted(customer_id=customer_id)["reason_code"] == "FRAUD_BLACKLIST"


def test_the_partner_limit_refuses_with_the_figures_and_writes_nothing(world: World):
    first = world.submitted()
    with world.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.partner_code == world.dealer_a).values(credit_limit_minor=0))
        contracts = conn.execute(select(func.sum(Contract.financed_minor)).join(Partner, Partner.partner_id == Contract.partner_id)
                                 .where(Partner.partner_code == world.dealer_a, Contract.status == "active")).scalar_one()
        conn.execute(update(Partner).where(Partner.partner_code == world.dealer_a).values(credit_limit_minor=int(contracts) + 106200_00 + 5000_00))
        audit_before = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    app = world.application()
    world.upload_required(app["application_no"])
    detail = world.call("POST", f"/applications/{app['application_no']}/submit", "dealer_a", 422).json()["detail"][0]
    exposure = int(contracts) + 106200_00
    assert detail["loc"][-1] == "financed_amount"
    assert detail["msg"] == (f"partner {world.dealer_a}'s exposure {exposure // 100}.00 + this application 106200.00 = "
                             f"{(exposure + 106200_00) // 100}.00 exceeds its credit limit {(exposure + 5000_00) // 100}.00")
    shown = world.call("GET", f"/applications/{app['application_no']}", "dealer_a", 200).json()
    assert shown["status"] == "draft" and shown["decisions"] == [] and shown["submitted_at"] is None
    with world.engine.connect() as conn:
        # customer, vehicle, application and two uploads; nothing of the submit
        assert conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == audit_before + 5
    assert first["status"] == "pre_approved"


def test_idempotency_keys(world: World):
    customer_id, vehicle_id = world.customer(), world.vehicle()
    body = {"product_code": "NCL-ANN", "customer_id": customer_id, "vehicle_id": vehicle_id, "down_payment_pct": "30", "term_months": 36}
    key = {"Idempotency-Key": "order-42"}
    first = world.call("POST", "/applications", "dealer_a", 201, json=body, headers=key)
    again = world.call("POST", "/applications", "dealer_a", 201, json=body, headers=key)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Application).where(Application.customer_id == customer_id)).scalar_one() == 1
    other = world.call("POST", "/applications", "dealer_a", 422, json={**body, "term_months": 24}, headers=key).json()["detail"][0]
    assert other["loc"][-1] == "Idempotency-Key"
    world.call("POST", "/applications", "sales", 422, json=body, headers=key)  # keys are per user: sales' own key, but no partner_code
    no = first.json()["application_no"]
    world.upload_required(no)
    decided = world.call("POST", f"/applications/{no}/submit", "dealer_a", 200, headers={"Idempotency-Key": "submit-" + no}).json()
    replay = world.call("POST", f"/applications/{no}/submit", "dealer_a", 200, headers={"Idempotency-Key": "submit-" + no})
    assert replay.json() == decided and replay.headers["Idempotent-Replayed"] == "true"
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Decision).where(Decision.application_id == Application.application_id,
                                                                             Application.application_no == no)).scalar_one() == 1


def test_scope_and_authentication(world: World):
    app = world.application()
    no = app["application_no"]
    assert world.client.get(f"/applications/{no}").status_code == 401
    bad = world.client.get(f"/applications/{no}", headers={"Authorization": "Bearer af_nope"})
    assert bad.status_code == 401 and bad.headers["WWW-Authenticate"] == "Bearer"
    assert world.call("GET", f"/applications/{no}", "dealer_b", 404).json() == {"detail": f"application {no} not found"}
    assert world.call("GET", "/applications/AP000", "dealer_b", 404).json() == {"detail": "application AP000 not found"}
    assert [a["application_no"] for a in world.call("GET", "/applications", "dealer_b", 200).json()] == []
    assert [a["application_no"] for a in world.call("GET", "/applications", "credit_officer", 200).json()] == [no]
    world.call("POST", f"/applications/{no}/cancel", "dealer_b", 404, json={})
    world.application("dealer_a", partner_code=world.dealer_b, expect=403)
    foreign_vehicle = world.vehicle("dealer_b")
    assert world.application("dealer_a", vehicle_id=foreign_vehicle, expect=422)["detail"][0]["loc"][-1] == "vehicle_id"
    world.call("POST", "/applications", "auditor", 403, json={})
    assert world.call("GET", "/users/me", "dealer_b", 200).json() == {"username": "dealer_b", "role": "dealer", "partner_code": world.dealer_b}


def test_cancel_and_edit_only_where_allowed(world: World):
    app = world.application()
    no = app["application_no"]
    body = {"product_code": "NCL-ANN", "customer_id": app["customer_id"], "vehicle_id": app["vehicle_id"],
            "down_payment_pct": "40", "term_months": 24}
    edited = world.call("PUT", f"/applications/{no}", "dealer_a", 200, json=body).json()
    assert edited["financed_amount"] == "90000.00" and edited["items"] == [] and len(edited["plan"]["schedule"]) == 24
    world.call("POST", f"/applications/{no}/cancel", "dealer_a", 200, json={"reason": "customer withdrew"})
    conflict = world.call("POST", f"/applications/{no}/cancel", "dealer_a", 409, json={}).json()
    assert conflict["current_status"] == "cancelled" and conflict["allowed"] == []
    assert world.call("PUT", f"/applications/{no}", "dealer_a", 409, json=body).json()["detail"].endswith("only a draft can be edited")


def test_a_rule_file_change_applies_to_new_submissions_only(world: World, tmp_path, monkeypatch):
    before = world.submitted()
    assets = tmp_path / "assets"
    shutil.copytree(assets_dir(), assets)
    path = assets / "rules" / "pre_approval.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for rule in raw["rules"]:
        if rule["id"] == "DOWN_PAYMENT_20":
            rule["when"] = "application.down_payment_pct < 0.35"
    raw["version"] = "2026.12"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("AUTOFIN_ASSETS_DIR", str(assets))
    after = world.submitted()
    assert after["status"] == "referred" and [h["rule"] for h in after["rule_hits"]] == ["DOWN_PAYMENT_20"]
    assert after["rule_set_version"].startswith("2026.12+")
    old = world.call("GET", f"/applications/{before['application_no']}", "dealer_a", 200).json()["decisions"][0]
    assert old["outcome"] == "pass" and old["rule_set_version"] == before["rule_set_version"]


@pytest.mark.postgres
def test_the_flow_on_postgresql(pg_store, tmp_path, monkeypatch):
    from tests.api.conftest import make_world

    for pg in make_world(pg_store, tmp_path, monkeypatch):
        clean = pg.submitted()
        assert clean["status"] == "pre_approved" and clean["rule_hits"] == []
        court = pg.submitted(customer_id=pg.customer(seq=985))
        assert (court["status"], court["reason_code"]) == ("rejected", "BUREAU_COURT")
        customer_id, vehicle_id = pg.customer(), pg.vehicle()
        body = {"product_code": "NCL-ANN", "customer_id": customer_id, "vehicle_id": vehicle_id, "down_payment_pct": "30", "term_months": 36}
        first = pg.call("POST", "/applications", "dealer_a", 201, json=body, headers={"Idempotency-Key": "k1"}).json()
        assert pg.call("POST", "/applications", "dealer_a", 201, json=body, headers={"Idempotency-Key": "k1"}).json() == first
        pg.call("POST", f"/partners/{pg.dealer_b}/rating", "credit_manager", 200, json={"rating": "A"})
        assert pg.call("GET", f"/partners/{pg.dealer_b}/history", "auditor", 200).json()[-1]["new"] == "A"
        # the reads the 1M book made cheaper, on this store too: a dealer's customers, one by id number,
        # a contract's vouchers, and a migrated contract's document refused
        with pg.engine.connect() as conn:
            id_number = conn.execute(select(Customer.id_number).where(Customer.customer_id == customer_id)).scalar_one()
            migrated = conn.execute(select(Contract.contract_no).where(Contract.is_migrated.is_(True)).limit(1)).scalar_one()
        assert customer_id in [c["customer_id"] for c in pg.call("GET", "/customers", "dealer_a", 200).json()]
        assert customer_id not in [c["customer_id"] for c in pg.call("GET", "/customers", "dealer_b", 200).json()]
        assert [c["customer_id"] for c in pg.call("GET", "/customers", "dealer_a", 200, params={"id_number": id_number}).json()] == [customer_id]
        assert pg.call("GET", f"/contracts/{migrated}/vouchers", "finance", 200).json() != []
        pg.call("GET", f"/contracts/{migrated}/document", "finance", 409)
        for params in ({}, {"assignee": "none", "bucket": "M4+"}, {"assignee": "finance"}):
            assert pg.call("GET", "/collection-cases", "finance", 200, params=params).json() == []  # no night has opened one


class _BureauMeanwhile(SimulatedBureau):
    """The bureau, which while it answers lets the rest of the world move on (`meanwhile`, once)."""

    def __init__(self, meanwhile=None) -> None:
        self.meanwhile, self.queries = meanwhile, 0

    def query(self, kind: str, id_number: str, consent: str | None = None):
        self.queries += 1
        if self.meanwhile is not None:
            act, self.meanwhile = self.meanwhile, None
            act()
        return super().query(kind, id_number, consent)


def _asking(world: World, bureau: _BureauMeanwhile) -> _BureauMeanwhile:
    world.client.app.state.store.adapters = Adapters(bureau=bureau)
    return bureau


def _submit_trail(world: World, application_no: str) -> tuple[str, int, int]:
    """The application's status, its decisions and its submit audit rows."""
    with world.engine.connect() as conn:
        app = conn.execute(select(Application).where(Application.application_no == application_no)).one()
        decisions = conn.execute(select(func.count()).select_from(Decision).where(Decision.application_id == app.application_id)).scalar_one()
        audits = conn.execute(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.entity_id == application_no, AuditEvent.action == "application.submitted")).scalar_one()
    return app.status, decisions, audits


def test_the_bureau_is_asked_while_nothing_holds_the_stores_writer_and_the_partner_is_read_again(world: World):
    """The bureau may take seconds: the store is not locked while it answers. A dealer re-rated D
    meanwhile is what the recorded decision sees (its rules run again on the partner as it is)."""

    def rerate() -> None:  # another user's write while the bureau answers: before, it waited for the submit's lock
        with write_transaction(world.engine) as conn:
            conn.execute(update(Partner).where(Partner.partner_code == world.dealer_a).values(rating="D"))

    _asking(world, _BureauMeanwhile(rerate))
    result = world.submitted()
    assert result["status"] == "referred" and [h["rule"] for h in result["rule_hits"]][:1] == ["PARTNER_RATING_D"]
    assert result["inputs"]["partner"]["rating"] == "D"
    assert _decision(world, result["application_no"]).details["inputs"]["partner"]["rating"] == "D"


def test_an_application_changed_while_it_was_decided_is_refused_and_nothing_is_recorded(world: World):
    app = world.application()
    no = app["application_no"]
    world.upload_required(no)

    def cancel() -> None:  # cancelled by someone else while the bureau answered
        with write_transaction(world.engine) as conn:
            conn.execute(update(Application).where(Application.application_no == no).values(status="cancelled"))

    _asking(world, _BureauMeanwhile(cancel))
    refused = world.call("POST", f"/applications/{no}/submit", "dealer_a", 409).json()
    assert refused["detail"] == f"application {no} changed while it was being decided (now cancelled); submit it again"
    assert _submit_trail(world, no) == ("cancelled", 0, 0)


def test_two_submits_of_one_dealer_that_fit_its_limit_each_but_not_together(world: World):
    """The limit is checked again where the decision is recorded: the submit recorded second,
    decided while the first one was not yet, is refused with the figures as they are then."""
    first, second, held = _two_drafts_one_cent_over_the_limit_together(world)

    def the_other_submit() -> None:  # recorded while this one's bureau answers
        with write_transaction(world.engine) as conn:
            who, now = authenticate(conn, world.tokens["dealer_a"]), datetime.now(UTC)
            decided = decide(conn, who, get_application(conn, who, second["application_no"]), now, AS_OF, Adapters())
            assert record(conn, who, decided, now)["status"] == "pre_approved"

    _asking(world, _BureauMeanwhile(the_other_submit))
    detail = world.call("POST", f"/applications/{first['application_no']}/submit", "dealer_a", 422).json()["detail"][0]
    assert detail["loc"][-1] == "financed_amount"
    assert detail["msg"] == (f"partner {world.dealer_a}'s exposure {(held + 106200_00) // 100}.00 + this application 106200.00 = "
                             f"{(held + 2 * 106200_00) // 100}.00 exceeds its credit limit {(held + 2 * 106200_00) // 100 - 1}.99")
    assert _submit_trail(world, first["application_no"]) == ("draft", 0, 0)
    assert _submit_trail(world, second["application_no"]) == ("pre_approved", 1, 1)


def _two_drafts_one_cent_over_the_limit_together(world: World) -> tuple[dict, dict, int]:
    """Two drafts of dealer A ready to submit (106,200.00 each), its limit set so that either fits
    and both do not by a cent; and the exposure it held before them."""
    first, second = world.application(), world.application()
    for app in (first, second):
        world.upload_required(app["application_no"])
    with world.engine.begin() as conn:
        partner_id = conn.execute(select(Partner.partner_id).where(Partner.partner_code == world.dealer_a)).scalar_one()
        held = exposure(conn, partner_id)["total_minor"]
        conn.execute(update(Partner).where(Partner.partner_id == partner_id).values(credit_limit_minor=held + 2 * 106200_00 - 1))
    return first, second, held


def test_a_repeated_submit_is_answered_from_its_key_without_asking_the_bureau_again(world: World):
    bureau = _asking(world, _BureauMeanwhile())
    app = world.application()
    no = app["application_no"]
    world.upload_required(no)
    key = {"Idempotency-Key": f"submit-{no}"}
    decided = world.call("POST", f"/applications/{no}/submit", "dealer_a", 200, headers=key).json()
    again = world.call("POST", f"/applications/{no}/submit", "dealer_a", 200, headers=key)
    assert again.json() == decided and again.headers["Idempotent-Replayed"] == "true"
    assert bureau.queries == 1
    world.call("POST", f"/applications/{no}/submit", "dealer_a", 422, headers={"Idempotency-Key": "x" * 129})
    assert bureau.queries == 1 and _submit_trail(world, no) == ("pre_approved", 1, 1)


def test_api_processes_on_one_sqlite_store_queue_their_writes_on_a_file_lock(world: World):
    """Each API process (a `Store` of its own) holds an exclusive flock of `<store>.api-writers`
    while it writes, so the next one is woken when it is free, not by SQLite's sleeping busy handler."""
    store = world.client.app.state.store
    other = Store(world.engine)
    queue = f"{world.engine.url.database}.api-writers"
    entered: list[str] = []

    def write_too() -> None:
        with other.write():
            entered.append("other")

    with store.write():
        with open(queue, "ab") as probe, pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        waiting = threading.Thread(target=write_too)
        waiting.start()
        waiting.join(0.3)
        assert entered == [] and waiting.is_alive()
        entered.append("first")
    waiting.join(5)
    assert entered == ["first", "other"]
    with open(queue, "ab") as probe:  # free again once both are done
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_on_postgresql_two_records_of_one_dealer_queue_on_the_partner_and_the_second_sees_the_first(pg_store, tmp_path, monkeypatch):
    """Two API processes record at once (READ COMMITTED): the second waits on the partner's row
    until the first commits, then finds the limit taken. Without the lock both were recorded."""
    from tests.api.conftest import make_world

    for pg in make_world(pg_store, tmp_path, monkeypatch):
        _two_records_of_one_dealer_at_once(pg)


def _two_records_of_one_dealer_at_once(pg: World) -> None:
    first, second, _ = _two_drafts_one_cent_over_the_limit_together(pg)
    now = datetime.now(UTC)
    with pg.engine.connect() as conn:
        who = authenticate(conn, pg.tokens["dealer_a"])
        decided = [decide(conn, who, get_application(conn, who, app["application_no"]), now, AS_OF, Adapters()) for app in (first, second)]
    outcome: list[str] = []

    def record_second() -> None:
        try:
            with write_transaction(pg.engine) as conn:
                record(conn, who, decided[1], now)
            outcome.append("recorded")
        except InputError as exc:
            outcome.append(exc.field)

    with write_transaction(pg.engine) as conn:
        assert record(conn, who, decided[0], now)["status"] == "pre_approved"
        waiting = threading.Thread(target=record_second)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and outcome == []  # held on the partner's row
    waiting.join(10)
    assert outcome == ["financed_amount"]
    assert _submit_trail(pg, first["application_no"]) == ("pre_approved", 1, 1)
    assert _submit_trail(pg, second["application_no"]) == ("draft", 0, 0)


@pytest.mark.postgres
def test_on_postgresql_the_anti_fraud_checks_find_each_count_by_its_key_whatever_the_planner_prefers(pg_store, tmp_path, monkeypatch):
    """The checks are one statement of counts, each of which must go straight to its rows by a key
    (the vehicle, the customer, the mobile's customers, the dealer's window). The applications of
    the customers sharing a mobile were a join, whose shape PostgreSQL chose by its statistics: on
    the 1M bench store, whose statistics predated the newest applicants, it merged every
    application in customer order to find one customer's (3.8 ms a submit, growing with the
    applications). With joins made costly the plan must not change: there is no join to choose."""
    from autofin.origination.antifraud import _CHECKS
    from tests.api.conftest import make_world
    from tests.servicing.test_nightly_reads import statements_kept

    for pg in make_world(pg_store, tmp_path, monkeypatch):
        app = pg.application()
        with pg.engine.connect() as conn:
            row = conn.execute(select(Application).where(Application.application_no == app["application_no"])).one()
            mobile = conn.execute(select(Customer.mobile).where(Customer.customer_id == row.customer_id)).scalar_one()
            conn.exec_driver_sql("SET enable_nestloop = off")  # the join's cheap shape taken away
            params = {"vehicle_id": row.vehicle_id, "application_id": row.application_id, "customer_id": row.customer_id,
                      "mobile": mobile, "since": datetime(2026, 1, 1, tzinfo=UTC), "partner_id": row.partner_id}
            with statements_kept(pg.engine) as seen:  # as the driver gets it (expanded IN lists and all)
                conn.execute(_CHECKS, params).one()
            plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + seen[0][0], seen[0][1]).scalars())
        assert "Join" not in plan and "Seq Scan" not in plan, plan


def test_the_anti_fraud_counts_take_in_every_customer_sharing_the_mobile(world):
    """Three applications in the window: two of one customer, one of another with the same mobile,
    and one of a customer with another mobile, which does not count."""
    first, second = world.customer(mobile="13911112222"), world.customer(mobile="13911112222")
    world.application(customer_id=first)
    world.application(customer_id=first)
    world.application(customer_id=world.customer(mobile="13933334444"))
    inputs = world.submitted(customer_id=second)["inputs"]
    assert inputs["fraud"]["applications_same_mobile_30d"] == 3 and inputs["fraud"]["applications_same_id_30d"] == 1, inputs["fraud"]


def test_a_submit_records_its_two_audit_steps_in_order_and_queries_the_bureau_on_the_latest_consent(world: World):
    number = world.application()["application_no"]
    world.upload(number)
    first = world.upload(number, doc_type="credit_authorization", data=PDF, name="authorization.pdf").json()
    latest = world.upload(number, doc_type="credit_authorization", data=PDF + b"%signed again", name="authorization-2.pdf").json()
    answer = world.call("POST", f"/applications/{number}/submit", "dealer_a", 200).json()
    assert answer["status"] == "pre_approved"
    with world.engine.connect() as conn:
        steps = conn.execute(select(AuditEvent.action, AuditEvent.before, AuditEvent.after).where(AuditEvent.entity_id == number)
                             .order_by(AuditEvent.audit_event_id)).all()
        details = conn.execute(select(Decision.details).join(Application, Application.application_id == Decision.application_id)
                               .where(Application.application_no == number)).scalar_one()
    assert [tuple(s) for s in steps[-2:]] == [
        ("application.submitted", {"status": "draft"}, {"status": "submitted"}),
        ("application.pre_approved", {"status": "submitted"}, {"status": "pre_approved", "reason_code": None, "grade": answer["grade"]}),
    ]
    assert details["bureau_consent"]["document_id"] == latest["document_id"] != first["document_id"]
    assert details["bureau_consent"]["sha256"] == latest["sha256"]
