"""The fund and stock anomalies of one stored report, with its carry-over bases read from the report store: what
the agent feedback (``district.api.feedback``) and the review queue (``district.review``) show of a month. The
rules are the one fund-rule engine's (``anomalies.month_anomalies``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from district.nutrition.anomalies import Anomaly, month_anomalies
from district.reports.feedback import previous_participating
from district.reports.figures import ReportFigures


def report_anomalies(session: Session, report: dict[str, Any], *, standard_rate: Decimal) -> list[Anomaly]:
    """The fund and stock anomalies of one stored report (the one fund-rule engine), with its carry-over bases
    read here: the previous participating report and, for a month sent in @2 (a @1 month has no stock to
    compare), the previous participating one sent in @2. The feedback and the review queue show these."""
    school_code, period = report["school_code"], report["period"]
    prev = previous_participating(session, school_code, period)
    prev_stock = None
    if "canteen_stock" in report:
        prev_stock = previous_participating(session, school_code, period, stock=True)
    return month_anomalies(
        ReportFigures.from_content(report),
        None if prev is None else ReportFigures.from_content(prev),
        standard_rate=standard_rate,
        previous_stock=None if prev_stock is None else ReportFigures.from_content(prev_stock),
    )
