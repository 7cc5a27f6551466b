"""Finance ops see in Dagster what the store holds: after a book is loaded and its days are run
from the command line (as `make demo` does), the Dagster UI, in a real headless browser, shows
every business date since the cut-over materialized and none missing, and offers no date before
the cut-over."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from autofin.settings import BUSINESS_TZ
from tests.support import browser
from tests.support.debian import wait_until_serving
from tests.support.postgres import free_port
from tests.test_cli import run

DAGSTER_WEBSERVER = str(Path(sys.executable).parent / "dagster-webserver")


def test_the_dagster_ui_shows_the_days_the_cli_ran(tmp_path):
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    env = {"AUTOFIN_DATA_DIR": str(tmp_path), "AUTOFIN_BANK_DIR": str(tmp_path / "bank_files"), "AUTOFIN_REPORTS_DIR": str(tmp_path / "r"),
           "AUTOFIN_SIMULATED_TODAY": "", "AUTOFIN_DATABASE_URL": "", "DAGSTER_HOME": str(home), "AUTOFIN_DAGSTER_STORAGE": str(home)}
    today = datetime.now(BUSINESS_TZ).date()
    cut_over = today - timedelta(days=4)
    for args in (("db", "upgrade"), ("products", "sync"), ("demo", "seed", "--contracts", "60", "--as-of", str(cut_over))):
        run(*args, env=env)
    out = run("demo", "cycle", "--days", "3", env=env).stdout
    assert "reported 45 step runs to Dagster" in out  # 3 days × 15 steps

    port = free_port()
    server = subprocess.Popen([DAGSTER_WEBSERVER, "-h", "127.0.0.1", "-p", str(port), "-m", "pipelines.definitions"],
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/server_info", server)
        page = f"{base}/assets/closed_business_day?view=partitions"
        dom = browser.dom(page, wait_ms=30_000)
        # the dates after the cut-over up to yesterday: the 3 the CLI ran, and yesterday's if it is a fourth
        offered = (today - cut_over).days - 1
        assert "Materialized (3)" in dom and f"Missing ({offered - 3})" in dom, dom[-2000:]
        assert str(cut_over + timedelta(days=1)) in dom and str(cut_over) not in dom.split("Partitions")[-1]
        shot = browser.screenshot(page, tmp_path / "closed_business_day.png", width=1500, height=900, wait_ms=30_000)
        assert shot.stat().st_size > 30_000
    finally:
        server.terminate()
        server.wait(timeout=20)
