"""`make bench`: the scale benchmark. Prints a table and appends it to bench/results.md.

Each phase runs as its own `autofin` subprocess against a fresh store, so its wall time and its
peak resident memory (from os.wait4) are its own. BENCH_N (default 1,000,000) sets the book
size; BENCH_DB=postgres runs against a real PostgreSQL server started on loopback.
Phases so far: products sync and seeding. Later issues add the cycle, files, reports and API.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.md"
AS_OF = "2026-11-20"


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
    env = {**os.environ, "AUTOFIN_DATA_DIR": str(workdir)}
    server = None
    if args.db == "postgres":
        sys.path.insert(0, str(ROOT))
        from tests.support.postgres import start_server

        server = start_server()
        subprocess.run(["runuser", "-u", "postgres", "--", str(server.bindir / "createdb"), "-h", str(server.root), "-p", str(server.port), "autofin_bench"], check=True)
        env["AUTOFIN_DATABASE_URL"] = server.url("autofin_bench")
    try:
        n = args.contracts
        phases = [
            run_phase("migrate", ["db", "upgrade"], env),
            run_phase("products sync", ["products", "sync"], env),
            run_phase("seed", ["demo", "seed", "--contracts", str(n), "--as-of", AS_OF, "--seed", "7"], env, n, "contracts",
                      "1M ≤ 600 s, 100k ≤ 60 s, RSS ≤ 4 GiB"),
            run_phase("book summary (trial balance, sub-ledger tie)", ["demo", "summary", "--as-of", AS_OF], {**env}, n, "contracts"),
        ]
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    header = (
        f"## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {n:,} contracts on {args.db}\n\n"
        f"Machine: {os.cpu_count()} cores, {memory_gib():.1f} GiB, {platform.machine()}; {versions()}\n\n"
    )
    table = ["| phase | seconds | rate | peak RSS (MiB) | target |", "|---|---:|---:|---:|---|"]
    for p in phases:
        rate = f"{p.rate:,.0f} {p.unit}/s" if p.items else ""
        table.append(f"| {p.name} | {p.seconds:,.1f} | {rate} | {p.peak_rss_mib:,.0f} | {p.target} |")
    text = header + "\n".join(table) + "\n"
    print("\n" + text)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write("\n" + text)
    print(f"[bench] appended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
