"""The nightly cycle: its steps in order, and the runner that makes each one atomic and idempotent.

`run_step` opens one write transaction, returns at once if the step's done-mark for the date
exists, otherwise runs the step and writes its mark in the same transaction: a re-run changes
nothing, and a step killed half-way leaves nothing behind. `run_day` runs the steps of one
business date in order (the per-contract steps optionally as parallel contract shards, see
shards.py); `catch_up` runs every date after the last closed one, in order.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.exc import OperationalError

from autofin.domain.errors import DomainError
from autofin.servicing.shards import SHARDED_STEPS
from autofin.settings import BUSINESS_TZ, business_today
from autofin.servicing.shards import split as split_shards
from autofin.store.engine import write_transaction
from autofin.store.migrate import require_current
from autofin.store.models import BusinessDay, StepRun

log = logging.getLogger("autofin.cycle")

StepFn = Callable[[Connection, date, "StepContext"], dict[str, Any]]


class DayNotReadyError(DomainError):
    """The previous business date is not closed: catch up in order."""


class DayNotEndedError(DomainError):
    """The business date has not ended in the business time zone: it cannot be closed yet."""


class BeforeCutOverError(DomainError):
    """The business date is on or before the book's cut-over: the cycle never runs it."""


class StoreBusyError(DomainError):
    """Another writer held the store past the busy timeout: the step wrote nothing; run it again."""


class CheckFailedError(DomainError):
    """A control check failed: the day stays open and the cycle stops loudly."""


@dataclass
class StepContext:
    """What the steps need from outside the store: reference data and the bank side."""

    calendar: Any
    templates: Any
    banks: dict[str, Any] = field(default_factory=dict)
    bank_root: Any = None
    transport_for: Callable[[Any], Any] | None = None
    export_dir: Any = None
    shard: str = "all"
    # file moves and other effects outside the store, run only once the step's transaction commits
    after_commit: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class StepResult:
    step: str
    business_date: date
    counts: dict[str, Any]
    seconds: float
    skipped: bool  # already done before this run


_STEPS: dict[str, StepFn] = {}


def step(name: str) -> Callable[[StepFn], StepFn]:
    def register(fn: StepFn) -> StepFn:
        _STEPS[name] = fn
        return fn

    return register


def steps() -> dict[str, StepFn]:
    import autofin.servicing.steps  # noqa: F401  (imports every step module, which registers its steps)

    missing = [name for name in STEP_ORDER if name not in _STEPS]
    if missing:
        raise DomainError(f"cycle steps without an implementation: {', '.join(missing)}")
    return {name: _STEPS[name] for name in STEP_ORDER}


STEP_ORDER = (
    "business_day",
    "billing",
    "delinquency",
    "penalties",
    "debit_orders",
    "bank_upload",
    "bank_returns",
    "allocation",
    "reconciliation",
    "vouchers",
    "voucher_export",
    "day_close",
)


def step_done(conn: Connection, name: str, d: date, shard: str = "all") -> dict[str, Any] | None:
    """The counts of the step's run for the date, if done: whole, or for this shard (a step done
    whole is done for every shard)."""
    row = conn.execute(
        select(StepRun.counts).where(StepRun.step == name, StepRun.business_date == d, StepRun.shard.in_((shard, "all")))
    ).first()
    return None if row is None else (row[0] or {})


def _failpoint(name: str) -> None:
    """Test hook: AUTOFIN_FAILPOINT=<step> kills this process with SIGKILL inside that step, after
    its work and before its commit; <step>:committed right after its commit, before its effects
    outside the store (file moves). The fault suite proves a re-run then loses and doubles nothing."""
    if os.environ.get("AUTOFIN_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def run_step(engine: Engine, name: str, d: date, ctx: StepContext) -> StepResult:
    fn = steps()[name]
    if ctx.shard != "all" and name not in SHARDED_STEPS:
        raise DomainError(f"{name} runs whole (per bank or over the ledger); only {', '.join(SHARDED_STEPS)} run in shards")
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc)
    ctx.after_commit.clear()
    try:
        with write_transaction(engine) as conn:
            done = step_done(conn, name, d, ctx.shard)
            if done is not None:
                return StepResult(name, d, done, 0.0, skipped=True)
            counts = fn(conn, d, ctx)
            _failpoint(name)
            conn.execute(
                insert(StepRun).values(step=name, business_date=d, shard=ctx.shard, status="done", counts=counts, started_at=started_at)
            )
    except OperationalError as exc:
        if "locked" not in str(exc.orig).lower() and "busy" not in str(exc.orig).lower():
            raise
        raise StoreBusyError(f"{d} {name}: the store was locked by another writer for longer than the busy timeout; "
                             "nothing of this step was written, run it again") from None
    _failpoint(f"{name}:committed")
    for effect in ctx.after_commit:
        effect()
    ctx.after_commit.clear()
    seconds = time.perf_counter() - started
    log.info("%s %s: %s (%.2fs)", d, name, counts, seconds)
    return StepResult(name, d, counts, seconds, skipped=False)


