"""Partners: onboarding, review, rating, limit, account, status, blacklist, batch updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import File, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from autofin.api.deps import Caller, IdempotencyKeyHeader, StoreDep, requires
from autofin.api.idempotency import run_once
from autofin.api.public import PartnerBatchPublic, PartnerBlacklistedPublic, PartnerChangePublic, PartnerPublic, PublicRouter
from autofin.api.schemas import (
    AccountIn,
    BlacklistIn,
    Limit,
    LimitIn,
    Offset,
    PartnerIn,
    PartnerStatusIn,
    RatingIn,
    ReviewIn,
    read_upload,
)
from autofin.origination import partners as svc
from autofin.origination.tabular import read_table

router = PublicRouter(prefix="/partners", tags=["partners"])


@router.get("")
def list_partners(s: StoreDep, who: Caller, status: str | None = None, rating: str | None = None, limit: Limit = 100,
                  offset: Offset = 0) -> list[PartnerPublic]:
    with s.read() as conn:
        return [PartnerPublic.model_validate(p) for p in svc.list_partners(conn, who, status=status, rating=rating, limit=limit, offset=offset)]


@router.get("/{code}")
def get_partner(s: StoreDep, code: str, who: Caller) -> PartnerPublic:
    with s.read() as conn:
        return PartnerPublic.model_validate(svc.view(conn, svc.get_partner(conn, who, code)))


@router.get("/{code}/history")
def partner_history(s: StoreDep, code: str, who: Caller) -> list[PartnerChangePublic]:
    with s.read() as conn:
        return [PartnerChangePublic.model_validate(h) for h in svc.history(conn, svc.get_partner(conn, who, code))]


@router.post("", status_code=201, response_model=PartnerPublic, dependencies=[requires("partners.create")])
def create_partner(s: StoreDep, body: PartnerIn, who: Caller, idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    with s.write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/partners", body.model_dump_json(),
                        lambda: (201, svc.view(conn, svc.create_partner(conn, who, **body.model_dump()))), PartnerPublic)


def _update(s: StoreDep, who: Caller, code: str, change: Callable[[Connection, Any], Any]) -> PartnerPublic:
    with s.write() as conn:
        row = change(conn, svc.get_partner(conn, who, code))
        return PartnerPublic.model_validate(svc.view(conn, row))


@router.post("/{code}/review", dependencies=[requires("partners.review")])
def review(s: StoreDep, code: str, body: ReviewIn, who: Caller) -> PartnerPublic:
    """Onboarding review of a pending partner, or exit review of an exiting one."""
    return _update(s, who, code, lambda conn, row: svc.review(conn, who, row, body.approve, body.reason))


@router.post("/{code}/status", dependencies=[requires("partners.status")])
def set_status(s: StoreDep, code: str, body: PartnerStatusIn, who: Caller) -> PartnerPublic:
    """Suspend, resume (active) or request exit (exiting)."""
    return _update(s, who, code, lambda conn, row: svc.set_status(conn, who, row, body.status, body.reason))


@router.post("/{code}/rating", dependencies=[requires("partners.rate")])
def set_rating(s: StoreDep, code: str, body: RatingIn, who: Caller) -> PartnerPublic:
    return _update(s, who, code, lambda conn, row: svc.set_rating(conn, who, row, body.rating, body.reason))


@router.post("/{code}/credit-limit", dependencies=[requires("partners.limit")])
def set_limit(s: StoreDep, code: str, body: LimitIn, who: Caller) -> PartnerPublic:
    return _update(s, who, code, lambda conn, row: svc.set_limit(conn, who, row, body.credit_limit, body.reason))


@router.put("/{code}/settlement-account", dependencies=[requires("partners.account")])
def set_account(s: StoreDep, code: str, body: AccountIn, who: Caller) -> PartnerPublic:
    return _update(s, who, code, lambda conn, row: svc.set_account(conn, who, row, **body.model_dump()))


@router.post("/{code}/blacklist", dependencies=[requires("partners.blacklist")])
def blacklist(s: StoreDep, code: str, body: BlacklistIn, who: Caller) -> PartnerBlacklistedPublic:
    """Blacklisting flags the partner's open applications and takes its users' write access."""
    with s.write() as conn:
        row, flagged = svc.set_blacklist(conn, who, svc.get_partner(conn, who, code), body.blacklisted, body.reason)
        return PartnerBlacklistedPublic.model_validate({**svc.view(conn, row), "applications_flagged": flagged})


@router.post("/batch", response_model=PartnerBatchPublic, dependencies=[requires("partners.batch")],
             responses={422: {"model": PartnerBatchPublic, "description": "bad rows, every one listed; nothing applied"}})
def batch(s: StoreDep, who: Caller,
          file: Annotated[UploadFile, File(description="CSV or XLSX: partner_code and the columns to change")]) -> JSONResponse:
    """Rating, credit limit, status and settlement account for many partners at once. Every row is
    validated first; one bad row and nothing is applied, and the response lists every bad row."""
    rows = read_table(read_upload(file), file.filename or "")
    with s.write() as conn:
        outcome = PartnerBatchPublic.model_validate(svc.batch_update(conn, who, rows))
    return JSONResponse(outcome.model_dump(mode="json", exclude_unset=True), status_code=422 if outcome.errors else 200)
