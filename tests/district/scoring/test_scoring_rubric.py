"""The rubric file: the default loads as SCORING.md states it; every bad rubric is refused naming its line."""

from __future__ import annotations

from fractions import Fraction

import pytest

from district.scoring.rubric import (
    DEFAULT_RUBRIC_PATH,
    KINDS,
    RubricError,
    load_rubric,
    load_rubric_file,
)

DEFAULT_TEXT = DEFAULT_RUBRIC_PATH.read_text(encoding="utf-8")
SOURCE = "county.toml"


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding ``needle`` (its n-th occurrence)."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def edited(old: str, new: str, text: str = DEFAULT_TEXT) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def errors_of(text: str) -> list[str]:
    with pytest.raises(RubricError) as caught:
        load_rubric(text, source=SOURCE)
    return caught.value.messages


# --- the default rubric ---------------------------------------------------------------------------


def test_default_rubric_is_the_spec(rubric):
    assert rubric.version == "default-1"
    assert [i.code for i in rubric.indicators] == [
        "A1", "A2", "A3", "A4", "A5", "B1", "B2", "C1", "C2", "C3", "C4", "C5",
        "D1", "D2", "D3", "D4", "E1", "E2", "E3", "F1", "G1",
    ]  # fmt: skip
    points = {i.code: i.points for i in rubric.indicators}
    assert points == {
        "A1": 6, "A2": 6, "A3": 6, "A4": 6, "A5": 6, "B1": 10, "B2": 5,
        "C1": 6, "C2": 4, "C3": 3, "C4": 4, "C5": 3, "D1": 6, "D2": 4, "D3": 2, "D4": 3,
        "E1": 4, "E2": 3, "E3": 3, "F1": 5, "G1": 5,
    }  # fmt: skip
    assert sum(points.values()) == 100
    assert {i.kind for i in rubric.indicators} <= set(KINDS)
    assert [a.code for a in rubric.areas] == [
        "campus_five", "campus_three", "food_nutrition", "safety", "finance_assets", "energy", "dormitory",
    ]  # fmt: skip
    assert rubric.area("campus_five").zh == "五项整治"
    assert rubric.area("food_nutrition").zh == "食品安全与营养餐"
    assert rubric.compliant_score == 80
    assert rubric.min_coverage == Fraction(4, 5)
    assert [(g.zh, g.code, g.min_score) for g in rubric.grades] == [
        ("优秀", "excellent", 90),
        ("良好", "good", 80),
        ("合格", "pass", 60),
        ("不合格", "fail", 0),
    ]
    assert rubric.veto_fields == (
        "food_safety.poisoning_incidents",
        "safety.major_accidents",
        "finance.improper_fee_cases",
    )
    assert dict(rubric.campaign_targets) == {1: Fraction(1, 2), 2: Fraction(7, 10), 3: Fraction(1)}
    assert rubric.break_months == (7, 8)


def test_default_rubric_parameters_are_exact(rubric):
    assert rubric.indicator("A1").params["status_points"] == {
        "compliant": 6,
        "rectifying": 3,
        "noncompliant": 0,
    }
    target = rubric.indicator("B1").params["target"]
    assert target == Fraction(35, 100) and isinstance(target, Fraction)  # not the float 0.35
    assert rubric.indicator("C4").params["codes"] == ("MISUSE", "BALANCE_MISMATCH", "CARRY_OVER_MISMATCH")
    assert rubric.indicator("D1").params["major_overdue_penalty"] == 2
    assert rubric.indicator("D2").params["per_month"] == 20
    assert rubric.indicator("D3").params["every_months"] == 3
    assert rubric.indicator("E3").params["mismatch_points"] == Fraction(3, 2)
    assert rubric.indicator("F1").params["thresholds"] == (Fraction(1), Fraction(3, 2))
    assert rubric.indicator("G1").params["out_of"] == 9
    assert rubric.indicator("A1").line == line_of(DEFAULT_TEXT, "[[indicators]]", 1)


