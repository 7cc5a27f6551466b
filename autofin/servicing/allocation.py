"""Allocation: unapplied receipts applied by each contract's frozen waterfall, set-based.

The set-based twin of `domain.allocation.allocate_receipt`. The open amounts of a contract's
billed instalments are laid out in waterfall order (instalment by due date and sequence) with a
running total (a window function); each instalment takes min(its open total, receipt − running
total before it), split over its components in the contract's allocation order. Several
receipts of one contract are applied in rounds, in receipt order. The rest becomes customer
credit; instalments fully paid are marked paid; contracts with nothing left open close as paid
off. One receipt money event per receipt, posted in the same transaction as a summary batch (one
voucher a day).

Every reference the step writes is read by the statement that writes it: an allocation line's
instalment and receipt come from the instalments and receipts the round joined, a money event's
contract from its receipt, a credit receipt's from its contract. The round holds them by its own
counts besides: the instalments it paid into and the receipts it applied are each updated, and a
count short of the round's refuses the step (`BrokenRoundError`). So on SQLite the step runs
without SQLite's search of the row referred to for every row written (cycle.py; 4.5M searches for
the 2.26M allocation lines of the worst Tuesday at 1M).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from autofin.domain.products import ALLOCATION_COMPONENTS
from autofin.servicing.context import StepContext
from autofin.servicing.delinquency import refresh_dpd
from autofin.servicing.shards import parse as parse_shard
from autofin.servicing.sql import analyze, greatest, least, position
from autofin.store.engine import integer_key
from autofin.store.ledger import PENALTY, PENALTY_JOIN, PENALTY_OF, post_batch

OPEN_AMOUNT = {
    "penalty": f"{PENALTY} - i.paid_penalty_minor",
    "fee": "i.fee_minor - i.paid_fee_minor",
    "interest": "i.interest_minor - i.paid_interest_minor",
    "principal": "i.principal_minor - i.paid_principal_minor",
}


def _paid_into_sql(conn: Connection) -> str:
    """What each receipt of the round pays into each of its contract's billed instalments, a column
    per component: the open amounts (never below zero) of the round's contracts' billed instalments,
    one row an instalment, with a running total over the contract's instalments in due-date order;
    an instalment the receipt reaches takes min(its open total, what is left of the receipt), split
    over its components in the contract's allocation order (a component takes what is left after
    the components ranked before it). The window runs over instalments, not over a row per
    component (the worst Tuesday at 1M: 2.26M component rows, 964k instalments; 11.6–12.2 → 7.1–7.3 s),
    and the instalment's update reads these rows as they are, without grouping them again."""
    comps = ALLOCATION_COMPONENTS
    open_amount = {c: greatest(conn, OPEN_AMOUNT[c], "0") for c in comps}
    rank = {c: position(conn, c, "c.allocation_order") for c in comps}
    total = " + ".join(f"d.{c}" for c in comps)
    reached = least(conn, "o.total", "r.amount - (o.cum - o.total)")  # what is left of the receipt for this instalment

    def paid(comp: str) -> str:
        ranked_before = " + ".join(f"CASE WHEN o.rank_{other} < o.rank_{comp} THEN o.{other} ELSE 0 END" for other in comps if other != comp)
        return greatest(conn, "0", least(conn, f"o.{comp}", f"{reached} - ({ranked_before})"))

    dues = (
        f"SELECT i.contract_id, i.instalment_id, i.due_date, i.seq, {', '.join(f'{open_amount[c]} AS {c}' for c in comps)}, "
        f"{', '.join(f'{rank[c]} AS rank_{c}' for c in comps)}, {PENALTY} AS penalty_booked "
        # from the round's contracts (CROSS JOIN keeps SQLite in this order): not every billed instalment of the book
        f"FROM tmp_round r CROSS JOIN instalment i {PENALTY_JOIN} JOIN contract c ON c.contract_id = i.contract_id "
        "WHERE i.contract_id = r.contract_id AND i.status = 'billed'"
    )
    return (
        f"INSERT INTO tmp_alloc (instalment_id, receipt_id, {', '.join(comps)}, penalty_booked, receipt_amount) "
        f"SELECT o.instalment_id, r.receipt_id, {', '.join(paid(c) for c in comps)}, o.penalty_booked, r.amount "
        f"FROM (SELECT d.*, {total} AS total, SUM({total}) OVER (PARTITION BY d.contract_id ORDER BY d.due_date, d.seq "
        f"ROWS UNBOUNDED PRECEDING) AS cum FROM ({dues}) d WHERE {total} > 0) o "
        "JOIN tmp_round r ON r.contract_id = o.contract_id WHERE r.amount > o.cum - o.total"
    )


