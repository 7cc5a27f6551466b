import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from autofin.store.ledger import exposure_drift, exposure_totals_drift
from autofin.store.migrate import current_revision, downgrade, head_revision, upgrade
from autofin.store.models import Base

# keys of one back end only (the model says which: `ddl_if`): SQLite's instalments, kept by due date
# without a rowid, hold instalment_id and (contract_id, seq) unique by indexes (migration 0028);
# PostgreSQL's hold (contract_id, seq) as a table constraint
ONE_BACK_END = {("uq_instalment_instalment_id", "index"): "sqlite", ("ux_instalment_contract_id_seq", "index"): "sqlite",
                ("uq_instalment_contract_id_seq", "unique_constraint"): "postgresql"}


def test_migrations_build_exactly_the_models(store):
    def this_back_end(obj, name, type_, reflected, compare_to) -> bool:
        return ONE_BACK_END.get((name, type_), store.dialect.name) == store.dialect.name

    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "include_object": this_back_end}),
                                Base.metadata)
    assert diff == []
    assert current_revision(store) == head_revision() == "0040"
    assert set(inspect(store).get_table_names()) >= set(Base.metadata.tables)


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_store):
    with sqlite_store.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_the_cycle_refuses_a_store_behind_the_code(tmp_path):
    import os
    import subprocess
    import sys

    from autofin.store.engine import make_engine
    from autofin.store.migrate import upgrade

    upgrade(make_engine(f"sqlite:///{tmp_path / 'autofin.db'}"), "0003")
    result = subprocess.run([sys.executable, "-m", "autofin.cli", "cycle", "run", "--date", "2026-11-23"],
                            env={**os.environ, "AUTOFIN_DATA_DIR": str(tmp_path)}, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: the store is at migration 0003, this code expects {head_revision()}: run `autofin db upgrade`"


RUNNING_TOTALS = {
    "ledger_total": "SELECT batch_id, entry_date, account_code, currency, debit_minor, credit_minor FROM ledger_total",
    "subledger_balance": "SELECT contract_id, unbilled_principal_minor, principal_minor, interest_minor, fee_minor, penalty_minor, "
                         "credit_minor FROM subledger_balance",
    "contract_last_bill": "SELECT contract_id, billed_date FROM contract_last_bill",
}


def test_upgrading_a_store_with_a_book_in_it(tmp_path):
    """0005 and 0006 add columns to tables that others reference. On SQLite a table rebuild (Alembic's batch
    mode) must drop the table, which foreign keys refuse once rows exist; the migration adds them
    in place. Proven on a store seeded at 0004 and then upgraded."""
    from datetime import date

    from sqlalchemy import func, inspect, select

    import autofin.demo.book as book
    import autofin.store.ledger as ledger
    from autofin.store.engine import make_engine
    from autofin.store.migrate import upgrade
    from autofin.store.models import Contract
    from tests.support.books import seed_store

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    # the seeder writes today's columns; at 0004 it writes only those the old tables have
    # (penalty_accrued_micro, 0009, is left to the migration's backfill)
    original = book.insert_rows

    def old_columns(conn, table, columns, rows):
        have = {c["name"] for c in inspect(conn).get_columns(table.name)}
        keep = [n for n, c in enumerate(columns) if c in have]
        return original(conn, table, [columns[n] for n in keep], [tuple(r[n] for n in keep) for r in rows])

    book.insert_rows = old_columns
    # the ledger core of today keeps running totals (0011): they stand beside the old tables while
    # seeding, then go, and 0011 must build them again from the lines and instalments alike (the
    # suspense a contract holds, 0012, and the VAT deferred on a direct lease's principal, 0015, are
    # not there yet: nothing holds any)
    running = [Base.metadata.tables[name] for name in ("ledger_total", "subledger_balance", "subledger_dirty", "summary_batch",
                                                         "provision_exposure", "instalment_penalty", "contract_dpd", "contract_suspense",
                                                         "contract_last_bill", "provision_total")]
    Base.metadata.create_all(engine, tables=running)
    # so do a voucher's batch and number of events (0016), which the migration fills from the events
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE journal_entry ADD COLUMN batch_id VARCHAR(48)"))
        conn.execute(text("ALTER TABLE journal_entry ADD COLUMN events INTEGER NOT NULL DEFAULT 1"))
    held, columns = dict(ledger.CONTRACT_HELD), dict(ledger.SUBLEDGER_COLUMNS)
    ledger.CONTRACT_HELD.update(suspense_minor="0", deposit_minor="0")
    ledger.SUBLEDGER_COLUMNS.update(deferred_vat_minor="0")
    try:
        seed_store(engine, contracts=30, as_of=date(2026, 11, 2))
    finally:
        book.insert_rows = original
        ledger.CONTRACT_HELD.update(held)
        ledger.SUBLEDGER_COLUMNS.update(columns)
    with engine.begin() as conn:
        # the penalty booked stood on the instalment until 0022 (seeded beside it, as the ledger core reads it today)
        conn.execute(text("UPDATE instalment SET penalty_minor = p.penalty_minor, penalty_through_date = p.through_date "
                          "FROM instalment_penalty p WHERE p.instalment_id = instalment.instalment_id"))
        penalties = dict(conn.execute(text("SELECT instalment_id, penalty_minor FROM instalment WHERE penalty_minor > 0")).all())
        # and the DPD on the contract until 0023
        conn.execute(text("UPDATE contract SET dpd = d.dpd, bucket = d.bucket FROM contract_dpd d WHERE d.contract_id = contract.contract_id"))
        past_due = sorted(conn.execute(text("SELECT contract_id, dpd, bucket FROM contract WHERE dpd > 0")).all())
        kept = {name: sorted(conn.execute(text(query)).all()) for name, query in RUNNING_TOTALS.items()}
    Base.metadata.drop_all(engine, tables=running)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE journal_entry DROP COLUMN batch_id"))
        conn.execute(text("ALTER TABLE journal_entry DROP COLUMN events"))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Contract)).scalar_one() == 30
        assert [r[2] for r in conn.execute(text("PRAGMA foreign_key_list(customer)"))] == ["partner"]
        # 0009: the exact accrual starts from what was booked; 0022 moves both beside the instalment
        assert penalties and dict(conn.execute(text("SELECT instalment_id, accrued_micro / 1000000 FROM instalment_penalty "
                                                    "WHERE penalty_minor > 0")).all()) == penalties
        assert dict(conn.execute(text("SELECT instalment_id, penalty_minor FROM instalment_penalty WHERE penalty_minor > 0")).all()) == penalties
        # 0023: the contracts past due beside the contract
        assert past_due and sorted(conn.execute(text("SELECT contract_id, dpd, bucket FROM contract_dpd")).all()) == past_due
        # 0011: the running totals, as the ledger core keeps them; 0032: each contract's last bill, as billing keeps it
        assert len(kept["ledger_total"]) > 5 and len(kept["subledger_balance"]) == 30 and len(kept["contract_last_bill"]) > 20
        assert {name: sorted(conn.execute(text(query)).all()) for name, query in RUNNING_TOTALS.items()} == kept
        # 0016: every voucher of one event knows its batch
        entries, same_batch, events = conn.execute(text("SELECT COUNT(*), SUM(je.batch_id = me.batch_id), SUM(je.events) FROM journal_entry je "
                                                        "JOIN money_event me ON me.money_event_id = je.money_event_id")).one()
        assert entries > 20 and same_batch == events == entries
        # and the provisioning's view of every active contract
        assert conn.execute(text("SELECT COUNT(*) FROM provision_exposure")).scalar_one() == conn.execute(
            text("SELECT COUNT(*) FROM contract WHERE status = 'active'")).scalar_one() > 20
        assert exposure_drift(conn) == []
        # 0036: and those rows added up by currency and bucket
        assert exposure_totals_drift(conn) == [] and conn.execute(text("SELECT SUM(contracts) FROM provision_total")).scalar_one() > 20
    engine.dispose()


