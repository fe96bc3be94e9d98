"""validate_report: every rule of STANDARD.md fed bad input, checked by exact path and code."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from helpers_standard import DELETE, check, error_pairs, example, mutated, warning_pairs

from houqin_standard import ERROR_CODES, WARNING_CODES, Issue, ValidationResult, validate_report
from houqin_standard.fields import HAZARD_FIELDS, SECTIONS, TOP_LEVEL_KEYS

# ------------------------------------------------------------------------------------------- the example


def test_example_report_is_valid_without_warnings() -> None:
    result = check(example())
    assert result.errors == []
    assert result.warnings == []
    assert result.ok


def test_result_shape_and_languages() -> None:
    result = check(mutated(("/nutrition/meals_served", -1)))
    assert isinstance(result, ValidationResult)
    assert not result.ok
    [issue] = result.errors
    assert isinstance(issue, Issue)
    assert issue.zh == "实际供餐人次（/nutrition/meals_served）必须是不小于 0 的整数"
    assert issue.to_dict() == {"path": "/nutrition/meals_served", "code": "negative", "message": issue.zh}
    assert issue.to_dict("en")["message"] == issue.en
    assert "Meals served" in issue.en and "/nutrition/meals_served" in issue.en


# ------------------------------------------------------------------------------- one bad value → one error

CASES: list[tuple[str, Any, str, str]] = [
    # (pointer to change, new value, expected path, expected code)
    # header
    ("/standard", "houqin/monthly-report@3", "/standard", "standard_mismatch"),
    ("/standard", 1, "/standard", "standard_mismatch"),
    ("/report_id", "not-a-uuid", "/report_id", "invalid_uuid"),
    ("/report_id", "aeafb905dc8a40bba35b4c41d283eb3a", "/report_id", "invalid_uuid"),
    ("/report_id", "{aeafb905-dc8a-40bb-a35b-4c41d283eb3a}", "/report_id", "invalid_uuid"),
    ("/report_id", 42, "/report_id", "invalid_uuid"),
    ("/school_code", "610526001", "/school_code", "invalid_school_code"),
    ("/school_code", "61052600123", "/school_code", "invalid_school_code"),
    ("/school_code", "610526001X", "/school_code", "invalid_school_code"),
    ("/school_code", "６１０５２６００１２", "/school_code", "invalid_school_code"),
    ("/school_code", 6105260012, "/school_code", "invalid_school_code"),
    ("/period", "2026-9", "/period", "invalid_period"),
    ("/period", "2026-13", "/period", "invalid_period"),
    ("/period", "2026-00", "/period", "invalid_period"),
    ("/period", "2026/09", "/period", "invalid_period"),
    ("/period", "2026-09-01", "/period", "invalid_period"),
    ("/period", 202609, "/period", "invalid_period"),
    ("/period", "2026-12", "/period", "period_in_future"),
    ("/period", "2027-01", "/period", "period_in_future"),
    ("/period", "2009-12", "/period", "period_too_early"),
    ("/period", "1999-01", "/period", "period_too_early"),
    ("/prepared_by", "", "/prepared_by", "too_short"),
    ("/prepared_by", "   ", "/prepared_by", "too_short"),
    ("/prepared_by", "李" * 51, "/prepared_by", "too_long"),
    # free text: visible content, no control characters, no bidi overrides (houqin_standard/text.py)
    ("/prepared_by", "\u200b", "/prepared_by", "too_short"),
    ("/prepared_by", "\ufeff \u200d\u3000", "/prepared_by", "too_short"),
    ("/prepared_by", "\u3164", "/prepared_by", "too_short"),
    ("/prepared_by", "李四\x00", "/prepared_by", "control_character"),
    ("/prepared_by", "李\x1b[31m四", "/prepared_by", "control_character"),
    ("/prepared_by", "李四\n", "/prepared_by", "control_character"),
    ("/prepared_by", "李四\x85", "/prepared_by", "control_character"),
    ("/prepared_by", "\ud800", "/prepared_by", "control_character"),
    ("/prepared_by", "\u202e四李", "/prepared_by", "bidi_control"),
    ("/prepared_by", "李\u2066四\u2069", "/prepared_by", "bidi_control"),
    ("/prepared_by", 5, "/prepared_by", "expected_string"),
    ("/prepared_by", None, "/prepared_by", "required"),
    ("/prepared_at", "2026-09-28T16:00:00", "/prepared_at", "invalid_datetime"),
    ("/prepared_at", "2026-09-28", "/prepared_at", "invalid_datetime"),
    ("/prepared_at", "2026-09-28T25:00:00+08:00", "/prepared_at", "invalid_datetime"),
    ("/prepared_at", "yesterday", "/prepared_at", "invalid_datetime"),
    ("/prepared_at", 1727510400, "/prepared_at", "invalid_datetime"),
    # sections that are not objects
    ("/enrollment", [], "/enrollment", "not_object"),
    ("/nutrition", "yes", "/nutrition", "not_object"),
    ("/campus", 3, "/campus", "not_object"),
    ("/dormitory", [], "/dormitory", "not_object"),
    ("/hazards", {}, "/hazards", "expected_array"),
    ("/hazards", "none", "/hazards", "expected_array"),
    ("/hazards/0", "H-1", "/hazards/0", "not_object"),
    ("/hazards/1", None, "/hazards/1", "not_object"),
    # counts
    ("/enrollment/students", -1, "/enrollment/students", "negative"),
    ("/enrollment/students", 805.0, "/enrollment/students", "expected_integer"),
    ("/enrollment/students", 805.5, "/enrollment/students", "expected_integer"),
    ("/enrollment/students", True, "/enrollment/students", "expected_integer"),
    ("/enrollment/students", "805", "/enrollment/students", "expected_integer"),
    ("/enrollment/students", 2**31, "/enrollment/students", "out_of_range"),
    ("/enrollment/staff", None, "/enrollment/staff", "required"),
    ("/nutrition/meals_served", -1, "/nutrition/meals_served", "negative"),
    ("/nutrition/meal_days", 32, "/nutrition/meal_days", "out_of_range"),
    ("/nutrition/meal_days", -1, "/nutrition/meal_days", "negative"),
    ("/nutrition/menu_published_weeks", 7, "/nutrition/menu_published_weeks", "out_of_range"),
    ("/food_safety/training_hours", 1.5, "/food_safety/training_hours", "expected_integer"),
    ("/safety/major_accidents", False, "/safety/major_accidents", "expected_integer"),
    ("/assets/repairs_requested", -3, "/assets/repairs_requested", "negative"),
    ("/dormitory/beds", -1, "/dormitory/beds", "negative"),
    # money
    ("/nutrition/food_spend", 65305.35, "/nutrition/food_spend", "money_not_string"),
    ("/nutrition/food_spend", 65305, "/nutrition/food_spend", "money_not_string"),
    ("/nutrition/food_spend", "65305.355", "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", "1.505", "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", "1.5", "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", "65305", "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", "abc", "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", "1,000.00", "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", "01.00", "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", " 1.00", "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", "１.００", "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", True, "/nutrition/food_spend", "money_format"),
    ("/nutrition/food_spend", "-1.00", "/nutrition/food_spend", "money_negative"),
    ("/nutrition/food_spend", "1234567890123.00", "/nutrition/food_spend", "out_of_range"),
    ("/finance/fees_collected", "-0.01", "/finance/fees_collected", "money_negative"),
    ("/assets/book_value", 227838.0, "/assets/book_value", "money_not_string"),
    ("/nutrition/subsidy_rate", "5", "/nutrition/subsidy_rate", "money_format"),
    # quantities
    ("/energy/water_m3", "916.25", "/energy/water_m3", "quantity_format"),
    ("/energy/water_m3", 916.2, "/energy/water_m3", "quantity_format"),
    ("/energy/water_m3", "abc", "/energy/water_m3", "quantity_format"),
    ("/energy/water_m3", "916.", "/energy/water_m3", "quantity_format"),
    ("/energy/electricity_kwh", "-1.0", "/energy/electricity_kwh", "quantity_negative"),
    ("/energy/gas_m3", "1234567890123", "/energy/gas_m3", "out_of_range"),
    ("/campus/campus_area_m2", "0", "/campus/campus_area_m2", "not_positive"),
    ("/campus/campus_area_m2", "0.0", "/campus/campus_area_m2", "not_positive"),
    ("/campus/green_area_m2", "-5", "/campus/green_area_m2", "quantity_negative"),
    # booleans
    (
        "/food_safety/supplier_docs_complete",
        "true",
        "/food_safety/supplier_docs_complete",
        "expected_boolean",
    ),
    ("/finance/accounts_disclosed", 1, "/finance/accounts_disclosed", "expected_boolean"),
    ("/nutrition/participating", "yes", "/nutrition/participating", "expected_boolean"),
    # enums
    ("/campus/shop", "ok", "/campus/shop", "invalid_enum"),
    ("/campus/toilets", "Compliant", "/campus/toilets", "invalid_enum"),
    ("/campus/wiring", 1, "/campus/wiring", "invalid_enum"),
    ("/nutrition/supply_mode", "school", "/nutrition/supply_mode", "invalid_enum"),
    ("/hazards/0/category", "roof", "/hazards/0/category", "invalid_enum"),
    ("/hazards/0/severity", "high", "/hazards/0/severity", "invalid_enum"),
    # hazard entries
    ("/hazards/0/ref", "H" * 41, "/hazards/0/ref", "too_long"),
    ("/hazards/0/ref", "", "/hazards/0/ref", "too_short"),
    ("/hazards/0/ref", 7, "/hazards/0/ref", "expected_string"),
    ("/hazards/0/description", "", "/hazards/0/description", "too_short"),
    ("/hazards/0/description", "隐" * 501, "/hazards/0/description", "too_long"),
    ("/hazards/0/ref", "H-\u202d001", "/hazards/0/ref", "bidi_control"),
    ("/hazards/0/ref", "H-001\t", "/hazards/0/ref", "control_character"),
    ("/hazards/0/description", "\u200b\u200c", "/hazards/0/description", "too_short"),
    ("/hazards/0/description", "围墙\x07开裂", "/hazards/0/description", "control_character"),
    ("/hazards/0/description", "围墙开裂\u0000", "/hazards/0/description", "control_character"),
    ("/hazards/0/description", "围墙\u202b开裂", "/hazards/0/description", "bidi_control"),
    ("/hazards/0/found_on", "2026-9-4", "/hazards/0/found_on", "invalid_date"),
    ("/hazards/0/found_on", "2026-02-30", "/hazards/0/found_on", "invalid_date"),
    ("/hazards/0/found_on", "20260904", "/hazards/0/found_on", "invalid_date"),
    ("/hazards/0/deadline", None, "/hazards/0/deadline", "required"),
    ("/hazards/1/rectified_on", "2026/09/08", "/hazards/1/rectified_on", "invalid_date"),
    ("/hazards/1/rectified_on", DELETE, "/hazards/1/rectified_on", "required"),
    ("/hazards/0/deadline", "2026-09-03", "/hazards/0/deadline", "date_order"),
    ("/hazards/1/rectified_on", "2026-06-11", "/hazards/1/rectified_on", "date_order"),
    ("/hazards/1/ref", "H-2026-09-001", "/hazards/1/ref", "duplicate"),
    # dormitory items
    ("/dormitory/unified_items", "rules", "/dormitory/unified_items", "expected_array"),
    ("/dormitory/unified_items/0", "wifi", "/dormitory/unified_items/0", "invalid_enum"),
    ("/dormitory/unified_items/0", 3, "/dormitory/unified_items/0", "invalid_enum"),
    ("/dormitory/unified_items/1", "bunk_cards", "/dormitory/unified_items/1", "duplicate"),
    # cross-field "≤" rules
    ("/enrollment/boarders", 806, "/enrollment/boarders", "exceeds"),
    ("/enrollment/logistics_staff", 58, "/enrollment/logistics_staff", "exceeds"),
    ("/nutrition/eligible_students", 806, "/nutrition/eligible_students", "exceeds"),
    ("/nutrition/accompany_meal_days", 18, "/nutrition/accompany_meal_days", "exceeds"),
    ("/food_safety/health_certified_staff", 7, "/food_safety/health_certified_staff", "exceeds"),
    ("/food_safety/sample_retention_days", 18, "/food_safety/sample_retention_days", "exceeds"),
    ("/finance/invoices_fully_signed", 3, "/finance/invoices_fully_signed", "exceeds"),
    ("/assets/disposals_approved", 4, "/assets/disposals_approved", "exceeds"),
    ("/campus/green_area_m2", "11771.1", "/campus/green_area_m2", "exceeds"),
    ("/dormitory", DELETE, "/dormitory", "required"),
]


@pytest.mark.parametrize(
    ("pointer", "value", "path", "code"), CASES, ids=[f"{c[0]}={str(c[1])[:20]}->{c[3]}" for c in CASES]
)
def test_one_bad_value_gives_exactly_that_error(pointer: str, value: Any, path: str, code: str) -> None:
    result = check(mutated((pointer, value)))
    assert [(i.path, i.code) for i in result.errors] == [(path, code)]
    [issue] = result.errors
    # Both languages, the path named in each, the Chinese label in the Chinese message, no template leftovers.
    assert path in issue.zh and path in issue.en
    zh, en = issue.zh.replace(str(value), ""), issue.en.replace(str(value), "")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)
    assert en and not any("\u4e00" <= ch <= "\u9fff" for ch in en)
    assert "{" not in zh.replace("{…}", "") and "{" not in en.replace("{…}", "")


def test_multi_line_description_and_visible_text_pass() -> None:
    """A hazard description may hold tab and line breaks (an Excel cell's Alt+Enter); a name with a
    no-break space or a combining mark is visible text."""
    result = check(mutated(("/hazards/0/description", "东侧围墙开裂\r\n\t约 3 米"), ("/prepared_by", "\u00a0李四é")))
    assert result.errors == []


def test_every_error_code_is_exercised_above() -> None:
    exercised = {c[3] for c in CASES} | {"required", "unknown_field"}
    # @2's codes: test_standard_validate_v2.py; standard_version_required is the hub's (a county setting).
    v2_codes = {
        "calendar_task_unknown",
        "calendar_task_duplicate",
        "kitchen_days_exceed_meal_days",
        "stock_negative_consumption",
        "standard_version_required",
    }
    assert exercised | v2_codes == set(ERROR_CODES)


# ----------------------------------------------------------------------------------- required and unknown

REQUIRED_TOP = [k for k in TOP_LEVEL_KEYS if k != "dormitory"]


@pytest.mark.parametrize("key", REQUIRED_TOP)
def test_missing_top_level_field_is_required(key: str) -> None:
    assert error_pairs(mutated((f"/{key}", DELETE))) == [(f"/{key}", "required")]


REQUIRED_IN_SECTIONS = [(s.key, f.key) for s in SECTIONS for f in s.fields]


@pytest.mark.parametrize(("section", "key"), REQUIRED_IN_SECTIONS)
def test_missing_field_in_section_is_required(section: str, key: str) -> None:
    assert error_pairs(mutated((f"/{section}/{key}", DELETE))) == [(f"/{section}/{key}", "required")]


@pytest.mark.parametrize("key", [f.key for f in HAZARD_FIELDS])
def test_missing_field_in_hazard_is_required(key: str) -> None:
    assert error_pairs(mutated((f"/hazards/1/{key}", DELETE))) == [(f"/hazards/1/{key}", "required")]


UNKNOWN_AT = ["", *(f"/{s.key}" for s in SECTIONS), "/hazards/0", "/hazards/1"]


@pytest.mark.parametrize("parent", UNKNOWN_AT)
def test_unknown_field_is_rejected_at_every_level(parent: str) -> None:
    assert error_pairs(mutated((f"{parent}/mael_days", 3))) == [(f"{parent}/mael_days", "unknown_field")]


def test_unknown_field_path_is_escaped_as_json_pointer() -> None:
    assert error_pairs(mutated(("/energy/a~1b", 1))) == [("/energy/a~1b", "unknown_field")]
    assert error_pairs(mutated(("/energy/x~0y", 1))) == [("/energy/x~0y", "unknown_field")]


def test_unknown_field_message_names_the_key() -> None:
    [issue] = check(mutated(("/nutrition/meal_day", 17))).errors
    assert "meal_day" in issue.zh and "meal_day" in issue.en


# ------------------------------------------------------------------------------------------- nutrition


def test_not_participating_allows_every_other_field_to_be_omitted() -> None:
    doc = mutated(("/nutrition", {"participating": False}))
    assert error_pairs(doc) == []


def test_not_participating_still_type_checks_present_fields() -> None:
    doc = mutated(("/nutrition", {"participating": False, "meal_days": 40, "food_spend": 12.5, "x": 1}))
    assert error_pairs(doc) == [
        ("/nutrition/x", "unknown_field"),
        ("/nutrition/meal_days", "out_of_range"),
        ("/nutrition/food_spend", "money_not_string"),
    ]


def test_not_participating_skips_sample_retention_rule() -> None:
    doc = mutated(("/nutrition", {"participating": False, "meal_days": 0}))
    doc["food_safety"]["sample_retention_days"] = 20
    assert error_pairs(doc) == []


def test_participating_requires_every_field() -> None:
    doc = mutated(("/nutrition", {"participating": True}))
    section = next(s for s in SECTIONS if s.key == "nutrition")
    expected = [(f"/nutrition/{f.key}", "required") for f in section.fields if f.key != "participating"]
    assert error_pairs(doc) == expected


def test_participating_missing_is_required_and_others_are_optional() -> None:
    doc = mutated(("/nutrition", {"meal_days": 3}))
    assert error_pairs(doc) == [("/nutrition/participating", "required")]


# ------------------------------------------------------------------------------------------- dormitory


def test_dormitory_optional_without_boarders() -> None:
    doc = mutated(("/enrollment/boarders", 0), ("/dormitory", DELETE))
    assert error_pairs(doc) == []


def test_dormitory_null_with_boarders_is_required() -> None:
    assert error_pairs(mutated(("/dormitory", None))) == [("/dormitory", "required")]


def test_dormitory_required_message_gives_the_reason() -> None:
    [issue] = check(mutated(("/dormitory", DELETE))).errors
    assert "住宿生" in issue.zh and "201" in issue.zh


def test_dormitory_checked_when_given_without_boarders() -> None:
    doc = mutated(("/enrollment/boarders", 0), ("/dormitory/beds", "many"))
    assert error_pairs(doc) == [("/dormitory/beds", "expected_integer")]


def test_all_nine_dormitory_items_are_accepted_once_each() -> None:
    items = [
        "rules", "evacuation_map", "door_signs", "bed_spec", "item_positions",
        "mirror", "bunk_cards", "student_info", "manager_duties",
    ]  # fmt: skip
    assert error_pairs(mutated(("/dormitory/unified_items", items))) == []
    assert error_pairs(mutated(("/dormitory/unified_items", []))) == []


# --------------------------------------------------------------------------------------------- hazards


def test_empty_hazard_ledger_is_fine() -> None:
    assert error_pairs(mutated(("/hazards", []))) == []


def test_open_hazard_has_null_rectified_on_and_same_day_dates_are_fine() -> None:
    doc = mutated(("/hazards/1/rectified_on", None), ("/hazards/1/deadline", "2026-06-12"))
    assert error_pairs(doc) == []
    assert error_pairs(mutated(("/hazards/1/rectified_on", "2026-06-12"))) == []


def test_duplicate_ref_reported_at_every_later_entry() -> None:
    doc = example()
    doc["hazards"] = [dict(doc["hazards"][0]) for _ in range(3)]
    assert error_pairs(doc) == [("/hazards/1/ref", "duplicate"), ("/hazards/2/ref", "duplicate")]


def test_both_date_order_errors_in_one_entry() -> None:
    doc = mutated(("/hazards/1/deadline", "2026-06-01"), ("/hazards/1/rectified_on", "2026-06-02"))
    assert error_pairs(doc) == [
        ("/hazards/1/deadline", "date_order"),
        ("/hazards/1/rectified_on", "date_order"),
    ]


def test_date_order_message_names_both_dates() -> None:
    [issue] = check(mutated(("/hazards/0/deadline", "2026-09-03"))).errors
    assert issue.zh == "整改期限（/hazards/0/deadline）为 2026-09-03，不能早于发现日期（2026-09-04）"


# ---------------------------------------------------------------------------------------- cross-field


def test_equal_values_satisfy_the_le_rules() -> None:
    doc = mutated(
        ("/enrollment/boarders", 805),
        ("/dormitory/beds", 805),
        ("/enrollment/logistics_staff", 57),
        ("/nutrition/eligible_students", 805),
        ("/campus/green_area_m2", "11771.0"),
    )
    assert error_pairs(doc) == []


def test_exceeds_message_reads_naturally() -> None:
    [issue] = check(mutated(("/enrollment/boarders", 900))).errors
    assert issue.zh == "住宿生数（/enrollment/boarders）为 900，不能大于在校学生数（805）"
    assert issue.en == "Boarding students (/enrollment/boarders) is 900; it must not exceed Students enrolled (805)"


def test_cross_field_rule_silent_when_the_other_side_is_invalid() -> None:
    doc = mutated(("/enrollment/students", "many"), ("/enrollment/boarders", 10_000))
    assert error_pairs(doc) == [("/enrollment/students", "expected_integer")]


def test_positive_campus_area_but_invalid_green_area_compares_nothing() -> None:
    doc = mutated(("/campus/campus_area_m2", "0"), ("/campus/green_area_m2", "5"))
    assert error_pairs(doc) == [("/campus/campus_area_m2", "not_positive")]


# ------------------------------------------------------------------------------------------- periods


def test_period_boundaries() -> None:
    assert error_pairs(mutated(("/period", "2026-11"))) == []
    assert error_pairs(mutated(("/period", "2010-01")), today=date(2010, 1, 31)) == []


def test_period_future_uses_today_in_shanghai_by_default() -> None:
    far = mutated(("/period", "2999-01"))
    assert [(i.path, i.code) for i in validate_report(far).errors] == [("/period", "period_in_future")]


# ------------------------------------------------------------------------------------------- many at once


def test_multiple_errors_are_all_collected() -> None:
    doc = mutated(
        ("/school_code", "610526001"),
        ("/period", "2030-01"),
        ("/enrollment/boarders", 900),
        ("/nutrition/food_spend", 65305.35),
        ("/nutrition/closing_balance", "4915.655"),
        ("/energy/water_m3", "-1"),
        ("/campus/shop", "bad"),
        ("/hazards/0/deadline", "2026-01-01"),
        ("/hazards/1/severity", "extreme"),
        ("/dormitory/colour", "blue"),
        ("/extra", 1),
    )
    assert sorted(error_pairs(doc)) == sorted(
        [
            ("/extra", "unknown_field"),
            ("/school_code", "invalid_school_code"),
            ("/period", "period_in_future"),
            ("/enrollment/boarders", "exceeds"),
            ("/nutrition/food_spend", "money_not_string"),
            ("/nutrition/closing_balance", "money_format"),
            ("/energy/water_m3", "quantity_negative"),
            ("/campus/shop", "invalid_enum"),
            ("/hazards/0/deadline", "date_order"),
            ("/hazards/1/severity", "invalid_enum"),
            ("/dormitory/colour", "unknown_field"),
        ]
    )


def test_empty_object_lists_every_required_top_level_field() -> None:
    assert error_pairs({}) == [(f"/{k}", "required") for k in REQUIRED_TOP if k != "hazards"] + [
        ("/hazards", "required")
    ]


@pytest.mark.parametrize("value", [None, [], [1, 2], "report", 3, 3.5, True, b"{}"])
def test_non_object_report(value: Any) -> None:
    assert error_pairs(value) == [("", "not_object")]


# ---------------------------------------------------------------------------------------------- warnings


def test_beds_below_boarders_is_a_warning_not_an_error() -> None:
    result = check(mutated(("/dormitory/beds", 200)))
    assert result.errors == []
    assert [(i.path, i.code) for i in result.warnings] == [("/dormitory/beds", "beds_below_boarders")]


def _previous(water: Any = "300.0", electricity: Any = "10000.0") -> dict[str, Any]:
    prev = example()
    prev["period"] = "2026-08"
    prev["energy"]["water_m3"] = water
    prev["energy"]["electricity_kwh"] = electricity
    return prev


def test_energy_jump_over_three_times_previous() -> None:
    # this month: water 916.2, electricity 29313.0
    assert warning_pairs(example(), previous=_previous("305.3", "9770.9")) == [
        ("/energy/water_m3", "energy_jump"),
        ("/energy/electricity_kwh", "energy_jump"),
    ]


def test_energy_exactly_three_times_is_no_jump() -> None:
    assert warning_pairs(example(), previous=_previous("305.4", "9771.0")) == []
    assert warning_pairs(example(), previous=_previous("305.4", "9770.9")) == [
        ("/energy/electricity_kwh", "energy_jump")
    ]


def test_energy_jump_message() -> None:
    [issue] = check(example(), previous=_previous("100.0", "29313.0")).warnings
    assert issue.zh.startswith("用水量（/energy/water_m3）本月为 916.2 m³，超过上月（100.0 m³）的 3 倍")


def test_energy_previous_zero_or_missing_or_malformed_gives_no_warning() -> None:
    assert warning_pairs(example(), previous=_previous("0", "0.0")) == []
    assert warning_pairs(example(), previous=None) == []
    assert warning_pairs(example(), previous={"energy": "x"}) == []
    assert warning_pairs(example(), previous=_previous(1.0, None)) == []
    assert warning_pairs(example(), previous=[1, 2]) == []


def test_period_old_is_more_than_three_months_before_current() -> None:
    assert warning_pairs(mutated(("/period", "2026-07"))) == [("/period", "period_old")]
    assert warning_pairs(mutated(("/period", "2026-08"))) == []
    result = check(mutated(("/period", "2010-01")))
    assert result.ok


def test_other_spend_is_accepted_with_a_warning() -> None:
    # Deliberate: other_spend > 0 is the misuse anomaly the fund engine reports, so it must not be rejected.
    result = check(mutated(("/nutrition/other_spend", "120.00")))
    assert result.errors == []
    assert [(i.path, i.code) for i in result.warnings] == [("/nutrition/other_spend", "other_spend_nonzero")]
    assert "120.00" in result.warnings[0].zh
    assert warning_pairs(mutated(("/nutrition/other_spend", "0.00"))) == []


def test_warnings_carry_both_languages() -> None:
    result = check(mutated(("/dormitory/beds", 1), ("/period", "2026-01"), ("/nutrition/other_spend", "1.00")))
    codes = {i.code for i in result.warnings}
    assert codes == {"beds_below_boarders", "period_old", "other_spend_nonzero"}
    for issue in result.warnings:
        assert issue.zh and issue.en and "{" not in issue.zh + issue.en
    assert codes <= set(WARNING_CODES)


# ----------------------------------------------------------------------------------------- performance


def test_five_thousand_hazards_validate_quickly() -> None:
    doc = example()
    base = doc["hazards"][0]
    doc["hazards"] = [dict(base, ref=f"H-{i:05d}") for i in range(5000)]
    start = time.perf_counter()
    result = check(doc)
    elapsed = time.perf_counter() - start
    assert result.ok
    assert elapsed < 10.0  # "never a hang"; the speed itself is measured in bench/, not asserted here


def test_five_thousand_bad_hazards_all_reported() -> None:
    doc = example()
    doc["hazards"] = [{"ref": "same", "x": 1} for _ in range(5000)]
    start = time.perf_counter()
    result = check(doc)
    assert time.perf_counter() - start < 10.0  # never a hang, even on a loaded CI machine
    assert sum(1 for i in result.errors if i.code == "duplicate") == 4999


def test_huge_values_do_not_blow_up_messages() -> None:
    doc = mutated(
        ("/prepared_by", "x" * 2_000_000),
        ("/enrollment/students", 10**5000),
        ("/campus/shop", "y" * 1_000_000),
        ("/nutrition/food_spend", "9" * 1_000_000 + ".00"),
    )
    result = check(doc)
    assert [(i.path, i.code) for i in result.errors] == [
        ("/prepared_by", "too_long"),
        ("/enrollment/students", "out_of_range"),
        ("/nutrition/food_spend", "out_of_range"),
        ("/campus/shop", "invalid_enum"),
    ]
    assert all(len(i.zh) < 600 and len(i.en) < 600 for i in result.errors)