def allocate_receipts(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    shard = parse_shard(ctx.shard)
    batch = shard.batch("allocation", d)
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_round (contract_id {integer_key(conn)}, receipt_id BIGINT, amount BIGINT)"))
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_touched (contract_id {integer_key(conn)})"))
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_alloc (instalment_id {integer_key(conn)}, receipt_id BIGINT, penalty BIGINT, "
                      "fee BIGINT, interest BIGINT, principal BIGINT, penalty_booked BIGINT, receipt_amount BIGINT)"))
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_receipt_sum (receipt_id {integer_key(conn)}, penalty BIGINT, fee BIGINT, "
                      "interest BIGINT, principal BIGINT, credit BIGINT)"))
    conn.execute(text("DELETE FROM tmp_touched"))
    conn.execute(text("DELETE FROM tmp_receipt_sum"))
    credit_offsets = _offer_credit(conn, d, shard)
    conn.execute(
        text("INSERT INTO tmp_touched (contract_id) SELECT DISTINCT contract_id FROM receipt WHERE status = 'unapplied' AND business_date <= :d"
             + shard.where("contract_id")),
        {"d": d},
    )
    analyze(conn, "tmp_touched")
    rounds = 0
    while True:
        conn.execute(text("DELETE FROM tmp_round"))
        # each contract's oldest unapplied receipt takes this round
        n = conn.execute(
            text(
                "INSERT INTO tmp_round (contract_id, receipt_id, amount) "
                "SELECT contract_id, MIN(receipt_id), 0 FROM receipt WHERE status = 'unapplied' AND business_date <= :d"
                f"{shard.where('contract_id')} GROUP BY contract_id"
            ),
            {"d": d},
        ).rowcount
        conn.execute(text("UPDATE tmp_round SET amount = (SELECT r.amount_minor FROM receipt r WHERE r.receipt_id = tmp_round.receipt_id)"))
        if not n:
            break
        analyze(conn, "tmp_round")
        rounds += 1
        _apply_round(conn, d, n)
    conn.execute(
        text(
            "INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, principal_minor, interest_minor, "
            "fee_minor, penalty_minor, credit_minor, batch_id) "
            "SELECT CASE WHEN r.source = 'credit' THEN 'credit_offset' ELSE 'receipt' END, 'receipt:' || r.receipt_id, r.contract_id, :d, r.currency, "
            "s.principal, s.interest, s.fee, s.penalty, s.credit, :batch "
            # from the receipts this step applied (CROSS JOIN keeps SQLite in this order), summed as they were applied
            "FROM tmp_receipt_sum s CROSS JOIN receipt r WHERE r.receipt_id = s.receipt_id "
            "AND s.principal + s.interest + s.fee + s.penalty + s.credit <> 0 "
            # a receipt's event already there is left as it is: the insert's own check of the key, not a search of it first
            "ON CONFLICT (event_key) DO NOTHING"
        ),
        {"d": d, "batch": batch},
    )
    closed = conn.execute(
        text(
            "UPDATE contract SET status = 'paid_off', closed_date = :d WHERE status = 'active' AND contract_id IN "
            # principal not yet billed means instalments to come: one row by key, before reading the
            # contract's every instalment (a month-20 contract would read 20 paid ones to find its next);
            # asked of the contracts touched, so only those paid off are looked up in the contracts' wide
            # rows (828k touched on the worst Tuesday at 1M: 0.50 → 0.19 s)
            "(SELECT t.contract_id FROM tmp_touched t WHERE NOT EXISTS "
            "(SELECT 1 FROM subledger_balance b WHERE b.contract_id = t.contract_id AND b.unbilled_principal_minor > 0) "
            "AND NOT EXISTS (SELECT 1 FROM instalment i WHERE i.contract_id = t.contract_id AND i.status <> 'paid'))"
        ),
        {"d": d},
    ).rowcount
    # a contract paid today is current tonight, not tomorrow
    _, cured = refresh_dpd(conn, d, "SELECT contract_id FROM tmp_touched")
    posted = post_batch(conn, batch, ctx.templates, summary=True)
    received, principal, interest, fee, penalty, credit = conn.execute(
        text(
            "SELECT COALESCE(SUM(principal_minor + interest_minor + fee_minor + penalty_minor + credit_minor), 0), "
            "COALESCE(SUM(principal_minor), 0), COALESCE(SUM(interest_minor), 0), COALESCE(SUM(fee_minor), 0), "
            "COALESCE(SUM(penalty_minor), 0), COALESCE(SUM(credit_minor), 0) FROM money_event WHERE batch_id = :batch"
        ),
        {"batch": batch},
    ).one()
    return {
        "receipts": posted.events,
        "rounds": rounds,
        "received_minor": int(received),
        "allocated_minor": int(received - credit),
        "by_component_minor": {"penalty": int(penalty), "fee": int(fee), "interest": int(interest), "principal": int(principal)},
        "to_credit_minor": int(credit),
        "contracts_paid_off": closed,
        "contracts_cured": cured,
        "credit_offsets": credit_offsets,
    }


