"""A server process's requests paced: the warm-up before it answers, each route's first request
running alone, and the requests that change the store taking turns (autofin.api.warm)."""

from __future__ import annotations

import asyncio
import inspect
import re
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from autofin.api import routers
from autofin.api.app import create_app
from autofin.api.public import PublicRouter
from autofin.api.routers import reference as reference_routes
from autofin.api.warm import REHEARSAL_WAIT_MS, PacedRoute, answer_each_route_once, reads_only, rehearse_submit
from autofin.origination import applications as svc
from autofin.settings import assets_dir, sqlite_busy_timeout_ms
from autofin.store.engine import write_transaction
from autofin.store.models import Base, Partner
from tests.api.conftest import AS_OF
from tests.support.books import seed_store


def _recording_app(refuse_first: bool = False) -> tuple[FastAPI, list[tuple[str, int, float]]]:
    """An app with one sync route (run in the thread pool, as the API's are) that notes when each
    request enters and leaves it; with `refuse_first` the first request is refused (404)."""
    events: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    router = PublicRouter(prefix="/t")

    def slow(n: int) -> dict[str, int]:
        with lock:
            events.append(("in", n, time.perf_counter()))
            refused = refuse_first and len([e for e in events if e[0] == "in"]) == 1
        time.sleep(0.15)
        with lock:
            events.append(("out", n, time.perf_counter()))
        if refused:
            raise HTTPException(404, "not found")
        return {"n": n}

    router.get("/{n}")(slow)
    router.post("/{n}")(slow)  # a change
    router.post("/{n}/quote")(reads_only(lambda n: slow(n)))  # a POST that changes nothing
    router.post("/{n}/other")(lambda n: slow(n))  # another change

    app = FastAPI()
    app.include_router(router)
    return app, events


async def _at_once(app: FastAPI, count: int, method: str = "GET", path: str = "/t/{n}") -> list[int]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        async def one(n: int) -> int:
            await asyncio.sleep(0.01 * n)  # in the order of n: the first is surely first
            return (await client.request(method, path.format(n=n))).status_code
        return list(await asyncio.gather(*(one(n) for n in range(count))))


def _most_inside_at_once(events: list[tuple[str, int, float]]) -> int:
    inside = most = 0
    for kind, _, _ in sorted(events, key=lambda e: e[2]):
        inside += 1 if kind == "in" else -1
        most = max(most, inside)
    return most


@pytest.mark.parametrize("refuse_first", [False, True])
def test_a_routes_first_request_runs_alone_and_the_ones_that_waited_then_run_together(refuse_first):
    app, events = _recording_app(refuse_first)
    statuses = asyncio.run(_at_once(app, 4))
    assert statuses == [404 if refuse_first else 200, 200, 200, 200]
    first_out = next(t for kind, n, t in events if (kind, n) == ("out", 0))
    assert [n for kind, n, t in events if kind == "in" and t < first_out] == [0]  # nothing entered beside the first
    later = [e for e in events if e[1] != 0]
    assert _most_inside_at_once(later) == 3  # the three that waited ran together, not one by one
    events.clear()
    asyncio.run(_at_once(app, 3))  # and from then on every request runs at once
    assert _most_inside_at_once(events) == 3


def test_changes_take_turns_in_the_order_they_came_and_reads_are_not_held_behind_them(monkeypatch):
    app, events = _recording_app()
    asyncio.run(_at_once(app, 1, "POST"))  # the route's first request, alone
    events.clear()
    assert asyncio.run(_at_once(app, 10, "POST")) == [200] * 10
    assert _most_inside_at_once(events) == 4  # AUTOFIN_API_CHANGES_AT_ONCE, 4 by default
    assert [n for kind, n, _ in sorted(events, key=lambda e: e[2]) if kind == "in"] == list(range(10))  # first come, first run

    async def changes_and_reads() -> list[int]:
        changes = asyncio.gather(_at_once(app, 8, "POST"))
        await asyncio.sleep(0.05)  # four changes running, four waiting
        reads = await asyncio.gather(_at_once(app, 2, "GET", "/t/{n}"), _at_once(app, 2, "POST", "/t/{n}/quote"))
        await changes
        return [s for r in reads for s in r]

    for route in ("/t/0/quote", "/t/0"):  # their first requests, alone
        asyncio.run(_at_once(app, 1, "POST" if "quote" in route else "GET", route))
    events.clear()
    assert asyncio.run(changes_and_reads()) == [200] * 4
    assert _most_inside_at_once(events) == 8  # four changes and the four reads beside them

    async def changes_then_another_routes_first() -> None:
        changes = asyncio.gather(_at_once(app, 4, "POST"))
        await asyncio.sleep(0.05)  # four changes running
        await _at_once(app, 1, "POST", "/t/{n}/other")  # a route's first request takes its turn too
        await changes

    events.clear()
    asyncio.run(changes_then_another_routes_first())
    assert _most_inside_at_once(events) == 4
    monkeypatch.setenv("AUTOFIN_API_CHANGES_AT_ONCE", "2")
    app, events = _recording_app()
    asyncio.run(_at_once(app, 1, "POST"))
    events.clear()
    asyncio.run(_at_once(app, 6, "POST"))
    assert _most_inside_at_once(events) == 2


