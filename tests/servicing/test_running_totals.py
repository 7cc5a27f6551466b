"""The day close reads running totals (ledger_total, each contract's kept sub-ledger balance) and the
contracts posted to that day; the full-book checks hold those totals to every line and instalment.
What each catches, and what only the full-book check catches, on a seeded book."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from autofin.domain.ledger import COMPONENTS, post_event
from autofin.domain.money import format_minor
from autofin.servicing.checks import full_book_checks, nightly_checks
from autofin.servicing.context import CheckFailedError
from autofin.servicing.cycle import run_day, run_step, step_done
from autofin.store.engine import write_transaction
from autofin.store.ledger import KEPT_ACCOUNTS, post_batch, post_contract_events
from tests.servicing.conftest import AS_OF, seed

D1 = AS_OF + timedelta(days=1)
D2 = AS_OF + timedelta(days=2)


def rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def failures(results):
    return {name: problems for name, problems in results.items() if problems}


def test_the_running_totals_are_the_lines_and_the_instalments_they_stand_for(store, ctx):
    seed(store, contracts=300)
    run_day(store, D1, ctx)
    lines = rows(store, "SELECT account_code, SUM(debit_minor), SUM(credit_minor) FROM journal_line GROUP BY account_code ORDER BY account_code")
    kept = rows(store, "SELECT account_code, SUM(debit_minor), SUM(credit_minor) FROM ledger_total GROUP BY account_code ORDER BY account_code")
    assert kept == lines and len(lines) > 5
    with store.connect() as conn:
        assert failures(full_book_checks(conn, D1)) == {}
    # the close took the day's contracts off the queue: nothing is left for the next one
    assert rows(store, "SELECT COUNT(*) FROM subledger_dirty") == [(0,)]


KEPT = ", ".join(KEPT_ACCOUNTS)
MOVES = [  # each event's effect on the kept balances is its template's lines on the control accounts
    ("billing", {"principal": 394775, "interest": 106533, "vat": 6030, "fee": 5000}),
    ("receipt", {"principal": 394775, "interest": 106533, "fee": 5000, "penalty": 1200, "credit": 99}),
    ("penalty_accrual", {"penalty": 1200}),
    ("write_off", {"outstanding_principal": 800000, "principal": 1000, "interest": 200, "penalty": 50}),
    ("refund", {"credit": 99}),
    ("deposit_applied", {"amount": 500000}),
]


def effect(events, templates):
    out = dict.fromkeys(KEPT_ACCOUNTS, 0)
    for event_type, amounts in events:
        for line in post_event(event_type, amounts, templates):
            for column, (account, sign) in KEPT_ACCOUNTS.items():
                if line.account == account:
                    out[column] += sign * (line.debit_minor - line.credit_minor)
    return out


@pytest.mark.parametrize("summary", [False, True], ids=["per-event", "summary"])
def test_posting_adds_each_events_effect_to_its_contracts_kept_balance_once(store, ctx, summary):
    """post_batch keeps the sub-ledger by the events: each contract's row moves by its events' lines on
    the control accounts, once however often the batch is posted; a per-event batch that gains an event
    adds that event alone, and only per-event batches mark their contracts for the close's recheck."""
    seed(store, contracts=20)
    ids = [r[0] for r in rows(store, "SELECT contract_id FROM contract ORDER BY contract_id LIMIT 2")]
    before = {cid: dict(zip(KEPT_ACCOUNTS, r, strict=True)) for cid, *r in rows(store, f"SELECT contract_id, {KEPT} FROM subledger_balance "
                                                                                  f"WHERE contract_id IN ({ids[0]}, {ids[1]})")}
    plan = {ids[0]: MOVES[:4], ids[1]: MOVES[4:]}

    def record(conn, events, contract_id, tag):
        conn.execute(text("INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, batch_id, "
                          + ", ".join(f"{c}_minor" for c in COMPONENTS) + ") VALUES (:t, :k, :c, :d, 'CNY', 'b', "
                          + ", ".join(f":{c}" for c in COMPONENTS) + ")"),
                     [{"t": t, "k": f"{tag}:{n}", "c": contract_id, "d": D1, **{c: a.get(c, 0) for c in COMPONENTS}} for n, (t, a) in enumerate(events)])

    with write_transaction(store) as conn:
        for cid, events in plan.items():
            record(conn, events, cid, f"t{cid}")
        post_batch(conn, "b", ctx.templates, summary=summary)
        post_batch(conn, "b", ctx.templates, summary=summary)  # again: nothing more
    kept = {cid: dict(zip(KEPT_ACCOUNTS, r, strict=True)) for cid, *r in rows(store, f"SELECT contract_id, {KEPT} FROM subledger_balance "
                                                                                f"WHERE contract_id IN ({ids[0]}, {ids[1]})")}
    for cid, events in plan.items():
        assert {c: kept[cid][c] - before[cid][c] for c in KEPT_ACCOUNTS} == effect(events, ctx.templates)
    assert effect(MOVES[:4], ctx.templates)["unbilled_principal_minor"] == -394775 - 800000  # by hand: billed, then written off
    queued = rows(store, "SELECT contract_id, recheck FROM subledger_dirty ORDER BY 1")
    assert [(cid, bool(recheck)) for cid, recheck in queued] == [(ids[0], not summary), (ids[1], not summary)]
    if not summary:
        with write_transaction(store) as conn:
            record(conn, MOVES[2:3], ids[1], "late")
            post_batch(conn, "b", ctx.templates)
        late = dict(zip(KEPT_ACCOUNTS, rows(store, f"SELECT {KEPT} FROM subledger_balance WHERE contract_id = {ids[1]}")[0], strict=True))
        assert late["penalty_minor"] - kept[ids[1]]["penalty_minor"] == 1200


