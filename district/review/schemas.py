"""Request body of per-report review (``POST /api/v1/reports/<report_id>/review``): its shape. The decisions
there are, the comment's text and length and that returning a report needs one are
``review.services.review_report``'s rules (the review page sends the same through it)."""

from __future__ import annotations

from district.review.services import COMMENT_MAX, DECISIONS
from district.web.schemas import Schema, String
from houqin_standard.text import text_pattern

REVIEW = Schema(
    {
        "decision": String(rule={"enum": list(DECISIONS)}),
        "comment": String(nullable=True, rule={"maxLength": COMMENT_MAX, "pattern": text_pattern(multiline=True)}),
    },
    required=("decision",),
    not_object="invalid_body",  # the 400 this endpoint has always answered (API.md)
)