def _api_routers() -> list[tuple[str, Any]]:
    """Every router of autofin.api.routers, with its module's name."""
    return [(module.__name__, router) for _, module in inspect.getmembers(routers, inspect.ismodule)
            for _, router in inspect.getmembers(module, lambda v: hasattr(v, "routes") and hasattr(v, "route_class"))]


def test_a_quote_is_the_one_post_of_the_api_that_changes_nothing():
    marked = [route.path for _, router in _api_routers() for route in router.routes if getattr(route.endpoint, "reads_only", False)]
    assert marked == ["/quotes"] and reference_routes.quotes.reads_only


def test_every_route_of_the_api_is_a_paced_route():
    found = 0
    for module, router in _api_routers():
        assert isinstance(router, PublicRouter), f"{module}: {router} is not a PublicRouter"
        assert all(isinstance(route, PacedRoute) for route in router.routes)
        found += len(router.routes)
    assert found > 100


def test_the_warm_up_configures_the_mappers_reads_the_reference_and_fills_the_pool(sqlite_store):
    # a process of its own: this one's mappers are configured already by whatever test ran before
    probe = (
        "import asyncio, sys; from sqlalchemy import inspect; from autofin.store.engine import make_engine;"
        "from autofin.store.models import AppUser; from autofin.api.app import create_app; from autofin.api.warm import warm_up;"
        "engine = make_engine(sys.argv[1]); before = inspect(AppUser).configured, engine.pool.checkedin();"
        "asyncio.run(warm_up(create_app(engine), engine, serving=False));"
        "print(before, (inspect(AppUser).configured, engine.pool.checkedin(), engine.pool.size()))"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(sqlite_store.url)], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(False,", "0)", "(True,", "5,", "5)"]


