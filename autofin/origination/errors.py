"""Errors of the origination services, beside the domain's InputError (422) and TransitionError (409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from autofin.domain.errors import DomainError, InputError, TransitionError

T = TypeVar("T")


class NotFound(Exception):
    """The object does not exist, or is outside the caller's data scope (the two look the same)."""

    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key} not found")


def referenced(field: str, fetch: Callable[[], T]) -> T:
    """An object a request body names by its id, fetched through the caller's scope (`fetch` is the
    same getter the object's own route uses): one that does not exist and one outside the scope
    are the same 422, so a body never tells which ids exist."""
    try:
        return fetch()
    except NotFound as exc:
        raise InputError(field, f"no {exc.entity} {exc.key!r}") from None


class Forbidden(Exception):
    """The caller's role or partner may not do this."""


class Conflict(Exception):
    """The request collides with the state of the store (a duplicate, a lock, a limit)."""


# A refusal of the services and the HTTP status the API answers it with, the first that matches
_STATUSES: tuple[tuple[type[Exception], int], ...] = ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (TransitionError, 409),
                                                      (DomainError, 422))
REFUSALS = tuple(kind for kind, _ in _STATUSES)


def answer_status(exc: Exception) -> int | None:
    """The HTTP status the API answers for a refusal of the services (None: not a refusal)."""
    for kind, status in _STATUSES:
        if isinstance(exc, kind):
            return status
    return None


def one_by_one(conn, items, key: str, act):  # noqa: ANN001, ANN201
    """Batch actions: each item in its own savepoint, judged on its own. The answer lists per item
    {"ok": True, ...what act returned} or {key: item, "ok": False, "status_code", "detail"}; an
    error that is not a refusal (a bug, a lost connection) still fails the whole batch."""
    out = []
    for item_key, item in items:
        try:
            with conn.begin_nested():
                out.append({"ok": True, **act(item)})
        except Exception as exc:
            status = answer_status(exc)
            if status is None:
                raise
            out.append({key: item_key, "ok": False, "status_code": status, "detail": str(exc)})
    return out
