"""Contract to money: the PDF and its hash, the e-signature, preconditions, disbursement review and
the bank's answer; the active contract's instalments, its voucher and the partner's exposure."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from sqlalchemy import func, select, update

from autofin.reference import chart_of_accounts
from autofin.servicing.payouts import payouts_tie
from autofin.store.ledger import subledger_vs_ledger, trial_balance_as_of
from autofin.store.models import (
    AuditEvent,
    Contract,
    ContractSignature,
    Customer,
    Instalment,
    JournalLine,
    Mandate,
    Partner,
    PartnerHistory,
    Vehicle,
)
from tests.api.conftest import World


def exposure(world: World) -> dict:
    return world.call("GET", f"/partners/{world.dealer_a}", "credit_manager", 200).json()["exposure"]


def test_document_signature_disbursement_and_activation(world: World):
    before = exposure(world)
    contract_no = world.approved()["contract_no"]
    after_approval = exposure(world)
    # the auditor may read the document before anyone renders it for signing; nothing is written
    preview = world.call("GET", f"/contracts/{contract_no}/document", "auditor", 200)
    assert world.call("GET", f"/contracts/{contract_no}", "auditor", 200).json()["document_sha256"] is None
    assert float(after_approval["committed"]) - float(before["committed"]) == 106_200.00

    # the document: a PDF whose sha256 is in the header, the same on every download
    first = world.call("GET", f"/contracts/{contract_no}/document", "dealer_a", 200)
    assert first.headers["content-type"] == "application/pdf" and first.content.startswith(b"%PDF-")
    digest = first.headers["X-Document-SHA256"]
    assert hashlib.sha256(first.content).hexdigest() == digest and preview.content == first.content  # deterministic
    assert world.call("GET", f"/contracts/{contract_no}/document", "auditor", 200).content == first.content
    world.call("GET", f"/contracts/{contract_no}/document", "dealer_b", 404)  # another dealer's contract

    # signing: the document the customer saw, a code the provider accepts
    sign = {"document_sha256": "0" * 64, "method": "sms_otp", "otp": "123456",
            "debit_account": {"bank_code": "ICBC", "account_no": "6222020200112233445"}}
    assert "is not contract" in world.call("POST", f"/contracts/{contract_no}/sign", "dealer_a", 409, json=sign).json()["detail"]
    bad_code = world.call("POST", f"/contracts/{contract_no}/sign", "dealer_a", 422, json={**sign, "document_sha256": digest, "otp": "000000"})
    assert bad_code.json()["detail"][0]["loc"][-1] == "otp"
    signed = world.call("POST", f"/contracts/{contract_no}/sign", "dealer_a", 200, json={**sign, "document_sha256": digest}).json()
    assert signed["status"] == "signed"
    assert signed["signatures"][0]["document_sha256"] == digest and signed["signatures"][0]["method"] == "sms_otp"
    assert signed["signatures"][0]["signer_id"].count("*") >= 8  # masked in the API
    world.call("POST", f"/contracts/{contract_no}/sign", "dealer_a", 409, json={**sign, "document_sha256": digest})  # signed already

    # disbursement: the product's preconditions first (NCL-ANN: mortgage and GPS)
    refused = world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_a", 422).json()["detail"][0]
    assert refused["loc"][-1] == "preconditions" and "mortgage, gps" in refused["msg"]
    world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_a", 201, json={"kind": "mortgage", "reference": "浙A抵-2026-001"})
    world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_a", 409, json={"kind": "mortgage", "reference": "again"})
    world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_a", 201, json={"kind": "gps", "reference": "GPS-86-000123"})
    d = world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_a", 201).json()
    assert (d["status"], d["amount"], d["payee_account_no"]) == ("requested", "106200.00", "1202020209000012345")
    world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_a", 409)  # one at a time
    path = f"/disbursements/{d['disbursement_id']}"
    assert [q["disbursement_id"] for q in world.call("GET", "/disbursements", "finance", 200).json()] == [d["disbursement_id"]]

    # review: a claim locks it; the other reviewer waits
    assert world.call("POST", f"{path}/claim", "finance", 200).json()["status"] == "in_review"
    assert "is locked by finance" in world.call("POST", f"{path}/approve", "finance2", 409).json()["detail"]
    approved = world.call("POST", f"{path}/approve", "finance", 200).json()
    assert (approved["status"], approved["approved_by"]) == ("approved", "finance")  # queued for the night's payout file
    shares = [(p["payee_kind"], p["amount"], p["status"], p["bank_code"]) for p in approved["payouts"]]
    assert sum(Decimal(a) for _, a, _, _ in shares) == Decimal("106200.00")
    assert {s for _, _, s, b in shares} == {"pending"} and shares[0][0] == "dealer"
    world.call("POST", f"{path}/result", "finance", 422, json={"status": "failed"})  # a failure is the bank's answer, not typed in
    assert exposure(world)["disbursed"] == before["disbursed"]  # nothing is disbursed before the bank says paid

    paid = world.call("POST", f"{path}/result", "finance", 200, json={"status": "paid"}).json()  # paid by online banking
    assert (paid["status"], paid["contract_status"]) == ("paid", "active")
    assert {p["status"] for p in paid["payouts"]} == {"paid"}
    world.call("POST", f"{path}/result", "finance", 409, json={"status": "paid"})  # paid once

    after = exposure(world)
    assert float(after["disbursed"]) - float(before["disbursed"]) == 106_200.00
    assert after["committed"] == before["committed"] and after["total"] == after_approval["total"]
    with world.engine.connect() as conn:
        contract = conn.execute(select(Contract).where(Contract.contract_no == contract_no)).one()
        assert (contract.status, contract.activated_date is not None, contract.document_sha256) == ("active", True, digest)
        principal = conn.execute(select(func.sum(Instalment.principal_minor), func.count()).where(
            Instalment.contract_id == contract.contract_id, Instalment.status == "scheduled")).one()
        assert tuple(principal) == (106_200_00, 36)
        lines = conn.execute(select(JournalLine.account_code, JournalLine.debit_minor, JournalLine.credit_minor)
                             .where(JournalLine.journal_entry_id == select(func.max(JournalLine.journal_entry_id)).scalar_subquery())
                             .order_by(JournalLine.line_no)).all()
        assert [tuple(r) for r in lines] == [("1531", 106_200_00, 0), ("1221.01", 0, 106_200_00)]  # the paid shares, now the loan
        rows = trial_balance_as_of(conn, contract.activated_date, chart_of_accounts())
        assert sum(r.debit_minor for r in rows) == sum(r.credit_minor for r in rows)
        assert [t.difference_minor for t in subledger_vs_ledger(conn)] == [0] * 9
        assert payouts_tie(conn) == []
        signature = conn.execute(select(ContractSignature).where(ContractSignature.contract_id == contract.contract_id)).one()
        assert (signature.document_sha256, signature.provider, signature.method) == (digest, "simulator", "sms_otp")
        assert conn.execute(select(Mandate.status, Mandate.bank_code).where(Mandate.contract_id == contract.contract_id)).one() == ("active", "ICBC")
        assert conn.execute(select(Vehicle.inventory_status).where(Vehicle.vehicle_id == contract.vehicle_id)).scalar_one() == "leased"
        actions = conn.execute(select(AuditEvent.action).where(AuditEvent.entity.in_(("contract", "disbursement")))
                               .order_by(AuditEvent.audit_event_id)).scalars().all()
        assert actions == ["contract.create", "contract.document", "contract.signed", "contract.condition", "contract.condition",
                           "disbursement.requested", "disbursement.claim", "disbursement.approved", "disbursement.payouts_queued",
                           "payout.paid_by_hand", "disbursement.paid", "contract.active"]
    vouchers = world.call("GET", f"/contracts/{contract_no}/vouchers", "auditor", 200).json()
    assert [(v["event_type"], v["debit"]) for v in vouchers] == [
        *[("disbursement_payout", a) for _, a, _, _ in shares], ("disbursement", "106200.00")]


def test_fraud_feedback_blocks_the_payment_and_flags_customer_and_partner(world: World):
    contract_no = world.signed()
    for kind in ("mortgage", "gps"):
        world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_a", 201, json={"kind": kind, "reference": kind})
    d = world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_a", 201).json()
    path = f"/disbursements/{d['disbursement_id']}"
    world.call("POST", f"{path}/fraud", "dealer_a", 403, json={"reason": "x"})
    blocked = world.call("POST", f"{path}/fraud", "finance", 200, json={"reason": "invoice does not match the VIN"}).json()
    assert (blocked["status"], blocked["fraud_reason"]) == ("blocked", "invoice does not match the VIN")
    refused = world.call("POST", f"{path}/approve", "finance", 409).json()
    assert refused["current_status"] == "blocked" and refused["allowed"] == []
    partner = world.call("GET", f"/partners/{world.dealer_a}", "credit_manager", 200).json()
    assert partner["is_fraud_flagged"] is True
    with world.engine.connect() as conn:
        contract = conn.execute(select(Contract).where(Contract.contract_no == contract_no)).one()
        assert conn.execute(select(Customer.is_blacklisted).where(Customer.customer_id == contract.customer_id)).scalar_one()
        history = conn.execute(select(PartnerHistory.field, PartnerHistory.new_value, PartnerHistory.reason)
                               .join(Partner, Partner.partner_id == PartnerHistory.partner_id)
                               .where(Partner.partner_code == world.dealer_a, PartnerHistory.field == "is_fraud_flagged")).one()
        assert history == ("is_fraud_flagged", "true", f"contract {contract_no}: invoice does not match the VIN")
    assert world.call("GET", f"/contracts/{contract_no}", "finance", 200).json()["status"] == "signed"  # nothing paid


def test_batch_approval_queues_payouts_and_refuses_what_it_may_not(world: World):
    ids = []
    for _ in range(2):
        contract_no = world.signed()
        for kind in ("mortgage", "gps"):
            world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_a", 201, json={"kind": kind, "reference": kind})
        ids.append(world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_a", 201).json()["disbursement_id"])
    world.call("POST", f"/disbursements/{ids[1]}/claim", "finance2", 200)
    out = world.call("POST", "/disbursements/approvals", "finance", 200, json={"disbursement_ids": [*ids, 424242]}).json()
    assert (out["approved"], out["refused"]) == (1, 2)
    by_id = {r["disbursement_id"]: r for r in out["results"]}
    assert by_id[ids[0]]["status"] == "approved"
    assert (by_id[ids[1]]["status_code"], by_id[424242]["status_code"]) == (409, 404)
    queued = world.call("GET", "/payouts?status=pending&kind=disbursement", "finance", 200).json()
    assert {p["disbursement_id"] for p in queued} == {ids[0]}
    world.call("GET", "/payouts", "dealer_a", 403)
    assert world.call("POST", f"/disbursements/{ids[0]}/send", "finance", 409).json()["current_status"] == "approved"  # only a failed one


def test_the_signed_pdf_shows_every_fee_item_inside_the_page(world: World):
    """The customer signs the hash of what they can see: each fee item is in the PDF's text, and no
    character runs past the right margin (the text and its positions read back with PDFium)."""
    import pypdfium2 as pdfium

    items = [{"key": "purchase_tax", "amount": "17699", "financed": True}, {"key": "insurance", "amount": "5432.10", "financed": True},
             {"key": "gps_fee", "amount": "1200", "financed": True}, {"key": "accessories", "amount": "3000", "financed": True},
             {"key": "plate_fee", "amount": "500", "financed": False}, {"key": "service_fee", "amount": "2000", "financed": False}]
    contract_no = world.approved(items=items)["contract_no"]
    document = pdfium.PdfDocument(world.call("GET", f"/contracts/{contract_no}/document", "dealer_a", 200).content)
    text, overflowing = "", []
    for page in document:
        width = page.get_width()
        chars = page.get_textpage()
        page_text = chars.get_text_range()
        text += page_text
        overflowing += [page_text[i] for i in range(chars.count_chars()) if not page_text[i].isspace()
                        and chars.get_charbox(i)[2] > width - 28]  # right edge past the 10 mm margin
    for expected in ("purchase_tax  17699.00  融资 financed", "insurance  5432.10  融资 financed", "gps_fee  1200.00  融资 financed",
                     "accessories  3000.00  融资 financed", "plate_fee  500.00  首付时支付 paid upfront",
                     "service_fee  2000.00  首付时支付 paid upfront"):
        assert " ".join(expected.split()) in " ".join(text.split()), expected
    assert overflowing == []


def test_a_contract_blocked_for_fraud_is_cancelled_and_its_partner_can_exit(world: World):
    """No stuck states: the blocked contract stays signed (committed exposure, the partner cannot
    exit) until a credit manager cancels it; then the exposure is released, the vehicle is back in
    stock and the partner's exit review goes through."""
    with world.engine.begin() as conn:  # dealer_b's migrated book has run off: only the new contract keeps it from exiting
        partner_id = conn.execute(select(Partner.partner_id).where(Partner.partner_code == world.dealer_b)).scalar_one()
        conn.execute(update(Contract).where(Contract.partner_id == partner_id).values(status="paid_off"))
    contract_no = world.signed(who="dealer_b")
    for kind in ("mortgage", "gps"):
        world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_b", 201, json={"kind": kind, "reference": kind})
    d = world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_b", 201).json()
    world.call("POST", f"/disbursements/{d['disbursement_id']}/fraud", "finance", 200, json={"reason": "forged invoice"})
    partner = world.dealer_b
    world.call("POST", f"/partners/{partner}/status", "credit_manager", 200, json={"status": "exiting", "reason": "fraud"})
    stuck = world.call("POST", f"/partners/{partner}/review", "credit_manager", 409, json={"approve": True}).json()["detail"]
    assert "live contracts" in stuck
    world.call("POST", f"/contracts/{contract_no}/cancel", "dealer_b", 403, json={"reason": "fraud"})
    world.call("POST", f"/contracts/{contract_no}/cancel", "credit_manager", 422, json={})
    cancelled = world.call("POST", f"/contracts/{contract_no}/cancel", "credit_manager", 200, json={"reason": "fraud at payout"}).json()
    assert cancelled["status"] == "terminated"
    with world.engine.connect() as conn:
        contract = conn.execute(select(Contract).where(Contract.contract_no == contract_no)).one()
        assert conn.execute(select(Vehicle.inventory_status).where(Vehicle.vehicle_id == contract.vehicle_id)).scalar_one() == "in_stock"
        assert conn.execute(select(Mandate.status).where(Mandate.contract_id == contract.contract_id)).scalar_one() == "revoked"
    exposure = world.call("GET", f"/partners/{partner}", "credit_manager", 200).json()["exposure"]
    assert exposure["committed"] == "0.00"
    assert world.call("POST", f"/partners/{partner}/review", "credit_manager", 200, json={"approve": True}).json()["status"] == "exited"
    # nothing is ever paid out for it, and it is not cancelled twice
    world.call("POST", f"/disbursements/{d['disbursement_id']}/send", "finance", 409)
    world.call("POST", f"/contracts/{contract_no}/cancel", "credit_manager", 409, json={"reason": "again"})


