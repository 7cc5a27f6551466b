"""Reminders and default notices (提醒, 违约通知函) each night by the rules of assets/collections.yaml,
handed to the notification adapter: the local outbox's files, the exact texts, one per rule,
contract and reference date however often the night runs, and the letters as one print file."""

import json
from datetime import timedelta

from sqlalchemy import select, text, update

from autofin.domain.money import format_minor
from autofin.postlease.notify import LocalOutbox
from autofin.servicing.cycle import STEP_ORDER, run_step
from autofin.store.engine import write_transaction
from autofin.store.models import Contract, Instalment, Notification
from tests.servicing.conftest import AS_OF, seed

D1 = AS_OF + timedelta(days=1)


def test_reminders_go_out_once_with_their_exact_words(store, ctx, tmp_path):
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
    from autofin.reference import collection_setup
    from autofin.servicing.collections import _reminders

    with write_transaction(store) as conn:
        assert _reminders(conn, D1, ctx, collection_setup()) == {"reminders": 0, "reminders_sent": 0}
        assert conn.execute(text("SELECT COUNT(*) FROM notification")).scalar_one() == before


def test_the_night_deals_only_its_new_cases(store, ctx):
    """Cases left in a group's queue (no member in the store yet) stay there: the next night deals
    only the cases opened that night, not the whole queue again."""
    from autofin.servicing.cycle import run_day

    seed(store, contracts=300)
    first = {r.step: r.counts for r in run_day(store, D1, ctx)}
    assert first["collections"]["cases_left_in_group_queue"] == first["delinquency"]["cases_opened"] > 0
    second = {r.step: r.counts for r in run_day(store, D1 + timedelta(days=1), ctx)}
    assert second["collections"]["cases_left_in_group_queue"] == second["delinquency"]["cases_opened"]
    with store.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM collection_case WHERE status = 'open' AND group_code IS NULL")).scalar_one() == 0
