"""A night reads what can change that day, not the book: no statement of the cycle scans a table
that grows with the book, except through a partial index of the few rows the step wants.

Each statement of a weekend night, a night with debits out and the night their answers come in
(SQLite, the seeded book) is explained (EXPLAIN QUERY PLAN), and its plan must not
- scan a book table (`SCAN contract`, `SCAN i` of the instalments, ...) other than by a partial index, nor
- walk the status index over every active contract (`INDEX ix_contract_status (status=?)`): a
  planner without statistics prefers it to a partial index or to the small table it should start from
  (each such case cost 0.1-0.6 s a night at 1M).
The scans the night still does by design are listed in FULL_SCANS with what they cost at 1M.
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import ProgrammingError

from autofin.servicing.sql import by_partial_index
from tests.servicing.conftest import AS_OF, seed
from tests.servicing.test_bank_cycle import D1, context, run_days

# the tables with a row (or more) for each contract, or for each contract and day
BOOK_TABLES = {"contract", "contract_dpd", "contract_last_bill", "instalment", "instalment_penalty", "subledger_balance", "provision_exposure", "customer",
               "vehicle", "mandate", "money_event", "receipt", "allocation", "debit_order", "journal_entry", "journal_line",
               "notification", "collection_case", "bucket_snapshot", "application", "promise_to_pay", "case_outsourcing"}
# statements that read a whole table on purpose, each night: (text they contain, why)
FULL_SCANS = {
    "FROM subledger_balance": "the close's sub-ledger totals against the GL control accounts (0.2 s at 1M)",
    "FROM contract_dpd cd WHERE cd.dpd <= 0 OR cd.bucket <>": "the DPD check over the contracts past due, the table itself",
    "SELECT cd.contract_id FROM contract_dpd cd JOIN provision_exposure k ON k.contract_id = cd.contract_id WHERE k.bucket <> cd.bucket":
        "the provisioning's re-read: the contracts past due whose bucket moved, from the past-due table",
    "FROM contract_dpd cd CROSS JOIN contract c": "a reader that starts from the contracts past due",
    "DELETE FROM contract_dpd": "delinquency's cures: the contracts past due yesterday and not today",
    "SELECT currency, bucket, COUNT(*), SUM(exposure_minor) FROM provision_exposure WHERE bucket = 'current' GROUP BY": "the "
    "provisioning's current total counted again on a night that re-read most of the book anyway (a one-due-day book's answers "
    "night; a small test book's nights), store.ledger.refresh_exposure; a night of a few re-read moves them by those (test_running_totals)",
}
# statements that read every instalment of some contracts on purpose: (text they contain, why)
EVERY_INSTALMENT_OF = {
    "LEFT JOIN subledger_balance k ON k.contract_id = f.contract_id": "the close re-derives the balances of the contracts posted to one by "
    "one that day from all their instalments, scheduled ones too (the summary batches' contracts are not among them)",
}
# a search of every row of a table in one status, through its status index
ONE_STATUS = re.compile(r"SEARCH (\w+) USING (?:COVERING )?INDEX \w+_status \(status=\?\)$")
ALIAS = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(?!ON\b|WHERE\b|SET\b|JOIN\b|CROSS\b|LEFT\b|GROUP\b|ORDER\b"
                   r"|USING\b|VALUES\b|SELECT\b|DEFAULT\b)(\w+))?", re.IGNORECASE)


def _tables(statement: str) -> dict[str, str]:
    """alias (or name) → table, as the plan names them."""
    out = {}
    for table, alias in ALIAS.findall(statement):
        out[table] = table
        if alias and alias[0] != "(":
            out[alias] = table
    return out


def _book_scans(conn, statement: str, parameters, partial: set[str], every_instalment_of: Mapping[str, str]) -> list[str]:
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    plan = [row[-1] for row in rows]
    one_line = " ".join(statement.split())
    every_instalment_of_some = any(known in one_line for known in {**EVERY_INSTALMENT_OF, **every_instalment_of})
    tables = _tables(statement)
    found = []
    # a correlated subquery runs once for each row of its statement: a scan in it, of any table (a step's
    # temporary one too), reads that table once a row (the failed answers' reasons: a file of them, squared)
    correlated = {node for node, _, _, step in rows if step.startswith("CORRELATED")}
    for node, parent, _, step in rows:
        if parent in correlated:
            correlated.add(node)
            if step.startswith("SCAN"):
                found.append(f"once a row: {step}")
            # or every row of one status, once a row (a status index chosen over the key that would find the one row)
            status = ONE_STATUS.match(step)
            if status and tables.get(status[1]) in BOOK_TABLES:
                found.append(f"once a row, a status: {step}")
    # an IN list built from every row of a book table in one status (`x IN (SELECT … WHERE status = 'closed')`):
    # a status that rows reach and keep (closed cases) grows with history, however few rows the statement updates
    listed = {node for node, _, _, step in rows if step.startswith("LIST SUBQUERY")}
    for node, parent, _, step in rows:
        if parent in listed:
            listed.add(node)
            status = ONE_STATUS.match(step)
            if status and tables.get(status[1]) in BOOK_TABLES:
                found.append(f"a list of one status: {step}")
    for step in plan:
        scan = re.match(r"SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?", step)
        if scan and tables.get(scan[1]) in BOOK_TABLES and scan[2] not in partial:
            found.append(step)
        if "INDEX ix_contract_status (status=?)" in step:
            found.append(step)
        # a range with only an upper bound over the leading column of a book table's key or full index reads
        # all history before the bound: SQLite's instalments keyed by due date (0028), `due_date < D`, are
        # every instalment due before D (a lower bound, a recent window, is not)
        # a contract's every instalment, through the (contract, seq) index, where the statement wants some:
        # SQLite's instalments are kept in due-date order (0028), so each is a page of its own (a contract
        # 30 months in reads 30 pages to find its one billed instalment; the billed ones have their index)
        if re.match(r"SEARCH \w+ USING INDEX ux_instalment_contract_id_seq \(contract_id=\?\)$", step) and not every_instalment_of_some:
            found.append(step)
        ranged = re.match(r"SEARCH (\w+) USING (?:COVERING )?(?:PRIMARY KEY|INDEX (\w+)) \((\w+)<\?\)", step)
        if ranged and tables.get(ranged[1]) in BOOK_TABLES and ranged[2] not in partial:
            found.append(step)
    return found


@contextmanager
def statements_kept(store) -> Iterator[list[tuple[str, object]]]:
    """The statements `store` runs inside the block that read or write rows (and the step tables they
    create), with their parameters, for `book_scans_of`."""
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if not executemany and re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE TEMPORARY|CREATE INDEX IF NOT EXISTS \w+ ON tmp_)\b",
                                        statement, re.IGNORECASE):
            seen.append((statement, parameters))

    event.listen(store, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(store, "before_cursor_execute", keep)


def book_scans_of(store, seen: list[tuple[str, object]], *, by_design: Mapping[str, str] | None = None,
                  every_instalment_of: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Each statement kept whose SQLite plan reads a book table whole (see `_book_scans`), with what it
    reads. The caller's own exceptions, each as text the statement contains (its whitespace as one
    space) → why: `by_design`, more reads as FULL_SCANS; `every_instalment_of`, more statements that read
    every instalment of a contract on purpose, as EVERY_INSTALMENT_OF."""
    allowed = {**FULL_SCANS, **(by_design or {})}
    with store.connect() as conn:
        partial = {name for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'"))}
        # the step's temporary tables are gone with its connection: plan against empty ones of the same names
        for statement, _ in seen:
            for name in re.findall(r"CREATE TEMPORARY TABLE IF NOT EXISTS (tmp_\w+ \(.*\))", statement):
                conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name}")
        for statement, _ in seen:  # and their indexes
            if re.match(r"\s*CREATE INDEX IF NOT EXISTS \w+ ON tmp_", statement):
                conn.exec_driver_sql(statement)
        offenders = {}
        for statement, parameters in seen:
            if statement.lstrip().upper().startswith("CREATE") or any(known in " ".join(statement.split()) for known in allowed):
                continue
            found = _book_scans(conn, statement, parameters, partial, every_instalment_of or {})
            if found:
                offenders[re.sub(r"\s+", " ", statement)[:240]] = found
    return offenders


