"""What a night's money-event keys cost in the unique index of a book with a history.

`make bench` seeds a migrated book: the store holds no billing events from before the cut-over, so
its nights never show what a year of them does to the unique index on `money_event.event_key`.
This builds that index alone (SQLite, WAL, as the store runs): a year of billing keys of 1M
contracts, then inserts one night's keys (36k instalments falling due) and commits, in two
spellings, twice each on a fresh copy:
- `billing:<instalment_id>`: each new key lands between two of last year's, on a page of its own;
- `billing:<date>:<instalment_id>`: tonight's keys sort together at the end of the index.

    python -m bench.key_locality            # ~1 minute, ~1.5 GB in a temporary folder
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CONTRACTS, MONTHS, NIGHT = 1_000_000, 12, 36_000


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _history(path: Path) -> None:
    conn = _open(path)
    conn.execute("CREATE TABLE money_event (money_event_id INTEGER PRIMARY KEY, event_key TEXT UNIQUE, contract_id INTEGER, batch_id TEXT)")
    # instalment ids as the seed writes them: a contract's instalments side by side
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO money_event (event_key, contract_id, batch_id) VALUES (?, ?, ?)",
                     ((f"billing:{c * 60 + m}", c, f"billing:{m}") for m in range(MONTHS) for c in range(CONTRACTS)))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _night(base: Path, work: Path, key: Callable[[int], str], contracts: list[int]) -> tuple[float, float]:
    shutil.copy(base, work)
    conn = _open(work)
    conn.execute("SELECT COUNT(*) FROM money_event").fetchone()  # the index read once, as a night's earlier steps would
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO money_event (event_key, contract_id, batch_id) VALUES (?, ?, 'tonight')", ((key(c), c) for c in contracts))
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    wal = Path(f"{work}-wal").stat().st_size / 2**20
    conn.close()
    return seconds, wal


def main() -> None:
    spellings: dict[str, Callable[[int], str]] = {
        "billing:<instalment_id>": lambda c: f"billing:{c * 60 + MONTHS}",
        "billing:<date>:<instalment_id>": lambda c: f"billing:2026-12-06:{c * 60 + MONTHS}",
    }
    contracts = sorted(random.Random(1).sample(range(CONTRACTS), NIGHT))
    with tempfile.TemporaryDirectory(prefix="autofin-keys-") as tmp:
        base, work = Path(tmp) / "history.db", Path(tmp) / "night.db"
        print(f"a year of billing keys of {CONTRACTS:,} contracts ({CONTRACTS * MONTHS:,} rows) …", flush=True)
        _history(base)
        print(f"one night's {NIGHT:,} keys inserted and committed:")
        for _ in range(2):
            for name, key in spellings.items():
                for suffix in ("-wal", "-shm"):
                    Path(f"{work}{suffix}").unlink(missing_ok=True)
                seconds, wal = _night(base, work, key, contracts)
                print(f"  {name:32s} {seconds:6.3f} s, WAL written {wal:6.1f} MiB")


if __name__ == "__main__":
    main()
