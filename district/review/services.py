"""Per-report review (issue 18): a county or township reviewer marks a school's effective revision 已通过
(``approved``) or 退回 (``returned``, with a comment).

Decisions are appended to ``report_reviews``, audited as ``review.<decision>`` in the county's hash chain (as
period locks are, ``reports/approval.py``). A period's review is the latest decision on its *effective*
revision: a later revision of the period is 待审核 again (a returned report goes back to the queue) without any
row being changed. Reads never write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from district.audit.services import record
from district.db import utcnow
from district.registry.models import School, Township
from district.registry.services import township_order
from district.reports.feedback import feedback_part
from district.reports.models import ReportHead, ReportReview, ReportRevision
from houqin_standard import SHANGHAI

DECISIONS = ("approved", "returned")
COMMENT_MAX = 2000


class ReviewError(Exception):
    """A refused review: ``status`` (404, 409, 422), a stable ``code``, a message, and ``details``."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


@dataclass(frozen=True)
class Review:
    decision: str
    comment: str
    reviewer: str
    at: dt.datetime
    revision_id: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "comment": self.comment,
            "reviewer": self.reviewer,
            "at": self.at.astimezone(SHANGHAI).isoformat(),
        }


@dataclass(frozen=True)
class OpenReturn:
    """A returned report whose revision is still the school's effective one (not yet corrected)."""

    school_code: str
    school_name: str
    township: str
    period: str
    comment: str
    reviewer: str
    at: dt.datetime
    report_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "school_code": self.school_code,
            "name": self.school_name,
            "township": self.township,
            "period": self.period,
            "comment": self.comment,
            "reviewer": self.reviewer,
            "at": self.at.astimezone(SHANGHAI).isoformat(),
            "report_id": self.report_id,
        }


def _latest_review_ids() -> Any:
    """Subquery: the id of the latest decision on each reviewed revision."""
    return (
        select(ReportReview.revision_id, func.max(ReportReview.id).label("review_id"))
        .group_by(ReportReview.revision_id)
        .subquery()
    )


def _heads_with_review(county_code: str, township: str | None) -> Select[Any]:
    """Effective revisions of the county (optionally one township's schools) with their latest review, if any."""
    latest = _latest_review_ids()
    q = (
        select(ReportHead, ReportRevision, School, Township.name.label("township"), ReportReview)
        .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
        .join(School, School.code == ReportHead.school_code)
        .join(Township, Township.id == School.township_id)
        .outerjoin(latest, latest.c.revision_id == ReportHead.revision_id)
        .outerjoin(ReportReview, ReportReview.id == latest.c.review_id)
        .where(ReportHead.county_code == county_code)
    )
    if township is not None:
        q = q.where(Township.name == township)
    return q


def current_review(session: Session, school_code: str, period: str) -> Review | None:
    """The review of the school's period: the latest decision on its effective revision (None: 待审核 or
    nothing reported)."""
    head = session.get(ReportHead, (school_code, period))
    if head is None:
        return None
    row = session.scalars(
        select(ReportReview).where(ReportReview.revision_id == head.revision_id).order_by(ReportReview.id.desc())
    ).first()
    return None if row is None else _review(row)


def _review(row: ReportReview) -> Review:
    return Review(row.decision, row.comment, row.reviewer, row.at, row.revision_id)


def open_returns(session: Session, county_code: str, township: str | None = None) -> list[OpenReturn]:
    """Returned reports not yet corrected (their revision is still the effective one), oldest decision first.
    ``township``: that township's schools only (a township_admin's scope)."""
    q = _heads_with_review(county_code, township).where(ReportReview.decision == "returned")
    out = [
        OpenReturn(
            school.code, school.name, tname, head.period, review.comment, review.reviewer, review.at, rev.report_id
        )
        for head, rev, school, tname, review in session.execute(q)
    ]
    out.sort(key=lambda r: (r.at, r.school_code, r.period))
    return out


@dataclass(frozen=True)
class QueueItem:
    school_code: str
    school_name: str
    township: str
    period: str
    report_id: str
    revision: int
    received_at: dt.datetime
    warnings: list[Any]
    fund_anomalies: list[dict[str, Any]]


def review_queue(
    session: Session, county_code: str, *, township: str | None = None, period: str | None = None, lang: str = "zh"
) -> list[QueueItem]:
    """待审核: effective revisions without a decision on them, oldest (received) first, ordered by township
    then age; each with its validation warnings and fund anomalies (the one fund-rule engine)."""
    import json

    from district.nutrition.month import report_anomalies
    from district.registry.models import County

    county = session.get(County, county_code)
    if county is None:
        return []
    q = _heads_with_review(county_code, township).where(ReportReview.id.is_(None))
    if period is not None:
        q = q.where(ReportHead.period == period)
    items = []
    for head, rev, school, tname, _review_row in session.execute(q):
        report = json.loads(rev.content)
        anomalies = [a.to_dict(lang) for a in report_anomalies(session, report, standard_rate=county.subsidy_standard)]
        items.append(
            QueueItem(
                school.code,
                school.name,
                tname,
                head.period,
                rev.report_id,
                rev.revision,
                rev.received_at,
                list(rev.warnings or []),
                anomalies,
            )
        )
    order = township_order(session, county_code)  # the county's order of its townships
    items.sort(key=lambda i: (order(i.township), i.received_at, i.school_code))
    return items


