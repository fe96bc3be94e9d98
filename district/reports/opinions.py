"""意见箱: the opinions a school received from teachers, students and parents and how many it answered.

STANDARD-v2.md's ``feedback_box`` (``received``, ``answered`` ≤ received) is reported in @2 only; a month sent in
@1 has *not reported* it (never 0). Read from each month's effective revision (its head's figures, the revision's
content when the head has none), the same values every surface shows: the school page lists the months, the
county page sums them by township in the county's order. There is no indicator for it yet (issue 20 item 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar
from district.registry.models import County, School, Township
from district.registry.services import township_order
from district.reports import windows
from district.reports.figures import FIELDS, load_figures
from district.reports.models import ReportHead, ReportRevision

_RECEIVED = FIELDS.index("feedback_box.received") + 1  # after the layout tag
_ANSWERED = FIELDS.index("feedback_box.answered") + 1


@dataclass(frozen=True)
class BoxMonth:
    """One reported month: ``received``/``answered`` are None when the month was sent in @1 (not reported)."""

    period: str
    received: int | None
    answered: int | None

    @property
    def reported(self) -> bool:
        return self.received is not None


@dataclass
class BoxTotals:
    """Sums over the schools (or months) that reported the 意见箱, and how many did not."""

    received: int = 0
    answered: int = 0
    reporting: int = 0  # schools (months) that reported it: sent in @2
    not_reporting: int = 0  # reported the month in @1: the 意见箱 is not reported
    unreported: int = 0  # expected schools with no report for the month

    def add(self, month: BoxMonth | None) -> None:
        if month is None:
            self.unreported += 1
        elif month.received is None or month.answered is None:
            self.not_reporting += 1
        else:
            self.reporting += 1
            self.received += month.received
            self.answered += month.answered

    @property
    def unanswered(self) -> int:
        return self.received - self.answered

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "answered": self.answered,
            "unanswered": self.unanswered,
            "reporting": self.reporting,
            "not_reporting": self.not_reporting,
            "unreported": self.unreported,
        }


def _month(period: str, figures: str | None, content: str | None) -> BoxMonth:
    values = load_figures(figures, content)
    return BoxMonth(period, values[_RECEIVED], values[_ANSWERED])


def school_months(session: Session, school_code: str, frm: str, to: str) -> list[BoxMonth]:
    """The school's reported months ``frm..to`` (effective revisions), oldest first."""
    rows = session.execute(
        select(ReportHead.period, ReportHead.figures, ReportHead.revision_id)
        .where(ReportHead.school_code == school_code, ReportHead.period >= frm, ReportHead.period <= to)
        .order_by(ReportHead.period)
    ).all()
    return [_month(p, f, None if f is not None else _content(session, rid)) for p, f, rid in rows]


def school_totals(months: list[BoxMonth]) -> BoxTotals:
    totals = BoxTotals()
    for m in months:
        totals.add(m)
    return totals


@dataclass
class CountyBox:
    county_code: str
    period: str
    by_township: list[tuple[str, BoxTotals]] = field(default_factory=list)
    total: BoxTotals = field(default_factory=BoxTotals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "county_code": self.county_code,
            "period": self.period,
            "total": self.total.to_dict(),
            "by_township": [{"township": t, **v.to_dict()} for t, v in self.by_township],
        }


def county_month(session: Session, county_code: str, period: str, *, schools_where: Any = None) -> CountyBox:
    """The county's 意见箱 for one period, summed by township (the county's order) over the schools expected to
    report it (active in the period: ``calendar.in_active_range``). ``schools_where``: as in completeness."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    result = CountyBox(county_code, period)
    start = windows.reporting_start(session, county)
    if int(period[5:7]) in county.break_month_set or (start is not None and period < start):
        return result  # a break month, or a month before the reporting start, expects nobody (as completeness)
    schools = session.execute(
        select(School.code, School.opened, School.closed, Township.name)
        .join(Township, School.township_id == Township.id)
        .where(School.county_code == county_code, *(() if schools_where is None else (schools_where,)))
        .order_by(School.code)
    ).all()
    heads = {
        code: (fig, rid)
        for code, fig, rid in session.execute(
            select(ReportHead.school_code, ReportHead.figures, ReportHead.revision_id).where(
                ReportHead.county_code == county_code, ReportHead.period == period
            )
        ).tuples()
    }
    townships: dict[str, BoxTotals] = {}
    for code, opened, closed, township in schools:
        if not calendar.in_active_range(opened, closed, period):
            continue
        head = heads.get(code)
        month = None
        if head is not None:
            fig, rid = head
            month = _month(period, fig, None if fig is not None else _content(session, rid))
        townships.setdefault(township, BoxTotals()).add(month)
        result.total.add(month)
    key = township_order(session, county_code)
    result.by_township = sorted(townships.items(), key=lambda item: key(item[0]))
    return result


def _content(session: Session, revision_id: int) -> str:
    return session.execute(select(ReportRevision.content).where(ReportRevision.id == revision_id)).scalar_one()
