"""The ledger in the store: record money events and post them as vouchers, set-based.

`post_batch` turns every money event of one batch into a journal entry and its lines with one
INSERT … SELECT per template line, in the caller's transaction, so the events and their vouchers
commit or vanish together. The night's bulk steps (billing, penalties, allocation) post as
summary batches instead: their events are the per-contract detail, and the vouchers step writes
one summary voucher per date, event type and currency for them (`write_summary_vouchers`), so a
night of a million receipts writes a handful of vouchers, not a million. Templates are checked
for balance when loaded (domain.ledger), and a posted batch is checked again here: a batch whose
lines do not balance raises and rolls back. With the lines it keeps the batch's totals per
account (ledger_total: the trial balance reads those, a few rows a day), adds its events' effect on
the GL control accounts to each contract's kept sub-ledger balance (subledger_balance) and queues
its contracts for the day close's per-contract checks (subledger_dirty)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update

from autofin.domain.errors import DomainError
from autofin.domain.ledger import COMPONENTS, Account, Template, TrialBalanceRow, line_sql_expression, post_event, trial_balance
from autofin.domain.ledger import JournalLine as DomainJournalLine
from autofin.domain.money import format_minor
from autofin.store.engine import as_date, grouped_by_sorting, indexed_by, integer_key, is_sqlite
from autofin.store.models import JournalEntry, JournalLine, LedgerTotal, MoneyEvent, SummaryBatch


class UnbalancedBatchError(DomainError):
    """A posted batch's debits and credits differ: nothing of it is kept."""


@dataclass(frozen=True)
class PostingResult:
    entries: int  # vouchers written (none for a summary batch: the vouchers step writes its summary voucher)
    lines: int
    debit_minor: int
    credit_minor: int
    events: int = 0  # money events posted (recorded in the running totals) by this call


def post_batch(conn: Connection, batch_id: str, templates: Mapping[str, Template], *, summary: bool = False) -> PostingResult:
    """Post every not-yet-posted money event of `batch_id`. Idempotent: posted events are skipped.

    By default each event gets its own voucher. With `summary` (the night's bulk steps: billing,
    penalties, allocation) the events get none of their own: the batch's groups (date, event type,
    currency) are registered in summary_batch, and the vouchers step writes one summary voucher per
    group of the day for all batches at once (write_summary_vouchers). Either way the batch's
    running totals (ledger_total) and its contracts' queue for the day close are written here, so
    the checks see the batch at once. A summary batch is posted once, whole: events added to it
    afterwards are refused."""
    event_types = [row[0] for row in conn.execute(select(MoneyEvent.event_type).where(MoneyEvent.batch_id == batch_id).distinct())]
    unknown = [t for t in event_types if t not in templates]
    if unknown:
        raise DomainError(f"no voucher template for {', '.join(unknown)}")
    registered = dict(conn.execute(select(SummaryBatch.event_type, func.sum(SummaryBatch.events)).where(SummaryBatch.batch_id == batch_id)
                                   .group_by(SummaryBatch.event_type)).all())
    if registered and not summary:
        raise DomainError(f"batch {batch_id} was posted as a summary batch: post it with summary=True")
    if not (summary and registered):  # a summary batch posted before is all there already (it may not change)
        _add_to_subledger(conn, batch_id, event_types, templates, only_unposted=not summary)
    entries = lines = 0
    if not summary:
        entries = conn.execute(
            text(
                "INSERT INTO journal_entry (money_event_id, entry_date, event_type, contract_id, batch_id, events) "
                "SELECT me.money_event_id, me.business_date, me.event_type, me.contract_id, me.batch_id, 1 FROM money_event me "
                "WHERE me.batch_id = :batch AND NOT EXISTS "
                "(SELECT 1 FROM journal_entry je WHERE je.money_event_id = me.money_event_id)"
            ),
            {"batch": batch_id},
        ).rowcount
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
    groups: list[dict[str, object]] = []  # a summary batch's (date, event type, currency) and its number of events
    counts: dict[str, int] = {}  # events by type
    debit_total = credit_total = negative = 0
    for event_type in event_types:
        lines_of = templates[event_type].lines
        amounts = [line_sql_expression(line, "me") for line in lines_of]
        columns = ", ".join(f"SUM({a}), SUM(CASE WHEN {a} < 0 THEN 1 ELSE 0 END)" for a in amounts)
        for row in conn.execute(
            text(f"SELECT me.business_date, me.currency, COUNT(*), {columns} FROM money_event me WHERE me.batch_id = :batch "
                 "AND me.event_type = :event_type GROUP BY me.business_date, me.currency"),
            {"batch": batch_id, "event_type": event_type},
        ):
            day, cur, count = as_date(row[0]), row[1], int(row[2])
            groups.append({"batch_id": batch_id, "event_type": event_type, "entry_date": day, "currency": cur, "events": count})
            counts[event_type] = counts.get(event_type, 0) + count
            for k, line in enumerate(lines_of):
                value, below_zero = int(row[3 + 2 * k] or 0), int(row[4 + 2 * k] or 0)
                negative += below_zero
                total = sums.setdefault((day, line.account, cur), [0, 0])
                total[0 if line.side == "debit" else 1] += value
                if line.side == "debit":
                    debit_total += value
                else:
                    credit_total += value
    if negative or debit_total != credit_total:
        raise UnbalancedBatchError(f"batch {batch_id}: debit {debit_total} ≠ credit {credit_total}, {negative} negative lines")
    if summary:
        if registered and registered != counts:
            raise DomainError(f"summary batch {batch_id} changed after it was posted: {counts} events, {registered} registered")
        if not registered and groups:
            conn.execute(insert(SummaryBatch), groups)
    conn.execute(delete(LedgerTotal).where(LedgerTotal.batch_id == batch_id))
    kept = [{"batch_id": batch_id, "entry_date": day, "account_code": account, "currency": cur, "debit_minor": dr, "credit_minor": cr}
            for (day, account, cur), (dr, cr) in sorted(sums.items()) if dr or cr]  # an account no line of the batch reached has no row
    if kept:
        conn.execute(insert(LedgerTotal), kept)
    # queued for the close; a batch posted per event (the API's and the hand-written money moves, a few a
    # night) also marks its contracts for the close to hold their kept balances to their instalments
    # (a summary batch's repeats are dropped by the key, not sorted out first: 1M events 0.43 → 0.30 s; an update
    # may not meet its row twice in one statement, on PostgreSQL)
    conn.execute(
        text(f"INSERT INTO subledger_dirty (contract_id, recheck) SELECT {'' if summary else 'DISTINCT '}contract_id, :recheck FROM money_event "
             "WHERE batch_id = :batch AND contract_id IS NOT NULL ON CONFLICT (contract_id) DO "
             + ("NOTHING" if summary else "UPDATE SET recheck = :recheck")),
        {"batch": batch_id, "recheck": not summary},
    )
    return PostingResult(entries, lines, debit_total, credit_total, sum(counts.values()))


