"""HTTP edge of per-report review (issue 18): ``POST /api/v1/reports/<report_id>/review``. Check order: 401 (no
bureau user) → 413/415 → 400 (not an object) → 422 (its shape, ``review.schemas.REVIEW``: an unknown key, a
type) → 404 (unknown report, or its school outside the caller's scope) → 403 (a role that does not review) → 422
(``review_report``'s rules: the decision, the comment) → 409 (superseded revision, locked period)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify

from district.auth.services import can_review, can_see_school
from district.db import db
from district.review.schemas import REVIEW
from district.review.services import ReviewError, review_report
from district.web.auth import bureau_required, current_user
from district.web.body import read_json
from district.web.errors import ApiError

bp = Blueprint("review_api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.post("/reports/<report_id>/review")
@bureau_required
def review(report_id: str) -> Any:
    """Mark the revision ``report_id`` approved, or return it with a comment."""
    user = current_user()
    assert user is not None
    s = db.session()
    payload = REVIEW.validate(read_json())  # its shape; the decision's rules are review_report's

    def may_review(school_code: str) -> bool:
        if not can_see_school(s, user, school_code):
            return False
        if not can_review(s, user, school_code):
            raise ApiError(
                403, "forbidden", "审核报表由县级管理员或学区管理员办理 / county_admin or township_admin reviews"
            )
        return True

    try:
        rev, decision = review_report(
            s,
            report_id[:64],
            decision=payload.get("decision"),
            comment=payload.get("comment"),
            reviewer=user.username,
            can_see=may_review,
        )
    except ReviewError as exc:  # a refusal rolls the request back
        raise ApiError(exc.status, exc.code, exc.message, exc.details) from None
    return jsonify(
        {
            "report_id": rev.report_id,
            "school_code": rev.school_code,
            "period": rev.period,
            "revision": rev.revision,
            "review": decision.to_dict(),
        }
    )
