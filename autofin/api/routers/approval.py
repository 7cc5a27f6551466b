"""Tiered approval: the queue of tasks per tier, claim/unlock, tags, reassignment, decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from autofin.api.deps import Caller, StoreDep, requires
from autofin.api.public import PublicRouter, TaskDecidedPublic, TaskDecisionsPublic, TaskPublic
from autofin.api.schemas import BatchDecisionIn, DecisionIn, Limit, Offset, PathId, ReassignIn, TagsIn
from autofin.origination import approval as svc
from autofin.origination.contracts import create_from_application

router = PublicRouter(prefix="/approval-tasks", tags=["approval"])
DECIDES = [requires("approval.decide")]


@router.get("")
def queue(s: StoreDep, who: Caller, tier: str | None = None,
          status: Annotated[str | None, Query(description="default: open and claimed")] = None,
          tag: str | None = None, mine: bool = False, partner_code: str | None = None, business_type: str | None = None,
          limit: Limit = 100, offset: Offset = 0) -> list[TaskPublic]:
    with s.read() as conn:
        return [TaskPublic.model_validate(t) for t in svc.queue(conn, who, tier=tier, status=status, tag=tag, mine=mine,
                                                                 partner_code=partner_code, business_type=business_type,
                                                                 limit=limit, offset=offset)]


@router.get("/{task_id}")
def get_task(s: StoreDep, task_id: PathId, who: Caller) -> TaskPublic:
    with s.read() as conn:
        return TaskPublic.model_validate(svc.view_one(conn, who, task_id))


@router.post("/{task_id}/claim", dependencies=DECIDES)
def claim(s: StoreDep, task_id: PathId, who: Caller) -> TaskPublic:
    """Lock the task for yourself (the matrix's lock_minutes); 409 if someone else holds it."""
    with s.write() as conn:
        return TaskPublic.model_validate(svc.claim(conn, who, task_id, s.clock()))


@router.post("/{task_id}/unlock", dependencies=DECIDES)
def unlock(s: StoreDep, task_id: PathId, who: Caller) -> TaskPublic:
    with s.write() as conn:
        return TaskPublic.model_validate(svc.unlock(conn, who, task_id, s.clock()))


@router.put("/{task_id}/tags", dependencies=DECIDES)
def tags(s: StoreDep, task_id: PathId, body: TagsIn, who: Caller) -> TaskPublic:
    with s.write() as conn:
        return TaskPublic.model_validate(svc.set_tags(conn, who, task_id, body.tags))


@router.post("/{task_id}/reassign", dependencies=DECIDES)
def reassign(s: StoreDep, task_id: PathId, body: ReassignIn, who: Caller) -> TaskPublic:
    with s.write() as conn:
        return TaskPublic.model_validate(svc.reassign(conn, who, task_id, body.to_user, body.reason, s.clock()))


@router.post("/{task_id}/decision", dependencies=DECIDES)
def decide(s: StoreDep, task_id: PathId, body: DecisionIn, who: Caller) -> TaskDecidedPublic:
    """approve, reject (reason_code) or return (comment). The last tier's approval creates the contract."""
    with s.write() as conn:
        return TaskDecidedPublic.model_validate(svc.decide(conn, who, task_id, body.decision, body.reason_code, body.comment, s.clock(),
                                                           s.today(), create_from_application))


@router.post("/decisions", dependencies=DECIDES)
def decide_many(s: StoreDep, body: BatchDecisionIn, who: Caller) -> TaskDecisionsPublic:
    """Each task judged on its own: the answer lists, per task, what happened (ok, or the status code and why)."""
    with s.write() as conn:
        results = svc.decide_many(conn, who, [d.to_decision() for d in body.decisions], now=s.clock(), today=s.today(),
                                  on_approved=create_from_application)
    return TaskDecisionsPublic.model_validate({"decided": sum(r["ok"] for r in results), "refused": sum(not r["ok"] for r in results),
                                               "results": results})