def _add_to_subledger(conn: Connection, batch_id: str, event_types: list[str], templates: Mapping[str, Template], *,
                      only_unposted: bool) -> None:
    """Add the batch's events' effect on each GL control account (KEPT_ACCOUNTS) to their contracts' kept
    sub-ledger balances: one grouped pass over the batch's events and one upsert, by the template lines
    that post them. `only_unposted`: the events no voucher of their own carries yet (a batch posted per
    event may gain events and be posted again); otherwise the whole batch (a summary batch, posted once)."""
    deltas = []
    for account, sign in KEPT_ACCOUNTS.values():
        cases = []
        for event_type in event_types:
            terms = [("+" if (line.side == "debit") == (sign > 0) else "-") + f" ({line_sql_expression(line, 'me')})"
                     for line in templates[event_type].lines if line.account == account]
            if terms:
                cases.append(f"WHEN '{event_type}' THEN {' '.join(terms).lstrip('+ ')}")
        deltas.append(f"SUM(CASE me.event_type {' '.join(cases)} ELSE 0 END)" if cases else "0")
    if all(d == "0" for d in deltas):
        return
    unposted = " AND NOT EXISTS (SELECT 1 FROM journal_entry je WHERE je.money_event_id = me.money_event_id)" if only_unposted else ""
    conn.execute(
        text(
            f"INSERT INTO subledger_balance (contract_id, {', '.join(KEPT_ACCOUNTS)}) SELECT me.contract_id, {', '.join(deltas)} "
            f"FROM money_event me WHERE me.batch_id = :batch AND me.contract_id IS NOT NULL{unposted} GROUP BY me.contract_id "
            "ON CONFLICT (contract_id) DO UPDATE SET " + ", ".join(f"{c} = subledger_balance.{c} + excluded.{c}" for c in KEPT_ACCOUNTS)
        ),
        {"batch": batch_id},
    )