def test_the_default_engine_follows_the_configured_store(tmp_path, monkeypatch):
    """get_engine() is the store configured now: a process that switches stores (the tests, a
    Dagster code location loaded before a book) must not keep the first one it opened."""
    from autofin.store.engine import get_engine

    monkeypatch.delenv("AUTOFIN_DATABASE_URL", raising=False)
    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(tmp_path / "a"))
    first = get_engine()
    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(tmp_path / "b"))
    second = get_engine()
    assert first.url.database.endswith("a/autofin.db") and second.url.database.endswith("b/autofin.db")
    assert get_engine() is second


def test_the_head_read_from_the_files_is_alembics(tmp_path):
    """The nightly check reads the head from the migration files and the store's revision from
    alembic_version without importing Alembic; both agree with what Alembic says."""
    from alembic.script import ScriptDirectory

    from autofin.store.engine import make_engine
    from autofin.store.migrate import alembic_config

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert current_revision(engine) is None
    upgrade(engine, "0003")
    with engine.connect() as conn:
        assert current_revision(engine) == MigrationContext.configure(conn).get_current_revision() == "0003"
    engine.dispose()


def test_a_contract_has_one_active_mandate(tmp_path):
    """0018: a store holding a contract with two active mandates is refused by the contract's number,
    never repaired; once it is put right, the store itself refuses a second active mandate."""
    from datetime import date

    from sqlalchemy.exc import IntegrityError

    from autofin.store.engine import make_engine
    from tests.support.books import seed_store

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine)
    seed_store(engine, contracts=5, as_of=date(2026, 11, 2))  # today's seeder writes today's tables: seed, then go back
    downgrade(engine, "0017")
    second = ("INSERT INTO mandate (contract_id, mandate_ref, bank_code, debtor_name, debtor_account, signed_date, status, created_at) "
              "SELECT contract_id, mandate_ref || :suffix, bank_code, debtor_name, debtor_account, signed_date, 'active', created_at "
              "FROM mandate WHERE mandate_id = (SELECT MIN(mandate_id) FROM mandate)")
    with engine.begin() as conn:
        conn.execute(text(second), {"suffix": "-2"})
        first = conn.execute(text("SELECT c.contract_no FROM contract c JOIN mandate m ON m.contract_id = c.contract_id "
                                  "WHERE m.mandate_id = (SELECT MIN(mandate_id) FROM mandate)")).scalar_one()
    with pytest.raises(RuntimeError, match=f"contracts with more than one active mandate: {first}; replace"):
        upgrade(engine)
    assert current_revision(engine) == "0017"
    with engine.begin() as conn:
        conn.execute(text("UPDATE mandate SET status = 'revoked' WHERE mandate_ref LIKE '%-2'"))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(second), {"suffix": "-3"})
    with engine.begin() as conn:  # a revoked one beside the active one is what a replacement leaves
        conn.execute(text(second.replace("'active'", "'revoked'")), {"suffix": "-4"})


