"""The ledger in the store: record money events and post them as vouchers, set-based.

`post_batch` turns every money event of one batch into a journal entry and its lines with one
INSERT … SELECT per template line, in the caller's transaction, so the events and their vouchers
commit or vanish together. Templates are checked for balance when loaded (domain.ledger), and a
posted batch is checked again here: a batch whose lines do not balance raises and rolls back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, insert, select, text

from autofin.domain.errors import DomainError
from autofin.domain.ledger import COMPONENTS, Account, Template, TrialBalanceRow, line_sql_expression, trial_balance
from autofin.store.models import JournalEntry, JournalLine, MoneyEvent


class UnbalancedBatchError(DomainError):
    """A posted batch's debits and credits differ: nothing of it is kept."""


@dataclass(frozen=True)
class PostingResult:
    entries: int
    lines: int
    debit_minor: int
    credit_minor: int


def post_batch(conn: Connection, batch_id: str, templates: Mapping[str, Template]) -> PostingResult:
    """Post every not-yet-posted money event of `batch_id`. Idempotent: posted events are skipped."""
    event_types = [row[0] for row in conn.execute(select(MoneyEvent.event_type).where(MoneyEvent.batch_id == batch_id).distinct())]
    unknown = [t for t in event_types if t not in templates]
    if unknown:
        raise DomainError(f"no voucher template for {', '.join(unknown)}")
    entries = conn.execute(
        text(
            "INSERT INTO journal_entry (money_event_id, entry_date, event_type, contract_id) "
            "SELECT me.money_event_id, me.business_date, me.event_type, me.contract_id FROM money_event me "
            "WHERE me.batch_id = :batch AND NOT EXISTS "
            "(SELECT 1 FROM journal_entry je WHERE je.money_event_id = me.money_event_id)"
        ),
        {"batch": batch_id},
    ).rowcount
    lines = 0
    for event_type in event_types:
        for line_no, line in enumerate(templates[event_type].lines, start=1):
            amount = line_sql_expression(line, "me")
            debit, credit = (amount, "0") if line.side == "debit" else ("0", amount)
            lines += conn.execute(
                text(
                    "INSERT INTO journal_line (journal_entry_id, line_no, account_code, entry_date, debit_minor, credit_minor, currency) "
                    f"SELECT je.journal_entry_id, {line_no}, :account, me.business_date, {debit}, {credit}, me.currency "
                    "FROM money_event me JOIN journal_entry je ON je.money_event_id = me.money_event_id "
                    f"WHERE me.batch_id = :batch AND me.event_type = :event_type AND ({amount}) <> 0 "
                    "AND NOT EXISTS (SELECT 1 FROM journal_line jl WHERE jl.journal_entry_id = je.journal_entry_id AND jl.line_no = :line_no)"
                ),
                {"account": line.account, "batch": batch_id, "event_type": event_type, "line_no": line_no},
            ).rowcount
    negative = conn.execute(
        text(
            "SELECT COUNT(*) FROM journal_line jl JOIN journal_entry je ON je.journal_entry_id = jl.journal_entry_id "
            "JOIN money_event me ON me.money_event_id = je.money_event_id "
            "WHERE me.batch_id = :batch AND (jl.debit_minor < 0 OR jl.credit_minor < 0)"
        ),
        {"batch": batch_id},
    ).scalar_one()
    debit, credit = conn.execute(
        text(
            "SELECT COALESCE(SUM(jl.debit_minor), 0), COALESCE(SUM(jl.credit_minor), 0) FROM journal_line jl "
            "JOIN journal_entry je ON je.journal_entry_id = jl.journal_entry_id "
            "JOIN money_event me ON me.money_event_id = je.money_event_id WHERE me.batch_id = :batch"
        ),
        {"batch": batch_id},
    ).one()
    if negative or debit != credit:
        raise UnbalancedBatchError(f"batch {batch_id}: debit {debit} ≠ credit {credit}, {negative} negative lines")
    return PostingResult(entries, lines, int(debit), int(credit))


