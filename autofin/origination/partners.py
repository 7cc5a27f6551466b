"""Partners (dealers and agents, 合作商) through their life: onboarding and review, rating with
history, credit limit and exposure, settlement account, statuses, batch updates, exit review and
blacklist. Every change writes partner_history and the audit trail in the caller's transaction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from autofin.domain.errors import InputError, TransitionError
from autofin.domain.lifecycle import APPLICATION_IN_FLIGHT, CONTRACT_COMMITTED, PARTNER
from autofin.domain.money import D, format_minor, to_minor
from autofin.domain.text import ascii_only, checked_text
from autofin.origination.access import Principal, scope
from autofin.origination.audit import audit
from autofin.origination.errors import Conflict, Forbidden, NotFound, referenced
from autofin.store.models import Application, Contract, Partner, PartnerHistory

KINDS = ("dealer", "agent")
RATINGS = ("A", "B", "C", "D")
SETTABLE_STATUSES = ("active", "suspended", "exiting")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
ACCOUNT = re.compile(r"^[0-9]{8,30}$")
OPEN_APPLICATION = ("draft", "submitted", *APPLICATION_IN_FLIGHT)


def amount_minor(field: str, value: Any, *, positive: bool = False) -> int:
    """A yuan amount given from outside as integer minor units, or a 422 naming the field."""
    try:
        amount = D(str(value).replace(",", "")) if not isinstance(value, Decimal) else value
        minor = to_minor(amount)
    except Exception:  # noqa: BLE001 - every unreadable amount is the same answer
        raise InputError(field, f"{value!r} is not an amount in yuan with at most 2 decimals") from None
    if minor < 0 or (positive and minor == 0):
        raise InputError(field, "must be positive" if positive else "must not be negative")
    return minor


def get_partner(conn: Connection, who: Principal, code: str) -> Any:
    """The partner row, if the caller may see it (a dealer sees only their own)."""
    row = conn.execute(select(Partner).where(Partner.partner_code == code, scope(who, Partner))).first()
    if row is None:
        raise NotFound("partner", code)
    return row


def acting_partner(conn: Connection, who: Principal, partner_code: str | None) -> Any:
    """The partner a write acts for: a dealer's own (naming another partner is refused), for every
    other role the partner the body names, through the caller's scope."""
    if who.partner_scope is not None:
        if partner_code not in (None, who.partner_code):
            raise Forbidden("a dealer acts for its own partner only")
        return get_partner(conn, who, who.partner_code or "")
    if not partner_code:
        raise InputError("partner_code", "required")
    return referenced("partner_code", lambda: get_partner(conn, who, partner_code))


