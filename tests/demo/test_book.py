"""The synthetic book: valid identities, exact schedules, a delinquency mix, a ledger that ties."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from stdnum.cn import ric, uscc

from autofin.demo.book import BookNotEmptyError, seed_book
from autofin.domain.identity import validate_resident_id, validate_vin
from autofin.domain.money import from_minor, ppm_to_rate
from autofin.domain.penalties import accrued_penalty
from autofin.domain.products import PenaltyTerms
from autofin.reporting.book import book_summary
from tests.support.books import seed_store

AS_OF = date(2026, 11, 20)


def seeded(engine, contracts=600, seed=11):
    return seed_store(engine, contracts=contracts, as_of=AS_OF, seed=seed)


def scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_the_book_ties_to_the_ledger(store):
    report = seeded(store)
    assert report.contracts == 600 and report.active + report.paid_off == 600
    with store.connect() as conn:
        summary = book_summary(conn, AS_OF)
    assert summary.trial_balance_difference == 0
    assert all(tie.difference_minor == 0 for tie in summary.ties)
    assert summary.is_tied
    # the migration clearing account carries the whole opening position
    migrated = sum(t.subledger_minor for t in summary.ties)
    clearing = next(r for r in summary.trial_balance if r.account == "3001")
    assert clearing.balance_minor == -migrated


def test_schedules_repay_exactly_what_was_financed(store):
    seeded(store)
    broken = scalar(
        store,
        "SELECT COUNT(*) FROM contract c JOIN (SELECT contract_id, SUM(principal_minor) AS p, COUNT(*) AS n FROM instalment GROUP BY contract_id) s "
        "ON s.contract_id = c.contract_id WHERE s.p <> c.financed_minor OR s.n <> c.term_months",
    )
    assert broken == 0
    assert scalar(store, "SELECT COUNT(*) FROM instalment WHERE principal_minor < 0 OR interest_minor < 0") == 0


def test_delinquency_is_consistent_with_unpaid_instalments(store):
    seeded(store, contracts=1500)
    with store.connect() as conn:
        buckets = dict(conn.execute(text("SELECT COALESCE(cd.bucket, 'current'), COUNT(*) FROM contract c "
                                         "LEFT JOIN contract_dpd cd ON cd.contract_id = c.contract_id WHERE c.status = 'active' GROUP BY cd.bucket")).all())
        rows = conn.execute(
            text(
                "SELECT c.contract_id, COALESCE(cd.dpd, 0), MIN(i.due_date) FROM contract c LEFT JOIN contract_dpd cd ON cd.contract_id = c.contract_id "
                "LEFT JOIN instalment i ON i.contract_id = c.contract_id AND i.status = 'billed' AND i.due_date < :d WHERE c.status = 'active' "
                "GROUP BY c.contract_id, cd.dpd"
            ),
            {"d": AS_OF},
        ).all()
    assert set(buckets) == {"current", "M1", "M2", "M3", "M4+"}
    assert buckets["current"] > 0.85 * sum(buckets.values())
    for _, dpd, oldest in rows:
        oldest = date.fromisoformat(oldest) if isinstance(oldest, str) else oldest
        assert dpd == (0 if oldest is None else (AS_OF - oldest).days)
    assert scalar(store, "SELECT COUNT(*) FROM contract WHERE status = 'paid_off'") > 0
    assert scalar(store, "SELECT COUNT(*) FROM instalment i JOIN contract c ON c.contract_id = i.contract_id "
                         "WHERE c.status = 'paid_off' AND i.status <> 'paid'") == 0


def test_penalties_follow_the_frozen_terms(sqlite_store):
    seeded(sqlite_store, contracts=1500)
    with sqlite_store.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT i.principal_minor, i.interest_minor, i.fee_minor, i.due_date, COALESCE(p.penalty_minor, 0), c.penalty_rate_ppm, "
                "c.penalty_basis, c.grace_days, c.penalty_cap_ppm FROM instalment i LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id "
                "JOIN contract c ON c.contract_id = i.contract_id WHERE i.status = 'billed'"
            )
        ).all()
    assert len(rows) > 50
    for p, i, f, due, penalty, rate, basis, grace, cap in rows:
        terms = PenaltyTerms(ppm_to_rate(rate), basis, grace, None if cap is None else ppm_to_rate(cap))
        base = from_minor(p if basis == "overdue_principal" else p + i + f)
        expected = accrued_penalty(base, (AS_OF - date.fromisoformat(due)).days, terms)
        assert from_minor(penalty) == expected


def test_identities_are_valid(sqlite_store):
    seeded(sqlite_store)
    with sqlite_store.connect() as conn:
        people = conn.execute(text("SELECT id_type, id_number FROM customer")).all()
        vins = [r[0] for r in conn.execute(text("SELECT vin FROM vehicle"))]
    assert {t for t, _ in people} == {"resident_id", "uscc"}
    for id_type, number in people:
        if id_type == "resident_id":
            assert validate_resident_id(number)[0] == number
            assert ric.calc_check_digit(number) == number[-1]  # stdnum's GB 11643, independently
        else:
            assert uscc.is_valid(number), number
    assert all(validate_vin(v) == v for v in vins)


def test_the_same_seed_gives_the_same_book(tmp_path):
    from autofin.store.engine import make_engine
    from autofin.store.migrate import upgrade

    digests = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        seeded(engine, contracts=300, seed=seed)
        digests.append(
            scalar(engine, "SELECT SUM(financed_minor * contract_id) FROM contract")
            + scalar(engine, "SELECT SUM(dpd * 7919) FROM contract_dpd")
            + scalar(engine, "SELECT SUM(penalty_minor * instalment_id) FROM instalment_penalty")
        )
        engine.dispose()
    assert digests[0] == digests[1] != digests[2]


def test_seeding_refuses_a_store_that_has_contracts(sqlite_store):
    seeded(sqlite_store, contracts=50)
    with pytest.raises(BookNotEmptyError, match="50 contracts"):
        seed_book(sqlite_store, contracts=10, as_of=AS_OF)


def test_amounts_are_integers_in_the_store(sqlite_store):
    seeded(sqlite_store, contracts=100)
    assert scalar(sqlite_store, "SELECT COUNT(*) FROM instalment WHERE typeof(principal_minor) <> 'integer'") == 0
    assert scalar(sqlite_store, "SELECT COUNT(*) FROM instalment_penalty WHERE typeof(penalty_minor) <> 'integer' "
                                "OR typeof(accrued_micro) <> 'integer'") == 0
    assert scalar(sqlite_store, "SELECT COUNT(*) FROM journal_line WHERE typeof(debit_minor) <> 'integer'") == 0
    assert isinstance(from_minor(scalar(sqlite_store, "SELECT SUM(financed_minor) FROM contract")), Decimal)
