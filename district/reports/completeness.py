"""Completeness and timeliness of a county's period, as DHIS2 reports them, but never above 100 %.

Expected schools are those whose active range covers the period; a break month expects nobody. Only
expected schools enter numerator and denominator, so a school that closed, or opened after the period,
leaves both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar
from district.registry.models import County, School, Township
from district.registry.services import township_order
from district.reports import windows
from district.reports.models import ReportHead
from houqin_standard import SHANGHAI, parse_period


@dataclass
class MissingSchool:
    code: str
    name: str
    township: str
    days_late: int  # whole days past the deadline (0 before it)


@dataclass
class Completeness:
    county_code: str
    period: str
    break_month: bool
    deadline: dt.datetime
    expected: int = 0
    reported: int = 0
    on_time: int = 0
    missing: list[MissingSchool] = field(default_factory=list)
    by_township: dict[str, dict[str, int]] = field(default_factory=dict)
    # the county's order of its townships (``registry.services.township_order``): ``to_dict`` and
    # ``townships()`` list them in it
    township_key: Callable[[str], Any] = field(default=lambda name: name, repr=False, compare=False)

    def townships(self) -> list[tuple[str, dict[str, int]]]:
        """``by_township`` in the county's order of its townships."""
        return sorted(self.by_township.items(), key=lambda item: self.township_key(item[0]))

    @staticmethod
    def _rate(n: int, d: int) -> str | None:
        if d == 0:
            return None
        return str(calendar.round_half_up(Fraction(n, d), 4))

    @property
    def completeness(self) -> str | None:
        return self._rate(self.reported, self.expected)

    @property
    def timeliness(self) -> str | None:
        return self._rate(self.on_time, self.expected)

    def to_dict(self) -> dict[str, Any]:
        return {
            "county_code": self.county_code,
            "period": self.period,
            "break_month": self.break_month,
            "deadline": self.deadline.astimezone(SHANGHAI).isoformat(),
            "expected": self.expected,
            "reported": self.reported,
            "on_time": self.on_time,
            "completeness": self.completeness,
            "timeliness": self.timeliness,
            "missing": [
                {"school_code": m.code, "name": m.name, "township": m.township, "days_late": m.days_late}
                for m in self.missing
            ],
            "by_township": [
                {
                    "township": t,
                    **v,
                    "completeness": self._rate(v["reported"], v["expected"]),
                    "timeliness": self._rate(v["on_time"], v["expected"]),
                }
                for t, v in self.townships()
            ],
        }


def county_completeness(
    session: Session, county_code: str, period: str, *, now: dt.datetime | None = None, schools_where: Any = None
) -> Completeness:
    """Expected, reported, on-time and missing schools of one county for one period. ``schools_where``: a
    clause on ``School`` (``district.auth.services.school_filter``: a township_admin's township) counting
    those schools only."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    now = now or calendar.now()
    deadline = calendar.deadline(county, period)
    _y, m = parse_period(period)
    start = windows.reporting_start(session, county)
    # a break month, or a month before the county's reporting start, expects nobody
    result = Completeness(
        county_code, period, m in county.break_month_set, deadline, township_key=township_order(session, county_code)
    )
    if result.break_month or (start is not None and period < start):
        return result
    # columns, not entities: a county page reads a thousand schools and heads (a head's figures are large)
    rows = session.execute(
        select(School.code, School.name, School.opened, School.closed, Township.name)
        .join(Township, School.township_id == Township.id)
        .where(School.county_code == county_code, *(() if schools_where is None else (schools_where,)))
        .order_by(School.code)
    ).all()
    on_time = dict(
        session.execute(
            select(ReportHead.school_code, ReportHead.on_time).where(
                ReportHead.county_code == county_code, ReportHead.period == period
            )
        )
        .tuples()
        .all()
    )
    late_days = calendar.days_late(calendar.deadline_date(county, period), on=now.astimezone(SHANGHAI).date())
    for code, name, opened, closed, township in rows:
        if not calendar.in_active_range(opened, closed, period):
            continue
        t = result.by_township.setdefault(township, {"expected": 0, "reported": 0, "on_time": 0})
        result.expected += 1
        t["expected"] += 1
        if code not in on_time:
            result.missing.append(MissingSchool(code, name, township, late_days))
            continue
        result.reported += 1
        t["reported"] += 1
        if on_time[code]:
            result.on_time += 1
            t["on_time"] += 1
    return result
