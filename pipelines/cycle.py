"""The nightly servicing cycle as assets: one per step, partitioned by business date.

Each asset runs its step through `run_step` (atomic, idempotent: re-materialising a done date
changes nothing and shows the original figures). Metadata carries the step's counts and its
amounts in yuan, formatted as a finance user reads them; the closed business day carries the
trial balance, the sub-ledger against each GL control account and the contracts by bucket. Asset
checks sit beside the assets they check. A refusal of the cycle (a date not ended, not after the
cut-over, out of order) fails the step with its one-line business message.

The partitions are the business dates from the day after the book's cut-over, read from the
configured store when the code location loads (reload it after loading a new book).

With AUTOFIN_CYCLE_SHARDS=N (N > 1) the per-contract steps (billing, delinquency, penalties,
allocation) are graph-backed assets that fan out into N contract-shard ops and join again: under
the multiprocess executor the shards of one date run in parallel processes, on a Celery or
Kubernetes executor on as many machines. The bank and ledger steps stay whole.
"""


import warnings
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
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
    Failure,
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
from sqlalchemy.exc import SQLAlchemyError

from autofin.domain.errors import DomainError
from autofin.reporting.book import book_summary, in_yuan, trial_balance_totals, yuan, yuan_label
from autofin.servicing.checks import nightly_checks, schedules_repay_financed
from autofin.servicing.cycle import StepResult, begin_night, run_step
from autofin.servicing.days import cut_over
from autofin.servicing.shards import SHARDED_STEPS
from autofin.servicing.shards import split as split_shards
from autofin.settings import BUSINESS_TZ, business_today, cycle_shards
from autofin.store.engine import get_engine
from autofin.store.migrate import StoreOutOfDateError, require_current
from pipelines.resources import ServicingResource


def first_business_date(database_url: str | None = None) -> date:
    """The first date the cycle runs: the day after the cut-over of the book in the store (default:
    the configured one). With no book there yet, today: no date is offered until one is loaded."""
    engine = get_engine(database_url or None)
    if engine.dialect.name == "sqlite" and not Path(engine.url.database or "").is_file():
        return business_today()  # loading the code location does not create an empty store
    try:
        with engine.connect() as conn:
            first = cut_over(conn)
    except SQLAlchemyError:  # no store, or one not migrated yet
        first = None
    return business_today() if first is None else first + timedelta(days=1)


def business_dates_of(database_url: str | None = None) -> DailyPartitionsDefinition:
    """Daily partitions (Asia/Shanghai) from the book's first cycle date to the last ended day."""
    return DailyPartitionsDefinition(start_date=first_business_date(database_url).isoformat(), timezone=BUSINESS_TZ.key, end_offset=0)


business_dates = business_dates_of()

# checks per business date are what the nightly controls are; Dagster marks partitioned checks a preview
warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*")

# step → (asset name, group, description)
ASSETS = {
    "business_day": ("business_day", "servicing", "Opens the business date; refuses if the day before is not closed."),
    "billing": ("billed_instalments", "servicing", "Billing rollover (账单结转): instalments due become billed receivables."),
    "delinquency": ("arrears", "servicing", "Days past due, buckets, collection cases opened and closed."),
    "penalties": ("penalty_accruals", "servicing", "Penalty interest (罚息) per each contract's frozen terms."),
    "debit_orders": ("debit_files", "bank", "Direct-debit orders grouped per bank into pain.008 / domestic files."),
    "payout_files": ("payout_files", "bank", "Payouts (disbursements split by payee, refunds) as pain.001 credit-transfer files."),
    "bank_upload": ("bank_uploads", "bank", "Debit and payout files sent to the banks (SFTP, temporary name then rename)."),
    "bank_returns": ("bank_answers", "bank", "pain.002 / camt.054 / camt.053 / result files checked and applied; bad ones quarantined."),
    "allocation": ("allocations", "servicing", "Receipts applied by the frozen waterfall; overpayments to customer credit."),
    "reconciliation": ("reconciliation_breaks", "bank", "Bank statements against receipts; breaks listed, never dropped."),
    "collections": ("collection_work", "servicing", "Promises kept or broken, agency recoveries and commission, reminders sent (an overdue "
                    "one held while the contract's debit is at the bank), new cases assigned by the rules, the allowance for credit losses trued up."),
    "vouchers": ("vouchers", "ledger", "Every money event of the day has its balanced voucher."),
    "voucher_export": ("voucher_export", "ledger", "The day's vouchers as the ledger system's interchange file."),
    "day_close": ("closed_business_day", "ledger", "Control checks, then the business date closes."),
    "letters": ("notice_letters", "servicing", "The night's default notices as one print file, handed to the notification "
                "adapter after the day closes."),
}