def test_the_close_checks_only_the_contracts_posted_to_that_day(store, ctx):
    seed(store, contracts=300)
    run_day(store, D1, ctx)
    for name in ("business_day", "billing", "delinquency", "penalties", "allocation", "vouchers", "voucher_export"):
        run_step(store, name, D2, ctx)
    posted = rows(store, "SELECT COUNT(DISTINCT contract_id) FROM money_event WHERE business_date = :d", d=D2)[0][0]
    assert rows(store, "SELECT COUNT(*) FROM subledger_dirty") == [(posted,)]
    assert rows(store, "SELECT COUNT(*) FROM subledger_dirty WHERE recheck") == [(0,)]  # the bulk steps' contracts: the full check's
    close = run_step(store, "day_close", D2, ctx)
    assert 0 < close.counts["contracts_checked"] == posted < 300


def test_an_instalment_changed_with_a_money_event_that_disagrees_keeps_the_day_open(store, ctx):
    """A batch posted per event (the API's money moves) marks its contracts for a recheck: the close
    reads their instalments again, and a receipt posted without the instalment paid shows as the
    contract's kept principal differing from its instalments'. The tie, kept by the same postings on
    both sides, does not see it."""
    seed(store, contracts=200)
    run_day(store, D1, ctx)
    for name in ("business_day", "billing", "delinquency", "penalties", "allocation", "vouchers", "voucher_export"):
        run_step(store, name, D2, ctx)
    contract_id = rows(store, "SELECT contract_id FROM instalment WHERE status = 'billed' ORDER BY contract_id LIMIT 1")[0][0]
    with write_transaction(store) as conn:
        contract = conn.execute(text("SELECT contract_id, currency FROM contract WHERE contract_id = :c"), {"c": contract_id}).one()
        post_contract_events(conn, "test:unpaid-receipt", contract, D2, [{"event_type": "receipt", "event_key": "test:receipt",
                                                                          "principal_minor": 10_000}], ctx.templates)
    number, owed = rows(store, "SELECT c.contract_no, SUM(i.principal_minor - i.paid_principal_minor) FROM contract c JOIN instalment i "
                               "ON i.contract_id = c.contract_id WHERE c.contract_id = :c AND i.status IN ('billed', 'paid') GROUP BY c.contract_no",
                        c=contract_id)[0]
    assert rows(store, "SELECT COUNT(*) FROM subledger_dirty WHERE recheck") == [(1,)]
    with pytest.raises(CheckFailedError) as failed:
        run_step(store, "day_close", D2, ctx)
    assert f"subledger_matches_instalments: {number}: principal_minor kept {owed - 10_000} ≠ {owed}" in str(failed.value)
    assert "subledger_ties_to_ledger: account" not in str(failed.value)
    assert rows(store, "SELECT status FROM business_day WHERE business_date = :d", d=D2) == [("open",)]


