"""The review queue page 待审核 (issue 18) and the review forms of the queue and the school page.

``GET /counties/<county>/review?period=``: the period's effective revisions without a decision, by township,
oldest first, each with its fund anomalies and validation warnings (``review.services.review_queue``); a
township_admin sees its township's alone. ``POST /reports/<report_id>/review``: 通过 acts at once; 退回 asks to
confirm first (the same two steps as a lock, no script needed), then acts; both end on the page they came from
with a message. Refusals are the review service's: 404 out of scope, 403 a role that does not review, 400 a
missing comment or a bad decision (naming the field), 409 a superseded revision or a locked period.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from district.auth.services import can_review, can_see_school, township_scope
from district.dashboard.errors import register_page_errors
from district.dashboard.i18n import lang
from district.dashboard.views import _user, county_in_scope, period_arg, recent_periods, signed_in
from district.db import db
from district.reports.models import ReportRevision
from district.review.services import ReviewError, review_queue, review_report

bp = Blueprint("review_pages", __name__)


def init_app(app: Flask) -> None:
    register_page_errors(bp)
    app.register_blueprint(bp)


@bp.get("/counties/<county>/review")
@signed_in
def queue(county: str) -> Any:
    c = county_in_scope(county)
    period = period_arg(c)
    s = db.session()
    user = _user()
    township = township_scope(user)
    items = review_queue(s, county, township=township, period=period, lang=lang())
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(item.township, []).append(item)
    may_review = user.role in ("county_admin", "township_admin")
    return render_template(
        "pages/review_queue.html",
        county=c,
        period=period,
        periods=recent_periods(),
        groups=groups,
        total=len(items),
        township=township,
        may_review=may_review,
    )


def _back(rev: ReportRevision) -> str:
    """Where the form came from: the queue of that county or the school page (never another site)."""
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("dashboard.school", code=rev.school_code) + "#review"


@bp.post("/reports/<report_id>/review")
@signed_in
def review(report_id: str) -> Any:
    s = db.session()
    user = _user()
    rev = s.query(ReportRevision).filter(ReportRevision.report_id == report_id[:64]).first()
    if rev is None or not can_see_school(s, user, rev.school_code):
        abort(404)
    if not can_review(s, user, rev.school_code):
        abort(403)
    decision = request.form.get("decision")
    comment = (request.form.get("comment") or "").strip()
    if decision == "returned" and comment and request.form.get("confirm") != "yes":
        from district.registry.models import School

        return render_template(
            "pages/review_confirm.html",
            rev=rev,
            school=s.get(School, rev.school_code),
            comment=comment,
            next=_back(rev),
        )
    try:
        review_report(
            s, report_id[:64], decision=decision, comment=comment, reviewer=user.username, can_see=lambda _c: True
        )
    except ReviewError as exc:  # the refusal rolls the request back
        status = 400 if exc.status == 422 else exc.status
        abort(status, description=_review_refusal(exc))
    school_name = rev.school_code
    from district.registry.models import School

    school = s.get(School, rev.school_code)
    if school is not None:
        school_name = school.name
    if decision == "approved":
        flash(_("Approved: %(school)s, %(period)s.", school=school_name, period=rev.period), "success")
    else:
        flash(
            _(
                "Returned to %(school)s for %(period)s; the school sees your comment.",
                school=school_name,
                period=rev.period,
            ),
            "success",
        )
    return redirect(_back(rev))


def _review_refusal(exc: ReviewError) -> str:
    """A refusal in the page's words."""
    if exc.code == "superseded":
        return _("The school has sent a newer revision of this report since: review the newest one.")
    if exc.code == "period_locked":
        return _("This period is locked: a report of it cannot be returned.")
    path = exc.details[0]["path"] if exc.details else ""
    if path == "/comment" and exc.details[0].get("code") == "required":
        return _("Write a comment to return a report: tell the school what to correct.")
    if path == "/decision":
        return _("Choose approve or return.")
    parts = exc.message.split(" / ")
    return parts[-1] if lang() == "en" else parts[0]


SCHOOL_REVIEW_MONTHS = 6


@bp.app_template_global()
def school_review_rows(school_code: str) -> list[dict[str, Any]]:
    """The school page's 审核 section: its newest reported months (effective revisions) with their review, and
    whether the signed-in user may decide on them."""
    from sqlalchemy import select

    from district.reports.models import ReportHead
    from district.review.services import current_review

    s = db.session()
    user = _user()
    may = can_review(s, user, school_code)
    heads = s.scalars(
        select(ReportHead)
        .where(ReportHead.school_code == school_code)
        .order_by(ReportHead.period.desc())
        .limit(SCHOOL_REVIEW_MONTHS)
    ).all()
    rows = []
    for head in heads:
        rev = s.get(ReportRevision, head.revision_id)
        assert rev is not None
        rows.append(
            {
                "period": head.period,
                "revision": rev.revision,
                "report_id": rev.report_id,
                "review": current_review(s, school_code, head.period),
                "may_review": may,
            }
        )
    return rows