def write_summary_vouchers(conn: Connection, up_to: date, templates: Mapping[str, Template]) -> int:
    """One summary voucher per date (up to `up_to`), event type and currency for the registered
    summary groups no voucher carries yet, whatever batch (or contract shard) posted them: its
    lines are the template's lines summed over the groups' events, checked to balance and to
    carry exactly the registered number of events. Returns the vouchers written."""
    pending = conn.execute(
        select(SummaryBatch.entry_date, SummaryBatch.event_type, SummaryBatch.currency, func.sum(SummaryBatch.events))
        .where(SummaryBatch.journal_entry_id.is_(None), SummaryBatch.entry_date <= up_to)
        .group_by(SummaryBatch.entry_date, SummaryBatch.event_type, SummaryBatch.currency)
        .order_by(SummaryBatch.entry_date, SummaryBatch.event_type, SummaryBatch.currency)
    ).all()
    for entry_date, event_type, cur, registered in pending:
        day = as_date(entry_date)
        lines_of = templates[event_type].lines
        sums = ", ".join(f"COALESCE(SUM({line_sql_expression(line, 'me')}), 0)" for line in lines_of)
        group = {"day": day, "event_type": event_type, "currency": cur}
        row = conn.execute(
            text(
                f"SELECT COUNT(*), {sums} FROM summary_batch s CROSS JOIN money_event me "
                "WHERE s.journal_entry_id IS NULL AND s.entry_date = :day AND s.event_type = :event_type AND s.currency = :currency "
                "AND me.batch_id = s.batch_id AND me.event_type = s.event_type AND me.business_date = s.entry_date AND me.currency = s.currency"
            ),
            group,
        ).one()
        amounts = [int(v) for v in row[1:]]
        debit = sum(a for a, line in zip(amounts, lines_of, strict=True) if line.side == "debit")
        credit = sum(a for a, line in zip(amounts, lines_of, strict=True) if line.side == "credit")
        if int(row[0]) != int(registered) or debit != credit or min(amounts, default=0) < 0:
            raise UnbalancedBatchError(f"summary voucher {day} {event_type} {cur}: {row[0]} events found, {registered} registered; "
                                       f"debit {debit}, credit {credit}")
        entry_id = conn.execute(insert(JournalEntry).values(money_event_id=None, entry_date=day, event_type=event_type, contract_id=None,
                                                            batch_id=None, events=int(registered))
                                .returning(JournalEntry.journal_entry_id)).scalar_one()
        conn.execute(insert(JournalLine), [
            {"journal_entry_id": entry_id, "line_no": line_no, "account_code": line.account, "entry_date": day, "currency": cur,
             "debit_minor": amount if line.side == "debit" else 0, "credit_minor": amount if line.side == "credit" else 0}
            for line_no, (line, amount) in enumerate(zip(lines_of, amounts, strict=True), start=1) if amount
        ])
        conn.execute(update(SummaryBatch).where(SummaryBatch.journal_entry_id.is_(None), SummaryBatch.entry_date == day,
                                                SummaryBatch.event_type == event_type, SummaryBatch.currency == cur)
                     .values(journal_entry_id=entry_id))
    return len(pending)


def post_contract_events(conn: Connection, batch_id: str, contract: object, business_date: date,
                         events: list[dict[str, object]], templates: Mapping[str, Template]) -> PostingResult:
    """Record one contract's money events as one batch and post it, in the caller's transaction (the
    API's money moves: disbursement, settlement, reversal, refund). Each event: event_type,
    event_key and its `<component>_minor` amounts; the others are zero."""
    zeros = dict.fromkeys(component_columns(), 0)
    conn.execute(insert(MoneyEvent), [{**zeros, "contract_id": contract.contract_id, "business_date": business_date,  # type: ignore[attr-defined]
                                       "currency": contract.currency, "batch_id": batch_id, **e} for e in events])  # type: ignore[attr-defined]
    return post_batch(conn, batch_id, templates)


def event_share(event: Any, templates: Mapping[str, Template]) -> list[DomainJournalLine]:
    """One money event's journal lines, its template applied to its amounts (a row with event_type and
    the `<component>_minor` columns): its own voucher's lines, or its share of the summary voucher
    that carries it."""
    return post_event(event.event_type, {c: int(getattr(event, f"{c}_minor")) for c in COMPONENTS}, templates)


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
    """Where ledger_total does not add up to the journal lines, by date, account and currency (debits
    and credits apart): a scan of every line, for the full-book check. A date whose summary vouchers
    the vouchers step has not written yet is left out (its totals are posted, its vouchers due)."""
    rows = conn.execute(
        text(
            "SELECT COALESCE(t.entry_date, l.entry_date), COALESCE(t.account_code, l.account_code), COALESCE(t.currency, l.currency), "
            "t.debit, t.credit, l.debit, l.credit FROM "
            "(SELECT entry_date, account_code, currency, SUM(debit_minor) AS debit, SUM(credit_minor) AS credit FROM ledger_total "
            "GROUP BY entry_date, account_code, currency) t FULL OUTER JOIN "
            "(SELECT entry_date, account_code, currency, SUM(debit_minor) AS debit, SUM(credit_minor) AS credit FROM journal_line "
            "GROUP BY entry_date, account_code, currency) l "
            "ON l.entry_date = t.entry_date AND l.account_code = t.account_code AND l.currency = t.currency "
            "WHERE (t.entry_date IS NULL OR l.entry_date IS NULL OR t.debit <> l.debit OR t.credit <> l.credit) "
            "AND NOT EXISTS (SELECT 1 FROM summary_batch s WHERE s.journal_entry_id IS NULL "
            "AND s.entry_date = COALESCE(t.entry_date, l.entry_date)) ORDER BY 1, 2, 3"
        )
    ).all()
    return [f"{as_date(day)} account {account} {cur}: totals kept {kd or 0}/{kc or 0}, journal lines {ld or 0}/{lc or 0} (debit/credit, fen)"
            for day, account, cur, kd, kc, ld, lc in rows]