def post_contract_events(conn: Connection, batch_id: str, contract: object, business_date: date,
                         events: list[dict[str, object]], templates: Mapping[str, Template]) -> PostingResult:
    """Record one contract's money events as one batch and post it, in the caller's transaction (the
    API's money moves: disbursement, settlement, reversal, refund). Each event: event_type,
    event_key and its `<component>_minor` amounts; the others are zero."""
    zeros = dict.fromkeys(component_columns(), 0)
    conn.execute(insert(MoneyEvent), [{**zeros, "contract_id": contract.contract_id, "business_date": business_date,  # type: ignore[attr-defined]
                                       "currency": contract.currency, "batch_id": batch_id, **e} for e in events])  # type: ignore[attr-defined]
    return post_batch(conn, batch_id, templates)


def component_columns() -> list[str]:
    return [f"{c}_minor" for c in COMPONENTS]


def trial_balance_as_of(conn: Connection, as_of: date, chart: Mapping[str, Account]) -> list[TrialBalanceRow]:
    sums = conn.execute(
        select(JournalLine.account_code, func.sum(JournalLine.debit_minor), func.sum(JournalLine.credit_minor))
        .where(JournalLine.entry_date <= as_of)
        .group_by(JournalLine.account_code)
    ).all()
    return trial_balance(((a, int(d), int(c)) for a, d, c in sums), chart)


def account_balances(conn: Connection, as_of: date | None = None) -> dict[str, int]:
    """Debit-positive balance per account."""
    query = select(JournalLine.account_code, func.sum(JournalLine.debit_minor - JournalLine.credit_minor)).group_by(JournalLine.account_code)
    if as_of is not None:
        query = query.where(JournalLine.entry_date <= as_of)
    return {account: int(balance) for account, balance in conn.execute(query)}


def journal_entries_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(JournalEntry)).scalar_one())


# The sub-ledger's side of each GL control account, as debit-positive balances, in one pass over
# the instalments (a pass per account, or one through the partial indexes, is several times slower).
# Instalments settled early owe nothing more: their principal was paid in the settlement and the
# rest of their interest waived, so only billed and paid rows count beside the unbilled principal.
SUBLEDGER_SQL = (
    "SELECT COALESCE(SUM(CASE WHEN status = 'scheduled' THEN principal_minor ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN status IN ('billed', 'paid') THEN principal_minor - paid_principal_minor ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN status IN ('billed', 'paid') THEN interest_minor - paid_interest_minor ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN status IN ('billed', 'paid') THEN fee_minor - paid_fee_minor ELSE 0 END), 0), "
    "COALESCE(SUM(penalty_minor - paid_penalty_minor), 0) FROM instalment"
)
SUBLEDGER_ACCOUNTS = ("1531", "1122.01", "1122.02", "1122.03", "1122.04")
CREDIT_ACCOUNT = "2241.01"


@dataclass(frozen=True)
class ControlAccountTie:
    account: str
    subledger_minor: int
    ledger_minor: int

    @property
    def difference_minor(self) -> int:
        return self.ledger_minor - self.subledger_minor


def subledger_vs_ledger(conn: Connection) -> list[ControlAccountTie]:
    """Contract balances by component against the GL control accounts (all postings to date)."""
    ledger = account_balances(conn)
    sums = conn.execute(text(SUBLEDGER_SQL)).one()
    credit = -int(conn.execute(text("SELECT COALESCE(SUM(credit_minor), 0) FROM contract")).scalar_one())
    ties = [ControlAccountTie(account, int(value), ledger.get(account, 0)) for account, value in zip(SUBLEDGER_ACCOUNTS, sums, strict=False)]
    return [*ties, ControlAccountTie(CREDIT_ACCOUNT, credit, ledger.get(CREDIT_ACCOUNT, 0))]
