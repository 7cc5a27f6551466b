"""Customer credit pays the next bills before a debit is sent: the debit order is cut net of the
credit, the night's allocation applies the credit by the waterfall (a credit_offset voucher, no
money moved), and the bank collects only the rest."""

from datetime import date, timedelta

from sqlalchemy import text

from autofin.servicing.checks import nightly_checks
from autofin.store.engine import write_transaction
from tests.servicing.conftest import AS_OF, seed
from tests.servicing.test_bank_cycle import context, q, run_days


def test_credit_offsets_the_next_bill_and_the_debit_takes_only_the_rest(store, tmp_path):
    seed(store, contracts=600)
    ctx = context(tmp_path)
    # an active contract with a mandate, nothing billed, its next instalment due on the Monday after the first night
    contract, due, owed = q(store, "SELECT c.contract_id, i.due_date, i.principal_minor + i.interest_minor + i.fee_minor FROM contract c "
                                   "JOIN instalment i ON i.contract_id = c.contract_id AND i.status = 'scheduled' "
                                   "JOIN mandate m ON m.contract_id = c.contract_id AND m.status = 'active' "
                                   "WHERE c.status = 'active' AND c.credit_minor = 0 AND i.due_date = :due "
                                   "AND NOT EXISTS (SELECT 1 FROM instalment x WHERE x.contract_id = c.contract_id AND x.status = 'billed') "
                                   "ORDER BY c.contract_id LIMIT 1", due=AS_OF + timedelta(days=3))[0]  # a Monday
    due = due if isinstance(due, date) else date.fromisoformat(due)
    paid_extra = owed * 3 // 10  # a transfer that nothing billed can take: all of it becomes credit
    with write_transaction(store) as conn:
        conn.execute(text("INSERT INTO receipt (contract_id, source, source_ref, amount_minor, currency, value_date, business_date, status) "
                          "VALUES (:c, 'transfer', 'transfer:EXTRA-1', :a, 'CNY', :d, :d, 'unapplied')"),
                     {"c": contract, "a": paid_extra, "d": AS_OF + timedelta(days=1)})
    run_days(store, ctx, AS_OF + timedelta(days=1), AS_OF + timedelta(days=1))
    assert q(store, "SELECT credit_minor FROM contract WHERE contract_id = :c", c=contract)[0][0] == paid_extra

    run_days(store, ctx, AS_OF + timedelta(days=2), due)  # the bill falls due, the debit goes out
    orders = q(store, "SELECT amount_minor, business_date FROM debit_order WHERE contract_id = :c", c=contract)
    assert [(amount, str(d)[:10]) for amount, d in orders] == [(owed - paid_extra, str(due))]  # net of the credit
    assert q(store, "SELECT credit_minor FROM contract WHERE contract_id = :c", c=contract)[0][0] == 0
    offset = q(store, "SELECT r.amount_minor, r.status, SUM(a.amount_minor) FROM receipt r JOIN allocation a ON a.receipt_id = r.receipt_id "
                      "WHERE r.contract_id = :c AND r.source = 'credit' GROUP BY r.amount_minor, r.status", c=contract)
    assert offset == [(paid_extra, "applied", paid_extra)]
    assert q(store, "SELECT event_type, principal_minor + interest_minor + fee_minor + penalty_minor, credit_minor FROM money_event "
                    "WHERE contract_id = :c AND event_type = 'credit_offset'", c=contract) == [("credit_offset", paid_extra, 0)]
    run_days(store, ctx, due + timedelta(days=1), due + timedelta(days=2))
    status, paid = q(store, "SELECT status, paid_principal_minor + paid_interest_minor + paid_fee_minor FROM instalment "
                            "WHERE contract_id = :c AND due_date = :d", c=contract, d=due)[0]
    settled = q(store, "SELECT status FROM debit_order WHERE contract_id = :c", c=contract)[0][0]
    assert (status, paid) == (("paid", owed) if settled == "settled" else ("billed", paid_extra))
    with store.connect() as conn:
        assert {k: v for k, v in nightly_checks(conn, due + timedelta(days=2)).items() if v} == {}