def metadata_of(counts: Mapping[str, Any], skipped: bool, seconds: float) -> dict[str, Any]:
    """A step's counts as asset metadata: figures as numbers, amounts in yuan (never fen), the
    nested ones as JSON, and a summary table of the flat ones."""
    meta: dict[str, Any] = {"already_done_before_this_run": skipped, "seconds": round(seconds, 3)}
    rows = []
    for key, value in counts.items():
        shown = in_yuan(key, value)
        if key.endswith("_minor") and isinstance(value, int):
            meta[yuan_label(key)] = MetadataValue.text(shown)
            rows.append(f"| {yuan_label(key)} | {shown} |")
        elif isinstance(value, (int, float, str, bool)):
            meta[key] = value
            rows.append(f"| {key} | {value} |")
        elif value:
            meta[yuan_label(key)] = MetadataValue.json(shown)
    if rows:
        meta["summary"] = MetadataValue.md("| figure | value |\n|---|---:|\n" + "\n".join(rows))
    return meta


def day_in_money(servicing: ServicingResource, d: date) -> dict[str, Any]:
    """The closed day as finance reads it: trial balance totals, each GL control account against
    the contracts' sub-ledger, and the active contracts by delinquency bucket."""
    with servicing.engine().connect() as conn:
        book = book_summary(conn, d)
    debit, credit = trial_balance_totals(book.trial_balance)
    ties = "\n".join(f"| {t.account} | {yuan(t.subledger_minor)} | {yuan(t.ledger_minor)} | "
                     f"{'ok' if t.difference_minor == 0 else 'BREAK ' + yuan(t.difference_minor)} |" for t in book.ties)
    buckets = "\n".join(f"| {b} | {n:,} | {yuan(outstanding)} | {yuan(unpaid)} |" for b, n, outstanding, unpaid in book.by_bucket)
    return {
        "trial balance debit (CNY)": MetadataValue.text(yuan(debit)),
        "trial balance credit (CNY)": MetadataValue.text(yuan(credit)),
        "trial balance difference (CNY)": MetadataValue.text(yuan(debit - credit)),
        "control accounts": MetadataValue.md("| account | sub-ledger (CNY) | GL (CNY) | tie |\n|---|---:|---:|---|\n" + ties),
        "active contracts by bucket": MetadataValue.md(
            "| bucket | contracts | principal outstanding (CNY) | billed unpaid (CNY) |\n|---|---:|---:|---:|\n" + buckets),
        "active contracts": sum(n for _, n, _, _ in book.by_bucket),
    }


def run_cycle_step(servicing: ServicingResource, step: str, d: date, shard: str = "all") -> StepResult:
    """The step for D, or a Failure that says, in one line, why the cycle refuses it."""
    engine = servicing.engine()
    try:
        if step == "business_day":
            require_current(engine)  # once per date, before anything is written
        ctx = servicing.context() if shard == "all" else replace(servicing.context(), shard=shard)
        result = run_step(engine, step, d, ctx)
        if step == "business_day" and cycle_shards() == 1:
            # the in-process executor: the night's later steps run in this process, bank_answers
            # among them, and take the answers read meanwhile (under the multiprocess executor each
            # step is a process of its own, and the answers' step reads its files itself)
            begin_night(engine, d, ctx)
        return result
    except (DomainError, StoreOutOfDateError) as exc:
        raise Failure(description=str(exc), allow_retries=False) from None


def _step_asset(step: str, upstream: str | None, partitions: DailyPartitionsDefinition) -> AssetsDefinition:
    name, group, description = ASSETS[step]

    @asset(name=name, group_name=group, description=description, partitions_def=partitions, deps=[upstream] if upstream else [],
           kinds={"python", "sql"})
    def _asset(context: AssetExecutionContext, servicing: ServicingResource) -> MaterializeResult:
        d = date.fromisoformat(context.partition_key)
        result = run_cycle_step(servicing, step, d)
        context.log.info("%s %s: %s", d, step, result.counts)
        meta = metadata_of(result.counts, result.skipped, result.seconds)
        if step == "day_close":
            meta.update(day_in_money(servicing, d))
        return MaterializeResult(metadata=meta)

    return _asset


