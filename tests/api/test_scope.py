"""One scope rule for every id a request names, in its path or its body: another dealer's object
and one that does not exist answer alike (404 in a path, the same 422 in a body), and no answer
hands over another dealer's ids or facts. Each bureau query records the customer's consent."""

from __future__ import annotations

from sqlalchemy import select

from autofin.store.models import Application, Decision
from tests.api.conftest import World


def test_an_application_cannot_name_another_dealers_customer_or_vehicle(world: World):
    theirs_customer, theirs_vehicle = world.customer("dealer_b"), world.vehicle("dealer_b")
    mine_customer, mine_vehicle = world.customer("dealer_a"), world.vehicle("dealer_a")
    foreign = world.application("dealer_a", customer_id=theirs_customer, vehicle_id=mine_vehicle, expect=422)["detail"][0]
    missing = world.application("dealer_a", customer_id=999_999, vehicle_id=mine_vehicle, expect=422)["detail"][0]
    assert foreign["loc"][-1] == missing["loc"][-1] == "customer_id"
    assert foreign["msg"] == f"no customer {theirs_customer}" and missing["msg"] == "no customer 999999"
    foreign = world.application("dealer_a", customer_id=mine_customer, vehicle_id=theirs_vehicle, expect=422)["detail"][0]
    assert (foreign["loc"][-1], foreign["msg"]) == ("vehicle_id", f"no vehicle {theirs_vehicle}")
    # and so the customer stays out of reach, with their bureau facts
    world.call("GET", f"/customers/{theirs_customer}", "dealer_a", 404)
    with world.engine.connect() as conn:
        assert conn.execute(select(Application.application_id).where(Application.customer_id == theirs_customer)).first() is None


def test_a_duplicate_resident_id_does_not_hand_over_another_dealers_customer(world: World):
    body = {"kind": "individual", "name": "王五", "id_number": None, "mobile": "13912340000", "city": "杭州"}
    mine = world.customer("dealer_b")
    with world.engine.connect() as conn:
        from autofin.store.models import Customer

        body["id_number"] = conn.execute(select(Customer.id_number).where(Customer.customer_id == mine)).scalar_one()
    own = world.call("POST", "/customers", "dealer_b", 409, json=body).json()["detail"]
    assert f"customer_id {mine}" in own  # to the dealer who brought them in: which record it is
    other = world.call("POST", "/customers", "dealer_a", 409, json=body).json()["detail"]
    assert str(mine) not in other and "another partner" in other
    assert f"customer_id {mine}" in world.call("POST", "/customers", "sales", 409, json=body).json()["detail"]  # staff see every partner


def test_a_body_naming_a_partner_the_caller_cannot_see_is_a_422(world: World):
    response = world.call("POST", "/applications", "sales", 422, json={
        "partner_code": "NOSUCH", "product_code": "NCL-ANN", "customer_id": world.customer("sales"), "vehicle_id": world.vehicle(),
        "down_payment_pct": "30", "term_months": 36}).json()["detail"][0]
    assert (response["loc"][-1], response["msg"]) == ("partner_code", "no partner 'NOSUCH'")


def test_each_bureau_query_records_the_customers_consent(world: World):
    app = world.application()
    world.upload(app["application_no"])
    refused = world.call("POST", f"/applications/{app['application_no']}/submit", "dealer_a", 422).json()["detail"][0]
    assert refused["loc"][-1] == "documents" and "credit_authorization" in refused["msg"]
    consent = world.upload(app["application_no"], doc_type="credit_authorization", name="authorization.jpg").json()
    world.call("POST", f"/applications/{app['application_no']}/submit", "dealer_a", 200)
    with world.engine.connect() as conn:
        details = conn.execute(select(Decision.details).join(Application, Application.application_id == Decision.application_id)
                               .where(Application.application_no == app["application_no"])).scalar_one()
    assert details["bureau_consent"]["document_id"] == consent["document_id"]
    assert details["bureau_consent"]["sha256"] == consent["sha256"]