def list_partners(conn: Connection, who: Principal, *, status: str | None, rating: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    query = select(Partner).where(scope(who, Partner)).order_by(Partner.partner_code).limit(limit).offset(offset)
    if status:
        query = query.where(Partner.status == status)
    if rating:
        query = query.where(Partner.rating == rating)
    return [view(conn, row, with_exposure=False) for row in conn.execute(query).all()]


_EXPOSURE = select(
    select(func.coalesce(func.sum(Contract.financed_minor), 0))
    .where(Contract.partner_id == bindparam("partner_id"), Contract.status == "active").scalar_subquery(),
    select(func.coalesce(func.sum(Contract.financed_minor), 0))
    .where(Contract.partner_id == bindparam("partner_id"), Contract.status.in_(CONTRACT_COMMITTED)).scalar_subquery(),
    select(func.coalesce(func.sum(Application.financed_minor), 0))
    .where(Application.partner_id == bindparam("partner_id"), Application.status.in_(APPLICATION_IN_FLIGHT)).scalar_subquery(),
)


def exposure(conn: Connection, partner_id: int) -> dict[str, int]:
    """Financed amounts against the partner's limit: contracts paid out and running (disbursed),
    contracts approved but not yet paid out (committed), and applications on their way to one."""
    disbursed, committed, applications = (int(v) for v in conn.execute(_EXPOSURE, {"partner_id": partner_id}).one())
    return {"disbursed_minor": disbursed, "committed_minor": committed, "contracts_minor": disbursed + committed,
            "applications_minor": applications, "total_minor": disbursed + committed + applications}


def view(conn: Connection, row: Any, *, with_exposure: bool = True) -> dict[str, Any]:
    out = {
        "partner_code": row.partner_code, "name": row.name, "kind": row.kind, "rating": row.rating, "status": row.status,
        "region": row.region, "city": row.city, "credit_limit": format_minor(row.credit_limit_minor), "currency": row.currency,
        "settlement_bank": row.settlement_bank, "settlement_account_no": row.settlement_account_no,
        "settlement_account_name": row.settlement_account_name, "is_blacklisted": bool(row.is_blacklisted),
        "is_fraud_flagged": bool(row.is_fraud_flagged),
    }
    if with_exposure:
        exp = exposure(conn, row.partner_id)
        out["exposure"] = {
            "disbursed": format_minor(exp["disbursed_minor"]), "committed": format_minor(exp["committed_minor"]),
            "contracts": format_minor(exp["contracts_minor"]), "applications": format_minor(exp["applications_minor"]),
            "total": format_minor(exp["total_minor"]), "headroom": format_minor(row.credit_limit_minor - exp["total_minor"]),
        }
    return out


def history(conn: Connection, row: Any) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(PartnerHistory).where(PartnerHistory.partner_id == row.partner_id).order_by(PartnerHistory.partner_history_id)
    ).all()
    return [{"field": h.field, "old": h.old_value, "new": h.new_value, "reason": h.reason, "at": h.changed_at.isoformat()} for h in rows]


def _validate_new(data: Mapping[str, Any]) -> dict[str, Any]:
    code = str(data.get("partner_code") or "").strip().upper()
    if not CODE.match(code):
        raise InputError("partner_code", "2 to 32 characters: capital letters, digits and '-'")
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 200:
        raise InputError("name", "1 to 200 characters")
    kind = data.get("kind") or "dealer"
    if kind not in KINDS:
        raise InputError("kind", f"one of {', '.join(KINDS)}")
    rating = data.get("rating") or "C"
    _check_rating(rating)
    values = {"partner_code": code, "name": name, "kind": kind, "rating": rating,
              "region": str(data.get("region") or "").strip(), "city": str(data.get("city") or "").strip(),
              "credit_limit_minor": amount_minor("credit_limit", data.get("credit_limit") or "0")}
    if not values["region"] or not values["city"]:
        raise InputError("region" if not values["region"] else "city", "required")
    if data.get("settlement_account_no"):
        values.update(_validate_account(data))
    return values


def _validate_account(data: Mapping[str, Any]) -> dict[str, str]:
    number = re.sub(r"\s", "", ascii_only(str(data.get("settlement_account_no") or ""), "settlement_account_no", "an account number"))
    if not ACCOUNT.match(number):
        raise InputError("settlement_account_no", "8 to 30 digits")
    bank = checked_text(str(data.get("settlement_bank") or "").strip(), "settlement_bank")
    name = checked_text(str(data.get("settlement_account_name") or "").strip(), "settlement_account_name")
    if not bank:
        raise InputError("settlement_bank", "required with an account number")
    if not name:
        raise InputError("settlement_account_name", "required with an account number")
    return {"settlement_bank": bank, "settlement_account_no": number, "settlement_account_name": name}