def test_decisions_take_their_applications_dealer(tmp_path, monkeypatch):
    """0019 gives every decision already stored its application's dealer, NOT NULL from then on."""
    from sqlalchemy.exc import IntegrityError

    from autofin.store.engine import make_engine
    from tests.api.conftest import make_world

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine)
    for world in make_world(engine, tmp_path, monkeypatch, contracts=5):
        world.submitted("dealer_a")
        world.approved("dealer_b")
    downgrade(engine, "0018")
    assert "partner_id" not in {c["name"] for c in inspect(engine).get_columns("decision")}
    upgrade(engine)
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT p.partner_code, d.kind, d.partner_id = a.partner_id FROM decision d "
                                 "JOIN application a ON a.application_id = d.application_id JOIN partner p ON p.partner_id = a.partner_id "
                                 "ORDER BY d.decision_id")).all()
    assert [(code, kind, bool(same)) for code, kind, same in kept] == [
        (world.dealer_a, "pre_approval", True), (world.dealer_b, "pre_approval", True),
        *[(world.dealer_b, "approval", True)] * (len(kept) - 2)] and len(kept) >= 3
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO decision (application_id, kind, outcome) SELECT application_id, 'approval', 'approve' "
                          "FROM application LIMIT 1"))


def _seeded_at_head(tmp_path, contracts: int):
    """A SQLite store migrated to the head with a seeded book in it: where a migration's round trip starts."""
    from datetime import date

    from autofin.store.engine import make_engine
    from tests.support.books import seed_store

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    seed_store(engine, contracts=contracts, as_of=date(2026, 11, 2))
    return engine


