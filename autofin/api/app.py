"""The entry API application: routers, error answers, the store.

Error answers, one shape per class of failure:
- 401 no or bad token (with WWW-Authenticate: Bearer); 403 the role or partner may not act;
- 404 not found, which is also the answer for an object outside a dealer's scope (no leak);
- 409 a state that does not allow the request (the current status and what it may become) or
  a conflict with the store (a duplicate);
- 413 a request body above its limit (256 KiB, 12 MiB for a multipart upload), refused before it
  is read whole; 413 / 415 an upload too large / of a type not accepted, refused before it is stored;
- 422 invalid input: `detail` is a list of {loc, msg, type}, `loc` ending in the field's name; the
  input itself is never echoed back.
"""

from __future__ import annotations

import copy
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from autofin.api.deps import Store, Unauthorized
from autofin.api.limits import BodyLimit
from autofin.api.public import HealthPublic
from autofin.api.routers import (
    applications,
    approval,
    collections,
    contracts,
    disbursements,
    parties,
    partners,
    postlease,
    reconciliation,
    reference,
    users,
)
from autofin.api.warm import warm_up
from autofin.domain.errors import DomainError, InputError, TransitionError
from autofin.origination.applications import Adapters, DocumentRefused
from autofin.origination.errors import Conflict, Forbidden, NotFound
from autofin.store.engine import get_engine
from autofin.store.migrate import require_current

DESCRIPTION = """The entry API of autofin: partners, customers, vehicles, applications, quotes and
pre-approval; tiered approval, contracts and e-signatures, disbursement; payments entered by hand,
early settlement and the post-lease exceptions with their approval chains; the collections workbench
(cases, contacts, promises, agencies, home visits, lawsuits, repossession and disposal, collection
costs and write-offs). Authenticate with `Authorization: Bearer <token>` (`autofin users add` prints one).
Create requests accept an `Idempotency-Key` header. Amounts are yuan as decimal strings."""


def _invalid(field: str, reason: str, status: int = 422) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": ["body", *field.split(".")], "msg": reason, "type": "value_error"}]}, status_code=status)


def create_app(engine: Engine | None = None, adapters: Adapters | None = None, *, serving: bool = False) -> FastAPI:
    """The entry API over `engine` (the configured store). `serving`: the app of an API server
    process (`serve`), which at its start also answers each of its routes once and freezes what it
    loaded out of the garbage collector's full passes (`warm.warm_up`)."""
    engine = engine or get_engine()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        require_current(engine)  # refuse to serve a store that is not migrated to the head
        await warm_up(app, engine, serving=serving)  # before the first request: see autofin.api.warm
        yield

    app = FastAPIOffline(title="autofin entry API", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.store = Store(engine, adapters or Adapters())
    for router in (users.router, partners.router, parties.customers, parties.vehicles, reference.router, applications.router,
                   approval.router, contracts.router, contracts.title_transfers, disbursements.router, disbursements.payouts,
                   postlease.payments_router, postlease.receipts_router, postlease.requests_router, collections.cases, collections.repossessions,
                   collections.lawsuits, collections.visits, reconciliation.breaks, reconciliation.unidentified):
        app.include_router(router)

    app.add_middleware(BodyLimit)

    @app.exception_handler(RequestValidationError)
    async def unreadable(_: Request, exc: RequestValidationError) -> JSONResponse:
        # where and why, never the input itself: it may be megabytes, or text no response can encode
        return JSONResponse({"detail": [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:500], "type": e.get("type", "value_error")}
                                        for e in exc.errors()[:50]]}, status_code=422)

    @app.get("/health", tags=["meta"])
    def health() -> HealthPublic:
        return HealthPublic(status="ok")

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(TransitionError)
    async def transition(_: Request, exc: TransitionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "current_status": exc.current, "allowed": list(exc.allowed)}, status_code=409)

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(IntegrityError)
    async def integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse({"detail": "a concurrent request changed the same object; nothing was written, retry"}, status_code=409)

    @app.exception_handler(OperationalError)
    async def busy(_: Request, exc: OperationalError) -> JSONResponse:
        # SQLite's writer lock held too long; PostgreSQL breaking a deadlock or a serialization conflict
        reason = str(exc.orig).lower()
        if any(word in reason for word in ("locked", "busy", "deadlock detected", "could not serialize")):
            return JSONResponse({"detail": "the store is busy; nothing was written, retry"}, status_code=503, headers={"Retry-After": "1"})
        if exc.connection_invalidated:  # PostgreSQL restarted, or the connection cut, while the request used it
            return JSONResponse({"detail": "the connection to the store was lost during the request; retry (a write sent again "
                                           "with its Idempotency-Key answers as the first did, if that one was written)"},
                                status_code=503, headers={"Retry-After": "1"})
        raise exc

    @app.exception_handler(InputError)
    async def invalid(_: Request, exc: InputError) -> JSONResponse:
        return _invalid(exc.field, exc.reason)

    @app.exception_handler(DocumentRefused)
    async def refused(_: Request, exc: DocumentRefused) -> JSONResponse:
        return _invalid("file", exc.reason, exc.status)

    @app.exception_handler(DomainError)
    async def domain(_: Request, exc: DomainError) -> JSONResponse:
        return _invalid("body", str(exc))

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    import uvicorn

    logs = server_log_config()
    if workers == 1:
        uvicorn.run(serving_app(), host=host, port=port, log_level="info", log_config=logs, access_log=False)
    else:  # each worker process builds its own app (and engine) from the factory
        uvicorn.run("autofin.api.app:serving_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                    log_config=logs, access_log=False)


def server_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with autofin's loggers added to its output, in its format:
    a server's log then also says what autofin's modules log at INFO and above (the warm-up's routes
    answered, a route that did not answer it as expected), not only uvicorn's lines."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["autofin"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def serving_app() -> FastAPI:
    """The app an API server process runs (uvicorn's factory)."""
    return create_app(serving=True)