def test_what_only_the_full_book_check_sees(store, ctx):
    """An instalment changed with no money event at all is outside the nightly scope (that is the
    price of reading only what the day posted); the full-book check names the contract, and a
    ledger total edited by hand shows in the nightly trial balance and, by date and account, in the full check."""
    seed(store, contracts=200)
    run_day(store, D1, ctx)
    number, instalment = rows(store, "SELECT c.contract_no, i.instalment_id FROM instalment i JOIN contract c ON c.contract_id = i.contract_id "
                                     "WHERE i.status = 'scheduled' ORDER BY i.instalment_id LIMIT 1")[0]
    with write_transaction(store) as conn:
        conn.execute(text("UPDATE instalment SET principal_minor = principal_minor + 1 WHERE instalment_id = :i"), {"i": instalment})
    with store.connect() as conn:
        assert failures(nightly_checks(conn, D1, scope="SELECT contract_id FROM subledger_dirty")) == {}
        full = failures(full_book_checks(conn, D1))
    assert full["subledger_balances_match_instalments"] == [f"{number}: unbilled_principal_minor kept {full_unbilled(store, number) - 1} "
                                                            f"≠ {full_unbilled(store, number)}"]
    assert full["schedules_repay_financed"][0].startswith(f"{number}: schedule principal")

    with write_transaction(store) as conn:
        conn.execute(text("UPDATE instalment SET principal_minor = principal_minor - 1 WHERE instalment_id = :i"), {"i": instalment})
        conn.execute(text("UPDATE ledger_total SET debit_minor = debit_minor + 1 WHERE ledger_total_id = "
                          "(SELECT MIN(ledger_total_id) FROM ledger_total WHERE debit_minor > 0)"))
    with store.connect() as conn:
        assert failures(nightly_checks(conn, D1))["trial_balance_zero"] == [f"trial balance off by 0.01 as of {D1}"]
        assert len(failures(full_book_checks(conn, D1))["ledger_totals_match_lines"]) == 1


