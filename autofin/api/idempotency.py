"""Idempotency-Key: a create request sent again with the same key gets the first response back
(same status and body, header Idempotent-Replayed: true) instead of creating twice. The key is
recorded in the same transaction as what the request created, so a request that failed leaves
no key and may simply be retried. The same key with a different request is refused (422)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Connection, insert, select

from autofin.domain.errors import InputError
from autofin.origination.access import Principal
from autofin.store.models import IdempotencyKey

HEADER = "Idempotency-Key"


def run_once(conn: Connection, who: Principal, key: str | None, method: str, path: str, fingerprint: str,
             create: Callable[[], tuple[int, Any]], public: type[BaseModel]) -> JSONResponse:
    """`create`'s answer (status, body), the body checked against the route's response model
    `public`; or, for a key seen before, the first answer again."""
    if key is None:
        status, body = create()
        return JSONResponse(public.model_validate(body).model_dump(mode="json", exclude_unset=True), status_code=status)
    seen = replayed(conn, who, key, method, path, fingerprint)
    if seen is not None:
        return seen
    status, body = create()
    body = public.model_validate(body).model_dump(mode="json", exclude_unset=True)
    conn.execute(insert(IdempotencyKey).values(user_id=who.user_id, idem_key=key, method=method, path=path[:200],
                                               request_sha256=_request_sha(method, path, fingerprint), status_code=status,
                                               response={"body": body}))
    return JSONResponse(body, status_code=status)


def replayed(conn: Connection, who: Principal, key: str | None, method: str, path: str, fingerprint: str) -> JSONResponse | None:
    """The first answer to this key, if it has one: for a route that works before it writes (a
    submit asks the bureau) to answer a repeat without doing that work again. `run_once` looks
    again in its write transaction, where a repeat sent at the same moment is caught."""
    if key is None:
        return None
    if not 1 <= len(key) <= 128:
        raise InputError(HEADER, "1 to 128 characters")
    seen = conn.execute(
        select(IdempotencyKey.request_sha256, IdempotencyKey.status_code, IdempotencyKey.response)
        .where(IdempotencyKey.user_id == who.user_id, IdempotencyKey.idem_key == key)
    ).first()
    if seen is None:
        return None
    if seen.request_sha256 != _request_sha(method, path, fingerprint):
        raise InputError(HEADER, f"{key!r} was used for a different request; use a new key")
    return JSONResponse(seen.response["body"], status_code=seen.status_code, headers={"Idempotent-Replayed": "true"})


def _request_sha(method: str, path: str, fingerprint: str) -> str:
    return hashlib.sha256(f"{method} {path}\n{fingerprint}".encode()).hexdigest()