def summary_events_differ(conn: Connection) -> list[str]:
    """Summary vouchers whose number of events is not the number of money events their groups hold
    (a scan of the summarised events, for the full-book check)."""
    rows = conn.execute(
        text(
            "SELECT je.journal_entry_id, je.entry_date, je.event_type, je.events, COUNT(me.money_event_id) FROM journal_entry je "
            "JOIN summary_batch s ON s.journal_entry_id = je.journal_entry_id LEFT JOIN money_event me ON me.batch_id = s.batch_id "
            "AND me.event_type = s.event_type AND me.business_date = s.entry_date AND me.currency = s.currency "
            "WHERE je.money_event_id IS NULL GROUP BY je.journal_entry_id, je.entry_date, je.event_type, je.events "
            "HAVING COUNT(me.money_event_id) <> je.events"
        )
    ).all()
    return [f"summary voucher {entry_id} ({as_date(day)} {event_type}) carries {events} events, its batches hold {held}"
            for entry_id, day, event_type, events, held in rows]


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
    # what was paid of the penalty; what was booked of it is kept beside the instalment (BOOKED_PENALTY)
    "penalty_minor": "CASE WHEN i.status <> 'written_off' THEN -i.paid_penalty_minor ELSE 0 END",
    # a direct lease's VAT on the principal not yet billed, deferred on 2221.05 (credit-positive)
    "deferred_vat_minor": "CASE WHEN i.status = 'scheduled' THEN i.principal_vat_minor ELSE 0 END",
}
# the penalty booked on each instalment (instalment_penalty, a row for each instalment that ever accrued
# one): a reader of instalments `i` joins PENALTY_JOIN and reads PENALTY. The sub-ledger's penalty balance
# adds up BOOKED_PENALTY from that table's side, so a scan of the book reads only its rows
PENALTY_JOIN = "LEFT JOIN instalment_penalty ip ON ip.instalment_id = i.instalment_id"
PENALTY = "COALESCE(ip.penalty_minor, 0)"
# the same of one instalment row, where a join cannot go (an UPDATE's WHERE): PENALTY_OF.format(row="instalment")
PENALTY_OF = "COALESCE((SELECT ip.penalty_minor FROM instalment_penalty ip WHERE ip.instalment_id = {row}.instalment_id), 0)"
BOOKED_PENALTY = "CASE WHEN i.status <> 'written_off' THEN ip.penalty_minor ELSE 0 END"
# days past due and bucket of a contract `c` (contract_dpd: a row for each contract past due, none
# for a current one): a reader joins DPD_JOIN and reads DPD and BUCKET; one that wants only the
# contracts past due joins contract_dpd cd itself
DPD_JOIN = "LEFT JOIN contract_dpd cd ON cd.contract_id = c.contract_id"
DPD = "COALESCE(cd.dpd, 0)"
BUCKET = "COALESCE(cd.bucket, 'current')"
# what instalment i still owes of all it was billed (with PENALTY_JOIN)
OWED = (f"i.principal_minor + i.interest_minor + i.fee_minor + {PENALTY} - i.paid_principal_minor - i.paid_interest_minor "
        "- i.paid_fee_minor - i.paid_penalty_minor")
# the balances each contract keeps on itself beside those of its instalments, credit-positive
CONTRACT_HELD = {"credit_minor": "c.credit_minor",
                 "suspense_minor": "COALESCE((SELECT s.interest_minor + s.penalty_minor FROM contract_suspense s WHERE s.contract_id = c.contract_id), 0)",
                 "deposit_minor": "c.deposit_held_minor"}