def _sharded_step_asset(step: str, upstream: str, count: int, partitions: DailyPartitionsDefinition) -> AssetsDefinition:
    """The step as a graph: one op per contract shard between a fan-out and a join."""
    name, group, description = ASSETS[step]

    @op(name=f"{name}__fan_out", ins={"after": In(Nothing)}, out=DynamicOut(str))
    def fan_out():  # noqa: ANN202
        for shard in split_shards(count):
            yield DynamicOutput(shard.key, mapping_key=shard.key)

    @op(name=f"{name}__shard", tags={"kind": "contract-shard"})
    def one_shard(context: OpExecutionContext, servicing: ServicingResource, shard: str) -> dict:
        d = date.fromisoformat(context.partition_key)
        result = run_cycle_step(servicing, step, d, shard)
        context.log.info("%s %s shard %s: %s", d, step, shard, result.counts)
        return {"shard": shard, "counts": result.counts, "skipped": result.skipped, "seconds": result.seconds}

    @op(name=f"{name}__join")
    def join(results: list[dict]) -> Output:
        counts = {"shards": {r["shard"]: r["counts"] for r in sorted(results, key=lambda r: r["shard"])}}
        return Output(None, metadata=metadata_of(counts, all(r["skipped"] for r in results), max(r["seconds"] for r in results)))

    @graph_asset(name=name, group_name=group, description=f"{description} Runs as {count} contract shards.",
                 partitions_def=partitions, ins={"after": AssetIn(upstream, dagster_type=Nothing)}, kinds={"python", "sql"})
    def _asset(after):  # noqa: ANN001, ANN202
        return join(fan_out(after).map(one_shard).collect())

    return _asset


def build_cycle_assets(shards: int = 1, partitions: DailyPartitionsDefinition = business_dates) -> list[AssetsDefinition]:
    from autofin.servicing.cycle import STEP_ORDER

    out: list[AssetsDefinition] = []
    upstream: str | None = None
    for step in STEP_ORDER:
        if shards > 1 and step in SHARDED_STEPS and upstream is not None:
            out.append(_sharded_step_asset(step, upstream, shards, partitions))
        else:
            out.append(_step_asset(step, upstream, partitions))
        upstream = ASSETS[step][0]
    return out


CHECKS = {
    "trial_balance_zero": "Debits equal credits over all postings to the date.",
    "subledger_ties_to_ledger": "Contract balances by component equal the GL control accounts.",
    "no_negative_balances": "No instalment paid beyond what it owes; no negative customer credit.",
    "dpd_consistent": "Each contract's DPD equals the age of its oldest unpaid billed instalment.",
    "debits_accounted_for": "Every debit order sent is answered or in flight.",
}


def build_cycle_checks(partitions: DailyPartitionsDefinition = business_dates) -> list[AssetChecksDefinition]:
    def ledger_check(name: str, description: str) -> AssetChecksDefinition:
        @asset_check(asset="closed_business_day", name=name, description=description, partitions_def=partitions, blocking=False)
        def _fn(context, servicing: ServicingResource) -> AssetCheckResult:  # noqa: ANN001
            d = date.fromisoformat(context.partition_key)
            with servicing.engine().connect() as conn:
                problems = nightly_checks(conn, d)[name]
            return AssetCheckResult(passed=not problems, metadata={"problems": MetadataValue.json(problems), "business_date": d.isoformat()})

        return _fn

    @asset_check(asset="bank_answers", name="no_quarantined_files", partitions_def=partitions, blocking=False,
                 description="Fails, naming them, when bank files of the date were quarantined (the good ones still applied).")
    def no_quarantined_files(context, servicing: ServicingResource) -> AssetCheckResult:  # noqa: ANN001
        d = date.fromisoformat(context.partition_key)
        with servicing.engine().connect() as conn:
            rows = conn.execute(
                text("SELECT bank_code, file_name, reason FROM bank_file WHERE status = 'quarantined' AND business_date = :d "
                     "ORDER BY file_name"),
                {"d": d},
            ).all()
        return AssetCheckResult(
            passed=not rows,
            metadata={"quarantined": MetadataValue.md("\n".join(f"- **{b} {f}**: {r}" for b, f, r in rows) or "none")},
        )

    @asset_check(asset="debit_files", name="files_match_orders", partitions_def=partitions, blocking=False,
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

    @asset_check(asset="closed_business_day", name="schedules_repay_financed", partitions_def=partitions, blocking=False,
                 description="Σ instalment principal = financed amount for every contract (scans the whole book).")
    def schedules_repay_financed_check(context, servicing: ServicingResource) -> AssetCheckResult:  # noqa: ANN001
        with servicing.engine().connect() as conn:
            problems = schedules_repay_financed(conn)
        return AssetCheckResult(passed=not problems, metadata={"first_contracts_off": MetadataValue.json(problems)})

    return [*(ledger_check(n, desc) for n, desc in CHECKS.items()), no_quarantined_files, files_match_orders, schedules_repay_financed_check]


cycle_assets = build_cycle_assets(cycle_shards())
cycle_checks = build_cycle_checks()
