"""One night of the configured store with every statement and commit timed: where its time goes.

    AUTOFIN_DATA_DIR=<a copy of a store> python -m bench.night_profile --date 2026-11-22

Runs the night's steps as `autofin cycle run` does (`cycle.run_day`, the same context, the banks'
answers read ahead by reader processes) and prints, per step: its seconds, the seconds its
statements took to execute, the seconds its commit took, and its longest statements. A statement's
seconds are its execution only: the rows a SELECT hands back are fetched after it, and count as the
step's other time. A commit's seconds include SQLite's checkpoint, when the commit makes one (the
log past 1000 pages): the write-ahead log copied into the database and the disk waited for.

A step already done is skipped, as in the cycle: run it on a copy of the store, and flush the copy
to disk before (`sync`), or the first commit that waits for the disk also waits for the copy.
`--top` sets how many statements each step shows (those of `--min-ms`, a millisecond, or more); `--log` writes every statement with its start
(seconds from the night's start) and duration, in order, for reading the gaps between them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event


@dataclass
class Timed:
    """The statements (whitespace folded, cut at `width`) and commits timed since the last step."""

    width: int
    started: float = field(default_factory=time.perf_counter)
    by_statement: dict[str, list[float]] = field(default_factory=dict)  # statement → [calls, seconds]
    commits: float = 0.0
    log: list[tuple[float, float, str]] = field(default_factory=list)

    def add(self, statement: str, began: float, seconds: float) -> None:
        key = " ".join(statement.split())[: self.width]
        calls = self.by_statement.setdefault(key, [0, 0.0])
        calls[0] += 1
        calls[1] += seconds
        self.log.append((began - self.started, seconds, key))

    def add_commit(self, began: float, seconds: float) -> None:
        self.commits += seconds
        self.log.append((began - self.started, seconds, "COMMIT"))

    def take(self) -> tuple[dict[str, list[float]], float]:
        """What was timed since the last take, for one step."""
        taken = self.by_statement, self.commits
        self.by_statement, self.commits = {}, 0.0
        return taken


def time_statements(engine: Engine, timed: Timed) -> None:
    """Every statement and commit of `engine` added to `timed`."""

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        conn.info.setdefault("statement_began", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        began = conn.info["statement_began"].pop()
        timed.add(statement, began, time.perf_counter() - began)

    commit: Callable[[Any], None] = engine.dialect.do_commit

    def timed_commit(dbapi_connection: Any) -> None:
        began = time.perf_counter()
        try:
            commit(dbapi_connection)
        finally:
            timed.add_commit(began, time.perf_counter() - began)

    engine.dialect.do_commit = timed_commit  # type: ignore[method-assign]  # this engine's dialect only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--date", required=True, type=date.fromisoformat, help="the business date to run")
    parser.add_argument("--top", type=int, default=5, help="statements shown per step (default 5)")
    parser.add_argument("--min-ms", type=float, default=1.0, help="statements shown take at least this many milliseconds (default 1)")
    parser.add_argument("--width", type=int, default=150, help="characters of each statement shown (default 150)")
    parser.add_argument("--log", type=Path, help="write every statement, in order, to this file")
    args = parser.parse_args()

    from autofin.servicing.context import default_context
    from autofin.servicing.cycle import StepResult, run_day
    from autofin.store.engine import get_engine

    engine = get_engine()
    timed = Timed(args.width)
    time_statements(engine, timed)

    def show(result: StepResult) -> None:
        statements, commits = timed.take()
        if result.skipped:
            print(f"{result.step:<16} done before")
            return
        in_sql = sum(seconds for _, seconds in statements.values())
        print(f"{result.step:<16} {result.seconds:7.2f} s: statements {in_sql:6.2f} s, commit {commits:5.2f} s, "
              f"the rest {result.seconds - in_sql - commits:6.2f} s")
        longest = sorted(((s, n, k) for k, (n, s) in statements.items() if s * 1000 >= args.min_ms), reverse=True)[: args.top]
        for seconds, calls, key in longest:
            print(f"    {seconds:7.3f} s {int(calls):6d}x  {key}")

    started = time.perf_counter()
    run_day(engine, args.date, default_context(), on_step=show)
    print(f"night {time.perf_counter() - started:.2f} s (the process's start and end not counted)")
    if args.log:
        with args.log.open("w", encoding="utf-8") as fh:
            fh.writelines(f"{began:9.3f} {seconds:8.4f} {key}\n" for began, seconds, key in timed.log)


if __name__ == "__main__":  # the reader processes import this module as their main one: nothing runs then
    main()