def test_no_statement_of_a_night_reads_the_whole_book(sqlite_store, tmp_path):
    store = sqlite_store
    seed(store, contracts=400)
    ctx = context(tmp_path)
    run_days(store, ctx, AS_OF + timedelta(days=1), D1 - timedelta(days=2))  # to the Saturday
    with statements_kept(store) as seen:
        run_days(store, ctx, D1 - timedelta(days=1), D1 + timedelta(days=1))  # Sunday, Monday (debits out), Tuesday (answers)
    assert len(seen) > 500
    offenders = book_scans_of(store, seen)
    assert offenders == {}, "\n".join(f"{k}\n    {v}" for k, v in offenders.items())


def test_postgresql_bills_through_the_partial_index_of_the_scheduled_instalments(pg_store, tmp_path):
    """PostgreSQL guesses "scheduled and due by D" as if the two were independent, far above the
    night's rows; at 1M with a shard's `contract_id % N = K` it read every instalment instead (3 s a
    shard). Billing's read of the instalments due, as it runs in a shard, is planned with scans off
    (a small book like this one is planned by the index anyway: the setting is what is held here)."""
    from dataclasses import replace
    from datetime import date

    from autofin.servicing.cycle import run_step

    seed(pg_store, contracts=60)
    seen = []

    def explain(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT INTO tmp_bill"):
            driver = conn.connection.driver_connection
            plan = "\n".join(r[0] for r in driver.execute("EXPLAIN " + statement, parameters))
            seen.append((driver.execute("SHOW enable_seqscan").fetchone()[0], "ix_instalment_scheduled_due" in plan))
        elif statement.startswith("INSERT INTO money_event"):
            seen.append((conn.connection.driver_connection.execute("SHOW enable_seqscan").fetchone()[0], None))

    event.listen(pg_store, "before_cursor_execute", explain)
    try:
        ctx = context(tmp_path)
        run_step(pg_store, "business_day", date(2026, 11, 21), ctx)
        run_step(pg_store, "billing", date(2026, 11, 21), replace(ctx, shard="1of2"))
    finally:
        event.remove(pg_store, "before_cursor_execute", explain)
    # by the partial index with scans off; the statements after it planned as PostgreSQL sees fit
    assert seen[0] == ("off", True) and seen[1:] and all(setting == "on" for setting, _ in seen[1:]), seen


def test_a_failed_read_by_the_partial_index_reports_its_own_error(pg_store):
    """The setting goes with the failed transaction; nothing sent after the error hides it."""
    with pytest.raises(ProgrammingError, match="no_such_table"), pg_store.begin() as conn, by_partial_index(conn):
        conn.exec_driver_sql("SELECT * FROM no_such_table")
    with pg_store.connect() as conn:
        assert conn.exec_driver_sql("SHOW enable_seqscan").scalar_one() == "on"


def first_night(store, tmp_path) -> list[tuple[str, object]]:
    """The statements of a 60-contract book's first night after its cut-over (`statements_kept`)."""
    seed(store, contracts=60)
    with statements_kept(store) as seen:
        run_days(store, context(tmp_path), AS_OF + timedelta(days=1), AS_OF + timedelta(days=1))
    return seen


def assert_read_from_index_alone(store, seen: Iterable[tuple[str, object]], table: str, index: str, step_tables: Iterable[str] = ()) -> None:
    """Each statement of `seen` reads `table` (its alias or name: a regular expression) from `index`
    alone, as SQLite plans it (a covering index), the step tables it reads created first."""
    with store.connect() as conn:
        for ddl in step_tables:
            conn.exec_driver_sql(ddl)
        for statement, parameters in seen:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()]
            readings = [step for step in plan if re.match(rf"(SCAN|SEARCH) {table}\b", step)]
            assert readings and all(f"USING COVERING INDEX {index}" in step for step in readings), (statement, plan)