def test_a_server_process_answers_each_route_once_and_freezes_what_it_loaded_before_it_serves(sqlite_store):
    # a process of its own: a server's warm-up freezes the collector, which a test process must not
    probe = (
        "import gc, logging, sys; from fastapi.testclient import TestClient; from autofin.api.app import create_app;"
        "from autofin.store.engine import make_engine; logging.basicConfig(level=logging.INFO);"
        "app = create_app(make_engine(sys.argv[1]), serving=True); before = app.openapi_schema is None, gc.get_freeze_count();"
        "client = TestClient(app).__enter__(); print(before, app.openapi_schema is not None, gc.get_freeze_count() > 10_000)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(sqlite_store.url)], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["(True,", "0)", "True", "True"]
    answered = re.search(r"warm-up: (\d+) routes answered", done.stderr)
    assert answered and int(answered[1]) > 100, done.stderr
    assert "did not answer 401" not in done.stderr
    assert "a submit rehearsed on 0 of 5 pooled connections" in done.stderr  # an empty store: nothing to rehearse against


def test_in_the_warm_up_every_route_but_health_answers_a_token_no_user_holds_401(sqlite_store):
    app = create_app(sqlite_store)
    answers = asyncio.run(answer_each_route_once(app))
    assert len(answers) == sum(len(operations) for operations in app.openapi()["paths"].values()) > 100
    assert answers["POST /applications/{application_no}/submit"] == 401
    assert {route: status for route, status in answers.items() if status != 401} == {"GET /health": 200}


def test_after_the_warm_up_no_request_waits_for_a_routes_first():
    app, events = _recording_app()
    answers = asyncio.run(answer_each_route_once(app))  # no authentication here: each route runs, for n = 0
    assert answers == {"GET /t/{n}": 200, "POST /t/{n}": 200, "POST /t/{n}/quote": 200, "POST /t/{n}/other": 200}
    assert [str(n) for kind, n, _ in events if kind == "in"] == ["0"] * 4  # each route once
    events.clear()
    assert asyncio.run(_at_once(app, 3)) == [200, 200, 200]
    assert _most_inside_at_once(events) == 3  # all three at once: the route's first request was the warm-up's


def test_a_route_that_fails_in_the_warm_up_answers_500_and_does_not_stop_the_start():
    app = FastAPI()

    @app.get("/broken/{n}")
    def broken(n: int) -> None:
        raise RuntimeError(f"broken {n}")

    assert asyncio.run(answer_each_route_once(app)) == {"GET /broken/{n}": 500}


def test_a_rule_file_that_does_not_parse_stops_the_start_not_the_first_submits(sqlite_store, tmp_path, monkeypatch):
    assets = tmp_path / "assets"
    shutil.copytree(assets_dir(), assets)
    (assets / "rules" / "pre_approval.yaml").write_text("rules: [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("AUTOFIN_ASSETS_DIR", str(assets))
    with pytest.raises(yaml.YAMLError), TestClient(create_app(sqlite_store)):
        pass


def test_a_servers_log_shows_autofins_lines_in_uvicorns_format():
    # a process of its own: the configuration is the whole process's
    probe = (
        "import logging, logging.config; from autofin.api.app import server_log_config;"
        "logging.config.dictConfig(server_log_config());"
        "logging.getLogger('autofin.api.warm').info('warm-up: 125 routes answered in 600 ms');"
        "logging.getLogger('autofin.api.warm').debug('not shown');"
        "logging.getLogger('uvicorn.error').info('uvicorn as before')"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr.splitlines() == ["INFO:     warm-up: 125 routes answered in 600 ms", "INFO:     uvicorn as before"]


def _rehearsal_store(engine: Engine, able: int = 1) -> list[int]:
    """A small book whose `able` first dealers are active, in good standing and far from their
    limits (the first with the highest); returns their ids."""
    seed_store(engine, contracts=5, as_of=AS_OF)
    with write_transaction(engine) as conn:
        conn.execute(update(Partner).values(status="suspended"))
        ids = conn.execute(select(Partner.partner_id).where(Partner.kind == "dealer").order_by(Partner.partner_id).limit(able)).scalars().all()
        for k, partner_id in enumerate(ids):
            conn.execute(update(Partner).where(Partner.partner_id == partner_id).values(
                status="active", rating="B", is_blacklisted=False, is_fraud_flagged=False, credit_limit_minor=(100 - k) * 1_000_000_00))
    return list(ids)


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in Base.metadata.sorted_tables}


def _recorded(monkeypatch) -> list[tuple[int, str]]:
    """(partner id, outcome) of each decision `record` writes."""
    seen: list[tuple[int, str]] = []
    record = svc.record

    def noted(conn, who, decided, now):
        out = record(conn, who, decided, now)
        seen.append((decided.row.partner_id, out["status"]))
        return out

    monkeypatch.setattr(svc, "record", noted)
    return seen


def test_a_rehearsed_submit_is_decided_and_recorded_and_leaves_every_table_as_it_was(store, monkeypatch):
    partner_id, = _rehearsal_store(store)
    recorded = _recorded(monkeypatch)
    before = _row_counts(store)
    with store.connect() as conn:
        assert [rehearse_submit(conn, AS_OF) for _ in range(3)] == [True] * 3
        if store.dialect.name == "sqlite":  # its wait for the writer back to the store's own
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == sqlite_busy_timeout_ms()
    assert [p for p, _ in recorded] == [partner_id] * 3
    assert {status for _, status in recorded} <= {"pre_approved", "referred", "rejected"}
    assert _row_counts(store) == before  # every row it wrote taken back: users, parties, applications, decisions, audit


def test_a_store_without_an_able_partner_or_a_product_has_no_rehearsal(store, caplog):
    with store.connect() as conn, caplog.at_level("INFO", logger="autofin.api.warm"):
        assert rehearse_submit(conn, AS_OF) is False
    assert "no submit rehearsed: the store holds no able partner" in caplog.text


def test_a_rehearsal_gives_up_soon_when_the_sqlite_writer_is_held(sqlite_store, caplog):
    _rehearsal_store(sqlite_store)
    with write_transaction(sqlite_store), sqlite_store.connect() as conn:  # a night's step holding the writer
        started = time.perf_counter()
        with caplog.at_level("WARNING", logger="autofin.api.warm"):
            assert rehearse_submit(conn, AS_OF) is False
        assert time.perf_counter() - started < 10 * REHEARSAL_WAIT_MS / 1000  # not the store's 30 s busy timeout
        assert "the rehearsed submit did not run (OperationalError" in caplog.text and "locked" in caplog.text
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == sqlite_busy_timeout_ms()


@pytest.mark.postgres
def test_on_postgresql_a_rehearsal_takes_a_partner_whose_row_no_one_holds(pg_store, monkeypatch):
    first, second = _rehearsal_store(pg_store, able=2)  # the first has the higher limit
    recorded = _recorded(monkeypatch)
    with pg_store.connect() as holder, pg_store.connect() as conn:
        holder.execute(select(Partner.partner_id).where(Partner.partner_id == first).with_for_update())  # a submit being recorded
        started = time.perf_counter()
        assert rehearse_submit(conn, AS_OF) is True
        assert time.perf_counter() - started < 5
        holder.rollback()
        assert rehearse_submit(conn, AS_OF) is True
    assert [p for p, _ in recorded] == [second, first]
