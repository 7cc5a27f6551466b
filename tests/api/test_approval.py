"""Tiered approval through the API: routes from the matrix, claim/lock/expiry, reassignment,
batch decisions, the people rules, a race on one task, and the contract the last tier creates."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from autofin.origination.users import add_user
from autofin.store.models import Application, ApprovalTask, AppUser, AuditEvent, Contract, Decision, ProductVersion
from tests.api.conftest import World, make_world

BIG = {"vehicle_model": "BMW-3", "price": "400000", "monthly_income": "90000"}  # financed 281,200: three tiers


def big(world: World, who: str = "dealer_a") -> dict:
    partner = {} if who.startswith("dealer") else {"partner_code": world.dealer_a}  # staff name the partner
    vehicle_id = world.vehicle(who, model=BIG["vehicle_model"], price=BIG["price"], **partner)
    return world.submitted(who, vehicle_id=vehicle_id, monthly_income=BIG["monthly_income"], **partner)


def decide(world: World, task_id: int, who: str, expect: int, **body):
    return world.call("POST", f"/approval-tasks/{task_id}/decision", who, expect, json={"decision": "approve", **body}).json()


def test_three_tiers_one_at_a_time_then_the_contract(world: World):
    sub = big(world)
    assert (sub["status"], sub["approval_route"]) == ("pre_approved", ["credit_officer", "credit_manager", "credit_director"])
    app_no = sub["application_no"]
    first = world.open_task(app_no)
    assert (first["tier"], first["tier_seq"], first["status"], first["financed_amount"]) == ("credit_officer", 1, "open", "281200.00")
    # the queue filters by tier: the manager's queue has nothing of it yet
    assert [t for t in world.call("GET", "/approval-tasks?tier=credit_manager", "credit_manager", 200).json() if t["application_no"] == app_no] == []
    assert decide(world, first["task_id"], "credit_officer", 200) == {
        "task_id": first["task_id"], "status": "approved", "application_no": app_no, "application_status": "in_approval",
        "next_tier": "credit_manager"}
    second = world.open_task(app_no)
    assert (second["tier"], second["tier_seq"]) == ("credit_manager", 2)
    decide(world, second["task_id"], "officer2", 403)  # an officer may not decide a manager's task
    assert decide(world, second["task_id"], "credit_manager", 200)["next_tier"] == "credit_director"
    third = world.open_task(app_no)
    last = decide(world, third["task_id"], "credit_director", 200)
    assert (last["application_status"], last["contract_status"]) == ("contracted", "pending_signature")

    with world.engine.connect() as conn:
        app = conn.execute(select(Application).where(Application.application_no == app_no)).one()
        assert app.status == "contracted"
        tasks = conn.execute(select(ApprovalTask).where(ApprovalTask.application_id == app.application_id).order_by(ApprovalTask.tier_seq)).all()
        assert [(t.tier, t.status, t.outcome) for t in tasks] == [
            ("credit_officer", "approved", "approve"), ("credit_manager", "approved", "approve"), ("credit_director", "approved", "approve")]
        assert all(t.turnaround_seconds is not None and t.turnaround_seconds >= 0 and t.decided_at for t in tasks)
        decisions = conn.execute(select(Decision.kind, Decision.outcome).where(Decision.application_id == app.application_id)
                                 .order_by(Decision.decision_id)).all()
        assert decisions == [("pre_approval", "pass"), ("approval", "approve"), ("approval", "approve"), ("approval", "approve")]
        contract = conn.execute(select(Contract).where(Contract.application_id == app.application_id)).one()
        assert (contract.contract_no, contract.financed_minor, contract.status) == (last["contract_no"], 281_200_00, "pending_signature")
        assert len(contract.plan["schedule"]) == 36 and contract.terms["product_code"] == "NCL-ANN"
        actions = conn.execute(select(AuditEvent.action).where(AuditEvent.entity == "approval_task",
                                                                AuditEvent.entity_id.in_([str(t.approval_task_id) for t in tasks]))).scalars().all()
        assert sorted(actions) == ["approval_task.approve"] * 3
        assert conn.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "contract.create", AuditEvent.entity_id == contract.contract_no)).scalar_one() == 1


def test_a_small_clean_application_needs_one_officer(world: World):
    sub = world.submitted()
    assert sub["approval_route"] == ["credit_officer"]
    task = world.open_task(sub["application_no"])
    assert decide(world, task["task_id"], "credit_officer", 200)["application_status"] == "contracted"


def test_claim_locks_the_task_until_unlocked_or_expired(world: World):
    task = world.open_task(world.submitted()["application_no"])
    path = f"/approval-tasks/{task['task_id']}"
    claimed = world.call("POST", f"{path}/claim", "credit_officer", 200).json()
    assert (claimed["status"], claimed["locked_by"]) == ("claimed", "credit_officer")
    refused = world.call("POST", f"{path}/claim", "officer2", 409).json()
    assert refused["detail"].startswith(f"task {task['task_id']} is locked by credit_officer until ")
    decide(world, task["task_id"], "officer2", 409)
    world.call("POST", f"{path}/unlock", "officer2", 409)  # not the owner, not a higher tier
    assert world.call("POST", f"{path}/unlock", "credit_officer", 200).json()["status"] == "open"
    world.call("POST", f"{path}/claim", "officer2", 200)
    # a lock expires: an hour later the other officer may take it
    store = world.client.app.state.store
    real = store.clock
    store.clock = lambda: real() + timedelta(hours=1)
    try:
        assert world.call("POST", f"{path}/claim", "credit_officer", 200).json()["locked_by"] == "credit_officer"
    finally:
        store.clock = real
    assert decide(world, task["task_id"], "credit_officer", 200)["status"] == "approved"
    assert world.call("POST", f"{path}/claim", "officer2", 409).json()["detail"] == f"task {task['task_id']} is already approved by credit_officer"


def test_reassignment_goes_to_the_same_or_a_higher_tier_and_is_audited(world: World):
    task = world.open_task(big(world)["application_no"])
    path = f"/approval-tasks/{task['task_id']}"
    world.call("POST", f"{path}/claim", "credit_officer", 200)
    bad = world.call("POST", f"{path}/reassign", "credit_officer", 422, json={"to_user": "sales2"}).json()
    assert bad["detail"][0]["loc"][-1] == "to_user" and "needs credit_officer or higher" in bad["detail"][0]["msg"]
    world.call("POST", f"{path}/reassign", "officer2", 403, json={"to_user": "officer2"})  # not theirs, not a higher tier
    moved = world.call("POST", f"{path}/reassign", "credit_officer", 200, json={"to_user": "officer2", "reason": "leave"}).json()
    assert (moved["assignee"], moved["status"], moved["locked_by"]) == ("officer2", "open", None)
    assert world.call("POST", f"{path}/claim", "credit_officer", 409).json()["detail"] == f"task {task['task_id']} is assigned to officer2"
    mine = world.call("GET", "/approval-tasks?mine=true", "officer2", 200).json()
    assert [t["task_id"] for t in mine] == [task["task_id"]]
    tagged = world.call("PUT", f"{path}/tags", "officer2", 200, json={"tags": ["vip", "urgent", "vip"]}).json()
    assert tagged["tags"] == ["urgent", "vip"]
    assert [t["task_id"] for t in world.call("GET", "/approval-tasks?tag=urgent", "officer2", 200).json()] == [task["task_id"]]
    with world.engine.connect() as conn:
        row = conn.execute(select(AuditEvent).where(AuditEvent.action == "approval_task.reassign")).one()
        assert (row.actor, row.after) == ("credit_officer", {"assignee": "officer2", "reason": "leave"})


def test_reject_needs_a_reason_code_and_return_a_comment(world: World):
    task = world.open_task(world.submitted()["application_no"])
    missing = decide(world, task["task_id"], "credit_officer", 422, decision="reject")
    assert missing["detail"][0]["loc"][-1] == "reason_code"
    assert decide(world, task["task_id"], "credit_officer", 422, decision="return")["detail"][0]["loc"][-1] == "comment"
    rejected = decide(world, task["task_id"], "credit_officer", 200, decision="reject", reason_code="R01", comment="DTI")
    assert (rejected["status"], rejected["application_status"]) == ("rejected", "rejected")
    assert world.call("GET", f"/approval-tasks/{task['task_id']}", "auditor", 200).json()["reason_code"] == "R01"


def test_return_sends_it_back_to_draft_and_a_resubmission_is_a_new_round(world: World):
    sub = world.submitted()
    app_no = sub["application_no"]
    task = world.open_task(app_no)
    returned = decide(world, task["task_id"], "credit_officer", 200, decision="return", comment="upload the income proof")
    assert returned["application_status"] == "draft"
    world.upload(app_no, doc_type="income_proof")
    again = world.call("POST", f"/applications/{app_no}/submit", "dealer_a", 200).json()
    assert again["approval_route"] == ["credit_officer"]
    second = world.open_task(app_no)
    assert second["task_id"] != task["task_id"]
    assert decide(world, second["task_id"], "credit_officer", 200)["application_status"] == "contracted"  # a new round


def test_nobody_approves_their_own_application_nor_decides_twice(world: World):
    sub = big(world, "sales")
    first = world.open_task(sub["application_no"])
    with world.engine.begin() as conn:  # the salesperson who entered it moved to credit
        conn.execute(update(AppUser).where(AppUser.username == "sales").values(role="credit_officer"))
    own = decide(world, first["task_id"], "sales", 403)
    assert own["detail"] == f"sales created application {sub['application_no']}; nobody approves their own application"
    decide(world, first["task_id"], "credit_manager", 200)  # a higher tier may take the officer's task
    second = world.open_task(sub["application_no"])
    twice = decide(world, second["task_id"], "credit_manager", 409)
    assert twice["detail"].startswith("credit_manager already decided on application")
    assert decide(world, second["task_id"], "manager2", 200)["next_tier"] == "credit_director"


def test_batch_decisions_judge_each_task_on_its_own(world: World):
    a, b, c = (world.open_task(world.submitted()["application_no"])["task_id"] for _ in range(3))
    world.call("POST", f"/approval-tasks/{b}/claim", "officer2", 200)
    out = world.call("POST", "/approval-tasks/decisions", "credit_officer", 200, json={"decisions": [
        {"task_id": a, "decision": "approve"}, {"task_id": b, "decision": "approve"},
        {"task_id": c, "decision": "reject", "reason_code": "NOPE"}, {"task_id": 999999, "decision": "approve"}]}).json()
    assert (out["decided"], out["refused"]) == (1, 3)
    by_task = {r["task_id"]: r for r in out["results"]}
    assert by_task[a]["ok"] and by_task[a]["application_status"] == "contracted"
    assert (by_task[b]["status_code"], by_task[c]["status_code"], by_task[999999]["status_code"]) == (409, 422, 404)
    assert by_task[b]["detail"].startswith(f"task {b} is locked by officer2")
    statuses = {t: world.call("GET", f"/approval-tasks/{t}", "auditor", 200).json()["status"] for t in (a, b, c)}
    assert statuses == {a: "approved", b: "claimed", c: "open"}


def _race(world: World) -> None:
    task = world.open_task(world.submitted()["application_no"])
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def go(who: str) -> None:
        barrier.wait()
        codes.append(world.call("POST", f"/approval-tasks/{task['task_id']}/decision", who, json={"decision": "approve"}).status_code)

    threads = [threading.Thread(target=go, args=(w,)) for w in ("credit_officer", "officer2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Contract).where(Contract.is_migrated.is_(False))).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(Decision).where(Decision.kind == "approval")).scalar_one() == 1


def test_two_approvers_racing_on_one_task_exactly_one_wins(world: World):
    _race(world)


def test_the_race_on_postgresql(pg_store, tmp_path, monkeypatch):
    for pg in make_world(pg_store, tmp_path, monkeypatch):
        _race(pg)


def test_the_contract_keeps_the_product_version_of_the_application(world: World):
    """A product edited between submission and the last approval: the contract keeps the terms
    (and the fees) the application was made under."""
    sub = world.submitted()
    with world.engine.begin() as conn:
        v1 = conn.execute(select(ProductVersion).order_by(ProductVersion.version.desc())
                          .where(ProductVersion.product_id == select(ProductVersion.product_id).where(
                              ProductVersion.product_version_id == select(Application.product_version_id).where(
                                  Application.application_no == sub["application_no"]).scalar_subquery()).scalar_subquery())).first()
        edited = {**v1.terms, "annual_rate": "0.0999", "instalment_fee": "50.00"}
        conn.execute(ProductVersion.__table__.insert().values(product_id=v1.product_id, version=v1.version + 1, terms=edited,
                                                              terms_hash="edited"))
    task = world.open_task(sub["application_no"])
    contract_no = decide(world, task["task_id"], "credit_officer", 200)["contract_no"]
    contract = world.call("GET", f"/contracts/{contract_no}", "auditor", 200).json()
    assert (contract["product"]["product_version"], contract["product"]["terms_hash"]) == (v1.version, v1.terms_hash)
    with world.engine.connect() as conn:
        row = conn.execute(select(Contract).where(Contract.contract_no == contract_no)).one()
    assert row.annual_rate_ppm == 79_900 and row.terms["product_terms"]["instalment_fee"] == "0.00"
    assert row.terms["fees"] == {"gps_fee": {"amount": "1200.00", "financed": True}}
    # new applications quote the edited version
    latest = {p["product_code"]: p for p in world.call("GET", "/products", "sales", 200).json()}
    assert latest["NCL-ANN"]["annual_rate"] == "0.0999"


def test_nobody_strands_a_higher_tier_they_alone_could_decide(world: World):
    """The rule that keeps tiered approval from deadlocking: one person decides once per application,
    so the only active credit director may not take the officer tier of a route that ends with the
    director's tier; the officer tier is left to someone else, and the route completes."""
    sub = big(world)
    assert sub["approval_route"] == ["credit_officer", "credit_manager", "credit_director"]
    task = world.open_task(sub["application_no"])
    refused = decide(world, task["task_id"], "credit_director", 409)["detail"]
    assert refused.startswith("credit_director is the last active credit_director who could decide the credit_director tier")
    world.call("POST", f"/approval-tasks/{task['task_id']}/claim", "credit_director", 409)  # nor claim it
    # with a second director, the first may take the officer tier: someone is left for the last one
    with world.engine.begin() as conn:
        world.tokens["director2"] = add_user(conn, "director2", "credit_director")[1]
    decide(world, task["task_id"], "credit_director", 200)
    decide(world, world.open_task(sub["application_no"])["task_id"], "credit_manager", 200)
    assert decide(world, world.open_task(sub["application_no"])["task_id"], "director2", 200)["application_status"] == "contracted"
