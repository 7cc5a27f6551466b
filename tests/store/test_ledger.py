"""Posting in the store: set-based posting equals the reference posting, line for line."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from autofin.domain.errors import DomainError
from autofin.domain.ledger import COMPONENTS, post_event
from autofin.reference import chart_of_accounts, voucher_templates
from autofin.store.ledger import (
    UnbalancedBatchError,
    ledger_totals_differ,
    post_batch,
    summary_events_differ,
    trial_balance_as_of,
    write_summary_vouchers,
)
from autofin.store.models import JournalEntry, JournalLine, MoneyEvent

D1 = date(2026, 11, 23)


def _record(conn, events, batch="b1"):
    rows = []
    for n, (event_type, amounts) in enumerate(events):
        row = {"event_type": event_type, "event_key": f"{batch}:{n}", "business_date": D1, "batch_id": batch}
        row.update({f"{c}_minor": amounts.get(c, 0) for c in COMPONENTS})
        rows.append(row)
    conn.execute(insert(MoneyEvent), rows)


EVENTS = [
    ("billing", {"principal": 394775, "interest": 106533, "vat": 6030, "fee": 5000}),
    ("receipt", {"principal": 394775, "interest": 106533, "fee": 5000, "penalty": 1200, "credit": 99}),
    ("penalty_accrual", {"penalty": 1200}),
    ("disbursement", {"outstanding_principal": 16000000}),
    ("early_settlement", {"outstanding_principal": 5000000, "interest": 12000, "vat": 679, "fee": 150000}),
    ("write_off", {"outstanding_principal": 800000, "principal": 1000, "interest": 200, "penalty": 50}),
    ("refund", {"credit": 99}),
]


def test_set_based_posting_equals_the_reference(store):
    templates = voucher_templates()
    with store.begin() as conn:
        _record(conn, EVENTS)
        result = post_batch(conn, "b1", templates)
    expected = [post_event(t, a, templates) for t, a in EVENTS]
    assert result.entries == len(EVENTS)
    assert result.lines == sum(len(lines) for lines in expected)
    assert result.debit_minor == result.credit_minor == sum(line.debit_minor for lines in expected for line in lines)
    with store.connect() as conn:
        got = conn.execute(
            select(MoneyEvent.event_key, JournalLine.line_no, JournalLine.account_code, JournalLine.debit_minor, JournalLine.credit_minor)
            .join(JournalEntry, JournalEntry.money_event_id == MoneyEvent.money_event_id)
            .join(JournalLine, JournalLine.journal_entry_id == JournalEntry.journal_entry_id)
            .order_by(MoneyEvent.money_event_id, JournalLine.line_no)
        ).all()
    want = [(f"b1:{n}", line.line_no, line.account, line.debit_minor, line.credit_minor) for n, lines in enumerate(expected) for line in lines]
    assert [tuple(r) for r in got] == want
    # billing, by hand: 1065.33 interest of which 60.30 VAT
    billing = {(line.account, "d" if line.debit_minor else "c"): line.debit_minor or line.credit_minor for line in expected[0]}
    assert billing == {("1122.01", "d"): 394775, ("1531", "c"): 394775, ("1122.02", "d"): 106533, ("6011.01", "c"): 100503,
                       ("2221.01", "c"): 6030, ("1122.03", "d"): 5000, ("6021", "c"): 5000}


def test_posting_twice_changes_nothing(store):
    templates = voucher_templates()
    with store.begin() as conn:
        _record(conn, EVENTS)
        post_batch(conn, "b1", templates)
        again = post_batch(conn, "b1", templates)
        assert (again.entries, again.lines) == (0, 0)
        assert conn.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == len(EVENTS)


def test_a_negative_line_rolls_the_whole_batch_back(store):
    templates = voucher_templates()
    with pytest.raises(UnbalancedBatchError), store.begin() as conn:
        _record(conn, [("billing", {"interest": 100, "vat": 500})])  # VAT larger than the interest
        post_batch(conn, "b1", templates)
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MoneyEvent)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(JournalLine)).scalar_one() == 0


def test_trial_balance_sums_to_zero(store):
    with store.begin() as conn:
        _record(conn, EVENTS)
        post_batch(conn, "b1", voucher_templates())
    with store.connect() as conn:
        rows = trial_balance_as_of(conn, D1, chart_of_accounts())
        assert sum(r.balance_minor for r in rows) == 0
        assert {r.account for r in rows} >= {"1002", "1531", "1122.01", "6011.01", "2221.01", "6702"}
        assert trial_balance_as_of(conn, date(2026, 11, 22), chart_of_accounts()) == []


amount = st.integers(min_value=0, max_value=10**10)


# The test empties the ledger tables itself at the start of every example.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["billing", "receipt", "penalty_accrual", "write_off", "opening_balance"]),
                          st.fixed_dictionaries({c: amount for c in ("principal", "interest", "fee", "penalty", "credit", "outstanding_principal")})),
                min_size=1, max_size=8))
def test_set_based_posting_balances_any_batch(sqlite_store, events):
    templates = voucher_templates()
    for event_type, amounts in events:
        amounts["vat"] = amounts["interest"] // 17
        if event_type == "write_off":  # a write-off sets at most what is owed against the customer's credit
            amounts["credit"] = min(amounts["credit"], sum(amounts[c] for c in ("principal", "interest", "fee", "penalty", "outstanding_principal")))
    with sqlite_store.begin() as conn:
        for table in ("journal_line", "journal_entry", "money_event"):
            conn.execute(text(f"DELETE FROM {table}"))
        _record(conn, events, "p")
        result = post_batch(conn, "p", templates)
        assert result.debit_minor == result.credit_minor
        assert result.lines == sum(len(post_event(t, a, templates)) for t, a in events)


BULK = [("billing", {"principal": 394775, "interest": 106533, "vat": 6030, "fee": 5000}),
        ("billing", {"principal": 100000, "interest": 20000, "vat": 1132}),
        ("penalty_accrual", {"penalty": 1200}),
        ("penalty_accrual", {"penalty": 37})]


def test_summary_batches_post_one_voucher_per_day_and_event_type_whatever_the_shards(store):
    """The night's bulk batches (two shards here) post their running totals at once and register their
    groups; the vouchers step writes one voucher per date and event type whose lines are the sums of
    the events' own lines, carrying their number of events, once."""
    templates = voucher_templates()
    with store.begin() as conn:
        _record(conn, BULK[:3], "night:0of2")
        _record(conn, BULK[3:], "night:1of2")
        first = post_batch(conn, "night:0of2", templates, summary=True)
        post_batch(conn, "night:1of2", templates, summary=True)
        assert (first.entries, first.lines, first.events) == (0, 0, 3)
        assert conn.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 0
        assert sum(r.balance_minor for r in trial_balance_as_of(conn, D1, chart_of_accounts())) == 0
        assert write_summary_vouchers(conn, D1, templates) == 2
        assert write_summary_vouchers(conn, D1, templates) == 0  # once
        post_batch(conn, "night:0of2", templates, summary=True)  # posting again changes nothing
        entries = conn.execute(select(JournalEntry.event_type, JournalEntry.events, JournalEntry.money_event_id, JournalEntry.contract_id)
                               .order_by(JournalEntry.event_type)).all()
        assert [tuple(e) for e in entries] == [("billing", 2, None, None), ("penalty_accrual", 2, None, None)]
        lines = conn.execute(select(JournalEntry.event_type, JournalLine.account_code, JournalLine.debit_minor, JournalLine.credit_minor)
                             .join(JournalLine, JournalLine.journal_entry_id == JournalEntry.journal_entry_id)
                             .order_by(JournalEntry.event_type, JournalLine.line_no)).all()
        want: dict[tuple[str, str, str], int] = {}
        for event_type, amounts in BULK:
            for line in post_event(event_type, amounts, templates):
                side = "d" if line.debit_minor else "c"
                want[(event_type, line.account, side)] = want.get((event_type, line.account, side), 0) + line.debit_minor + line.credit_minor
        assert {(t, a, "d" if d else "c"): d + c for t, a, d, c in lines} == want
        assert want[("billing", "1531", "c")] == 494775 and want[("penalty_accrual", "1122.04", "d")] == 1237
        assert ledger_totals_differ(conn) == [] and summary_events_differ(conn) == []


def test_a_summary_batch_refuses_events_added_after_it_was_posted(store):
    templates = voucher_templates()
    with store.begin() as conn:
        _record(conn, BULK[:2], "night")
        post_batch(conn, "night", templates, summary=True)
        _record(conn, BULK[2:3], "late")
        conn.execute(text("UPDATE money_event SET batch_id = 'night' WHERE batch_id = 'late'"))
        with pytest.raises(DomainError, match="changed after it was posted"):
            post_batch(conn, "night", templates, summary=True)
        with pytest.raises(DomainError, match="summary batch"):
            post_batch(conn, "night", templates)  # nor can its events be given vouchers of their own
        # and an event gone from a registered group stops its summary voucher
        conn.execute(text("DELETE FROM money_event WHERE event_key = 'night:1'"))
        with pytest.raises(UnbalancedBatchError, match="1 events found, 2 registered"):
            write_summary_vouchers(conn, D1, templates)
