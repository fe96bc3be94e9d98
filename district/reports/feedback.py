"""What the bureau sees of one school for one period, returned to the school's agent (API.md feedback)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from district.registry.models import County, School
from district.reports.agent_state import calendar_part
from district.reports.history import previous_participating_rows
from district.reports.models import ReportHead, ReportRevision
from district.reports.services import period_locked, receipt_for
from district.reports.standards import required_version
from houqin_standard import SHANGHAI, period_deadline, standard_id

# Other domains add their part of the feedback (fund anomalies, score and rank, reminders) here.
FeedbackPart = Callable[[Session, School, str, str], dict[str, Any]]
_parts: list[FeedbackPart] = []


def feedback_part(fn: FeedbackPart) -> FeedbackPart:
    _parts.append(fn)
    return fn


def previous_participating(session: Session, school_code: str, before_period: str) -> dict[str, Any] | None:
    """The school's most recent effective participating report before ``before_period`` (for carry-over):
    ``district.reports.history.previous_participating_rows``, the query scoring and the fund report use."""
    row = session.execute(previous_participating_rows(before_period, school_code=school_code, content=True)).first()
    return None if row is None else json.loads(row.content)


def school_feedback(session: Session, school: School, period: str, *, lang: str = "zh") -> dict[str, Any]:
    county = session.get(County, school.county_code)
    assert county is not None
    head = session.get(ReportHead, (school.code, period))
    out: dict[str, Any] = {
        "school_code": school.code,
        "period": period,
        "deadline": period_deadline(period, county.deadline_day).astimezone(SHANGHAI).isoformat(),
        "locked": period_locked(session, school.county_code, period),
        "revision": None,
        "revisions": 0,
        "warnings": [],
        "fund_anomalies": [],
        "score": None,
        "rank": None,
        "reminders": [],
        # the report standard the county requires for the period (STANDARD-v2.md: the agent follows it)
        "standard": standard_id(required_version(county, period)),
        # @2: the month's tasks of the county's 后勤行事历 in force, {code, title, category}
        **calendar_part(session, county, period),
    }
    if head is not None:
        rev = session.get(ReportRevision, head.revision_id)
        assert rev is not None
        receipt = receipt_for(session, rev).to_dict(lang)
        out["revision"] = receipt
        out["revisions"] = head.revisions
        out["warnings"] = receipt["warnings"]
        from district.nutrition.anomalies import month_anomalies

        report = json.loads(rev.content)
        prev = previous_participating(session, school.code, period)
        out["fund_anomalies"] = [
            a.to_dict(lang) for a in month_anomalies(report, prev, standard_rate=county.subsidy_standard)
        ]
    import district.reports.review  # noqa: F401  (registers the ``review`` part: issue 18)
    from district.scoring import checklists  # noqa: F401  (registers the ``inspection_findings`` part: issue 20)

    for part in _parts:
        out.update(part(session, school, period, lang))
    return out
