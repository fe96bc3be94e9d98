"""The reporting calendar: every date rule of STANDARD.md "The reporting calendar", in one place.

Every surface (dashboard, API, agent feedback, reminders, xlsx, PDFs, CLI, workers) calls these functions; none
computes a deadline, an expected month, days late or a window of its own.

- **Now** is the hub's one clock (``district.clock``), re-exported here as ``now``/``today``.
- **Deadline** of a period: the county's deadline day of the next month, 23:59:59 Asia/Shanghai.
- **Reporting start** (上线月份): the county's setting, else the earliest period of any accepted report in the
  county, else none (nothing has been collected yet: no month is cut off). Finding it reads the reports, so it
  lives with them (``district.reports.windows``); the rules here take it as a value.
- **Active**: inside the school's active range (开办 .. 停办, by month); a report of another month is refused.
- **Expected**: period ≥ reporting start, not a break month, inside the school's active range.
- **Latest closed period**: the newest period whose deadline has passed at now.
- **Days late**: whole calendar days in Asia/Shanghai between the deadline's date and today (no report) or the
  first accepted revision's arrival date; never negative.
- **Windows**: ``from/to``, ``year=`` or ``school_year=``, clipped to the reporting start and capped at the
  latest closed period, at most 36 months as asked; the default window is ``year=`` the year of the latest
  closed period. One ``Window`` type and one ``WindowError``. ``window_for`` is the rule; a request's window
  (``resolve_window``, ``window_from_args``, ``default_window``) is ``district.reports.windows``, which reads
  the county's reporting start and calls it.

This module reads no table and opens no session: it sits below every domain package.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from district.clock import now, today
from houqin_standard import SHANGHAI, days_between, parse_period, period_add, period_deadline, periods_between
from houqin_standard import deadline_date as _deadline_date
from houqin_standard.periods import period_of

if TYPE_CHECKING:
    from district.registry.models import County, School

__all__ = [
    "EARLIEST_YEAR",
    "MAX_WINDOW_MONTHS",
    "Window",
    "WindowError",
    "active_range_zh",
    "check_period",
    "check_reporting_start",
    "current_period",
    "days_late",
    "deadline",
    "deadline_date",
    "expected_periods",
    "in_active_range",
    "is_active",
    "is_expected",
    "latest_closed_period",
    "now",
    "round_half_up",
    "today",
    "window_for",
]

#: The longest window any surface computes (three school years), counted as asked; longer asks are refused.
MAX_WINDOW_MONTHS = 36
#: The first year a period may name (the standard's earliest period).
EARLIEST_YEAR = 2010


# ------------------------------------------------------------------------------------------------ numbers


def round_half_up(x: Fraction | Decimal | int, places: int) -> Decimal:
    """``x`` rounded half up (away from zero on a tie) to ``places`` decimals, computed exactly.

    The one rounding rule of every figure shown (scores, rates, money per meal)."""
    value = x if type(x) is Fraction else Fraction(x)
    n, d = value.numerator, value.denominator
    # floor(|n| / d × 10^places + 1/2), in integers (no Fraction arithmetic: this runs for every row shown)
    q = (2 * abs(n) * 10**places + d) // (2 * d)
    return Decimal(-q if n < 0 else q).scaleb(-places)


# ------------------------------------------------------------------------------------------------ windows


class WindowError(ValueError):
    """A window or period that cannot be used. ``code`` is the API's error code (``invalid_period``,
    ``invalid_window``, ``window_too_long``, ``empty_window``); ``zh``/``en`` name the limit."""

    def __init__(self, code: str, zh: str, en: str, *, field: str | None = None) -> None:
        super().__init__(en)
        self.code, self.zh, self.en, self.field = code, zh, en, field

    def message(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Window:
    """The window W: periods ``period_from`` .. ``period_to``, inclusive."""

    period_from: str
    period_to: str

    def __post_init__(self) -> None:
        parse_period(self.period_from)
        parse_period(self.period_to)
        if self.period_from > self.period_to:
            raise ValueError(f"window {self.period_from}..{self.period_to}: from is after to")

    @classmethod
    def for_year(cls, year: int, latest_closed: str | None = None) -> Window:
        """``Y-01..Y-12``, capped at ``latest_closed`` (no reporting start: see :func:`window_for`)."""
        to = f"{year:04d}-12"
        if latest_closed is not None and latest_closed < to:
            to = latest_closed
        return cls(f"{year:04d}-01", to)

    @property
    def periods(self) -> tuple[str, ...]:
        return tuple(periods_between(self.period_from, self.period_to))

    @functools.cached_property
    def first_day(self) -> dt.date:
        y, m = parse_period(self.period_from)
        return dt.date(y, m, 1)

    @functools.cached_property
    def last_day(self) -> dt.date:
        y, m = parse_period(self.period_to)
        return dt.date(y, m, _stdlib_calendar.monthrange(y, m)[1])

    def __contains__(self, period: object) -> bool:
        return isinstance(period, str) and self.period_from <= period <= self.period_to

    def to_dict(self) -> dict[str, str]:
        return {"from": self.period_from, "to": self.period_to}


def check_period(value: Any, name: str = "period", *, future: bool = True, ahead: int = 0) -> str:
    """``value`` as a period the hub can speak of (``YYYY-MM``, year 2010..9999; with ``future=False`` not more
    than ``ahead`` months after the current month), else ``WindowError`` naming ``name``."""
    try:
        year, _month = parse_period(value if isinstance(value, str) else "")
    except ValueError:
        shown = str(value)[:20]
        raise WindowError(
            "invalid_period",
            f"{name} 应为 YYYY-MM 格式的月份（收到“{shown}”）",
            f"{name} must be a period YYYY-MM (got {shown!r})",
            field=name,
        ) from None
    if year < EARLIEST_YEAR:
        raise WindowError(
            "invalid_period",
            f"{name} {value} 早于 {EARLIEST_YEAR} 年，平台不受理",
            f"{name} {value} is before {EARLIEST_YEAR}",
            field=name,
        )
    if not future and value > period_add(current_period(), ahead):
        raise WindowError(
            "invalid_period",
            f"{name} {value} 是未来的月份（本月是 {current_period()}）",
            f"{name} {value} is in the future (this month is {current_period()})",
            field=name,
        )
    return value


# ------------------------------------------------------------------------------------------------ deadlines


def deadline(county: County | int, period: str) -> dt.datetime:
    """The reporting deadline of ``period`` (aware UTC) for ``county`` (or a deadline day)."""
    day = county if isinstance(county, int) else county.deadline_day
    return period_deadline(period, day)


def deadline_date(county: County | int, period: str) -> dt.date:
    """The deadline's date in Asia/Shanghai."""
    return _deadline_date(period, county if isinstance(county, int) else county.deadline_day)