# each kept sub-ledger balance (a subledger_balance column: the instalments' ones, then the contract's
# own), its GL control account and its sign there: +1 debit-positive, -1 credit-positive
KEPT_ACCOUNTS = {
    "unbilled_principal_minor": ("1531", 1),
    "principal_minor": ("1122.01", 1),
    "interest_minor": ("1122.02", 1),
    "fee_minor": ("1122.03", 1),
    "penalty_minor": ("1122.04", 1),
    "deferred_vat_minor": ("2221.05", -1),
    "credit_minor": ("2241.01", -1),
    "suspense_minor": ("2241.03", -1),  # interest and penalty of non-accrual contracts held in suspense
    "deposit_minor": ("2241.04", -1),  # the customers' deposits (保证金) held
}
# _balances_sql computes them in this order, so its rows insert straight into subledger_balance
assert list(KEPT_ACCOUNTS) == [*SUBLEDGER_COLUMNS, *CONTRACT_HELD], "KEPT_ACCOUNTS lists the computed balances, in their order"


def _balances_sql(conn: Connection, scope: str | None) -> str:
    """Each contract's sub-ledger balances (SUBLEDGER_COLUMNS from its instalments, its credit and suspense from itself):
    for every contract (the instalments read in the table's order and sorted: `store.engine.grouped_by_sorting`),
    or for those whose ids the SELECT `scope` gives."""
    group = "i.contract_id" if scope is not None else grouped_by_sorting(conn, "i.contract_id")
    where_i = "" if scope is None else f" WHERE i.contract_id IN ({scope})"
    where_c = "" if scope is None else f" WHERE c.contract_id IN ({scope})"
    sums = ", ".join(f"SUM({expr}) AS {name}" for name, expr in SUBLEDGER_COLUMNS.items())
    picks = ", ".join(f"COALESCE(s.{name}, 0){' + COALESCE(p.booked, 0)' if name == 'penalty_minor' else ''} AS {name}"
                      for name in SUBLEDGER_COLUMNS)
    held = ", ".join(f"{expr} AS {name}" for name, expr in CONTRACT_HELD.items())
    # the penalties booked: of the contracts in scope, from their instalments; of the whole book, from the
    # narrow table's rows (CROSS JOIN keeps SQLite there: by the instalments' index it probed it for each of them)
    booked = ("instalment_penalty ip CROSS JOIN instalment i WHERE i.instalment_id = ip.instalment_id" if scope is None
              else f"instalment i JOIN instalment_penalty ip ON ip.instalment_id = i.instalment_id{where_i}")
    return (f"SELECT c.contract_id, {picks}, {held} FROM contract c LEFT JOIN "
            f"(SELECT i.contract_id, {sums} FROM instalment i{where_i} GROUP BY {group}) s ON s.contract_id = c.contract_id "
            f"LEFT JOIN (SELECT i.contract_id, SUM({BOOKED_PENALTY}) AS booked FROM {booked} GROUP BY i.contract_id) p "
            f"ON p.contract_id = c.contract_id{where_c}")


def hold_in_suspense(conn: Connection, batch: str) -> int:
    """What the batch's non-accrual events hold in suspense (2241.03), added to their contracts' rows of
    contract_suspense: a billing_non_accrual's interest net of VAT, a penalty_suspended's penalty.
    Driven from the batch's events (a few hundred to ~20k at 1M). Returns the contracts holding more."""
    return int(conn.execute(text(
        "INSERT INTO contract_suspense (contract_id, interest_minor, penalty_minor) "
        "SELECT me.contract_id, SUM(CASE WHEN me.event_type = 'billing_non_accrual' THEN me.interest_minor - me.vat_minor ELSE 0 END), "
        "SUM(CASE WHEN me.event_type = 'penalty_suspended' THEN me.penalty_minor ELSE 0 END) FROM money_event me "
        "WHERE me.batch_id = :batch AND me.event_type IN ('billing_non_accrual', 'penalty_suspended') GROUP BY me.contract_id "
        "ON CONFLICT (contract_id) DO UPDATE SET interest_minor = contract_suspense.interest_minor + excluded.interest_minor, "
        "penalty_minor = contract_suspense.penalty_minor + excluded.penalty_minor"), {"batch": batch}).rowcount)


def take_from_suspense(conn: Connection, contract_id: int, interest_minor: int, penalty_minor: int) -> None:
    """Interest and penalty one contract held in suspense, taken out of it (released to income by a
    waiver, or reversed and released by a write-off): its row goes when nothing is left."""
    held = conn.execute(text("UPDATE contract_suspense SET interest_minor = interest_minor - :i, penalty_minor = penalty_minor - :p "
                             "WHERE contract_id = :c RETURNING interest_minor, penalty_minor"),
                        {"c": contract_id, "i": interest_minor, "p": penalty_minor}).one_or_none()
    if (held is None and (interest_minor or penalty_minor)) or (held is not None and min(held) < 0):
        raise DomainError(f"contract {contract_id} holds less in suspense than the {interest_minor} interest and {penalty_minor} penalty taken")
    if held == (0, 0):
        conn.execute(text("DELETE FROM contract_suspense WHERE contract_id = :c"), {"c": contract_id})


