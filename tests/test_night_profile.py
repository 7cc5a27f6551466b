"""bench.night_profile: a night run with its statements and commits timed, step by step."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from autofin.servicing.cycle import STEP_ORDER
from tests.support.books import seeded_sqlite

ROOT = Path(__file__).resolve().parent.parent


def _profile(tmp_path: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "AUTOFIN_DATABASE_URL"}
    env.update(AUTOFIN_DATA_DIR=str(tmp_path), AUTOFIN_BANK_DIR=str(tmp_path / "bank_files"), AUTOFIN_SIMULATED_TODAY="2026-11-22")
    done = subprocess.run([sys.executable, "-m", "bench.night_profile", "--date", "2026-11-21", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_each_step_shows_its_statements_and_commit_and_the_log_holds_them_in_order(tmp_path: Path) -> None:
    seeded_sqlite(tmp_path / "autofin.db", contracts=40, as_of=date(2026, 11, 20))
    out = _profile(tmp_path, "--top", "2", "--min-ms", "0", "--log", str(tmp_path / "statements.log"))

    lines = out.splitlines()
    steps = [line.split()[0] for line in lines if not line.startswith(" ") and not line.startswith("night ")]
    assert steps == list(STEP_ORDER)
    assert all(": statements " in line and ", commit " in line for line in lines if line.split()[0] in STEP_ORDER)
    shown: dict[str, int] = {}  # statements shown under each step: at most 2 (--top 2)
    for line in lines:
        if not line.startswith(" "):
            step = line.split()[0]
        else:
            shown[step] = shown.get(step, 0) + 1
            assert line.split()[1] == "s" and line.split()[2].endswith("x")
    assert set(shown) == set(STEP_ORDER) and max(shown.values()) == 2
    assert lines[-1].startswith("night ")

    log = (tmp_path / "statements.log").read_text().splitlines()
    began = [float(line.split()[0]) for line in log]
    assert began == sorted(began)
    assert sum(1 for line in log if line.split()[2] == "COMMIT") >= len(STEP_ORDER)  # every step commits once at least
    assert any("INSERT INTO money_event" in line for line in log)

    again = _profile(tmp_path)  # every step done: the cycle skips them, and says so
    assert [line.split()[0] for line in again.splitlines() if "done before" in line] == list(STEP_ORDER)
