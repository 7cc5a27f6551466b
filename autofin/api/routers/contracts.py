"""Contracts: the frozen terms and schedule, the PDF, the e-signature, disbursement preconditions
and request, early settlement, refunds and balloon extension requests, receipts and vouchers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Query
from fastapi.responses import FileResponse, Response

from autofin.api.deps import Caller, StoreDep, requires
from autofin.api.public import (
    BuyOutQuotePublic,
    ContractPublic,
    ContractSummaryPublic,
    DisbursementPublic,
    MandatesPublic,
    PostLeaseRequestPublic,
    PrepaidPublic,
    PrepaymentQuotePublic,
    PublicRouter,
    ReceiptPublic,
    SettledPublic,
    SettlementQuotePublic,
    TitleTransferPublic,
    VoucherPublic,
)
from autofin.api.schemas import (
    ConditionIn,
    ContractCancelIn,
    DepositOffsetIn,
    DepositRefundIn,
    ExtensionIn,
    Limit,
    MandateIn,
    Offset,
    PathId,
    PrepaymentIn,
    RefundIn,
    SettlementIn,
    SignIn,
    TitleTransferDoneIn,
    WaiverIn,
)
from autofin.origination import contracts as svc
from autofin.origination import disbursements
from autofin.origination.applications import document_path
from autofin.postlease import customer_service, lease_end, payments, requests, settlement

router = PublicRouter(prefix="/contracts", tags=["contracts"])
title_transfers = PublicRouter(prefix="/title-transfers", tags=["contracts"])


@router.get("")
def list_contracts(s: StoreDep, who: Caller, status: str | None = None, partner_code: str | None = None, limit: Limit = 100,
                   offset: Offset = 0) -> list[ContractSummaryPublic]:
    with s.read() as conn:
        return [ContractSummaryPublic.model_validate(c) for c in svc.list_contracts(conn, who, status=status, partner_code=partner_code,
                                                                                     limit=limit, offset=offset)]


@router.get("/{contract_no}")
def get_contract(s: StoreDep, contract_no: str, who: Caller) -> ContractPublic:
    with s.read() as conn:
        return ContractPublic.model_validate(svc.view(conn, svc.get_contract(conn, who, contract_no)))


@router.get("/{contract_no}/document", response_class=FileResponse, responses={200: {
    "description": "the contract as PDF; its sha256 in X-Document-SHA256", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def document(s: StoreDep, contract_no: str, who: Caller) -> Response:
    """The contract as PDF. Rendered on first request by someone who collects the signature (dealer,
    sales) and kept: its sha256 (header X-Document-SHA256) is what the customer signs. Others get
    the same bytes (the rendering is deterministic) without anything being written."""
    with s.read() as conn:
        row = svc.get_contract(conn, who, contract_no)
        digest = row.document_sha256
        if digest is None:
            digest, data = svc.render_document(conn, row)  # rendered outside the write transaction (it takes a second)
    headers = {"X-Document-SHA256": digest, "Content-Disposition": f'attachment; filename="{contract_no}.pdf"'}
    if row.document_sha256 is None:
        if who.refusal("contracts.sign") is not None:
            return Response(data, media_type="application/pdf", headers=headers)
        with s.write() as conn:
            digest = svc.keep_document(conn, who, row, digest, data)
    return FileResponse(document_path(digest), media_type="application/pdf", headers={**headers, "X-Document-SHA256": digest})


@router.post("/{contract_no}/sign", dependencies=[requires("contracts.sign")])
def sign(s: StoreDep, contract_no: str, body: SignIn, who: Caller) -> ContractPublic:
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        signed = svc.sign(conn, who, row, document_sha256=body.document_sha256, method=body.method, otp=body.otp,
                          debit_account=body.account(), provider=s.adapters.signatures, now=s.clock(), today=s.today())
        return ContractPublic.model_validate(svc.view(conn, signed))


@router.post("/{contract_no}/waivers", status_code=201, dependencies=[requires("post_lease.waiver")])
def request_waiver(s: StoreDep, contract_no: str, body: WaiverIn, who: Caller) -> PostLeaseRequestPublic:
    """Ask to waive billed penalty, interest or fees (减免); the chain depends on the amount
    (approval_matrix.yaml: waiver), and the last approval applies and posts it."""
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return PostLeaseRequestPublic.model_validate(requests.request_waiver(conn, who, row, penalty=body.penalty, interest=body.interest,
                                                                             fee=body.fee, reason=body.reason))


@router.post("/{contract_no}/deposit-offset", status_code=201, dependencies=[requires("post_lease.money")])
def request_deposit_offset(s: StoreDep, contract_no: str, body: DepositOffsetIn, who: Caller) -> PostLeaseRequestPublic:
    """Ask to set the customer's deposit against the contract's bills (保证金冲抵); on approval it is a
    receipt that tonight's allocation applies by the waterfall. Past maturity the cycle does it itself."""
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return PostLeaseRequestPublic.model_validate(requests.request_deposit_offset(conn, who, row, amount=body.amount, reason=body.reason))


