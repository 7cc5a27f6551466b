"""When the cycle runs: every night for the business date just ended, and when bank files arrive."""


from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
    run_status_sensor,
    sensor,
)
from dagster import (
    RunRequest as _RunRequest,
)

from autofin.servicing.cycle import step_done
from autofin.settings import cycle_shards
from pipelines.cycle import business_dates  # the job's partitions come from its assets
from pipelines.resources import ServicingResource
from pipelines.sync import report_store_runs

# the steps run one after the other in one process (a re-run of a closed date takes seconds, not a
# process per step); contract shards, when configured, need processes of their own
nightly_cycle_job = define_asset_job(
    "nightly_cycle_job",
    selection=AssetSelection.groups("servicing", "bank", "ledger"),
    description="The whole nightly servicing cycle for one business date.",
    executor_def=in_process_executor if cycle_shards() == 1 else multiprocess_executor,
)

# the last complete partition, i.e. the business date that just ended (Asia/Shanghai), at 01:30
servicing_nightly_schedule = build_schedule_from_partitioned_job(
    nightly_cycle_job, name="servicing_nightly_schedule", hour_of_day=1, minute_of_hour=30, default_status=DefaultScheduleStatus.STOPPED
)


@sensor(job=nightly_cycle_job, minimum_interval_seconds=300, description="Bank files waiting at the banks for the open business date.")
def bank_file_sensor(context: SensorEvaluationContext, servicing: ServicingResource):  # noqa: ANN201
    ctx = servicing.context()
    waiting = {code: ctx.transport(profile).list_inbound() for code, profile in ctx.banks.items()}
    names = sorted(f"{code}/{name}" for code, files in waiting.items() for name in files)
    if not names:
        return SkipReason("no bank files waiting")
    partition = business_dates.get_last_partition_key()
    if partition is None:
        return SkipReason("no business date to run yet")
    from datetime import date

    with servicing.engine().connect() as conn:
        done = step_done(conn, "bank_returns", date.fromisoformat(partition)) is not None
    if done:
        return SkipReason(f"{len(names)} bank files waiting; {partition} has taken its answers, the next business date applies them")
    return RunRequest(run_key=f"{partition}:{'|'.join(names)}", partition_key=partition, tags={"trigger": "bank files arrived"})


nightly_reports_job = define_asset_job(
    "nightly_reports_job", selection=AssetSelection.groups("reports"), description="dbt build of the warehouse, then the Excel pack."
)


# on by default: the nightly schedule is the one switch, and every cycle that succeeds, scheduled
# or started by hand, is followed by its reports
@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[nightly_cycle_job], request_job=nightly_reports_job,
                   default_status=DefaultSensorStatus.RUNNING,
                   description="After each successful nightly cycle, rebuild the warehouse and the Excel pack for its business date.")
def reports_after_cycle_sensor(context):  # noqa: ANN001, ANN201
    business_date = context.dagster_run.tags.get("dagster/partition", "")
    return _RunRequest(run_key=context.dagster_run.run_id, tags={"autofin/business_date": business_date} if business_date else {})


@sensor(minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Reports to Dagster the business dates run outside it (the CLI, make demo), so both show the same days.")
def store_runs_sensor(context: SensorEvaluationContext, servicing: ServicingResource) -> SkipReason:
    reported = report_store_runs(context.instance, servicing.engine(), business_dates)
    return SkipReason(f"reported {reported} step runs from the store" if reported else "Dagster shows every step run of the store")
