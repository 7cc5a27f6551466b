"""The Dagster code location loads, every job resolves, and a business date materialises
end to end in-process against a seeded store, with its asset checks green."""

import json
import warnings
from datetime import date
from decimal import Decimal

from dagster import AssetKey, DagsterInstance, materialize

from pipelines.cycle import ASSETS, build_cycle_assets, build_cycle_checks, business_dates_of
from pipelines.definitions import defs
from pipelines.resources import ServicingResource
from tests.support.books import seeded_sqlite

warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*")


ASSET_NAMES = [name for name, _, _ in ASSETS.values()]


def cycle_for(url: str, shards: int = 1) -> tuple[list, list]:
    """The cycle's assets and checks with the partitions of the book at `url` (from its cut-over)."""
    partitions = business_dates_of(url)
    return build_cycle_assets(shards, partitions), build_cycle_checks(partitions)


def test_definitions_load_and_every_job_resolves():
    for job in defs.jobs:
        defs.resolve_job_def(job.name)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {name for name, _, _ in ASSETS.values()} <= keys
    assert {"excel_pack", "asset/fct_contracts", "finance/rpt_finance__trial_balance", "store/instalment"} <= keys
    groups = {graph.get(AssetKey(name)).group_name for name, _, _ in ASSETS.values()}
    assert groups == {"servicing", "bank", "ledger"}
    assert graph.get(AssetKey(["finance", "rpt_finance__trial_balance"])).group_name == "reports"
    # the warehouse reads what the cycle leaves: store tables sit downstream of the closed business day
    assert AssetKey("closed_business_day") in graph.get(AssetKey(["store", "instalment"])).parent_keys
    checks = {k.name for k in graph.asset_check_keys}
    assert {"trial_balance_zero", "no_quarantined_files", "gx_fct_contracts"} <= checks and len(checks) >= 28
    assert defs.resolve_schedule_def("servicing_nightly_schedule").execution_timezone == "Asia/Shanghai"
    assert defs.resolve_sensor_def("bank_file_sensor") and defs.resolve_sensor_def("reports_after_cycle_sensor")


def test_a_business_date_materialises_with_green_checks(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(tmp_path))
    # partitions exist up to the last complete day (Asia/Shanghai): test on dates that have passed
    url = seeded_sqlite(tmp_path / "autofin.db", contracts=300, as_of=date(2026, 11, 18), seed=4)
    resources = {"servicing": ServicingResource(database_url=url, bank_dir=str(tmp_path / "bank_files"))}
    instance = DagsterInstance.ephemeral()
    cycle_assets, cycle_checks = cycle_for(url)
    assert cycle_assets[0].partitions_def.get_first_partition_key() == "2026-11-19"  # the day after the cut-over
    for day in ("2026-11-19", "2026-11-20", "2026-11-21"):
        result = materialize([*cycle_assets, *cycle_checks], partition_key=day, resources=resources, instance=instance)
        assert result.success
        checks = result.get_asset_check_evaluations()
        assert len(checks) == 8 and all(c.passed for c in checks), [(c.check_name, c.metadata) for c in checks if not c.passed]
        if day == "2026-11-20":  # a Friday: debit files go out
            meta = result.asset_materializations_for_node("debit_files")[0].metadata
            assert meta["orders"].value > 0 and "summary" in meta and Decimal(meta["amount (CNY)"].value.replace(",", "")) > 0
        # the closed day in money, and no amount anywhere in fen
        closed = result.asset_materializations_for_node("closed_business_day")[0].metadata
        assert closed["trial balance debit (CNY)"].value == closed["trial balance credit (CNY)"].value != "0.00"
        assert closed["trial balance difference (CNY)"].value == "0.00"
        assert "BREAK" not in closed["control accounts"].value and closed["control accounts"].value.count("| ok |") == 9
        assert "| current |" in closed["active contracts by bucket"].value and closed["active contracts"].value > 0
        for node in ASSET_NAMES:
            for materialization in result.asset_materializations_for_node(node):
                shown = json.dumps({k: getattr(v, "value", v) for k, v in materialization.metadata.items()}, default=str)
                assert "_minor" not in shown, (node, shown[:300])
    assert (tmp_path / "bank_files" / "remote" / "BOC" / "upload" / "AFBOC20261120001.xml").exists()
    # re-materialising a done date changes nothing and says so
    again = materialize([cycle_assets[0]], partition_key="2026-11-21", resources=resources, instance=instance)
    assert again.asset_materializations_for_node("business_day")[0].metadata["already_done_before_this_run"].value is True