@router.post("/{contract_no}/deposit-refund", status_code=201, dependencies=[requires("post_lease.money")])
def request_deposit_refund(s: StoreDep, contract_no: str, body: DepositRefundIn, who: Caller) -> PostLeaseRequestPublic:
    """Ask to pay the deposit back once the contract is paid off or settled (保证金退还)."""
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return PostLeaseRequestPublic.model_validate(requests.request_deposit_refund(
            conn, who, row, amount=body.amount, reason=body.reason, payee_bank=body.payee_bank, payee_account_no=body.payee_account_no,
            payee_account_name=body.payee_account_name))


@router.get("/{contract_no}/mandates")
def mandates(s: StoreDep, contract_no: str, who: Caller) -> MandatesPublic:
    """The contract's direct-debit mandates, the one in force and those before it (accounts masked)."""
    with s.read() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return MandatesPublic.model_validate({"contract_no": row.contract_no, "mandates": customer_service.mandates(conn, row)})


@router.post("/{contract_no}/mandates", status_code=201, dependencies=[requires("customers.service")])
def replace_mandate(s: StoreDep, contract_no: str, body: MandateIn, who: Caller) -> MandatesPublic:
    """A new direct-debit mandate on a new account, signed by the customer; the one in force, or the one
    the bank stopped (AC04, MD01), is revoked, and the next debit night draws on the new account."""
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return MandatesPublic.model_validate(customer_service.replace_mandate(
            conn, who, row, bank_code=body.bank_code, account_no=body.account_no, method=body.method, otp=body.otp, reason=body.reason,
            provider=s.adapters.signatures, now=s.clock(), today=s.today()))


@router.post("/{contract_no}/conditions", status_code=201, dependencies=[requires("contracts.conditions")])
def add_condition(s: StoreDep, contract_no: str, body: ConditionIn, who: Caller) -> ContractPublic:
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return ContractPublic.model_validate(svc.view(conn, svc.add_condition(conn, who, row, body.kind, body.reference)))


@router.post("/{contract_no}/cancel", dependencies=[requires("contracts.cancel")])
def cancel(s: StoreDep, contract_no: str, body: ContractCancelIn, who: Caller) -> ContractPublic:
    """A contract approved, or signed, and never paid out, cancelled (reason required): the contract
    terminated, mandate revoked, vehicle back in stock, the partner's exposure released."""
    with s.write() as conn:
        return ContractPublic.model_validate(svc.view(conn, svc.cancel(conn, who, svc.get_contract(conn, who, contract_no), body.reason,
                                                                       s.today())))


@router.post("/{contract_no}/disbursement", status_code=201, dependencies=[requires("disbursements.request")])
def request_disbursement(s: StoreDep, contract_no: str, who: Caller) -> DisbursementPublic:
    with s.write() as conn:
        return DisbursementPublic.model_validate(disbursements.request(conn, who, svc.get_contract(conn, who, contract_no)))


@router.get("/{contract_no}/settlement-quote")
def settlement_quote(s: StoreDep, contract_no: str, who: Caller, as_of: date | None = None) -> SettlementQuotePublic:
    with s.read() as conn:
        row = svc.get_contract(conn, who, contract_no)
        today = s.today()
        return SettlementQuotePublic.model_validate(settlement.quote_view(row, settlement.quote(conn, row, as_of or today, today)))


@router.get("/{contract_no}/prepayment-quote")
def prepayment_quote(s: StoreDep, contract_no: str, who: Caller, principal: Annotated[Decimal, Query(gt=0, max_digits=14, decimal_places=2)],
                     option: Annotated[str, Query(pattern="^(shorten_term|lower_instalment)$")]) -> PrepaymentQuotePublic:
    """部分提前还款: what paying `principal` ahead costs today, and the schedule after it (fewer instalments, or smaller ones)."""
    with s.read() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return PrepaymentQuotePublic.model_validate(settlement.prepayment_view(row, settlement.prepayment_quote(conn, row, principal, option,
                                                                                                                s.today())))