def test_the_provisioning_reads_only_what_can_have_changed_and_adds_up_as_the_whole_book(store, ctx):
    """The nightly allowance comes from each current contract's kept exposure and the sub-ledger of those
    past due, re-read only for the current contracts posted to and those the days moved to another bucket
    (not every contract past due, though each accrued a penalty); after nights with cures, new arrears and
    payments it is what reading the whole book gives, and a kept row edited by hand shows in the full check."""
    seed(store, contracts=300)
    run_day(store, D1, ctx)
    run_day(store, D2, ctx)
    whole = ("SELECT COALESCE(cd.bucket, 'current'), SUM(b.unbilled_principal_minor + b.principal_minor + b.interest_minor + b.fee_minor + b.penalty_minor) "
             "FROM subledger_balance b JOIN contract c ON c.contract_id = b.contract_id LEFT JOIN contract_dpd cd ON cd.contract_id = c.contract_id "
             "WHERE c.status = 'active' GROUP BY cd.bucket ORDER BY 1")
    kept = rows(store, "SELECT bucket, exposure_minor FROM provision_run WHERE business_date = :d ORDER BY 1", d=D2)
    assert kept == rows(store, whole) and len(kept) >= 3  # current and some arrears buckets
    with store.connect() as conn:
        counts = step_done(conn, "collections", D2)
    assert counts is not None and 0 < counts["exposure_contracts_read"] < 300
    with store.connect() as conn:
        moved = step_done(conn, "delinquency", D2)["bucket_changes"]  # type: ignore[index]
    posted, posted_past_due = rows(store, "SELECT COUNT(DISTINCT me.contract_id), COUNT(DISTINCT cd.contract_id) FROM money_event me "
                                          "LEFT JOIN contract_dpd cd ON cd.contract_id = me.contract_id WHERE me.business_date = :d", d=D2)[0]
    past_due = rows(store, "SELECT COUNT(*) FROM contract_dpd")[0][0]
    # a contract read was posted to while not past due, or moved bucket: the ones past due, posted to (their
    # penalty) and in the same bucket were not read, nor those past due and not posted to
    assert posted_past_due > 10 and counts["exposure_contracts_read"] <= posted - posted_past_due + moved
    assert moved < past_due
    # the current bucket's allowance was read from the kept totals, not the rows: they are the current rows added
    # up; a row past due keeps its bucket and no exposure
    assert rows(store, "SELECT bucket, contracts, exposure_minor FROM provision_total ORDER BY 1") == rows(
        store, "SELECT bucket, COUNT(*), SUM(exposure_minor) FROM provision_exposure WHERE bucket = 'current' GROUP BY bucket ORDER BY 1")
    assert rows(store, "SELECT COUNT(*), COUNT(exposure_minor) FROM provision_exposure WHERE bucket <> 'current'") == [(past_due, 0)]
    first_current = "(SELECT MIN(contract_id) FROM provision_exposure WHERE bucket = 'current')"
    with write_transaction(store) as conn:
        conn.execute(text(f"UPDATE provision_exposure SET exposure_minor = exposure_minor + 1 WHERE contract_id = {first_current}"))
    with store.connect() as conn:
        found = failures(full_book_checks(conn, D2))
    assert len(found["provisioning_sees_the_book"]) == 1
    # the row no longer adds up to the current bucket's kept total
    (n, amount), = rows(store, "SELECT contracts, exposure_minor FROM provision_total WHERE bucket = 'current'")
    assert found["provisioning_totals_add_up"] == [f"CNY current: the kept total is {n} contracts, {format_minor(amount)}; "
                                                   f"their rows add up to {n}, {format_minor(amount + 1)}"]
    # a row past due that says an exposure is as wrong as one that says another bucket
    first_past_due = "(SELECT MIN(contract_id) FROM provision_exposure WHERE bucket <> 'current')"
    with write_transaction(store) as conn:
        conn.execute(text(f"UPDATE provision_exposure SET exposure_minor = exposure_minor - 1 WHERE contract_id = {first_current}"))
        conn.execute(text(f"UPDATE provision_exposure SET exposure_minor = 1 WHERE contract_id = {first_past_due}"))
    with store.connect() as conn:
        found = failures(full_book_checks(conn, D2))
    (contract, bucket), = rows(store, f"SELECT contract_id, bucket FROM provision_exposure WHERE contract_id = {first_past_due}")
    assert found == {"provisioning_sees_the_book": [f"contract {contract}: provisioning sees {bucket} 1, the book says {bucket} -"]}


def test_a_kept_total_with_no_contracts_but_an_amount_stays_for_the_full_check_to_name(store, ctx):
    """A night drops a bucket its contracts all left (nought and nothing); one that still says it holds an
    amount is wrong, and stays for the full-book check rather than going quietly."""
    seed(store, contracts=60)
    run_day(store, D1, ctx)
    with write_transaction(store) as conn:
        conn.execute(text("INSERT INTO provision_total (currency, bucket, contracts, exposure_minor) VALUES ('USD', 'M2', 0, 12345)"))
    run_day(store, D2, ctx)
    with store.connect() as conn:
        assert failures(full_book_checks(conn, D2)) == {"provisioning_totals_add_up": [
            f"USD M2: the kept total is 0 contracts, {format_minor(12345, 'USD')}; their rows add up to 0, {format_minor(0, 'USD')}"]}