@dataclass(frozen=True)
class ReviewCounts:
    reported: int
    unreviewed: int
    approved: int
    returned: int


def period_review_counts(session: Session, county_code: str, period: str, township: str | None = None) -> ReviewCounts:
    """How many of the period's effective reports are unreviewed, approved or returned (the approval page)."""
    q = _heads_with_review(county_code, township).where(ReportHead.period == period)
    counts = {"approved": 0, "returned": 0, None: 0}
    total = 0
    for *_rest, review in session.execute(q):
        total += 1
        counts[review.decision if review is not None else None] += 1
    return ReviewCounts(total, counts[None], counts["approved"], counts["returned"])


def review_report(
    session: Session, report_id: str, *, decision: Any, comment: Any, reviewer: str, can_see: Any
) -> tuple[ReportRevision, Review]:
    """Record a decision on the revision ``report_id``. ``can_see(school_code)`` is the caller's scope rule: a
    revision outside it does not exist (404). Refusals: 404 unknown or out of scope; 422 ``decision`` not one of
    :data:`DECISIONS` or ``comment`` not text / missing to return; 409 ``superseded`` (naming the effective
    revision's report_id) or ``period_locked`` (a locked period is not sent back)."""
    rev = session.scalars(select(ReportRevision).where(ReportRevision.report_id == report_id)).first()
    if rev is None or not can_see(rev.school_code):
        raise ReviewError(404, "not_found", "未找到该报表 / no such report")
    if decision not in DECISIONS:
        raise ReviewError(
            422,
            "validation_failed",
            "审核结论应为 approved（通过）或 returned（退回） / decision must be approved or returned",
            [{"path": "/decision", "code": "invalid_value", "message": "应为 approved 或 returned"}],
        )
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise ReviewError(
            422,
            "validation_failed",
            "审核意见应为文字 / comment must be text",
            [{"path": "/comment", "code": "invalid_type", "message": "审核意见应为文字"}],
        )
    from houqin_standard import text_issue

    comment = comment.strip()
    bad = text_issue(comment, "审核意见（/comment）", "comment (/comment)", multiline=True) if comment else None
    if bad is not None:
        raise ReviewError(422, "validation_failed", bad[1], [{"path": "/comment", "code": bad[0], "message": bad[1]}])
    if len(comment) > COMMENT_MAX:
        raise ReviewError(
            422,
            "validation_failed",
            f"审核意见不超过 {COMMENT_MAX} 字 / comment too long",
            [{"path": "/comment", "code": "too_long", "message": f"审核意见不超过 {COMMENT_MAX} 字"}],
        )
    if decision == "returned" and not comment:
        raise ReviewError(
            422,
            "validation_failed",
            "退回时须填写审核意见（comment） / a comment is required to return a report",
            [{"path": "/comment", "code": "required", "message": "退回时须填写审核意见"}],
        )
    school = session.get(School, rev.school_code)
    assert school is not None
    # one decision at a time per county (the chain's row lock serialises them on PostgreSQL; SQLite's writer lock)
    head = session.get(ReportHead, (rev.school_code, rev.period))
    assert head is not None
    if head.revision_id != rev.id:
        current = session.get(ReportRevision, head.revision_id)
        assert current is not None
        raise ReviewError(
            409,
            "superseded",
            f"该报表已有更新的版本（第 {current.revision} 版，{current.report_id}），请审核最新版本"
            f" / superseded by revision {current.revision} ({current.report_id})",
            [
                {
                    "path": "/report_id",
                    "code": "superseded",
                    "current_report_id": current.report_id,
                    "current_revision": current.revision,
                }
            ],
        )
    if decision == "returned":
        from district.reports.services import period_locked

        if period_locked(session, school.county_code, rev.period):
            raise ReviewError(
                409, "period_locked", f"{rev.period} 已锁定，不能退回 / the period is locked: it cannot be returned"
            )
    row = ReportReview(
        revision_id=rev.id,
        school_code=rev.school_code,
        county_code=school.county_code,
        period=rev.period,
        decision=decision,
        comment=comment,
        reviewer=reviewer,
        at=utcnow(),
    )
    session.add(row)
    record(
        session,
        actor=reviewer,
        action=f"review.{decision}",
        county_code=school.county_code,
        school_code=rev.school_code,
        period=rev.period,
        report_id=rev.report_id,
        revision=rev.revision,
        comment=comment,
    )
    session.flush()
    return rev, _review(row)


@feedback_part
def feedback_review(session: Session, school: School, period: str, lang: str) -> dict[str, Any]:
    """The school's feedback part: ``review`` of the period (None while 待审核 or nothing reported)."""
    review = current_review(session, school.code, period)
    return {"review": None if review is None else review.to_dict()}
