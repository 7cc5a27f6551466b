"""The command line, run as a user runs it: `autofin ...` in a subprocess."""

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from autofin.servicing.cycle import STEP_ORDER

AUTOFIN = [sys.executable, "-m", "autofin.cli"]


def run(*args, env=None, check=True):
    result = subprocess.run([*AUTOFIN, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


def test_quote_json_principal_form():
    out = json.loads(run("quote", "--method", "annuity", "--principal", "160000", "--annual-rate", "0.0799", "--term", "36",
                         "--start", "2026-11-22", "--json").stdout)
    assert {"financed_amount", "currency", "method", "term_months", "annual_rate", "apr", "total_interest", "total_payable", "schedule"} <= set(out)
    assert (out["financed_amount"], out["currency"], out["method"], out["term_months"]) == ("160000.00", "CNY", "annuity", 36)
    rows = out["schedule"]
    assert len(rows) == 36
    assert {"seq", "due_date", "principal", "interest", "fee", "payment", "balance"} <= set(rows[0])
    assert (rows[0]["due_date"], rows[0]["payment"], rows[0]["interest"], rows[0]["principal"]) == ("2026-12-22", "5013.08", "1065.33", "3947.75")
    assert rows[-1]["balance"] == "0.00"
    assert sum(Decimal(r["principal"]) for r in rows) == Decimal("160000.00")
    assert Decimal(out["total_payable"]) == sum(Decimal(r["payment"]) for r in rows)
    assert out["apr"] == "0.079900"


def test_quote_balloon_and_roll():
    out = json.loads(run("quote", "--method", "balloon", "--principal", "160000", "--annual-rate", "0.0799", "--term", "36",
                         "--start", "2026-08-31", "--balloon-pct", "30", "--roll", "--json").stdout)
    assert out["balloon"] == "48000.00"
    rows = out["schedule"]
    assert rows[0]["due_date"] == "2026-09-30"  # a Wednesday: no roll needed
    assert rows[1]["due_date"] == "2026-11-02"  # 2026-10-31 is a Saturday: rolled to Monday
    assert Decimal(rows[-1]["payment"]) > Decimal("48000")


def test_quote_product_form():
    out = json.loads(run("quote", "--product", "NCL-ANN", "--price", "200000", "--down-payment-pct", "20", "--term", "36",
                         "--start", "2026-11-22", "--fee", "purchase_tax=17699:financed", "--json").stdout)
    assert out["financed_amount"] == "177699.00"
    assert out["down_payment"] == "40000.00"
    assert out["method"] == "annuity"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--product", "NCL-ANN", "--price", "-5", "--down-payment-pct", "20", "--term", "36"], "price"),
        (["--method", "annuity", "--principal", "1000", "--annual-rate", "0.05", "--term", "0"], "term"),
        (["--method", "annuity", "--principal", "1000", "--annual-rate", "1.5", "--term", "12"], "annual_rate"),
        (["--product", "NOPE", "--price", "100000", "--term", "36"], "product"),
        (["--product", "NCL-ANN", "--price", "200000", "--down-payment-pct", "20", "--term", "36", "--fee", "nitro=100:financed"], "fee"),
        (["--method", "annuity", "--principal", "-1", "--annual-rate", "0.05", "--term", "12"], "principal"),
    ],
)
def test_bad_quotes_exit_non_zero_with_one_line_naming_the_field(args, field):
    result = run("quote", *args, "--start", "2026-11-22", "--json", check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {field}:"), lines[0]
    assert result.stdout == ""


def test_store_commands_end_to_end(tmp_path: Path):
    env = {"AUTOFIN_DATA_DIR": str(tmp_path)}
    from autofin.store.migrate import head_revision

    assert f"revision {head_revision()}" in run("db", "upgrade", env=env).stdout
    assert run("products", "sync", env=env).stdout.count("created") == 4
    assert run("products", "sync", env=env).stdout.count("unchanged") == 4
    seeded = run("demo", "seed", "--contracts", "400", "--as-of", "2026-11-20", "--seed", "3", env=env)
    assert "seeded 400 contracts" in seeded.stdout
    assert "seeding contracts: 400/400" in seeded.stderr  # plain progress lines off a terminal
    # the long steps after the count say what they do (SQLite's instalments move in at the end, in due-date order)
    assert "seeding contracts: the instalments move in, in due-date order, their indexes built after (" in seeded.stderr
    summary = run("demo", "summary", "--as-of", "2026-11-20", env=env).stdout
    assert "difference (debit − credit): 0.00" in summary
    assert "BREAK" not in summary and summary.count(" ok") == 9  # 1531, 1122.01–.04, 2221.05 (deferred VAT), 2241.01 (credit), .03 (suspense), .04 (deposits)
    tb = run("ledger", "trial-balance", "--date", "2026-11-20", env=env).stdout
    assert "1531" in tb and "difference (debit − credit): 0.00" in tb
    again = run("demo", "seed", "--contracts", "10", "--as-of", "2026-11-20", env=env, check=False)
    assert again.returncode == 2 and again.stderr.startswith("error: the store already holds 400 contracts")


@pytest.mark.parametrize(("args", "message"), [
    (("--product", "NCL-ANN", "--price", "150000", "--down-payment-pct", "120", "--term", "36"),
     "error: down_payment_pct: 120% is not between 0% and 100%"),
    (("--method", "balloon", "--principal", "100000", "--annual-rate", "0.0799", "--term", "36", "--balloon-pct", "150"),
     "error: balloon_pct: 150% is not between 0% and 100%"),
    (("--method", "annuity", "--principal", "0.001", "--annual-rate", "0.0799", "--term", "36"),
     "error: principal: 0.001 has more decimals than CNY allows"),
    (("--method", "annuity", "--principal", "100000", "--annual-rate", "7.99", "--term", "36"),
     "error: annual_rate: 7.99 is above 1: give the annual rate as a decimal, e.g. 0.0799 for 7.99%"),
])
def test_quote_errors_name_the_option_typed_in_its_unit(args, message):
    result = run("quote", *args, check=False)
    assert result.returncode == 2 and result.stderr.strip() == message


def test_cycle_lines_show_money_in_yuan(tmp_path):
    env = {"AUTOFIN_DATA_DIR": str(tmp_path), "AUTOFIN_BANK_DIR": str(tmp_path / "bank_files"), "AUTOFIN_SIMULATED_TODAY": "2026-11-23",
           "AUTOFIN_DATABASE_URL": ""}
    for args in (("db", "upgrade"), ("products", "sync"), ("demo", "seed", "--contracts", "40", "--as-of", "2026-11-20")):
        run(*args, env=env)
    out = run("cycle", "run", "--date", "2026-11-21", env=env).stdout
    billing = next(line for line in out.splitlines() if " billing " in line)
    assert "_minor" not in out and re.search(r"principal \(CNY\)=[0-9,]+\.[0-9]{2}", billing), billing


@pytest.mark.parametrize("report", [True, False])
def test_a_catch_up_reports_its_steps_to_dagster_unless_told_not_to(tmp_path, report):
    home = tmp_path / "dagster"  # an instance of its own, with Dagster's defaults: everything under its home
    home.mkdir()
    (home / "dagster.yaml").touch()
    env = {"AUTOFIN_DATA_DIR": str(tmp_path), "AUTOFIN_BANK_DIR": str(tmp_path / "bank_files"), "AUTOFIN_SIMULATED_TODAY": "2026-11-23",
           "AUTOFIN_DATABASE_URL": "", "DAGSTER_HOME": str(home), "AUTOFIN_DAGSTER_STORAGE": str(home)}
    for args in (("db", "upgrade"), ("products", "sync"), ("demo", "seed", "--contracts", "20", "--as-of", "2026-11-20")):
        run(*args, env=env)
    out = run("cycle", "catch-up", "--to", "2026-11-22", *(() if report else ("--no-report-to-dagster",)), env=env).stdout
    assert "caught up 2 business dates: 2026-11-21 … 2026-11-22" in out
    reported = re.search(r"reported (\d+) step runs to Dagster", out)
    kept = {p.name for p in home.iterdir()} - {"dagster.yaml"}
    if report:  # every step of both dates, in the instance's run storage
        assert reported is not None and int(reported.group(1)) == 2 * len(STEP_ORDER) and "history" in kept
    else:  # left to the store_runs sensor while the UI runs: the instance is not opened
        assert reported is None and kept == set()