def test_a_date_out_of_order_fails_clearly(tmp_path):
    url = seeded_sqlite(tmp_path / "autofin.db", contracts=50, as_of=date(2026, 11, 10), seed=4)
    resources = {"servicing": ServicingResource(database_url=url, bank_dir=str(tmp_path / "bank_files"))}
    cycle_assets, _ = cycle_for(url)
    result = materialize([cycle_assets[0]], partition_key="2026-11-15", resources=resources, raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].event_specific_data.error
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    assert any("2026-11-14 is not closed" in m and "catch-up" in m for m in messages), messages


def test_the_reports_materialise_after_the_cycle(tmp_path, monkeypatch):
    from dagster_dbt import DbtCliResource

    from autofin.reporting.warehouse import dbt_executable
    from pipelines.reports import dbt_project, excel_pack, gx_checks, store_tables, warehouse_models

    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AUTOFIN_REPORTS_DIR", str(tmp_path / "reports"))
    url = seeded_sqlite(tmp_path / "autofin.db", contracts=200, as_of=date(2026, 11, 18), seed=4)
    resources = {"servicing": ServicingResource(database_url=url, bank_dir=str(tmp_path / "bank_files")),
                 "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())}
    cycle_assets, cycle_checks = cycle_for(url)
    assert materialize([*cycle_assets, *cycle_checks], partition_key="2026-11-19", resources=resources).success
    result = materialize([*store_tables, warehouse_models, excel_pack, *gx_checks], resources=resources,
                         selection=[warehouse_models, excel_pack])
    assert result.success
    assert (tmp_path / "warehouse.duckdb").exists() and not (tmp_path / "warehouse.building.duckdb").exists()
    checks = result.get_asset_check_evaluations()
    assert len(checks) >= 20 and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
    assert (tmp_path / "reports" / "2026-11-19" / "kpi-summary-2026-11-19.xlsx").exists()


def test_the_cycle_in_contract_shards_under_dagster(tmp_path, monkeypatch):
    """AUTOFIN_CYCLE_SHARDS=3: the per-contract steps fan out into three shard ops and join; the
    date closes with its checks green and every shard's done-mark in the store."""
    from sqlalchemy import text

    from autofin.store.engine import make_engine
    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(tmp_path))
    url = seeded_sqlite(tmp_path / "autofin.db", contracts=300, as_of=date(2026, 11, 18), seed=4)
    resources = {"servicing": ServicingResource(database_url=url, bank_dir=str(tmp_path / "bank_files"))}
    sharded, cycle_checks = cycle_for(url, shards=3)
    result = materialize([*sharded, *cycle_checks], partition_key="2026-11-19", resources=resources, instance=DagsterInstance.ephemeral())
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    shard_ops = {e.step_key for e in result.get_step_success_events() if "__shard[" in e.step_key}
    assert len(shard_ops) == 12  # 4 steps × 3 shards
    meta = result.asset_materializations_for_node("billed_instalments")[0].metadata
    assert set(meta["shards"].value) == {"0of3", "1of3", "2of3"}
    engine = make_engine(url)
    with engine.connect() as conn:
        marks = dict(conn.execute(text("SELECT step, COUNT(*) FROM step_run WHERE business_date = '2026-11-19' GROUP BY step")).all())
        closed = conn.execute(text("SELECT status FROM business_day WHERE business_date = '2026-11-19'")).scalar_one()
    engine.dispose()
    assert closed == "closed" and {k for k, v in marks.items() if v == 3} == {"billing", "delinquency", "penalties", "allocation"}


