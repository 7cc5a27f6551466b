"""The store is the truth of the cycle; Dagster shows it. A business date run outside Dagster (the
CLI, `make demo`, a script) leaves its step runs in the store and nothing in Dagster's event log:
`report_store_runs` reports each such step as a materialization of its asset for that date, with
the step's figures, once, and each closed day's ledger checks as passed (a day closes only when
they pass). Runs made through Dagster are already there and are left alone.

Called by the CLI after it runs days (`autofin cycle run|catch-up`, `autofin demo cycle`) and by
the `store_runs_sensor` every minute while Dagster runs.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import date

from dagster import AssetCheckEvaluation, AssetKey, AssetMaterialization, DagsterInstance, DailyPartitionsDefinition, RunsFilter
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES
from sqlalchemy import Engine, select

from autofin.servicing.cycle import STEP_ORDER
from autofin.settings import PROJECT_ROOT
from autofin.store.models import StepRun
from pipelines.cycle import ASSETS, CHECKS, metadata_of


def dagster_instance() -> DagsterInstance:
    """The instance `make ui` runs with: DAGSTER_HOME, else the project root (its dagster.yaml keeps
    everything under AUTOFIN_DAGSTER_STORAGE, by default .dagster_home/)."""
    home = os.environ.get("DAGSTER_HOME") or str(PROJECT_ROOT)
    os.environ.setdefault("AUTOFIN_DAGSTER_STORAGE", str(PROJECT_ROOT / ".dagster_home"))
    return DagsterInstance.from_config(home)


def report_store_runs(instance: DagsterInstance, engine: Engine, partitions: DailyPartitionsDefinition | None = None) -> int:
    """Report every step the store has done that Dagster has not seen; returns how many. A date a
    Dagster run is working on is left to that run (its steps commit in the store a moment before
    Dagster records them)."""
    with engine.connect() as conn:
        runs = conn.execute(select(StepRun.step, StepRun.business_date, StepRun.shard, StepRun.counts)
                            .order_by(StepRun.business_date, StepRun.step_run_id)).all()
    by_step: dict[str, dict[date, dict[str, dict]]] = defaultdict(lambda: defaultdict(dict))
    for step, d, shard, counts in runs:
        by_step[step][d][shard] = counts or {}
    offered = None if partitions is None else set(partitions.get_partition_keys())
    running = {run.tags.get("dagster/partition") for run in instance.get_runs(RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES))}
    reported = 0
    for step in STEP_ORDER:
        key = AssetKey(ASSETS[step][0])
        seen = instance.get_materialized_partitions(key)
        for d, shards in sorted(by_step[step].items()):
            partition = d.isoformat()
            if partition in seen or partition in running or (offered is not None and partition not in offered):
                continue
            counts = shards.get("all") or {"shards": dict(sorted(shards.items()))}
            meta = {**metadata_of(counts, skipped=False, seconds=0.0), "run outside Dagster": True}
            instance.report_runless_asset_event(AssetMaterialization(key, partition=partition, metadata=meta,
                                                                     description="reported from the store's step run"))
            reported += 1
            if step == "day_close":
                for check in CHECKS:
                    instance.report_runless_asset_event(AssetCheckEvaluation(
                        asset_key=key, check_name=check, passed=True, partition=partition,
                        metadata={"business_date": partition, "how": "the day closed, which it does only when this check passes"}))
    return reported
