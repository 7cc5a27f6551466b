"""The entry API's money and the nightly cycle together: contracts activated, payments entered by
hand, a refund and an early settlement through the API, then every night up to today with the
simulated banks answering: every control check green, the manual receipt applied by allocation."""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, text

from autofin.bankfiles.simulator import simulate
from autofin.domain.money import format_minor
from autofin.servicing.checks import nightly_checks
from autofin.servicing.cycle import run_day
from autofin.store.models import Contract, Receipt
from tests.api.conftest import AS_OF, World
from tests.api.test_postlease import TODAY, decide, pay
from tests.servicing.test_bank_cycle import context, run_days


def test_the_cycle_stays_green_over_what_the_api_did(world: World, tmp_path, monkeypatch):
    contract_no = world.active()
    receipt = pay(world, contract_no, "800.00", "TRF-NIGHT")
    with world.engine.connect() as conn:
        settled = conn.execute(select(Contract.contract_no).where(Contract.status == "active", Contract.is_migrated.is_(True))
                               .order_by(Contract.contract_id.desc()).limit(1)).scalar_one()
    quote = world.call("GET", f"/contracts/{settled}/settlement-quote", "finance", 200).json()
    world.call("POST", f"/contracts/{settled}/early-settlement", "finance", 200, json={"amount": quote["total"], "reference": "ES-N"})

    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", str(TODAY + timedelta(days=1)))  # the night after today, simulated
    run_days(world.engine, context(tmp_path), AS_OF + timedelta(days=1), TODAY)
    monkeypatch.delenv("AUTOFIN_SIMULATED_TODAY")

    with world.engine.connect() as conn:
        assert {k: v for k, v in nightly_checks(conn, TODAY).items() if v} == {}
        assert conn.execute(select(Receipt.status).where(Receipt.receipt_id == receipt["receipt_id"])).scalar_one() == "applied"
        assert conn.execute(select(Contract.credit_minor).where(Contract.contract_no == contract_no)).scalar_one() == 800_00
        assert conn.execute(select(Contract.status).where(Contract.contract_no == settled)).scalar_one() == "settled_early"
    # a refund of that credit after the night, through its chain
    asked = world.call("POST", f"/contracts/{contract_no}/refunds", "finance", 201, json={
        "amount": "800", "reason": "overpaid", "payee_bank": "ICBC", "payee_account_no": "6222020200112233445",
        "payee_account_name": "张三"}).json()
    decide(world, asked["request_id"], "post_loan_supervisor")
    decide(world, asked["request_id"], "finance_director")
    with world.engine.connect() as conn:
        assert {k: v for k, v in nightly_checks(conn, TODAY).items() if v} == {}


def _exported(folder) -> dict[str, list[tuple[str, str, str, str, str]]]:
    """Every voucher in every ledger export file: number → its lines (file, entry date, account, debit, credit, late)."""
    out: dict[str, list] = {}
    for path in sorted(folder.glob("vouchers-*.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out.setdefault(row["voucher_no"], []).append((path.name, row["entry_date"], row["account_code"], row["debit"], row["credit"],
                                                              row["late"]))
    return out


