"""Request bodies of the PDF jobs (``POST /api/v1/counties/<county>/reports/pdf`` and ``…/nutrition/pdf``):
their shape. The window they name (periods, a year, a school year; ``from`` not after ``to``; at most 36
months) is the reporting calendar's rule (``calendar.window_from_args``, 400), and the school is the scope's
(404): the patterns below are stated for the document, those rules enforce them. A null is the key not
given, as it has always been."""

from __future__ import annotations

from district.web.schemas import REPORTABLE_PERIOD_PATTERN, SCHOOL_CODE_PATTERN, Schema, String, Year


def _period() -> String:
    return String(nullable=True, rule={"pattern": REPORTABLE_PERIOD_PATTERN})


PDF_JOB = Schema(
    {
        "school": String(nullable=True, rule={"pattern": SCHOOL_CODE_PATTERN}),
        "school_code": String(nullable=True, rule={"pattern": SCHOOL_CODE_PATTERN}, description="alias of `school`"),
        "from": _period(),
        "to": _period(),
        "year": Year(nullable=True, description="a calendar year, e.g. 2026"),
    },
    description="PDF evaluation reports for one school (`school`) or, without it, every school of the county "
    "with the county summary and a zip (county or city admin). Window `from`+`to` or `year`; "
    "neither: the current year. An empty body is the county's batch for the current year.",
)

FUND_PDF_JOB = Schema(
    {
        "from": _period(),
        "to": _period(),
        "year": Year(nullable=True, description="a calendar year, e.g. 2026"),
        "school_year": String(nullable=True, description="a school year, e.g. 2026-2027"),
    },
    description="The window of the county's fund report, as `GET …/nutrition` reads it: `from`+`to`, "
    "`year` or `school_year`; none: the default window. An empty body is the default window.",
)