def current_period(at: dt.datetime | None = None) -> str:
    """The month the hub's clock is in (Asia/Shanghai)."""
    return period_of((at or now()).astimezone(SHANGHAI).date())


def latest_closed_period(county: County | int, at: dt.datetime | None = None) -> str:
    """The newest period whose deadline has passed at ``at`` (default: now)."""
    at = at or now()
    period = period_add(current_period(at), -1)
    while deadline(county, period) >= at:
        period = period_add(period, -1)
    return period


def days_late(due: dt.date, *, first_received_at: dt.datetime | None = None, on: dt.date | None = None) -> int:
    """逾期天数: ``first_received_at``'s date (a report arrived) or ``on`` (default today; no report) minus the
    deadline's date ``due``, in whole Asia/Shanghai calendar days; 0 when not positive."""
    if first_received_at is not None:
        day = first_received_at.astimezone(SHANGHAI).date()
    else:
        day = on or today()
    return max(0, days_between(due, day))


# ------------------------------------------------------------------------------------------------ reporting start


def check_reporting_start(value: Any, first: str | None) -> str:
    """A reporting start a county may set, given ``first``, the period of its first accepted report (``None``:
    none yet), else ``WindowError`` saying why (field ``reporting_start``): not a period, a future month, or
    one after that first report."""
    period = check_period(value, "reporting_start")
    if period > current_period():
        raise WindowError(
            "invalid_period",
            f"上线月份 {period} 尚未到来（本月是 {current_period()}）",
            f"reporting_start {period} is in the future",
            field="reporting_start",
        )
    if first is not None and period > first:
        raise WindowError(
            "invalid_period",
            f"上线月份 {period} 晚于本县已收到的第一份月报（{first}），不能设置",
            f"reporting_start {period} is after the county's first accepted report ({first})",
            field="reporting_start",
        )
    return period


def in_active_range(opened: dt.date | None, closed: dt.date | None, period: str) -> bool:
    """Whether the active range ``opened..closed`` (inclusive, by month; ``None``: open-ended) covers ``period``."""
    y, m = int(period[:4]), int(period[5:7])
    if opened is not None and opened > dt.date(y, m, _stdlib_calendar.monthrange(y, m)[1]):
        return False
    return not (closed is not None and closed < dt.date(y, m, 1))


def is_active(school: School, period: str) -> bool:
    """Whether ``period`` is inside the school's active range (开办 .. 停办). Outside it the school is expected for
    nothing, a report of it is refused (``school_inactive``), and the fund report and rankings do not count one
    stored before the school's dates were recorded."""
    return in_active_range(school.opened, school.closed, period)