def create_partner(conn: Connection, who: Principal, *, partner_code: str, name: str, kind: str, rating: str, region: str, city: str,
                   credit_limit: Decimal, settlement_bank: str | None, settlement_account_no: str | None,
                   settlement_account_name: str | None) -> Any:
    """Information entry: a new partner is pending until reviewed."""
    values = _validate_new({"partner_code": partner_code, "name": name, "kind": kind, "rating": rating, "region": region, "city": city,
                            "credit_limit": credit_limit, "settlement_bank": settlement_bank, "settlement_account_no": settlement_account_no,
                            "settlement_account_name": settlement_account_name})
    if conn.execute(select(Partner.partner_id).where(Partner.partner_code == values["partner_code"])).scalar() is not None:
        raise Conflict(f"partner {values['partner_code']} exists already")
    partner_id = conn.execute(insert(Partner).values(status="pending", **values).returning(Partner.partner_id)).scalar_one()
    audit(conn, who, "partner.create", "partner", values["partner_code"], None, values)
    return conn.execute(select(Partner).where(Partner.partner_id == partner_id)).one()


def _change(conn: Connection, who: Principal, row: Any, changes: Mapping[str, Any], reason: str | None, action: str) -> Any:
    before = {k: getattr(row, k) for k in changes}
    if before == dict(changes):
        return row
    conn.execute(update(Partner).where(Partner.partner_id == row.partner_id).values(**changes))
    for key, new in changes.items():
        if before[key] != new:
            conn.execute(insert(PartnerHistory).values(partner_id=row.partner_id, field=key, old_value=_text(before[key]),
                                                        new_value=_text(new), reason=reason, changed_by=who.user_id))
    audit(conn, who, action, "partner", row.partner_code, before, dict(changes))
    return conn.execute(select(Partner).where(Partner.partner_id == row.partner_id)).one()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _transition(conn: Connection, who: Principal, row: Any, target: str, reason: str | None, action: str) -> Any:
    PARTNER.check(row.status, target)
    return _change(conn, who, row, {"status": target}, reason, action)


def review(conn: Connection, who: Principal, row: Any, approve: bool, reason: str | None) -> Any:
    """Onboarding review (pending → active, or → exited when refused) and exit review
    (exiting → exited, or back to active when refused). An exit needs nothing live."""
    if row.status == "pending":
        return _transition(conn, who, row, "active" if approve else "exited", reason, "partner.review")
    if row.status == "exiting":
        if approve:
            exp = exposure(conn, row.partner_id)
            open_apps = conn.execute(
                select(func.count()).select_from(Application).where(Application.partner_id == row.partner_id, Application.status.in_(OPEN_APPLICATION))
            ).scalar_one()
            if exp["contracts_minor"] or open_apps:
                raise Conflict(f"partner {row.partner_code} cannot exit: live contracts {format_minor(exp['contracts_minor'])}, "
                               f"open applications {open_apps}")
        return _transition(conn, who, row, "exited" if approve else "active", reason, "partner.exit_review")
    raise Conflict(f"partner {row.partner_code} is {row.status}; only pending (onboarding) and exiting (exit) partners are reviewed")


def _check_status(row: Any, target: str) -> None:
    """A status set by hand (or by batch): suspend, resume or request exit. Leaving pending or
    exiting is a review's decision, never a plain status change."""
    if target not in SETTABLE_STATUSES:
        raise InputError("status", "set suspended, active (resume) or exiting here; onboarding and exit are decided by review")
    if row.status in ("pending", "exiting"):
        raise TransitionError("partner", row.status, target, ("review decides: POST .../review",))
    PARTNER.check(row.status, target)


def _check_rating(rating: str) -> None:
    if rating not in RATINGS:
        raise InputError("rating", f"one of {', '.join(RATINGS)}")


def set_status(conn: Connection, who: Principal, row: Any, target: str, reason: str | None) -> Any:
    """Suspend, resume or request exit; reviews go through `review`."""
    _check_status(row, target)
    return _change(conn, who, row, {"status": target}, reason, "partner.status")


def set_rating(conn: Connection, who: Principal, row: Any, rating: str, reason: str | None) -> Any:
    _check_rating(rating)
    return _change(conn, who, row, {"rating": rating}, reason, "partner.rating")


def set_limit(conn: Connection, who: Principal, row: Any, limit: Decimal | str, reason: str | None) -> Any:
    return _change(conn, who, row, {"credit_limit_minor": amount_minor("credit_limit", limit)}, reason, "partner.limit")