def balances_of(conn: Connection, contract_id: int) -> dict[str, int]:
    """One contract's sub-ledger balances now, from its instalments (SUBLEDGER_COLUMNS and credit_minor)."""
    row = conn.execute(text(_balances_sql(conn, str(int(contract_id))))).one()._mapping
    return {name: int(row[name]) for name in KEPT_ACCOUNTS}


def rebuild_subledger(conn: Connection) -> int:
    """Recompute every contract's kept sub-ledger balance from its instalments (a scan of the whole
    book: a book loaded without money events for its balances starts from here). Afterwards
    `post_batch` keeps them, event by event. Returns the contracts written."""
    conn.execute(text("DELETE FROM subledger_balance"))
    return int(conn.execute(text(f"INSERT INTO subledger_balance (contract_id, {', '.join(KEPT_ACCOUNTS)}) "
                                 f"{_balances_sql(conn, None)}")).rowcount)


# what a contract owes on its books (the provisioning's exposure), from its kept sub-ledger balance b
EXPOSURE = "b.unbilled_principal_minor + b.principal_minor + b.interest_minor + b.fee_minor + b.penalty_minor"
# the provisioning's row of each active contract: its bucket, and its exposure while it is current. A
# contract past due moves every night (its penalty accrues), so its exposure is not kept: the night adds
# those up from the sub-ledger (exposure_totals) rather than rewrite their rows to add them up after
_EXPOSURE_ROWS = (f"SELECT c.contract_id, c.currency, {BUCKET} AS bucket, CASE WHEN {BUCKET} = 'current' THEN {EXPOSURE} END AS exposure_minor "
                  f"FROM {{source}} JOIN subledger_balance b ON b.contract_id = c.contract_id {DPD_JOIN} WHERE c.status = 'active'")


