"""Posting in the store: set-based posting equals the reference posting, line for line."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from autofin.domain.ledger import COMPONENTS, post_event
from autofin.reference import chart_of_accounts, voucher_templates
from autofin.store.ledger import UnbalancedBatchError, post_batch, trial_balance_as_of
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
