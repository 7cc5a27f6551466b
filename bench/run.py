"""`make bench`: the scale benchmark. Prints a table and appends it to bench/results.md.

Each phase runs as its own `autofin` subprocess against a fresh store, so its wall time and its
peak resident memory (from os.wait4) are its own. BENCH_N (default 1,000,000) sets the book
size; BENCH_DB=postgres runs against a real PostgreSQL server started on loopback.

Three books:
- The typical book (a realistic mix of due days): seeding; the first night after the cut-over
  (it exports the migrated book's opening vouchers); a Sunday; the Monday the weekend's debits
  go out and the Tuesday their answers come back (the simulated banks answer in between,
  untimed); a typical Wednesday; a 7-day catch-up; the full-book check; the book summary; the
  reports; the entry API's submit latency at 200 requests/s over the same store (bench/api_load.py).
  On PostgreSQL the Tuesday also runs on a copy of the store as 2 contract shards side by side.
- The one-due-day book (BENCH_WORST=0 leaves it out): BENCH_N contracts that all fall due on the
  23rd (固定还款日), so the Monday writes and uploads a debit for nearly every contract and the
  Tuesday reads, applies, allocates, posts and closes an answer for each: the worst nights.
- The history book (BENCH_HISTORY_N contracts, default 20,000, over BENCH_MONTHS months, default
  24; BENCH_MONTHS=0 leaves it out): every night of the months with the banks answering, in one
  process (bench/history.py); a weekday of the first month against one of the last.
Every single night runs on time, its clock the morning after it; the catch-up runs its 7 nights the
morning after the last, as an operator would after an outage. Debit-file and return-ingestion rates
come from the steps' own timings, the returns' with the seconds their files took to fetch at the
night's start (the returns also show the reading alone: every record of every file, a settled debit
being in three of them).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.md"
SIMULATED_TODAY = "2026-12-03"  # the clock of everything but the single nights: the catch-up runs to 12-02 the morning after
AS_OF = "2026-11-20"
API_SUBMITS = 2000  # 10 s at 200 submits/s


@dataclass
class Phase:
    name: str
    seconds: float
    peak_rss_mib: float
    items: int
    unit: str
    target: str = ""
    cached: float | None = None  # a night's: the share of the SQLite store in the page cache as it began (store_cached)

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


def run_phase(name: str, args: list[str], env: dict, items: int = 0, unit: str = "", target: str = "",
              module: list[str] | None = None) -> Phase:
    """One phase as its own process: `autofin <args>`, or `python -m <module...>`."""
    argv = module or ["autofin.cli", *args]
    print(f"[bench] {name}: python -m {' '.join(argv)}", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", *argv], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"[bench] {name} failed with exit {code}")
    return Phase(name, seconds, usage.ru_maxrss / 1024, items, unit, target)


def cycle_day(d: str, env: dict, workdir: Path, shards: int = 1) -> tuple[Phase, list[dict]]:
    timings = workdir / f"timings-{Path(env['AUTOFIN_DATA_DIR']).name}-{d}-{shards}.json"  # one file per book and night
    label = f"cycle day {d}" + (f", {shards} shards" if shards > 1 else "")
    # run on time, the morning after, as the schedule runs it: a night run later is a catch-up, which
    # gives no reminder whose moment has passed (the bench's catch-up is its own phase)
    env = {**env, "AUTOFIN_SIMULATED_TODAY": (date.fromisoformat(d) + timedelta(days=1)).isoformat()}
    # the night's own cost: the report to the Dagster UI's instance (2 s of importing Dagster) is left
    # to its store_runs sensor, as when Dagster runs the night itself
    cached = store_cached(env)
    phase = run_phase(label, ["cycle", "run", "--date", d, "--timings", str(timings), "--shards", str(shards), "--no-report-to-dagster"], env)
    phase.cached = cached
    return phase, json.loads(timings.read_text())


def store_cached(env: dict) -> float | None:
    """The share of the SQLite store's file in the kernel's page cache (util-linux's fincore), or None
    (PostgreSQL; no fincore). A night whose store was partly evicted reads it back from the disk: this
    workplace's machines page out what no one has touched for about a minute (DAMON, `pageout` of pages
    12 × 5 s unaccessed), and the 1M Sunday took 7.6–8.6 s on copies partly evicted (3.8 of 5.5 GB
    cached after the night) against 5.3–5.9 s on copies read whole into the cache first (12-05 04:00)."""
    store = Path(env["AUTOFIN_DATA_DIR"]) / "autofin.db"
    if "AUTOFIN_DATABASE_URL" in env or not store.exists() or shutil.which("fincore") is None:
        return None
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES,SIZE", str(store)],
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) / int(out[1]) if len(out) == 2 and int(out[1]) else None


def to_the_close(phase: Phase, steps: list[dict]) -> Phase | None:
    """The night to its day close: the letters step after the close (the mailing house's print file,
    which holds nothing open) comes off the phase and is returned as its own line, if it printed any."""
    letters = next((s for s in steps if s["step"] == "letters"), None)
    if letters is None or not letters["counts"].get("letters"):
        return None
    phase.seconds -= letters["seconds"]
    return Phase(f"  then the default notice letters printed after the close ({letters['counts']['letters']:,})", letters["seconds"], 0,
                 letters["counts"]["letters"], "letters", "")


def sharded_copy(server, env: dict, workdir: Path) -> dict:  # noqa: ANN001
    """A copy of the PostgreSQL store and of the bank folders, to run the same day in shards."""
    subprocess.run(["runuser", "-u", "postgres", "--", str(server.bindir / "createdb"), "-h", str(server.root), "-p", str(server.port),
                    "-T", "autofin_bench", "autofin_bench_shards"], check=True)
    shutil.copytree(Path(env["AUTOFIN_BANK_DIR"]), workdir / "bank_files_shards")
    return {**env, "AUTOFIN_DATABASE_URL": server.url("autofin_bench_shards"), "AUTOFIN_BANK_DIR": str(workdir / "bank_files_shards")}


def simulate_banks(d: str, env: dict) -> None:
    for code in ("BOC", "ICBC"):
        subprocess.run([sys.executable, "-m", "autofin.cli", "bank", "simulate", "--bank", code, "--date", d], env=env, check=True,
                       stdout=subprocess.DEVNULL)


def versions() -> str:
    import numpy
    import sqlalchemy

    sqlite = subprocess.run([sys.executable, "-c", "import sqlite3; print(sqlite3.sqlite_version)"], capture_output=True, text=True).stdout.strip()
    return f"Python {platform.python_version()}, SQLite {sqlite}, SQLAlchemy {sqlalchemy.__version__}, NumPy {numpy.__version__}"


def memory_gib() -> float:
    with open("/proc/meminfo") as fh:
        kib = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
    return kib / 1024 / 1024


def store_env(workdir: Path, server, name: str) -> dict:  # noqa: ANN001
    """The environment of one book: its data folder, its bank folder and (on PostgreSQL) its database."""
    root = workdir / name
    env = {**os.environ, "AUTOFIN_DATA_DIR": str(root), "AUTOFIN_BANK_DIR": str(root / "bank_files"),
           "AUTOFIN_SIMULATED_TODAY": SIMULATED_TODAY}
    if server is not None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(server.bindir / "createdb"), "-h", str(server.root), "-p", str(server.port),
                        f"autofin_{name}"], check=True)
        env["AUTOFIN_DATABASE_URL"] = server.url(f"autofin_{name}")
    return env


def typical_book(n: int, env: dict, workdir: Path, server, db: str) -> tuple[list[Phase], list[str]]:  # noqa: ANN001
    phases = [
        run_phase("migrate", ["db", "upgrade"], env),
        run_phase("products sync", ["products", "sync"], env),
        run_phase("seed", ["demo", "seed", "--contracts", str(n), "--as-of", AS_OF, "--seed", "7"], env, n, "contracts",
                  "1M ≤ 600 s, 100k ≤ 60 s, RSS ≤ 4 GiB"),
    ]
    first, _ = cycle_day("2026-11-21", env, workdir)
    first.name = "first night after the cut-over 2026-11-21 (exports the migrated book's opening vouchers)"
    sunday, sunday_steps = cycle_day("2026-11-22", env, workdir)
    sunday.name, sunday.target = "a weekend day 2026-11-22 (Sunday)", "1M ≤ 5 s"
    monday, monday_steps = cycle_day("2026-11-23", env, workdir)
    monday.name = "Monday 2026-11-23: the weekend's dues billed, debits out"
    simulate_banks("2026-11-23", env)
    shards_env = sharded_copy(server, env, workdir) if server is not None else None
    tuesday, tuesday_steps = cycle_day("2026-11-24", env, workdir)
    tuesday.name = "Tuesday 2026-11-24: Monday's answers in"
    for night, steps in ((first, []), (sunday, sunday_steps), (monday, monday_steps), (tuesday, tuesday_steps)):
        phases.append(night)
        letters = to_the_close(night, steps)
        if letters:
            phases.append(letters)
    if shards_env is not None:  # the same Tuesday on a copy of the store, as 2 contract shards side by side
        tuesday_2, tuesday_2_steps = cycle_day("2026-11-24", shards_env, workdir, shards=2)
        tuesday_2.name, tuesday_2.target = "Tuesday 2026-11-24 as 2 contract shards side by side", "PostgreSQL ≤ 60 s"
        phases.append(tuesday_2)
        letters = to_the_close(tuesday_2, tuesday_2_steps)  # to its close, as every other night
        if letters:
            phases.append(letters)
    simulate_banks("2026-11-24", env)
    wednesday, wednesday_steps = cycle_day("2026-11-25", env, workdir)
    wednesday.name, wednesday.target = "a typical weekday 2026-11-25 (Wednesday: a day's dues, Tuesday's answers)", "1M ≤ 10 s, RSS ≤ 4 GiB"
    phases.append(wednesday)
    letters = to_the_close(wednesday, wednesday_steps)
    if letters:
        phases.append(letters)
    simulate_banks("2026-11-25", env)
    phases.append(run_phase("catch-up of 7 days (11-26 … 12-02, banks silent)",
                            ["cycle", "catch-up", "--to", "2026-12-02", "--no-report-to-dagster"], env, 7, "days",
                            f"≤ 3 × the typical weekday ({3 * wednesday.seconds:,.0f} s)"))
    phases.append(run_phase("full-book check (running totals against every line and instalment)", ["cycle", "check", "--full"], env, n,
                            "contracts", "on demand"))
    phases.append(run_phase("book summary (trial balance, sub-ledger tie)", ["demo", "summary", "--as-of", "2026-12-02"], env, n, "contracts"))
    phases.append(run_phase("reports: dbt build + Excel pack", ["reports", "build", "--date", "2026-12-02"],
                            {**env, "AUTOFIN_REPORTS_DIR": str(workdir / "reports")}, n, "contracts", "1M ≤ 120 s"))
    from bench.api_load import run as api_load

    # two server processes on either store: a submit decides on a read and holds the writer only to
    # record it; on SQLite the processes queue their writes on a file lock (12-03, in slow hours: a 20k
    # store 147/s achieved with one process, 184/s with two; the 1M store 171/s either way)
    workers = 2
    load = api_load(API_SUBMITS, 200.0, env, workers=workers)
    phases.append(Phase(f"API submit at 200/s, {workers} worker{'s' if workers > 1 else ''}: p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms "
                        f"(errors {sum(load.errors.values())}; from the second second on p99 {load.p99_after_first_second_ms:.1f} ms; "
                        f"server CPU {load.server_cpu_ms:.1f} ms a submit)",
                        load.seconds, 0, load.sent, "submits", "p99 ≤ 50 ms"))
    days = {"Sunday": sunday_steps, "Monday": monday_steps, "Tuesday": tuesday_steps, "Wednesday": wednesday_steps}
    if shards_env is not None:
        days["Tuesday, 2 shards"] = tuesday_2_steps
    return phases, step_table(days)


def worst_book(n: int, env: dict, workdir: Path) -> tuple[list[Phase], list[str]]:
    phases = [run_phase("one-due-day book: seed (every contract due on the 23rd)", ["demo", "seed", "--contracts", str(n), "--as-of", AS_OF,
                                                                                      "--seed", "7", "--due-day", "23"], env, n, "contracts")]
    for d in ("2026-11-21", "2026-11-22"):
        cycle_day(d, env, workdir)
    monday, monday_steps = cycle_day("2026-11-23", env, workdir)
    monday.name, monday.target = "worst night 2026-11-23 to its close: the whole book due, a debit for every contract written and uploaded", \
        "1M ≤ 60 s, RSS ≤ 4 GiB"
    monday_letters = to_the_close(monday, monday_steps)
    simulate_banks("2026-11-23", env)
    tuesday, tuesday_steps = cycle_day("2026-11-24", env, workdir)
    tuesday.name, tuesday.target = "worst night 2026-11-24 to its close: every answer read, applied, allocated, posted and closed", \
        "1M ≤ 60 s, RSS ≤ 4 GiB"
    tuesday_letters = to_the_close(tuesday, tuesday_steps)
    phases += [p for p in (monday, monday_letters, tuesday, tuesday_letters) if p is not None]
    phases += rates(monday_steps, tuesday_steps, "worst nights")
    return phases, step_table({"worst Monday": monday_steps, "worst Tuesday": tuesday_steps})


def rates(debit_steps: list[dict], answer_steps: list[dict], label: str) -> list[Phase]:
    by_step = {s["step"]: s for s in debit_steps}
    orders = by_step["debit_orders"]["counts"].get("orders", 0)
    ret = {s["step"]: s for s in answer_steps}["bank_returns"]
    answered = sum(ret["counts"].get(k, 0) for k in ("settled", "rejected", "returned"))
    return [
        Phase(f"  debit orders selected and files written ({label})", by_step["debit_orders"]["seconds"], 0, orders, "tx", ""),
        Phase(f"  debit files written ({label})", by_step["debit_orders"]["counts"]["file_writing_seconds"], 0, orders, "tx", "≥ 150k tx/s"),
        # with reader processes the reading overlaps the applying, and its seconds are the readers' summed
        Phase(f"  bank answers read: parse, XSD, records ({label}; {readers(ret['counts'])})", ret["counts"]["reading_seconds"], 0,
              ret["counts"]["records_read"], "records", ""),
        # the files fetched and their reading begun at the night's start (`cycle.begin_night`): the fetch's seconds are
        # added to the step's; the reading done before the step, on the core the steps before it leave, is not
        Phase(f"  bank answers ingested: read and applied ({label}; the step, and its {ret['counts'].get('fetched_ahead', 0)} files "
              f"fetched ahead, their reading begun with the night)", ret["seconds"] + ret["counts"].get("fetching_ahead_seconds", 0.0), 0,
              answered, "tx", "≥ 100k tx/s"),
    ]


def readers(counts: dict) -> str:
    n = counts.get("reader_processes", 0)
    return "in the step's process" if not n else f"by {n} reader processes, seconds summed"


def step_table(days: dict[str, list[dict]]) -> list[str]:
    """Seconds per step (rows) and day (columns)."""
    columns = list(days)
    table = ["| step | " + " | ".join(f"{c} s" for c in columns) + " |", "|---|" + "---:|" * len(columns)]
    by_day = {c: {s["step"]: s["seconds"] for s in steps} for c, steps in days.items()}
    for step in [s["step"] for s in next(iter(days.values()))]:
        table.append(f"| {step} | " + " | ".join(f"{by_day[c].get(step, 0):.2f}" for c in columns) + " |")
    return table


def history_book(n: int, months: int, env: dict, workdir: Path) -> tuple[list[Phase], list[str]]:
    from bench.history import month_summary

    out = workdir / "history.json"
    history_env = {**env, "AUTOFIN_SIMULATED_TODAY": "2027-12-31"}
    whole = run_phase(f"history book: {n:,} contracts lived {months} months night by night, banks answering", [], history_env,
                      target="", module=["bench.history", "--contracts", str(n), "--months", str(months), "--out", str(out)])
    days = json.loads(out.read_text())
    first, last = month_summary(days, first=True), month_summary(days, first=False)
    change = last["seconds"] / first["seconds"] - 1 if first["seconds"] else 0.0
    whole.items, whole.unit = len(days), "days"
    phases = [whole]
    for label, m in (("the first month", first), (f"month {months}", last)):
        phases.append(Phase(f"  a weekday of {label} ({m['from']} … {m['to']}, mean of {m['days']}): {m['billed']:,.0f} billed, "
                            f"{m['debits']:,.0f} debits, {m['receipts']:,.0f} receipts, {m['penalty_contracts']:,.0f} contracts accruing "
                            f"penalties, {m['contracts_checked']:,.0f} checked at the close", m["seconds"], 0, 0, "",
                            "" if m is first else f"within 10% of the first month ({change:+.0%})"))
    return phases, []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=int(os.environ.get("BENCH_N", 1_000_000)))
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=os.environ.get("BENCH_DB", "sqlite"))
    parser.add_argument("--worst", type=int, default=int(os.environ.get("BENCH_WORST", 1)), help="1: also the one-due-day book")
    parser.add_argument("--history-contracts", type=int, default=int(os.environ.get("BENCH_HISTORY_N", 20_000)))
    parser.add_argument("--months", type=int, default=int(os.environ.get("BENCH_MONTHS", 24)), help="0: no history book")
    args = parser.parse_args()

    # the sources' bytecode, as an installed release has it: where PYTHONDONTWRITEBYTECODE is set,
    # every phase's process would compile them again (the installed packages are compiled at install)
    for package in ("autofin", "pipelines"):
        compileall.compile_dir(ROOT / package, quiet=1)
    workdir = Path(tempfile.mkdtemp(prefix="autofin-bench-"))
    server = None
    if args.db == "postgres":
        sys.path.insert(0, str(ROOT))
        from tests.support.postgres import start_server

        server = start_server()
    n = args.contracts
    tables: list[str] = []
    try:
        # the books live on fixed dates (seeded 2026-11-20, run to 2026-12-02): a simulation, so
        # each says which day is today rather than depend on the real clock
        env = store_env(workdir, server, "bench")
        phases, steps = typical_book(n, env, workdir, server, args.db)
        tables += ["Cycle steps, typical book:", "", *steps, ""]
        if args.worst:
            worst_env = store_env(workdir, server, "worst")
            for name, argv in (("migrate", ["db", "upgrade"]), ("products sync", ["products", "sync"])):
                run_phase(name, argv, worst_env)
            worst_phases, worst_steps = worst_book(n, worst_env, workdir)
            phases += worst_phases
            tables += ["Cycle steps, one-due-day book:", "", *worst_steps, ""]
        if args.months:
            history_phases, _ = history_book(args.history_contracts, args.months, store_env(workdir, server, "history"), workdir)
            phases += history_phases
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    header = (
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {n:,} contracts on {args.db}\n\n"
        f"Machine: {os.cpu_count()} cores, {memory_gib():.1f} GiB, {platform.machine()}; {versions()}\n\n"
    )
    table = ["| phase | seconds | rate | peak RSS (MiB) | store cached at start | target |", "|---|---:|---:|---:|---:|---|"]
    for p in phases:
        rate = (f"{p.rate:,.0f} {p.unit}/s" if p.rate >= 10 else f"{p.rate:,.2f} {p.unit}/s") if p.items else ""
        rss = f"{p.peak_rss_mib:,.0f}" if p.peak_rss_mib else ""
        cached = f"{p.cached:.0%}" if p.cached is not None else ""
        table.append(f"| {p.name} | {p.seconds:,.2f} | {rate} | {rss} | {cached} | {p.target} |")
    text = header + "\n".join(table) + "\n\n" + "\n".join(tables)
    print("\n" + text)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write("\n" + text)
    print(f"[bench] appended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
