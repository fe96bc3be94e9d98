"""``houqin/monthly-report@2`` beside @1 (STANDARD-v2.md): the four sections, their rules and error codes."""

from __future__ import annotations

from typing import Any

import pytest
from helpers_standard import DELETE, check, error_pairs, example, set_ptr

from houqin_standard import STANDARD_ID, STANDARD_ID_2, sections_of, standard_version
from houqin_standard.fields import SECTIONS, SECTIONS_V2, label

CODES = {"SPRING-CHECK", "SEPT-SAFETY", "FEE-CHECK"}


def example_v2() -> dict[str, Any]:
    doc = example()
    doc["standard"] = STANDARD_ID_2
    doc["calendar"] = {
        "tasks": [
            {"code": "SPRING-CHECK", "done_on": "2026-09-01", "note": "水电气全面检查"},
            {"code": "SEPT-SAFETY", "done_on": "2026-08-28"},
        ]
    }
    doc["kitchen"] = {"morning_check_days": 17, "tableware_disinfection_days": 17, "tasting_days": 16}
    doc["canteen_stock"] = {
        "opening_stock_value": "3200.00",
        "purchases": "65305.35",
        "closing_stock_value": "2800.00",
        "stock_checked": True,
    }
    doc["feedback_box"] = {"received": 5, "answered": 4}
    return doc


def v2(*changes: tuple[str, Any]) -> dict[str, Any]:
    doc = example_v2()
    for pointer, value in changes:
        set_ptr(doc, pointer, value)
    return doc


def test_versions_side_by_side() -> None:
    assert standard_version(STANDARD_ID) == 1 and standard_version(STANDARD_ID_2) == 2
    assert standard_version("houqin/monthly-report@3") is None
    assert sections_of(STANDARD_ID) == SECTIONS
    assert sections_of(STANDARD_ID_2) == SECTIONS_V2
    assert [s.key for s in SECTIONS_V2[len(SECTIONS) :]] == ["calendar", "kitchen", "canteen_stock", "feedback_box"]
    assert label("/calendar/tasks/0/done_on")[0] == "完成日期"
    assert label("/kitchen/tasting_days")[0] == "试尝天数"


def test_a_complete_v2_report_is_valid_and_so_is_v1() -> None:
    assert check(example_v2(), calendar_codes=CODES).errors == []
    assert check(example()).errors == []


def test_v2_sections_are_unknown_in_a_v1_report() -> None:
    doc = example()
    doc["feedback_box"] = {"received": 1, "answered": 1}
    assert error_pairs(doc) == [("/feedback_box", "unknown_field")]


def test_unknown_standard_names_both_versions() -> None:
    result = check(v2(("/standard", "houqin/monthly-report@3")))
    issue = next(i for i in result.errors if i.path == "/standard")
    assert issue.code == "standard_mismatch"
    assert "houqin/monthly-report@2" in issue.zh


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        ("/calendar", ("/calendar", "required")),
        ("/feedback_box", ("/feedback_box", "required")),
        ("/kitchen", ("/kitchen", "required")),
        ("/canteen_stock", ("/canteen_stock", "required")),
    ],
)
def test_required_sections(pointer: str, expected: tuple[str, str]) -> None:
    assert error_pairs(v2((pointer, DELETE)), calendar_codes=CODES) == [expected]


def test_conditional_sections_not_required_when_their_condition_fails() -> None:
    doc = v2(("/kitchen", DELETE), ("/canteen_stock", DELETE), ("/food_safety/canteen_staff", 0))
    doc["food_safety"]["health_certified_staff"] = 0
    doc["nutrition"] = {"participating": False}
    assert error_pairs(doc, calendar_codes=CODES) == []


def test_calendar_task_unknown() -> None:
    doc = v2(("/calendar/tasks/1/code", "JUNE-ASSETS"))
    result = check(doc, calendar_codes=CODES)
    assert [(i.path, i.code) for i in result.errors] == [("/calendar/tasks/1/code", "calendar_task_unknown")]
    assert "JUNE-ASSETS" in result.errors[0].zh and "9 月" in result.errors[0].zh
    # Without the county's calendar the code is not judged.
    assert error_pairs(doc) == []


def test_calendar_task_duplicate() -> None:
    doc = v2(("/calendar/tasks/1/code", "SPRING-CHECK"))
    assert error_pairs(doc, calendar_codes=CODES) == [("/calendar/tasks/1/code", "calendar_task_duplicate")]


@pytest.mark.parametrize(
    ("done_on", "ok"),
    [("2026-08-01", True), ("2026-09-30", True), ("2026-07-31", False), ("2026-10-01", False)],
)
def test_calendar_done_on_window(done_on: str, ok: bool) -> None:
    pairs = error_pairs(v2(("/calendar/tasks/0/done_on", done_on)), calendar_codes=CODES)
    assert pairs == ([] if ok else [("/calendar/tasks/0/done_on", "out_of_range")])


def test_calendar_task_fields() -> None:
    doc = v2(("/calendar/tasks/0/note", "长" * 201), ("/calendar/tasks/1/done_on", "2026-09-31"))
    doc["calendar"]["tasks"].append({"code": "FEE-CHECK", "done_on": "2026-09-02", "extra": 1})
    assert error_pairs(doc, calendar_codes=CODES) == [
        ("/calendar/tasks/0/note", "too_long"),
        ("/calendar/tasks/1/done_on", "invalid_date"),
        ("/calendar/tasks/2/extra", "unknown_field"),
    ]
    assert error_pairs(v2(("/calendar/tasks", {})), calendar_codes=CODES) == [("/calendar/tasks", "expected_array")]


def test_kitchen_days_exceed_meal_days() -> None:
    doc = v2(("/kitchen/tasting_days", 18))
    result = check(doc, calendar_codes=CODES)
    assert [(i.path, i.code) for i in result.errors] == [("/kitchen/tasting_days", "kitchen_days_exceed_meal_days")]
    assert "试尝天数" in result.errors[0].zh and "17" in result.errors[0].zh
    # Not participating: the meal days do not bound the kitchen's days.
    doc = v2(("/kitchen/tasting_days", 18), ("/canteen_stock", DELETE))
    doc["nutrition"] = {"participating": False}
    assert error_pairs(doc, calendar_codes=CODES) == []
    assert error_pairs(v2(("/kitchen/tasting_days", 32)), calendar_codes=CODES) == [
        ("/kitchen/tasting_days", "out_of_range")
    ]


def test_stock_negative_consumption() -> None:
    doc = v2(("/canteen_stock/closing_stock_value", "68505.36"))  # 3200.00 + 65305.35 − 68505.36 = −0.01
    result = check(doc, calendar_codes=CODES)
    assert [(i.path, i.code) for i in result.errors] == [
        ("/canteen_stock/closing_stock_value", "stock_negative_consumption")
    ]
    assert "-0.01" in result.errors[0].zh
    assert error_pairs(v2(("/canteen_stock/closing_stock_value", "68505.35")), calendar_codes=CODES) == []
    assert error_pairs(v2(("/canteen_stock/purchases", 10)), calendar_codes=CODES) == [
        ("/canteen_stock/purchases", "money_not_string")
    ]


def test_feedback_box_answered_not_above_received() -> None:
    assert error_pairs(v2(("/feedback_box/answered", 6)), calendar_codes=CODES) == [
        ("/feedback_box/answered", "exceeds")
    ]
    assert error_pairs(v2(("/feedback_box/received", -1)), calendar_codes=CODES) == [
        ("/feedback_box/received", "negative")
    ]