@pytest.mark.parametrize("re_read", ["most of the book", "one contract"])
def test_the_totals_are_counted_again_whole_when_most_of_the_book_is_re_read(store, ctx, re_read):
    """The provisioning moves its kept totals by the current rows it re-reads, out as they were and in as
    they are; when those are most of the book (a one-due-day book's answers night) it counts every
    current row instead, which gives the same totals for less. Shown by a kept total put wrong
    beforehand: a count of every row no longer has it, rows moved one by one leave it for the full check.
    Every active contract posted to, but those past due in their kept bucket: nothing kept of them moved."""
    from autofin.store.ledger import exposure_totals_drift, refresh_exposure

    seed(store, contracts=60)
    run_day(store, D1, ctx)
    with write_transaction(store) as conn:
        conn.execute(text("UPDATE provision_total SET exposure_minor = exposure_minor + 7 WHERE bucket = 'current'"))
        conn.execute(text("DELETE FROM subledger_dirty"))
        conn.execute(text("INSERT INTO subledger_dirty (contract_id, recheck) SELECT contract_id, false FROM contract WHERE status = 'active'"
                          + (" AND contract_id IN (SELECT MIN(contract_id) FROM provision_exposure GROUP BY bucket = 'current')"  # one current, one past due
                             if re_read == "one contract" else "")))
        read = refresh_exposure(conn)
        drift = exposure_totals_drift(conn)
        totals = conn.execute(text("SELECT currency, bucket, contracts, exposure_minor FROM provision_total ORDER BY 1, 2")).all()
        rows_added_up = conn.execute(text("SELECT currency, bucket, COUNT(*), SUM(exposure_minor) FROM provision_exposure "
                                          "WHERE bucket = 'current' GROUP BY 1, 2 ORDER BY 1, 2")).all()
    current, past_due = rows(store, "SELECT COUNT(*) - COUNT(cd.contract_id), COUNT(cd.contract_id) FROM contract c "
                                    "LEFT JOIN contract_dpd cd ON cd.contract_id = c.contract_id WHERE c.status = 'active'")[0]
    if re_read == "most of the book":
        assert past_due > 3 and read == current and drift == [] and totals == rows_added_up
    else:
        assert read == 1 and len(drift) == 1 and drift[0].startswith("CNY current: the kept total is")


def test_a_contract_written_off_leaves_the_provisioning_and_the_others_keep_adding_up(store, ctx):
    """The provisioning writes the contracts it re-reads in place; one that left the book (written off)
    leaves its kept rows, and the allowance is the whole book's again."""
    from types import SimpleNamespace

    from autofin.origination.access import Principal
    from autofin.postlease.collections import execute_write_off
    from autofin.store.models import Contract

    seed(store, contracts=300)
    run_day(store, D1, ctx)
    d3 = D2 + timedelta(days=1)
    with write_transaction(store) as conn:
        contract = conn.execute(select(Contract).where(Contract.status == "active", Contract.dpd > 30).order_by(Contract.contract_id)).first()
        assert contract is not None
        execute_write_off(conn, Principal(1, "test", "finance_director", None), SimpleNamespace(post_lease_request_id=1, details={"case_id": 0}),
                          contract, D2)
    run_day(store, D2, ctx)
    run_day(store, d3, ctx)
    assert rows(store, "SELECT COUNT(*) FROM provision_exposure WHERE contract_id = :c", c=contract.contract_id) == [(0,)]
    active = rows(store, "SELECT COUNT(*) FROM contract WHERE status = 'active'")[0][0]
    assert rows(store, "SELECT COUNT(*) FROM provision_exposure") == [(active,)]
    whole = ("SELECT COALESCE(cd.bucket, 'current'), COUNT(*), "
             "SUM(b.unbilled_principal_minor + b.principal_minor + b.interest_minor + b.fee_minor + b.penalty_minor) "
             "FROM subledger_balance b JOIN contract c ON c.contract_id = b.contract_id LEFT JOIN contract_dpd cd ON cd.contract_id = c.contract_id "
             "WHERE c.status = 'active' GROUP BY cd.bucket ORDER BY 1")
    assert rows(store, "SELECT bucket, contracts, exposure_minor FROM provision_run WHERE business_date = :d ORDER BY 1", d=d3) == rows(store, whole)
    with store.connect() as conn:
        assert failures(full_book_checks(conn, d3)) == {}


