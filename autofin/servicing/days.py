"""Business days: which dates the cycle may run, and the step that opens one.

A business date D runs once it has ended in the business time zone and lies after the book's
cut-over, and only after D-1 is closed. The cycle runs every calendar day; the banks work only
on bank business days (the calendar), a fact the opening step records on the day itself
(`business_day.is_bank_day`) for the steps that talk to banks.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select

from autofin.domain.errors import DomainError
from autofin.servicing.context import StepContext
from autofin.settings import BUSINESS_TZ, business_today
from autofin.store.models import BusinessDay


class DayNotReadyError(DomainError):
    """The previous business date is not closed: catch up in order."""


class DayNotEndedError(DomainError):
    """The business date has not ended in the business time zone: it cannot be closed yet."""


class BeforeCutOverError(DomainError):
    """The business date is on or before the book's cut-over: the cycle never runs it."""


def last_closed_day(conn: Connection) -> date | None:
    return conn.execute(select(func.max(BusinessDay.business_date)).where(BusinessDay.status == "closed")).scalar()


def cut_over(conn: Connection) -> date | None:
    """The book's cut-over: the first business date the store knows (closed when the book was loaded)."""
    return conn.execute(select(func.min(BusinessDay.business_date))).scalar()


def require_runnable(conn: Connection, d: date) -> None:
    """D may be run: it has ended in the business time zone (Asia/Shanghai; AUTOFIN_SIMULATED_TODAY
    for simulations) and lies after the book's cut-over."""
    today = business_today()
    if d >= today:
        raise DayNotEndedError(f"{d} has not ended in {BUSINESS_TZ.key} (today is {today}): the latest business date that can run is "
                               f"{today - timedelta(days=1)}. Simulations that run ahead set AUTOFIN_SIMULATED_TODAY")
    first = cut_over(conn)
    if first is None:
        raise DayNotReadyError("no business day has ever been closed: load or seed a book first")
    if d <= first:
        raise BeforeCutOverError(f"{d} is not after the book's cut-over on {first}: the cycle runs from {first + timedelta(days=1)} on")


def open_business_day(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    """The cycle's first step: D opens once D-1 is closed, knowing whether the banks work on D."""
    require_runnable(conn, d)
    previous = d - timedelta(days=1)
    prev = conn.execute(select(BusinessDay.status).where(BusinessDay.business_date == previous)).scalar()
    if prev != "closed":
        raise DayNotReadyError(f"{previous.isoformat()} is not closed ({prev or 'never opened'}): business dates close in order, "
                               f"{previous.isoformat()} first (its partition in Dagster, or `autofin cycle catch-up --to {d}`)")
    bank_day = ctx.calendar.is_business_day(d, strict=True)
    conn.execute(insert(BusinessDay).values(business_date=d, status="open", is_bank_day=bank_day))
    return {"business_date": d.isoformat(), "bank_business_day": bank_day}


def is_bank_day(conn: Connection, d: date) -> bool:
    """Whether the banks work on D, as recorded when D opened."""
    return bool(conn.execute(select(BusinessDay.is_bank_day).where(BusinessDay.business_date == d)).scalar())
