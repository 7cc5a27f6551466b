"""The ledger in the store: record money events and post them as vouchers, set-based.

`post_batch` turns every money event of one batch into a journal entry and its lines with one
INSERT … SELECT per template line, in the caller's transaction, so the events and their vouchers
commit or vanish together. Templates are checked for balance when loaded (domain.ledger), and a
posted batch is checked again here: a batch whose lines do not balance raises and rolls back.
With the lines it keeps the batch's totals per account (ledger_total: the trial balance reads
those, a few rows a day) and queues its contracts for the day close's sub-ledger tie
(subledger_dirty).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, delete, func, insert, select, text

from autofin.domain.errors import DomainError
from autofin.domain.ledger import COMPONENTS, Account, Template, TrialBalanceRow, line_sql_expression, trial_balance
from autofin.store.engine import as_date
from autofin.store.models import JournalEntry, LedgerTotal, MoneyEvent


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
    # the batch's totals per date and account, kept as ledger_total rows (the trial balance adds those
    # up), summed from the events by the same template expressions the lines were written with (one
    # pass over the events, not a join of every line; the full-book check holds them to the lines),
    # and checked: the batch balances and no line is negative
    sums: dict[tuple[date, str, str], list[int]] = {}
    debit_total = credit_total = negative = 0
    for event_type in event_types:
        lines_of = templates[event_type].lines
        amounts = [line_sql_expression(line, "me") for line in lines_of]
        columns = ", ".join(f"SUM({a}), SUM(CASE WHEN {a} < 0 THEN 1 ELSE 0 END)" for a in amounts)
        for row in conn.execute(
            text(f"SELECT me.business_date, me.currency, {columns} FROM money_event me WHERE me.batch_id = :batch AND me.event_type = :event_type "
                 "GROUP BY me.business_date, me.currency"),
            {"batch": batch_id, "event_type": event_type},
        ):
            day, cur = as_date(row[0]), row[1]
            for k, line in enumerate(lines_of):
                value, below_zero = int(row[2 + 2 * k] or 0), int(row[3 + 2 * k] or 0)
                negative += below_zero
                total = sums.setdefault((day, line.account, cur), [0, 0])
                total[0 if line.side == "debit" else 1] += value
                if line.side == "debit":
                    debit_total += value
                else:
                    credit_total += value
    if negative or debit_total != credit_total:
        raise UnbalancedBatchError(f"batch {batch_id}: debit {debit_total} ≠ credit {credit_total}, {negative} negative lines")
    conn.execute(delete(LedgerTotal).where(LedgerTotal.batch_id == batch_id))
    kept = [{"batch_id": batch_id, "entry_date": day, "account_code": account, "currency": cur, "debit_minor": dr, "credit_minor": cr}
            for (day, account, cur), (dr, cr) in sorted(sums.items()) if dr or cr]  # an account no line of the batch reached has no row
    if kept:
        conn.execute(insert(LedgerTotal), kept)
    conn.execute(
        text("INSERT INTO subledger_dirty (contract_id) SELECT DISTINCT contract_id FROM money_event "
             "WHERE batch_id = :batch AND contract_id IS NOT NULL ON CONFLICT DO NOTHING"),
        {"batch": batch_id},
    )
    return PostingResult(entries, lines, debit_total, credit_total)


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
        select(LedgerTotal.account_code, func.sum(LedgerTotal.debit_minor), func.sum(LedgerTotal.credit_minor))
        .where(LedgerTotal.entry_date <= as_of)
        .group_by(LedgerTotal.account_code)
    ).all()
    return trial_balance(((a, int(d), int(c)) for a, d, c in sums), chart)


def account_balances(conn: Connection, as_of: date | None = None) -> dict[str, int]:
    """Debit-positive balance per account."""
    query = select(LedgerTotal.account_code, func.sum(LedgerTotal.debit_minor - LedgerTotal.credit_minor)).group_by(LedgerTotal.account_code)
    if as_of is not None:
        query = query.where(LedgerTotal.entry_date <= as_of)
    return {account: int(balance) for account, balance in conn.execute(query)}


def ledger_totals_differ(conn: Connection) -> list[str]:
    """Where ledger_total does not add up to the journal lines, by batch and account (debits and
    credits apart): a scan of every line, for the full-book check."""
    rows = conn.execute(
        text(
            "SELECT COALESCE(t.batch_id, l.batch_id), COALESCE(t.account_code, l.account_code), t.debit, t.credit, l.debit, l.credit FROM "
            "(SELECT batch_id, account_code, SUM(debit_minor) AS debit, SUM(credit_minor) AS credit FROM ledger_total "
            "GROUP BY batch_id, account_code) t FULL OUTER JOIN "
            "(SELECT me.batch_id, jl.account_code, SUM(jl.debit_minor) AS debit, SUM(jl.credit_minor) AS credit FROM journal_line jl "
            "JOIN journal_entry je ON je.journal_entry_id = jl.journal_entry_id JOIN money_event me ON me.money_event_id = je.money_event_id "
            "GROUP BY me.batch_id, jl.account_code) l ON l.batch_id = t.batch_id AND l.account_code = t.account_code "
            "WHERE t.batch_id IS NULL OR l.batch_id IS NULL OR t.debit <> l.debit OR t.credit <> l.credit"
        )
    ).all()
    return [f"batch {batch} account {account}: totals kept {kd or 0}/{kc or 0}, journal lines {ld or 0}/{lc or 0} (debit/credit, fen)"
            for batch, account, kd, kc, ld, lc in rows]


def journal_entries_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(JournalEntry)).scalar_one())


# The sub-ledger's side of each GL control account per contract, as debit-positive balances of its
# instalments (the credit it holds is the contract's own column). Instalments settled early owe
# nothing more: their principal was paid in the settlement and the rest of their interest waived,
# so only billed and paid rows count beside the unbilled principal. Written-off instalments owe
# nothing on the books: the write-off voucher took every balance off.
SUBLEDGER_COLUMNS = {
    "unbilled_principal_minor": "CASE WHEN i.status = 'scheduled' THEN i.principal_minor ELSE 0 END",
    "principal_minor": "CASE WHEN i.status IN ('billed', 'paid') THEN i.principal_minor - i.paid_principal_minor ELSE 0 END",
    "interest_minor": "CASE WHEN i.status IN ('billed', 'paid') THEN i.interest_minor - i.paid_interest_minor ELSE 0 END",
    "fee_minor": "CASE WHEN i.status IN ('billed', 'paid') THEN i.fee_minor - i.paid_fee_minor ELSE 0 END",
    "penalty_minor": "CASE WHEN i.status <> 'written_off' THEN i.penalty_minor - i.paid_penalty_minor ELSE 0 END",
    # a direct lease's VAT on the principal not yet billed, deferred on 2221.05 (credit-positive)
    "deferred_vat_minor": "CASE WHEN i.status = 'scheduled' THEN i.principal_vat_minor ELSE 0 END",
}
SUBLEDGER_ACCOUNTS = ("1531", "1122.01", "1122.02", "1122.03", "1122.04")
DEFERRED_VAT_ACCOUNT = "2221.05"
CREDIT_ACCOUNT = "2241.01"
SUSPENSE_ACCOUNT = "2241.03"  # interest and penalty of non-accrual contracts held in suspense (the contract's own columns)
DEPOSIT_ACCOUNT = "2241.04"  # the customers' deposits (保证金) held
# the balances each contract keeps on itself beside those of its instalments, credit-positive
CONTRACT_HELD = {"credit_minor": "c.credit_minor", "suspense_minor": "c.suspended_interest_minor + c.suspended_penalty_minor",
                 "deposit_minor": "c.deposit_held_minor"}
_KEPT = ", ".join([*SUBLEDGER_COLUMNS, *CONTRACT_HELD])


def _balances_sql(scope: str | None) -> str:
    """Each contract's sub-ledger balances (SUBLEDGER_COLUMNS from its instalments, its credit and suspense from itself):
    for every contract, or for those whose ids the SELECT `scope` gives."""
    where_i = "" if scope is None else f" WHERE i.contract_id IN ({scope})"
    where_c = "" if scope is None else f" WHERE c.contract_id IN ({scope})"
    sums = ", ".join(f"SUM({expr}) AS {name}" for name, expr in SUBLEDGER_COLUMNS.items())
    picks = ", ".join(f"COALESCE(s.{name}, 0) AS {name}" for name in SUBLEDGER_COLUMNS)
    held = ", ".join(f"{expr} AS {name}" for name, expr in CONTRACT_HELD.items())
    return (f"SELECT c.contract_id, {picks}, {held} FROM contract c LEFT JOIN "
            f"(SELECT i.contract_id, {sums} FROM instalment i{where_i} GROUP BY i.contract_id) s ON s.contract_id = c.contract_id{where_c}")


DIRTY = "SELECT contract_id FROM subledger_dirty"


def balances_of(conn: Connection, contract_id: int) -> dict[str, int]:
    """One contract's sub-ledger balances now, from its instalments (SUBLEDGER_COLUMNS and credit_minor)."""
    row = conn.execute(text(_balances_sql(str(int(contract_id))))).one()._mapping
    return {name: int(row[name]) for name in [*SUBLEDGER_COLUMNS, *CONTRACT_HELD]}


