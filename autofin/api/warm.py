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
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from sqlalchemy import Engine, QueuePool
from sqlalchemy.orm import configure_mappers
from starlette.requests import Request
from starlette.responses import Response

from autofin import reference
from autofin.process import settle_imports
from autofin.settings import api_changes_at_once

F = TypeVar("F", bound=Callable[..., Any])


def warm_up(engine: Engine, *, freeze: bool) -> None:
    """Before the process answers: the mappers configured (SQLAlchemy's own advice for an
    application's start), what the services read from assets/ parsed (a file that does not parse
    stops the start, not the first submits; an edited file is still read again when it changes),
    and the pool's connections opened with the schema read. With `freeze` (a server process, whose
    objects so far live as long as it does; not a test's app, whose process goes on to make and drop
    others), everything loaded is then collected once and frozen out of the collector's full passes."""
    configure_mappers()
    reference.rule_set()
    reference.approval_matrix()
    reference.vehicle_models()
    with ExitStack() as held:  # all at once, so the pool keeps them
        for _ in range(engine.pool.size() if isinstance(engine.pool, QueuePool) else 1):
            held.enter_context(engine.connect()).exec_driver_sql("SELECT version_num FROM alembic_version").all()
    if freeze:
        settle_imports()


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
