"""A school's last accepted report on the hub: the effective revision of its newest reported period.

One reader for everything that prefills from the hub: the web template (``district/submission``) and
``houqin-agent restore`` (a new PC with an empty outbox). Reads only.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district.reports.models import ReportHead, ReportRevision

__all__ = ["last_accepted"]


def last_accepted(
    session: Session, school_code: str, *, before: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """``(period, content)`` of the school's newest period with an accepted report — its effective (newest)
    revision, the content as stored (the canonical report, parsed) — or ``None`` when the school has none.

    ``before`` (``YYYY-MM``) limits it to periods strictly earlier: the report to prefill a month from.
    """
    stmt = (
        select(ReportHead.period, ReportRevision.content)
        .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
        .where(ReportHead.school_code == school_code)
        .order_by(ReportHead.period.desc())
        .limit(1)
    )
    if before is not None:
        stmt = stmt.where(ReportHead.period < before)
    row = session.execute(stmt).first()
    if row is None:
        return None
    return row[0], json.loads(row[1])