def test_every_journal_entry_reaches_the_ledger_export_once(world: World, tmp_path, monkeypatch):
    """A week of nights with the API at work between them, some of it dated a day whose export had
    already been written (a request that began before midnight and committed after the night ran):
    every journal entry is in exactly one export file, with its lines to the fen; the late ones in
    the next file, marked late."""
    ctx = context(tmp_path)
    days = [AS_OF + timedelta(days=n) for n in range(1, 8)]
    clock = lambda d: monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", d.isoformat())  # noqa: E731
    late_refs = []
    for n, d in enumerate(days):
        clock(d)  # the API at work during D: what it books is dated D
        if n == 0:
            contract_no = world.active()
            world.call("POST", "/payments", "finance", 201, json={"contract_no": contract_no, "amount": "800.00", "value_date": d.isoformat(),
                                                                   "reference": "TRF-WEEK"})
        clock(d + timedelta(days=1))
        run_day(world.engine, d, ctx)
        for code, profile in ctx.banks.items():
            simulate(profile, ctx.bank_root / "remote" / code, d, seed=5)
        clock(d)  # ... and a request of D that commits after D's export was written
        if n == 1:
            with world.engine.connect() as conn:
                settled = conn.execute(select(Contract.contract_no).where(Contract.status == "active", Contract.is_migrated.is_(True))
                                       .order_by(Contract.contract_id.desc()).limit(1)).scalar_one()
            quote = world.call("GET", f"/contracts/{settled}/settlement-quote", "finance", 200).json()
            world.call("POST", f"/contracts/{settled}/early-settlement", "finance", 200, json={"amount": quote["total"], "reference": "ES-LATE"})
            late_refs.append(("early_settlement", d))
        if n == 3:
            asked = world.call("POST", f"/contracts/{contract_no}/refunds", "finance", 201, json={
                "amount": "300", "reason": "overpaid", "payee_bank": "ICBC", "payee_account_no": "6222020200112233445",
                "payee_account_name": "张三"}).json()
            decide(world, asked["request_id"], "post_loan_supervisor")
            decide(world, asked["request_id"], "finance_director")
            late_refs.append(("refund", d))

    exported = _exported(tmp_path / "exports" / "ledger")
    with world.engine.connect() as conn:
        entries = conn.execute(text(
            "SELECT je.voucher_no, je.entry_date, je.event_type, je.exported_on, jl.account_code, jl.debit_minor, jl.credit_minor "
            "FROM journal_entry je JOIN journal_line jl ON jl.journal_entry_id = je.journal_entry_id "
            "WHERE je.entry_date <= :last ORDER BY je.voucher_no, jl.line_no"), {"last": days[-1]}).all()
        later = conn.execute(text("SELECT COUNT(*) FROM journal_entry WHERE entry_date > :last"), {"last": days[-1]}).scalar_one()
    assert later == 0
    assert all(e.voucher_no is not None for e in entries)
    in_store: dict[str, list] = {}
    for e in entries:
        in_store.setdefault(e.voucher_no, []).append((f"vouchers-{str(e.exported_on)[:10]}.csv", str(e.entry_date)[:10], e.account_code,
                                                      format_minor(e.debit_minor), format_minor(e.credit_minor),
                                                      "1" if str(e.entry_date)[:10] < str(e.exported_on)[:10] else "0"))
    assert exported == in_store  # entry by entry, line by line, each in one file
    assert sum(Decimal(line[3]) for lines in exported.values() for line in lines) == \
        sum(Decimal(line[4]) for lines in exported.values() for line in lines)
    late = {(e.event_type, str(e.entry_date)[:10], str(e.exported_on)[:10]) for e in entries if str(e.entry_date)[:10] < str(e.exported_on)[:10]}
    for event_type, d in late_refs:
        assert (event_type, str(d), str(d + timedelta(days=1))) in late