def current_balances_sql() -> str:
    """Every contract's sub-ledger balances as of now, as a SELECT (contract_id, SUBLEDGER_COLUMNS,
    credit_minor): the kept ones, and those of the contracts posted to since the last close computed
    from their instalments."""
    return (f"SELECT contract_id, {_KEPT} FROM subledger_balance b WHERE NOT EXISTS "
            "(SELECT 1 FROM subledger_dirty d WHERE d.contract_id = b.contract_id) "
            f"UNION ALL SELECT contract_id, {_KEPT} FROM ({_balances_sql(DIRTY)}) b")


def refresh_subledger(conn: Connection, *, whole: bool = False) -> int:
    """Recompute the kept sub-ledger balances of the contracts with money events since the last
    refresh (or of every contract) from their instalments, and take them off the queue."""
    scope = None if whole else DIRTY
    conn.execute(text("DELETE FROM subledger_balance" + ("" if whole else f" WHERE contract_id IN ({DIRTY})")))
    refreshed = conn.execute(text(f"INSERT INTO subledger_balance (contract_id, {_KEPT}) {_balances_sql(scope)}")).rowcount
    conn.execute(text("DELETE FROM subledger_dirty"))
    return int(refreshed)


def subledger_drift(conn: Connection, limit: int = 20) -> list[str]:
    """Contracts whose kept sub-ledger balance is not what their instalments say, leaving aside those
    queued for the next refresh (a scan of every instalment, for the full-book check). An instalment
    changed without a money event would show here, and nowhere in the nightly tie."""
    names = [*SUBLEDGER_COLUMNS, *CONTRACT_HELD]
    rows = conn.execute(
        text(
            f"SELECT c.contract_no, {', '.join(f'k.{n}, f.{n}' for n in names)} FROM ({_balances_sql(None)}) f "
            f"JOIN contract c ON c.contract_id = f.contract_id LEFT JOIN subledger_balance k ON k.contract_id = f.contract_id "
            "WHERE NOT EXISTS (SELECT 1 FROM subledger_dirty d WHERE d.contract_id = f.contract_id) AND ("
            + " OR ".join(f"COALESCE(k.{n}, 0) <> f.{n}" for n in names) + f") ORDER BY c.contract_id LIMIT {int(limit)}"
        )
    ).all()
    out = []
    for row in rows:
        differs = [f"{n} kept {row[1 + 2 * k] or 0} ≠ {row[2 + 2 * k]}" for k, n in enumerate(names) if (row[1 + 2 * k] or 0) != row[2 + 2 * k]]
        out.append(f"{row[0]}: {', '.join(differs)}")
    return out