def _offer_credit(conn: Connection, d: date, shard: Any) -> int:
    """Customer credit pays the bills before anything else: a contract holding credit with billed
    amounts open gets its whole credit as a receipt (source credit), which the waterfall applies
    like money received; what is left returns to credit. The debit orders of the day were already
    cut net of the credit (banking.create_debit_orders), so the customer is never debited for a
    bill their credit pays."""
    offered = conn.execute(
        text(
            "INSERT INTO receipt (contract_id, source, source_ref, amount_minor, currency, value_date, business_date, status) "
            "SELECT c.contract_id, 'credit', 'credit:' || c.contract_id || ':' || :day, c.credit_minor, c.currency, :d, :d, 'unapplied' "
            "FROM contract c WHERE c.credit_minor > 0 AND c.status = 'active' "
            "AND EXISTS (SELECT 1 FROM instalment i WHERE i.contract_id = c.contract_id AND i.status = 'billed')" + shard.where("c.contract_id")
        ),
        {"d": d, "day": d.isoformat()},
    ).rowcount
    if offered:
        conn.execute(text("UPDATE contract SET credit_minor = 0 WHERE contract_id IN "
                          "(SELECT contract_id FROM receipt WHERE source = 'credit' AND business_date = :d AND status = 'unapplied')"), {"d": d})
    return offered


class BrokenRoundError(RuntimeError):
    """A round's instalments or receipts not all found where it updates them: a defect of the
    step's statements, which would have written lines referring to rows that are not there."""


