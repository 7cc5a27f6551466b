"""Disbursement review: the queue, claim/unlock, fraud feedback, single and batch approval (which
queues the payouts), queueing failed payouts again, and a payment made by hand (activates the
contract); and the payouts themselves (/payouts): listed, and a failed one sent again."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from autofin.api.deps import Caller, StoreDep, requires
from autofin.api.public import DisbursementApprovalsPublic, DisbursementPaidPublic, DisbursementPublic, PayoutPublic, PublicRouter
from autofin.api.schemas import BatchApproveIn, DisbursementResultIn, FraudIn, Limit, Offset, PathId, PayoutRetryIn
from autofin.origination import disbursements as svc
from autofin.servicing import payouts as payout_svc

router = PublicRouter(prefix="/disbursements", tags=["disbursements"])
payouts = PublicRouter(prefix="/payouts", tags=["disbursements"])
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
    """Approved: one payout per payee (dealer, tax, insurer, GPS supplier) queued for the night's pain.001 file."""
    with s.write() as conn:
        return DisbursementPublic.model_validate(svc.approve(conn, who, disbursement_id, s.clock(), s.today()))


@router.post("/approvals", dependencies=REVIEWS)
def approve_many(s: StoreDep, body: BatchApproveIn, who: Caller) -> DisbursementApprovalsPublic:
    with s.write() as conn:
        results = svc.approve_many(conn, who, body.disbursement_ids, s.clock(), s.today())
    return DisbursementApprovalsPublic.model_validate({"approved": sum(r["ok"] for r in results), "refused": sum(not r["ok"] for r in results),
                                                       "results": results})


@router.post("/{disbursement_id}/send", dependencies=REVIEWS)
def send(s: StoreDep, disbursement_id: PathId, who: Caller) -> DisbursementPublic:
    """A failed disbursement's failed payouts queued again (the dealer's to the partner's settlement account as it is now)."""
    with s.write() as conn:
        return DisbursementPublic.model_validate(svc.send(conn, who, disbursement_id, s.today()))


@router.post("/{disbursement_id}/result", dependencies=[requires("disbursements.result")])
def result(s: StoreDep, disbursement_id: PathId, body: DisbursementResultIn, who: Caller) -> DisbursementPaidPublic:
    """Paid outside the payout files (online banking): the payouts not with the bank are recorded paid,
    the contract becomes active, its instalments are written and the vouchers post, in one transaction."""
    with s.write() as conn:
        return DisbursementPaidPublic.model_validate(svc.result(conn, who, disbursement_id, body.status, body.paid_date, body.reason, s.today()))


@router.post("/{disbursement_id}/fraud", dependencies=[requires("disbursements.fraud")])
def fraud(s: StoreDep, disbursement_id: PathId, body: FraudIn, who: Caller) -> DisbursementPublic:
    """Suspected fraud: the payment is blocked, the customer blacklisted, the partner flagged."""
    with s.write() as conn:
        return DisbursementPublic.model_validate(svc.mark_fraud(conn, who, disbursement_id, body.reason))


@payouts.get("", dependencies=REVIEWS)
def list_payouts(s: StoreDep, who: Caller, status: Annotated[str | None, Query(pattern="^(pending|sent|paid|failed|retried|cancelled)$")] = None,
                 kind: Annotated[str | None, Query(pattern="^(disbursement|refund|deposit_refund)$")] = None,
                 contract_no: Annotated[str | None, Query(max_length=32)] = None, limit: Limit = 100, offset: Offset = 0) -> list[PayoutPublic]:
    """Money going out by credit transfer; `status=failed` is the work queue of payouts to send again."""
    with s.read() as conn:
        return [PayoutPublic.model_validate(p) for p in payout_svc.listing(conn, who, status=status, kind=kind, contract_no=contract_no,
                                                                          limit=limit, offset=offset)]


@payouts.post("/{payout_id}/retry", status_code=201, dependencies=[requires("payouts.retry")])
def retry(s: StoreDep, payout_id: PathId, body: PayoutRetryIn, who: Caller) -> PayoutPublic:
    """A failed payout queued again as a new payout (attempt + 1, a new end-to-end id), to the corrected account if given."""
    with s.write() as conn:
        account = None if body.account is None else body.account.model_dump()
        return PayoutPublic.model_validate(payout_svc.retry(conn, who, payout_id, account, s.today(), body.reason))
