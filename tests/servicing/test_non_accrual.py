"""Non-accrual (非应计): past its frozen threshold a contract's penalty and billed interest are still
computed and billed, but held in suspense (2241.03) instead of income; once the contract is current
again they become income; a write-off reverses what is held against the receivables instead of
counting it as a loss. The sub-ledger keeps what each contract holds and ties it to 2241.03."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text, update

from autofin.origination.access import Principal
from autofin.postlease.collections import execute_write_off
from autofin.servicing.checks import full_book_checks
from autofin.servicing.cycle import STEP_ORDER, run_day, run_step
from autofin.store.engine import write_transaction
from autofin.store.ledger import account_balances, balances_of, subledger_vs_ledger
from autofin.store.models import Contract, Receipt
from tests.servicing.conftest import AS_OF, seed

D1 = AS_OF + timedelta(days=1)
D2 = AS_OF + timedelta(days=2)


def events(engine, contract_id, d):
    with engine.connect() as conn:
        return {t: (int(i), int(p)) for t, i, p in conn.execute(text(
            "SELECT event_type, SUM(interest_minor - vat_minor), SUM(penalty_minor) FROM money_event WHERE contract_id = :c AND business_date = :d "
            "GROUP BY event_type"), {"c": contract_id, "d": d}).all()}


def held(engine, contract_id):
    """What the contract holds in suspense, as the ORM reads it; its contract_suspense row is there only
    while it holds some."""
    with engine.connect() as conn:
        row = conn.execute(select(Contract.suspended_interest_minor, Contract.suspended_penalty_minor).where(Contract.contract_id == contract_id)).one()
        kept = conn.execute(text("SELECT interest_minor, penalty_minor FROM contract_suspense WHERE contract_id = :c"), {"c": contract_id}).all()
    assert kept == ([] if tuple(row) == (0, 0) else [tuple(row)])
    return int(row[0]), int(row[1])


def tied(engine):
    with engine.connect() as conn:
        return {t.account: t.difference_minor for t in subledger_vs_ledger(conn)}


def past_its_threshold(store) -> int:
    """A seeded book, and the contract most past due in it with its frozen non-accrual threshold
    lowered for the test: it is past it from tonight."""
    seed(store, contracts=300)
    with write_transaction(store) as conn:
        worst = conn.execute(select(Contract.contract_id, Contract.dpd).where(Contract.status == "active", Contract.dpd > 10)
                             .order_by(Contract.dpd.desc(), Contract.contract_id)).first()
        conn.execute(update(Contract).where(Contract.contract_id == worst.contract_id).values(non_accrual_dpd=worst.dpd - 5))
    return int(worst.contract_id)


def test_interest_and_penalty_held_in_suspense_then_income_once_current(store, ctx):
    cid = past_its_threshold(store)
    income_before = account_balances(store.connect()).get("6011.02", 0)
    run_day(store, D1, ctx)
    night = events(store, cid, D1)
    assert "penalty_accrual" not in night and night["penalty_suspended"][1] > 0
    assert held(store, cid) == (0, night["penalty_suspended"][1])
    assert set(tied(store).values()) == {0} and "2241.03" in tied(store)

    # D2: pay everything owed after tonight's penalty; the allocation cures it, the collections step releases the suspense
    for step in STEP_ORDER[:STEP_ORDER.index("penalties") + 1]:
        run_step(store, step, D2, ctx)
    with store.connect() as conn:
        owed = sum(v for k, v in balances_of(conn, cid).items() if k not in ("unbilled_principal_minor", "credit_minor", "suspense_minor"))
        suspended = held(store, cid)
        currency = conn.execute(select(Contract.currency).where(Contract.contract_id == cid)).scalar_one()
    assert suspended[1] > night["penalty_suspended"][1]  # D2's penalty held too
    with write_transaction(store) as conn:
        conn.execute(Receipt.__table__.insert().values(contract_id=cid, source="transfer", source_ref="transfer:CURE-1", amount_minor=owed,
                                                       currency=currency, value_date=D2, business_date=D2, status="unapplied"))
    for step in STEP_ORDER[STEP_ORDER.index("penalties") + 1:STEP_ORDER.index("day_close")]:
        run_step(store, step, D2, ctx)
    # a bulk step's events (the releases, the provision) are carried by the day's summary vouchers: the
    # close does not hold their contracts to their instalments one by one (17k of them on a 1M Tuesday
    # took PostgreSQL's close to a scan of every instalment), the full-book check does
    with store.connect() as conn:
        assert conn.execute(text("SELECT recheck FROM subledger_dirty WHERE contract_id = :c"), {"c": cid}).scalar_one() in (0, False)
        assert conn.execute(text("SELECT COUNT(*) FROM journal_entry WHERE money_event_id IN (SELECT money_event_id FROM money_event "
                                 "WHERE batch_id = :b)"), {"b": f"collections:{D2.isoformat()}"}).scalar_one() == 0
        carried = conn.execute(text("SELECT events FROM journal_entry WHERE event_type = 'suspense_release' AND entry_date = :d "
                                    "AND money_event_id IS NULL"), {"d": D2}).all()
    assert carried == [(1,)]
    for step in STEP_ORDER[STEP_ORDER.index("day_close"):]:
        run_step(store, step, D2, ctx)
    released = events(store, cid, D2)["suspense_release"]
    assert released == suspended  # interest (net of VAT) and penalty, to the fen
    assert held(store, cid) == (0, 0)
    with store.connect() as conn:
        assert conn.execute(select(Contract.dpd).where(Contract.contract_id == cid)).scalar_one() == 0
        assert account_balances(conn).get("6011.02", 0) - income_before < 0  # penalty income (credit) grew
        assert {k: v for k, v in full_book_checks(conn, D2).items() if v} == {}
    assert set(tied(store).values()) == {0}


def test_a_write_off_reverses_the_suspense_instead_of_losing_it(store, ctx):
    cid = past_its_threshold(store)
    run_day(store, D1, ctx)
    suspense = sum(held(store, cid))
    assert suspense > 0
    with store.connect() as conn:
        before = account_balances(conn)
        owed = balances_of(conn, cid)
    with write_transaction(store) as conn:
        contract = conn.execute(select(Contract).where(Contract.contract_id == cid)).one()
        done = execute_write_off(conn, Principal(1, "test", "finance_director", None), SimpleNamespace(post_lease_request_id=1, details={"case_id": 0}),
                                 contract, D2)
    with store.connect() as conn:
        after = account_balances(conn)
    total = sum(v for k, v in owed.items() if k not in ("credit_minor", "suspense_minor"))
    credit = min(owed["credit_minor"], total)
    assert after.get("2241.03", 0) - before.get("2241.03", 0) == suspense  # the suspense debited away
    assert after["6702"] - before.get("6702", 0) == total - credit - suspense
    assert done["suspense_reversed"] == f"{suspense // 100}.{suspense % 100:02d}"
    assert held(store, cid) == (0, 0)
    assert set(tied(store).values()) == {0}


def test_a_waiver_takes_from_the_suspense_first(store, ctx):
    """Penalty held in suspense was never income: waiving it takes it from the suspense, and income
    (6011.02) does not move."""
    from autofin.origination.users import add_user
    from autofin.postlease.requests import _execute_waiver

    cid = past_its_threshold(store)
    run_day(store, D1, ctx)
    _, held_penalty = held(store, cid)
    assert held_penalty > 0
    with store.connect() as conn:
        before = account_balances(conn)
    with write_transaction(store) as conn:
        user_id = add_user(conn, "supervisor", "post_loan_supervisor")[0]
        contract = conn.execute(select(Contract).where(Contract.contract_id == cid)).one()
        done = _execute_waiver(conn, Principal(user_id, "supervisor", "post_loan_supervisor", None), SimpleNamespace(
            post_lease_request_id=7, details={"penalty_minor": held_penalty, "interest_minor": 0, "fee_minor": 0}), contract, D2)
    with store.connect() as conn:
        after = account_balances(conn)
    assert done["from_suspense"] == f"{held_penalty // 100}.{held_penalty % 100:02d}"
    assert held(store, cid) == (0, 0)
    assert after.get("6011.02", 0) == before.get("6011.02", 0)  # released and waived: income unmoved
    assert after["2241.03"] - before["2241.03"] == held_penalty and before["1122.04"] - after["1122.04"] == held_penalty
    assert set(tied(store).values()) == {0}


def test_taking_more_than_is_held_fails_and_keeps_it(store, ctx):
    from autofin.domain.errors import DomainError
    from autofin.store.ledger import take_from_suspense

    cid = past_its_threshold(store)
    run_day(store, D1, ctx)
    interest, penalty = held(store, cid)
    for i, p, whose in ((interest, penalty + 1, cid), (interest + 1, 0, cid), (0, 1, 10**9)):
        with pytest.raises(DomainError, match="holds less in suspense"), write_transaction(store) as conn:
            take_from_suspense(conn, whose, i, p)
    assert held(store, cid) == (interest, penalty)
    with write_transaction(store) as conn:
        take_from_suspense(conn, cid, 0, 1)
    assert held(store, cid) == (interest, penalty - 1)
