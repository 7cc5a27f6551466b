"""Disbursement review: the queue, claim/unlock, fraud feedback, single and batch approval,
sending again, and the bank's answer (paid activates the contract)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from autofin.api.deps import allowed, principal, store
from autofin.api.schemas import (
    BatchApproveIn,
    DisbursementResultIn,
    FraudIn,
    Offset,
    PathId,
)
from autofin.origination import disbursements as svc
from autofin.origination.access import Principal

router = APIRouter(prefix="/disbursements", tags=["disbursements"])


@router.get("")
def queue(request: Request, status: str | None = Query(None, description="default: requested and in_review"),
          limit: int = Query(100, ge=1, le=1000), offset: Offset = 0, who: Principal = Depends(principal)) -> list[dict]:
    with store(request).read() as conn:
        return svc.queue(conn, who, status, limit, offset)


@router.get("/{disbursement_id}")
def get_disbursement(request: Request, disbursement_id: PathId, who: Principal = Depends(principal)) -> dict:
    with store(request).read() as conn:
        return svc.view_one(conn, who, disbursement_id)


@router.post("/{disbursement_id}/claim")
def claim(request: Request, disbursement_id: PathId, who: Principal = Depends(allowed("disbursements.review"))) -> dict:
    s = store(request)
    with s.write() as conn:
        return svc.claim(conn, who, disbursement_id, s.clock())


@router.post("/{disbursement_id}/unlock")
def unlock(request: Request, disbursement_id: PathId, who: Principal = Depends(allowed("disbursements.review"))) -> dict:
    with store(request).write() as conn:
        return svc.unlock(conn, who, disbursement_id)


@router.post("/{disbursement_id}/approve")
def approve(request: Request, disbursement_id: PathId, who: Principal = Depends(allowed("disbursements.review"))) -> dict:
    """Approved and sent to the dealer's settlement account (stays approved if the bank channel is down)."""
    s = store(request)
    with s.write() as conn:
        return svc.approve(conn, who, disbursement_id, s.clock(), s.adapters.payments)


@router.post("/approvals")
def approve_many(request: Request, body: BatchApproveIn, who: Principal = Depends(allowed("disbursements.review"))) -> dict:
    s = store(request)
    with s.write() as conn:
        results = svc.approve_many(conn, who, body.disbursement_ids, s.clock(), s.adapters.payments)
    return {"approved": sum(r["ok"] for r in results), "refused": sum(not r["ok"] for r in results), "results": results}


@router.post("/{disbursement_id}/send")
def send(request: Request, disbursement_id: PathId, who: Principal = Depends(allowed("disbursements.review"))) -> dict:
    s = store(request)
    with s.write() as conn:
        return svc.send(conn, who, disbursement_id, s.clock(), s.adapters.payments)


@router.post("/{disbursement_id}/result")
def result(request: Request, disbursement_id: PathId, body: DisbursementResultIn, who: Principal = Depends(allowed("disbursements.result"))) -> dict:
    """The bank's answer. paid: the contract becomes active, its instalments are written and the
    disbursement voucher posts, in one transaction."""
    s = store(request)
    with s.write() as conn:
        return svc.result(conn, who, disbursement_id, body.status, body.paid_date, body.reason, s.today())


@router.post("/{disbursement_id}/fraud")
def fraud(request: Request, disbursement_id: PathId, body: FraudIn, who: Principal = Depends(allowed("disbursements.fraud"))) -> dict:
    """Suspected fraud: the payment is blocked, the customer blacklisted, the partner flagged."""
    with store(request).write() as conn:
        return svc.mark_fraud(conn, who, disbursement_id, body.reason)
