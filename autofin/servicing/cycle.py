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
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.exc import OperationalError

from autofin.domain.errors import DomainError
from autofin.servicing import allocation, banking, billing, close, collections, delinquency, payouts, penalties, reconciliation
from autofin.servicing.context import StepContext, StepFn
from autofin.servicing.days import DayNotReadyError, last_closed_day, open_business_day, require_runnable
from autofin.servicing.shards import SHARDED_STEPS
from autofin.servicing.shards import split as split_shards
from autofin.store.engine import as_date, write_transaction
from autofin.store.migrate import require_current
from autofin.store.models import StepRun

log = logging.getLogger("autofin.cycle")

class StoreBusyError(DomainError):
    """Another writer held the store past the busy timeout: the step wrote nothing; run it again."""


@dataclass
class StepResult:
    step: str
    business_date: date
    counts: dict[str, Any]
    seconds: float
    skipped: bool  # already done before this run


# The night, in order: each step one function of (connection, business date, context). Sharded
# steps (shards.py) may run as several contract shards side by side.
STEPS: tuple[tuple[str, StepFn], ...] = (
    ("business_day", open_business_day),
    ("billing", billing.bill_instalments),
    ("delinquency", delinquency.age_arrears),
    ("penalties", penalties.accrue_penalties),
    ("debit_orders", banking.create_debit_orders),
    ("payout_files", payouts.write_payout_files),
    ("bank_upload", banking.upload_files),
    ("bank_returns", banking.apply_bank_answers),
    ("allocation", allocation.allocate_receipts),
    ("reconciliation", reconciliation.reconcile),
    ("collections", collections.work_cases),
    ("vouchers", close.ensure_vouchers),
    ("voucher_export", close.export_vouchers),
    ("day_close", close.close_day),
    ("letters", collections.send_letters),
)
STEP_ORDER = tuple(name for name, _ in STEPS)
_BY_NAME = dict(STEPS)
# Steps whose every reference is read by a join in the step and held by the step's own counts
# (allocation.py and banking._write_files say how): on SQLite they run without its per-row check of
# each reference written (store.engine.write_transaction). At 1M, the worst Tuesday's allocation
# 2.9-4.3 s shorter, the worst Monday's debit orders about 0.7 s. Every other step keeps SQLite's
# check; PostgreSQL checks every step.
REFERENCES_HELD_BY_THE_STEP = frozenset({"allocation", "debit_orders"})


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
    fn = _BY_NAME[name]
    if ctx.shard != "all" and name not in SHARDED_STEPS:
        raise DomainError(f"{name} runs whole (per bank or over the ledger); only {', '.join(SHARDED_STEPS)} run in shards")
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    ctx.after_commit.clear()
    try:
        with write_transaction(engine, references_checked=name not in REFERENCES_HELD_BY_THE_STEP) as conn:
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
    try:
        for name in STEP_ORDER:
            result = run_step(engine, name, d, ctx) if shards == 1 or name not in SHARDED_STEPS else run_shards(engine, name, d, ctx, shards)
            results.append(result)
            if on_step:
                on_step(result)
            if name == "business_day":
                begin_night(engine, d, ctx)
    finally:
        banking.stop_reading_ahead()  # a night that stopped before its answers' step
    return results


def begin_night(engine: Engine, d: date, ctx: StepContext) -> None:
    """What D's night starts once its business day is open, in the process that runs its steps: the
    banks' answers fetched and read while the steps before theirs run (`banking.read_answers_ahead`),
    unless the answers' step is done."""
    with engine.connect() as conn:
        if step_done(conn, "bank_returns", d) is not None:
            return
    banking.read_answers_ahead(d, ctx)


def run_shards(engine: Engine, name: str, d: date, ctx: StepContext, count: int) -> StepResult:
    """One step of D as `count` shards run side by side; the result carries each shard's counts."""
    started = time.perf_counter()
    parts = split_shards(count)
    with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix=f"{name}-shard") as pool:
        futures = [pool.submit(run_step, engine, name, d, replace(ctx, shard=s.key, after_commit=[])) for s in parts]
        done = [f.result() for f in futures]  # the first failure is raised, once all have finished
    return StepResult(name, d, {"shards": {s.key: r.counts for s, r in zip(parts, done, strict=False)}}, time.perf_counter() - started,
                      skipped=all(r.skipped for r in done))


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
        (as_date(d), s, int(n))
        for d, s, n in conn.execute(
            text(
                "SELECT b.business_date, b.status, (SELECT COUNT(DISTINCT r.step) FROM step_run r WHERE r.business_date = b.business_date) "
                "FROM business_day b ORDER BY b.business_date DESC LIMIT :n"
            ),
            {"n": limit},
        )
    ]
