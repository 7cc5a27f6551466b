"""The clock bounds the business date: a date that has not ended in Asia/Shanghai cannot run or
close, whatever starts it (the runner, catch-up, the CLI, Dagster); simulations say so with
AUTOFIN_SIMULATED_TODAY; a date before the book's cut-over is answered with the cut-over."""

from datetime import date, datetime, timedelta

import pytest
from dagster import materialize

from autofin.servicing.cycle import catch_up, run_day
from autofin.servicing.days import BeforeCutOverError, DayNotEndedError
from autofin.settings import BUSINESS_TZ, business_today
from pipelines.cycle import build_cycle_assets, business_dates_of
from pipelines.resources import ServicingResource
from tests.servicing.conftest import AS_OF, seed
from tests.servicing.test_bank_cycle import context, q
from tests.support.books import seeded_sqlite
from tests.test_cli import run


def failure_messages(result) -> list[str]:
    error, messages = result.get_step_failure_events()[0].event_specific_data.error, []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return messages


def test_today_in_shanghai_cannot_run(sqlite_store, tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOFIN_SIMULATED_TODAY", raising=False)
    today = datetime.now(BUSINESS_TZ).date()
    assert business_today() == today
    seed(sqlite_store, contracts=50)
    for d in (today, today + timedelta(days=1), date(2099, 1, 1)):
        with pytest.raises(DayNotEndedError, match=f"{d} has not ended in Asia/Shanghai"):
            run_day(sqlite_store, d, context(tmp_path))
    assert q(sqlite_store, "SELECT COUNT(*) FROM business_day WHERE business_date >= :d", d=today)[0][0] == 0


def test_a_simulated_clock_runs_ahead_and_stops_at_its_today(sqlite_store, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", str(AS_OF + timedelta(days=3)))
    seed(sqlite_store, contracts=50)
    ctx = context(tmp_path)
    with pytest.raises(DayNotEndedError, match="today is 2026-11-23"):  # refused whole: no day of the gap runs
        catch_up(sqlite_store, AS_OF + timedelta(days=5), ctx)
    assert q(sqlite_store, "SELECT COUNT(*) FROM business_day")[0][0] == 1
    assert catch_up(sqlite_store, AS_OF + timedelta(days=2), ctx) == [AS_OF + timedelta(days=1), AS_OF + timedelta(days=2)]
    with pytest.raises(DayNotEndedError, match="the latest business date that can run is 2026-11-22"):
        run_day(sqlite_store, AS_OF + timedelta(days=3), ctx)
    assert [str(d)[:10] for (d,) in q(sqlite_store, "SELECT business_date FROM business_day ORDER BY 1")] == \
        ["2026-11-20", "2026-11-21", "2026-11-22"]


@pytest.mark.parametrize("d", [AS_OF, AS_OF - timedelta(days=1), date(2020, 1, 1)])
def test_a_date_before_the_cut_over_names_it(sqlite_store, tmp_path, d):
    seed(sqlite_store, contracts=50)
    with pytest.raises(BeforeCutOverError, match=f"{d} is not after the book's cut-over on 2026-11-20: the cycle runs from 2026-11-21 on"):
        run_day(sqlite_store, d, context(tmp_path))


def test_the_cli_refuses_in_one_line(tmp_path):
    env = {"AUTOFIN_DATA_DIR": str(tmp_path), "AUTOFIN_BANK_DIR": str(tmp_path / "bank_files"), "AUTOFIN_SIMULATED_TODAY": "",
           "AUTOFIN_DATABASE_URL": ""}
    for args in (("db", "upgrade"), ("products", "sync"), ("demo", "seed", "--contracts", "20", "--as-of", "2026-11-20")):
        run(*args, env=env)
    today = datetime.now(BUSINESS_TZ).date()
    for args, message in (
        (("cycle", "run", "--date", str(today)), f"{today} has not ended in Asia/Shanghai"),
        (("cycle", "catch-up", "--to", str(today + timedelta(days=3))), f"{today + timedelta(days=3)} has not ended"),
        (("cycle", "run", "--date", "2026-11-19"), "not after the book's cut-over on 2026-11-20"),
    ):
        result = run(*args, env=env, check=False)
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_dagster_refuses_a_date_that_has_not_ended(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", "2026-11-21")
    url = seeded_sqlite(tmp_path / "autofin.db", contracts=30, as_of=date(2026, 11, 20), seed=4)
    resources = {"servicing": ServicingResource(database_url=url, bank_dir=str(tmp_path / "bank_files"))}
    first = build_cycle_assets(partitions=business_dates_of(url))[0]
    result = materialize([first], partition_key="2026-11-21", resources=resources, raise_on_error=False)
    assert not result.success
    assert any("2026-11-21 has not ended in Asia/Shanghai" in m for m in failure_messages(result))


def test_the_bank_day_is_a_column_of_the_business_day(sqlite_store, tmp_path, monkeypatch):
    """Opening a day records whether the banks work on it; migration 0010 fills the column from the
    step runs of days opened before it existed. The cut-over day was never opened: NULL."""
    from autofin.store.migrate import downgrade, upgrade

    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", "2026-11-25")
    seed(sqlite_store, contracts=50)
    catch_up(sqlite_store, date(2026, 11, 23), context(tmp_path))  # Saturday, Sunday, Monday
    flags = "SELECT business_date, is_bank_day FROM business_day ORDER BY 1"
    expected = [("2026-11-20", None), ("2026-11-21", 0), ("2026-11-22", 0), ("2026-11-23", 1)]
    assert [(str(d)[:10], f) for d, f in q(sqlite_store, flags)] == expected
    downgrade(sqlite_store, "0009")
    upgrade(sqlite_store)
    assert [(str(d)[:10], f) for d, f in q(sqlite_store, flags)] == expected
