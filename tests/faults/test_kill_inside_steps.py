"""SIGKILL inside every cycle step, then a re-run: the end state equals an uninterrupted run's.

No debit order is sent twice (each end-to-end id is in exactly one file the bank received),
no receipt is lost or applied twice, the ledger balances and the checks are green.
"""

import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from autofin.bankfiles import cn_text, pain008
from autofin.bankfiles.simulator import simulate
from autofin.reference import bank_profiles
from autofin.servicing.cycle import STEP_ORDER
from autofin.store.engine import make_engine

AS_OF = date(2026, 11, 20)
DAY = date(2026, 11, 24)  # Tuesday: every step has work (answers to Monday's debits are waiting)


def cli(home: Path, *args, failpoint=None):
    dagster = home.parent / f"{home.name}-dagster"  # each home reports its days to its own instance (cases run side by side)
    dagster.mkdir(exist_ok=True)
    (dagster / "dagster.yaml").touch()
    env = {**os.environ, "AUTOFIN_DATA_DIR": str(home), "AUTOFIN_BANK_DIR": str(home / "bank_files"), "DAGSTER_HOME": str(dagster),
           "AUTOFIN_DAGSTER_STORAGE": str(dagster)}
    env.pop("AUTOFIN_DATABASE_URL", None)
    if failpoint:
        env["AUTOFIN_FAILPOINT"] = failpoint
    return subprocess.run([sys.executable, "-m", "autofin.cli", *args], env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A book run to Monday 2026-11-23 with the banks' answers waiting: the state before DAY."""
    home = tmp_path_factory.mktemp("base")
    for args in (("db", "upgrade"), ("products", "sync"), ("demo", "seed", "--contracts", "600", "--as-of", str(AS_OF), "--seed", "9")):
        assert cli(home, *args).returncode == 0
    for d in (date(2026, 11, 21), date(2026, 11, 22), date(2026, 11, 23)):
        assert cli(home, "cycle", "run", "--date", str(d)).returncode == 0
    for code, profile in bank_profiles().items():
        simulate(profile, home / "bank_files" / "remote" / code, date(2026, 11, 23), seed=2)
    return home


def copy_of(prepared: Path, dest: Path) -> Path:
    shutil.copytree(prepared, dest)
    return dest


def digest(home: Path) -> dict:
    engine = make_engine(f"sqlite:///{home / 'autofin.db'}")
    with engine.connect() as conn:
        one = lambda sql: conn.execute(text(sql)).one()  # noqa: E731
        out = {
            "events": one("SELECT COUNT(*), SUM(principal_minor + interest_minor + fee_minor + penalty_minor + credit_minor) FROM money_event"),
            "lines": one("SELECT COUNT(*), SUM(debit_minor), SUM(credit_minor) FROM journal_line"),
            "orders": one("SELECT COUNT(*), SUM(amount_minor), SUM(CASE WHEN status = 'settled' THEN 1 ELSE 0 END) FROM debit_order"),
            "receipts": one("SELECT COUNT(*), SUM(amount_minor), SUM(CASE WHEN status = 'applied' THEN 1 ELSE 0 END) FROM receipt"),
            "allocated": one("SELECT COUNT(*), SUM(amount_minor) FROM allocation"),
            "paid": one("SELECT SUM(paid_principal_minor + paid_interest_minor + paid_fee_minor + paid_penalty_minor) FROM instalment"),
            "penalty": one("SELECT COUNT(*), SUM(penalty_minor), SUM(accrued_micro) FROM instalment_penalty"),
            "days": one("SELECT COUNT(*) FROM business_day WHERE status = 'closed'"),
            "files": one("SELECT COUNT(*) FROM bank_file"),
        }
        per_receipt = conn.execute(text("SELECT COUNT(*) FROM receipt r WHERE r.amount_minor <> "
                                        "(SELECT COALESCE(SUM(a.amount_minor), 0) FROM allocation a WHERE a.receipt_id = r.receipt_id)")).scalar_one()
        twice = conn.execute(text("SELECT COUNT(*) FROM (SELECT source_ref FROM receipt GROUP BY source_ref HAVING COUNT(*) > 1) t")).scalar_one()
    engine.dispose()
    out["receipts_not_fully_allocated"] = per_receipt
    out["receipts_twice"] = twice
    return {k: tuple(v) if isinstance(v, tuple) or hasattr(v, "_fields") else v for k, v in out.items()}


def sent_to_banks(home: Path) -> list[str]:
    """Every end-to-end id in every file the banks received (uploaded, processed or not)."""
    ids = []
    for code, profile in bank_profiles().items():
        for path in (home / "bank_files" / "remote" / code / "upload").rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                data = path.read_bytes()
                batch = pain008.parse(data) if profile.is_iso else cn_text.parse_debit(data, profile.creditor)
                ids += [i.end_to_end_id for i in batch.instructions]
    return ids


@pytest.fixture(scope="module")
def clean_run(prepared, tmp_path_factory):
    home = copy_of(prepared, tmp_path_factory.mktemp("clean") / "home")
    result = cli(home, "cycle", "run", "--date", str(DAY))
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture(scope="module")
def killed_and_rerun(prepared, tmp_path_factory):
    """For every step: a copy of the book killed inside it, then run again; two at a time (each is
    two processes that mostly wait on their own disk and start-up; the suite otherwise uses one core)."""

    def one(step: str) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
        home = copy_of(prepared, tmp_path_factory.mktemp(f"killed-{step}") / "home")
        killed = cli(home, "cycle", "run", "--date", str(DAY), failpoint=step)
        return home, killed, cli(home, "cycle", "run", "--date", str(DAY))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(STEP_ORDER, pool.map(one, STEP_ORDER), strict=True))