IN_FLIGHT = "CREATE TEMPORARY TABLE IF NOT EXISTS tmp_in_flight (contract_id BIGINT PRIMARY KEY)"


def test_the_days_past_due_are_read_from_the_billed_instalments_index_alone(sqlite_store, tmp_path):
    """Delinquency's DPD of every contract and the close's check of it read the billed instalments'
    partial index, not a row of the table for each (0029: the status is in the index, which SQLite
    3.40 needs to take the index as covering; a million lookups on the one-due-day book's Tuesday)."""
    seen = [s for s in first_night(sqlite_store, tmp_path) if "FROM instalment i WHERE i.status = 'billed' AND i.due_date <" in s[0]]
    assert len(seen) >= 2  # delinquency's, the close's
    assert_read_from_index_alone(sqlite_store, seen, "i", "ix_instalment_billed_contract",
                                 ["CREATE TEMPORARY TABLE IF NOT EXISTS tmp_dpd (contract_id BIGINT PRIMARY KEY, dpd INTEGER)"])


def test_the_penalties_read_the_contracts_terms_from_their_index_alone(sqlite_store, tmp_path):
    """The overdue instalments' accruals and the money events read each past-due contract's penalty
    terms, currency and non-accrual threshold from the index of those (0040), not the contract's
    row: ~110k rows on the 1M Sunday, 11 to a page of the table (penalties 0.93 → 0.79 s of
    statements, rolled back on a copy)."""
    names = ("INSERT INTO tmp_penalty", "INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, penalty_minor")
    seen = {name: s for s in first_night(sqlite_store, tmp_path) for name in names if s[0].startswith(name)}
    assert len(seen) == 2
    assert_read_from_index_alone(sqlite_store, seen.values(), "c", "ix_contract_penalty_terms", [
        IN_FLIGHT, "CREATE TEMPORARY TABLE IF NOT EXISTS tmp_penalty (instalment_id INTEGER PRIMARY KEY, contract_id BIGINT, "
                   "amount BIGINT, accrued_micro BIGINT)"])


