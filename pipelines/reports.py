"""Reports as assets downstream of the cycle: the dbt models (dagster-dbt; dbt tests become asset
checks), the Excel pack for the latest closed business date, and Great Expectations suites."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import AssetCheckResult, AssetChecksDefinition, AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, asset, asset_check
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets, get_asset_key_for_model

from autofin.reference import read_yaml
from autofin.reporting.excel import build_pack
from autofin.reporting.quality import run_suites
from autofin.reporting.warehouse import DBT_PROJECT, dbt_executable, prepare_build, publish
from autofin.servicing.days import last_closed_day
from autofin.settings import PROJECT_ROOT
from pipelines.resources import ServicingResource

dbt_project = DbtProject(project_dir=DBT_PROJECT, profiles_dir=DBT_PROJECT, target_path=PROJECT_ROOT / "data" / "dbt" / "dagster")


def ensure_manifest() -> Path:
    """The manifest Dagster reads its assets from; `dbt parse` rewrites it when a project file is newer."""
    manifest = dbt_project.manifest_path
    newest = max(p.stat().st_mtime for p in DBT_PROJECT.rglob("*") if p.suffix in (".sql", ".yml"))
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        subprocess.run([dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT), "--quiet",
                        "--target-path", str(dbt_project.target_path)], check=True, capture_output=True)
    return dbt_project.manifest_path


def _source_tables(source: str) -> list[str]:
    spec = read_yaml(DBT_PROJECT / "models" / "staging" / "_sources.yml")
    return [t["name"] for s in spec["sources"] if s["name"] == source for t in s["tables"]]


# The store's tables as the cycle leaves them each night: the dbt sources read them.
store_tables = [
    AssetSpec(["store", table], group_name="store", deps=["closed_business_day"], description=f"The `{table}` table of the transactional store.")
    for table in _source_tables("store")
] + [AssetSpec(["reference", "chart_of_accounts"], group_name="store", description="The chart of accounts from assets/, written before dbt runs.")]


class ReportsTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props):  # noqa: ANN001, ANN201
        return "reports"


@dbt_assets(manifest=ensure_manifest(), project=dbt_project, dagster_dbt_translator=ReportsTranslator(), name="warehouse_models")
def warehouse_models(context: AssetExecutionContext, dbt: DbtCliResource, servicing: ServicingResource) -> Iterator[Any]:
    """The whole warehouse, built into a new file and published when every model and test passed."""
    if context.is_subset:
        raise ValueError("the warehouse is built whole (it is published as one file): select every model")
    path, env = prepare_build(servicing.database_url or None)
    os.environ.update(env)
    yield from dbt.cli(["build"], context=context, target_path=Path(env["AUTOFIN_DBT_TARGET_FILE"]).parent / "dbt" / "dagster-runs").stream()
    publish(path)


RPT_MODELS = [p.stem for p in (DBT_PROJECT / "models" / "marts").rglob("rpt_*.sql")]


@asset(group_name="reports", deps=[get_asset_key_for_model([warehouse_models], m) for m in sorted(RPT_MODELS)],
       description="The Excel pack (one workbook per area and a KPI summary) for the latest closed business date.", kinds={"excel"})
def excel_pack(context: AssetExecutionContext, servicing: ServicingResource) -> MaterializeResult:
    with servicing.engine().connect() as conn:
        d = last_closed_day(conn)
    if d is None:
        raise ValueError("no business day is closed yet: run the cycle first")
    pack = build_pack(d)
    return MaterializeResult(metadata={
        "business_date": d.isoformat(),
        "folder": MetadataValue.path(str(pack.folder)),
        "workbooks": MetadataValue.md("\n".join(f"- **{name}**: {', '.join(sheets)}" for name, sheets in pack.workbooks.items())),
    })


def _gx_check(suite: str, model: str) -> AssetChecksDefinition:
    @asset_check(asset=get_asset_key_for_model([warehouse_models], model), name=f"gx_{suite}", blocking=False,
                 description=f"Great Expectations suite '{suite}' on {model}.")
    def _fn() -> AssetCheckResult:
        result = next(r for r in run_suites(only=[suite]) if r.suite == suite)
        return AssetCheckResult(passed=result.success, metadata={"rows": result.rows, "failed_expectations": MetadataValue.json(result.failed)})

    return _fn


gx_checks = [_gx_check("fct_contracts", "fct_contracts"), _gx_check("debit_orders", "int_debit_orders_answered"),
             _gx_check("debit_success", "rpt_operations__debit_success"), _gx_check("trial_balance", "rpt_finance__trial_balance")]
