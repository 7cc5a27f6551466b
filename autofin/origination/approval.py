"""Tiered approval (审批): the approval matrix turns a pre-approved or referred application into
one task per tier, opened one at a time; credit staff claim, decide, hand over and tag them.

Who may act on a task:
- its tier or a higher one (a manager may take an officer's task);
- if it is assigned, only the assignee; if it is locked, only the lock owner until the lock expires;
- never the user who created the application, and never twice on one application;
- never the last active person who could decide a higher tier of the application's route (who
  would then be barred from it: the route would never finish).

Every change is one conditional UPDATE whose WHERE clause restates those conditions, so of two
approvers racing on one task exactly one changes it; the other finds nothing changed and gets 409.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from autofin.domain.approval import CREDIT_TIERS, tier_rank
from autofin.domain.errors import InputError
from autofin.domain.lifecycle import APPLICATION
from autofin.domain.money import from_minor
from autofin.origination.access import Principal, scope
from autofin.origination.audit import audit
from autofin.origination.errors import Conflict, Forbidden, NotFound, one_by_one
from autofin.origination.users import usernames
from autofin.reference import approval_matrix
from autofin.store.engine import iso, utc
from autofin.store.models import Application, ApprovalTask, AppUser, Decision, Partner

OPEN = ("open", "claimed")
DECISIONS = {"approve": "approved", "reject": "rejected", "return": "returned"}


# ---------------------------------------------------------------- routing


def open_first_task(conn: Connection, application_id: int, *, outcome: str, grade: str | None, business_type: str,
                    financed_minor: int, now: datetime) -> list[str]:
    """The tiers the matrix gives this application, and the first one's task opened."""
    route = list(approval_matrix().route(outcome=outcome, grade=grade, business_type=business_type, financed=from_minor(financed_minor)))
    _open_task(conn, application_id, route, 1, now)
    return route


_OPEN_TASK = insert(ApprovalTask)  # built once: `.values(...)` per call cost 165 µs a submit, against 21 µs


def _open_task(conn: Connection, application_id: int, route: list[str], seq: int, now: datetime) -> None:
    conn.execute(_OPEN_TASK, {"application_id": application_id, "tier": route[seq - 1], "tier_seq": seq, "status": "open",
                              "route": route, "created_at": now})


# ---------------------------------------------------------------- reading


def get_task(conn: Connection, task_id: int) -> Any:
    row = conn.execute(select(ApprovalTask).where(ApprovalTask.approval_task_id == task_id)).first()
    if row is None:
        raise NotFound("approval task", task_id)
    return row


