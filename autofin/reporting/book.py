"""The book at a glance: portfolio by product, status and bucket; trial balance; sub-ledger tie."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from autofin.domain.errors import DomainError
from autofin.domain.ledger import TrialBalanceRow
from autofin.domain.money import from_minor
from autofin.reference import chart_of_accounts
from autofin.store.engine import grouped_by_sorting
from autofin.store.ledger import BUCKET, DPD_JOIN, ControlAccountTie, subledger_vs_ledger, trial_balance_as_of

BUCKET_ORDER = ("current", "M1", "M2", "M3", "M4+")


class ReportDateError(DomainError):
    """Reports are asked for a date whose figures the store does not hold."""


def require_report_date(conn: Connection, d: date) -> None:
    """The warehouse reads the books as they stand, which is as of the latest closed business date:
    a pack is built for that date only, never for one not closed yet, nor labelled with an older one."""
    from autofin.servicing.days import last_closed_day

    latest = last_closed_day(conn)
    if latest is None:
        raise ReportDateError("no business date is closed yet: seed or load a book and run the cycle first")
    if d > latest:
        raise ReportDateError(f"{d} is not closed (the latest closed business date is {latest}): run the cycle for it first")
    if d < latest:
        raise ReportDateError(f"{d} is older than the latest closed business date {latest}: the warehouse holds the books as of "
                              f"{latest}, so a pack dated {d} would show later figures. Build --date {latest}; earlier packs stay in "
                              "their reports/<date>/ folders")


def yuan(minor: int) -> str:
    """An amount in minor units as people read yuan: 1,234,567.89."""
    return f"{from_minor(int(minor)):,.2f}"


def yuan_label(key: str) -> str:
    """`amount_minor` → `amount (CNY)`; other keys as they are."""
    return key.removesuffix("_minor") + " (CNY)" if key.endswith("_minor") else key


def in_yuan(key: str, value: Any) -> Any:
    """`value` with every amount in yuan, for people (CLI lines, Dagster metadata): under a key
    ending in _minor an int becomes "1,234.56", and so does every int inside it; other keys are
    walked for their own _minor keys. The store keeps minor units; this is display only."""
    if isinstance(value, bool):
        return value
    if key.endswith("_minor"):
        if isinstance(value, int):
            return yuan(value)
        return {k: in_yuan(key, v) for k, v in value.items()} if isinstance(value, Mapping) else value
    if isinstance(value, Mapping):
        return {yuan_label(k): in_yuan(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [in_yuan(key, v) for v in value]
    return value


@dataclass
class BookSummary:
    as_of: date
    by_product: list[tuple]
    by_bucket: list[tuple]
    trial_balance: list[TrialBalanceRow]
    ties: list[ControlAccountTie]

    @property
    def trial_balance_difference(self) -> int:
        return sum(row.balance_minor for row in self.trial_balance)

    @property
    def is_tied(self) -> bool:
        return self.trial_balance_difference == 0 and all(t.difference_minor == 0 for t in self.ties)


def book_summary(conn: Connection, as_of: date) -> BookSummary:
    by_product = conn.execute(
        text(
            "SELECT p.product_code, c.status, COUNT(*), SUM(c.financed_minor) "
            "FROM contract c JOIN product_version pv ON pv.product_version_id = c.product_version_id "
            "JOIN product p ON p.product_id = pv.product_id GROUP BY p.product_code, c.status ORDER BY p.product_code, c.status"
        )
    ).all()
    # each contract's instalments summed first, in the table's own order (store.engine.grouped_by_sorting),
    # then the contracts by bucket: a join from the contracts looked each instalment up by contract
    by_bucket = conn.execute(
        text(
            f"SELECT {BUCKET}, COUNT(*), COALESCE(SUM(i.principal), 0), COALESCE(SUM(i.owed), 0) FROM contract c JOIN ("
            "SELECT contract_id, "
            "SUM(CASE WHEN status = 'scheduled' THEN principal_minor ELSE principal_minor - paid_principal_minor END) AS principal, "
            "SUM(CASE WHEN status = 'billed' THEN principal_minor + interest_minor + fee_minor "
            "- paid_principal_minor - paid_interest_minor - paid_fee_minor ELSE 0 END) AS owed "
            f"FROM instalment GROUP BY {grouped_by_sorting(conn, 'contract_id')}) i ON i.contract_id = c.contract_id "
            f"{DPD_JOIN} WHERE c.status = 'active' GROUP BY cd.bucket"
        )
    ).all()
    order = {b: k for k, b in enumerate(BUCKET_ORDER)}
    return BookSummary(
        as_of=as_of,
        by_product=[tuple(r) for r in by_product],
        by_bucket=sorted((tuple(r) for r in by_bucket), key=lambda r: order.get(r[0], 99)),
        trial_balance=trial_balance_as_of(conn, as_of, chart_of_accounts()),
        ties=subledger_vs_ledger(conn),
    )


def debit_credit(row: TrialBalanceRow) -> tuple[int, int]:
    """An account's balance on the side it falls: (debit, 0) or (0, credit), in minor units."""
    return max(row.balance_minor, 0), max(-row.balance_minor, 0)


def trial_balance_totals(rows: list[TrialBalanceRow]) -> tuple[int, int]:
    """The trial balance's total debit and total credit balances, in minor units."""
    sides = [debit_credit(row) for row in rows]
    return sum(d for d, _ in sides), sum(c for _, c in sides)


def render_trial_balance(rows: list[TrialBalanceRow], as_of: date) -> str:
    chart = chart_of_accounts()
    lines = [f"Trial balance as of {as_of.isoformat()} (CNY)", f"{'account':<9} {'name':<44} {'debit':>18} {'credit':>18}"]
    for row in rows:
        debit, credit = debit_credit(row)
        lines.append(f"{row.account:<9} {chart[row.account].name[:44]:<44} {yuan(debit):>18} {yuan(credit):>18}")
    total_d, total_c = trial_balance_totals(rows)
    lines.append(f"{'total':<54} {yuan(total_d):>18} {yuan(total_c):>18}")
    lines.append(f"difference (debit − credit): {yuan(total_d - total_c)}")
    return "\n".join(lines)


def render_summary(summary: BookSummary) -> str:
    out = [f"Book as of {summary.as_of.isoformat()}", "", "Contracts by product and status"]
    out.append(f"  {'product':<10} {'status':<10} {'contracts':>10} {'financed (CNY)':>20}")
    for code, status, count, financed in summary.by_product:
        out.append(f"  {code:<10} {status:<10} {count:>10,} {yuan(financed):>20}")
    out += ["", "Active contracts by delinquency bucket"]
    out.append(f"  {'bucket':<8} {'contracts':>10} {'principal outstanding':>24} {'billed unpaid':>18}")
    for bucket, count, outstanding, unpaid in summary.by_bucket:
        out.append(f"  {bucket:<8} {count:>10,} {yuan(outstanding):>24} {yuan(unpaid):>18}")
    out += ["", render_trial_balance(summary.trial_balance, summary.as_of), "", "Sub-ledger (contracts) against GL control accounts"]
    for tie in summary.ties:
        mark = "ok" if tie.difference_minor == 0 else f"BREAK {yuan(tie.difference_minor)}"
        out.append(f"  {tie.account:<9} sub-ledger {yuan(tie.subledger_minor):>20}  ledger {yuan(tie.ledger_minor):>20}  {mark}")
    return "\n".join(out)
