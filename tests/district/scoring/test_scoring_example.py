"""The spec's example report, scored alone over the window 2026-09..2026-09, every indicator by hand."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from district.scoring.engine import (
    HazardInput,
    InspectionInput,
    MonthInput,
    SchoolInput,
    Window,
    score_county,
)
from tests.factories import report_figures

WINDOW = Window("2026-09", "2026-09")


def example_school(report: dict[str, Any], inspections: list[InspectionInput]) -> SchoolInput:
    hazards = [
        HazardInput(
            ref=h["ref"],
            severity=h["severity"],
            deadline=date.fromisoformat(h["deadline"]),
            rectified_on=None if h["rectified_on"] is None else date.fromisoformat(h["rectified_on"]),
            found_on=date.fromisoformat(h["found_on"]),
            revision_id=41,
        )
        for h in report["hazards"]
    ]
    return SchoolInput(
        code="6105260012",
        name="示例学校",
        type="nine_year",
        township="庄里镇",
        months=[MonthInput("2026-09", 41, report_figures(report))],
        expected_periods=["2026-09"],
        inspections=inspections,
        hazards=hazards,
    )


# Hand computation (SCORING.md, default rubric), from the figures of example-report.json:
EXPECTED_EARNED = {
    "A1": Fraction(0),  # shop noncompliant → 0
    "A2": Fraction(6),  # toilets compliant → 6
    "A3": None,  # hygiene not_applicable → not applicable (6 points leave the available total)
    "A4": Fraction(6),  # wiring compliant
    "A5": Fraction(6),  # drinking_water compliant
    # B1 10 × min(1, (1629 / 11771) / 0.35) = 10 × 1629 × 100 / (11771 × 35) = 1629000 / 411985
    "B1": Fraction(325800, 82397),
    "B2": Fraction(9, 2),  # the inspection of 2026-09-20 scored 4.5 (of 5)
    "C1": Fraction(90, 17),  # 6 × 15 / 17
    "C2": Fraction(4),  # 4 × 6 / 6
    "C3": Fraction(3),  # 3 × 17 / 17
    # C4: the example's one fund anomaly is SAMPLE_GAP, not a fund-compliance code: 4 × 1 / 1
    "C4": Fraction(4),
    "C5": Fraction(3),  # supplier docs and swill records both true: 3 × 1 / 1
    # D1 6 × min(1, 1 / 4) = 1.5; H-2026-09-001 is major and open but its deadline 2026-09-30 is not
    # before the last day of W (2026-09-30): not overdue, no penalty
    "D1": Fraction(3, 2),
    "D2": Fraction(14, 5),  # 4 × min(1, 14 / (20 × 1)) = 2.8
    "D3": Fraction(2),  # 2 × min(1, 1 / ceil(1 / 3)) = 2 × 1 / 1
    "D4": Fraction(3),  # visitor log complete
    "E1": Fraction(4),  # fee standards published and accounts disclosed
    "E2": Fraction(3),  # 3 × 2 / 2
    "E3": Fraction(27, 16),  # 1.5 × 1 / 1 + 1.5 × min(1, 1 / 8) = 1.5 + 0.1875
    # F1 the only nine_year school: the medians are its own e and w, r = 1, f = 1 → 2.5 + 2.5
    "F1": Fraction(5),
    "G1": Fraction(40, 9),  # 201 boarders; 8 of the 9 items: 5 × 8 / 9
}
# Σ earned = 18 + 325800/82397 + 4.5 + 90/17 + 14 + 9.3 + 8.6875 + 5 + 40/9, available = 100 − 6 = 94
EARNED = Fraction(73804994819, 1008539280)
RAW = Fraction(369024974095, 4740134616)  # 100 × EARNED / 94 = 77.8511590…


def test_example_report_every_indicator(rubric, example_report):
    [result] = score_county(
        [example_school(example_report, [InspectionInput(7, date(2026, 9, 20), Decimal("4.5"))])],
        WINDOW,
        rubric,
    )
    assert {r.code: r.earned for r in result.indicators} == EXPECTED_EARNED
    assert EARNED == (
        18
        + Fraction(325800, 82397)
        + Fraction(9, 2)
        + Fraction(90, 17)
        + 14
        + Fraction(93, 10)
        + Fraction(139, 16)
        + 5
        + Fraction(40, 9)
    )
    assert result.earned_total == EARNED
    assert result.available_total == 94
    assert result.raw_score == RAW == 100 * EARNED / 94
    assert result.score == Decimal("77.85")
    assert (result.grade, result.grade_code) == ("合格", "pass")
    assert result.status == "not_compliant"  # coverage 1/1, no veto, 77.85 < 80
    assert result.coverage == 1
    assert result.rank == 1
    assert result.flags == []
    assert result.rubric_version == "default-1"


def test_example_report_rows_show_their_inputs(rubric, example_report):
    [result] = score_county(
        [example_school(example_report, [InspectionInput(7, date(2026, 9, 20), Decimal("4.5"))])],
        WINDOW,
        rubric,
    )
    assert result.row("A3").to_dict() == {
        "code": "A3",
        "area": "campus_five",
        "area_zh": "五项整治",
        "area_en": "Five campus campaigns",
        "name_zh": "卫生",
        "name_en": "Hygiene",
        "points": "6",
        "applicable": False,
        "earned": None,
        "earned_exact": None,
        "available": "0",
        "inputs": {"latest report": "2026-09", "hygiene": "not_applicable"},
        "revision_ids": [41],
        "note": "not applicable: not_applicable in the latest report (2026-09)",
        "explanation": {
            "code": "status_not_applicable",
            "params": {
                "points": "6",
                "earned": None,
                "field": "campus.hygiene",
                "status": "not_applicable",
                "period": "2026-09",
                "status_points": {"compliant": 6, "rectifying": 3, "noncompliant": 0},
            },
            "inputs": [
                {"key": "latest_period", "params": {}, "value": "2026-09"},
                {"key": "field_value", "params": {"field": "campus.hygiene"}, "value": "not_applicable"},
            ],
        },
    }
    c1 = result.row("C1").to_dict()
    assert c1["inputs"] == {"participating months": "1", "Σ sample_retention_days": "15", "Σ meal_days": "17"}
    assert (c1["earned"], c1["earned_exact"], c1["available"]) == ("5.29", "90/17", "6")
    b1 = result.row("B1").to_dict()
    assert b1["inputs"] == {
        "latest report": "2026-09",
        "green_area_m2": "1629",
        "campus_area_m2": "11771",
        "target": "0.35",
        "ratio": "1629/11771 ≈ 0.138391",
    }
    assert b1["earned"] == "3.95"  # 325800 / 82397 = 3.95402…
    d1 = result.row("D1")
    assert d1.inputs == {
        "Σ hazards_found": "4",
        "Σ hazards_rectified": "1",
        "overdue open major hazards": "0",
    }
    e3 = result.row("E3").to_dict()
    assert (e3["earned"], e3["earned_exact"]) == ("1.69", "1.6875")
    f1 = result.row("F1")
    assert f1.inputs["Σ electricity_kwh"] == "29313"
    assert f1.inputs["Σ water_m3"] == "916.2"
    assert f1.inputs["Σ students"] == "805"
    assert f1.inputs["median e"] == "29313/805 ≈ 36.413665"
    assert result.row("G1").inputs == {
        "latest report": "2026-09",
        "boarders": "201",
        "unified_items": "8",
        "out of": "9",
    }
    assert result.row("B2").inputs["inspection id"] == "7"
    assert all(r.revision_ids == [41] for r in result.indicators if r.code != "B2")


def test_example_report_without_inspection(rubric, example_report):
    [result] = score_county([example_school(example_report, [])], WINDOW, rubric)
    # B2 → 0 and the flag; Σ earned = EARNED − 4.5, available still 94
    assert result.row("B2").earned == 0
    assert result.flags == ["awaiting_inspection"]
    assert result.raw_score == 100 * (EARNED - Fraction(9, 2)) / 94
    assert result.score == Decimal("73.06")  # 73.0639250…


def test_example_copy_is_the_spec(example_report):
    # The hand computation above reads the figures of the spec's example; the copy must not drift.
    spec = Path(__file__).resolve().parents[3].parent / "shared" / "spec" / "example-report.json"
    if not spec.exists():
        pytest.skip("../shared/spec is not beside this checkout")
    assert example_report == json.loads(spec.read_text(encoding="utf-8"))