def active_range_zh(opened: dt.date | None, closed: dt.date | None) -> str:
    """The active range as a Chinese phrase: ``2019-09-01 开办，2026-08-31 停办``."""
    parts = ([f"{opened.isoformat()} 开办"] if opened else []) + ([f"{closed.isoformat()} 停办"] if closed else [])
    return "，".join(parts) or "未登记开办、停办日期"


def is_expected(county: County, school: School, period: str, start: str | None) -> bool:
    """Whether ``school`` is expected to report ``period``."""
    if start is not None and period < start:
        return False
    if int(period[5:7]) in county.break_month_set:
        return False
    return is_active(school, period)


def expected_periods(county: County, school: School, periods: Iterable[str], start: str | None) -> list[str]:
    """The periods of ``periods`` the school is expected to report, in the given order."""
    return [p for p in periods if is_expected(county, school, p, start)]


# ------------------------------------------------------------------------------------------------ windows


def _year(value: Any, name: str) -> int:
    try:
        y = int(str(value).strip())
        if not str(value).strip().isascii():
            raise ValueError
    except ValueError:
        raise WindowError(
            "invalid_window", f"{name} 应为四位年份，例如 2026", f"{name} must be a year, e.g. 2026", field=name
        ) from None
    if not EARLIEST_YEAR <= y <= 9998:
        raise WindowError(
            "invalid_window", f"{name} {y} 无效（{EARLIEST_YEAR}–9998 年）", f"no such {name}: {y}", field=name
        )
    return y


def _clip(asked: Window, start: str | None, latest: str) -> Window:
    """``asked`` clipped to ``start`` and capped at ``latest``; empty → ``WindowError``."""
    if len(asked.periods) > MAX_WINDOW_MONTHS:
        raise WindowError(
            "window_too_long",
            f"统计期间为 {len(asked.periods)} 个月，最长 {MAX_WINDOW_MONTHS} 个月",
            f"the window is {len(asked.periods)} months; at most {MAX_WINDOW_MONTHS}",
            field="from",
        )
    lo = max(asked.period_from, start) if start else asked.period_from
    hi = min(asked.period_to, latest)
    if lo > hi:
        reasons = []
        if start and asked.period_to < start:
            reasons.append(f"本县 {start} 起才通过平台报送")
        if asked.period_from > latest:
            reasons.append(f"最近一个已过报送截止日期的月份是 {latest}")
        if not reasons:
            reasons.append(f"本县上线月份为 {start}，最近一个已过截止日期的月份是 {latest}")
        raise WindowError(
            "empty_window",
            f"{asked.period_from} 至 {asked.period_to} 没有可统计的月份：" + "；".join(reasons),
            f"no period of {asked.period_from}..{asked.period_to} can be counted "
            f"(reporting start {start or '-'}, latest closed period {latest})",
            field="to",
        )
    return Window(lo, hi)


def window_for(
    county: County,
    start: str | None,
    *,
    period_from: str | None = None,
    period_to: str | None = None,
    year: Any = None,
    school_year: Any = None,
    at: dt.datetime | None = None,
) -> Window:
    """The window asked by ``from``+``to``, ``year`` or ``school_year``, else the default window; clipped to the
    reporting start ``start`` and capped at the county's latest closed period (``WindowError`` when bad or
    empty). ``district.reports.windows.resolve_window`` passes the county's reporting start."""
    given = [
        name
        for name, v in (("from/to", period_from or period_to), ("year", year), ("school_year", school_year))
        if v not in (None, "")
    ]
    if len(given) > 1:
        raise WindowError(
            "invalid_window",
            "请只给出 from/to、year、school_year 其中一种",
            "give one of from/to, year or school_year",
            field=given[1].split("/")[0],
        )
    latest = latest_closed_period(county, at)
    if year not in (None, ""):
        y = _year(year, "year")
        return _clip(Window(f"{y:04d}-01", f"{y:04d}-12"), start, latest)
    if school_year not in (None, ""):
        y = _year(school_year, "school_year")
        return _clip(Window(f"{y:04d}-09", f"{y + 1:04d}-08"), start, latest)
    if not period_from and not period_to:
        return _clip(Window(f"{latest[:4]}-01", f"{latest[:4]}-12"), start, latest)
    # an open end (issue 16): ``from`` alone runs to the latest closed period, ``to`` alone from January of its
    # year (the year to date, as the default window); either is then clipped and capped like any window
    if period_from:
        check_period(period_from, "from")
    if period_to:
        check_period(period_to, "to")
    period_to = period_to or max(latest, period_from or latest)
    period_from = period_from or f"{period_to[:4]}-01"
    if period_from > period_to:
        raise WindowError(
            "invalid_window",
            f"起始月份 {period_from} 晚于截止月份 {period_to}",
            f"from {period_from} is after to {period_to}",
            field="from",
        )
    return _clip(Window(period_from, period_to), start, latest)