@pytest.mark.parametrize("step", STEP_ORDER)
def test_killed_inside_a_step_then_rerun(step, killed_and_rerun, clean_run):
    home, killed, rerun = killed_and_rerun[step]
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert rerun.returncode == 0, rerun.stderr
    assert digest(home) == digest(clean_run)
    ids = sent_to_banks(home)
    assert len(ids) == len(set(ids)) > 0  # no debit order sent twice
    assert sorted(ids) == sorted(sent_to_banks(clean_run))
    d = digest(home)
    assert d["receipts_twice"] == 0 and d["receipts_not_fully_allocated"] == 0
    assert d["lines"][1] == d["lines"][2]  # balanced


def test_killed_after_the_answers_commit_before_the_files_move(prepared, clean_run, tmp_path):
    """The answers are applied and committed, the process dies before it moves the files out of
    inbound/: the next run finishes the move; nothing is applied twice or quarantined."""
    home = copy_of(prepared, tmp_path / "home")
    killed = cli(home, "cycle", "run", "--date", str(DAY), failpoint="bank_returns:committed")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = sorted(p.name for p in (home / "bank_files" / "inbound").rglob("*") if p.is_file())
    assert left  # the applied files are still in inbound/
    assert cli(home, "cycle", "run", "--date", str(DAY)).returncode == 0
    assert digest(home) == digest(clean_run)
    rerun = cli(home, "cycle", "run", "--date", str(DAY + timedelta(days=1)))
    assert rerun.returncode == 0, rerun.stderr
    engine = make_engine(f"sqlite:///{home / 'autofin.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM bank_file WHERE status = 'quarantined'")).scalar_one() == 0
    engine.dispose()
    assert not [p for p in (home / "bank_files" / "inbound").rglob("*") if p.is_file()]
    assert not (home / "bank_files" / "quarantine").exists() or not any((home / "bank_files" / "quarantine").rglob("*.*"))
    assert sorted(p.name for p in (home / "bank_files" / "archive").rglob("*") if p.is_file()) == left