def full_unbilled(engine, number):
    return rows(engine, "SELECT SUM(i.principal_minor) FROM instalment i JOIN contract c ON c.contract_id = i.contract_id "
                        "WHERE c.contract_no = :n AND i.status = 'scheduled'", n=number)[0][0]


def test_the_check_command_answers_with_its_exit_code(tmp_path):
    from tests.support.books import seeded_sqlite

    url = seeded_sqlite(tmp_path / "autofin.db", contracts=60, as_of=AS_OF)
    env = {**os.environ, "AUTOFIN_DATA_DIR": str(tmp_path), "AUTOFIN_DATABASE_URL": url}
    ok = subprocess.run([sys.executable, "-m", "autofin.cli", "cycle", "check", "--full"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert f"full-book checks as of {AS_OF}: 15 of 15 ok" in ok.stdout
    subprocess.run(["sqlite3", str(tmp_path / "autofin.db"), "UPDATE instalment SET principal_minor = principal_minor + 1 "
                    "WHERE instalment_id = (SELECT MIN(instalment_id) FROM instalment WHERE status = 'scheduled')"], check=True)
    quick = subprocess.run([sys.executable, "-m", "autofin.cli", "cycle", "check"], env=env, capture_output=True, text=True)
    full = subprocess.run([sys.executable, "-m", "autofin.cli", "cycle", "check", "--full"], env=env, capture_output=True, text=True)
    assert quick.returncode == 0 and full.returncode == 1
    assert "subledger_balances_match_instalments     FAILED: " in full.stdout


@pytest.mark.parametrize("breach, named", [
    ("UPDATE instalment SET paid_interest_minor = interest_minor + 1 WHERE instalment_id = :i", "1 instalments paid beyond what they owe"),
    ("UPDATE instalment SET paid_penalty_minor = 1 WHERE instalment_id = :i", "1 instalments paid beyond what they owe"),
    ("UPDATE contract SET credit_minor = -1 WHERE contract_id = :c", "1 contracts with negative customer credit"),
])
def test_the_close_sees_an_overpaid_instalment_or_negative_credit_anywhere_in_the_book(store, ctx, breach, named):
    """Nothing paid beyond what is owed and no negative credit hold for the whole book every night, not only
    for the contracts posted to: the few rows that could break them are in partial indexes (an
    instalment paid beyond its amounts or with penalty paid, a contract with credit below zero), so
    the close reads those and nothing else. Here the breach is on a contract nothing was posted to."""
    seed(store, contracts=200)
    run_day(store, D1, ctx)
    for name in ("business_day", "billing", "delinquency", "penalties", "allocation", "vouchers", "voucher_export"):
        run_step(store, name, D2, ctx)
    contract_id, instalment_id = rows(store, "SELECT i.contract_id, i.instalment_id FROM instalment i WHERE i.status = 'billed' "
                                             "AND NOT EXISTS (SELECT 1 FROM subledger_dirty d WHERE d.contract_id = i.contract_id) "
                                             "AND NOT EXISTS (SELECT 1 FROM instalment_penalty p WHERE p.instalment_id = i.instalment_id) "
                                             "ORDER BY i.instalment_id LIMIT 1")[0]
    with write_transaction(store) as conn:
        conn.execute(text(breach), {"i": instalment_id, "c": contract_id})
    with pytest.raises(CheckFailedError) as failed:
        run_step(store, "day_close", D2, ctx)
    assert f"no_negative_balances: {named}" in str(failed.value)
