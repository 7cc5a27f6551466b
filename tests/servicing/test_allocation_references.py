"""The allocation step holds its references itself: on SQLite it runs without SQLite's per-row
check of each reference written (cycle.REFERENCES_HELD_BY_THE_STEP), and a round whose
instalments or receipts are not all where it updates them is refused whole, before it writes
a line that refers to nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from autofin.servicing import allocation, cycle
from autofin.store.engine import is_sqlite, write_transaction
from tests.servicing.conftest import AS_OF, seed
from tests.servicing.test_bank_cycle import context, q, run_days

NIGHT = AS_OF + timedelta(days=2)


def _transfer(store, amount_minor: int) -> int:
    """A transfer of `amount_minor` for the first active contract, waiting for the night's allocation."""
    contract = q(store, "SELECT MIN(contract_id) FROM contract WHERE status = 'active'")[0][0]
    with write_transaction(store) as conn:
        conn.execute(text("INSERT INTO receipt (contract_id, source, source_ref, amount_minor, currency, value_date, business_date, status) "
                          "VALUES (:c, 'transfer', 'transfer:REF-1', :a, 'CNY', :d, :d, 'unapplied')"), {"c": contract, "a": amount_minor, "d": NIGHT})
    return contract


def _written(store) -> tuple:
    return (q(store, "SELECT COUNT(*) FROM allocation")[0][0],
            q(store, "SELECT COUNT(*) FROM money_event WHERE event_type IN ('receipt', 'credit_offset')")[0][0],
            q(store, "SELECT status FROM receipt WHERE source_ref = 'transfer:REF-1'")[0][0],
            q(store, "SELECT COUNT(*) FROM step_run WHERE step = 'allocation' AND business_date = :d", d=NIGHT)[0][0])


def test_only_the_steps_holding_their_references_run_without_sqlites_checks(store, tmp_path, monkeypatch):
    seed(store, contracts=60)
    ctx = context(tmp_path)
    run_days(store, ctx, AS_OF + timedelta(days=1), AS_OF + timedelta(days=1))
    _transfer(store, 150_00)
    seen: dict[str, int] = {}

    def probing(name):
        step = cycle._BY_NAME[name]

        def probe(conn, d, step_ctx):
            seen[name] = conn.exec_driver_sql("PRAGMA foreign_keys").scalar() if is_sqlite(conn) else 1
            return step(conn, d, step_ctx)
        return probe

    for name in ("billing", "debit_orders", "allocation", "collections"):
        monkeypatch.setitem(cycle._BY_NAME, name, probing(name))
    run_days(store, ctx, NIGHT, NIGHT)
    held = 0 if is_sqlite(store) else 1
    assert seen == {"billing": 1, "debit_orders": held, "allocation": held, "collections": 1}
    assert _written(store)[2:] == ("applied", 1)
    with store.connect() as conn:  # the pooled connection the step ran on checks them again
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1 if is_sqlite(store) else True
        if is_sqlite(store):
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


@pytest.mark.parametrize("broken", ["instalment", "receipt"])
def test_a_round_whose_rows_are_not_there_is_refused_whole(store, tmp_path, monkeypatch, broken):
    seed(store, contracts=60)
    ctx = context(tmp_path)
    run_days(store, ctx, AS_OF + timedelta(days=1), AS_OF + timedelta(days=1))
    _transfer(store, 150_00)
    before = _written(store)
    if broken == "instalment":  # the round pays into an instalment that is not there
        paid_into = allocation._paid_into_sql
        monkeypatch.setattr(allocation, "_paid_into_sql", lambda conn: paid_into(conn) + " UNION ALL SELECT 999999999, "
                            "receipt_id, 0, 0, 0, 1, 0, amount FROM tmp_round WHERE receipt_id = (SELECT MIN(receipt_id) FROM tmp_round)")
    else:  # the round takes a receipt that is not there
        apply_round = allocation._apply_round

        def with_a_receipt_too_many(conn, d, receipts):
            conn.execute(text("INSERT INTO tmp_round (contract_id, receipt_id, amount) VALUES (999999999, 999999999, 500)"))
            apply_round(conn, d, receipts + 1)
        monkeypatch.setattr(allocation, "_apply_round", with_a_receipt_too_many)
    # SQLite: the round's counts refuse it; PostgreSQL checks the line's reference as it is written
    refused = (pytest.raises(allocation.BrokenRoundError, match=rf"{NIGHT}: the round (paid into|applied) 2 .*, 1 of them found")
               if is_sqlite(store) else pytest.raises(IntegrityError, match=r"fk_allocation_(instalment|receipt)_id"))
    with refused:
        run_days(store, ctx, NIGHT, NIGHT)
    assert _written(store) == before == (before[0], before[1], "unapplied", 0)


def test_a_contract_paid_in_full_closes_and_one_with_bills_to_come_does_not(store, tmp_path):
    seed(store, contracts=300)
    ctx = context(tmp_path)
    run_days(store, ctx, AS_OF + timedelta(days=1), AS_OF + timedelta(days=1))
    owed = ("SELECT c.contract_id, SUM(i.principal_minor + i.interest_minor + i.fee_minor + COALESCE(p.penalty_minor, 0) "
            "- i.paid_principal_minor - i.paid_interest_minor - i.paid_fee_minor - i.paid_penalty_minor) FROM contract c "
            "JOIN instalment i ON i.contract_id = c.contract_id AND i.status = 'billed' LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id "
            "WHERE c.status = 'active' AND {} EXISTS (SELECT 1 FROM instalment s WHERE s.contract_id = c.contract_id AND s.status = 'scheduled') "
            "GROUP BY c.contract_id ORDER BY c.contract_id LIMIT 1")
    # each pays what it owes and 100.00 more (the night's penalty is accrued before the allocation; the rest is credit)
    (last, last_owed), = q(store, owed.format("NOT"))  # its last bill billed, nothing to come
    (going_on, going_on_owed), = q(store, owed.format(""))
    with write_transaction(store) as conn:
        for n, (contract, amount) in enumerate(((last, last_owed), (going_on, going_on_owed))):
            conn.execute(text("INSERT INTO receipt (contract_id, source, source_ref, amount_minor, currency, value_date, business_date, status) "
                              "VALUES (:c, 'transfer', :ref, :a, 'CNY', :d, :d, 'unapplied')"),
                         {"c": contract, "ref": f"transfer:ALL-{n}", "a": amount + 100_00, "d": NIGHT})
    run_days(store, ctx, NIGHT, NIGHT)
    closed = q(store, "SELECT contract_id, status, closed_date FROM contract WHERE contract_id IN (:a, :b) ORDER BY contract_id", a=last, b=going_on)
    assert sorted((c, s, str(d)[:10] if d else None) for c, s, d in closed) == sorted([(last, "paid_off", str(NIGHT)), (going_on, "active", None)])
    with store.connect() as conn:
        counts = cycle.step_done(conn, "allocation", NIGHT)
    assert counts is not None and counts["contracts_paid_off"] == 1