def test_a_week_with_every_post_lease_activity_stays_green(world: World, tmp_path, monkeypatch):
    """#17's activities between seven nights, with the simulated banks answering each night: a
    disbursement paid by pain.001 (activated the night its answers are read), a partial prepayment,
    a lease settled, bought out and its title transferred, its deposit refunded by pain.001, a
    customer-credit refund by pain.001, a waiver, unidentified money matched. Every night closes
    with every control check green (the day close raises otherwise); every payout ends answered."""
    from autofin.store.models import Payout

    ctx = context(tmp_path)
    days = [AS_OF + timedelta(days=n) for n in range(1, 8)]
    clock = lambda d: monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", d.isoformat())  # noqa: E731
    done: dict[str, object] = {}
    for n, d in enumerate(days):
        clock(d)
        if n == 0:  # a disbursement through the files; a loan paid ahead; a lease paid off
            signed = world.signed()
            for kind in ("mortgage", "gps"):
                world.call("POST", f"/contracts/{signed}/conditions", "dealer_a", 201, json={"kind": kind, "reference": kind})
            disbursement = world.call("POST", f"/contracts/{signed}/disbursement", "dealer_a", 201).json()
            world.call("POST", f"/disbursements/{disbursement['disbursement_id']}/approve", "finance", 200)
            done["disbursed"] = signed
            loan = world.active()
            q = world.call("GET", f"/contracts/{loan}/prepayment-quote?principal=15000&option=shorten_term", "finance", 200).json()
            world.call("POST", f"/contracts/{loan}/prepayments", "finance", 201,
                       json={"principal": "15000", "option": "shorten_term", "amount": q["total"], "reference": "PP-WEEK"})
            lease = world.active(product_code="DL-EP")
            q = world.call("GET", f"/contracts/{lease}/settlement-quote", "finance", 200).json()
            world.call("POST", f"/contracts/{lease}/early-settlement", "finance", 200, json={"amount": q["total"], "reference": "ES-WEEK"})
            world.call("POST", "/payments", "finance", 201, json={"contract_no": loan, "amount": "500.00", "value_date": d.isoformat(),
                                                                   "reference": "TRF-WEEK-CREDIT"})
        if n == 1:  # the lease bought out and its deposit refunded; a waiver on an overdue migrated contract
            world.call("POST", f"/contracts/{lease}/buy-out", "finance", 201, json={"amount": "100.00", "reference": "BUYOUT-WEEK"})
            held = world.call("GET", f"/contracts/{lease}", "finance", 200).json()["deposit_held"]
            asked = world.call("POST", f"/contracts/{lease}/deposit-refund", "finance", 201, json={
                "amount": held, "reason": "租赁结束", "payee_bank": "中国工商银行", "payee_account_no": "6222020200112233445",
                "payee_account_name": "张三"}).json()
            for role in asked["chain"]:
                decide(world, asked["request_id"], role)
            with world.engine.connect() as conn:
                overdue = conn.execute(text("SELECT c.contract_no FROM contract c JOIN instalment i ON i.contract_id = c.contract_id "
                                            "JOIN instalment_penalty p ON p.instalment_id = i.instalment_id "
                                            "WHERE c.status = 'active' AND i.status = 'billed' AND p.penalty_minor - i.paid_penalty_minor >= 100 "
                                            "ORDER BY c.contract_id LIMIT 1")).scalar()
            if overdue is not None:
                waiver = world.call("POST", f"/contracts/{overdue}/waivers", "finance", 201, json={"penalty": "1.00", "reason": "协商减免"}).json()
                for role in waiver["chain"]:
                    decide(world, waiver["request_id"], role)
                done["waived"] = overdue
        if n == 2:  # the title transferred; the loan's credit refunded; money nobody claims, then matched
            [task] = world.call("GET", "/title-transfers", "finance", 200).json()
            world.call("POST", f"/title-transfers/{task['title_transfer_id']}/complete", "finance", 200, json={"registration_no": "沪A-WEEK"})
            asked = world.call("POST", f"/contracts/{loan}/refunds", "finance", 201, json={
                "amount": "200", "reason": "overpaid", "payee_bank": "中国工商银行", "payee_account_no": "6222020200112233445",
                "payee_account_name": "张三"}).json()
            decide(world, asked["request_id"], "post_loan_supervisor")
            decide(world, asked["request_id"], "finance_director")
            held = world.call("POST", "/unidentified-receipts", "finance", 201, json={
                "bank_code": "BOC", "amount": "321.00", "value_date": d.isoformat(), "reference": "UNKNOWN-WEEK", "payer_name": "李四"}).json()
            world.call("POST", f"/unidentified-receipts/{held['unidentified_id']}/match", "finance", 200,
                       json={"contract_no": loan, "reason": "客户来电确认"})
        clock(d + timedelta(days=1))
        run_day(world.engine, d, ctx)  # the day close raises on any red check
        for code, profile in ctx.banks.items():
            simulate(profile, ctx.bank_root / "remote" / code, d, seed=5)

    with world.engine.connect() as conn:
        assert {k: v for k, v in nightly_checks(conn, days[-1]).items() if v} == {}
        payouts = conn.execute(select(Payout.kind, Payout.status, Payout.reason_code)).all()
        status = conn.execute(select(Contract.status).where(Contract.contract_no == done["disbursed"])).scalar_one()
    assert {k for k, _, _ in payouts} == {"disbursement", "refund", "deposit_refund"} and "waived" in done
    assert all(s == "paid" or (s == "failed" and r) for _, s, r in payouts), payouts  # every payout answered
    assert status == ("active" if all(s == "paid" for k, s, _ in payouts if k == "disbursement") else "signed")
