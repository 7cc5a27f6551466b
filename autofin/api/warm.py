"""A server process's requests paced: what it does before it answers (`warm_up`), and the route
class (`PacedRoute`) that lets each route's first request run alone and runs at most a few
requests that change the store at once.

A new process is cold. Its first request that uses the models configures every SQLAlchemy mapper
(40–60 ms); each route compiles its statements into the engine's statement cache on first use (a
submit: 11 statements, ~15 ms); a submit parses the rule set, the approval matrix and the vehicle
models (~5 ms); each pooled connection reads the schema on its first statement (2–3 ms); and the
first full garbage collection walks every object the imports made (200k objects, 90–100 ms, all
other threads stopped). Run singly that is one slow answer. Run by every request that arrives
before the first has answered, it is that work done many times at once on one GIL: at 200
submits/s the first half second of a new process's submits waited 300–600 ms (12-04), which was
the whole of the bench's p99 (after it: 10–25 ms).

The process's very first request also builds the app's middleware stack, and each route's first
request resolves its dependencies and its handler's path for the first time: a server process
that had answered nothing took 50–90 ms to reach its first submit's handler while the other
process took all the traffic (12-05, 1M store: with uvicorn's two workers, one took every request
of the bench's preparation and the other none). A server process therefore answers every route of
its schema once, in the process, before it accepts a connection (`answer_each_route_once`): with a
token no user holds, each protected route reads it, finds no user and answers 401.

That leaves what only a real submit does: its decision's and record's statements compiled, the
rules' first run, and on PostgreSQL each pooled connection's first statements on each table. A
new process's first submit still took 28–33 ms and the next four 10–15 ms, against 8–9 ms (12-05, a
50k PostgreSQL store). Before it answers, a server process therefore rehearses a submit on each
pooled connection, in a transaction rolled back (`rehearse_submit`).

When that first answer came, the 20–25 requests that had waited for it ran at once: each thread's
reads took 40–130 ms on the shared GIL, and the writer's lock went to threads that then had to win
the GIL back from the readers. A change (a POST, PUT, PATCH or DELETE) now waits in the event loop
until fewer than `settings.api_changes_at_once()` (4) run in the process, in order of arrival: the
early ones finish first instead of all finishing late. A request waiting there holds no thread, so
requests stuck on a store held by the nightly cycle keep at most four threads, and reads (GET, and
the routes marked `reads_only`) are never held behind them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Connection, Engine, QueuePool, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers
from starlette.requests import Request
from starlette.responses import Response

from autofin import reference
from autofin.domain.identity import ric_check_digit, with_vin_check_digit
from autofin.origination import applications as svc
from autofin.origination.access import Principal
from autofin.origination.errors import REFUSALS
from autofin.origination.parties import create_customer, create_vehicle
from autofin.origination.users import add_user
from autofin.process import settle_imports
from autofin.reference import vehicle_models
from autofin.settings import api_changes_at_once, business_today, sqlite_busy_timeout_ms
from autofin.store.engine import is_sqlite
from autofin.store.models import Document, Partner
from autofin.store.products import current_versions

F = TypeVar("F", bound=Callable[..., Any])


NO_USERS_TOKEN = "warm-up"  # a bearer token no user holds: `users.new_token` issues "af_" and 43 characters

log = logging.getLogger(__name__)


async def warm_up(app: FastAPI, engine: Engine, *, serving: bool) -> None:
    """Before the process answers: the mappers configured (SQLAlchemy's own advice for an
    application's start), what the services read from assets/ parsed (a file that does not parse
    stops the start, not the first submits; an edited file is still read again when it changes),
    and the pool's connections opened with the schema read. With `serving` (a server process, not a
    test's app, whose process goes on to make and drop others), a submit is rehearsed on each pooled
    connection (`rehearse_submit`), every route is then answered once (`answer_each_route_once`),
    and everything loaded is collected once and frozen out of the
    collector's full passes: the objects so far live as long as the process."""
    configure_mappers()
    reference.rule_set()
    reference.approval_matrix()
    reference.vehicle_models()
    with ExitStack() as held:  # all at once, so the pool keeps them
        pooled = [held.enter_context(engine.connect()) for _ in range(engine.pool.size() if isinstance(engine.pool, QueuePool) else 1)]
        for conn in pooled:
            conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
            conn.commit()  # a read: ends the transaction it began
        if serving:
            started = time.perf_counter()
            rehearsed = sum(rehearse_submit(conn) for conn in pooled)
            log.info("warm-up: a submit rehearsed on %d of %d pooled connections in %.0f ms", rehearsed, len(pooled),
                     1000 * (time.perf_counter() - started))
    if serving:
        started = time.perf_counter()
        answers = await answer_each_route_once(app)
        unexpected = {route: status for route, status in answers.items() if status != (200 if route == "GET /health" else 401)}
        if unexpected:  # a route that answers a stranger other than 401: said, but the process still serves
            log.warning("warm-up: routes that did not answer 401 to a token no user holds: %s", unexpected)
        log.info("warm-up: %d routes answered in %.0f ms", len(answers), 1000 * (time.perf_counter() - started))
        settle_imports()


