"""Contract shards: a week of nights run as three parallel shards ends exactly where the same
week run whole ends (every balance, posting, order, receipt and case, every voucher number and the
ledger export files byte for byte), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from autofin.bankfiles.simulator import simulate
from autofin.domain.errors import InputError
from autofin.servicing.checks import nightly_checks
from autofin.servicing.cycle import run_day
from autofin.servicing.shards import Shard, parse, split
from tests.conftest import _postgres_store, _sqlite_store
from tests.servicing.conftest import AS_OF, seed
from tests.servicing.test_bank_cycle import context

DIGEST = {
    "events": "SELECT event_type, COUNT(*), SUM(principal_minor), SUM(interest_minor), SUM(fee_minor), SUM(penalty_minor), "
              "SUM(vat_minor), SUM(credit_minor) FROM money_event GROUP BY event_type ORDER BY event_type",
    "ledger": "SELECT account_code, SUM(debit_minor), SUM(credit_minor), COUNT(*) FROM journal_line GROUP BY account_code ORDER BY account_code",
    "instalments": "SELECT i.status, COUNT(*), SUM(i.paid_principal_minor + i.paid_interest_minor + i.paid_fee_minor + i.paid_penalty_minor), "
                   "SUM(COALESCE(p.penalty_minor, 0)), SUM(COALESCE(p.accrued_micro, 0)) FROM instalment i "
                   "LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id GROUP BY i.status ORDER BY i.status",
    "contracts": "SELECT c.status, cd.bucket, COUNT(*), SUM(cd.dpd), SUM(c.credit_minor) FROM contract c "
                 "LEFT JOIN contract_dpd cd ON cd.contract_id = c.contract_id GROUP BY c.status, cd.bucket ORDER BY c.status, cd.bucket",
    "orders": "SELECT status, COUNT(*), SUM(amount_minor) FROM debit_order GROUP BY status ORDER BY status",
    "receipts": "SELECT status, COUNT(*), SUM(amount_minor) FROM receipt GROUP BY status ORDER BY status",
    "cases": "SELECT status, worst_bucket, COUNT(*), SUM(worst_dpd) FROM collection_case GROUP BY status, worst_bucket ORDER BY status, worst_bucket",
    "days": "SELECT business_date, status FROM business_day ORDER BY business_date",
    # a receipt's event key holds its id, which shards running side by side draw in another order: the
    # receipt is named by what it is (the debit's end-to-end id, or credit:<contract>:<day>)
    "vouchers": "SELECT je.voucher_no, je.exported_on, je.event_type, COALESCE(r.source_ref, me.event_key) FROM journal_entry je "
                "JOIN money_event me ON me.money_event_id = je.money_event_id "
                "LEFT JOIN receipt r ON me.event_key = 'receipt:' || CAST(r.receipt_id AS TEXT) ORDER BY je.voucher_no",
}


def week(engine, tmp_path, shards: int) -> dict:
    seed(engine, contracts=700)
    ctx = context(tmp_path)
    d, last = AS_OF + timedelta(days=1), AS_OF + timedelta(days=7)
    while d <= last:
        run_day(engine, d, ctx, shards=shards)
        for code, profile in ctx.banks.items():
            simulate(profile, ctx.bank_root / "remote" / code, d, seed=3)
        d += timedelta(days=1)
    with engine.connect() as conn:
        assert {k: v for k, v in nightly_checks(conn, last).items() if v} == {}
        digest = {name: [tuple(str(v) for v in row) for row in conn.execute(text(sql))] for name, sql in DIGEST.items()}
        marks = conn.execute(text("SELECT step, COUNT(*) FROM step_run WHERE business_date = :d GROUP BY step"), {"d": last}).all()
    # the ledger export files, byte for byte: the same numbers for the same vouchers however the day ran
    digest["export_files"] = {p.name: p.read_bytes() for p in sorted((tmp_path / "exports" / "ledger").iterdir())}
    return digest, dict(marks)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_three_shards_end_where_the_whole_run_ends(backend, tmp_path, request):
    def fresh(name: str):
        if backend == "postgres":
            return _postgres_store(request.getfixturevalue("pg_server"))
        (tmp_path / name).mkdir()
        return _sqlite_store(tmp_path / name)

    whole, whole_marks = week(fresh("whole"), tmp_path / "w", 1)
    sharded, sharded_marks = week(fresh("sharded"), tmp_path / "s", 3)
    assert sharded == whole
    assert whole["receipts"] and whole["orders"] and whole["cases"]  # the week had work in every sharded step
    assert {k: v for k, v in sharded_marks.items() if v > 1} == {"billing": 3, "delinquency": 3, "penalties": 3, "allocation": 3}
    assert set(whole_marks.values()) == {1}


def test_shard_keys():
    assert [s.key for s in split(3)] == ["0of3", "1of3", "2of3"] and split(1) == [Shard(0, 1)]
    assert parse("2of3") == Shard(2, 3) and parse("all").where("c.contract_id") == ""
    assert Shard(1, 4).where("i.contract_id") == " AND i.contract_id % 4 = 1"
    for bad in ("3of3", "0of0", "x", "1of65"):
        with pytest.raises(InputError):
            parse(bad)
