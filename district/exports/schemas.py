"""Request body of the period's reports export as a job (``POST /api/v1/counties/<county>/reports/export``):
its shape. Which formats exist (400 ``invalid_format``) and which periods the county holds (400
``invalid_period``, ``web.errors.period_param``) are checked after it, with those codes; the document states
them here. A null is the key not given, as it has always been."""

from __future__ import annotations

from district.exports.jobs import EXPORT_FORMATS
from district.web.schemas import PERIOD_PATTERN, Schema, String

REPORTS_EXPORT = Schema(
    {
        "period": String(nullable=True, rule={"pattern": PERIOD_PATTERN}),
        "format": String(nullable=True, rule={"enum": list(EXPORT_FORMATS), "default": "xlsx"}),
    }
)