REHEARSAL_WAIT_MS = 250  # how long a rehearsal waits for a lock (SQLite's writer, a partner's row) before it gives up
_CANNOT_REHEARSE: tuple[type[Exception], ...] = (SQLAlchemyError, *REFUSALS)  # the store's errors and the services' refusals


def rehearse_submit(conn: Connection, today: date | None = None) -> bool:
    """A submit run from end to end on `conn` (outside a transaction), in a transaction that is
    rolled back (`_rehearsal`). What a process's first submits each paid is paid here, before it answers: on PostgreSQL
    (12-05, a 50k store) a new process's first submit took 28-33 ms and each of the next four, on a
    pooled connection of its own, 10-15 ms, against 8-9 ms; at 200 submits/s on two cores the
    queue behind them took the first half second of a worker that had served nothing to drain.
    Nothing stays: the rollback takes every row back (PostgreSQL keeps the sequence numbers it
    handed out).

    Waits at most REHEARSAL_WAIT_MS for a lock (a writer holding SQLite, a partner's row locked by
    a submit). Returns whether it ran. One that cannot (no able partner or no product in the store,
    a lock held, a refusal of the rules) is logged and skipped, and the process starts as cold as
    before; an error that is not a refusal nor the store's is a bug and stops the start."""
    sqlite = is_sqlite(conn)
    if sqlite:
        _busy_timeout(conn, REHEARSAL_WAIT_MS)
    transaction = conn.begin()
    try:
        if not sqlite:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{REHEARSAL_WAIT_MS}ms'")
        return _rehearsal(conn, today or business_today(), datetime.now(UTC))
    except _CANNOT_REHEARSE as exc:
        log.warning("warm-up: the rehearsed submit did not run (%s: %s); this process's first submits pay for it",
                    type(exc).__name__, (str(exc).splitlines() or [""])[0][:200])
        return False
    finally:
        transaction.rollback()
        if sqlite:
            _busy_timeout(conn, sqlite_busy_timeout_ms())


def _busy_timeout(conn: Connection, ms: int) -> None:
    """How long SQLite waits for its writer on this connection, set outside a transaction."""
    conn.exec_driver_sql(f"PRAGMA busy_timeout={int(ms)}")
    conn.commit()  # the PRAGMA began one (the store's BEGIN on SQLite's first statement)


