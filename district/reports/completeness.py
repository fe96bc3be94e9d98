"""Completeness and timeliness of a county's period, as DHIS2 reports them, but never above 100 %.

Expected schools are those whose active range covers the period; a break month expects nobody. Only
expected schools enter numerator and denominator, so a school that closed, or opened after the period,
leaves both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar
from district.registry.models import County, School, Township
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
                for t, v in sorted(self.by_township.items())
            ],
        }


def county_completeness(
    session: Session, county_code: str, period: str, *, now: dt.datetime | None = None
) -> Completeness:
    """Expected, reported, on-time and missing schools of one county for one period."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    now = now or calendar.now()
    deadline = calendar.deadline(county, period)
    _y, m = parse_period(period)
    start = calendar.reporting_start(session, county)
    # a break month, or a month before the county's reporting start, expects nobody
    result = Completeness(county_code, period, m in county.break_month_set, deadline)
    if result.break_month or (start is not None and period < start):
        return result
    rows = session.execute(
        select(School, Township.name)
        .join(Township, School.township_id == Township.id)
        .where(School.county_code == county_code)
        .order_by(School.code)
    ).all()
    heads = {
        h.school_code: h
        for h in session.scalars(
            select(ReportHead).where(ReportHead.county_code == county_code, ReportHead.period == period)
        )
    }
    late_days = calendar.days_late(calendar.deadline_date(county, period), on=now.astimezone(SHANGHAI).date())
    for school, township in rows:
        if not school.active_in(period):
            continue
        t = result.by_township.setdefault(township, {"expected": 0, "reported": 0, "on_time": 0})
        result.expected += 1
        t["expected"] += 1
        head = heads.get(school.code)
        if head is None:
            result.missing.append(MissingSchool(school.code, school.name, township, late_days))
            continue
        result.reported += 1
        t["reported"] += 1
        if head.on_time:
            result.on_time += 1
            t["on_time"] += 1
    return result
