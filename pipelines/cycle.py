"""The nightly servicing cycle as assets: one per step, partitioned by business date.

Each asset runs its step through `run_step` (atomic, idempotent: re-materialising a done date
changes nothing and shows the original figures). Metadata carries the step's counts and amounts
in a form a finance user reads; asset checks sit beside the assets they check.

With AUTOFIN_CYCLE_SHARDS=N (N > 1) the per-contract steps (billing, delinquency, penalties,
allocation) are graph-backed assets that fan out into N contract-shard ops and join again: under
the multiprocess executor (the default for jobs) the shards of one date run in parallel
processes, on a Celery or Kubernetes executor on as many machines. The bank and ledger steps
stay whole.
"""


from dataclasses import replace
from datetime import date
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    DailyPartitionsDefinition,
    DynamicOut,
    DynamicOutput,
    In,
    MaterializeResult,
    MetadataValue,
    Nothing,
    OpExecutionContext,
    Output,
    asset,
    asset_check,
    graph_asset,
    op,
)
from sqlalchemy import text

from autofin.domain.money import from_minor
from autofin.servicing.checks import nightly_checks, schedules_repay_financed
from autofin.servicing.cycle import run_step
from autofin.servicing.shards import SHARDED_STEPS
from autofin.servicing.shards import split as split_shards
from autofin.settings import cycle_shards
from autofin.store.migrate import require_current
from pipelines.resources import ServicingResource

business_dates = DailyPartitionsDefinition(start_date="2026-11-01", timezone="Asia/Shanghai", end_offset=0)

# step → (asset name, group, description)
ASSETS = {
    "business_day": ("business_day", "servicing", "Opens the business date; refuses if the day before is not closed."),
    "billing": ("billed_instalments", "servicing", "Billing rollover (账单结转): instalments due become billed receivables."),
    "delinquency": ("arrears", "servicing", "Days past due, buckets, collection cases opened and closed."),
    "penalties": ("penalty_accruals", "servicing", "Penalty interest (罚息) per each contract's frozen terms."),
    "debit_orders": ("debit_files", "bank", "Direct-debit orders grouped per bank into pain.008 / domestic files."),
    "bank_upload": ("bank_uploads", "bank", "Debit files sent to the banks (SFTP, temporary name then rename)."),
    "bank_returns": ("bank_answers", "bank", "pain.002 / camt.054 / camt.053 / result files checked and applied; bad ones quarantined."),
    "allocation": ("allocations", "servicing", "Receipts applied by the frozen waterfall; overpayments to customer credit."),
    "reconciliation": ("reconciliation_breaks", "bank", "Bank statements against receipts; breaks listed, never dropped."),
    "vouchers": ("vouchers", "ledger", "Every money event of the day has its balanced voucher."),
    "voucher_export": ("voucher_export", "ledger", "The day's vouchers as the ledger system's interchange file."),
    "day_close": ("closed_business_day", "ledger", "Control checks, then the business date closes."),
}


def _is_amount(key: str) -> bool:
    return key.endswith("_minor")


def _metadata(counts: dict[str, Any], skipped: bool, seconds: float) -> dict[str, Any]:
    meta: dict[str, Any] = {"already_done_before_this_run": skipped, "seconds": round(seconds, 3)}
    rows = []
    for key, value in counts.items():
        if _is_amount(key) and isinstance(value, int):
            label = key.removesuffix("_minor") + " (CNY)"
            meta[label] = MetadataValue.float(float(from_minor(value)))  # display only; the books stay exact
            rows.append(f"| {label} | {from_minor(value):,.2f} |")
        elif isinstance(value, (int, float, str, bool)):
            meta[key] = value
            rows.append(f"| {key} | {value} |")
        elif value:
            meta[key] = MetadataValue.json(value)
    if rows:
        meta["summary"] = MetadataValue.md("| figure | value |\n|---|---:|\n" + "\n".join(rows))
    return meta


def _step_asset(step: str, upstream: str | None) -> AssetsDefinition:
    name, group, description = ASSETS[step]

    @asset(name=name, group_name=group, description=description, partitions_def=business_dates, deps=[upstream] if upstream else [],
           kinds={"python", "sql"})
    def _asset(context: AssetExecutionContext, servicing: ServicingResource) -> MaterializeResult:
        d = date.fromisoformat(context.partition_key)
        engine = servicing.engine()
        if step == "business_day":
            require_current(engine)  # once per date, before anything is written
        result = run_step(engine, step, d, servicing.context())
        context.log.info("%s %s: %s", d, step, result.counts)
        return MaterializeResult(metadata=_metadata(result.counts, result.skipped, result.seconds))

    return _asset


