"""Business calendar: weekends, public holidays and adjusted working days (调休).

Dates are plain `datetime.date`; nothing here reads a clock. Holiday arrangements are published
about a year ahead, while contracts run for five years: for a year the calendar does not cover
the answer is provisional (weekends only). `covers()` tells which answer you get, and
`strict=True` refuses instead (the nightly cycle never opens a business day on a guess).
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from autofin.domain.errors import CalendarCoverageError


def add_months(start: date, months: int) -> date:
    """The same day of month `months` later, clipped to the month's end (Jan 31 + 1 → Feb 28/29)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last_day = _cal.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last_day))


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    years: frozenset[int]
    holidays: frozenset[date]
    working_days: frozenset[date]  # weekend days that are working days (调休上班)

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def is_business_day(self, day: date, *, strict: bool = False) -> bool:
        if strict and not self.covers(day):
            covered = ", ".join(str(y) for y in sorted(self.years))
            raise CalendarCoverageError(f"calendar {self.name!r} covers {covered}, not {day.isoformat()}")
        if day in self.working_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def roll_forward(self, day: date) -> date:
        """`day` if it is a business day, else the following business day."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def business_days(self, start: date, end: date) -> Iterable[date]:
        """Business days in [start, end], in order."""
        day = start
        while day <= end:
            if self.is_business_day(day):
                yield day
            day += timedelta(days=1)

    def previous_business_day(self, day: date) -> date:
        day -= timedelta(days=1)
        while not self.is_business_day(day):
            day -= timedelta(days=1)
        return day