def refresh_exposure(conn: Connection, *, whole: bool = False) -> int:
    """Bring provision_exposure up to date (each active contract's bucket, and a current one's exposure,
    from the kept sub-ledger balances: post_batch keeps them), and provision_total with it (the current
    bucket's rows added up by currency). Only the contracts whose row can have moved are read:
    - those posted to since the last close (their balance, or their status, moved; a status moves only
      with a money event), but not one still active and past due in the bucket its row says: of it
      only the bucket is kept, and that has not moved;
    - those the days moved to another bucket without an event: past due now or when last seen, in
      another bucket than the kept one.
    The current ones among them are taken out of the totals as they were and added back as they are
    (or, when they are most of the book, every current row is counted again). Returns the contracts
    re-read."""
    if whole:
        conn.execute(text("DELETE FROM provision_exposure"))
        read = int(conn.execute(text("INSERT INTO provision_exposure (contract_id, currency, bucket, exposure_minor) "
                                     + _EXPOSURE_ROWS.format(source="contract c"))).rowcount)
        _count_totals_again(conn)
        return read
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_exposure (contract_id {integer_key(conn)})"))
    conn.execute(text("DELETE FROM tmp_exposure"))
    # still active, asked of each contract by its key. SQLite: through the status index, whose entries carry
    # the key (the contract's wide row for each of the ~100k posted to on a 1M Sunday: 0.15 against 0.10 s).
    # PostgreSQL: the row's status by the key; an EXISTS there became a hash of every active contract, a
    # read of the book each night (the 1M collections step 0.6–1.0 s slower since 0039)
    active = (f"EXISTS (SELECT 1 FROM {indexed_by(conn, 'contract c', 'ix_contract_status')} WHERE c.status = 'active' AND c.contract_id = d.contract_id)"
              if is_sqlite(conn) else "(SELECT c.status FROM contract c WHERE c.contract_id = d.contract_id) = 'active'")
    # each set inserted in turn, a contract already in by the key left out (not a UNION's sort of them all
    # first: the worst Tuesday's 984k, 0.75 → 0.41 s)
    scope = 0
    for contracts in (
        "SELECT d.contract_id FROM subledger_dirty d WHERE NOT EXISTS (SELECT 1 FROM contract_dpd cd CROSS JOIN provision_exposure k "
        f"WHERE cd.contract_id = d.contract_id AND k.contract_id = d.contract_id AND k.bucket = cd.bucket) OR NOT {active}",
        "SELECT cd.contract_id FROM contract_dpd cd JOIN provision_exposure k ON k.contract_id = cd.contract_id WHERE k.bucket <> cd.bucket",
        "SELECT k.contract_id FROM provision_exposure k LEFT JOIN contract_dpd cd ON cd.contract_id = k.contract_id "
        "WHERE k.bucket <> 'current' AND COALESCE(cd.bucket, 'current') <> k.bucket",
    ):
        scope += conn.execute(text(f"INSERT INTO tmp_exposure (contract_id) {contracts} ON CONFLICT DO NOTHING")).rowcount
    # the totals moved by the current rows re-read, taken out as they were and added back as they are: two
    # joins of them to their rows. When they are most of the book (a one-due-day book's answers night: all
    # of it), one count of every row is less (1M contracts: 0.47 s against 1.0 s), and gives the same totals
    kept = conn.execute(text("SELECT COALESCE(SUM(contracts), 0) FROM provision_total")).scalar_one()
    recount = 2 * scope > kept
    if not recount:
        _count_into_totals(conn, -1)
    # a contract no longer active leaves; the others are written in place, and only where they moved:
    # deleting and inserting them all again cost 2.9 s a night at 1M, for ~150k rows most of which are back
    # (CROSS JOIN: from the contracts re-read; SQLite read the whole status index for those not active).
    # A row's exposure is there exactly when its bucket is current, so a move of bucket is a change too
    conn.execute(text("DELETE FROM provision_exposure WHERE contract_id IN "
                      "(SELECT t.contract_id FROM tmp_exposure t CROSS JOIN contract c WHERE c.contract_id = t.contract_id AND c.status <> 'active')"))
    conn.execute(text("INSERT INTO provision_exposure (contract_id, currency, bucket, exposure_minor) "
                      + _EXPOSURE_ROWS.format(source="tmp_exposure t CROSS JOIN contract c") + " AND c.contract_id = t.contract_id "
                      "ON CONFLICT (contract_id) DO UPDATE SET currency = excluded.currency, bucket = excluded.bucket, "
                      "exposure_minor = excluded.exposure_minor WHERE provision_exposure.bucket <> excluded.bucket "
                      "OR provision_exposure.exposure_minor <> excluded.exposure_minor OR provision_exposure.currency <> excluded.currency"))
    if recount:
        _count_totals_again(conn)
        return int(scope)
    _count_into_totals(conn, +1)
    # a currency left with no current contract goes, as a sum of no rows shows it (one that still holds an
    # amount is wrong: the full check names it)
    conn.execute(text("DELETE FROM provision_total WHERE contracts = 0 AND exposure_minor = 0"))
    return int(scope)


# provision_total's rows, the current bucket's by currency as kept
_KEPT_TOTALS = "SELECT currency, bucket, contracts, exposure_minor FROM provision_total"
# the current rows of provision_exposure added up, as provision_total keeps them
_TOTALS = "SELECT currency, bucket, COUNT(*), SUM(exposure_minor) FROM provision_exposure WHERE bucket = 'current' GROUP BY currency, bucket"


def _count_totals_again(conn: Connection) -> None:
    """provision_total as every current row of provision_exposure added up (one pass over them all)."""
    conn.execute(text("DELETE FROM provision_total"))
    conn.execute(text(f"INSERT INTO provision_total (currency, bucket, contracts, exposure_minor) {_TOTALS}"))


def _count_into_totals(conn: Connection, sign: int) -> None:
    """provision_total += sign × the current rows of provision_exposure of the contracts in tmp_exposure
    (a contract without one, new, gone or past due, counts nothing)."""
    conn.execute(text(
        f"INSERT INTO provision_total (currency, bucket, contracts, exposure_minor) SELECT k.currency, k.bucket, {sign} * COUNT(*), "
        f"{sign} * SUM(k.exposure_minor) FROM tmp_exposure t CROSS JOIN provision_exposure k WHERE k.contract_id = t.contract_id "
        "AND k.bucket = 'current' GROUP BY k.currency, k.bucket "
        "ON CONFLICT (currency, bucket) DO UPDATE SET contracts = provision_total.contracts + excluded.contracts, "
        "exposure_minor = provision_total.exposure_minor + excluded.exposure_minor"))


def exposure_totals(conn: Connection) -> list[tuple[str, str, int, int]]:
    """The book's exposure by currency and bucket, as the provisioning sees it (after refresh_exposure):
    (currency, bucket, contracts, exposure). The current bucket's as kept; those past due added up from the
    contracts' sub-ledger balances, through the index of the rows past due (~110k contracts at 1M, 0.1 s)."""
    past_due = conn.execute(text(
        f"SELECT k.currency, k.bucket, COUNT(*), SUM({EXPOSURE}) FROM {indexed_by(conn, 'provision_exposure k', 'ix_provision_exposure_past_due')} "
        "CROSS JOIN subledger_balance b WHERE k.bucket <> 'current' AND b.contract_id = k.contract_id GROUP BY k.currency, k.bucket")).all()
    current = conn.execute(text(_KEPT_TOTALS)).all()
    return sorted((cur, bucket, int(n), int(amount)) for cur, bucket, n, amount in [*current, *past_due])