def _apply_round(conn: Connection, d: date, receipts: int) -> None:
    """One round: each contract's receipt in tmp_round (`receipts` of them) laid over its open
    amounts. What it pays into each instalment is worked out in tmp_alloc first, and every later
    statement reads it there, not back from the allocation table (whose history grows with the book)."""
    comps = ALLOCATION_COMPONENTS
    conn.execute(text("DELETE FROM tmp_alloc"))
    paid_into = conn.execute(text(_paid_into_sql(conn))).rowcount
    analyze(conn, "tmp_alloc")
    # what the round paid per receipt (its money event's amounts); what is left of each receipt is credit. The
    # receipts that paid into something, grouped from tmp_alloc (which carries each one's amount), then those
    # that paid into nothing, found by the key: not a join of every receipt to the groups (an index built on them)
    conn.execute(
        text(
            f"INSERT INTO tmp_receipt_sum (receipt_id, {', '.join(comps)}, credit) "
            f"SELECT receipt_id, {', '.join(f'SUM({c})' for c in comps)}, MAX(receipt_amount) - SUM({' + '.join(comps)}) "
            "FROM tmp_alloc GROUP BY receipt_id"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO tmp_receipt_sum (receipt_id, {', '.join(comps)}, credit) SELECT r.receipt_id, {', '.join('0' for _ in comps)}, "
            "r.amount FROM tmp_round r WHERE NOT EXISTS (SELECT 1 FROM tmp_receipt_sum s WHERE s.receipt_id = r.receipt_id)"
        )
    )
    # the allocation lines: one per instalment and component paid, then the receipt's credit
    amount = " ".join(f"WHEN '{c}' THEN a.{c}" for c in comps)
    components = " UNION ALL ".join(f"SELECT '{c}' AS component" for c in comps)
    conn.execute(
        text("INSERT INTO allocation (receipt_id, instalment_id, component, amount_minor, business_date) "
             f"SELECT a.receipt_id, a.instalment_id, k.component, CASE k.component {amount} END, :d "
             f"FROM tmp_alloc a CROSS JOIN ({components}) k "
             f"WHERE CASE k.component {amount} END > 0"),
        {"d": d},
    )
    conn.execute(
        text("INSERT INTO allocation (receipt_id, instalment_id, component, amount_minor, business_date) "
             "SELECT s.receipt_id, NULL, 'credit', s.credit, :d FROM tmp_round r JOIN tmp_receipt_sum s ON s.receipt_id = r.receipt_id "
             "WHERE s.credit > 0"),
        {"d": d},
    )
    # one write per instalment paid into: the paid amounts and, where that pays it in full, its status
    # (the penalty booked is kept beside the instalment: tmp_alloc brought it)
    paid_in_full = " AND ".join(f"{'p.penalty_booked' if c == 'penalty' else f'{c}_minor'} = paid_{c}_minor + p.{c}" for c in ALLOCATION_COMPONENTS)
    sets = ", ".join(f"paid_{c}_minor = paid_{c}_minor + p.{c}" for c in ALLOCATION_COMPONENTS)
    updated = conn.execute(
        text(f"UPDATE instalment SET {sets}, status = CASE WHEN {paid_in_full} THEN 'paid' ELSE status END, "
             f"paid_date = CASE WHEN {paid_in_full} THEN :d ELSE paid_date END "
             "FROM tmp_alloc p WHERE instalment.instalment_id = p.instalment_id "
             "AND instalment.instalment_id IN (SELECT instalment_id FROM tmp_alloc)"),  # the IN keeps SQLite off a scan of the book
        {"d": d},
    ).rowcount
    if updated != paid_into:
        raise BrokenRoundError(f"allocation {d}: the round paid into {paid_into} instalments, {updated} of them found")
    # a billed instalment with nothing open that no money went to (all its amounts zero) is paid too
    conn.execute(
        text(
            "UPDATE instalment SET status = 'paid', paid_date = :d WHERE status = 'billed' "
            "AND contract_id IN (SELECT contract_id FROM tmp_round) "
            "AND principal_minor = paid_principal_minor AND interest_minor = paid_interest_minor "
            f"AND fee_minor = paid_fee_minor AND {PENALTY_OF.format(row='instalment')} = paid_penalty_minor"
        ),
        {"d": d},
    )
    conn.execute(
        text(
            "UPDATE contract SET credit_minor = credit_minor + (SELECT s.credit FROM tmp_round r JOIN tmp_receipt_sum s "
            "ON s.receipt_id = r.receipt_id WHERE r.contract_id = contract.contract_id) "
            "WHERE contract_id IN (SELECT r.contract_id FROM tmp_round r JOIN tmp_receipt_sum s ON s.receipt_id = r.receipt_id "
            "WHERE s.credit > 0)"
        )
    )
    applied = conn.execute(text("UPDATE receipt SET status = 'applied' WHERE receipt_id IN (SELECT receipt_id FROM tmp_round)")).rowcount
    if applied != receipts:
        raise BrokenRoundError(f"allocation {d}: the round applied {receipts} receipts, {applied} of them found")