@dataclass(frozen=True)
class ControlAccountTie:
    account: str
    subledger_minor: int
    ledger_minor: int

    @property
    def difference_minor(self) -> int:
        return self.ledger_minor - self.subledger_minor


def subledger_vs_ledger(conn: Connection) -> list[ControlAccountTie]:
    """Contract balances by component against the GL control accounts (all postings to date): the
    kept balances of the contracts without money events since the last refresh, and the balances of
    the others computed now from their instalments (read only; a scan of those contracts)."""
    ledger = account_balances(conn)
    sums = ", ".join(f"COALESCE(SUM({n}), 0)" for n in [*SUBLEDGER_COLUMNS, *CONTRACT_HELD])
    values = conn.execute(text(f"SELECT {sums} FROM ({current_balances_sql()}) x")).one()
    ties = [ControlAccountTie(account, int(value), ledger.get(account, 0)) for account, value in zip(SUBLEDGER_ACCOUNTS, values[:5], strict=True)]
    return [*ties, ControlAccountTie(DEFERRED_VAT_ACCOUNT, -int(values[5]), ledger.get(DEFERRED_VAT_ACCOUNT, 0)),
            ControlAccountTie(CREDIT_ACCOUNT, -int(values[6]), ledger.get(CREDIT_ACCOUNT, 0)),
            ControlAccountTie(SUSPENSE_ACCOUNT, -int(values[7]), ledger.get(SUSPENSE_ACCOUNT, 0)),
            ControlAccountTie(DEPOSIT_ACCOUNT, -int(values[8]), ledger.get(DEPOSIT_ACCOUNT, 0))]
