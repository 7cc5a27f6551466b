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
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine, QueuePool
from sqlalchemy.orm import configure_mappers
from starlette.requests import Request
from starlette.responses import Response

from autofin import reference
from autofin.process import settle_imports
from autofin.settings import api_changes_at_once

F = TypeVar("F", bound=Callable[..., Any])


NO_USERS_TOKEN = "warm-up"  # a bearer token no user holds: `users.new_token` issues "af_" and 43 characters

log = logging.getLogger(__name__)


async def warm_up(app: FastAPI, engine: Engine, *, serving: bool) -> None:
    """Before the process answers: the mappers configured (SQLAlchemy's own advice for an
    application's start), what the services read from assets/ parsed (a file that does not parse
    stops the start, not the first submits; an edited file is still read again when it changes),
    and the pool's connections opened with the schema read. With `serving` (a server process, not a
    test's app, whose process goes on to make and drop others), every route is then answered once
    (`answer_each_route_once`), and everything loaded is collected once and frozen out of the
    collector's full passes: the objects so far live as long as the process."""
    configure_mappers()
    reference.rule_set()
    reference.approval_matrix()
    reference.vehicle_models()
    with ExitStack() as held:  # all at once, so the pool keeps them
        for _ in range(engine.pool.size() if isinstance(engine.pool, QueuePool) else 1):
            held.enter_context(engine.connect()).exec_driver_sql("SELECT version_num FROM alembic_version").all()
    if serving:
        started = time.perf_counter()
        answers = await answer_each_route_once(app)
        unexpected = {route: status for route, status in answers.items() if status != (200 if route == "GET /health" else 401)}
        if unexpected:  # a route that answers a stranger other than 401: said, but the process still serves
            log.warning("warm-up: routes that did not answer 401 to a token no user holds: %s", unexpected)
        log.info("warm-up: %d routes answered in %.0f ms", len(answers), 1000 * (time.perf_counter() - started))
        settle_imports()


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
