"""What the bureau sees of one school for one period, returned to the school's agent (API.md feedback)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from district.registry.models import County, School
from district.reports.agent_state import calendar_part
from district.reports.history import previous_participating_rows
from district.reports.models import ReportHead, ReportRevision
from district.reports.services import period_locked, receipt_for
from district.reports.standards import required_version
from houqin_standard import SHANGHAI, period_deadline, standard_id

if TYPE_CHECKING:
    from district.nutrition.anomalies import Anomaly

# Other domains add their part of the feedback (fund anomalies, score and rank, reminders) here.
FeedbackPart = Callable[[Session, School, str, str], dict[str, Any]]
_parts: list[FeedbackPart] = []


def feedback_part(fn: FeedbackPart) -> FeedbackPart:
    _parts.append(fn)
    return fn


def previous_participating(
    session: Session, school_code: str, before_period: str, *, stock: bool = False
) -> dict[str, Any] | None:
    """The school's most recent effective participating report before ``before_period`` (for carry-over;
    ``stock``: the most recent one sent in @2, for the stock carry-over):
    ``district.reports.history.previous_participating_rows``, the query scoring and the fund report use."""
    row = session.execute(
        previous_participating_rows(before_period, school_code=school_code, content=True, stock=stock)
    ).first()
    return None if row is None else json.loads(row.content)


def report_anomalies(session: Session, report: dict[str, Any], *, standard_rate: Decimal) -> list[Anomaly]:
    """The fund and stock anomalies of one stored report (the one fund-rule engine), with its carry-over bases
    read here: the previous participating report and, for a month sent in @2 (a @1 month has no stock to
    compare), the previous participating one sent in @2. The feedback and the review queue show these."""
    from district.nutrition.anomalies import month_anomalies

    school_code, period = report["school_code"], report["period"]
    prev = previous_participating(session, school_code, period)
    prev_stock = None
    if "canteen_stock" in report:
        prev_stock = previous_participating(session, school_code, period, stock=True)
    return month_anomalies(report, prev, standard_rate=standard_rate, previous_stock=prev_stock)


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
        report = json.loads(rev.content)
        out["fund_anomalies"] = [
            a.to_dict(lang) for a in report_anomalies(session, report, standard_rate=county.subsidy_standard)
        ]
    import district.reports.review  # noqa: F401  (registers the ``review`` part: issue 18)
    from district.scoring import checklists  # noqa: F401  (registers the ``inspection_findings`` part: issue 20)

    for part in _parts:
        out.update(part(session, school, period, lang))
    return out
