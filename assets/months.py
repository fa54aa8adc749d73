"""Report months (报告月), written ``YYYY-MM``: the one place their arithmetic lives.

A report month's state is as of its last day, D (SPEC section 1). SQL gets the month only through
``as_of.sql`` (its macros ``report_month()`` and ``as_of_date()``).
"""

import calendar
from datetime import date, datetime


def _parts(month: str) -> tuple[int, int]:
    return int(month[:4]), int(month[5:7])


def last_day(month: str) -> date:
    """The report month's last day, D."""
    y, m = _parts(month)
    return date(y, m, calendar.monthrange(y, m)[1])


def first_moment(month: str) -> datetime:
    """Midnight of the month's first day (a workbook's creation time: the month, never the clock)."""
    y, m = _parts(month)
    return datetime(y, m, 1)


def next_month(month: str, n: int = 1) -> str:
    """The month ``n`` months after ``month``."""
    y, m = _parts(month)
    y, m = divmod(y * 12 + m - 1 + n, 12)
    return f"{y}-{m + 1:02d}"


def prior(month: str) -> str:
    y, m = _parts(month)
    return f"{y - (m == 1)}-{(m - 2) % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` through ``last``, in order (empty when ``last`` is earlier)."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def label(month: str) -> str:
    """The month as a report title prints it: 2023年7月."""
    y, m = _parts(month)
    return f"{y}年{m}月"