def exposure_totals_drift(conn: Connection) -> list[str]:
    """Currencies whose kept total of the current bucket is not their current rows added up (a scan of
    them all, for the full-book check)."""
    kept = {(cur, bucket): (int(n), int(amount)) for cur, bucket, n, amount in conn.execute(text(_KEPT_TOTALS)).all()}
    rows = {(cur, bucket): (int(n), int(amount)) for cur, bucket, n, amount in conn.execute(text(_TOTALS)).all()}
    drift = []
    for cur, bucket in sorted(set(kept) | set(rows)):
        (kept_n, kept_amount), (n, amount) = kept.get((cur, bucket), (0, 0)), rows.get((cur, bucket), (0, 0))
        if (kept_n, kept_amount) != (n, amount):
            drift.append(f"{cur} {bucket}: the kept total is {kept_n} contracts, {format_minor(kept_amount, cur)}; "
                         f"their rows add up to {n}, {format_minor(amount, cur)}")
    return drift


def exposure_drift(conn: Connection, limit: int = 20) -> list[str]:
    """Active contracts whose kept bucket, or kept exposure (a current one's; none past due), is not the
    book's (a scan of every contract, for the full-book check), leaving aside those posted to since the
    night's provisioning last read them."""
    book = _EXPOSURE_ROWS.format(source="contract c")
    rows = conn.execute(text(
        f"SELECT COALESCE(f.contract_id, k.contract_id), f.bucket, k.bucket, f.exposure_minor, k.exposure_minor FROM ({book}) f "
        "FULL OUTER JOIN provision_exposure k ON k.contract_id = f.contract_id "
        "WHERE (f.contract_id IS NULL OR k.contract_id IS NULL OR f.bucket <> k.bucket OR f.exposure_minor <> k.exposure_minor "
        "OR (f.exposure_minor IS NULL) <> (k.exposure_minor IS NULL)) "
        f"AND NOT EXISTS (SELECT 1 FROM subledger_dirty d WHERE d.contract_id = COALESCE(f.contract_id, k.contract_id)) "
        f"ORDER BY 1 LIMIT {int(limit)}")).all()
    return [f"contract {cid}: provisioning sees {kb or '-'} {ke if ke is not None else '-'}, the book says {fb or '-'} "
            f"{fe if fe is not None else '-'}" for cid, fb, kb, fe, ke in rows]


RECHECK = "SELECT contract_id FROM subledger_dirty WHERE recheck"  # posted to per event since the last close


def subledger_drift(conn: Connection, limit: int = 20, scope: str | None = None) -> list[str]:
    """Contracts whose kept sub-ledger balance (what their money events posted) is not what their
    instalments and their own columns say: of the contracts the SELECT `scope` gives (the close: those
    posted to per event that day, RECHECK), or of all (a scan of every instalment, for the full-book
    check). An instalment changed without a money event, or an event whose amounts are not the change
    it made, shows here, and nowhere in the tie: that adds up the kept balances."""
    names = list(KEPT_ACCOUNTS)
    rows = conn.execute(
        text(
            f"SELECT c.contract_no, {', '.join(f'k.{n}, f.{n}' for n in names)} FROM ({_balances_sql(conn, scope)}) f "
            f"JOIN contract c ON c.contract_id = f.contract_id LEFT JOIN subledger_balance k ON k.contract_id = f.contract_id "
            "WHERE " + " OR ".join(f"COALESCE(k.{n}, 0) <> f.{n}" for n in names) + f" ORDER BY c.contract_id LIMIT {int(limit)}"
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
    """The contracts' kept sub-ledger balances by component against the GL control accounts (all
    postings to date; a read of one row per contract). Both sides are kept from the same money
    events, so a difference is a posting to a control account without a contract, or a kept row
    written outside `post_batch`; the full-book check holds the kept rows to the instalments."""
    ledger = account_balances(conn)
    values = conn.execute(text("SELECT " + ", ".join(f"COALESCE(SUM({c}), 0)" for c in KEPT_ACCOUNTS) + " FROM subledger_balance")).one()
    return [ControlAccountTie(account, sign * int(value), ledger.get(account, 0))
            for (account, sign), value in zip(KEPT_ACCOUNTS.values(), values, strict=True)]
