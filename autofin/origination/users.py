"""API users: created from the command line (`autofin users add`) or by an admin, each with a
random bearer token shown once and stored only as its SHA-256 (tokens are 256 random bits, so a
plain digest is as strong as a slow hash would be, and lets the lookup be one indexed read)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Connection, bindparam, insert, select, update

from autofin.domain.errors import InputError
from autofin.origination.access import ROLES, Principal
from autofin.origination.audit import audit
from autofin.store.models import AppUser, Partner


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "af_" + secrets.token_urlsafe(32)


def add_user(conn: Connection, username: str, role: str, partner_code: str | None = None, *, by: Principal | str = "cli") -> tuple[int, str]:
    """A new user and their token (returned once, never stored)."""
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise InputError("username", "1 to 64 characters")
    if role not in ROLES:
        raise InputError("role", f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    partner_id = None
    if role == "dealer":
        if not partner_code:
            raise InputError("partner", "a dealer user belongs to a partner: give its code")
        partner_id = conn.execute(select(Partner.partner_id).where(Partner.partner_code == partner_code)).scalar()
        if partner_id is None:
            raise InputError("partner", f"no partner {partner_code}")
    elif partner_code:
        raise InputError("partner", f"only dealer users belong to a partner, not {role}")
    if conn.execute(select(AppUser.user_id).where(AppUser.username == username)).scalar() is not None:
        raise InputError("username", f"{username} exists already")
    token = new_token()
    user_id = conn.execute(
        insert(AppUser).values(username=username, role=role, partner_id=partner_id, token_hash=token_hash(token)).returning(AppUser.user_id)
    ).scalar_one()
    audit(conn, by, "user.add", "app_user", user_id, None, {"username": username, "role": role, "partner": partner_code})
    return user_id, token


def rotate_token(conn: Connection, username: str, *, by: Principal | str = "cli") -> str:
    user_id = conn.execute(select(AppUser.user_id).where(AppUser.username == username)).scalar()
    if user_id is None:
        raise InputError("username", f"no user {username}")
    token = new_token()
    conn.execute(update(AppUser).where(AppUser.user_id == user_id).values(token_hash=token_hash(token)))
    audit(conn, by, "user.rotate_token", "app_user", user_id)
    return token


_BY_TOKEN = (
    select(AppUser.user_id, AppUser.username, AppUser.role, AppUser.partner_id, AppUser.is_active, Partner.partner_code, Partner.is_blacklisted)
    .outerjoin(Partner, Partner.partner_id == AppUser.partner_id)
    .where(AppUser.token_hash == bindparam("token_hash"))
)


def authenticate(conn: Connection, token: str) -> Principal | None:
    row = conn.execute(_BY_TOKEN, {"token_hash": token_hash(token)}).first()
    if row is None or not row.is_active:
        return None
    return Principal(row.user_id, row.username, row.role, row.partner_id, row.partner_code, bool(row.is_blacklisted))


def usernames(conn: Connection, ids: set[int | None]) -> dict[int, str]:
    """user_id → username for the ids given (None ignored): how views name the people on a row."""
    ids = {i for i in ids if i}
    return dict(conn.execute(select(AppUser.user_id, AppUser.username).where(AppUser.user_id.in_(ids))).all()) if ids else {}


def list_users(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(select(AppUser.username, AppUser.role, AppUser.is_active, Partner.partner_code)
                        .outerjoin(Partner, Partner.partner_id == AppUser.partner_id).order_by(AppUser.user_id)).all()
    return [{"username": r.username, "role": r.role, "partner_code": r.partner_code, "is_active": bool(r.is_active)} for r in rows]
