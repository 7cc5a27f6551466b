"""`make bench`: the scale benchmark. Prints a table and appends it to bench/results.md.

Each phase runs as its own `autofin` subprocess against a fresh store, so its wall time and its
peak resident memory (from os.wait4) are its own. BENCH_N (default 1,000,000) sets the book
size; BENCH_DB=postgres runs against a real PostgreSQL server started on loopback.
Phases: seeding; the nightly cycle on a weekend day, on the Monday the debit files go out and
on the Tuesday the banks' answers come back (the simulated banks answer in between, untimed);
a 7-day catch-up; the book summary; the reports (dbt build of the warehouse and the Excel pack);
the entry API's submit latency at 200 requests/s over the same store (bench/api_load.py).
Debit-file and return-ingestion rates come from the steps' own timings (the returns also show
the reading alone: every record of every file, a settled debit being in three of them). On PostgreSQL the
Tuesday also runs on a copy of the store as 2 contract shards side by side (--shards 2).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.md"
SIMULATED_TODAY = "2026-12-02"
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

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


def run_phase(name: str, args: list[str], env: dict, items: int = 0, unit: str = "", target: str = "") -> Phase:
    print(f"[bench] {name}: autofin {' '.join(args)}", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "autofin.cli", *args], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"[bench] {name} failed with exit {code}")
    return Phase(name, seconds, usage.ru_maxrss / 1024, items, unit, target)


def cycle_day(d: str, env: dict, workdir: Path, shards: int = 1) -> tuple[Phase, list[dict]]:
    timings = workdir / f"timings-{d}-{shards}.json"
    label = f"cycle day {d}" + (f", {shards} shards" if shards > 1 else "")
    phase = run_phase(label, ["cycle", "run", "--date", d, "--timings", str(timings), "--shards", str(shards)], env)
    return phase, json.loads(timings.read_text())


def sharded_copy(server, env: dict, workdir: Path) -> dict:  # noqa: ANN001
    """A copy of the PostgreSQL store and of the bank folders, to run the same day in shards."""
    subprocess.run(["runuser", "-u", "postgres", "--", str(server.bindir / "createdb"), "-h", str(server.root), "-p", str(server.port),
                    "-T", "autofin_bench", "autofin_bench_shards"], check=True)
    shutil.copytree(workdir / "bank_files", workdir / "bank_files_shards")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=int(os.environ.get("BENCH_N", 1_000_000)))
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=os.environ.get("BENCH_DB", "sqlite"))
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="autofin-bench-"))
    # the bench's book lives on fixed dates (seeded 2026-11-20, run to 2026-12-01): a simulation, so
    # it says which day is today rather than depend on the real clock
    env = {**os.environ, "AUTOFIN_DATA_DIR": str(workdir), "AUTOFIN_BANK_DIR": str(workdir / "bank_files"),
           "AUTOFIN_SIMULATED_TODAY": SIMULATED_TODAY}
    server = None
    if args.db == "postgres":
        sys.path.insert(0, str(ROOT))
        from tests.support.postgres import start_server

        server = start_server()
        subprocess.run(["runuser", "-u", "postgres", "--", str(server.bindir / "createdb"), "-h", str(server.root), "-p", str(server.port),
                        "autofin_bench"], check=True)
        env["AUTOFIN_DATABASE_URL"] = server.url("autofin_bench")
    try:
        n = args.contracts
        phases = [
            run_phase("migrate", ["db", "upgrade"], env),
            run_phase("products sync", ["products", "sync"], env),
            run_phase("seed", ["demo", "seed", "--contracts", str(n), "--as-of", AS_OF, "--seed", "7"], env, n, "contracts",
                      "1M ≤ 600 s, 100k ≤ 60 s, RSS ≤ 4 GiB"),
        ]
        weekend, _ = cycle_day("2026-11-21", env, workdir)
        cycle_day("2026-11-22", env, workdir)
        monday, monday_steps = cycle_day("2026-11-23", env, workdir)
        simulate_banks("2026-11-23", env)
        shards_env = sharded_copy(server, env, workdir) if server is not None else None
        tuesday, tuesday_steps = cycle_day("2026-11-24", env, workdir)
        if shards_env is not None:  # the same Tuesday on a copy of the store, as 2 contract shards side by side
            tuesday_2, tuesday_2_steps = cycle_day("2026-11-24", shards_env, workdir, shards=2)
            tuesday_2.target = "compare with the 1-shard Tuesday"
        simulate_banks("2026-11-24", env)
        weekend.target, monday.target, tuesday.target = "", "100k ≤ 15 s; 1M ≤ 120 s, RSS ≤ 4 GiB", "100k ≤ 15 s; 1M ≤ 120 s, RSS ≤ 4 GiB"
        phases += [weekend, monday, tuesday] + ([tuesday_2] if shards_env is not None else [])
        by_step = {s["step"]: s for s in monday_steps}
        orders = by_step["debit_orders"]["counts"].get("orders", 0)
        phases.append(Phase("  debit orders selected and files written (Monday)", by_step["debit_orders"]["seconds"], 0, orders, "tx", ""))
        phases.append(Phase("  debit files written (Monday)", by_step["debit_orders"]["counts"]["file_writing_seconds"], 0, orders, "tx",
                            "≥ 50k tx/s"))
        ret = {s["step"]: s for s in tuesday_steps}["bank_returns"]
        answered = sum(ret["counts"].get(k, 0) for k in ("settled", "rejected", "returned"))
        phases.append(Phase("  bank answers read: parse, XSD, records (Tuesday)", ret["counts"]["reading_seconds"], 0,
                            ret["counts"]["records_read"], "records", ""))
        phases.append(Phase("  bank answers ingested: read and applied (Tuesday)", ret["seconds"], 0, answered, "tx", "≥ 100k tx/s"))
        catch = run_phase("catch-up of 7 days (11-25 … 12-01)", ["cycle", "catch-up", "--to", "2026-12-01"], env, 7, "days",
                          f"≤ 3 × one day ({3 * tuesday.seconds:,.0f} s)")
        phases.append(catch)
        phases.append(run_phase("book summary (trial balance, sub-ledger tie)", ["demo", "summary", "--as-of", "2026-12-01"], env, n, "contracts"))
        phases.append(run_phase("reports: dbt build + Excel pack", ["reports", "build", "--date", "2026-12-01"],
                                {**env, "AUTOFIN_REPORTS_DIR": str(workdir / "reports")}, n, "contracts", "1M ≤ 120 s"))
        from bench.api_load import run as api_load

        # SQLite has one writer: one server process serialises its writes in memory, where two wait on the
        # file lock (at 100k contracts p99 55 ms with one, 287 ms with two); PostgreSQL takes two.
        workers = 1 if args.db == "sqlite" else 2
        load = api_load(API_SUBMITS, 200.0, env, workers=workers)
        phases.append(Phase(f"API submit at 200/s, {workers} worker{'s' if workers > 1 else ''}: p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms "
                            f"(errors {sum(load.errors.values())})", load.seconds, 0, load.sent, "submits", "p99 ≤ 50 ms"))
        step_table = ["| step | Monday s | Tuesday s |", "|---|---:|---:|"]
        tue = {s["step"]: s for s in tuesday_steps}
        if shards_env is not None:
            step_table = ["| step | Monday s | Tuesday s | Tuesday, 2 shards s |", "|---|---:|---:|---:|"]
            tue_2 = {s["step"]: s for s in tuesday_2_steps}
        for s_ in monday_steps:
            row = f"| {s_['step']} | {s_['seconds']:.2f} | {tue[s_['step']]['seconds']:.2f} |"
            step_table.append(row + (f" {tue_2[s_['step']]['seconds']:.2f} |" if shards_env is not None else ""))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    header = (
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {n:,} contracts on {args.db}\n\n"
        f"Machine: {os.cpu_count()} cores, {memory_gib():.1f} GiB, {platform.machine()}; {versions()}\n\n"
    )
    table = ["| phase | seconds | rate | peak RSS (MiB) | target |", "|---|---:|---:|---:|---|"]
    for p in phases:
        rate = (f"{p.rate:,.0f} {p.unit}/s" if p.rate >= 10 else f"{p.rate:,.2f} {p.unit}/s") if p.items else ""
        rss = f"{p.peak_rss_mib:,.0f}" if p.peak_rss_mib else ""
        table.append(f"| {p.name} | {p.seconds:,.2f} | {rate} | {rss} | {p.target} |")
    text = header + "\n".join(table) + "\n\nCycle steps:\n\n" + "\n".join(step_table) + "\n"
    print("\n" + text)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write("\n" + text)
    print(f"[bench] appended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
