"""Billing, delinquency, penalties and allocation on a seeded book: amounts, idempotency, ties."""

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import event, insert, text

from autofin.domain.allocation import OpenInstalment, allocate_receipt
from autofin.domain.money import from_minor, ppm_to_rate
from autofin.domain.penalties import penalty_accrual
from autofin.domain.products import ALLOCATION_COMPONENTS, PenaltyTerms
from autofin.servicing.checks import nightly_checks
from autofin.servicing.cycle import run_step
from autofin.store.models import Receipt
from tests.servicing.conftest import AS_OF, seed

D1 = AS_OF + timedelta(days=1)


def q(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def green(engine, d):
    with engine.connect() as conn:
        problems = {k: v for k, v in nightly_checks(conn, d).items() if v}
    assert problems == {}


def test_billing_bills_what_falls_due_and_posts_it(store, ctx):
    seed(store)
    due = q(store, "SELECT COUNT(*), SUM(principal_minor), SUM(interest_minor) FROM instalment i JOIN contract c ON c.contract_id = i.contract_id "
                   "WHERE i.status = 'scheduled' AND i.due_date <= :d AND c.status = 'active'", d=D1)[0]
    run_step(store, "business_day", D1, ctx)
    result = run_step(store, "billing", D1, ctx)
    assert result.counts["instalments_billed"] == due[0] > 0
    assert (result.counts["principal_minor"], result.counts["interest_minor"]) == (due[1], due[2])
    vat = q(store, "SELECT SUM(vat_minor) FROM money_event WHERE event_type = 'billing'")[0][0]
    assert 0 < vat * 100 < due[2] * 13  # at most 13% VAT inside the interest
    again = run_step(store, "billing", D1, ctx)
    assert again.skipped and again.counts == result.counts
    assert q(store, "SELECT COUNT(*) FROM money_event WHERE event_type = 'billing'")[0][0] == due[0]
    # one event an instalment, its key led by the night's date: tonight's keys side by side in the unique index
    keys = [k for (k,) in q(store, "SELECT event_key FROM money_event WHERE event_type IN ('billing', 'billing_non_accrual')")]
    billed = q(store, "SELECT instalment_id FROM instalment WHERE billed_date = :d", d=D1)
    assert sorted(keys) == sorted(f"billing:{D1.isoformat()}:{i}" for (i,) in billed)
    run_step(store, "delinquency", D1, ctx)  # DPD is yesterday's until arrears are aged
    green(store, D1)


def test_vat_split_by_hand(sqlite_store, ctx):
    seed(sqlite_store)
    run_step(sqlite_store, "business_day", D1, ctx)
    run_step(sqlite_store, "billing", D1, ctx)
    for interest, vat, ppm in q(sqlite_store, "SELECT me.interest_minor, me.vat_minor, c.vat_rate_ppm FROM money_event me "
                                              "JOIN contract c ON c.contract_id = me.contract_id WHERE me.event_type = 'billing'"):
        net = (from_minor(interest) / (1 + ppm_to_rate(ppm))).quantize(from_minor(1))
        assert from_minor(vat) == from_minor(interest) - net


def test_days_run_in_order_and_penalties_accrue_per_the_terms(store, ctx):
    seed(store, contracts=600)
    before = {r[0]: r[1:] for r in q(store, "SELECT i.instalment_id, COALESCE(p.penalty_minor, 0), i.due_date, p.through_date, "
                                            "COALESCE(p.accrued_micro, 0) FROM instalment i "
                                            "LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id WHERE i.status = 'billed'")}
    for d in (D1, D1 + timedelta(days=1)):
        for name in ("business_day", "billing", "delinquency", "penalties"):
            run_step(store, name, d, ctx)
        assert q(store, "SELECT COUNT(*) FROM business_day WHERE business_date = :d", d=d)[0][0] == 1
        with store.begin() as conn:  # close by hand: the bank steps are not part of this test
            conn.execute(text("UPDATE business_day SET status = 'closed' WHERE business_date = :d"), {"d": d})
    d = D1 + timedelta(days=1)
    rows = q(store, "SELECT i.instalment_id, COALESCE(p.penalty_minor, 0), i.principal_minor, i.interest_minor, i.fee_minor, i.due_date, "
                    "c.penalty_rate_ppm, c.penalty_basis, c.grace_days, c.penalty_cap_ppm FROM instalment i "
                    "LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id "
                    "JOIN contract c ON c.contract_id = i.contract_id WHERE i.status = 'billed' AND i.due_date < :d", d=d)
    checked = 0
    for iid, penalty, p, i, f, due, rate, basis, grace, cap in rows:
        due = due if isinstance(due, date) else date.fromisoformat(due)
        terms = PenaltyTerms(ppm_to_rate(rate), basis, grace, None if cap is None else ppm_to_rate(cap))
        base = from_minor(p if basis == "overdue_principal" else p + i + f)
        expected = from_minor(before[iid][0]) if iid in before else from_minor(0)
        exact = from_minor(before[iid][3]) / 1_000_000 if iid in before else from_minor(0)
        through = before.get(iid, (0, None, None))[2]
        through = None if through is None else (through if isinstance(through, date) else date.fromisoformat(through))
        for day in (D1, d):
            if day <= due or (through and through >= day):
                continue
            accrued_days = (through - due).days if through else 0
            inc, exact = penalty_accrual(base, days_overdue=(day - due).days, days_accrued=accrued_days, accrued_exact=exact,
                                         booked=expected, terms=terms)
            expected += inc
            if (day - due).days > grace:
                through = day
        assert from_minor(penalty) == expected, iid
        checked += 1
    assert checked > 20
    green(store, d)


def test_delinquency_opens_and_closes_collection_cases(sqlite_store, ctx):
    seed(sqlite_store, contracts=600)
    for name in ("business_day", "billing"):
        run_step(sqlite_store, name, D1, ctx)
    result = run_step(sqlite_store, "delinquency", D1, ctx)
    past_due = q(sqlite_store, "SELECT COUNT(*) FROM contract_dpd")[0][0]
    past_grace = q(sqlite_store, "SELECT COUNT(*) FROM contract c JOIN contract_dpd cd ON cd.contract_id = c.contract_id WHERE cd.dpd > c.grace_days")[0][0]
    assert result.counts["contracts_past_due"] == past_due > result.counts["cases_opened"] == past_grace > 0
    run_step(sqlite_store, "penalties", D1, ctx)
    # pay one delinquent contract in full, and 1,000.00 more: its case closes the next day
    cid, owed = q(sqlite_store, "SELECT i.contract_id, SUM(i.principal_minor + i.interest_minor + i.fee_minor + COALESCE(p.penalty_minor, 0) - "
                                "i.paid_principal_minor - i.paid_interest_minor - i.paid_fee_minor - i.paid_penalty_minor) "
                                "FROM instalment i LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id "
                                "JOIN contract_dpd cd ON cd.contract_id = i.contract_id WHERE cd.dpd > 30 AND i.status = 'billed' "
                                "GROUP BY i.contract_id ORDER BY i.contract_id LIMIT 1")[0]
    credit_before = q(sqlite_store, "SELECT credit_minor FROM contract WHERE contract_id = :c", c=cid)[0][0]
    with sqlite_store.begin() as conn:
        conn.execute(insert(Receipt).values(contract_id=cid, source="transfer", source_ref="T-1", amount_minor=owed + 100_000,
                                            value_date=D1, business_date=D1))
    alloc = run_step(sqlite_store, "allocation", D1, ctx)
    assert (alloc.counts["received_minor"], alloc.counts["to_credit_minor"]) == (owed + 100_000, 100_000)
    with sqlite_store.begin() as conn:
        conn.execute(text("UPDATE business_day SET status = 'closed' WHERE business_date = :d"), {"d": D1})
    d2 = D1 + timedelta(days=1)
    for name in ("business_day", "billing"):
        run_step(sqlite_store, name, d2, ctx)
    result = run_step(sqlite_store, "delinquency", d2, ctx)
    assert result.counts["cases_closed"] >= 1
    assert q(sqlite_store, "SELECT status, closed_date FROM collection_case WHERE contract_id = :c", c=cid)[0] == ("closed", d2.isoformat())
    assert q(sqlite_store, "SELECT credit_minor FROM contract WHERE contract_id = :c", c=cid)[0] == (credit_before + 100_000,)
    assert q(sqlite_store, "SELECT COUNT(*) FROM contract_dpd WHERE contract_id = :c", c=cid)[0] == (0,)  # current: no row
    green(sqlite_store, d2)


def as_the_reference_sees_it(store, cid):
    """A contract's allocation order and its billed instalments' open amounts, as the reference waterfall takes them."""
    order = q(store, "SELECT allocation_order FROM contract WHERE contract_id = :c", c=cid)[0][0].split(",")
    return order, [OpenInstalment(r[0], r[1], r[2] if isinstance(r[2], date) else date.fromisoformat(r[2]), *r[3:])
                   for r in q(store, "SELECT i.instalment_id, i.seq, i.due_date, COALESCE(p.penalty_minor, 0) - i.paid_penalty_minor, "
                                     "i.fee_minor - i.paid_fee_minor, i.interest_minor - i.paid_interest_minor, "
                                     "i.principal_minor - i.paid_principal_minor FROM instalment i "
                                     "LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id "
                                     "WHERE i.contract_id = :c AND i.status = 'billed'", c=cid)]


def test_allocation_equals_the_reference_waterfall(store, ctx):
    seed(store, contracts=500)
    run_step(store, "business_day", D1, ctx)
    run_step(store, "billing", D1, ctx)
    contracts = q(store, "SELECT DISTINCT i.contract_id FROM instalment i WHERE i.status = 'billed' ORDER BY i.contract_id")[:40]
    expected, receipts, billed_ids = {}, [], []
    for n, (cid,) in enumerate(contracts):
        order, open_rows = as_the_reference_sees_it(store, cid)
        owed = sum(o.penalty + o.fee + o.interest + o.principal for o in open_rows)
        billed_ids.extend(o.instalment_id for o in open_rows)
        amounts = [max(1, owed * (n % 5 + 1) // 4 - 777)] + ([owed // 3 + 1] if n % 3 == 0 else [])
        left = list(open_rows)
        lines = []
        for amount in amounts:
            got = allocate_receipt(amount, left, order)
            lines.append([(line.instalment_id, line.component, line.amount) for line in got])
            paid = {}
            for line in got:
                if line.instalment_id:
                    paid[(line.instalment_id, line.component)] = paid.get((line.instalment_id, line.component), 0) + line.amount
            left = [OpenInstalment(o.instalment_id, o.seq, o.due_date, *(getattr(o, c) - paid.get((o.instalment_id, c), 0)
                    for c in ("penalty", "fee", "interest", "principal"))) for o in left]
            receipts.append({"contract_id": cid, "source": "transfer", "source_ref": f"R{n}-{amount}", "amount_minor": amount,
                             "value_date": D1, "business_date": D1})
        expected[cid] = lines
    with store.begin() as conn:
        conn.execute(insert(Receipt), receipts)
    run_step(store, "delinquency", D1, ctx)
    result = run_step(store, "allocation", D1, ctx)
    assert result.counts["receipts"] == len(receipts)
    assert result.counts["received_minor"] == sum(r["amount_minor"] for r in receipts)
    rows = q(store, "SELECT r.contract_id, r.receipt_id, a.instalment_id, a.component, a.amount_minor FROM allocation a "
                    "JOIN receipt r ON r.receipt_id = a.receipt_id ORDER BY r.receipt_id, a.allocation_id")
    got = {}
    for cid, rid, iid, comp, amount in rows:
        got.setdefault(cid, {}).setdefault(rid, []).append((iid, comp, amount))
    for cid, lines in expected.items():
        assert [sorted(v, key=str) for v in got[cid].values()] == [sorted(v, key=str) for v in lines], cid
    # of the instalments billed before, one paid in full is paid as of tonight, one with anything open stays billed
    states = q(store, "SELECT i.status, i.paid_date, i.principal_minor + i.interest_minor + i.fee_minor + COALESCE(p.penalty_minor, 0) "
                      "- i.paid_principal_minor - i.paid_interest_minor - i.paid_fee_minor - i.paid_penalty_minor, i.paid_principal_minor "
                      "+ i.paid_interest_minor + i.paid_fee_minor + i.paid_penalty_minor FROM instalment i "
                      "LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id "
                      f"WHERE i.instalment_id IN ({', '.join(map(str, billed_ids))})")
    assert len(states) == len(billed_ids)
    paid = [(str(day), left) for status, day, left, _ in states if status == "paid"]
    assert paid and all(p == (str(D1), 0) for p in paid)
    billed = [(day, left, received) for status, day, left, received in states if status == "billed"]
    assert billed and all(left > 0 and day is None for day, left, _ in billed)
    assert any(received > 0 for _, _, received in billed)  # part-paid ones among them
    green(store, D1)


def test_allocation_equals_the_reference_waterfall_over_arrears_penalties_and_orders(store, ctx):
    """The waterfall where it branches: several instalments billed, penalties booked, each contract
    with its own order of the components, a component paid in part or already overpaid, receipts
    that end on a component's edge, short of it, past everything; one contract paid in two rounds."""
    rng = random.Random(15)
    seed(store, contracts=300)
    run_step(store, "business_day", D1, ctx)
    run_step(store, "billing", D1, ctx)
    contracts = [cid for (cid,) in q(store, "SELECT DISTINCT contract_id FROM instalment WHERE status = 'billed' ORDER BY contract_id")[:48]]
    with store.begin() as conn:
        for n, cid in enumerate(contracts):
            order = list(ALLOCATION_COMPONENTS)
            rng.shuffle(order)
            conn.execute(text("UPDATE contract SET allocation_order = :o WHERE contract_id = :c"), {"o": ",".join(order), "c": cid})
            if n % 3:  # in arrears: the next one or two instalments billed too
                conn.execute(text("UPDATE instalment SET status = 'billed', billed_date = :d WHERE contract_id = :c AND status = 'scheduled' "
                                  "AND seq < (SELECT MIN(seq) FROM instalment WHERE contract_id = :c AND status = 'scheduled') + :k"),
                             {"d": D1, "c": cid, "k": n % 3})
            billed = conn.execute(text("SELECT instalment_id FROM instalment WHERE contract_id = :c AND status = 'billed' ORDER BY seq"), {"c": cid})
            for k, (iid,) in enumerate(billed.all()):
                if (n + k) % 4:
                    conn.execute(text("INSERT INTO instalment_penalty (instalment_id, penalty_minor, accrued_micro, through_date) "
                                      "VALUES (:i, :p, 0, :d) ON CONFLICT (instalment_id) DO UPDATE SET penalty_minor = excluded.penalty_minor"),
                                 {"i": iid, "p": rng.randint(1, 90_000), "d": D1})
                if (n + k) % 5 == 0:  # paid in part before tonight
                    conn.execute(text("UPDATE instalment SET paid_interest_minor = interest_minor / 2 WHERE instalment_id = :i"), {"i": iid})
                if n % 7 == 0 and k == 0:  # a component paid past its due (nothing open there: the waterfall passes it)
                    conn.execute(text("UPDATE instalment SET paid_fee_minor = fee_minor + 3 WHERE instalment_id = :i"), {"i": iid})
    expected, receipts = {}, []
    for n, cid in enumerate(contracts):
        order, left = as_the_reference_sees_it(store, cid)
        first = min(left, key=lambda o: (o.due_date, o.seq))
        owed = sum(max(getattr(o, c), 0) for o in left for c in ALLOCATION_COMPONENTS)
        edge = next(getattr(first, c) for c in order if getattr(first, c) > 0)  # exactly the first open component
        amounts = [[1], [edge], [edge + 1], [owed - 1], [owed], [owed + 12_345], [max(1, owed // 3), owed]][n % 7]
        lines = []
        for amount in amounts:
            got = allocate_receipt(amount, left, order)
            lines.append(sorted((line.instalment_id, line.component, line.amount) for line in got if line.instalment_id)
                         + [(None, "credit", line.amount) for line in got if line.instalment_id is None])
            paid = {(line.instalment_id, line.component): line.amount for line in got if line.instalment_id}
            left = [OpenInstalment(o.instalment_id, o.seq, o.due_date, *(getattr(o, c) - paid.get((o.instalment_id, c), 0)
                    for c in ALLOCATION_COMPONENTS)) for o in left]
            receipts.append({"contract_id": cid, "source": "transfer", "source_ref": f"W{n}-{len(receipts)}", "amount_minor": amount,
                             "value_date": D1, "business_date": D1})
        expected[cid] = (lines, {o.instalment_id: all(getattr(o, c) <= 0 for c in ALLOCATION_COMPONENTS) for o in left})
    with store.begin() as conn:
        conn.execute(insert(Receipt), receipts)
    run_step(store, "delinquency", D1, ctx)
    result = run_step(store, "allocation", D1, ctx)
    assert (result.counts["receipts"], result.counts["rounds"]) == (len(receipts), 2)
    got = {}
    for cid, rid, iid, comp, amount in q(store, "SELECT r.contract_id, r.receipt_id, a.instalment_id, a.component, a.amount_minor "
                                               "FROM allocation a JOIN receipt r ON r.receipt_id = a.receipt_id ORDER BY r.receipt_id"):
        got.setdefault(cid, {}).setdefault(rid, []).append((iid, comp, amount))
    for cid, (lines, settled) in expected.items():
        assert [sorted(v, key=str) for v in got[cid].values()] == [sorted(v, key=str) for v in lines], cid
        states = dict(q(store, f"SELECT instalment_id, status FROM instalment WHERE instalment_id IN ({', '.join(map(str, settled))})"))
        assert {iid: status == "paid" for iid, status in states.items()} == settled, cid


# each way the kept DPD (contract_dpd: a row for each contract past due) can part from the instalments
PAST_DUE = "(SELECT MIN(contract_id) FROM contract_dpd)"
CURRENT = ("(SELECT MIN(c.contract_id) FROM contract c WHERE c.status = 'active' "
           "AND NOT EXISTS (SELECT 1 FROM contract_dpd cd WHERE cd.contract_id = c.contract_id))")


@pytest.mark.parametrize(("change", "found"), [
    (f"DELETE FROM contract_dpd WHERE contract_id = {PAST_DUE}", "1 contracts whose DPD differs from their oldest unpaid instalment"),
    (f"UPDATE contract_dpd SET dpd = dpd + 1 WHERE contract_id = {PAST_DUE}", "1 contracts whose DPD differs from their oldest unpaid instalment"),
    (f"INSERT INTO contract_dpd (contract_id, dpd, bucket) SELECT {CURRENT}, 3, 'M1'", "1 contracts past due with nothing unpaid"),
    (f"UPDATE contract_dpd SET bucket = CASE bucket WHEN 'M1' THEN 'M2' ELSE 'M1' END WHERE contract_id = {PAST_DUE}",
     "1 contracts whose bucket is not the one of their DPD"),
    (f"UPDATE contract_dpd SET bucket = 'current' WHERE contract_id = {PAST_DUE}", "1 contracts whose bucket is not the one of their DPD"),
])
def test_the_close_finds_a_kept_dpd_that_parted_from_the_instalments(sqlite_store, ctx, change, found):
    seed(sqlite_store, contracts=200)
    for name in ("business_day", "billing", "delinquency"):
        run_step(sqlite_store, name, D1, ctx)
    green(sqlite_store, D1)
    with sqlite_store.begin() as conn:
        assert conn.execute(text(change)).rowcount == 1
    with sqlite_store.connect() as conn:
        assert found in nightly_checks(conn, D1)["dpd_consistent"]


def test_a_month_end_close_records_each_active_contracts_bucket(store, ctx):
    """...its principal outstanding from the kept sub-ledger balances, one row a contract: summing the
    book's instalments took 10 s of the 1M month-end close (by the (contract_id, seq) index, 194 s)."""
    seed(store, contracts=300)
    snapshots = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO bucket_snapshot"):
            snapshots.append((statement, parameters))

    event.listen(store, "before_cursor_execute", keep)
    try:
        for d in (AS_OF + timedelta(days=n) for n in range(1, 11)):  # through 2026-11-30
            for name in ("business_day", "billing", "delinquency", "penalties", "allocation", "vouchers", "voucher_export", "day_close"):
                run_step(store, name, d, ctx)
    finally:
        event.remove(store, "before_cursor_execute", keep)
    assert len(snapshots) == 1
    if store.dialect.name == "sqlite":
        with store.connect() as conn:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + snapshots[0][0], snapshots[0][1]).all()]
        assert not any("instalment" in step for step in plan), plan  # one row a contract: contract, its balance, its DPD
    rows = q(store, "SELECT snapshot_date, COUNT(*), SUM(principal_outstanding_minor) FROM bucket_snapshot GROUP BY snapshot_date")
    active = q(store, "SELECT COUNT(*) FROM contract WHERE status = 'active'")[0][0]
    outstanding = q(store, "SELECT SUM(principal_minor - paid_principal_minor) FROM instalment i JOIN contract c "
                           "ON c.contract_id = i.contract_id WHERE c.status = 'active'")[0][0]
    assert [(str(day), n, amount) for day, n, amount in rows] == [("2026-11-30", active, outstanding)]
    assert q(store, "SELECT COUNT(*) FROM bucket_snapshot s LEFT JOIN contract_dpd cd ON cd.contract_id = s.contract_id "
                    "WHERE s.bucket <> COALESCE(cd.bucket, 'current') OR s.dpd <> COALESCE(cd.dpd, 0)")[0][0] == 0


def test_penalties_equal_their_formula_after_many_nights_and_a_catch_up(store, ctx, monkeypatch):
    """A month of nights, the last ten as one catch-up: every unpaid instalment whose basis never
    changed carries exactly round(basis × daily rate × days overdue), capped (it drifted 1–4 fen
    below when each night's increment was rounded on its own)."""
    from autofin.domain.penalties import accrued_penalty
    from autofin.servicing.cycle import catch_up, run_day

    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", str(AS_OF + timedelta(days=40)))
    seed(store, contracts=400)
    last = AS_OF + timedelta(days=30)
    for n in range(1, 21):
        run_day(store, AS_OF + timedelta(days=n), ctx)
    catch_up(store, last, ctx)
    rows = q(store, "SELECT i.instalment_id, COALESCE(p.penalty_minor, 0), i.principal_minor, i.interest_minor, i.fee_minor, i.due_date, "
                    "c.penalty_rate_ppm, c.penalty_basis, c.grace_days, c.penalty_cap_ppm FROM instalment i "
                    "LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id "
                    "JOIN contract c ON c.contract_id = i.contract_id WHERE i.status = 'billed' AND i.paid_principal_minor = 0 "
                    "AND i.paid_interest_minor = 0 AND i.paid_fee_minor = 0 AND i.due_date < :d", d=last)
    wrong = []
    for iid, penalty, p, i, f, due, rate, basis, grace, cap in rows:
        due = due if isinstance(due, date) else date.fromisoformat(due)
        terms = PenaltyTerms(ppm_to_rate(rate), basis, grace, None if cap is None else ppm_to_rate(cap))
        expected = accrued_penalty(from_minor(p if basis == "overdue_principal" else p + i + f), (last - due).days, terms)
        if from_minor(penalty) != expected:
            wrong.append((iid, from_minor(penalty), expected))
    assert len(rows) > 30 and wrong == []


def test_the_voucher_export_holds_one_chunk_of_lines_at_a_time(pg_store, ctx, monkeypatch):
    """The first night after a cut-over exports every migrated contract's opening voucher. The file is
    written EXPORT_CHUNK lines at a time, and on PostgreSQL (a server-side cursor) the lines already
    written are let go: read with the yield_per option instead, the process kept every one (3.8 GiB
    on the first night of a 1M book)."""
    import tracemalloc

    import autofin.servicing.close as close

    seed(pg_store, contracts=4000)
    monkeypatch.setattr(close, "EXPORT_CHUNK", 200)
    d = AS_OF + timedelta(days=1)
    for name in ("business_day", "billing", "delinquency", "penalties", "allocation", "vouchers"):
        run_step(pg_store, name, d, ctx)
    tracemalloc.start()
    try:
        export = run_step(pg_store, "voucher_export", d, ctx)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    written = (ctx.ledger_folder() / export.counts["file"]).read_text(encoding="utf-8").count("\n") - 1
    assert written == export.counts["lines"] > 8_000
    assert peak < 2 * 2**20, f"{peak / 2**20:.1f} MiB held while exporting {written} lines"
