"""Kept for the callers that still import it from here: the module is ``district.printing.templating`` (the one PDF
pipeline, below the evaluation reports and the fund report). New code imports it from there."""

from district.printing.templating import (
    DASH,
    DEFAULT_LABELS,
    TEMPLATE_ROOT,
    field_zh,
    format_date,
    format_datetime,
    money,
    num,
    pct,
    pdf_env,
    period_zh,
    render_html,
)

__all__ = [
    "DASH",
    "DEFAULT_LABELS",
    "TEMPLATE_ROOT",
    "field_zh",
    "format_date",
    "format_datetime",
    "money",
    "num",
    "pct",
    "pdf_env",
    "period_zh",
    "render_html",
]