def run_day(engine: Engine, d: date, ctx: StepContext, *, on_step: Callable[[StepResult], None] | None = None,
            shards: int = 1) -> list[StepResult]:
    """Every step of D in order. With shards > 1 the sharded steps run as that many shards at the
    same time (threads, each its own connection and transaction: on PostgreSQL they run in
    parallel; on SQLite they queue for the one writer)."""
    require_current(engine)
    results = []
    for name in STEP_ORDER:
        result = run_step(engine, name, d, ctx) if shards == 1 or name not in SHARDED_STEPS else run_shards(engine, name, d, ctx, shards)
        results.append(result)
        if on_step:
            on_step(result)
    return results


def run_shards(engine: Engine, name: str, d: date, ctx: StepContext, count: int) -> StepResult:
    """One step of D as `count` shards run side by side; the result carries each shard's counts."""
    started = time.perf_counter()
    parts = split_shards(count)
    with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix=f"{name}-shard") as pool:
        futures = [pool.submit(run_step, engine, name, d, replace(ctx, shard=s.key, after_commit=[])) for s in parts]
        done = [f.result() for f in futures]  # the first failure is raised, once all have finished
    return StepResult(name, d, {"shards": {s.key: r.counts for s, r in zip(parts, done)}}, time.perf_counter() - started,
                      skipped=all(r.skipped for r in done))


def last_closed_day(conn: Connection) -> date | None:
    return conn.execute(select(func.max(BusinessDay.business_date)).where(BusinessDay.status == "closed")).scalar()


def cut_over(conn: Connection) -> date | None:
    """The book's cut-over: the first business date the store knows (closed when the book was loaded)."""
    return conn.execute(select(func.min(BusinessDay.business_date))).scalar()


def require_runnable(conn: Connection, d: date) -> None:
    """D may be run: it has ended in the business time zone (Asia/Shanghai; AUTOFIN_SIMULATED_TODAY
    for simulations) and lies after the book's cut-over."""
    today = business_today()
    if d >= today:
        raise DayNotEndedError(f"{d} has not ended in {BUSINESS_TZ.key} (today is {today}): the latest business date that can run is "
                               f"{today - timedelta(days=1)}. Simulations that run ahead set AUTOFIN_SIMULATED_TODAY")
    first = cut_over(conn)
    if first is None:
        raise DayNotReadyError("no business day has ever been closed: load or seed a book first")
    if d <= first:
        raise BeforeCutOverError(f"{d} is not after the book's cut-over on {first}: the cycle runs from {first + timedelta(days=1)} on")


def catch_up(engine: Engine, to: date, ctx: StepContext, *, on_step: Callable[[StepResult], None] | None = None,
             shards: int = 1) -> list[date]:
    require_current(engine)
    with engine.connect() as conn:
        last = last_closed_day(conn)
        if last is None:
            raise DayNotReadyError("no business day has ever been closed: load or seed a book first")
        if to > last:
            require_runnable(conn, to)  # refused whole, before any day runs
    days = []
    d = last + timedelta(days=1)
    while d <= to:
        run_day(engine, d, ctx, on_step=on_step, shards=shards)
        days.append(d)
        d += timedelta(days=1)
    return days


def status(conn: Connection, limit: int = 10) -> list[tuple[date, str, int]]:
    """The latest business days: date, status, steps done."""
    return [
        (d if isinstance(d, date) else date.fromisoformat(d), s, int(n))
        for d, s, n in conn.execute(
            text(
                "SELECT b.business_date, b.status, (SELECT COUNT(DISTINCT r.step) FROM step_run r WHERE r.business_date = b.business_date) "
                "FROM business_day b ORDER BY b.business_date DESC LIMIT :n"
            ),
            {"n": limit},
        )
    ]


@step("business_day")
def open_business_day(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    require_runnable(conn, d)
    previous = d - timedelta(days=1)
    prev = conn.execute(select(BusinessDay.status).where(BusinessDay.business_date == previous)).scalar()
    if prev != "closed":
        raise DayNotReadyError(f"{previous.isoformat()} is not closed ({prev or 'never opened'}): run `autofin cycle catch-up --to {d}`")
    conn.execute(insert(BusinessDay).values(business_date=d, status="open"))
    bank_day = ctx.calendar.is_business_day(d, strict=True)
    return {"business_date": d.isoformat(), "bank_business_day": bank_day}


def is_bank_day(conn: Connection, d: date) -> bool:
    counts = step_done(conn, "business_day", d) or {}
    return bool(counts.get("bank_business_day"))
