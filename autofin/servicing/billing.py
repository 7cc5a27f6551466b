"""Billing rollover (账单结转): instalments falling due on or before D become billed receivables.

One money event per instalment (principal, interest with its VAT, fee), posted in the same
transaction as a summary batch (the vouchers step writes the day's one billing voucher). A contract past its frozen non-accrual threshold (非应计: DPD as
of last night's aging over `non_accrual_dpd`) is billed as billing_non_accrual: its interest net of
VAT is held in suspense (2241.03, the contract's row of contract_suspense), not income. Reads only not-yet-billed instalments due by D
(partial index), gathered first into tmp_bill. Each contract billed has the night's date as its last
bill (contract_last_bill, which the representment rule reads).
VAT is inside the interest: vat = interest − round(interest / (1 + vat rate)), the rule in
integers: interest − (2·interest·10⁶ + (10⁶ + ppm)) / (2·(10⁶ + ppm)). A direct lease taxed on the
whole rental also owes the VAT on the instalment's principal, written on the instalment at
activation (principal_vat_minor): billing moves it from deferred (2221.05) to output VAT (2221.01).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from autofin.servicing.context import StepContext
from autofin.servicing.shards import parse as parse_shard
from autofin.servicing.sql import analyze, by_partial_index, greatest
from autofin.store.engine import integer_key
from autofin.store.ledger import DPD, DPD_JOIN, hold_in_suspense, post_batch

# the event type of a contract's money event that is income unless the contract is past its non-accrual threshold
NON_ACCRUAL_OR = f"CASE WHEN {DPD} > c.non_accrual_dpd THEN 'billing_non_accrual' ELSE "
VAT_SQL = "i.interest_minor - (2 * i.interest_minor * 1000000 + (1000000 + c.vat_rate_ppm)) / (2 * (1000000 + c.vat_rate_ppm))"


def bill_instalments(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    shard = parse_shard(ctx.shard)
    batch = shard.batch("billing", d)
    params = {"d": d, "day": d.isoformat(), "batch": batch}
    # tonight's instalments first, alone, from the partial index of those not yet billed. Joined there to
    # the contracts, PostgreSQL took "scheduled" and "due by D" for independent and expected a million
    # rows for a quiet night's few thousand: it hashed every contract, twice, and compiled the plans
    # (with the amounts the money events need: the instalments are read once here and written once below)
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_bill (instalment_id {integer_key(conn)}, contract_id BIGINT, "
                      "principal_minor BIGINT, interest_minor BIGINT, fee_minor BIGINT, principal_vat_minor BIGINT)"))
    conn.execute(text("DELETE FROM tmp_bill"))
    with by_partial_index(conn):
        conn.execute(
            text("INSERT INTO tmp_bill (instalment_id, contract_id, principal_minor, interest_minor, fee_minor, principal_vat_minor) "
                 "SELECT instalment_id, contract_id, principal_minor, interest_minor, fee_minor, principal_vat_minor FROM instalment "
                 "WHERE status = 'scheduled' AND due_date <= :d" + shard.where("contract_id")),
            params,
        )
    analyze(conn, "tmp_bill")
    conn.execute(
        text(
            "INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, principal_minor, interest_minor, "
            "fee_minor, vat_minor, principal_vat_minor, batch_id) "
            # the key leads with the night's date, as the penalties' does: tonight's keys sit side by side in the
            # unique index, where 'billing:' || instalment_id put each on its own page among every key billed before
            f"SELECT {NON_ACCRUAL_OR}'billing' END, 'billing:' || :day || ':' || i.instalment_id, i.contract_id, :d, c.currency, "
            "i.principal_minor, i.interest_minor, "
            f"i.fee_minor, {VAT_SQL}, i.principal_vat_minor, :batch "
            # CROSS JOIN: SQLite goes from tonight's instalments to their contracts, not the other way (i: tmp_bill)
            f"FROM tmp_bill i CROSS JOIN contract c {DPD_JOIN} WHERE c.contract_id = i.contract_id AND c.status = 'active'"
        ),
        params,
    )
    billed = conn.execute(
        text(
            "UPDATE instalment SET status = 'billed', billed_date = :d WHERE status = 'scheduled' AND instalment_id IN "
            "(SELECT t.instalment_id FROM tmp_bill t CROSS JOIN contract c WHERE c.contract_id = t.contract_id AND c.status = 'active')"
        ),
        params,
    ).rowcount
    # each contract billed tonight was last billed tonight (kept for the representment rule; the later
    # date stays should an earlier night be billed again)
    conn.execute(
        text(
            "INSERT INTO contract_last_bill (contract_id, billed_date) SELECT t.contract_id, :d FROM tmp_bill t CROSS JOIN contract c "
            "WHERE c.contract_id = t.contract_id AND c.status = 'active' GROUP BY t.contract_id "
            f"ON CONFLICT (contract_id) DO UPDATE SET billed_date = {greatest(conn, 'excluded.billed_date', 'contract_last_bill.billed_date')}"
        ),
        params,
    )
    suspended = hold_in_suspense(conn, batch)  # the interest net of VAT each non-accrual contract billed tonight
    posted = post_batch(conn, batch, ctx.templates, summary=True)
    totals = conn.execute(
        text("SELECT COALESCE(SUM(principal_minor), 0), COALESCE(SUM(interest_minor), 0), COALESCE(SUM(fee_minor), 0), "
             "COALESCE(SUM(vat_minor), 0) FROM money_event WHERE batch_id = :batch"),
        params,
    ).one()
    return {
        "instalments_billed": billed,
        "principal_minor": int(totals[0]),
        "interest_minor": int(totals[1]),
        "fee_minor": int(totals[2]),
        "vat_minor": int(totals[3]),
        "events": posted.events,
        "non_accrual_contracts": suspended,
    }
