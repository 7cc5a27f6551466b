"""Penalty interest (罚息) on overdue instalments, per each contract's frozen terms.

The set-based twin of `domain.penalties.penalty_accrual`: for every billed, unpaid instalment past
its grace days, the exact accrual grows by basis × daily rate × the days since it was last accrued
(from the due date the first time), the basis being today's unpaid amount (or principal); the
booked penalty becomes that accrual rounded once, capped at basis × cap. `through_date` records
the last date accrued, so a catch-up books each gap once, and the rounding never drifts. All three
are kept beside the instalment (instalment_penalty), whose wide row the night no longer rewrites.
One penalty_accrual money event per contract per day, posted in the same transaction as a summary batch (penalty_suspended
for a contract past its non-accrual threshold: held in suspense, not income). A
contract whose debit awaits the bank's answer waits with it (delinquency.note_debits_in_flight).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from autofin.domain.money import PPM, sql_div_round_half_up
from autofin.servicing.context import StepContext
from autofin.servicing.delinquency import note_debits_in_flight
from autofin.servicing.shards import parse as parse_shard
from autofin.servicing.sql import analyze, days_between, greatest, least
from autofin.store.engine import indexed_by, integer_key
from autofin.store.ledger import DPD, DPD_JOIN, PENALTY, PENALTY_JOIN, hold_in_suspense, post_batch


def accrue_penalties(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    shard = parse_shard(ctx.shard)
    batch = shard.batch("penalties", d)
    overdue = days_between(conn, ":d", "i.due_date")
    accrued_days = f"COALESCE({days_between(conn, 'ip.through_date', 'i.due_date')}, 0)"
    basis = (
        "CASE WHEN c.penalty_basis = 'overdue_principal' THEN i.principal_minor - i.paid_principal_minor "
        "ELSE i.principal_minor + i.interest_minor + i.fee_minor - i.paid_principal_minor - i.paid_interest_minor - i.paid_fee_minor END"
    )
    # the exact accrual grows by basis × rate × the days not yet accrued; the booked penalty follows
    # its rounding (capped), so nights and catch-ups never drift from the formula
    exact = "b.accrued_micro + b.basis * b.rate * (b.overdue - b.accrued_days)"
    target = sql_div_round_half_up(exact, PPM)
    capped = f"CASE WHEN b.cap IS NULL THEN {target} ELSE {least(conn, target, sql_div_round_half_up('b.basis * b.cap', PPM))} END"
    # the contracts' terms from their index alone, not a page of the table each (0040)
    terms = indexed_by(conn, "contract c", "ix_contract_penalty_terms")
    # a contract with a debit in flight (cut for everything owed; the banks answer the next morning,
    # after this step) is not charged while it waits: paid, those days are never charged; failed, the
    # next night accrues every day since the last accrual (the exact accrual runs from
    # through_date, so nothing is lost by waiting)
    note_debits_in_flight(conn)
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_penalty (instalment_id {integer_key(conn)}, contract_id BIGINT, amount BIGINT, "
                      "accrued_micro BIGINT)"))
    conn.execute(text("DELETE FROM tmp_penalty"))
    conn.execute(
        text(
            "INSERT INTO tmp_penalty (instalment_id, contract_id, amount, accrued_micro) "
            f"SELECT b.instalment_id, b.contract_id, {greatest(conn, '0', f'{capped} - b.penalty')}, {exact} FROM ("
            f"  SELECT i.instalment_id, i.contract_id, {PENALTY} AS penalty, COALESCE(ip.accrued_micro, 0) AS accrued_micro, {basis} AS basis, "
            f"  c.penalty_rate_ppm AS rate, c.penalty_cap_ppm AS cap, {overdue} AS overdue, {accrued_days} AS accrued_days, c.grace_days AS grace "
            f"  FROM {indexed_by(conn, 'instalment i', 'ix_instalment_billed_contract')} {PENALTY_JOIN} JOIN {terms} ON c.contract_id = i.contract_id "
            "  WHERE i.status = 'billed' AND i.due_date < :d AND (ip.through_date IS NULL OR ip.through_date < :d)"
            "  AND NOT EXISTS (SELECT 1 FROM tmp_in_flight f WHERE f.contract_id = i.contract_id)"
            f"{shard.where('i.contract_id')}) b "
            "WHERE b.basis > 0 AND b.overdue > b.grace AND b.overdue > b.accrued_days"
        ),
        {"d": d},
    )
    analyze(conn, "tmp_penalty")
    conn.execute(
        text(
            # an instalment's first accrual adds its row, the later ones write it in place (the WHERE makes
            # SQLite's INSERT … SELECT … ON CONFLICT parse: its SELECT must have one)
            "INSERT INTO instalment_penalty (instalment_id, penalty_minor, accrued_micro, through_date) "
            "SELECT t.instalment_id, t.amount, t.accrued_micro, :d FROM tmp_penalty t WHERE true "
            "ON CONFLICT (instalment_id) DO UPDATE SET penalty_minor = instalment_penalty.penalty_minor + excluded.penalty_minor, "
            "accrued_micro = excluded.accrued_micro, through_date = excluded.through_date"
        ),
        {"d": d},
    )
    conn.execute(
        text(
            "INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, penalty_minor, batch_id) "
            f"SELECT CASE WHEN {DPD} > c.non_accrual_dpd THEN 'penalty_suspended' ELSE 'penalty_accrual' END, "
            "'penalty:' || :day || ':' || t.contract_id, t.contract_id, :d, c.currency, SUM(t.amount), :batch "
            f"FROM tmp_penalty t JOIN {terms} ON c.contract_id = t.contract_id {DPD_JOIN} WHERE t.amount > 0 GROUP BY t.contract_id, c.currency, "
            "cd.dpd, c.non_accrual_dpd"
        ),
        {"d": d, "day": d.isoformat(), "batch": batch},
    )
    hold_in_suspense(conn, batch)  # a non-accrual contract's penalty is held in suspense (2241.03), not income
    posted = post_batch(conn, batch, ctx.templates, summary=True)
    instalments, amount = conn.execute(text("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM tmp_penalty WHERE amount > 0")).one()
    return {"instalments": int(instalments), "contracts": posted.events, "penalty_minor": int(amount)}
