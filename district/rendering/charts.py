"""Kept for the callers that still import it from here: the module is ``district.printing.charts`` (the one PDF
pipeline, below the evaluation reports and the fund report). New code imports it from there."""

from district.printing.charts import (
    Item,
    Number,
    ValueFormat,
    bar_chart_svg,
    default_value_format,
    radar_chart_svg,
)

__all__ = [
    "Item",
    "Number",
    "ValueFormat",
    "bar_chart_svg",
    "default_value_format",
    "radar_chart_svg",
]
