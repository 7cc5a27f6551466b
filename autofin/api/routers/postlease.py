"""Post-lease: payments entered by hand and in batches, reversal requests, and the approval chain
of every post-lease request (reversal, refund, balloon extension)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from autofin.api.deps import allowed, principal, store
from autofin.api.idempotency import HEADER, run_once
from autofin.api.schemas import (
    Offset,
    PathId,
    PaymentIn,
    PostLeaseDecisionIn,
    ReversalIn,
)
from autofin.origination.access import Principal
from autofin.origination.tabular import read_table
from autofin.postlease import payments, requests

MAX_BATCH_BYTES = 5 * 1024 * 1024

payments_router = APIRouter(prefix="/payments", tags=["post-lease"])
receipts_router = APIRouter(prefix="/receipts", tags=["post-lease"])
requests_router = APIRouter(prefix="/post-lease-requests", tags=["post-lease"])


@payments_router.post("", status_code=201)
def enter_payment(request: Request, body: PaymentIn, who: Principal = Depends(allowed("payments.write")),
                  idempotency_key: str | None = Header(None, alias=HEADER)) -> JSONResponse:
    """An offline transfer or a corporate settlement entry: a receipt that tonight's allocation applies."""
    s = store(request)
    with s.write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/payments", body.model_dump_json(),
                        lambda: (201, payments.record(conn, who, body.model_dump(), s.today())))


@payments_router.post("/batch", responses={422: {"description": "bad rows, every one listed; nothing entered"}})
def enter_batch(request: Request, file: UploadFile = File(..., description="CSV or XLSX with columns " + ", ".join(payments.COLUMNS)),
                who: Principal = Depends(allowed("payments.write"))) -> JSONResponse:
    data = file.file.read(MAX_BATCH_BYTES + 1)
    if len(data) > MAX_BATCH_BYTES:
        return JSONResponse({"detail": [{"loc": ["body", "file"], "msg": f"larger than {MAX_BATCH_BYTES} bytes"}]}, status_code=413)
    rows = read_table(data, file.filename or "")
    s = store(request)
    with s.write() as conn:
        outcome = payments.record_batch(conn, who, rows, s.today())
    return JSONResponse(outcome, status_code=422 if outcome["errors"] else 201)


@receipts_router.post("/{receipt_id}/reversal", status_code=201)
def request_reversal(request: Request, receipt_id: PathId, body: ReversalIn, who: Principal = Depends(allowed("post_lease.money"))) -> dict:
    """Ask to reverse a receipt booked in error; it runs on the chain's last approval."""
    with store(request).write() as conn:
        return requests.request_reversal(conn, who, receipt_id, body.reason, body.reopen)


@requests_router.get("")
def queue(request: Request, status: str | None = Query(None, description="default: pending"), kind: str | None = None,
          role: str | None = Query(None, description="only those waiting for this role"), limit: int = Query(100, ge=1, le=1000),
          offset: Offset = 0, who: Principal = Depends(principal)) -> list[dict]:
    with store(request).read() as conn:
        return requests.queue(conn, who, status, kind, role, limit, offset)


@requests_router.get("/{request_id}")
def get_request(request: Request, request_id: PathId, who: Principal = Depends(principal)) -> dict:
    with store(request).read() as conn:
        return requests.view_one(conn, who, request_id)


@requests_router.post("/{request_id}/decision")
def decide(request: Request, request_id: PathId, body: PostLeaseDecisionIn, who: Principal = Depends(allowed("post_lease.decide"))) -> dict:
    """This level's decision; the last approval executes the request (and posts its voucher)."""
    s = store(request)
    with s.write() as conn:
        return requests.decide(conn, who, request_id, body.decision, body.comment, s.clock(), s.today())
