"""Helpers for the 后勤行事历 tests: a @2 report naming the tasks done, a calendar file's text."""

from __future__ import annotations

import copy
from typing import Any

from houqin_standard import STANDARD_ID_2
from tests.factories import school_report

V2_SECTIONS: dict[str, Any] = {
    "kitchen": {"morning_check_days": 17, "tableware_disinfection_days": 17, "tasting_days": 15},
    "canteen_stock": {
        "opening_stock_value": "3200.00",
        "purchases": "65305.35",
        "closing_stock_value": "2800.00",
        "stock_checked": True,
    },
    "feedback_box": {"received": 3, "answered": 2},
}


def v2_report(school: Any, period: str, done: list[str], **overrides: Any) -> dict[str, Any]:
    """The school's example report for ``period`` sent in @2, its ``calendar.tasks`` the codes ``done`` (done on
    the 3rd of the month)."""
    report = school_report(school, period, **overrides)
    report.update(copy.deepcopy(V2_SECTIONS))
    report["standard"] = STANDARD_ID_2
    report["hazards"] = []
    report["calendar"] = {"tasks": [{"code": code, "done_on": f"{period}-03"} for code in done]}
    return report


def calendar_text(*tasks: tuple[str, list[int], str, str]) -> str:
    """A calendar file: one ``[[task]]`` per (code, months, title, category)."""
    out = []
    for code, months, title, category in tasks:
        out.append(f'[[task]]\ncode = "{code}"\nmonths = {months}\ntitle = "{title}"\ncategory = "{category}"\n')
    return "\n".join(out)