def test_grade_bands_and_targets(rubric):
    assert rubric.grade_for(Fraction(90)).zh == "优秀"
    assert rubric.grade_for(Fraction(8999, 100)).zh == "良好"
    assert rubric.grade_for(Fraction(80)).zh == "良好"
    assert rubric.grade_for(Fraction(60)).zh == "合格"
    assert rubric.grade_for(Fraction(5999, 100)).zh == "不合格"
    assert rubric.target_for(1) == Fraction(1, 2)
    assert rubric.target_for(4) == 1  # after the third year the last target stands
    assert rubric.target_for(0) is None


def test_load_rubric_file_names_the_path(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(edited('kind = "drills"', 'kind = "drill_count"'), encoding="utf-8")
    with pytest.raises(RubricError) as caught:
        load_rubric_file(path)
    assert caught.value.messages[0].startswith(f"{path}:")


# --- validation: every error names its line -------------------------------------------------------


def test_points_not_summing_to_100():
    text = edited("points = 10\n", "points = 12\n")  # B1 10 → 12: 102 in all
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, '[[indicators]]', 1)}: the indicators' points sum to 102, they must sum to"
        " exactly 100 (points: A1=6, A2=6, A3=6, A4=6, A5=6, B1=12, B2=5, C1=6, C2=4, C3=3, C4=4, C5=3,"
        " D1=6, D2=4, D3=2, D4=3, E1=4, E2=3, E3=3, F1=5, G1=5)"
    ]


def test_unknown_kind():
    text = edited('kind = "drills"', 'kind = "drill_count"')
    [message] = errors_of(text)
    assert message.startswith(f"{SOURCE}:{line_of(text, 'drill_count')}: indicator D3: unknown kind 'drill_count'")
    assert "known: campaign_status, green_ratio" in message


def test_ratio_out_of_range():
    text = edited("target = 0.35", "target = 1.35")
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, 'target = 1.35')}: indicator B1: target: 1.35 is out of range (0, 1]"
    ]


def test_thresholds_not_ascending():
    text = edited("thresholds = [1.0, 1.5]", "thresholds = [1.5, 1.0]")
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, 'thresholds =')}: indicator F1: thresholds: must ascend: 1.5 is not below 1"
    ]


def test_coverage_threshold_out_of_range():
    text = edited("min_coverage = 0.8", "min_coverage = 1.2")
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, 'min_coverage')}: status.min_coverage: 1.2 is out of range [0, 1]"
    ]


def test_campaign_target_out_of_range():
    text = edited("2 = 0.70", "2 = 70")
    assert errors_of(text) == [f"{SOURCE}:{line_of(text, '2 = 70')}: campaign.targets.2: 70 is out of range [0, 1]"]


def test_missing_parameter_names_the_indicator():
    text = edited("per_month = 20\n", "")
    header = line_of(text, 'code = "D2"') - 1  # the [[indicators]] line of D2
    assert errors_of(text) == [f"{SOURCE}:{header}: indicator D2: missing per_month"]


def test_unknown_parameter_and_unknown_field():
    text = edited('field = "safety.inspections"', 'field = "safety.inspection"\nper_months = 3')
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, 'per_months')}: indicator D2: unknown key 'per_months'"
        " (allowed: code, area, name_zh, name_en, points, kind, field, per_month)",
        f"{SOURCE}:{line_of(text, 'safety.inspection')}: indicator D2: field:"
        " 'safety.inspection' is not a field of the report standard",
    ]


def test_field_of_the_wrong_kind():
    text = edited('field = "safety.visitor_log_complete"', 'field = "safety.major_accidents"')
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, 'safety.major_accidents', 2)}: indicator D4: field: safety.major_accidents"
        " is of kind int; this parameter needs kind bool"
    ]


def test_duplicate_code():
    text = edited('code = "D4"', 'code = "D3"')
    first, second = line_of(text, 'code = "D3"', 1), line_of(text, 'code = "D3"', 2)
    assert errors_of(text) == [f"{SOURCE}:{second}: indicator D3: code 'D3' is used twice (first at line {first})"]


