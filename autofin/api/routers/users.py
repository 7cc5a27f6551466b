"""Users and their tokens (admins; `autofin users add` does the same from the command line)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from autofin.api.deps import allowed, principal, store
from autofin.api.idempotency import HEADER, run_once
from autofin.api.schemas import UserIn
from autofin.origination.access import Principal
from autofin.origination.users import add_user, rotate_token
from autofin.store.models import AppUser, Partner

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me")
def me(who: Principal = Depends(principal)) -> dict:
    return {"username": who.username, "role": who.role, "partner_code": who.partner_code}


@router.get("")
def list_users(request: Request, who: Principal = Depends(allowed("users.manage"))) -> list[dict]:
    with store(request).read() as conn:
        rows = conn.execute(select(AppUser.username, AppUser.role, AppUser.is_active, Partner.partner_code)
                            .outerjoin(Partner, Partner.partner_id == AppUser.partner_id).order_by(AppUser.user_id)).all()
    return [{"username": r.username, "role": r.role, "partner_code": r.partner_code, "is_active": bool(r.is_active)} for r in rows]


@router.post("", status_code=201, responses={201: {"description": "the user and their token, shown once"}})
def create_user(request: Request, body: UserIn, who: Principal = Depends(allowed("users.manage")),
                idempotency_key: str | None = Header(None, alias=HEADER)) -> JSONResponse:
    with store(request).write() as conn:
        def create() -> tuple[int, dict]:
            _, token = add_user(conn, body.username, body.role, body.partner_code, by=who)
            return 201, {"username": body.username, "role": body.role, "partner_code": body.partner_code, "token": token}

        return run_once(conn, who, idempotency_key, "POST", "/users", body.model_dump_json(), create)


@router.post("/{username}/token", status_code=201)
def new_token(request: Request, username: str, who: Principal = Depends(allowed("users.manage"))) -> dict:
    with store(request).write() as conn:
        return {"username": username, "token": rotate_token(conn, username, by=who)}
