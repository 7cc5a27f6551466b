"""Reminders and default notices (提醒, 违约通知函) each night by the rules of assets/collections.yaml,
handed to the notification adapter: the local outbox's files, the exact texts, one per rule,
contract and reference date however often the night runs, and the letters as one print file."""

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import bindparam, func, select, text, update

from autofin.bankfiles.simulator import simulate
from autofin.domain.money import format_minor
from autofin.postlease.notify import LocalOutbox
from autofin.reference import collection_setup
from autofin.servicing.collections import _reminders, send_letters
from autofin.servicing.cycle import STEP_ORDER, run_day, run_step
from autofin.servicing.delinquency import refresh_dpd
from autofin.store.engine import write_transaction
from autofin.store.models import Contract, Instalment, Notification
from tests.servicing.conftest import AS_OF, seed
from tests.servicing.test_bank_cycle import D1 as MONDAY
from tests.servicing.test_bank_cycle import context, run_days

D1 = AS_OF + timedelta(days=1)


def test_reminders_go_out_once_with_their_exact_words(store, ctx, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", (D1 + timedelta(days=1)).isoformat())  # the night run on time
    seed(store, contracts=300)
    with write_transaction(store) as conn:
        due = conn.execute(select(Instalment, Contract.contract_no).join(Contract, Contract.contract_id == Instalment.contract_id).where(
            Instalment.status == "scheduled", Instalment.due_date == D1 + timedelta(days=3), Contract.status == "active")
            .order_by(Instalment.instalment_id)).first()
        # a contract whose oldest unpaid instalment fell due 31 days before D1 gets the default notice
        late = conn.execute(select(Instalment.instalment_id, Instalment.contract_id).join(Contract, Contract.contract_id == Instalment.contract_id)
                            .where(Instalment.status == "billed", Contract.dpd > 0, Contract.status == "active")
                            .order_by(Contract.dpd.desc(), Instalment.due_date)).first()
        conn.execute(update(Instalment).where(Instalment.contract_id == late.contract_id, Instalment.status == "billed")
                     .values(due_date=D1 - timedelta(days=31)))
    assert due is not None
    ctx.notifier = LocalOutbox(tmp_path / "outbox")
    for step in STEP_ORDER[:STEP_ORDER.index("collections") + 1]:
        counts = run_step(store, step, D1, ctx).counts
    assert counts["reminders_by_rule"]["PRE3"] >= 1 and counts["reminders_by_rule"]["OD31"] >= 1
    assert counts["reminders_sent"] <= counts["reminders"] - counts["reminders_by_rule"]["OD31"]  # the letters wait for the close
    day = tmp_path / "outbox" / D1.isoformat()
    assert not (day / "letters.pdf").exists() and not (day / "OD31.jsonl").exists()
    for step in STEP_ORDER[STEP_ORDER.index("collections") + 1:]:
        letters = run_step(store, step, D1, ctx).counts
    assert letters == {"letters": counts["reminders_by_rule"]["OD31"], "letters_sent": counts["reminders_by_rule"]["OD31"]}

    sms = {r["contract_no"]: r for r in map(json.loads, (day / "PRE3.jsonl").read_text(encoding="utf-8").splitlines())}
    amount = format_minor(due.principal_minor + due.interest_minor + due.fee_minor)
    assert sms[due.contract_no]["body"] == (f"【汽车金融】尊敬的客户，您的合同{due.contract_no}第{due.seq}期租金{amount}元将于"
                                            f"{due.due_date.isoformat()}扣款，请保证扣款账户余额充足。")
    assert sms[due.contract_no]["channel"] == "sms" and sms[due.contract_no]["key"].startswith("PRE3:")
    letters = [json.loads(line) for line in (day / "OD31.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["letter"] for r in letters] == [f"letters.pdf#page={n}" for n in range(1, len(letters) + 1)]
    assert (day / "letters.pdf").read_bytes().startswith(b"%PDF-")
    with store.connect() as conn:
        rows = conn.execute(select(Notification.status, Notification.provider_ref, Notification.recipient).where(
            Notification.rule_code == "PRE3", Notification.business_date == D1)).all()
        # sent with the outbox's reference; failed where there is nowhere to send it (a company without a mobile)
        assert {(s, ref is not None, to is not None) for s, ref, to in rows} <= {("sent", True, True), ("failed", False, False)}
        assert len([r for r in rows if r[0] == "sent"]) == len(sms)
        # the same rules on the same contracts and dates, asked again: nothing new (the step runs once; the rows are unique)
        before = conn.execute(text("SELECT COUNT(*) FROM notification")).scalar_one()
    with write_transaction(store) as conn:
        assert _reminders(conn, D1, ctx, collection_setup()) == {"reminders": 0, "reminders_sent": 0, "reminders_by_rule": {}, "reminders_held": 0,
                                                                 "reminders_released": 0, "reminders_cancelled": 0,
                                                                 "reminders_lapsed": 0, "reminders_lapsed_by_rule": {}}
        assert conn.execute(text("SELECT COUNT(*) FROM notification")).scalar_one() == before


@pytest.mark.parametrize(("days_late", "pre3_lapses"), [(2, False), (3, True)])
def test_a_night_run_late_gives_no_reminder_whose_moment_has_passed(store, ctx, tmp_path, monkeypatch, days_late, pre3_lapses):
    """D1's night caught up late: "debited on D1+3" is not sent once D1+3 has passed by the clock;
    those reminders are counted as lapsed and leave no row, and the default notice is printed however late."""
    seed(store, contracts=300)
    with write_transaction(store) as conn:
        # one contract whose oldest unpaid instalment fell due 31 days before D1: the default notice
        late = conn.execute(select(Instalment.contract_id).join(Contract, Contract.contract_id == Instalment.contract_id)
                            .where(Instalment.status == "billed", Contract.dpd > 0, Contract.status == "active")
                            .order_by(Contract.dpd.desc(), Instalment.due_date)).first()
        conn.execute(update(Instalment).where(Instalment.contract_id == late.contract_id, Instalment.status == "billed")
                     .values(due_date=D1 - timedelta(days=31)))
        pre3 = conn.execute(select(func.count()).select_from(Instalment).join(Contract, Contract.contract_id == Instalment.contract_id).where(
            Instalment.status == "scheduled", Instalment.due_date == D1 + timedelta(days=3), Contract.status == "active")).scalar_one()
    assert pre3 >= 3
    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", (D1 + timedelta(days=1 + days_late)).isoformat())
    ctx.notifier = LocalOutbox(tmp_path / "outbox")
    counts = {r.step: r.counts for r in run_day(store, D1, ctx)}
    reminders, letters = counts["collections"], counts["letters"]
    day = tmp_path / "outbox" / D1.isoformat()
    with store.connect() as conn:
        rows = dict(conn.execute(select(Notification.status, func.count()).where(Notification.rule_code == "PRE3")
                                 .group_by(Notification.status)).all())
    if pre3_lapses:
        assert (reminders["reminders_lapsed"], reminders["reminders_lapsed_by_rule"]) == (pre3, {"PRE3": pre3})
        assert "PRE3" not in reminders["reminders_by_rule"] and rows == {} and not (day / "PRE3.jsonl").exists()
    else:
        assert (reminders["reminders_lapsed"], reminders["reminders_lapsed_by_rule"]) == (0, {})
        assert reminders["reminders_by_rule"]["PRE3"] == sum(rows.values()) == pre3
        assert len((day / "PRE3.jsonl").read_text(encoding="utf-8").splitlines()) == rows["sent"] >= 1
    assert reminders["reminders_by_rule"]["OD31"] == letters["letters_sent"] >= 1
    assert (day / "letters.pdf").read_bytes().startswith(b"%PDF-")


def test_the_night_deals_only_its_new_cases(store, ctx):
    """Cases left in a group's queue (no member in the store yet) stay there: the next night deals
    only the cases opened that night, not the whole queue again."""
    seed(store, contracts=300)
    first = {r.step: r.counts for r in run_day(store, D1, ctx)}
    assert first["collections"]["cases_left_in_group_queue"] == first["delinquency"]["cases_opened"] > 0
    second = {r.step: r.counts for r in run_day(store, D1 + timedelta(days=1), ctx)}
    assert second["collections"]["cases_left_in_group_queue"] == second["delinquency"]["cases_opened"]
    with store.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM collection_case WHERE status = 'open' AND group_code IS NULL")).scalar_one() == 0


def _arrears(engine, contract_id):
    """What the contract owes on its billed instalments, added up here from the rows."""
    with engine.connect() as conn:
        owed = conn.execute(text(
            "SELECT COALESCE(SUM(i.principal_minor + i.interest_minor + i.fee_minor + COALESCE(p.penalty_minor, 0) - i.paid_principal_minor "
            "- i.paid_interest_minor - i.paid_fee_minor - i.paid_penalty_minor), 0) FROM instalment i "
            "LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id WHERE i.contract_id = :c AND i.status = 'billed'"),
            {"c": contract_id}).scalar_one()
    return format_minor(int(owed))


def _outbox(tmp_path, d, rule):
    path = tmp_path / "outbox" / d.isoformat() / f"{rule}.jsonl"
    return {r["contract_no"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())} if path.exists() else {}


def test_an_overdue_reminder_waits_for_the_answer_to_a_debit_in_flight(store, tmp_path):
    """A customer whose debit is at the bank is not told they are overdue: the reminder is held while
    the debit waits for its answer (as the penalty and the collection case are). The answer failed,
    it goes out that night with the day's days past due and arrears; the debit paid, it is cancelled
    and never sent. The banks are silent from Monday to Thursday: Monday's debits are still in flight
    on Thursday, when the contracts due on Monday are 3 days past due."""
    seed(store, contracts=800)
    ctx = context(tmp_path)
    ctx.notifier = LocalOutbox(tmp_path / "outbox")
    run_days(store, ctx, AS_OF + timedelta(days=1), MONDAY - timedelta(days=1))
    run_days(store, ctx, MONDAY, MONDAY + timedelta(days=3), answer=False)
    thursday = MONDAY + timedelta(days=3)
    with store.connect() as conn:
        monday = dict(conn.execute(text(
            "SELECT o.contract_id, c.contract_no FROM debit_order o JOIN contract c ON c.contract_id = o.contract_id "
            "JOIN contract_dpd cd ON cd.contract_id = o.contract_id WHERE o.business_date = :d AND o.status = 'sent' AND cd.dpd = 3"),
            {"d": MONDAY}).all())
        od3 = dict(conn.execute(text("SELECT contract_id, status FROM notification WHERE rule_code = 'OD3' AND business_date = :d"),
                                {"d": thursday}).all())
    assert len(monday) > 20
    # held, not sent: none of Monday's debtors is in Thursday's messages
    assert {od3.get(c) for c in monday} == {"held"}
    assert not set(monday.values()) & set(_outbox(tmp_path, thursday, "OD3"))

    for code, profile in ctx.banks.items():  # the banks answer Monday to Thursday at once
        simulate(profile, ctx.bank_root / "remote" / code, thursday, seed=3)
    friday = thursday + timedelta(days=1)
    counts = {r.step: r.counts for r in run_day(store, friday, ctx)}["collections"]
    with store.connect() as conn:
        outcome = {c: (s, o) for c, s, o in conn.execute(text(
            "SELECT n.contract_id, n.status, o.status FROM notification n JOIN debit_order o ON o.contract_id = n.contract_id "
            "AND o.business_date = :monday WHERE n.rule_code = 'OD3' AND n.contract_id IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"monday": MONDAY, "ids": list(monday)}).all()}
        again = {c for (c,) in conn.execute(text("SELECT contract_id FROM debit_order WHERE business_date = :d AND status = 'sent'"),
                                            {"d": friday}).all()}
    paid = [c for c, (_, debit) in outcome.items() if debit == "settled"]
    failed = [c for c, (_, debit) in outcome.items() if debit == "rejected" and c not in again]
    assert paid and failed
    assert {outcome[c][0] for c in paid} == {"cancelled"}
    assert {outcome[c][0] for c in failed} <= {"sent", "failed"} and "sent" in {outcome[c][0] for c in failed}
    # a contract debited again on Friday (re-presented) waits for that answer in turn
    assert {outcome[c][0] for c in monday if c in again} <= {"held"}
    sms = _outbox(tmp_path, friday, "OD3")
    assert not {monday[c] for c in paid} & set(sms)
    c = next(c for c in failed if outcome[c][0] == "sent")
    assert sms[monday[c]]["body"] == (f"【汽车金融】尊敬的客户，您的合同{monday[c]}已逾期4天，欠款{_arrears(store, c)}元，"
                                      "请尽快还款，以免产生更多罚息。")
    assert sms[monday[c]]["key"] == f"OD3:{c}:{MONDAY.isoformat()}"  # the key it was held under: a provider sends it once
    with store.connect() as conn:
        friday_rows = dict(conn.execute(text("SELECT status, COUNT(*) FROM notification WHERE held_since IS NOT NULL AND business_date = :d "
                                             "GROUP BY status"), {"d": friday}).all())
    assert counts["reminders_released"] == friday_rows.get("sent", 0) + friday_rows.get("failed", 0) + friday_rows.get("queued", 0) >= 3
    assert counts["reminders_cancelled"] == friday_rows["cancelled"] >= len(paid)


NIGHT = MONDAY + timedelta(days=8)  # the night the contract is 3 days past due with its debit at the bank


def _past_due_with_a_debit_at_the_bank(store, days):
    """An active contract with a mobile whose oldest unpaid bill fell due `days` before NIGHT, and a
    debit for it at the bank on NIGHT. Returns its id, number and the bill's seq."""
    seed(store, contracts=300)
    with write_transaction(store) as conn:
        contract_id, contract_no, mandate_id = conn.execute(text(
            "SELECT c.contract_id, c.contract_no, m.mandate_id FROM contract c JOIN customer cu ON cu.customer_id = c.customer_id "
            "JOIN mandate m ON m.contract_id = c.contract_id AND m.status = 'active' WHERE c.status = 'active' AND cu.mobile IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM instalment i WHERE i.contract_id = c.contract_id AND i.status = 'billed') "
            "ORDER BY c.contract_id LIMIT 1")).one()
        first = conn.execute(text("SELECT MIN(seq) FROM instalment WHERE contract_id = :c AND status = 'scheduled'"), {"c": contract_id}).scalar_one()
        conn.execute(text("UPDATE instalment SET status = 'billed', due_date = :due WHERE contract_id = :c AND seq = :s"),
                     {"due": NIGHT - timedelta(days=days), "c": contract_id, "s": first})
        conn.execute(text("INSERT INTO debit_order (contract_id, mandate_id, end_to_end_id, amount_minor, currency, business_date, status) "
                          "VALUES (:c, :m, 'AFTEST0001', 100, 'CNY', :d, 'sent')"), {"c": contract_id, "m": mandate_id, "d": NIGHT})
    return contract_id, contract_no, first


def _hold_od3(store, ctx):
    """A contract 3 days past due on NIGHT with its debit at the bank: its OD3 is held."""
    held = _past_due_with_a_debit_at_the_bank(store, 3)
    assert _night(store, ctx, NIGHT)["reminders_held"] >= 1
    return held


def _night(store, ctx, d, setup=None):
    with write_transaction(store) as conn:
        refresh_dpd(conn, d)
        return _reminders(conn, d, ctx, setup or collection_setup())


def _answer(store, status):
    with write_transaction(store) as conn:
        conn.execute(text("UPDATE debit_order SET status = :s WHERE end_to_end_id = 'AFTEST0001'"), {"s": status})


def _status(store, contract_id, rule):
    with store.connect() as conn:
        return conn.execute(select(Notification.status, Notification.business_date, Notification.held_since).where(
            Notification.contract_id == contract_id, Notification.rule_code == rule)).one()


def test_a_held_reminder_waits_while_the_debit_waits_and_goes_out_with_the_days_it_has_then(store, ctx, tmp_path):
    ctx.notifier = LocalOutbox(tmp_path / "outbox")
    contract_id, contract_no, _ = _hold_od3(store, ctx)
    assert _status(store, contract_id, "OD3") == ("held", NIGHT, NIGHT)
    later = NIGHT + timedelta(days=2)
    assert _night(store, ctx, NIGHT + timedelta(days=1))["reminders_released"] == 0  # still at the bank: still held
    assert _status(store, contract_id, "OD3").status == "held"
    _answer(store, "rejected")
    counts = _night(store, ctx, later)
    assert counts["reminders_released"] == 1
    assert _status(store, contract_id, "OD3") == ("sent", later, NIGHT)
    line = _outbox(tmp_path, later, "OD3")[contract_no]
    assert line["key"] == f"OD3:{contract_id}:{(NIGHT - timedelta(days=3)).isoformat()}"
    assert line["body"] == f"【汽车金融】尊敬的客户，您的合同{contract_no}已逾期5天，欠款{_arrears(store, contract_id)}元，请尽快还款，以免产生更多罚息。"
    _night(store, ctx, later + timedelta(days=1))
    assert contract_no not in _outbox(tmp_path, later + timedelta(days=1), "OD3")  # sent once


def test_a_held_reminder_released_on_a_night_run_late_past_its_moment_is_cancelled(store, ctx, tmp_path, monkeypatch):
    """The debit's answer reaches a night that runs so late that a later rule's night has ended by
    the clock (a catch-up): the held OD3 would say what OD15 says better, as a new one would. It is
    cancelled, not sent."""
    ctx.notifier = LocalOutbox(tmp_path / "outbox")
    contract_id, contract_no, _ = _hold_od3(store, ctx)
    _answer(store, "rejected")
    later = NIGHT + timedelta(days=2)
    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", (later + timedelta(days=13)).isoformat())  # OD15's night for this arrears has ended
    counts = _night(store, ctx, later)
    assert (counts["reminders_released"], counts["reminders_cancelled"], counts["reminders_lapsed_by_rule"].get("OD3", 0)) == (0, 1, 0)
    assert _status(store, contract_id, "OD3") == ("cancelled", later, NIGHT)
    assert contract_no not in _outbox(tmp_path, later, "OD3")


def _pay_the_bill(store, contract_id, seq):
    with write_transaction(store) as conn:
        conn.execute(text("UPDATE instalment SET status = 'paid', paid_principal_minor = principal_minor, paid_interest_minor = interest_minor, "
                          "paid_fee_minor = fee_minor WHERE contract_id = :c AND seq = :s"), {"c": contract_id, "s": seq})


def _pay_it_and_owe_the_next(store, contract_id, seq):
    _pay_the_bill(store, contract_id, seq)
    with write_transaction(store) as conn:
        conn.execute(text("UPDATE instalment SET status = 'billed', due_date = :due WHERE contract_id = :c AND seq = :s"),
                     {"due": NIGHT, "c": contract_id, "s": seq + 1})


def _close_the_contract(store, contract_id, seq):
    with write_transaction(store) as conn:
        conn.execute(text("UPDATE contract SET status = 'written_off' WHERE contract_id = :c"), {"c": contract_id})


@pytest.mark.parametrize(("answer", "change", "days", "rules", "expected"), [
    ("settled", _pay_the_bill, 1, None, "cancelled"),  # paid by the debit: never told
    ("rejected", _pay_it_and_owe_the_next, 2, None, "cancelled"),  # paid another way; the next bill is another arrears
    ("rejected", _close_the_contract, 1, None, "cancelled"),  # no longer active
    ("rejected", None, 12, None, "cancelled"),  # at the bank until 15 days past due: OD15 says more, and goes
    ("rejected", None, 1, "without OD3", "cancelled"),  # its rule is no longer in collections.yaml
    ("rejected", None, 11, None, "sent"),  # 14 days past due: still OD3's to say
    ("rejected", None, 1, "an e-mail on OD3's day", "sent"),  # another rule on the same day is not a later one
], ids=["paid", "another-arrears", "written-off", "past-a-later-rule", "rule-gone", "just-before-the-next-rule", "same-day-rule"])
def test_a_held_reminder_whose_moment_has_passed_is_cancelled(store, ctx, tmp_path, answer, change, days, rules, expected):
    ctx.notifier = LocalOutbox(tmp_path / "outbox")
    contract_id, contract_no, seq = _hold_od3(store, ctx)
    _answer(store, answer)
    if change is not None:
        change(store, contract_id, seq)
    setup = collection_setup()
    od3 = next(r for r in setup.reminders if r.code == "OD3")
    if rules == "without OD3":
        setup = replace(setup, reminders=tuple(r for r in setup.reminders if r is not od3))
    elif rules is not None:
        setup = replace(setup, reminders=(*setup.reminders, replace(od3, code="OD3M", channel="email")))
    d = NIGHT + timedelta(days=days)
    counts = _night(store, ctx, d, setup)
    assert _status(store, contract_id, "OD3") == (expected, d, NIGHT)
    assert counts["reminders_cancelled" if expected == "cancelled" else "reminders_released"] == 1
    told = _outbox(tmp_path, d, "OD3")
    assert (contract_no in told) == (expected == "sent")
    if days == 12:  # the later rule's reminder goes out that night instead
        assert contract_no in _outbox(tmp_path, d, "OD15")


def test_a_held_default_notice_is_queued_for_the_letters_step_when_the_debit_fails(store, ctx, tmp_path):
    ctx.notifier = LocalOutbox(tmp_path / "outbox")
    contract_id, contract_no, _ = _past_due_with_a_debit_at_the_bank(store, 31)
    _night(store, ctx, NIGHT)
    assert _status(store, contract_id, "OD31") == ("held", NIGHT, NIGHT)
    with write_transaction(store) as conn:
        send_letters(conn, NIGHT, ctx)  # the night's print run leaves it out
    assert contract_no not in _outbox(tmp_path, NIGHT, "OD31")
    _answer(store, "rejected")
    later = NIGHT + timedelta(days=1)
    assert _night(store, ctx, later)["reminders_released"] == 1
    assert _status(store, contract_id, "OD31") == ("queued", later, NIGHT)
    with write_transaction(store) as conn:
        sent = send_letters(conn, later, ctx)
    assert sent["letters_sent"] == sent["letters"] >= 1
    assert contract_no in _outbox(tmp_path, later, "OD31")
    assert _status(store, contract_id, "OD31") == ("sent", later, NIGHT)

