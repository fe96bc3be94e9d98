"""Report periods (报表月份, ``YYYY-MM``) and their deadlines, in Asia/Shanghai time."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    SHANGHAI: tzinfo = ZoneInfo("Asia/Shanghai")
except (ImportError, ZoneInfoNotFoundError):  # pragma: no cover - Windows without the tzdata package
    # Asia/Shanghai has had no DST since 1991, so a fixed UTC+8 is exact for every period we accept.
    SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

PERIOD_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])", re.ASCII)
EARLIEST_PERIOD = "2010-01"
DEFAULT_DEADLINE_DAY = 5


def parse_period(s: str) -> tuple[int, int]:
    """``"2026-09"`` → ``(2026, 9)``; anything else raises ``ValueError``."""
    m = PERIOD_RE.fullmatch(s) if isinstance(s, str) else None
    if m is None:
        raise ValueError(f"not a period YYYY-MM: {str(s)[:40]!r}")
    year = int(m.group(1))
    if year < 1:
        raise ValueError("year 0000 is not a period")
    return year, int(m.group(2))


def format_period(year: int, month: int) -> str:
    if not 1 <= month <= 12 or not 1 <= year <= 9999:
        raise ValueError(f"no such period: {year}-{month}")
    return f"{year:04d}-{month:02d}"


def _index(p: str) -> int:
    y, m = parse_period(p)
    return y * 12 + (m - 1)


def _from_index(i: int) -> str:
    return format_period(i // 12, i % 12 + 1)


def period_add(p: str, months: int) -> str:
    """``period_add("2026-11", -3) == "2026-08"``."""
    return _from_index(_index(p) + months)


def periods_between(a: str, b: str) -> list[str]:
    """Every period from ``a`` to ``b`` inclusive, in order; ``[]`` when ``a`` is after ``b``."""
    return [_from_index(i) for i in range(_index(a), _index(b) + 1)]


def period_of(d: date) -> str:
    return format_period(d.year, d.month)


def period_deadline(period: str, deadline_day: int = DEFAULT_DEADLINE_DAY) -> datetime:
    """The reporting deadline of ``period``: day ``deadline_day`` of the NEXT month, 23:59:59 Asia/Shanghai.

    Returned as an aware UTC datetime. ``deadline_day`` is clamped to the length of that month
    (31 → 28/29 Feb), and to at least 1.
    """
    y, m = parse_period(period_add(period, 1))
    day = min(max(int(deadline_day), 1), calendar.monthrange(y, m)[1])
    return datetime(y, m, day, 23, 59, 59, tzinfo=SHANGHAI).astimezone(UTC)


def today_shanghai(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai (``now`` may be given, aware, for tests)."""
    return (now or datetime.now(UTC)).astimezone(SHANGHAI).date()


def current_period(today: date | None = None) -> str:
    return period_of(today or today_shanghai())


def deadline_date(period: str, deadline_day: int = DEFAULT_DEADLINE_DAY) -> date:
    """The date of ``period``'s deadline in Asia/Shanghai."""
    return period_deadline(period, deadline_day).astimezone(SHANGHAI).date()


def days_between(due: date, day: date) -> int:
    """``day − due`` in whole calendar days (negative before the deadline's date): the one day count behind
    逾期天数 (STANDARD.md, the reporting calendar: positive part) and "还有 N 天" (its negation)."""
    return (day - due).days
