"""Contracts: the frozen terms and schedule, the PDF, the e-signature, disbursement preconditions
and request, early settlement, refunds and balloon extension requests, receipts and vouchers."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

from autofin.api.deps import allowed, principal, store
from autofin.api.schemas import (
    ConditionIn,
    ContractCancelIn,
    ExtensionIn,
    Offset,
    RefundIn,
    SettlementIn,
    SignIn,
)
from autofin.domain.money import format_minor
from autofin.origination import contracts as svc
from autofin.origination import disbursements
from autofin.origination.access import Principal
from autofin.origination.applications import document_path
from autofin.origination.partners import amount_minor
from autofin.postlease import payments, requests, settlement
from autofin.store.models import Contract, JournalEntry, JournalLine, Partner

router = APIRouter(prefix="/contracts", tags=["contracts"])


@router.get("")
def list_contracts(request: Request, status: str | None = None, partner_code: str | None = None,
                   limit: int = Query(100, ge=1, le=1000), offset: Offset = 0, who: Principal = Depends(principal)) -> list[dict]:
    query = (select(Contract.contract_no, Contract.status, Contract.business_type, Partner.partner_code, Contract.financed_minor,
                    Contract.start_date).join(Partner, Partner.partner_id == Contract.partner_id)
             .order_by(Contract.contract_id.desc()).limit(limit).offset(offset))
    if who.partner_scope is not None:
        query = query.where(Contract.partner_id == who.partner_scope)
    if status:
        query = query.where(Contract.status == status)
    if partner_code:
        query = query.where(Partner.partner_code == partner_code)
    with store(request).read() as conn:
        return [{"contract_no": r.contract_no, "status": r.status, "business_type": r.business_type, "partner_code": r.partner_code,
                 "financed_amount": format_minor(r.financed_minor), "start_date": r.start_date.isoformat()} for r in conn.execute(query)]


@router.get("/{contract_no}")
def get_contract(request: Request, contract_no: str, who: Principal = Depends(principal)) -> dict:
    with store(request).read() as conn:
        return svc.view(conn, svc.get_contract(conn, who, contract_no))


@router.get("/{contract_no}/document", response_class=FileResponse)
def document(request: Request, contract_no: str, who: Principal = Depends(principal)) -> Response:
    """The contract as PDF. Rendered on first request by someone who collects the signature (dealer,
    sales) and kept: its sha256 (header X-Document-SHA256) is what the customer signs. Others get
    the same bytes (the rendering is deterministic) without anything being written."""
    s = store(request)
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


@router.post("/{contract_no}/sign")
def sign(request: Request, contract_no: str, body: SignIn, who: Principal = Depends(allowed("contracts.sign"))) -> dict:
    s = store(request)
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return svc.view(conn, svc.sign(conn, who, row, body.model_dump(), s.adapters.signatures, s.clock(), s.today()))


@router.post("/{contract_no}/conditions", status_code=201)
def add_condition(request: Request, contract_no: str, body: ConditionIn, who: Principal = Depends(allowed("contracts.conditions"))) -> dict:
    with store(request).write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return svc.view(conn, svc.add_condition(conn, who, row, body.kind, body.reference))


@router.post("/{contract_no}/cancel")
def cancel(request: Request, contract_no: str, body: ContractCancelIn, who: Principal = Depends(allowed("contracts.cancel"))) -> dict:
    """Cancel a contract never paid out (no disbursement, or one blocked for fraud or failed):
    terminated, mandate revoked, vehicle back in stock, the partner's exposure released."""
    s = store(request)
    with s.write() as conn:
        return svc.view(conn, svc.cancel(conn, who, svc.get_contract(conn, who, contract_no), body.reason, s.today()))


@router.post("/{contract_no}/disbursement", status_code=201)
def request_disbursement(request: Request, contract_no: str, who: Principal = Depends(allowed("disbursements.request"))) -> dict:
    with store(request).write() as conn:
        return disbursements.request(conn, who, svc.get_contract(conn, who, contract_no))


@router.get("/{contract_no}/settlement-quote")
def settlement_quote(request: Request, contract_no: str, as_of: date | None = None, who: Principal = Depends(principal)) -> dict:
    s = store(request)
    with s.read() as conn:
        row = svc.get_contract(conn, who, contract_no)
        today = s.today()
        return settlement.quote_view(row, settlement.quote(conn, row, as_of or today, today))


@router.post("/{contract_no}/early-settlement")
def early_settlement(request: Request, contract_no: str, body: SettlementIn, who: Principal = Depends(allowed("settlements.execute"))) -> dict:
    """The quoted amount received today: the contract closes (see the quote for the figures)."""
    s = store(request)
    with s.write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return settlement.execute(conn, who, row, amount_minor("amount", body.amount, positive=True), body.reference, s.today())


@router.post("/{contract_no}/refunds", status_code=201)
def request_refund(request: Request, contract_no: str, body: RefundIn, who: Principal = Depends(allowed("post_lease.money"))) -> dict:
    with store(request).write() as conn:
        row = svc.get_contract(conn, who, contract_no)
        return requests.request_refund(conn, who, row, amount_minor("amount", body.amount, positive=True), body.reason,
                                       {"bank": body.payee_bank, "account_no": body.payee_account_no, "account_name": body.payee_account_name})


@router.post("/{contract_no}/balloon-extension", status_code=201)
def request_extension(request: Request, contract_no: str, body: ExtensionIn,
                      who: Principal = Depends(allowed("post_lease.extension"))) -> dict:
    s = store(request)
    with s.write() as conn:
        return requests.request_extension(conn, who, svc.get_contract(conn, who, contract_no), body.months, body.reason, s.today())


@router.get("/{contract_no}/receipts")
def receipts(request: Request, contract_no: str, who: Principal = Depends(principal)) -> list[dict]:
    with store(request).read() as conn:
        return payments.list_receipts(conn, who, contract_no)


@router.get("/{contract_no}/vouchers")
def vouchers(request: Request, contract_no: str, who: Principal = Depends(principal)) -> list[dict]:
    """The contract's vouchers (journal entries and their lines), oldest first."""
    with store(request).read() as conn:
        row = svc.get_contract(conn, who, contract_no)
        lines = conn.execute(select(JournalEntry.journal_entry_id, JournalEntry.entry_date, JournalEntry.event_type, JournalLine.line_no,
                                    JournalLine.account_code, JournalLine.debit_minor, JournalLine.credit_minor)
                             .join(JournalLine, JournalLine.journal_entry_id == JournalEntry.journal_entry_id)
                             .where(JournalEntry.contract_id == row.contract_id)
                             .order_by(JournalEntry.journal_entry_id, JournalLine.line_no)).all()
    out: dict[int, dict] = {}
    for line in lines:
        entry = out.setdefault(line.journal_entry_id, {"entry_id": line.journal_entry_id, "date": line.entry_date.isoformat(),
                                                       "event_type": line.event_type, "lines": [], "debit": 0, "credit": 0})
        entry["lines"].append({"account": line.account_code, "debit": format_minor(line.debit_minor), "credit": format_minor(line.credit_minor)})
        entry["debit"] += line.debit_minor
        entry["credit"] += line.credit_minor
    return [{**e, "debit": format_minor(e["debit"]), "credit": format_minor(e["credit"])} for e in out.values()]
