"""Customer service through the API (客户信息变更): contact details changed with an audit trail,
and a direct-debit mandate the bank stopped replaced by a new one the customer signs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from autofin.reference import approval_matrix, bank_profiles, calendar, voucher_templates
from autofin.servicing.context import StepContext
from autofin.servicing.cycle import run_step
from autofin.store.engine import write_transaction
from autofin.store.models import AuditEvent, BusinessDay, Contract, Customer, DebitOrder, Instalment, Mandate, Receipt
from tests.api.conftest import World
from tests.servicing.test_nightly_reads import book_scans_of, statements_kept


def test_a_new_mandate_after_ac04_is_debited_on_the_new_account(world: World, tmp_path):
    """客户信息变更: contact details changed (audited), and a contract whose mandate the bank stopped
    (AC04, closed account) gets a new mandate signed by the customer; the next debit night draws on it."""
    contract_no = world.active()
    with world.engine.connect() as conn:
        cid, customer_id = conn.execute(select(Contract.contract_id, Contract.customer_id).where(Contract.contract_no == contract_no)).one()
    # contact details: mobile and city, audited with the old values masked
    world.call("POST", f"/customers/{customer_id}/contact", "dealer_a", 403, json={"mobile": "13800001111", "reason": "x"})
    world.call("POST", f"/customers/{customer_id}/contact", "finance", 422, json={"mobile": "12345", "reason": "客户来电"})
    changed = world.call("POST", f"/customers/{customer_id}/contact", "finance", 200, json={"mobile": "13800001111", "reason": "客户来电"}).json()
    assert changed["mobile_masked"].endswith("1111") and changed["mobile_masked"] != "13800001111"
    with world.engine.connect() as conn:
        assert conn.execute(select(Customer.mobile).where(Customer.customer_id == customer_id)).scalar_one() == "13800001111"
        event = conn.execute(select(AuditEvent).where(AuditEvent.action == "customer.contact_changed")).one()
        assert "13800001111" not in str(event.after) and event.actor == "finance"

    # the bank stopped the mandate: AC04, closed account (as the nightly answers mark it)
    with write_transaction(world.engine) as conn:
        conn.execute(update(Mandate).where(Mandate.contract_id == cid).values(status="invalid", status_reason="AC04"))
    before = world.call("GET", f"/contracts/{contract_no}/mandates", "finance", 200).json()["mandates"]
    assert [(m["status"], m["status_reason"]) for m in before] == [("invalid", "AC04")]
    body = {"bank_code": "BOC", "account_no": "6013820000123456789", "otp": "123456", "reason": "原账户已销户"}
    world.call("POST", f"/contracts/{contract_no}/mandates", "dealer_a", 403, json=body)
    world.call("POST", f"/contracts/{contract_no}/mandates", "finance", 422, json={**body, "bank_code": "NOSUCH"})
    done = world.call("POST", f"/contracts/{contract_no}/mandates", "finance", 201, json=body).json()
    assert [(m["status"], m["bank_code"]) for m in done["mandates"]] == [("revoked", "ICBC"), ("active", "BOC")]
    assert done["mandates"][1]["debtor_account"] != body["account_no"]  # masked
    world.call("POST", f"/contracts/{contract_no}/mandates", "finance", 409, json=body)  # the same account again

    # the first instalment falls due: billed, and debited on the new account
    with world.engine.connect() as conn:
        due = conn.execute(select(func.min(Instalment.due_date)).where(Instalment.contract_id == cid)).scalar_one()
    ctx = StepContext(calendar(), voucher_templates(), banks=bank_profiles(), bank_root=tmp_path / "bank_files")
    while not calendar().is_business_day(due):
        due += timedelta(days=1)
    with write_transaction(world.engine) as conn:  # the date opened as a bank business day (business_day, as the cycle would)
        conn.execute(BusinessDay.__table__.insert().values(business_date=due, status="open", is_bank_day=True))
    run_step(world.engine, "billing", due, ctx)
    assert run_step(world.engine, "debit_orders", due, ctx).counts["orders"] >= 1
    with world.engine.connect() as conn:
        order = conn.execute(select(DebitOrder.mandate_id, Mandate.bank_code, Mandate.debtor_account).join(
            Mandate, Mandate.mandate_id == DebitOrder.mandate_id).where(DebitOrder.contract_id == cid)).one()
    assert (order.bank_code, order.debtor_account) == ("BOC", "6013820000123456789")
    files = list((tmp_path / "bank_files" / "outbound" / "BOC").glob("*"))
    assert files and any(b"6013820000123456789" in f.read_bytes() for f in files)


def owed_of(world: World, contract_id: int) -> dict[str, int]:
    with world.engine.connect() as conn:
        rows = conn.execute(select(Instalment).where(Instalment.contract_id == contract_id, Instalment.status == "billed")).all()
    return {c: sum(getattr(i, f"{c}_minor") - getattr(i, f"paid_{c}_minor") for i in rows) for c in ("penalty", "interest", "fee")}


def yuan(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def test_a_waiver_goes_through_its_chain_by_amount_then_takes_the_income_back(world: World):
    """减免: a waiver's chain follows its amount; the last approval applies it to the
    oldest bills as a waiver receipt (no money) and posts the income back, VAT inside the interest
    reversed; the ledger still ties."""
    from autofin.domain.money import vat_inside_minor
    from autofin.store.models import Allocation, Receipt
    from tests.api.test_postlease import ledger_ok

    with world.engine.connect() as conn:
        contract = conn.execute(select(Contract).where(Contract.status == "active", Contract.dpd > 0).order_by(Contract.dpd.desc())).first()
    owed = owed_of(world, contract.contract_id)
    assert owed["penalty"] > 100 and owed["interest"] > 0
    no = contract.contract_no
    world.call("POST", f"/contracts/{no}/waivers", "dealer_a", 403, json={"penalty": "1.00", "reason": "x"})
    too_much = world.call("POST", f"/contracts/{no}/waivers", "finance", 422, json={"penalty": yuan(owed["penalty"] + 1), "reason": "x"}).json()
    assert too_much["detail"][0]["loc"][-1] == "penalty"
    world.call("POST", f"/contracts/{no}/waivers", "finance", 422, json={"reason": "nothing"})

    # 1.00 of penalty: one level
    small = world.call("POST", f"/contracts/{no}/waivers", "collector", 201, json={"penalty": "1.00", "reason": "客户协商减免罚息"}).json()
    assert (small["kind"], small["chain"], small["amount"]) == ("waiver", ["post_loan_supervisor"], "1.00")
    done = world.call("POST", f"/post-lease-requests/{small['request_id']}/decision", "post_loan_supervisor", 200,
                      json={"decision": "approve"}).json()
    assert done["status"] == "executed" and done["executed"]["waived"] == {"penalty": "1.00", "interest": "0.00", "fee": "0.00"}
    assert owed_of(world, contract.contract_id)["penalty"] == owed["penalty"] - 100

    # all the interest owed: its chain by the amount (approval_matrix.yaml), the VAT inside it reversed
    interest = owed["interest"]
    chain = list(approval_matrix().waiver_chain(interest))
    big = world.call("POST", f"/contracts/{no}/waivers", "finance", 201, json={"interest": yuan(interest), "reason": "息费减免"}).json()
    assert big["chain"] == chain
    for n, role in enumerate(chain):
        if n < len(chain) - 1:
            world.call("POST", f"/post-lease-requests/{big['request_id']}/decision", role, 200, json={"decision": "approve"})
            assert owed_of(world, contract.contract_id)["interest"] == interest  # nothing before the last approval
    done = world.call("POST", f"/post-lease-requests/{big['request_id']}/decision", chain[-1], 200, json={"decision": "approve"}).json()
    vat = vat_inside_minor(interest, contract.vat_rate_ppm)
    assert done["executed"]["vat_reversed"] == yuan(vat)
    assert owed_of(world, contract.contract_id)["interest"] == 0
    voucher = [v for v in world.call("GET", f"/contracts/{no}/vouchers", "auditor", 200).json() if v["event_type"] == "waiver"][-1]
    assert sorted((line["account"], line["debit"], line["credit"]) for line in voucher["lines"]) == sorted([
        ("6011.01", yuan(interest - vat), "0.00"), ("2221.01", yuan(vat), "0.00"), ("1122.02", "0.00", yuan(interest))])
    with world.engine.connect() as conn:
        receipt = conn.execute(select(Receipt).where(Receipt.source_ref == f"waiver:{big['request_id']}")).one()
        assert (receipt.source, receipt.status, receipt.amount_minor) == ("waiver", "applied", interest)
        assert conn.execute(select(func.sum(Allocation.amount_minor)).where(Allocation.receipt_id == receipt.receipt_id)).scalar_one() == interest
    refused = world.call("POST", f"/receipts/{receipt.receipt_id}/reversal", "finance", 409, json={"reason": "x"}).json()
    assert "is a waiver" in refused["detail"]
    matrix = world.call("GET", "/reference/approval-matrix", "finance", 200).json()["waiver"]
    assert matrix == [{"up_to": "500.00", "chain": ["post_loan_supervisor"]},
                      {"up_to": "5000.00", "chain": ["post_loan_supervisor", "finance_director"]},
                      {"up_to": None, "chain": ["post_loan_supervisor", "finance_director", "credit_director"]}]
    ledger_ok(world)


def test_unidentified_money_is_held_then_matched_and_breaks_are_resolved_with_a_reason(world: World, tmp_path):
    """待查明款项: a credit on a statement that no receipt holds is booked to 2241.02 (its break resolved),
    matched later to a contract (a receipt the allocation applies), the account back to nil; another
    break resolved with a reason; the day-close check ties 2241.02 to the open unidentified money."""
    from autofin.servicing.checks import unidentified_ties
    from autofin.store.ledger import account_balances
    from autofin.store.models import BankFile, BankStatementLine, Receipt
    from tests.api.test_postlease import TODAY, ledger_ok

    with write_transaction(world.engine) as conn:
        file_id = conn.execute(BankFile.__table__.insert().values(
            bank_code="BOC", direction="in", file_type="camt053", file_name="STM.xml", sha256="0" * 64, message_id="STM-1", size_bytes=1,
            status="applied", business_date=TODAY).returning(BankFile.bank_file_id)).scalar_one()
        for ref, amount in (("UNKNOWN-1", 3000_00), ("UNKNOWN-2", 15_00)):
            conn.execute(BankStatementLine.__table__.insert().values(bank_file_id=file_id, bank_code="BOC", booking_date=TODAY, amount_minor=amount,
                                                                     is_credit=True, reference=ref, status="break"))
    run_step(world.engine, "reconciliation", TODAY, StepContext(calendar(), voucher_templates(), banks=bank_profiles()))
    world.call("GET", "/reconciliation-breaks", "dealer_a", 403)
    breaks = {b["reference"]: b for b in world.call("GET", "/reconciliation-breaks", "finance", 200).json()}
    assert breaks["UNKNOWN-1"]["kind"] == "unmatched_statement_line" and breaks["UNKNOWN-1"]["bank_amount"] == "3000.00"

    held = world.call("POST", f"/reconciliation-breaks/{breaks['UNKNOWN-1']['break_id']}/unidentified", "finance", 201,
                      json={"payer_name": "李四"}).json()
    assert (held["status"], held["amount"], held["reference"]) == ("open", "3000.00", "UNKNOWN-1")
    world.call("POST", f"/reconciliation-breaks/{breaks['UNKNOWN-1']['break_id']}/unidentified", "finance", 409, json={})
    resolved = world.call("GET", "/reconciliation-breaks?status=resolved", "finance", 200).json()
    assert [(b["reference"], b["resolution"]) for b in resolved] == [("UNKNOWN-1", f"booked to unidentified receipt {held['unidentified_id']}")]
    with world.engine.connect() as conn:
        assert account_balances(conn)["2241.02"] == -3000_00 and unidentified_ties(conn) == []
        assert conn.execute(select(BankStatementLine.status).where(BankStatementLine.reference == "UNKNOWN-1")).scalar_one() == "suspense"

    # the other: a bank error the bank corrects, resolved with the reason
    world.call("POST", f"/reconciliation-breaks/{breaks['UNKNOWN-2']['break_id']}/resolve", "finance", 422, json={"reason": ""})
    done = world.call("POST", f"/reconciliation-breaks/{breaks['UNKNOWN-2']['break_id']}/resolve", "finance", 200,
                      json={"reason": "银行手续费退回，银行已确认"}).json()
    assert (done["status"], done["resolution"]) == ("resolved", "银行手续费退回，银行已确认")
    world.call("POST", f"/reconciliation-breaks/{breaks['UNKNOWN-2']['break_id']}/resolve", "finance", 409, json={"reason": "again"})

    # money known without a statement, entered by hand; the same reference twice refused
    manual = world.call("POST", "/unidentified-receipts", "finance", 201, json={
        "bank_code": "ICBC", "reference": "SLIP-9", "amount": "120.50", "value_date": TODAY.isoformat()}).json()
    assert (manual["status"], manual["amount"], manual["break_id"]) == ("open", "120.50", None)
    world.call("POST", "/unidentified-receipts", "finance", 409, json={
        "bank_code": "ICBC", "reference": "SLIP-9", "amount": "120.50", "value_date": TODAY.isoformat()})
    world.call("POST", "/unidentified-receipts", "finance", 422, json={
        "bank_code": "ICBC", "reference": "SLIP-10", "amount": "1.00", "value_date": (TODAY + timedelta(days=1)).isoformat()})
    assert [u["reference"] for u in world.call("GET", "/unidentified-receipts", "finance", 200).json()] == ["UNKNOWN-1", "SLIP-9"]

    # found: it was a customer's instalment; matched, applied tonight, off 2241.02
    contract_no = world.active()
    world.call("POST", f"/unidentified-receipts/{held['unidentified_id']}/match", "finance", 422, json={"contract_no": "NOSUCH", "reason": "x"})
    matched = world.call("POST", f"/unidentified-receipts/{held['unidentified_id']}/match", "finance", 200,
                         json={"contract_no": contract_no, "reason": "客户来电确认为其还款"}).json()
    assert matched["status"] == "matched"
    world.call("POST", f"/unidentified-receipts/{held['unidentified_id']}/match", "finance", 409, json={"contract_no": contract_no, "reason": "x"})
    with world.engine.connect() as conn:
        receipt = conn.execute(select(Receipt).where(Receipt.receipt_id == matched["receipt_id"])).one()
        assert (receipt.source_ref, receipt.amount_minor, receipt.status, receipt.value_date) == ("suspense:UNKNOWN-1", 3000_00, "unapplied", TODAY)
        assert account_balances(conn)["2241.02"] == -120_50 and unidentified_ties(conn) == []
    run_step(world.engine, "allocation", TODAY, StepContext(calendar(), voucher_templates()))
    assert world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()["credit"] == "3000.00"  # nothing due yet: all credit
    ledger_ok(world)


def test_a_deposit_is_booked_set_against_bills_and_past_maturity_applied_by_the_cycle(world: World):
    """保证金: received at activation (1002 against 2241.04, held on the contract); set against the bills
    on request through its chain; past maturity with bills unpaid, the cycle sets the rest against
    them; refunded only once the contract is closed; the sub-ledger ties 2241.04 throughout."""
    from autofin.store.ledger import account_balances
    from autofin.store.models import Receipt
    from tests.api.test_postlease import TODAY, ledger_ok

    contract_no = world.active(product_code="DL-EP", term_months=36)
    contract = world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()
    with world.engine.connect() as conn:
        deposit = conn.execute(select(Contract.deposit_minor).where(Contract.contract_no == contract_no)).scalar_one()
    assert deposit > 0 and contract["deposit_held"] == yuan(deposit)
    booked = [v for v in world.call("GET", f"/contracts/{contract_no}/vouchers", "auditor", 200).json() if v["event_type"] == "deposit_received"]
    assert [(line["account"], line["debit"], line["credit"]) for line in booked[0]["lines"]] == [
        ("1002", yuan(deposit), "0.00"), ("2241.04", "0.00", yuan(deposit))]
    with world.engine.connect() as conn:
        held_before = account_balances(conn)["2241.04"]
    ledger_ok(world)

    world.call("POST", f"/contracts/{contract_no}/deposit-offset", "finance", 422, json={"amount": yuan(deposit + 1), "reason": "x"})
    asked = world.call("POST", f"/contracts/{contract_no}/deposit-offset", "finance", 201, json={"amount": "1000.00", "reason": "客户申请冲抵"}).json()
    assert asked["chain"] == ["post_loan_supervisor"]
    done = world.call("POST", f"/post-lease-requests/{asked['request_id']}/decision", "post_loan_supervisor", 200,
                      json={"decision": "approve"}).json()
    assert done["executed"]["deposit_left"] == yuan(deposit - 1000_00)
    with world.engine.connect() as conn:
        receipt = conn.execute(select(Receipt).where(Receipt.receipt_id == done["executed"]["receipt_id"])).one()
        assert (receipt.source, receipt.status, receipt.amount_minor) == ("deposit", "unapplied", 1000_00)
        assert account_balances(conn)["2241.04"] - held_before == 1000_00
    world.call("POST", f"/receipts/{receipt.receipt_id}/reversal", "finance", 409, json={"reason": "x"})
    refund = {"amount": "10.00", "reason": "x", "payee_bank": "ICBC", "payee_account_no": "6222020200112233445", "payee_account_name": "张三"}
    assert "paid off" in world.call("POST", f"/contracts/{contract_no}/deposit-refund", "finance", 409, json=refund).json()["detail"]
    ledger_ok(world)

    # past maturity with a bill unpaid: the cycle sets the rest of the deposit against it
    with world.engine.connect() as conn:
        cid = conn.execute(select(Contract.contract_id).where(Contract.contract_no == contract_no)).scalar_one()
        due = conn.execute(select(func.min(Instalment.due_date)).where(Instalment.contract_id == cid)).scalar_one()
    ctx = StepContext(calendar(), voucher_templates())
    run_step(world.engine, "allocation", TODAY, ctx)  # the requested offset, applied tonight (nothing billed yet: credit)
    run_step(world.engine, "billing", due, ctx)
    with write_transaction(world.engine) as conn:  # the test's shortcut to the end of the term
        conn.execute(update(Contract).where(Contract.contract_id == cid).values(maturity_date=due - timedelta(days=1)))
    with statements_kept(world.engine) as seen:
        night = run_step(world.engine, "collections", due, ctx).counts
    assert book_scans_of(world.engine, seen) == {}  # the deposits' update reads the contracts it applies, not the book
    with world.engine.connect() as conn:
        owed = conn.execute(select(func.sum(Instalment.principal_minor + Instalment.interest_minor + Instalment.fee_minor)).where(
            Instalment.contract_id == cid, Instalment.status == "billed")).scalar_one()
        left = conn.execute(select(Contract.deposit_held_minor).where(Contract.contract_id == cid)).scalar_one()
    applied = min(deposit - 1000_00, owed)
    assert (night["deposits_applied_at_term_end"], night["deposits_applied_minor"]) == (1, applied)
    assert left == deposit - 1000_00 - applied
    ledger_ok(world)


def test_unidentified_money_is_refused_only_for_a_bank_reference_on_the_books(world: World):
    """Money booked as unidentified is refused when a receipt already holds its bank reference (a
    transfer or corporate payment, money applied at once (a settlement, a prepayment, a buy-out) or
    from suspense), found by that reference's key, not by
    reading every receipt for any key that ends like it: a reference such as a waiver's or a credit's
    number is not a bank reference ("17" is not "waiver:17")."""
    from tests.api.test_postlease import TODAY

    contract_no = world.active()
    world.call("POST", "/payments", "finance", 201, json={"contract_no": contract_no, "amount": "800.00", "value_date": TODAY.isoformat(),
                                                          "reference": "TRF-77"})
    with write_transaction(world.engine) as conn:  # the test's shortcut: receipts whose own keys end in ":17" and ":2026-11-02",
        cid = conn.execute(select(Contract.contract_id).where(Contract.contract_no == contract_no)).scalar_one()
        # and money applied at once under the bank's reference of the transfer that paid it (an early settlement)
        for source, ref in (("waiver", "waiver:17"), ("credit", f"credit:{cid}:2026-11-02"), ("settlement", "settlement:SET-9")):
            conn.execute(Receipt.__table__.insert().values(contract_id=cid, source=source, source_ref=ref, amount_minor=1_00, currency="CNY",
                                                           value_date=TODAY, business_date=TODAY, status="applied"))
    body = {"bank_code": "ICBC", "amount": "10.00", "value_date": TODAY.isoformat()}
    with statements_kept(world.engine) as seen:
        refused = world.call("POST", "/unidentified-receipts", "finance", 409, json={**body, "reference": "TRF-77"}).json()["detail"]
        world.call("POST", "/unidentified-receipts", "finance", 409, json={**body, "reference": "SET-9"})
        for reference in ("17", "2026-11-02"):
            assert world.call("POST", "/unidentified-receipts", "finance", 201, json={**body, "reference": reference}).json()["reference"] == reference
    assert refused == "a receipt with reference TRF-77 is already on the books"
    assert book_scans_of(world.engine, seen) == {}
