"""Disbursement review: the queue, claim/unlock, fraud feedback, single and batch approval,
sending again, and the bank's answer (paid activates the contract)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from autofin.api.deps import Caller, StoreDep, requires
from autofin.api.public import DisbursementApprovalsPublic, DisbursementPaidPublic, DisbursementPublic, PublicRouter
from autofin.api.schemas import BatchApproveIn, DisbursementResultIn, FraudIn, Limit, Offset, PathId
from autofin.origination import disbursements as svc

router = PublicRouter(prefix="/disbursements", tags=["disbursements"])
REVIEWS = [requires("disbursements.review")]


@router.get("")
def queue(s: StoreDep, who: Caller, status: Annotated[str | None, Query(description="default: requested and in_review")] = None,
          limit: Limit = 100, offset: Offset = 0) -> list[DisbursementPublic]:
    with s.read() as conn:
        return [DisbursementPublic.model_validate(d) for d in svc.queue(conn, who, status, limit, offset)]


@router.get("/{disbursement_id}")
def get_disbursement(s: StoreDep, disbursement_id: PathId, who: Caller) -> DisbursementPublic:
    with s.read() as conn:
        return DisbursementPublic.model_validate(svc.view_one(conn, who, disbursement_id))


@router.post("/{disbursement_id}/claim", dependencies=REVIEWS)
def claim(s: StoreDep, disbursement_id: PathId, who: Caller) -> DisbursementPublic:
    with s.write() as conn:
        return DisbursementPublic.model_validate(svc.claim(conn, who, disbursement_id, s.clock()))


@router.post("/{disbursement_id}/unlock", dependencies=REVIEWS)
def unlock(s: StoreDep, disbursement_id: PathId, who: Caller) -> DisbursementPublic:
    with s.write() as conn:
        return DisbursementPublic.model_validate(svc.unlock(conn, who, disbursement_id))


@router.post("/{disbursement_id}/approve", dependencies=REVIEWS)
def approve(s: StoreDep, disbursement_id: PathId, who: Caller) -> DisbursementPublic:
    """Approved and sent to the dealer's settlement account (stays approved if the bank channel is down)."""
    with s.write() as conn:
        return DisbursementPublic.model_validate(svc.approve(conn, who, disbursement_id, s.clock(), s.adapters.payments))


@router.post("/approvals", dependencies=REVIEWS)
def approve_many(s: StoreDep, body: BatchApproveIn, who: Caller) -> DisbursementApprovalsPublic:
    with s.write() as conn:
        results = svc.approve_many(conn, who, body.disbursement_ids, s.clock(), s.adapters.payments)
    return DisbursementApprovalsPublic.model_validate({"approved": sum(r["ok"] for r in results), "refused": sum(not r["ok"] for r in results),
                                                       "results": results})


@router.post("/{disbursement_id}/send", dependencies=REVIEWS)
def send(s: StoreDep, disbursement_id: PathId, who: Caller) -> DisbursementPublic:
    with s.write() as conn:
        return DisbursementPublic.model_validate(svc.send(conn, who, disbursement_id, s.clock(), s.adapters.payments))


@router.post("/{disbursement_id}/result", dependencies=[requires("disbursements.result")])
def result(s: StoreDep, disbursement_id: PathId, body: DisbursementResultIn, who: Caller) -> DisbursementPaidPublic:
    """The bank's answer. paid: the contract becomes active, its instalments are written and the
    disbursement voucher posts, in one transaction."""
    with s.write() as conn:
        return DisbursementPaidPublic.model_validate(svc.result(conn, who, disbursement_id, body.status, body.paid_date, body.reason, s.today()))


@router.post("/{disbursement_id}/fraud", dependencies=[requires("disbursements.fraud")])
def fraud(s: StoreDep, disbursement_id: PathId, body: FraudIn, who: Caller) -> DisbursementPublic:
    """Suspected fraud: the payment is blocked, the customer blacklisted, the partner flagged."""
    with s.write() as conn:
        return DisbursementPublic.model_validate(svc.mark_fraud(conn, who, disbursement_id, body.reason))