def test_status_points_above_the_points():
    text = edited(
        'field = "campus.shop"\nstatus_points = { compliant = 6,',
        'field = "campus.shop"\nstatus_points = { compliant = 7,',
    )
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, 'compliant = 7')}: indicator A1: status_points.compliant = 7 exceeds the"
        " indicator's points (6)"
    ]


def test_assets_parts_must_make_the_points():
    text = edited("repairs_points = 1.5", "repairs_points = 2")
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, 'repairs_points')}: indicator E3: mismatch_points + repairs_points = 3.5,"
        " must equal points (3)"
    ]


def test_unknown_fund_code_and_unknown_area():
    text = edited('"CARRY_OVER_MISMATCH"]', '"CARRY_OVER"]')
    text = edited('area = "energy"', 'area = "energy_saving"', text)
    messages = errors_of(text)
    assert messages == [
        f"{SOURCE}:{line_of(text, 'CARRY_OVER')}: indicator C4: codes: unknown fund anomaly code(s) 'CARRY_OVER'",
        f"{SOURCE}:{line_of(text, 'energy_saving')}: indicator F1: area 'energy_saving' is not one of the"
        " [[areas]] (campus_five, campus_three, dormitory, energy, finance_assets, food_nutrition, safety)",
    ]


def test_grades_must_descend_to_zero():
    text = edited("min_score = 60", "min_score = 85")
    text = edited("min_score = 0\n", "min_score = 10\n", text)
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, 'min_score = 85')}: grade pass: min_score 85 must be below"
        " the band above (80): list grades highest first",
        f"{SOURCE}:{line_of(text, 'min_score = 10')}: the lowest grade must start at 0, not 10:"
        " every score needs a grade",
    ]


def test_every_error_is_reported_at_once():
    text = edited("target = 0.35", "target = 0")
    text = edited('kind = "drills"', 'kind = "drill"', text)
    text = edited("out_of = 9", "out_of = 0", text)
    text = edited('version = "default-1"', 'version = ""', text)
    messages = errors_of(text)
    assert [m.split(":")[1] for m in messages] == [
        str(line_of(text, 'version = ""')),
        str(line_of(text, "target = 0")),
        str(line_of(text, 'kind = "drill"')),
        str(line_of(text, "out_of = 0")),
    ]


def test_toml_syntax_error_reports_the_parsers_line():
    text = edited("per_month = 20", "per_month = = 20")
    [message] = errors_of(text)
    assert message.startswith(f"{SOURCE}:{line_of(text, 'per_month = = 20')}: TOML syntax error:")


def test_a_county_rubric_with_other_weights_loads():
    text = edited("points = 10\n", "points = 8\n")  # B1 10 → 8
    text = edited(
        'name_en = "Dormitory: unified standard items"\npoints = 5',
        'name_en = "Dormitory: unified standard items"\npoints = 7',  # G1 5 → 7
        text,
    )
    text = edited('version = "default-1"', 'version = "fuping-2027"', text)
    rubric = load_rubric(text, source=SOURCE)
    assert rubric.version == "fuping-2027"
    assert rubric.indicator("B1").points == 8 and rubric.indicator("G1").points == 7
    assert rubric.source == SOURCE


def test_unknown_top_level_key_and_missing_kind():
    text = edited("break_months = [7, 8]", "break_month = [7, 8]")
    text = edited('kind = "months_flag"\n', "", text)
    header = line_of(text, 'code = "D4"') - 1
    assert errors_of(text) == [
        f"{SOURCE}:{line_of(text, 'break_month =')}: unknown key 'break_month' (allowed: version, title_zh,"
        " title_en, break_months, status, veto, campaign, grades, areas, indicators)",
        f"{SOURCE}:{header}: indicator D4: missing kind",
    ]


def test_break_months_default_to_july_and_august():
    rubric = load_rubric(edited("break_months = [7, 8]\n", ""), source=SOURCE)
    assert rubric.break_months == (7, 8)
    text = edited("break_months = [7, 8]", "break_months = [1, 2, 13]")
    assert errors_of(text) == [f"{SOURCE}:{line_of(text, 'break_months')}: break_months: 13 is not a month 1–12"]
