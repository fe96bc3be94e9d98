"""Field metadata is complete and consistent with the standard; every code has both messages."""

from __future__ import annotations

import string

from helpers_standard import example

from houqin_standard import (
    ENUM_LABELS,
    ERROR_CODES,
    HAZARD_FIELDS,
    HEADER_FIELDS,
    SECTIONS,
    STANDARD_ID,
    WARNING_CODES,
)
from houqin_standard.fields import KINDS, TOP_LEVEL_KEYS, label
from houqin_standard.messages import MESSAGES, render

VALID_UNITS = {
    "",
    "元",
    "元/生/天",
    "m²",
    "m³",
    "kWh",
    "天",
    "人",
    "人次",
    "次",
    "件",
    "张",
    "周",
    "学时",
    "起",
    "处",
    "项",
}


def _all_fields():
    yield from HEADER_FIELDS
    for s in SECTIONS:
        yield from s.fields
    yield from HAZARD_FIELDS


def test_standard_id() -> None:
    assert STANDARD_ID == "houqin/monthly-report@1"


def test_metadata_covers_exactly_the_example_report() -> None:
    doc = example()
    assert set(doc) == set(TOP_LEVEL_KEYS)
    for s in SECTIONS:
        assert [f.key for f in s.fields] == list(doc[s.key]), s.key
    assert [f.key for f in HAZARD_FIELDS] == list(doc["hazards"][0])


def test_every_field_is_well_formed() -> None:
    for f in _all_fields():
        assert f.kind in KINDS, f
        assert f.label_zh and f.label_en, f
        assert any("\u4e00" <= ch <= "\u9fff" for ch in f.label_zh), f
        assert f.unit in VALID_UNITS, f
        if f.kind in ("enum", "list"):
            assert f.enum_name in ENUM_LABELS, f
            assert f.enum == tuple(ENUM_LABELS[f.enum_name]), f
        else:
            assert f.enum is None, f
        if f.kind in ("int", "money", "quantity"):
            assert f.minimum == 0, f


def test_units() -> None:
    units = {f.key: f.unit for f in _all_fields()}
    assert units["water_m3"] == "m³"
    assert units["electricity_kwh"] == "kWh"
    assert units["campus_area_m2"] == "m²"
    assert units["food_spend"] == "元"
    assert units["meal_days"] == "天"
    assert units["students"] == "人"


def test_enum_labels() -> None:
    assert ENUM_LABELS["campus_status"] == {
        "compliant": ("达标", "Compliant"),
        "rectifying": ("整改中", "Being rectified"),
        "noncompliant": ("未达标", "Not compliant"),
        "not_applicable": ("不适用", "Not applicable"),
    }
    assert list(ENUM_LABELS["school_type"]) == [
        "kindergarten", "primary", "junior", "nine_year", "senior", "complete_secondary", "teaching_point",
    ]  # fmt: skip
    assert list(ENUM_LABELS["supply_mode"]) == ["canteen", "enterprise", "mixed", "family"]
    assert list(ENUM_LABELS["hazard_category"]) == [
        "shop", "toilets", "hygiene", "wiring", "drinking_water",
        "building", "fire", "food", "traffic", "other",
    ]  # fmt: skip
    assert list(ENUM_LABELS["severity"]) == ["general", "major"]
    assert len(ENUM_LABELS["dormitory_item"]) == 9
    assert ENUM_LABELS["dormitory_item"]["mirror"][0] == "统一整容镜"
    for values in ENUM_LABELS.values():
        for zh, en in values.values():
            assert zh and en


def test_required_flags() -> None:
    assert all(f.required for f in HEADER_FIELDS)
    assert {s.key for s in SECTIONS if not s.required} == {"dormitory"}
    rectified = next(f for f in HAZARD_FIELDS if f.key == "rectified_on")
    assert rectified.nullable and rectified.required


def test_label_of_paths() -> None:
    assert label("/nutrition/meals_served") == ("实际供餐人次", "Meals served")
    assert label("/hazards/3/deadline")[0] == "整改期限"
    assert label("/dormitory/unified_items/2")[0] == "公寓“八统一”达标项目"
    assert label("/period")[0] == "报表月份"
    assert label("")[0] == "报表"


def test_every_code_has_zh_and_en_messages() -> None:
    assert not set(ERROR_CODES) & set(WARNING_CODES)
    assert set(MESSAGES) == set(ERROR_CODES) | set(WARNING_CODES)
    for code in MESSAGES:
        fields = {name for _, name, _, _ in string.Formatter().parse(MESSAGES[code][0]) if name}
        fields |= {name for _, name, _, _ in string.Formatter().parse(MESSAGES[code][1]) if name}
        params = {name: f"<{name}>" for name in fields}
        zh, en = render(code, **params)
        assert zh and en and zh != en, code
        assert "{" not in (zh + en).replace("{…}", ""), code
        assert ERROR_CODES.get(code) or WARNING_CODES.get(code)


def test_codes_are_snake_case() -> None:
    for code in [*ERROR_CODES, *WARNING_CODES]:
        assert code.replace("_", "").isalpha() and code.islower(), code
