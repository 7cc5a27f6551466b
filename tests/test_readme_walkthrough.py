"""The README's API walk-through runs as written: its blocks marked <!-- walkthrough --> are run
by bash, in order, against a live API over a fresh demo store, with `autofin` on the PATH and the
sample documents it names; every step must answer what the README says it does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from autofin.settings import BUSINESS_TZ
from tests.support.debian import wait_until_serving
from tests.support.postgres import free_port
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[1]


def walkthrough_blocks() -> list[str]:
    return re.findall(r"<!-- walkthrough -->\n```sh\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_the_readme_walkthrough_runs_as_written(tmp_path):
    blocks = walkthrough_blocks()
    assert len(blocks) == 2
    env = {"AUTOFIN_DATA_DIR": str(tmp_path), "AUTOFIN_BANK_DIR": str(tmp_path / "bank_files"), "AUTOFIN_SIMULATED_TODAY": "",
           "AUTOFIN_DATABASE_URL": ""}
    as_of = datetime.now(BUSINESS_TZ).date() - timedelta(days=2)
    for args in (("db", "upgrade"), ("products", "sync"), ("demo", "seed", "--contracts", "30", "--as-of", str(as_of))):
        run(*args, env=env)
    port = free_port()
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen([str(bin_dir / "autofin"), "api", "--host", "127.0.0.1", "--port", str(port)], env={**os.environ, **env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health", server)
        (tmp_path / "assets").symlink_to(ROOT / "assets")  # the blocks run from a project root
        script = "set -euo pipefail\n" + "\n".join(blocks)
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env={**os.environ, **env, "API": f"http://127.0.0.1:{port}", "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    finally:
        server.terminate()
        server.wait(timeout=20)
    out = done.stdout
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0] == "pending" and lines[1] == "active"
    assert "check digit" in out  # the VIN refused, as the comment says
    submit = next(line for line in lines if "credit_officer" in line)  # the submit's outcome, grade and route
    assert re.fullmatch(r"(pass|refer) [A-E] \[.*'credit_officer'.*\]", submit), submit
    for word in ("signed", "approved", "active", "unapplied"):
        assert word in lines, (word, lines)
    assert "disbursement" in out and re.search(r"\('disbursement', '105000.00', '105000.00'\)", out), out
    assert re.fullmatch(r"[0-9]+\.[0-9]{2}", lines[-1]), lines[-1]  # the settlement quote's total
    assert (tmp_path / "contract.pdf").read_bytes().startswith(b"%PDF-")
