"""Partners: onboarding, review, rating, limit, account, status, blacklist, batch updates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import select

from autofin.api.deps import allowed, principal, store
from autofin.api.idempotency import HEADER, run_once
from autofin.api.schemas import (
    AccountIn,
    BlacklistIn,
    LimitIn,
    Offset,
    PartnerIn,
    PartnerStatusIn,
    RatingIn,
    ReviewIn,
)
from autofin.origination import partners as svc
from autofin.origination.access import Principal
from autofin.origination.tabular import read_table
from autofin.store.models import Partner

router = APIRouter(prefix="/partners", tags=["partners"])
MAX_BATCH_BYTES = 5 * 1024 * 1024


@router.get("")
def list_partners(request: Request, status: str | None = None, rating: str | None = None,
                  limit: int = Query(100, ge=1, le=1000), offset: Offset = 0,
                  who: Principal = Depends(principal)) -> list[dict]:
    query = select(Partner).order_by(Partner.partner_code).limit(limit).offset(offset)
    if who.partner_scope is not None:
        query = query.where(Partner.partner_id == who.partner_scope)
    if status:
        query = query.where(Partner.status == status)
    if rating:
        query = query.where(Partner.rating == rating)
    with store(request).read() as conn:
        return [svc.view(conn, row, with_exposure=False) for row in conn.execute(query).all()]


@router.get("/{code}")
def get_partner(request: Request, code: str, who: Principal = Depends(principal)) -> dict:
    with store(request).read() as conn:
        return svc.view(conn, svc.get_partner(conn, who, code))


@router.get("/{code}/history")
def partner_history(request: Request, code: str, who: Principal = Depends(principal)) -> list[dict]:
    with store(request).read() as conn:
        return svc.history(conn, svc.get_partner(conn, who, code))


@router.post("", status_code=201)
def create_partner(request: Request, body: PartnerIn, who: Principal = Depends(allowed("partners.create")),
                   idempotency_key: str | None = Header(None, alias=HEADER)) -> JSONResponse:
    with store(request).write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/partners", body.model_dump_json(),
                        lambda: (201, svc.view(conn, svc.create_partner(conn, who, body.model_dump()))))


def _update(request: Request, who: Principal, code: str, change: Any) -> dict:  # noqa: ANN401
    with store(request).write() as conn:
        row = change(conn, svc.get_partner(conn, who, code))
        return svc.view(conn, row)


@router.post("/{code}/review")
def review(request: Request, code: str, body: ReviewIn, who: Principal = Depends(allowed("partners.review"))) -> dict:
    """Onboarding review of a pending partner, or exit review of an exiting one."""
    return _update(request, who, code, lambda conn, row: svc.review(conn, who, row, body.approve, body.reason))


@router.post("/{code}/status")
def set_status(request: Request, code: str, body: PartnerStatusIn, who: Principal = Depends(allowed("partners.status"))) -> dict:
    """Suspend, resume (active) or request exit (exiting)."""
    return _update(request, who, code, lambda conn, row: svc.set_status(conn, who, row, body.status, body.reason))


@router.post("/{code}/rating")
def set_rating(request: Request, code: str, body: RatingIn, who: Principal = Depends(allowed("partners.rate"))) -> dict:
    return _update(request, who, code, lambda conn, row: svc.set_rating(conn, who, row, body.rating, body.reason))


@router.post("/{code}/credit-limit")
def set_limit(request: Request, code: str, body: LimitIn, who: Principal = Depends(allowed("partners.limit"))) -> dict:
    return _update(request, who, code, lambda conn, row: svc.set_limit(conn, who, row, body.credit_limit, body.reason))


@router.put("/{code}/settlement-account")
def set_account(request: Request, code: str, body: AccountIn, who: Principal = Depends(allowed("partners.account"))) -> dict:
    return _update(request, who, code, lambda conn, row: svc.set_account(conn, who, row, body.model_dump()))


@router.post("/{code}/blacklist")
def blacklist(request: Request, code: str, body: BlacklistIn, who: Principal = Depends(allowed("partners.blacklist"))) -> dict:
    """Blacklisting flags the partner's open applications and takes its users' write access."""
    with store(request).write() as conn:
        row, flagged = svc.set_blacklist(conn, who, svc.get_partner(conn, who, code), body.blacklisted, body.reason)
        return {**svc.view(conn, row), "applications_flagged": flagged}


@router.post("/batch", responses={422: {"description": "bad rows, every one listed; nothing applied"}})
def batch(request: Request, file: UploadFile = File(..., description="CSV or XLSX: partner_code and the columns to change"),
                who: Principal = Depends(allowed("partners.batch"))) -> JSONResponse:
    """Rating, credit limit, status and settlement account for many partners at once. Every row is
    validated first; one bad row and nothing is applied, and the response lists every bad row."""
    data = file.file.read(MAX_BATCH_BYTES + 1)
    if len(data) > MAX_BATCH_BYTES:
        return JSONResponse({"detail": [{"loc": ["body", "file"], "msg": f"larger than {MAX_BATCH_BYTES} bytes"}]}, status_code=413)
    rows = read_table(data, file.filename or "")
    with store(request).write() as conn:
        outcome = svc.batch_update(conn, who, rows)
    return JSONResponse(outcome, status_code=422 if outcome["errors"] else 200)