def test_the_penalty_booked_moves_beside_the_instalment_and_back(tmp_path):
    """0022 moves each instalment's booked penalty, exact accrual and date accrued through to
    instalment_penalty (a row only where one was ever accrued), and its downgrade puts them back."""
    engine = _seeded_at_head(tmp_path, contracts=120)
    booked = "SELECT instalment_id, penalty_minor, accrued_micro, through_date FROM instalment_penalty ORDER BY instalment_id"
    with engine.connect() as conn:
        before = conn.execute(text(booked)).all()
    assert len(before) > 10 and all(p > 0 for _, p, _, _ in before)
    downgrade(engine, "0021")
    assert not inspect(engine).has_table("instalment_penalty")
    with engine.connect() as conn:
        on_row = conn.execute(text("SELECT instalment_id, penalty_minor, penalty_accrued_micro, penalty_through_date FROM instalment "
                                   "WHERE penalty_through_date IS NOT NULL ORDER BY instalment_id")).all()
        assert conn.execute(text("SELECT COUNT(*) FROM instalment WHERE penalty_through_date IS NULL AND penalty_minor <> 0")).scalar_one() == 0
    assert on_row == before
    upgrade(engine)
    assert {"penalty_minor", "penalty_accrued_micro", "penalty_through_date"}.isdisjoint(c["name"] for c in inspect(engine).get_columns("instalment"))
    with engine.connect() as conn:
        assert conn.execute(text(booked)).all() == before


def test_the_days_past_due_move_beside_the_contract_and_back(tmp_path):
    """0023 moves each contract's DPD and bucket to contract_dpd (a row only for a contract past
    due), and its downgrade puts them back on the contract, current ones at 0 and 'current'."""

    engine = _seeded_at_head(tmp_path, contracts=200)
    past_due = "SELECT contract_id, dpd, bucket FROM contract_dpd ORDER BY contract_id"
    with engine.connect() as conn:
        before = conn.execute(text(past_due)).all()
        contracts = conn.execute(text("SELECT COUNT(*) FROM contract")).scalar_one()
    assert 10 < len(before) < contracts and {b for _, _, b in before} <= {"M1", "M2", "M3", "M4+"}
    downgrade(engine, "0022")
    assert not inspect(engine).has_table("contract_dpd")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT contract_id, dpd, bucket FROM contract WHERE dpd > 0 ORDER BY contract_id")).all() == before
        assert conn.execute(text("SELECT COUNT(*) FROM contract WHERE dpd = 0 AND bucket = 'current'")).scalar_one() == contracts - len(before)
    upgrade(engine)
    assert {"dpd", "bucket"}.isdisjoint(c["name"] for c in inspect(engine).get_columns("contract"))
    with engine.connect() as conn:
        assert conn.execute(text(past_due)).all() == before