def test_the_penalties_the_waterfall_and_the_overpayment_check_read_the_billed_instalments_index_alone(sqlite_store, tmp_path):
    """The penalties' basis of each billed instalment, the allocation's waterfall and the close's check
    that none is paid beyond what it owes read the billed instalments' partial index (0038), not a row
    of the table for each: SQLite keeps the table in due-date order, a page a row (on the 1M Sunday,
    207k instalments: penalties 2.7–3.5 → 1.7–1.9 s, the overpayment check 0.41 → 0.03 s). The
    waterfall also orders by the sequence: without it in the index SQLite read every instalment of
    each paying contract by (contract_id, seq) (the 1M Tuesday's allocation 16–18 → 38–39 s)."""
    from autofin.servicing.allocation import _paid_into_sql

    names = {"penalties": "INSERT INTO tmp_penalty",
             "overpaid": "SELECT COUNT(*) FROM instalment WHERE status = 'billed' AND (paid_principal_minor > principal_minor"}
    seen = {key: s for s in first_night(sqlite_store, tmp_path) for key, name in names.items() if s[0].startswith(name)}
    assert set(seen) == {"penalties", "overpaid"}
    with sqlite_store.connect() as conn:
        seen["waterfall"] = (_paid_into_sql(conn), {})
    assert_read_from_index_alone(sqlite_store, seen.values(), "(i|instalment)", "ix_instalment_billed_contract", [
        IN_FLIGHT, "CREATE TEMPORARY TABLE IF NOT EXISTS tmp_round (contract_id BIGINT PRIMARY KEY, receipt_id BIGINT, amount BIGINT)",
        "CREATE TEMPORARY TABLE IF NOT EXISTS tmp_alloc (instalment_id BIGINT PRIMARY KEY, receipt_id BIGINT, penalty BIGINT, "
        "fee BIGINT, interest BIGINT, principal BIGINT, penalty_booked BIGINT)"])
