"""Great Expectations suites on the warehouse marts and the cycle's outputs.

GX runs in-process with an ephemeral context over data read from the warehouse; each suite
returns its result and the expectations that failed, which Dagster shows as asset checks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from autofin.bankfiles.reasons import REASONS
from autofin.settings import warehouse_path

BUCKETS = ["current", "M1", "M2", "M3", "M4+"]


def _suites():  # noqa: ANN202
    import great_expectations as gx

    e = gx.expectations
    return {
        "fct_contracts": ("SELECT * FROM asset.fct_contracts", [
            e.ExpectColumnValuesToNotBeNull(column="contract_id"),
            e.ExpectColumnValuesToBeUnique(column="contract_id"),
            e.ExpectColumnValuesToBeBetween(column="dpd", min_value=0, max_value=3650),
            e.ExpectColumnValuesToBeInSet(column="bucket", value_set=BUCKETS),
            e.ExpectColumnValuesToBeInSet(column="contract_status",
                                          value_set=["pending_signature", "signed", "active", "settled_early", "paid_off", "terminated", "written_off"]),
            e.ExpectColumnValuesToBeBetween(column="principal_outstanding", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="billed_unpaid", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="penalty_unpaid", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="financed_amount", min_value=0, strict_min=True),
        ]),
        "debit_orders": ("SELECT * FROM intermediate.int_debit_orders_answered", [
            e.ExpectColumnValuesToNotBeNull(column="contract_id"),
            e.ExpectColumnValuesToBeUnique(column="end_to_end_id"),
            e.ExpectColumnValuesToBeBetween(column="amount", min_value=0, strict_min=True),
            e.ExpectColumnValuesToBeInSet(column="order_status", value_set=["pending", "sent", "settled", "rejected", "returned"]),
            e.ExpectColumnValuesToBeInSet(column="reason_code", value_set=[*REASONS, None], mostly=1.0),
        ]),
        "debit_success": ("SELECT * FROM operations.rpt_operations__debit_success", [
            e.ExpectColumnValuesToBeBetween(column="success_rate", min_value=0, max_value=1),
        ]),
        "trial_balance": ("SELECT * FROM finance.rpt_finance__trial_balance", [
            e.ExpectColumnValuesToNotBeNull(column="account_name"),
            e.ExpectColumnValuesToBeBetween(column="debit_minor", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="credit_minor", min_value=0),
        ]),
    }


@dataclass
class SuiteResult:
    suite: str
    rows: int
    success: bool
    failed: list[str]


def run_suites(path: Path | None = None, only: list[str] | None = None) -> list[SuiteResult]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("warehouse")
    con = duckdb.connect(str(path or warehouse_path()), read_only=True)
    results = []
    try:
        for name, (sql, expectations) in _suites().items():
            if only is not None and name not in only:
                continue
            frame = con.execute(sql).df()
            batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("all").get_batch(
                batch_parameters={"dataframe": frame})
            suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
            outcome = batch.validate(suite)
            failed = [f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')})" for r in outcome.results
                      if not r.success and r.expectation_config is not None]
            results.append(SuiteResult(name, len(frame), bool(outcome.success), failed))
    finally:
        con.close()
    return results