def queue(conn: Connection, who: Principal, *, tier: str | None, status: str | None, tag: str | None, mine: bool,
          partner_code: str | None, business_type: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Tasks with their application, oldest first (first in, first reviewed)."""
    query = (select(ApprovalTask.__table__, Application.application_no, Application.business_type, Application.financed_minor,
                    Partner.partner_code)
             .join(Application, Application.application_id == ApprovalTask.application_id)
             .join(Partner, Partner.partner_id == Application.partner_id)
             .where(scope(who, Application)).order_by(ApprovalTask.approval_task_id).limit(limit).offset(offset))
    if tier:
        query = query.where(ApprovalTask.tier == tier)
    query = query.where(ApprovalTask.status.in_(OPEN) if status in (None, "") else ApprovalTask.status == status)
    if mine:
        query = query.where(or_(ApprovalTask.assignee_user_id == who.user_id, ApprovalTask.lock_owner_user_id == who.user_id))
    if partner_code:
        query = query.where(Partner.partner_code == partner_code)
    if business_type:
        query = query.where(Application.business_type == business_type)
    rows = conn.execute(query).all()
    if tag:
        rows = [r for r in rows if tag in (r.tags or [])]
    names = usernames(conn, {u for r in rows for u in (r.assignee_user_id, r.lock_owner_user_id) if u})
    return [view(r, names, application_no=r.application_no, business_type=r.business_type,
                 financed_minor=r.financed_minor, partner_code=r.partner_code) for r in rows]


def view(task: Any, names: Mapping[int, str], **application: Any) -> dict[str, Any]:
    out = {
        "task_id": task.approval_task_id, "tier": task.tier, "tier_seq": task.tier_seq, "route": task.route, "status": task.status,
        "assignee": names.get(task.assignee_user_id), "locked_by": names.get(task.lock_owner_user_id),
        "lock_expires_at": iso(task.lock_expires_at), "tags": task.tags or [], "outcome": task.outcome,
        "reason_code": task.reason_code, "comment": task.comment, "decided_by": names.get(task.decided_by),
        "decided_at": iso(task.decided_at), "turnaround_seconds": task.turnaround_seconds, "created_at": iso(task.created_at),
    }
    if application:
        financed = application.pop("financed_minor")
        out.update(application, financed_amount=str(from_minor(int(financed))))
    return out


def view_one(conn: Connection, who: Principal, task_id: int) -> dict[str, Any]:
    task = get_task(conn, task_id)
    app = _application(conn, who, task)
    names = usernames(conn, {u for u in (task.assignee_user_id, task.lock_owner_user_id, task.decided_by) if u})
    partner_code = conn.execute(select(Partner.partner_code).where(Partner.partner_id == app.partner_id)).scalar_one()
    return view(task, names, application_no=app.application_no, business_type=app.business_type, financed_minor=app.financed_minor,
                partner_code=partner_code)


def _application(conn: Connection, who: Principal, task: Any) -> Any:
    app = conn.execute(select(Application).where(Application.application_id == task.application_id, scope(who, Application))).first()
    if app is None:
        raise NotFound("approval task", task.approval_task_id)
    return app


# ---------------------------------------------------------------- acting


def _may_handle(who: Principal, task: Any) -> None:
    if tier_rank(who.role) < tier_rank(task.tier):
        raise Forbidden(f"task {task.approval_task_id} is for {task.tier}; role {who.role} may not handle it")


# the conditions under which `me` may change an open task, as SQL
_ACTIONABLE = and_(
    ApprovalTask.approval_task_id == bindparam("task_id"),
    ApprovalTask.status.in_(OPEN),
    or_(ApprovalTask.assignee_user_id.is_(None), ApprovalTask.assignee_user_id == bindparam("me")),
    or_(ApprovalTask.lock_owner_user_id.is_(None), ApprovalTask.lock_owner_user_id == bindparam("me"),
        ApprovalTask.lock_expires_at <= bindparam("now")),
)


def _why_not(conn: Connection, task_id: int, me: int, now: datetime) -> Exception:
    """Why a conditional update changed nothing, read after the fact (409 in every case)."""
    task = get_task(conn, task_id)
    if task.status not in OPEN:
        return Conflict(f"task {task_id} is already {task.status}" + (f" by {usernames(conn, {task.decided_by}).get(task.decided_by)}"
                                                                      if task.decided_by else ""))
    if task.assignee_user_id not in (None, me):
        return Conflict(f"task {task_id} is assigned to {usernames(conn, {task.assignee_user_id})[task.assignee_user_id]}")
    owner = usernames(conn, {task.lock_owner_user_id}).get(task.lock_owner_user_id)
    return Conflict(f"task {task_id} is locked by {owner} until {iso(task.lock_expires_at)}")


def _check_person(conn: Connection, who: Principal, app: Any, task: Any) -> None:
    if app.created_by == who.user_id:
        raise Forbidden(f"{who.username} created application {app.application_no}; nobody approves their own application")
    # this submission's tasks (an application returned and submitted again is a new round)
    decided = conn.execute(select(ApprovalTask.decided_by, ApprovalTask.approval_task_id, ApprovalTask.tier).where(
        ApprovalTask.application_id == app.application_id, ApprovalTask.decided_by.is_not(None),
        ApprovalTask.created_at >= app.submitted_at)).all()
    deciders = {row.decided_by for row in decided}
    earlier = next((row for row in decided if row.decided_by == who.user_id), None)
    if earlier is not None:
        raise Conflict(f"{who.username} already decided on application {app.application_no} (task {earlier.approval_task_id}, "
                       f"{earlier.tier}); one person decides once per application")
    _check_not_stranding(conn, who, app, task, deciders)


def _check_not_stranding(conn: Connection, who: Principal, app: Any, task: Any, deciders: set[int]) -> None:
    """No deadlock: one person decides once per application, so whoever takes a lower tier must not be
    the last active person left who could decide a higher tier of the route. Such a decision is
    refused, naming the tier it would strand; the lower tier is left to someone below that tier."""
    excluded = deciders | {who.user_id} | ({app.created_by} if app.created_by is not None else set())
    for tier in list(task.route)[task.tier_seq:]:
        able = [r for r in CREDIT_TIERS if tier_rank(r) >= tier_rank(tier)]
        others = conn.execute(select(func.count()).select_from(AppUser).where(
            AppUser.role.in_(able), AppUser.is_active.is_(True), AppUser.user_id.not_in(excluded))).scalar_one()
        if not others:
            raise Conflict(f"{who.username} is the last active {' or '.join(able)} who could decide the {tier} tier of application "
                           f"{app.application_no} (one person decides once per application): leave its {task.tier} tier to someone else")


def claim(conn: Connection, who: Principal, task_id: int, now: datetime) -> dict[str, Any]:
    task = get_task(conn, task_id)
    app = _application(conn, who, task)
    _may_handle(who, task)
    _check_person(conn, who, app, task)
    expires = now + timedelta(minutes=approval_matrix().lock_minutes)
    changed = conn.execute(
        update(ApprovalTask).where(_ACTIONABLE).values(status="claimed", lock_owner_user_id=who.user_id, lock_expires_at=expires,
                                                     claimed_at=func.coalesce(ApprovalTask.claimed_at, now)),
        {"task_id": task_id, "me": who.user_id, "now": now}).rowcount
    if not changed:
        raise _why_not(conn, task_id, who.user_id, now)
    audit(conn, who, "approval_task.claim", "approval_task", task_id, {"status": task.status}, {"status": "claimed", "lock_expires_at": expires})
    return view_one(conn, who, task_id)


def unlock(conn: Connection, who: Principal, task_id: int, now: datetime) -> dict[str, Any]:
    """The lock owner lets the task go; a higher tier may break someone else's lock."""
    task = get_task(conn, task_id)
    _application(conn, who, task)
    _may_handle(who, task)
    if task.status != "claimed":
        raise Conflict(f"task {task_id} is {task.status}; only a claimed task is unlocked")
    if task.lock_owner_user_id != who.user_id and tier_rank(who.role) <= tier_rank(task.tier):
        raise Conflict(f"task {task_id} is locked by {usernames(conn, {task.lock_owner_user_id})[task.lock_owner_user_id]}; "
                       "only its owner or a higher tier unlocks it")
    conn.execute(update(ApprovalTask).where(ApprovalTask.approval_task_id == task_id, ApprovalTask.status == "claimed")
                 .values(status="open", lock_owner_user_id=None, lock_expires_at=None))
    audit(conn, who, "approval_task.unlock", "approval_task", task_id, {"locked_by": task.lock_owner_user_id}, {"status": "open"})
    return view_one(conn, who, task_id)


def set_tags(conn: Connection, who: Principal, task_id: int, tags: Sequence[str]) -> dict[str, Any]:
    task = get_task(conn, task_id)
    _application(conn, who, task)
    _may_handle(who, task)
    clean = sorted({t.strip() for t in tags if t.strip()})
    conn.execute(update(ApprovalTask).where(ApprovalTask.approval_task_id == task_id).values(tags=clean))
    audit(conn, who, "approval_task.tags", "approval_task", task_id, {"tags": task.tags or []}, {"tags": clean})
    return view_one(conn, who, task_id)


def reassign(conn: Connection, who: Principal, task_id: int, to_username: str, reason: str | None, now: datetime) -> dict[str, Any]:
    """Hand the task to a user of the same or a higher tier. The assignee or lock owner hands over
    their own task; a higher tier than the task's reassigns any. The lock is released."""
    task = get_task(conn, task_id)
    _application(conn, who, task)
    _may_handle(who, task)
    if task.status not in OPEN:
        raise Conflict(f"task {task_id} is {task.status}; only an open task is reassigned")
    own = who.user_id in (task.assignee_user_id, task.lock_owner_user_id)
    if not own and tier_rank(who.role) <= tier_rank(task.tier):
        raise Forbidden(f"task {task_id} is not yours; a tier above {task.tier} reassigns it")
    target = conn.execute(select(AppUser).where(AppUser.username == to_username, AppUser.is_active.is_(True))).first()
    if target is None:
        raise InputError("to_user", f"no active user {to_username!r}")
    if tier_rank(target.role) < tier_rank(task.tier):
        raise InputError("to_user", f"{to_username} is {target.role}; task {task_id} needs {task.tier} or higher "
                                    f"({', '.join(CREDIT_TIERS[tier_rank(task.tier):])})")
    conn.execute(update(ApprovalTask).where(ApprovalTask.approval_task_id == task_id)
                 .values(assignee_user_id=target.user_id, status="open", lock_owner_user_id=None, lock_expires_at=None))
    audit(conn, who, "approval_task.reassign", "approval_task", task_id,
          {"assignee_user_id": task.assignee_user_id, "lock_owner_user_id": task.lock_owner_user_id},
          {"assignee": to_username, "reason": reason})
    return view_one(conn, who, task_id)


def decide(conn: Connection, who: Principal, task_id: int, decision: str, reason_code: str | None, comment: str | None,
           now: datetime, today: date, on_approved: Any) -> dict[str, Any]:
    """approve | reject (with a reason code of the matrix) | return (with a comment saying what is
    missing). The last tier's approval calls `on_approved(conn, application)`, which creates the contract."""
    if decision not in DECISIONS:
        raise InputError("decision", f"one of {', '.join(DECISIONS)}")
    reasons = approval_matrix().reject_reasons
    if decision == "reject" and reason_code not in reasons:
        raise InputError("reason_code", f"a rejection names one of {', '.join(reasons)}")
    if decision == "return" and not (comment or "").strip():
        raise InputError("comment", "say what is missing when returning an application")
    task = get_task(conn, task_id)
    app = _application(conn, who, task)
    _may_handle(who, task)
    _check_person(conn, who, app, task)
    target = {"approve": "in_approval" if task.tier_seq < len(task.route) else "approved", "reject": "rejected", "return": "draft"}[decision]
    if app.status != target:  # in_approval → in_approval (a middle tier) is no move
        APPLICATION.check(app.status, target)
    created = utc(task.created_at) or now  # written with the task; never empty
    status = DECISIONS[decision]
    changed = conn.execute(
        update(ApprovalTask).where(_ACTIONABLE).values(
            status=status, outcome=decision, reason_code=reason_code if decision == "reject" else None, comment=comment,
            decided_by=who.user_id, decided_at=now, turnaround_seconds=max(int((now - created).total_seconds()), 0),
            lock_owner_user_id=None, lock_expires_at=None),
        {"task_id": task_id, "me": who.user_id, "now": now}).rowcount
    if not changed:
        raise _why_not(conn, task_id, who.user_id, now)
    conn.execute(insert(Decision).values(
        application_id=app.application_id, partner_id=app.partner_id, kind="approval", outcome=decision,
        reason_code=reason_code if decision == "reject" else None,
        details={"task_id": task_id, "tier": task.tier, "tier_seq": task.tier_seq, "route": task.route, "comment": comment},
        decided_by=who.user_id, decided_at=now))
    audit(conn, who, f"approval_task.{decision}", "approval_task", task_id, {"status": task.status},
          {"status": status, "reason_code": reason_code, "comment": comment})
    if app.status != target:
        conn.execute(update(Application).where(Application.application_id == app.application_id).values(status=target))
        audit(conn, who, f"application.{target}", "application", app.application_no, {"status": app.status}, {"status": target})
    result: dict[str, Any] = {"task_id": task_id, "status": status, "application_no": app.application_no, "application_status": target}
    if decision == "approve" and target == "in_approval":
        _open_task(conn, app.application_id, list(task.route), task.tier_seq + 1, now)
        result["next_tier"] = task.route[task.tier_seq]
    elif target == "approved":
        contract = on_approved(conn, who, conn.execute(select(Application).where(Application.application_id == app.application_id)).one(),
                               now, today)
        result.update(application_status="contracted", contract_no=contract.contract_no, contract_status=contract.status)
    return result


@dataclass(frozen=True, kw_only=True)
class TaskDecision:
    task_id: int
    decision: str  # approve | reject (with reason_code) | return (with comment)
    reason_code: str | None = None
    comment: str | None = None


def decide_many(conn: Connection, who: Principal, decisions: Sequence[TaskDecision], *, now: datetime, today: date,
                on_approved: Any) -> list[dict[str, Any]]:
    """Each task judged on its own, in its own savepoint: one refused leaves the others decided."""
    return one_by_one(conn, [(d.task_id, d) for d in decisions], "task_id", lambda d: decide(
        conn, who, d.task_id, d.decision, d.reason_code, d.comment, now, today, on_approved))


def cancel_open_tasks(conn: Connection, application_id: int) -> int:
    """An application cancelled or sent back leaves no task open."""
    return conn.execute(update(ApprovalTask).where(ApprovalTask.application_id == application_id, ApprovalTask.status.in_(OPEN))
                        .values(status="cancelled", lock_owner_user_id=None, lock_expires_at=None)).rowcount