def test_a_contract_with_a_payment_on_its_way_is_not_cancelled(world: World):
    contract_no = world.signed()
    for kind in ("mortgage", "gps"):
        world.call("POST", f"/contracts/{contract_no}/conditions", "dealer_a", 201, json={"kind": kind, "reference": kind})
    world.call("POST", f"/contracts/{contract_no}/disbursement", "dealer_a", 201)
    refused = world.call("POST", f"/contracts/{contract_no}/cancel", "credit_manager", 409, json={"reason": "x"}).json()["detail"]
    assert "is requested" in refused
    active = world.active()
    assert world.call("POST", f"/contracts/{active}/cancel", "credit_manager", 409, json={"reason": "x"}).json()["current_status"] == "active"


def test_a_migrated_contract_has_no_document_to_render(world: World):
    """A contract brought over with the book at the cut-over has no plan, no application and its terms
    by reference: its signed agreement is the old system's. Asking for its document is a 409 that
    says so (it was a 500 for each of the migrated book's contracts); nothing is written."""
    with world.engine.connect() as conn:
        contract_no = conn.execute(select(Contract.contract_no).join(Partner, Partner.partner_id == Contract.partner_id).where(
            Contract.is_migrated.is_(True), Partner.partner_code == world.dealer_a).limit(1)).scalar_one()
    for who in ("dealer_a", "auditor"):
        refused = world.call("GET", f"/contracts/{contract_no}/document", who, 409).json()["detail"]
        assert refused == (f"contract {contract_no} came over with the book at the cut-over: its signed agreement is kept by the system "
                           "it came from, not rendered here")
    assert world.call("GET", f"/contracts/{contract_no}", "dealer_a", 200).json()["document_sha256"] is None