def set_account(conn: Connection, who: Principal, row: Any, *, settlement_bank: str, settlement_account_no: str, settlement_account_name: str,
                reason: str | None) -> Any:
    account = _validate_account({"settlement_bank": settlement_bank, "settlement_account_no": settlement_account_no,
                                 "settlement_account_name": settlement_account_name})
    return _change(conn, who, row, account, reason, "partner.account")


def set_blacklist(conn: Connection, who: Principal, row: Any, on: bool, reason: str | None) -> tuple[Any, int]:
    """Blacklisting flags the partner's open applications (and its users lose write access)."""
    if on and not (reason or "").strip():
        raise InputError("reason", "say why the partner is blacklisted")
    row = _change(conn, who, row, {"is_blacklisted": on}, reason, "partner.blacklist")
    flagged = 0
    if on:
        flagged = conn.execute(
            update(Application)
            .where(Application.partner_id == row.partner_id, Application.status.in_(OPEN_APPLICATION))
            .values(is_flagged=True, flag_reason=f"partner blacklisted: {reason}"[:200])
        ).rowcount
    return row, flagged


BATCH_FIELDS = ("rating", "credit_limit", "status", "settlement_bank", "settlement_account_no", "settlement_account_name", "reason")
# each column a batch row may change, and the action of its single route: one rule for both
BATCH_AUTHORITY = {"rating": "partners.rate", "credit_limit": "partners.limit", "status": "partners.status",
                   "settlement_bank": "partners.account", "settlement_account_no": "partners.account",
                   "settlement_account_name": "partners.account"}


def batch_update(conn: Connection, who: Principal, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Rating, limit, status and account changes from a table, one row per partner_code. Every
    row is validated first; if any is bad nothing is applied and every bad row is listed."""
    errors: list[dict[str, Any]] = []
    plans: list[tuple[Any, dict[str, Any], str]] = []
    seen: set[str] = set()
    for n, raw in enumerate(rows, start=2):  # row 1 is the header
        unknown = sorted(set(raw) - {"partner_code", *BATCH_FIELDS})
        if unknown:
            errors.append({"row": n, "field": unknown[0], "reason": f"unknown column; columns: partner_code, {', '.join(BATCH_FIELDS)}"})
            continue
        code = raw.get("partner_code", "").upper()
        if code in seen:
            errors.append({"row": n, "field": "partner_code", "reason": f"{code} appears twice"})
            continue
        seen.add(code)
        row = conn.execute(select(Partner).where(Partner.partner_code == code)).first()
        if row is None:
            errors.append({"row": n, "field": "partner_code", "reason": f"no partner {code!r}"})
            continue
        try:
            for column, action in BATCH_AUTHORITY.items():  # the authority of the single route, column by column
                refusal = who.refusal(action) if raw.get(column) else None
                if refusal:
                    raise InputError(column, f"{refusal} (the batch allows what the single route allows)")
            change: dict[str, Any] = {}
            if raw.get("rating"):
                _check_rating(raw["rating"])
                change["rating"] = raw["rating"]
            if raw.get("credit_limit"):
                change["credit_limit_minor"] = amount_minor("credit_limit", raw["credit_limit"])
            if raw.get("status") and raw["status"] != row.status:
                _check_status(row, raw["status"])
                change["status"] = raw["status"]
            if raw.get("settlement_account_no"):
                change.update(_validate_account(raw))
            if not change:
                raise InputError("partner_code", "the row changes nothing")
            plans.append((row, change, raw.get("reason") or "batch update"))
        except InputError as exc:
            errors.append({"row": n, "field": exc.field, "reason": exc.reason})
        except TransitionError as exc:
            errors.append({"row": n, "field": "status", "reason": str(exc)})
    if errors:
        return {"applied": 0, "errors": errors}
    for row, change, reason in plans:
        _change(conn, who, row, change, reason, "partner.batch")
    return {"applied": len(plans), "errors": []}