@router.post("/{contract_no}/prepayments", status_code=201, dependencies=[requires("settlements.execute")])
def prepay(s: StoreDep, contract_no: str, body: PrepaymentIn, who: Caller) -> PrepaidPublic:
    """The quoted total received: principal paid ahead, the old schedule kept, the rest re-planned, one voucher."""
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return PrepaidPublic.model_validate(settlement.prepay(conn, who, row, principal=body.principal, option=body.option, amount=body.amount,
                                                              reference=body.reference, today=s.today()))


@router.get("/{contract_no}/buy-out-quote")
def buy_out_quote(s: StoreDep, contract_no: str, who: Caller) -> BuyOutQuotePublic:
    """租赁期满留购: the lease's buy-out price and the VAT inside it."""
    with s.read() as conn:
        return BuyOutQuotePublic.model_validate(lease_end.quote(conn, svc.get_contract(conn, who, contract_no)))


@router.post("/{contract_no}/buy-out", status_code=201, dependencies=[requires("settlements.execute")])
def buy_out(s: StoreDep, contract_no: str, body: SettlementIn, who: Caller) -> TitleTransferPublic:
    """The buy-out price received once the lease is paid off: posted, and the title-transfer task (过户) opened."""
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return TitleTransferPublic.model_validate(lease_end.buy_out(conn, who, row, amount=body.amount, reference=body.reference, today=s.today()))


@title_transfers.get("")
def list_title_transfers(s: StoreDep, who: Caller, status: Annotated[str | None, Query(pattern="^(open|done)$")] = "open",
                         limit: Limit = 100, offset: Offset = 0) -> list[TitleTransferPublic]:
    with s.read() as conn:
        return [TitleTransferPublic.model_validate(t) for t in lease_end.listing(conn, who, status, limit, offset)]


@title_transfers.post("/{transfer_id}/complete", dependencies=[requires("title_transfers.complete")])
def complete_title_transfer(s: StoreDep, transfer_id: PathId, body: TitleTransferDoneIn, who: Caller) -> TitleTransferPublic:
    """The registration changed to the lessee: the task is done and the vehicle leaves the books (transferred)."""
    with s.write() as conn:
        return TitleTransferPublic.model_validate(lease_end.complete(conn, who, transfer_id, body.registration_no, s.today()))


@router.post("/{contract_no}/early-settlement", dependencies=[requires("settlements.execute")])
def early_settlement(s: StoreDep, contract_no: str, body: SettlementIn, who: Caller) -> SettledPublic:
    """The quoted amount received today: the contract closes (see the quote for the figures)."""
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return SettledPublic.model_validate(settlement.execute(conn, who, row, amount=body.amount, reference=body.reference, today=s.today()))


@router.post("/{contract_no}/refunds", status_code=201, dependencies=[requires("post_lease.money")])
def request_refund(s: StoreDep, contract_no: str, body: RefundIn, who: Caller) -> PostLeaseRequestPublic:
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return PostLeaseRequestPublic.model_validate(requests.request_refund(
            conn, who, row, amount=body.amount, reason=body.reason, payee_bank=body.payee_bank, payee_account_no=body.payee_account_no,
            payee_account_name=body.payee_account_name))


@router.post("/{contract_no}/balloon-extension", status_code=201, dependencies=[requires("post_lease.extension")])
def request_extension(s: StoreDep, contract_no: str, body: ExtensionIn, who: Caller) -> PostLeaseRequestPublic:
    with s.write() as conn:
        return PostLeaseRequestPublic.model_validate(requests.request_extension(conn, who, svc.get_contract(conn, who, contract_no),
                                                                                 body.months, body.reason, s.today()))


@router.get("/{contract_no}/receipts")
def receipts(s: StoreDep, contract_no: str, who: Caller) -> list[ReceiptPublic]:
    with s.read() as conn:
        return [ReceiptPublic.model_validate(r) for r in payments.list_receipts(conn, who, contract_no)]


@router.get("/{contract_no}/vouchers")
def vouchers(s: StoreDep, contract_no: str, who: Caller) -> list[VoucherPublic]:
    """The contract's vouchers (journal entries and their lines), oldest first."""
    with s.read() as conn:
        return [VoucherPublic.model_validate(v) for v in svc.vouchers(conn, svc.get_contract(conn, who, contract_no))]
