"""What every endpoint shares, as Annotated dependencies: the store (`StoreDep`), the caller
(`Caller`), the permission check (`requires(action)`, in the route's `dependencies`) and the
Idempotency-Key header (`IdempotencyKeyHeader`)."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, BinaryIO

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine

from autofin.api.idempotency import HEADER
from autofin.origination.access import ACTIONS, Principal
from autofin.origination.applications import Adapters
from autofin.origination.errors import Forbidden
from autofin.origination.users import authenticate
from autofin.settings import business_today
from autofin.store.engine import is_sqlite, write_transaction


class Unauthorized(Exception):
    """No token, or a token that is not a live user's (401)."""


@dataclass
class Store:
    """The API's handle on the transactional store and the outside services."""

    engine: Engine
    adapters: Adapters = field(default_factory=Adapters)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    today: Callable[[], date] = business_today

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A request's reads. On PostgreSQL without a transaction (autocommit): at READ COMMITTED
        each statement reads its own snapshot whether in a transaction or not, so a BEGIN and a
        COMMIT around the reads were two round trips that changed nothing (a submit's reads had
        two such pairs). Nor does a ROLLBACK end them, at which psycopg would forget every
        statement it prepared on the connection (PostgreSQL then parsed and planned every
        statement of every request afresh: 1.6 ms of its 5.7 ms of CPU a submit, at 20k contracts).
        On SQLite in one transaction ending in COMMIT, which is what gives its reads one snapshot
        of the store."""
        with self.engine.connect() as conn:
            sqlite = is_sqlite(conn)
            if not sqlite:
                conn.execution_options(isolation_level="AUTOCOMMIT")  # reset as the connection goes back to the pool
            yield conn
            if sqlite:
                conn.commit()

    _writer: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _queue: BinaryIO | None = field(default=None, repr=False)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One request's writes, its audit rows and its idempotency record: all or nothing.

        SQLite has one writer at a time. Request threads of this process queue on a lock for it,
        and the API's processes on an exclusive `flock` of a file beside the store (each woken the
        moment it is free) rather than in SQLite's busy handler, which sleeps in growing steps and
        turned a p50 of 7 ms into a p99 of 640 ms at 200 submits/s. Other programs (the nightly
        cycle, the command line) still meet the busy timeout."""
        if not is_sqlite(self.engine):
            with write_transaction(self.engine) as conn:
                yield conn
            return
        with self._writer, self._between_processes(), write_transaction(self.engine) as conn:
            yield conn

    @contextmanager
    def _between_processes(self) -> Iterator[None]:
        database = self.engine.url.database
        if not database or database == ":memory:":  # one process's own store
            yield
            return
        if self._queue is None:  # opened once a process (the in-process lock is held)
            self._queue = open(f"{database}.api-writers", "ab")  # noqa: SIM115 (held for the process's life)
        fcntl.flock(self._queue, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._queue, fcntl.LOCK_UN)


# A dependency that does no I/O is `async def`: FastAPI runs a plain `def` one in the thread pool.
async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]

bearer = HTTPBearer(auto_error=False, description="`autofin users add` prints a token")


def current_principal(store: StoreDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("send Authorization: Bearer <token>")
    with store.read() as conn:
        who = authenticate(conn, credentials.credentials)
    if who is None:
        raise Unauthorized("the token is not valid")
    return who


Caller = Annotated[Principal, Depends(current_principal)]
IdempotencyKeyHeader = Annotated[str | None, Header(alias=HEADER, description="a create sent again with the same key answers "
                                                                              "the first response instead of creating twice")]


@dataclass(frozen=True)
class Allowed:
    """A dependency: the caller, if their role may do `action` (else 403). The RBAC matrix test
    reads `action` from every write route."""

    action: str

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise KeyError(self.action)

    async def __call__(self, who: Caller) -> Principal:
        refusal = who.refusal(self.action)
        if refusal:
            raise Forbidden(refusal)
        return who


def requires(action: str) -> Any:
    """The route's permission, for its `dependencies=[...]` (a fastapi.params.Depends): the caller's
    role may do `action`. It runs before the body is read, so a caller without the permission
    learns nothing about it."""
    return Depends(Allowed(action))
