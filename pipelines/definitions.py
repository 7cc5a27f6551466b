"""The one Definitions of the code location (`dagster dev -m pipelines.definitions`)."""

from dagster import Definitions
from dagster_dbt import DbtCliResource

from autofin.reporting.warehouse import dbt_executable
from pipelines.automation import (
    bank_file_sensor,
    nightly_cycle_job,
    nightly_reports_job,
    reports_after_cycle_sensor,
    servicing_nightly_schedule,
    store_runs_sensor,
)
from pipelines.cycle import cycle_assets, cycle_checks
from pipelines.reports import dbt_project, excel_pack, gx_checks, store_tables, warehouse_models
from pipelines.resources import ServicingResource

defs = Definitions(
    assets=[*cycle_assets, *store_tables, warehouse_models, excel_pack],
    asset_checks=[*cycle_checks, *gx_checks],
    jobs=[nightly_cycle_job, nightly_reports_job],
    schedules=[servicing_nightly_schedule],
    sensors=[bank_file_sensor, reports_after_cycle_sensor, store_runs_sensor],
    resources={"servicing": ServicingResource(), "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())},
)
