"""Partners through their life, through the API: onboarding, review, rating history, limits,
accounts, statuses, batch updates, exit review and blacklist."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import select

from autofin.store.models import AuditEvent, Partner
from tests.api.conftest import World

NEW = {"partner_code": "D90001", "name": "杭州新星汽车销售服务有限公司", "region": "华东", "city": "杭州", "rating": "B",
       "credit_limit": "2000000"}


def test_onboarding_review_rating_limit_and_account(world: World):
    created = world.call("POST", "/partners", "sales", 201, json=NEW).json()
    assert created["status"] == "pending" and created["credit_limit"] == "2000000.00"
    assert created["exposure"] == {"disbursed": "0.00", "committed": "0.00", "contracts": "0.00", "applications": "0.00", "total": "0.00",
                                   "headroom": "2000000.00"}
    world.call("POST", "/partners/D90001/review", "credit_officer", 403, json={"approve": True})
    assert world.call("POST", "/partners/D90001/review", "credit_manager", 200, json={"approve": True}).json()["status"] == "active"
    world.call("POST", "/partners/D90001/rating", "credit_manager", 200, json={"rating": "A", "reason": "Q3 review"})
    world.call("POST", "/partners/D90001/rating", "credit_director", 200, json={"rating": "C", "reason": "complaints"})
    world.call("POST", "/partners/D90001/credit-limit", "credit_director", 200, json={"credit_limit": "3500000.50"})
    account = {"settlement_bank": "中国银行杭州分行", "settlement_account_no": "6217 0000 1234 5678", "settlement_account_name": "杭州新星"}
    got = world.call("PUT", "/partners/D90001/settlement-account", "finance", 200, json=account).json()
    assert got["settlement_account_no"] == "6217000012345678" and got["credit_limit"] == "3500000.50" and got["rating"] == "C"
    history = world.call("GET", "/partners/D90001/history", "auditor", 200).json()
    assert [(h["field"], h["old"], h["new"]) for h in history] == [
        ("status", "pending", "active"), ("rating", "B", "A"), ("rating", "A", "C"),
        ("credit_limit_minor", "200000000", "350000050"), ("settlement_bank", None, "中国银行杭州分行"),
        ("settlement_account_no", None, "6217000012345678"), ("settlement_account_name", None, "杭州新星")]
    assert [h["reason"] for h in history][1:3] == ["Q3 review", "complaints"]
    with world.engine.connect() as conn:
        audit = conn.execute(select(AuditEvent).where(AuditEvent.entity == "partner", AuditEvent.action == "partner.rating")
                             .order_by(AuditEvent.audit_event_id)).all()
    assert [(a.actor, a.before, a.after) for a in audit] == [("credit_manager", {"rating": "B"}, {"rating": "A"}),
                                                             ("credit_director", {"rating": "A"}, {"rating": "C"})]


def test_statuses_only_move_as_allowed(world: World):
    world.call("POST", "/partners", "admin", 201, json=NEW)
    conflict = world.call("POST", "/partners/D90001/status", "admin", 409, json={"status": "suspended"}).json()
    assert conflict["current_status"] == "pending" and "review" in conflict["detail"]
    world.call("POST", "/partners/D90001/review", "admin", 200, json={"approve": True})
    assert world.call("POST", "/partners/D90001/status", "admin", 200, json={"status": "suspended"}).json()["status"] == "suspended"
    assert world.call("POST", "/partners/D90001/status", "admin", 200, json={"status": "active"}).json()["status"] == "active"
    assert world.call("POST", "/partners/D90001/status", "admin", 200, json={"status": "exiting"}).json()["status"] == "exiting"
    assert world.call("POST", "/partners/D90001/review", "credit_manager", 200, json={"approve": True}).json()["status"] == "exited"
    refused = world.call("POST", "/partners/D90001/status", "admin", 409, json={"status": "active"}).json()
    assert refused["current_status"] == "exited" and refused["allowed"] == []
    world.call("POST", "/partners/D90001/status", "admin", 422, json={"status": "exited"})
    world.call("POST", "/partners", "admin", 409, json=NEW)  # the code is taken


def test_exit_review_waits_for_open_applications(world: World):
    app = world.application()
    world.call("POST", f"/partners/{world.dealer_a}/status", "credit_manager", 200, json={"status": "exiting"})
    refused = world.call("POST", f"/partners/{world.dealer_a}/review", "credit_manager", 409, json={"approve": True}).json()
    assert "open applications 1" in refused["detail"]
    # refused exit: back to active; asked again once the draft is cancelled, the seeded live contracts still hold it
    assert world.call("POST", f"/partners/{world.dealer_a}/review", "credit_manager", 200, json={"approve": False}).json()["status"] == "active"
    world.call("POST", f"/partners/{world.dealer_a}/status", "credit_manager", 200, json={"status": "exiting"})
    world.call("POST", f"/applications/{app['application_no']}/cancel", "dealer_a", 200, json={"reason": "partner leaving"})
    detail = world.call("POST", f"/partners/{world.dealer_a}/review", "credit_manager", 409, json={"approve": True}).json()["detail"]
    assert "live contracts" in detail and "open applications 0" in detail


def test_blacklist_flags_open_applications_and_takes_write_access(world: World):
    app = world.application()
    world.call("POST", f"/partners/{world.dealer_a}/blacklist", "credit_director", 422, json={"blacklisted": True})  # no reason
    got = world.call("POST", f"/partners/{world.dealer_a}/blacklist", "credit_director", 200,
                     json={"blacklisted": True, "reason": "forged invoices"}).json()
    assert got["is_blacklisted"] and got["applications_flagged"] == 1
    flagged = world.call("GET", f"/applications/{app['application_no']}", "dealer_a", 200).json()
    assert flagged["is_flagged"] and flagged["flag_reason"] == "partner blacklisted: forged invoices"
    assert "blacklisted" in world.call("POST", f"/applications/{app['application_no']}/submit", "dealer_a", 403).json()["detail"]
    world.call("POST", "/customers", "dealer_a", 403, json={"name": "x", "id_number": "x"})
    sales = world.call("POST", f"/applications/{app['application_no']}/submit", "sales", 409).json()
    assert "blacklisted" in sales["detail"]
    world.call("GET", "/applications", "dealer_a", 200)  # reads stay


def _partners(world: World) -> dict[str, tuple[str, int, str]]:
    with world.engine.connect() as conn:
        return {r.partner_code: (r.rating, r.credit_limit_minor, r.status)
                for r in conn.execute(select(Partner.partner_code, Partner.rating, Partner.credit_limit_minor, Partner.status))}


def test_batch_update_applies_all_rows_or_none(world: World):
    a, b = world.dealer_a, world.dealer_b
    before = _partners(world)
    c, d = sorted(set(before) - {a, b})[:2]
    bad = (f"partner_code,rating,credit_limit,status\n{a},A,5000000,\n{b},E,1000000,\nNOPE,B,,\n{a},B,,\n"
           f"{c},,12.345,\n{d},,,exited\n").encode()
    response = world.call("POST", "/partners/batch", "credit_manager", 422, files={"file": ("limits.csv", bad, "text/csv")}).json()
    assert response["applied"] == 0
    assert [(e["row"], e["field"]) for e in response["errors"]] == [
        (3, "rating"), (4, "partner_code"), (5, "partner_code"), (6, "credit_limit"), (7, "status")]
    assert _partners(world) == before
    good = f"partner_code,rating,credit_limit,reason\n{a},A,5000000,annual\n{b},C,1000000.50,annual\n".encode()
    assert world.call("POST", "/partners/batch", "credit_manager", 200, files={"file": ("limits.csv", good)}).json() == {"applied": 2, "errors": []}
    after = _partners(world)
    assert after[a][:2] == ("A", 500_000_000) and after[b][:2] == ("C", 100_000_050)

    book = Workbook()
    book.active.append(["partner_code", "status", "reason"])
    book.active.append([b, "suspended", "audit findings"])
    buffer = io.BytesIO()
    book.save(buffer)
    world.call("POST", "/partners/batch", "admin", 200, files={"file": ("status.xlsx", buffer.getvalue())})
    assert _partners(world)[b][2] == "suspended"
    world.call("POST", "/partners/batch", "admin", 422, files={"file": ("status.txt", b"x")})
    world.call("POST", "/partners/batch", "sales", 403, files={"file": ("status.csv", good)})


def test_a_batch_row_needs_the_authority_of_its_single_route(world: World):
    """An admin may not rate a partner or set its limit one at a time (403), so not in a batch either."""
    a = world.dealer_a
    before = _partners(world)
    world.call("POST", f"/partners/{a}/rating", "admin", 403, json={"rating": "A"})
    world.call("POST", f"/partners/{a}/credit-limit", "admin", 403, json={"credit_limit": "1"})
    rows = f"partner_code,rating,credit_limit\n{a},A,1\n".encode()
    errors = world.call("POST", "/partners/batch", "admin", 422, files={"file": ("r.csv", rows)}).json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(2, "rating")]
    assert errors[0]["reason"].startswith("role admin may not partners rate")
    rows = f"partner_code,credit_limit\n{a},1\n".encode()
    assert world.call("POST", "/partners/batch", "admin", 422, files={"file": ("r.csv", rows)}).json()["errors"][0]["field"] == "credit_limit"
    account = f"partner_code,settlement_bank,settlement_account_no,settlement_account_name\n{a},工行,62220000111122223333,某某\n".encode()
    assert world.call("POST", "/partners/batch", "credit_manager", 422, files={"file": ("r.csv", account)}).json()["errors"][0]["field"] \
        == "settlement_bank"  # an account is finance's to change
    assert _partners(world) == before
    assert world.call("POST", "/partners/batch", "finance", 200, files={"file": ("r.csv", account)}).json()["applied"] == 1


def test_dealers_see_only_their_own_partner(world: World):
    assert [p["partner_code"] for p in world.call("GET", "/partners", "dealer_a", 200).json()] == [world.dealer_a]
    assert world.call("GET", f"/partners/{world.dealer_b}", "dealer_a", 404).json() == {"detail": f"partner {world.dealer_b} not found"}
    assert world.call("GET", "/partners/NOSUCH", "dealer_a", 404).json() == {"detail": "partner NOSUCH not found"}
    assert len(world.call("GET", "/partners?limit=5", "auditor", 200).json()) == 5


def test_a_batch_cannot_skip_a_review(world: World):
    world.call("POST", "/partners", "admin", 201, json=NEW)
    rows = b"partner_code,status\nD90001,active\n"
    errors = world.call("POST", "/partners/batch", "admin", 422, files={"file": ("s.csv", rows)}).json()["errors"]
    assert errors == [{"row": 2, "field": "status",
                       "reason": "partner is pending; it cannot become active (from pending it can become: review decides: POST .../review)"}]
    assert _partners(world)["D90001"][2] == "pending"
