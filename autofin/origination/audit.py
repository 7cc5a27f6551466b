"""The audit trail: who did what to which object, with the state before and after, written in
the same transaction as the change itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert

from autofin.origination.access import Principal
from autofin.store.models import AuditEvent


def jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, date | datetime | Decimal):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    return value


_INSERT = insert(AuditEvent)


def audit(conn: Connection, who: Principal | str, action: str, entity: str, entity_id: object,
          before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None) -> None:
    conn.execute(_INSERT, _event(who, action, entity, entity_id, before, after))


def audit_steps(conn: Connection, who: Principal | str, entity: str, entity_id: object,
                steps: Sequence[tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]]) -> None:
    """Several changes one request made to one object, in order (action, before, after), written
    together: one execution of many rows (psycopg sends them in one round trip), not one each."""
    conn.execute(_INSERT, [_event(who, action, entity, entity_id, before, after) for action, before, after in steps])


def _event(who: Principal | str, action: str, entity: str, entity_id: object, before: Mapping[str, Any] | None,
           after: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "actor": who if isinstance(who, str) else who.username,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None,
    }
