"""Post-lease: payments entered by hand and in batches, reversal requests, and the approval chain
of every post-lease request (reversal, refund, balloon extension)."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Query, UploadFile
from fastapi.responses import JSONResponse

from autofin.api.deps import Caller, IdempotencyKeyHeader, StoreDep, requires
from autofin.api.idempotency import run_once
from autofin.api.public import PaymentBatchPublic, PostLeaseDecidedPublic, PostLeaseRequestPublic, PublicRouter, ReceiptPublic
from autofin.api.schemas import Limit, Offset, PathId, PaymentIn, PostLeaseDecisionIn, ReversalIn, read_upload
from autofin.origination.tabular import read_table
from autofin.postlease import payments, requests

payments_router = PublicRouter(prefix="/payments", tags=["post-lease"])
receipts_router = PublicRouter(prefix="/receipts", tags=["post-lease"])
requests_router = PublicRouter(prefix="/post-lease-requests", tags=["post-lease"])


@payments_router.post("", status_code=201, response_model=ReceiptPublic, dependencies=[requires("payments.write")])
def enter_payment(s: StoreDep, body: PaymentIn, who: Caller, idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """An offline transfer or a corporate settlement entry: a receipt that tonight's allocation applies."""
    with s.write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/payments", body.model_dump_json(),
                        lambda: (201, payments.record(conn, who, **body.model_dump(), today=s.today())), ReceiptPublic)


@payments_router.post("/batch", status_code=201, response_model=PaymentBatchPublic, dependencies=[requires("payments.write")],
                      responses={422: {"model": PaymentBatchPublic, "description": "bad rows, every one listed; nothing entered"}})
def enter_batch(s: StoreDep, who: Caller,
                file: Annotated[UploadFile, File(description="CSV or XLSX with columns " + ", ".join(payments.COLUMNS))]) -> JSONResponse:
    rows = read_table(read_upload(file), file.filename or "")
    with s.write() as conn:
        outcome = PaymentBatchPublic.model_validate(payments.record_batch(conn, who, rows, s.today()))
    return JSONResponse(outcome.model_dump(mode="json", exclude_unset=True), status_code=422 if outcome.errors else 201)


@receipts_router.post("/{receipt_id}/reversal", status_code=201, dependencies=[requires("post_lease.money")])
def request_reversal(s: StoreDep, receipt_id: PathId, body: ReversalIn, who: Caller) -> PostLeaseRequestPublic:
    """Ask to reverse a receipt booked in error; it runs on the chain's last approval."""
    with s.write() as conn:
        return PostLeaseRequestPublic.model_validate(requests.request_reversal(conn, who, receipt_id, body.reason, body.reopen))


@requests_router.get("")
def queue(s: StoreDep, who: Caller, status: Annotated[str | None, Query(description="default: pending")] = None, kind: str | None = None,
          role: Annotated[str | None, Query(description="only those waiting for this role")] = None, limit: Limit = 100,
          offset: Offset = 0) -> list[PostLeaseRequestPublic]:
    with s.read() as conn:
        return [PostLeaseRequestPublic.model_validate(r) for r in requests.queue(conn, who, status, kind, role, limit, offset)]


@requests_router.get("/{request_id}")
def get_request(s: StoreDep, request_id: PathId, who: Caller) -> PostLeaseRequestPublic:
    with s.read() as conn:
        return PostLeaseRequestPublic.model_validate(requests.view_one(conn, who, request_id))


@requests_router.post("/{request_id}/decision", dependencies=[requires("post_lease.decide")])
def decide(s: StoreDep, request_id: PathId, body: PostLeaseDecisionIn, who: Caller) -> PostLeaseDecidedPublic:
    """This level's decision; the last approval executes the request (and posts its voucher)."""
    with s.write() as conn:
        return PostLeaseDecidedPublic.model_validate(requests.decide(conn, who, request_id, body.decision, body.comment, s.clock(), s.today()))