def test_the_suspense_moves_beside_the_contract_and_back(tmp_path):
    """0025 moves the interest and penalty each non-accrual contract holds in suspense to
    contract_suspense (a row only for a contract holding some), and its downgrade puts them back on
    the contract, the others at 0."""
    engine = _seeded_at_head(tmp_path, contracts=60)
    held = [(3, 12_345, 0), (7, 0, 678), (11, 9_001, 1)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO contract_suspense (contract_id, interest_minor, penalty_minor) VALUES (:c, :i, :p)"),
                     [{"c": c, "i": i, "p": p} for c, i, p in held])
        contracts = conn.execute(text("SELECT COUNT(*) FROM contract")).scalar_one()
    downgrade(engine, "0024")
    assert not inspect(engine).has_table("contract_suspense")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT contract_id, suspended_interest_minor, suspended_penalty_minor FROM contract "
                                 "WHERE suspended_interest_minor + suspended_penalty_minor > 0 ORDER BY contract_id")).all() == held
        assert conn.execute(text("SELECT COUNT(*) FROM contract WHERE suspended_interest_minor = 0 AND suspended_penalty_minor = 0"
                                 )).scalar_one() == contracts - len(held)
    upgrade(engine)
    assert {"suspended_interest_minor", "suspended_penalty_minor"}.isdisjoint(c["name"] for c in inspect(engine).get_columns("contract"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT contract_id, interest_minor, penalty_minor FROM contract_suspense ORDER BY contract_id")).all() == held


def test_a_past_due_contracts_exposure_is_no_longer_kept_and_comes_back_on_downgrade(tmp_path):
    """0039 keeps a past-due contract's bucket in provision_exposure but not its exposure (NULL), and
    only the current bucket's total; its downgrade fills both again from the kept sub-ledger balances,
    to the cent, and the upgrade takes them out again."""
    from autofin.store.ledger import EXPOSURE, exposure_totals

    engine = _seeded_at_head(tmp_path, contracts=200)
    book = (f"SELECT k.contract_id, k.bucket, {EXPOSURE} FROM provision_exposure k JOIN subledger_balance b ON b.contract_id = k.contract_id "
            "WHERE k.bucket <> 'current' ORDER BY 1")
    with engine.connect() as conn:
        past_due = conn.execute(text(book)).all()
        kept = conn.execute(text("SELECT contract_id, bucket, exposure_minor FROM provision_exposure ORDER BY 1")).all()
        totals = exposure_totals(conn)
    assert len(past_due) > 10 and all(amount > 0 for _, _, amount in past_due)
    assert [(c, b, e) for c, b, e in kept if b != "current"] == [(c, b, None) for c, b, _ in past_due]
    assert {b for _, b, _, _ in totals} == {"current", *(b for _, b, _ in past_due)}
    downgrade(engine, "0038")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT contract_id, bucket, exposure_minor FROM provision_exposure WHERE bucket <> 'current' ORDER BY 1")
                            ).all() == past_due
        assert conn.execute(text("SELECT currency, bucket, contracts, exposure_minor FROM provision_total ORDER BY 1, 2")).all() == totals
        assert next(c for c in inspect(engine).get_columns("provision_exposure") if c["name"] == "exposure_minor")["nullable"] is False
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT contract_id, bucket, exposure_minor FROM provision_exposure ORDER BY 1")).all() == kept
        assert exposure_totals(conn) == totals and exposure_drift(conn) == [] and exposure_totals_drift(conn) == []


def test_the_instalments_are_kept_by_due_date_on_sqlite_and_back(tmp_path):
    """0028 rebuilds SQLite's instalment table in due-date order without a rowid, every value and every
    reference to it kept (the penalties and allocations name instalment_id); its downgrade rebuilds
    it in id order, the same again."""
    from datetime import timedelta

    from autofin.store.bulk import insert_assigning_ids
    from autofin.store.engine import make_engine
    from autofin.store.models import Instalment
    from tests.servicing.conftest import AS_OF, seed
    from tests.servicing.test_bank_cycle import D1, context, run_days

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    seed(engine, contracts=150)
    run_days(engine, context(tmp_path), AS_OF + timedelta(days=1), D1 + timedelta(days=1))  # Monday's debits answered on Tuesday
    # the seed numbers its instalments in due-date order; one added later (an extension's, say) takes the next
    # id with an earlier due date than many, so the id order is not the due-date order
    with engine.begin() as conn:
        insert_assigning_ids(conn, Instalment.__table__, [{"contract_id": 1, "seq": 99, "due_date": D1 + timedelta(days=40), "status": "scheduled",
                                                          "principal_minor": 1, "interest_minor": 0, "fee_minor": 0}])
    everything = "SELECT * FROM instalment ORDER BY instalment_id"
    layout = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'instalment'"
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'instalment' ORDER BY name"
    with engine.connect() as conn:
        before = conn.execute(text(everything)).all()
        indexed = conn.execute(text(indexes)).all()
        references = conn.execute(text("SELECT (SELECT COUNT(*) FROM instalment_penalty), (SELECT COUNT(*) FROM allocation "
                                       "WHERE instalment_id IS NOT NULL)")).one()
        assert "WITHOUT ROWID" in conn.execute(text(layout)).scalar_one()
        stored = [r.instalment_id for r in conn.execute(text("SELECT instalment_id, status FROM instalment NOT INDEXED"))]  # the table's own order
        keyed = [r.instalment_id for r in conn.execute(text("SELECT instalment_id FROM instalment ORDER BY due_date, instalment_id"))]
    assert len(before) > 1000 and min(references) > 10
    assert stored == keyed != sorted(stored)
    for step in (lambda: downgrade(engine, "0027"), lambda: upgrade(engine)):
        step()
        with engine.connect() as conn:
            assert conn.execute(text(everything)).all() == before
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            assert conn.execute(text("SELECT i.instalment_id FROM instalment_penalty p LEFT JOIN instalment i ON i.instalment_id = p.instalment_id "
                                     "WHERE i.instalment_id IS NULL")).all() == []
    with engine.connect() as conn:
        assert "WITHOUT ROWID" in conn.execute(text(layout)).scalar_one()
        assert conn.execute(text(indexes)).all() == indexed  # the unique keys and every partial index, as they were
    assert {name for name, _ in indexed} == {"uq_instalment_instalment_id", "ux_instalment_contract_id_seq", "ix_instalment_scheduled_due",
                                            "ix_instalment_billed_contract", "ix_instalment_overpaid_candidates"}


def test_new_instalments_take_the_ids_after_the_largest(store):
    """A table without a rowid gives out no ids: SQLite's instalments take theirs from
    insert_assigning_ids, PostgreSQL's from its identity; either way after every id given before."""
    from datetime import date

    from autofin.store.bulk import insert_assigning_ids
    from autofin.store.models import Instalment
    from tests.support.books import seed_store

    seed_store(store, contracts=3, as_of=date(2026, 11, 2))
    row = {"seq": 99, "due_date": date(2031, 1, 5), "status": "scheduled", "principal_minor": 1, "interest_minor": 0, "fee_minor": 0,
           "principal_vat_minor": 0}
    with store.begin() as conn:
        largest, contract_id = conn.execute(text("SELECT MAX(instalment_id), MIN(contract_id) FROM instalment")).one()
        insert_assigning_ids(conn, Instalment.__table__, [{**row, "contract_id": contract_id}, {**row, "contract_id": contract_id, "seq": 100}])
        added = conn.execute(text("SELECT instalment_id, seq FROM instalment WHERE seq >= 99 ORDER BY seq")).all()
    assert [seq for _, seq in added] == [99, 100]
    assert added[0][0] > largest and added[1][0] > added[0][0]


def _with_a_broken_reference(tmp_path):
    """A small store at the head holding one penalty row whose instalment does not exist."""
    engine = _seeded_at_head(tmp_path, contracts=5)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("INSERT INTO instalment_penalty (instalment_id, penalty_minor, accrued_micro) VALUES (987654321, 1, 1)")
        raw.execute("PRAGMA foreign_keys=ON")
        raw.commit()
    return engine


def test_a_migration_never_commits_a_broken_reference(tmp_path):
    """SQLite's migrations run with foreign keys unenforced (a table others refer to is rebuilt by
    dropping it); every reference is checked before the commit, and one left broken refuses it."""
    engine = _with_a_broken_reference(tmp_path)
    with pytest.raises(RuntimeError, match=r"the migration left 1 broken references, the first: \('instalment_penalty'"):
        downgrade(engine, "0027")
    with engine.connect() as conn:
        assert "WITHOUT ROWID" in conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'instalment'")).scalar_one()
        assert current_revision(engine) == head_revision()  # the whole downgrade rolled back


def test_postgresql_leaves_room_for_the_nightly_updates(pg_store):
    """The tables the night updates row by row keep room on their pages (0020, 0022), as the models say."""
    from autofin.store.models import HOT_UPDATES

    with pg_store.connect() as conn:
        options = dict(conn.execute(text("SELECT relname, reloptions FROM pg_class WHERE relkind = 'r' AND reloptions IS NOT NULL")).all())
    assert options == {table: [f"fillfactor={percent}"] for table, percent in HOT_UPDATES.items()}


def test_an_upgrade_with_nothing_to_do_writes_nothing_and_checks_nothing(tmp_path):
    """`db upgrade` on a store already at the head returns at once: the check of every reference
    that guards a migration's commit took a minute at 1M for no migration. (A reference broken
    beforehand is the full-book check's to find, not a migration that did not run.)"""
    engine = _with_a_broken_reference(tmp_path)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with pytest.raises(RuntimeError, match=r"the migration left 1 broken references"):
        downgrade(engine, "0034")  # a migration that runs still checks every reference before its commit
