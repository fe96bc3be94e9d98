"""What the bureau sees of one school for one period, returned to the school's agent (API.md feedback): its
receipt, the fund anomalies (the one fund-rule engine), and every part the domains add (``reports.feedback
.feedback_part``: the review, score and rank, reminders, inspection findings). Above those packages, so it imports
the ones whose parts it shows; none of them imports it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

# the modules whose parts the feedback shows: each registers its part when imported (issue 18, issue 20)
from district.nutrition.month import report_anomalies
from district.registry.models import County, School
from district.reports.agent_state import calendar_part
from district.reports.feedback import feedback_parts
from district.reports.models import ReportHead, ReportRevision
from district.reports.services import period_locked, receipt_for
from district.reports.standards import required_version
from district.review import services as _review  # noqa: F401  (the ``review`` part)
from district.scoring import checklists as _checklists  # noqa: F401  (the ``inspection_findings`` part)
from district.scoring import feedback as _scoring  # noqa: F401  (score, rank and reminders)
from houqin_standard import SHANGHAI, period_deadline, standard_id


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
    for part in feedback_parts():
        out.update(part(session, school, period, lang))
    return out
