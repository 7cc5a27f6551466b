from datetime import date

import pytest

from autofin.domain.calendar import add_months
from autofin.domain.errors import CalendarCoverageError
from autofin.reference import calendar


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 1, 31), 2, date(2026, 3, 31)),
        (date(2026, 11, 22), 36, date(2029, 11, 22)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_add_months_clips_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("day", "business"),
    [
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, adjusted working day
        (date(2026, 2, 14), True),  # Saturday before Spring Festival
        (date(2026, 2, 16), False),  # Spring Festival
        (date(2026, 11, 21), False),  # ordinary Saturday
        (date(2026, 11, 23), True),
        (date(2024, 2, 4), True),  # Sunday, adjusted working day
    ],
)
def test_cn_calendar(day, business):
    assert calendar().is_business_day(day) is business


def test_roll_forward_to_the_next_business_day():
    cal = calendar()
    assert cal.roll_forward(date(2026, 10, 1)) == date(2026, 10, 8)
    assert cal.roll_forward(date(2026, 2, 15)) == date(2026, 2, 24)
    assert cal.roll_forward(date(2026, 11, 23)) == date(2026, 11, 23)


def test_uncovered_years_are_provisional_or_refused():
    cal = calendar()
    assert not cal.covers(date(2029, 10, 1))
    assert cal.is_business_day(date(2029, 10, 1)) is True  # weekends only: provisional
    with pytest.raises(CalendarCoverageError, match="2029-10-01"):
        cal.is_business_day(date(2029, 10, 1), strict=True)
