"""Tiered approval: the queue of tasks per tier, claim/unlock, tags, reassignment, decisions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from autofin.api.deps import allowed, principal, store
from autofin.api.schemas import (
    BatchDecisionIn,
    DecisionIn,
    Offset,
    PathId,
    ReassignIn,
    TagsIn,
)
from autofin.origination import approval as svc
from autofin.origination.access import Principal
from autofin.origination.contracts import create_from_application

router = APIRouter(prefix="/approval-tasks", tags=["approval"])


@router.get("")
def queue(request: Request, tier: str | None = None, status: str | None = Query(None, description="default: open and claimed"),
          tag: str | None = None, mine: bool = False, partner_code: str | None = None, business_type: str | None = None,
          limit: int = Query(100, ge=1, le=1000), offset: Offset = 0, who: Principal = Depends(principal)) -> list[dict]:
    with store(request).read() as conn:
        return svc.queue(conn, who, tier=tier, status=status, tag=tag, mine=mine, partner_code=partner_code,
                         business_type=business_type, limit=limit, offset=offset)


@router.get("/{task_id}")
def get_task(request: Request, task_id: PathId, who: Principal = Depends(principal)) -> dict:
    with store(request).read() as conn:
        return svc.view_one(conn, who, task_id)


@router.post("/{task_id}/claim")
def claim(request: Request, task_id: PathId, who: Principal = Depends(allowed("approval.decide"))) -> dict:
    """Lock the task for yourself (the matrix's lock_minutes); 409 if someone else holds it."""
    s = store(request)
    with s.write() as conn:
        return svc.claim(conn, who, task_id, s.clock())


@router.post("/{task_id}/unlock")
def unlock(request: Request, task_id: PathId, who: Principal = Depends(allowed("approval.decide"))) -> dict:
    s = store(request)
    with s.write() as conn:
        return svc.unlock(conn, who, task_id, s.clock())


@router.put("/{task_id}/tags")
def tags(request: Request, task_id: PathId, body: TagsIn, who: Principal = Depends(allowed("approval.decide"))) -> dict:
    with store(request).write() as conn:
        return svc.set_tags(conn, who, task_id, body.tags)


@router.post("/{task_id}/reassign")
def reassign(request: Request, task_id: PathId, body: ReassignIn, who: Principal = Depends(allowed("approval.decide"))) -> dict:
    s = store(request)
    with s.write() as conn:
        return svc.reassign(conn, who, task_id, body.to_user, body.reason, s.clock())


@router.post("/{task_id}/decision")
def decide(request: Request, task_id: PathId, body: DecisionIn, who: Principal = Depends(allowed("approval.decide"))) -> dict:
    """approve, reject (reason_code) or return (comment). The last tier's approval creates the contract."""
    s = store(request)
    with s.write() as conn:
        return svc.decide(conn, who, task_id, body.decision, body.reason_code, body.comment, s.clock(), s.today(), create_from_application)


@router.post("/decisions")
def decide_many(request: Request, body: BatchDecisionIn, who: Principal = Depends(allowed("approval.decide"))) -> dict:
    """Each task judged on its own: the answer lists, per task, what happened (ok, or the status code and why)."""
    s = store(request)
    with s.write() as conn:
        results = svc.decide_many(conn, who, [d.model_dump() for d in body.decisions], s.clock(), s.today(), create_from_application)
    return {"decided": sum(r["ok"] for r in results), "refused": sum(not r["ok"] for r in results), "results": results}
