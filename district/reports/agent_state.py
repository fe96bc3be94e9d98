"""What a school's agent asks before a clerk fills a template (issue 19): the period's state and the school's
last accepted report. Signed agent endpoints ``GET /api/v1/period-state`` and ``GET /api/v1/last-report``
(district/api/views.py) answer from here. Reads only.

Days left and days late are the hub's (``district.calendar``: the county's deadline, the hub's clock), so an
agent whose PC clock is wrong still says the bureau's figure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from district import calendar
from district.clock import today
from district.registry.models import County, School
from district.reports import windows
from district.reports.latest import last_accepted
from district.reports.models import ReportHead
from district.reports.services import period_locked
from district.reports.standards import required_version
from houqin_standard import SHANGHAI, days_between, standard_id

__all__ = ["last_report", "period_state"]


def period_state(session: Session, school: School, period: str) -> dict[str, Any]:
    """``{school_code, period, deadline, locked, reported, revisions, on_time, days_left, days_late, expected,
    subsidy_standard, standard}`` for the school and period (see docs/CONTRACTS.md)."""
    county = session.get(County, school.county_code)
    assert county is not None
    head = session.get(ReportHead, (school.code, period))
    due = calendar.deadline_date(county, period)
    start = windows.reporting_start(session, county)
    if head is not None:
        late = calendar.days_late(due, first_received_at=head.first_received_at)
        left = None
    else:
        late = calendar.days_late(due)
        left = max(0, days_between(today(), due)) if late == 0 else None
    return {
        "school_code": school.code,
        "period": period,
        "deadline": calendar.deadline(county, period).astimezone(SHANGHAI).isoformat(),
        "locked": period_locked(session, school.county_code, period),
        "reported": head is not None,
        "revisions": 0 if head is None else head.revisions,
        "on_time": None if head is None else head.on_time,
        "days_left": left,
        "days_late": late,
        "expected": calendar.is_expected(county, school, period, start),
        "subsidy_standard": f"{county.subsidy_standard:.2f}",
        # the report standard the county requires for the period (issue 20 item 1): the agent writes its
        # template and validates in this version
        "standard": standard_id(required_version(county, period)),
        **calendar_part(session, county, period),
    }


def calendar_part(session: Session, county: County, period: str) -> dict[str, Any]:
    """``{"calendar_tasks": [...]}``, the month's tasks of the county's 后勤行事历 in force (``{code, title,
    category}``), when the county requires @2 for the period; else nothing (a @1 month has no calendar)."""
    from district.duties.services import period_tasks

    if required_version(county, period) < 2:
        return {}
    return {"calendar_tasks": period_tasks(session, county.code, period)}


def last_report(session: Session, school: School, before: str | None) -> dict[str, Any] | None:
    """``{period, content}`` of the school's last accepted report (before ``before`` when given), or None."""
    found = last_accepted(session, school.code, before=before)
    if found is None:
        return None
    period, content = found
    return {"school_code": school.code, "period": period, "content": content}