def test_days_run_outside_dagster_are_reported_to_it_once(tmp_path, monkeypatch):
    """The store and Dagster agree however a day was run: the CLI's days appear as materializations
    of every step asset for those dates, with the step's figures, and the closed days' ledger
    checks as passed; a second report adds nothing; a day Dagster ran itself is not reported again."""
    from autofin.servicing.context import default_context
    from autofin.servicing.cycle import STEP_ORDER, run_day
    from autofin.store.engine import make_engine
    from pipelines.sync import report_store_runs

    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AUTOFIN_BANK_DIR", str(tmp_path / "bank_files"))
    url = seeded_sqlite(tmp_path / "autofin.db", contracts=120, as_of=date(2026, 11, 18), seed=4)
    engine = make_engine(url)
    partitions = business_dates_of(url)
    instance = DagsterInstance.ephemeral()
    cycle_assets, _ = cycle_for(url)
    resources = {"servicing": ServicingResource(database_url=url, bank_dir=str(tmp_path / "bank_files"))}
    assert materialize(cycle_assets, partition_key="2026-11-19", resources=resources, instance=instance).success  # through Dagster
    for d in (date(2026, 11, 20), date(2026, 11, 21)):  # outside it, as the CLI does
        run_day(engine, d, default_context())

    assert report_store_runs(instance, engine, partitions) == 2 * len(STEP_ORDER)
    assert report_store_runs(instance, engine, partitions) == 0
    for name in ASSET_NAMES:
        assert instance.get_materialized_partitions(AssetKey(name)) == {"2026-11-19", "2026-11-20", "2026-11-21"}
    event = instance.get_latest_materialization_event(AssetKey("closed_business_day"))
    assert event.asset_materialization.partition == "2026-11-21"
    assert event.asset_materialization.metadata["run outside Dagster"].value is True
    debits = instance.get_latest_materialization_event(AssetKey("debit_files")).asset_materialization
    assert debits.partition == "2026-11-21" and "_minor" not in json.dumps({k: getattr(v, "value", v) for k, v in debits.metadata.items()},
                                                                          default=str)
    from dagster import AssetCheckKey

    check = instance.event_log_storage.get_latest_asset_check_execution_by_key([AssetCheckKey(AssetKey("closed_business_day"),
                                                                                              "trial_balance_zero")])
    assert check  # the closed days' checks are there, passed

    # a date a Dagster run is working on is left to that run
    from dagster import DagsterRunStatus
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._core.utils import make_new_run_id

    running = DagsterRun(job_name="nightly_cycle_job", run_id=make_new_run_id(), status=DagsterRunStatus.STARTED,
                         tags={"dagster/partition": "2026-11-22"})
    instance.add_run(running)
    run_day(engine, date(2026, 11, 22), default_context())
    assert report_store_runs(instance, engine, partitions) == 0
    instance.delete_run(running.run_id)
    assert report_store_runs(instance, engine, partitions) == len(STEP_ORDER)


def test_the_answers_read_by_reader_processes_under_dagster(tmp_path, monkeypatch):
    """AUTOFIN_ANSWER_READERS=2: inside a Dagster materialization the night's answer files are read by
    two spawned reader processes, begun once the business day is open (the in-process executor runs
    the night's steps in one process), and the day applies them and closes with its checks green."""
    from autofin.bankfiles.simulator import simulate
    from autofin.reference import bank_profiles

    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AUTOFIN_ANSWER_READERS", "2")
    url = seeded_sqlite(tmp_path / "autofin.db", contracts=300, as_of=date(2026, 11, 18), seed=4)
    resources = {"servicing": ServicingResource(database_url=url, bank_dir=str(tmp_path / "bank_files"))}
    instance = DagsterInstance.ephemeral()
    cycle_assets, cycle_checks = cycle_for(url)
    for day in ("2026-11-19", "2026-11-20"):  # the Friday's debits go out
        assert materialize([*cycle_assets, *cycle_checks], partition_key=day, resources=resources, instance=instance).success
    for code, profile in bank_profiles().items():
        simulate(profile, tmp_path / "bank_files" / "remote" / code, date(2026, 11, 20), seed=3)
    result = materialize([*cycle_assets, *cycle_checks], partition_key="2026-11-21", resources=resources, instance=instance)
    assert result.success and all(c.passed for c in result.get_asset_check_evaluations())
    answers = result.asset_materializations_for_node("bank_answers")[0].metadata
    assert answers["reader_processes"].value == 2
    assert answers["fetched_ahead"].value == answers["fetched"].value >= 3  # fetched, and their reading begun, by business_day
    assert answers["settled"].value > 0 and answers["records_read"].value > answers["settled"].value
    assert len(answers["applied"].value) >= 3 and "quarantined" not in answers  # every file read by the readers applied
