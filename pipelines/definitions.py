"""The one Definitions of the code location (`dagster dev -m pipelines.definitions`)."""

from dagster import Definitions

from pipelines.automation import bank_file_sensor, nightly_cycle_job, servicing_nightly_schedule
from pipelines.cycle import cycle_assets, cycle_checks
from pipelines.resources import ServicingResource

defs = Definitions(
    assets=cycle_assets,
    asset_checks=cycle_checks,
    jobs=[nightly_cycle_job],
    schedules=[servicing_nightly_schedule],
    sensors=[bank_file_sensor],
    resources={"servicing": ServicingResource()},
)
