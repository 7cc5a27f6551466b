"""Users and their tokens (admins; `autofin users add` does the same from the command line)."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from autofin.api.deps import Caller, IdempotencyKeyHeader, StoreDep, requires
from autofin.api.idempotency import run_once
from autofin.api.public import MePublic, PublicRouter, TokenPublic, UserCreatedPublic, UserPublic
from autofin.api.schemas import UserIn
from autofin.origination import users as svc

router = PublicRouter(prefix="/users", tags=["users"])


@router.get("/me")
def me(who: Caller) -> MePublic:
    return MePublic(username=who.username, role=who.role, partner_code=who.partner_code)


@router.get("", dependencies=[requires("users.manage")])
def list_users(s: StoreDep) -> list[UserPublic]:
    with s.read() as conn:
        return [UserPublic.model_validate(u) for u in svc.list_users(conn)]


@router.post("", status_code=201, response_model=UserCreatedPublic, dependencies=[requires("users.manage")],
             responses={201: {"description": "the user and their token, shown once"}})
def create_user(s: StoreDep, body: UserIn, who: Caller, idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    with s.write() as conn:
        def create() -> tuple[int, dict]:
            _, token = svc.add_user(conn, body.username, body.role, body.partner_code, by=who)
            return 201, {"username": body.username, "role": body.role, "partner_code": body.partner_code, "token": token}

        return run_once(conn, who, idempotency_key, "POST", "/users", body.model_dump_json(), create, UserCreatedPublic)


@router.post("/{username}/token", status_code=201, dependencies=[requires("users.manage")])
def new_token(s: StoreDep, username: str, who: Caller) -> TokenPublic:
    with s.write() as conn:
        return TokenPublic(username=username, token=svc.rotate_token(conn, username, by=who))