def _rehearsal(conn: Connection, today: date, now: datetime) -> bool:
    """The rehearsed submit: a user, a customer, a vehicle (the cheapest model, new, at its
    reference price), a draft application (a loan product without balloon where there is one) and
    its required documents (their rows only, no files), against the able partner with the highest
    limit whose row no one holds; then decided with the simulated bureau and watchlist, never an
    outside service, and recorded: the route's `decide` and `record`."""
    partner = conn.execute(
        select(Partner.partner_code).where(Partner.status == "active", Partner.is_blacklisted.is_(False), Partner.is_fraud_flagged.is_(False))
        .order_by(Partner.credit_limit_minor.desc(), Partner.partner_code).limit(1)
        # on PostgreSQL one whose row no one holds (another process's rehearsal, a submit being recorded),
        # held until the rollback; SQLite has no row locks and one writer
        .with_for_update(skip_locked=True)).scalar()
    products = sorted((terms for _, terms in current_versions(conn).values()),
                      key=lambda t: (t.business_type != "loan", t.balloon_pct is not None, t.code))
    if partner is None or not products:
        log.info("warm-up: no submit rehearsed: the store holds no %s", "able partner" if partner is None else "product")
        return False
    product, stamp = products[0], uuid.uuid4().int
    username = f"warm-up-{stamp % 16**12:012x}"
    user_id, _ = add_user(conn, username, "sales", by="warm-up")
    who = Principal(user_id, username, "sales", None)
    first17 = f"110101{today.year - 40:04d}0101{stamp % 1000:03d}"
    customer = create_customer(conn, who, kind="individual", name="预演", id_number=first17 + ric_check_digit(first17),
                               mobile=f"139{stamp % 10**8:08d}", city=None, today=today)
    code, model = min(vehicle_models().items(), key=lambda m: (m[1]["price_min"], m[0]))
    draft = f"{model['wmi']}WARM00R{stamp % 10**7:07d}"
    vehicle = create_vehicle(conn, who, vin=with_vin_check_digit(draft), model_code=code, condition="new",
                             price=model["price_min"], inventory_status="in_stock", partner_code=partner, branch=None)
    row = svc.create_application(conn, who, today=today, request=svc.ApplicationRequest(
        product_code=product.code, term_months=product.term_months[0], down_payment_pct=max(product.min_down_payment_pct, Decimal(30)),
        customer_id=customer.customer_id, vehicle_id=vehicle.vehicle_id, partner_code=partner, monthly_income=Decimal(30000)))
    conn.execute(insert(Document), [
        {"application_id": row.application_id, "doc_type": doc_type, "file_name": "warm-up", "content_type": "image/jpeg", "size_bytes": 0,
         "sha256": "0" * 64, "uploaded_by": user_id} for doc_type in svc.REQUIRED_DOCUMENTS["individual"]])
    svc.record(conn, who, svc.decide(conn, who, row, now, today, svc.Adapters()), now)
    return True


async def answer_each_route_once(app: FastAPI) -> dict[str, int]:
    """Every operation of the app's OpenAPI schema requested once through the app itself (in the
    process, no socket), each path parameter 0, no body, and the bearer token `NO_USERS_TOKEN`:
    a protected route reads the token, finds no user and answers 401; GET /health answers 200.
    What the process's first requests would each have paid is paid here, one request at a time:
    the middleware stack built, each route's dependencies and exception handlers run, the token's
    statement compiled and the pooled connections used from the thread pool. Returns each
    operation ("POST /applications/{application_no}/submit") with its status."""
    answers: dict[str, int] = {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a route that fails answers 500, it does not stop the start
    async with httpx.AsyncClient(transport=transport, base_url="http://warm-up") as client:
        for path, operations in app.openapi()["paths"].items():
            for method in operations:
                response = await client.request(method.upper(), re.sub(r"\{[^}/]+\}", "0", path),
                                                headers={"Authorization": f"Bearer {NO_USERS_TOKEN}"})
                answers[f"{method.upper()} {path}"] = response.status_code
    return answers


def reads_only(endpoint: F) -> F:
    """Marks the endpoint of a POST that changes nothing (a quote): it is not held behind the changes."""
    endpoint.__dict__["reads_only"] = True
    return endpoint


def _change_slots(request: Request) -> asyncio.Semaphore:
    """The app's turns for changes, in the running event loop (a test runs one app in several)."""
    loop = asyncio.get_running_loop()
    slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = getattr(request.app.state, "change_slots", None)
    if slots is None or slots[0] is not loop:
        slots = (loop, asyncio.Semaphore(api_changes_at_once()))
        request.app.state.change_slots = slots
    return slots[1]


class PacedRoute(APIRoute):
    """A route whose first request in a process runs alone: requests that arrive meanwhile wait for
    its answer in the event loop (no thread, no CPU), then run on the statements it compiled.
    Whatever the first answer was (a refusal may have stopped before the route's statements), the
    route is open after it. A request that changes the store, its route's first too, takes its turn
    among the process's changes (`_change_slots`); a read runs at once."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        first: asyncio.Event | None = None  # made by the first request (in the process's event loop), set when it has answered
        changes = bool((self.methods or set()) - {"GET", "HEAD"}) and not getattr(self.endpoint, "reads_only", False)

        async def paced(request: Request) -> Response:
            if not changes:
                return await handle(request)
            async with _change_slots(request):
                return await handle(request)

        async def handler(request: Request) -> Response:
            nonlocal first
            if first is None:
                first = asyncio.Event()
                try:
                    return await paced(request)
                finally:
                    first.set()
            await first.wait()
            return await paced(request)

        return handler