def _sharded_step_asset(step: str, upstream: str, count: int) -> AssetsDefinition:
    """The step as a graph: one op per contract shard between a fan-out and a join."""
    name, group, description = ASSETS[step]

    @op(name=f"{name}__fan_out", ins={"after": In(Nothing)}, out=DynamicOut(str))
    def fan_out():  # noqa: ANN202
        for shard in split_shards(count):
            yield DynamicOutput(shard.key, mapping_key=shard.key)

    @op(name=f"{name}__shard", tags={"kind": "contract-shard"})
    def one_shard(context: OpExecutionContext, servicing: ServicingResource, shard: str) -> dict:
        d = date.fromisoformat(context.partition_key)
        result = run_step(servicing.engine(), step, d, replace(servicing.context(), shard=shard))
        context.log.info("%s %s shard %s: %s", d, step, shard, result.counts)
        return {"shard": shard, "counts": result.counts, "skipped": result.skipped, "seconds": result.seconds}

    @op(name=f"{name}__join")
    def join(results: list[dict]) -> Output:
        counts = {"shards": {r["shard"]: r["counts"] for r in sorted(results, key=lambda r: r["shard"])}}
        return Output(None, metadata=_metadata(counts, all(r["skipped"] for r in results), max(r["seconds"] for r in results)))

    @graph_asset(name=name, group_name=group, description=f"{description} Runs as {count} contract shards.",
                 partitions_def=business_dates, ins={"after": AssetIn(upstream, dagster_type=Nothing)}, kinds={"python", "sql"})
    def _asset(after):  # noqa: ANN001, ANN202
        return join(fan_out(after).map(one_shard).collect())

    return _asset


def build_cycle_assets(shards: int = 1) -> list:
    from autofin.servicing.cycle import STEP_ORDER

    out: list[AssetsDefinition] = []
    upstream: str | None = None
    for step in STEP_ORDER:
        sharded = shards > 1 and step in SHARDED_STEPS and upstream is not None
        out.append(_sharded_step_asset(step, upstream, shards) if sharded and upstream else _step_asset(step, upstream))
        upstream = ASSETS[step][0]
    return out


cycle_assets = build_cycle_assets(cycle_shards())


def _check(name: str, asset_name: str, description: str) -> AssetChecksDefinition:
    @asset_check(asset=asset_name, name=name, description=description, partitions_def=business_dates, blocking=False)
    def _fn(context, servicing: ServicingResource) -> AssetCheckResult:  # noqa: ANN001
        d = date.fromisoformat(context.partition_key)
        with servicing.engine().connect() as conn:
            problems = nightly_checks(conn, d)[name]
        return AssetCheckResult(passed=not problems, metadata={"problems": MetadataValue.json(problems), "business_date": d.isoformat()})

    return _fn


CHECKS = {
    "trial_balance_zero": "Debits equal credits over all postings to the date.",
    "subledger_ties_to_ledger": "Contract balances by component equal the GL control accounts.",
    "no_negative_balances": "No instalment paid beyond what it owes; no negative customer credit.",
    "dpd_consistent": "Each contract's DPD equals the age of its oldest unpaid billed instalment.",
    "debits_accounted_for": "Every debit order sent is answered or in flight.",
}
ledger_checks = [_check(name, "closed_business_day", description) for name, description in CHECKS.items()]


@asset_check(asset="bank_answers", name="no_quarantined_files", partitions_def=business_dates, blocking=False,
             description="Fails, naming them, when bank files of the date were quarantined (the good ones still applied).")
def no_quarantined_files(context, servicing: ServicingResource) -> AssetCheckResult:  # noqa: ANN001
    d = date.fromisoformat(context.partition_key)
    with servicing.engine().connect() as conn:
        rows = conn.execute(
            text("SELECT bank_code, file_name, reason FROM bank_file WHERE status = 'quarantined' AND business_date = :d ORDER BY file_name"),
            {"d": d},
        ).all()
    return AssetCheckResult(
        passed=not rows,
        metadata={"quarantined": MetadataValue.md("\n".join(f"- **{b} {f}**: {r}" for b, f, r in rows) or "none")},
    )


@asset_check(asset="debit_files", name="files_match_orders", partitions_def=business_dates, blocking=False,
             description="Each debit file's registered count and control sum equal its orders.")
def files_match_orders(context, servicing: ServicingResource) -> AssetCheckResult:  # noqa: ANN001
    d = date.fromisoformat(context.partition_key)
    with servicing.engine().connect() as conn:
        bad = conn.execute(
            text("SELECT b.message_id FROM debit_batch b WHERE b.business_date = :d AND (b.tx_count <> "
                 "(SELECT COUNT(*) FROM debit_order o WHERE o.debit_batch_id = b.debit_batch_id) OR b.ctrl_sum_minor <> "
                 "(SELECT COALESCE(SUM(o.amount_minor), 0) FROM debit_order o WHERE o.debit_batch_id = b.debit_batch_id))"),
            {"d": d},
        ).scalars().all()
    return AssetCheckResult(passed=not bad, metadata={"mismatched_files": MetadataValue.json(list(bad))})


@asset_check(asset="closed_business_day", name="schedules_repay_financed", partitions_def=business_dates, blocking=False,
             description="Σ instalment principal = financed amount for every contract (scans the whole book).")
def schedules_repay_financed_check(context, servicing: ServicingResource) -> AssetCheckResult:  # noqa: ANN001
    with servicing.engine().connect() as conn:
        problems = schedules_repay_financed(conn)
    return AssetCheckResult(passed=not problems, metadata={"first_contracts_off": MetadataValue.json(problems)})


cycle_checks = [*ledger_checks, no_quarantined_files, files_match_orders, schedules_repay_financed_check]
