"""Two writers on one SQLite store: the cycle waits for a writer holding the lock, or fails clearly
past the busy timeout having written nothing; and the entry API keeps answering (reads and
writes, none lost) while the cycle runs in another process."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from autofin.api.app import create_app
from autofin.origination.users import add_user
from autofin.store.engine import make_engine, write_transaction
from autofin.store.models import Customer
from tests.api.conftest import resident_id
from tests.faults.test_kill_inside_steps import cli

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("busy")
    for args in (("db", "upgrade"), ("products", "sync"), ("demo", "seed", "--contracts", "3000", "--as-of", str(AS_OF), "--seed", "4")):
        assert cli(home, *args).returncode == 0
    return home


def copy(seeded: Path, dest: Path) -> Path:
    shutil.copytree(seeded, dest)
    return dest


def hold_write_lock(db: Path, seconds: float, held: threading.Event) -> threading.Thread:
    def hold() -> None:
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")  # another writer: a long transaction elsewhere
        held.set()
        time.sleep(seconds)
        con.execute("ROLLBACK")
        con.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return thread


def cycle_with(monkeypatch: pytest.MonkeyPatch, home: Path, busy_ms: int, *args: str) -> subprocess.CompletedProcess:
    monkeypatch.setenv("AUTOFIN_SQLITE_BUSY_MS", str(busy_ms))  # the subprocess's busy timeout
    return cli(home, *args)


def count(db: Path, sql: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_the_cycle_waits_for_a_writer_holding_the_store(seeded, tmp_path, monkeypatch):
    home = copy(seeded, tmp_path / "home")
    day = AS_OF + timedelta(days=1)
    holder = hold_write_lock(home / "autofin.db", 2.0, threading.Event())
    started = time.perf_counter()
    result = cycle_with(monkeypatch, home, 20_000, "cycle", "run", "--date", str(day))
    holder.join()
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - started >= 1.5  # it waited for the lock, then ran
    assert count(home / "autofin.db", f"SELECT COUNT(*) FROM business_day WHERE business_date = '{day}' AND status = 'closed'") == 1


def test_past_the_busy_timeout_the_cycle_fails_clearly_and_writes_nothing(seeded, tmp_path, monkeypatch):
    home = copy(seeded, tmp_path / "home")
    db = home / "autofin.db"
    day = AS_OF + timedelta(days=1)
    before = (count(db, "SELECT COUNT(*) FROM step_run"), count(db, "SELECT COUNT(*) FROM money_event"))
    holder = hold_write_lock(db, 6.0, threading.Event())
    result = cycle_with(monkeypatch, home, 1_000, "cycle", "run", "--date", str(day))
    holder.join()
    assert result.returncode == 2
    assert "locked by another writer for longer than the busy timeout; nothing of this step was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert (count(db, "SELECT COUNT(*) FROM step_run"), count(db, "SELECT COUNT(*) FROM money_event")) == before
    assert count(db, f"SELECT COUNT(*) FROM business_day WHERE business_date = '{day}'") == 0
    again = cycle_with(monkeypatch, home, 20_000, "cycle", "run", "--date", str(day))  # the lock is gone: the same day runs whole
    assert again.returncode == 0, again.stderr
    assert count(db, f"SELECT COUNT(*) FROM business_day WHERE business_date = '{day}' AND status = 'closed'") == 1


def test_the_api_answers_while_the_cycle_runs(seeded, tmp_path, monkeypatch):
    home = copy(seeded, tmp_path / "home")
    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(home))
    engine = make_engine(f"sqlite:///{home / 'autofin.db'}")
    with write_transaction(engine) as conn:
        token = add_user(conn, "dealer_x", "dealer", "D00001")[1]
        reader = add_user(conn, "auditor_x", "auditor")[1]
        conn.execute(text("UPDATE partner SET status = 'active', is_blacklisted = false WHERE partner_code = 'D00001'"))
    env = {**os.environ, "AUTOFIN_DATA_DIR": str(home), "AUTOFIN_BANK_DIR": str(home / "bank_files")}
    env.pop("AUTOFIN_DATABASE_URL", None)
    cycle = subprocess.Popen([sys.executable, "-m", "autofin.cli", "cycle", "catch-up", "--to", str(AS_OF + timedelta(days=4))],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reads: list[tuple[int, float]] = []
    created: list[int] = []
    refused: list[int] = []
    n = 0
    with TestClient(create_app(engine)) as client:
        while cycle.poll() is None:
            t = time.perf_counter()
            status = client.get("/contracts?limit=5", headers={"Authorization": f"Bearer {reader}"}).status_code
            reads.append((status, time.perf_counter() - t))
            n += 1
            body = {"kind": "individual", "name": "并发", "id_number": resident_id(100 + n % 800, date(1980, 1, 1) + timedelta(days=n)),
                    "mobile": f"137{n:08d}", "city": "杭州"}
            answer = client.post("/customers", json=body, headers={"Authorization": f"Bearer {token}"})
            (created if answer.status_code == 201 else refused).append(answer.json().get("customer_id") or answer.status_code)
    _out, err = cycle.communicate()
    assert cycle.returncode == 0, err
    assert len(reads) >= 5, "the cycle ended before the API was exercised"
    assert {s for s, _ in reads} == {200}
    assert set(refused) <= {503}  # a write may be told to retry (never a 500); none is lost
    with engine.connect() as conn:
        stored = set(conn.execute(select(Customer.customer_id).where(Customer.customer_id.in_(created))).scalars())
    assert stored == set(created) and len(created) >= 3
    slowest = max(s for _, s in reads)
    print(f"\n{len(reads)} reads during the cycle, slowest {slowest * 1000:.0f} ms; {len(created)} writes, {len(refused)} told to retry")
    engine.dispose()
