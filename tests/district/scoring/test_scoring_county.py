"""Normalisation, status, grade, rank and campaign progress over a county, by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from district.scoring.engine import (
    InspectionInput,
    MonthInput,
    SchoolInput,
    Window,
    campaign_progress,
    round_half_up,
    score_county,
)
from district.scoring.rubric import DEFAULT_RUBRIC_PATH, load_rubric
from tests.factories import report_figures

SEP, OCT, NOV = "2026-09", "2026-10", "2026-11"
FALL = [SEP, OCT, NOV, "2026-12", "2027-01"]


def inspection(score: str, day: date = date(2026, 9, 15)) -> list[InspectionInput]:
    return [InspectionInput(1, day, Decimal(score))]


# --- normalisation --------------------------------------------------------------------------------


def test_not_applicable_points_are_redistributed(make_school, score_one):
    school = make_school(
        months=[
            (
                SEP,
                {
                    "campus.shop": "not_applicable",  # A1: −6 available
                    "food_safety.canteen_staff": 0,  # C2: −4 available
                    "food_safety.health_certified_staff": 0,
                },
            )
        ],
        inspections=inspection("4.5"),  # B2 4.5 of 5
    )
    result = score_one(school)
    # available 100 − 6 − 4 = 90; earned 90 − 0.5 = 89.5; 100 × 89.5 / 90 = 99.444…
    assert result.available_total == 90
    assert result.earned_total == Fraction(179, 2)
    assert result.raw_score == Fraction(895, 9)
    assert result.score == Decimal("99.44")


def test_rounding_is_half_up_on_the_exact_value():
    assert round_half_up(Fraction(17999, 200), 2) == Decimal("90.00")  # 89.995
    assert round_half_up(Fraction(15997, 200), 2) == Decimal("79.99")  # 79.985
    assert round_half_up(Fraction(2, 3), 4) == Decimal("0.6667")
    assert round_half_up(Fraction(1, 8), 2) == Decimal("0.13")  # 0.125: half up, not to even


# --- status and grade -----------------------------------------------------------------------------


def test_raw_89_995_rounds_to_90_excellent(make_school, score_one):
    school = make_school(
        months=[
            (
                SEP,
                {
                    "campus.shop": "rectifying",  # A1 6 → 3: −3
                    # B1 10 × (3398.5 / 10000) / 0.35 = 10 × 0.971 = 9.71: −0.29
                    "campus.green_area_m2": "3398.5",
                    "campus.campus_area_m2": "10000.0",
                    "safety.hazards_found": 4,  # D1 6 × 1/4 = 1.5: −4.5
                    "safety.hazards_rectified": 1,
                    "safety.inspections": 14,  # D2 4 × 14/20 = 2.8: −1.2
                    "finance.invoices": 200,  # E2 3 × 199/200 = 2.985: −0.015
                    "finance.invoices_fully_signed": 199,
                },
            )
        ],
        inspections=inspection("4.0"),  # B2 4: −1
    )
    result = score_one(school)
    # 100 − 3 − 0.29 − 4.5 − 1.2 − 0.015 − 1 = 89.995 of 100 available
    assert result.available_total == 100
    assert result.raw_score == Fraction(89995, 1000)
    assert result.score == Decimal("90.00")
    assert (result.grade, result.grade_code, result.status) == ("优秀", "excellent", "compliant")
    assert result.to_dict()["score"] == "90.00"


def test_exactly_80_is_compliant(make_school, score_one):
    nc = "noncompliant"
    school = make_school(
        months=[(SEP, {"campus.shop": nc, "campus.toilets": nc, "campus.hygiene": nc})],  # −18
        inspections=inspection("3.0"),  # −2
    )
    result = score_one(school)
    assert result.raw_score == 80
    assert result.score == Decimal("80.00")
    assert (result.status, result.grade) == ("compliant", "良好")


def test_79_985_rounds_to_79_99_not_compliant(make_school, score_one):
    nc = "noncompliant"
    school = make_school(
        months=[
            (
                SEP,
                {
                    "campus.shop": nc,  # −6
                    "campus.toilets": nc,  # −6
                    "campus.hygiene": nc,  # −6
                    "finance.invoices": 200,  # −0.015
                    "finance.invoices_fully_signed": 199,
                },
            )
        ],
        inspections=inspection("3.0"),  # −2
    )
    result = score_one(school)
    assert result.raw_score == Fraction(79985, 1000)
    assert result.score == Decimal("79.99")
    assert (result.status, result.grade) == ("not_compliant", "合格")


def test_score_below_60_fails(make_school, score_one):
    nc = "noncompliant"
    school = make_school(
        months=[
            (
                SEP,
                {
                    **{f"campus.{c}": nc for c in ("shop", "toilets", "hygiene", "wiring", "drinking_water")},
                    "campus.green_area_m2": "0",  # B1 0: −10
                },
            )
        ],
        inspections=[],  # B2 0: −5
    )
    result = score_one(school)
    assert result.score == Decimal("55.00")  # 100 − 30 − 10 − 5
    assert (result.grade, result.grade_code, result.status) == ("不合格", "fail", "not_compliant")


def test_coverage_exactly_0_8_is_enough(make_school, score_one):
    # 5 expected months, 4 reported (2026-12 missing): 4/5 = 0.8, not below 0.8
    school = make_school(
        months=[SEP, OCT, NOV, "2027-01"],
        expected=FALL,
        inspections=inspection("5.0", date(2027, 1, 10)),
    )
    result = score_one(school)
    assert result.coverage == Fraction(4, 5)
    assert result.to_dict()["coverage"] == "0.8000"
    assert result.score == Decimal("100.00")  # D2 80 / (20 × 4); D3 4 drills / ceil(5/3) = 2
    assert result.status == "compliant"
    assert result.flags == ["missing:2026-12"]


def test_coverage_below_0_8_is_insufficient_data(make_school, score_one):
    school = make_school(months=[SEP, OCT, NOV], expected=[SEP, OCT, NOV, "2026-12"])
    result = score_one(school)
    assert result.coverage == Fraction(3, 4)
    assert result.score == Decimal("100.00")  # still scored and ranked
    assert result.rank == 1
    assert result.status == "insufficient_data"
    assert result.grade == "优秀"


def test_veto_comes_before_insufficient_data(make_school, score_one):
    school = make_school(
        months=[
            (SEP, {"food_safety.poisoning_incidents": 1}),
            (OCT, {"finance.improper_fee_cases": 2}),
        ],
        expected=[SEP, OCT, NOV, "2026-12"],  # coverage 2/4 = 0.5 < 0.8
        inspections=[],
    )
    result = score_one(school)
    assert result.status == "veto"
    assert result.flags == [
        "veto:poisoning_incidents=1",
        "veto:improper_fee_cases=2",
        "missing:2026-11",
        "missing:2026-12",
        "awaiting_inspection",
    ]
    assert result.score == Decimal("95.00")  # the veto does not change the score (B2: −5)


def test_veto_over_a_full_score(make_school, score_one):
    result = score_one(make_school(months=[(SEP, {"safety.major_accidents": 1})]))
    # SCORING.md: a vetoed school's grade is 不合格 whatever its score; the score is still shown
    assert (result.score, result.status, result.grade) == (Decimal("100.00"), "veto", "不合格")
    assert result.grade_code == "fail"
    assert result.to_dict()["score"] == "100.00"
    assert result.flags == ["veto:major_accidents=1"]


# --- vetoed schools are not ranked (SCORING.md "Status, grade, rank") -------------------------------


def _with_vetoes(make_school):
    rect = {"campus.shop": "rectifying"}  # −3 → 97.00
    veto = {"food_safety.poisoning_incidents": 1}
    return [
        make_school("6105260001", months=[(SEP, rect)]),  # 97
        make_school("6105260002", months=[(SEP, veto)]),  # 100, vetoed
        make_school("6105260003", months=[], expected=[SEP]),  # no report
        make_school("6105260004", months=[(SEP, {**veto, **rect})]),  # 97, vetoed
        make_school("6105260005", months=[SEP]),  # 100
        make_school("6105260006", months=[(SEP, {"campus.shop": "noncompliant", **veto})]),  # 94, vetoed
        make_school("6105260000", months=[(SEP, {**veto, **rect})]),  # 97, vetoed
    ]


def test_a_vetoed_school_has_no_rank(make_school, rubric):
    results = {r.code: r for r in score_county(_with_vetoes(make_school), Window(SEP, SEP), rubric)}
    assert results["6105260002"].rank is None
    assert results["6105260002"].to_dict()["rank"] is None
    # the ranked schools rank among themselves: the vetoed 100 takes no place
    assert (results["6105260005"].rank, results["6105260001"].rank) == (1, 2)


def test_a_vetoed_school_has_no_rank_by_type(make_school, rubric):
    results = score_county(_with_vetoes(make_school), Window(SEP, SEP), rubric, rank_by_type=True)
    ranks = {r.code: r.rank for r in results}
    assert ranks == {
        "6105260005": 1, "6105260001": 2,
        "6105260002": None, "6105260004": None, "6105260000": None, "6105260006": None,
        "6105260003": None,
    }  # fmt: skip


def test_a_vetoed_school_is_graded_fail_whatever_its_score(make_school, rubric):
    results = score_county(_with_vetoes(make_school), Window(SEP, SEP), rubric)
    graded = {r.code: (r.status, r.grade) for r in results}
    assert graded["6105260002"] == ("veto", "不合格")  # 100.00
    assert graded["6105260006"] == ("veto", "不合格")  # 94.00
    assert graded["6105260005"] == ("compliant", "优秀")


def test_vetoed_schools_come_after_the_ranked_by_score_then_code_before_no_report(make_school, rubric):
    results = score_county(_with_vetoes(make_school), Window(SEP, SEP), rubric)
    assert [(r.code, r.to_dict()["score"], r.status, r.rank) for r in results] == [
        ("6105260005", "100.00", "compliant", 1),
        ("6105260001", "97.00", "compliant", 2),
        ("6105260002", "100.00", "veto", None),  # vetoed: by score, then code; the score is still shown
        ("6105260000", "97.00", "veto", None),
        ("6105260004", "97.00", "veto", None),
        ("6105260006", "94.00", "veto", None),
        ("6105260003", None, "insufficient_data", None),  # no report: last
    ]


def test_vetoed_schools_are_not_compliant_in_the_campaign(make_school, rubric):
    scores = score_county(_with_vetoes(make_school), Window(SEP, SEP), rubric)
    assert campaign_progress(scores, 7, 2026, 2026, rubric)["compliant"] == 2


# --- rank -----------------------------------------------------------------------------------------


def test_ties_share_a_rank_and_the_next_skips(make_school, rubric):
    rect = {"campus.shop": "rectifying"}  # −3 → 97.00
    schools = [
        make_school("6105260040", months=[(SEP, {"campus.shop": "noncompliant"})]),  # 94.00
        make_school("6105260030", months=[(SEP, rect)]),  # 97.00
        make_school("6105260010", months=[(SEP, rect)]),  # 97.00
        make_school("6105260050", months=[], expected=[SEP]),  # no report
        make_school("6105260020", months=[SEP]),  # 100.00
        make_school("6105260005", months=[], expected=[SEP]),  # no report
    ]
    results = score_county(schools, Window(SEP, SEP), rubric)
    assert [(r.code, r.to_dict()["score"], r.rank) for r in results] == [
        ("6105260020", "100.00", 1),
        ("6105260010", "97.00", 2),  # tie listed by code
        ("6105260030", "97.00", 2),
        ("6105260040", "94.00", 4),  # skips 3
        ("6105260005", None, None),  # no report: last, by code
        ("6105260050", None, None),
    ]
    no_report = results[-1]
    assert (no_report.status, no_report.grade, no_report.coverage) == ("insufficient_data", None, 0)
    assert no_report.flags == ["missing:2026-09"]  # the default inspection exists
    assert no_report.indicators == []
    assert no_report.to_dict()["indicators"] == []


def test_ranks_use_the_rounded_score(make_school, rubric):
    # 89.995 → 90.00 and a plain 90.00 share rank 1
    a = make_school(
        "6105260001",
        months=[
            (
                SEP,
                {"finance.invoices": 200, "finance.invoices_fully_signed": 199, "campus.shop": "rectifying"},
            )
        ],
        inspections=inspection("4.0"),
    )  # 100 − 0.015 − 3 − 1 = 95.985 → 95.99
    b = make_school(
        "6105260002",
        months=[(SEP, {"finance.invoices": 200, "finance.invoices_fully_signed": 199})],
        inspections=inspection("1.0"),
    )  # 100 − 0.015 − 4 = 95.985 → 95.99
    c = make_school("6105260003", months=[SEP], inspections=inspection("1.0"))  # 96.00
    results = score_county([a, b, c], Window(SEP, SEP), rubric)
    assert [(r.code, str(r.score), r.rank) for r in results] == [
        ("6105260003", "96.00", 1),
        ("6105260001", "95.99", 2),
        ("6105260002", "95.99", 2),
    ]
    assert results[1].raw_score == results[2].raw_score == Fraction(95985, 1000)


def test_rank_by_type(make_school, rubric):
    rect = {"campus.shop": "rectifying"}
    schools = [
        make_school("6105260001", type="junior", months=[(SEP, rect)]),  # 97
        make_school("6105260002", type="primary", months=[(SEP, rect)]),  # 97
        make_school("6105260003", type="junior", months=[SEP]),  # 100
        make_school("6105260004", type="primary", months=[], expected=[SEP]),  # no report
        make_school("6105260005", type="primary", months=[(SEP, {"campus.shop": "noncompliant"})]),  # 94
    ]
    results = score_county(schools, Window(SEP, SEP), rubric, rank_by_type=True)
    assert [(r.type, r.code, r.rank) for r in results] == [
        ("primary", "6105260002", 1),
        ("primary", "6105260005", 2),
        ("primary", "6105260004", None),
        ("junior", "6105260003", 1),
        ("junior", "6105260001", 2),
    ]
    county = score_county(schools, Window(SEP, SEP), rubric)
    assert [(r.code, r.rank) for r in county] == [
        ("6105260003", 1),
        ("6105260001", 2),
        ("6105260002", 2),
        ("6105260005", 4),
        ("6105260004", None),
    ]


def test_school_with_no_expected_month_is_not_listed(make_school, rubric):
    opened_later = make_school("6105260002", months=[], expected=[])
    results = score_county([make_school("6105260001"), opened_later], Window(SEP, SEP), rubric)
    assert [r.code for r in results] == ["6105260001"]


# --- output ---------------------------------------------------------------------------------------


def test_to_dict_is_the_api_ranking_row(make_school, score_one):
    result = score_one(make_school(name="庄里镇中心小学", months=[SEP], expected=[SEP]))
    row = result.to_dict()
    assert list(row) == [
        "school_code",
        "name",
        "type",
        "township",
        "score",
        "grade",
        "status",
        "rank",
        "coverage",
        "flags",
        "rubric_version",
        "indicators",
    ]
    assert {k: v for k, v in row.items() if k != "indicators"} == {
        "school_code": "6105260012",
        "name": "庄里镇中心小学",
        "type": "primary",
        "township": "庄里镇",
        "score": "100.00",
        "grade": "优秀",
        "status": "compliant",
        "rank": 1,
        "coverage": "1.0000",
        "flags": [],
        "rubric_version": "default-1",
    }
    assert [r["code"] for r in row["indicators"]] == [i.code for i in result.indicators]
    audit = result.to_dict(audit=True)
    assert (audit["grade_code"], audit["raw_score"], audit["earned_total"], audit["available_total"]) == (
        "excellent",
        "100",
        "100",
        "100",
    )


# --- campaign progress ----------------------------------------------------------------------------


def _statuses(make_school, rubric, n_compliant: int, n_other: int):
    schools = [make_school(f"61052600{i:02d}", months=[SEP]) for i in range(n_compliant)]
    schools += [make_school(f"61052601{i:02d}", months=[(SEP, {"safety.major_accidents": 1})]) for i in range(n_other)]
    return score_county(schools, Window(SEP, SEP), rubric)


def test_campaign_progress_against_the_targets(make_school, rubric):
    scores = _statuses(make_school, rubric, 3, 2)  # 3 compliant, 2 vetoed
    assert campaign_progress(scores, 5, 2026, 2026, rubric) == {
        "year": 2026,
        "campaign_year": 1,
        "compliant": 3,
        "active": 5,
        "rate": "0.6000",
        "target": "0.5000",
        "met": True,  # 3/5 ≥ 1/2
    }
    second = campaign_progress(scores, 5, 2027, 2026, rubric)
    assert (second["campaign_year"], second["target"], second["met"]) == (2, "0.7000", False)  # 3/5 < 7/10
    fourth = campaign_progress(scores, 5, 2029, 2026, rubric)
    assert (fourth["campaign_year"], fourth["target"], fourth["met"]) == (4, "1.0000", False)


def test_campaign_progress_exact_comparison_and_unconfigured_start(make_school, rubric):
    scores = _statuses(make_school, rubric, 2, 0)
    # 2 of 3 active: 0.6667 shown, 2/3 < 0.70
    progress = campaign_progress(scores, 3, 2027, 2026, rubric)
    assert (progress["rate"], progress["met"]) == ("0.6667", False)
    unconfigured = campaign_progress(scores, 3, 2027, None, rubric)
    assert (unconfigured["campaign_year"], unconfigured["target"], unconfigured["met"]) == (None, None, False)
    before = campaign_progress(scores, 3, 2025, 2026, rubric)
    assert (before["campaign_year"], before["target"], before["met"]) == (None, None, False)
    empty = campaign_progress([], 0, 2026, 2026, rubric)
    assert (empty["rate"], empty["met"]) == (None, False)


def test_campaign_progress_never_exceeds_one(make_school, rubric):
    scores = _statuses(make_school, rubric, 3, 0)
    # a school closed during the year: only the active ones count
    active = {"6105260000", "6105260001"}
    progress = campaign_progress(scores, 2, 2026, 2026, rubric, active_codes=active)
    assert (progress["compliant"], progress["rate"]) == (2, "1.0000")
    with pytest.raises(ValueError, match="3 compliant schools but only 2 active"):
        campaign_progress(scores, 2, 2026, 2026, rubric)


# --- bad input ------------------------------------------------------------------------------------


def test_bad_inputs_are_refused(make_school, make_month, make_report, rubric):
    window = Window(SEP, SEP)
    with pytest.raises(ValueError, match="school 6105260012: report of 2026-10 is outside W"):
        score_county([make_school(months=[OCT], expected=[SEP])], window, rubric)
    with pytest.raises(ValueError, match=r"school\(s\) listed twice: 6105260012"):
        score_county([make_school(), make_school()], window, rubric)
    with pytest.raises(ValueError, match="previous_participating \\(2026-09\\) is not before W"):
        score_county([make_school(previous=make_month(SEP))], window, rubric)
    report = make_report(SEP)
    no_water = MonthInput(SEP, 1, report_figures({**report, "energy": {"electricity_kwh": "10.0"}}))
    school = SchoolInput("6105260012", "x", "primary", "y", [no_water], [SEP])
    with pytest.raises(ValueError, match=r"school 6105260012 2026-09: the report has no energy\.water_m3"):
        score_county([school], window, rubric)
    float_water = MonthInput(SEP, 1, report_figures({**report, "energy": {"electricity_kwh": "10.0", "water_m3": 1.5}}))
    school = SchoolInput("6105260012", "x", "primary", "y", [float_water], [SEP])
    with pytest.raises(
        ValueError,
        match=r"school 6105260012 2026-09 energy\.water_m3: expected an integer or a decimal string,"
        r" got float 1\.5",
    ):
        score_county([school], window, rubric)
    with pytest.raises(ValueError, match=r"window 2026-10\.\.2026-09: from is after to"):
        Window(OCT, SEP)


def test_window(make_school):
    w = Window("2026-01", "2026-03")
    assert (w.first_day, w.last_day) == (date(2026, 1, 1), date(2026, 3, 31))
    assert w.periods == ("2026-01", "2026-02", "2026-03")
    assert Window.for_year(2026, latest_closed="2026-04") == Window("2026-01", "2026-04")
    assert Window("2028-02", "2028-02").last_day == date(2028, 2, 29)


def test_a_county_rubric_changes_the_weights(make_school):
    text = DEFAULT_RUBRIC_PATH.read_text(encoding="utf-8")
    text = text.replace('version = "default-1"', 'version = "fuping-2027"')
    text = text.replace('name_en = "Greening"\npoints = 10', 'name_en = "Greening"\npoints = 8')
    text = text.replace(
        'name_en = "Dormitory: unified standard items"\npoints = 5',
        'name_en = "Dormitory: unified standard items"\npoints = 7',
    )
    county = load_rubric(text, source="fuping.toml")
    school = make_school(
        months=[
            (
                SEP,
                {
                    "campus.green_area_m2": "3000",  # B1 8 × (0.25 / 0.35) = 40/7
                    "dormitory.unified_items": ["rules", "mirror", "bed_spec"],  # G1 7 × 3/9 = 7/3
                },
            )
        ]
    )
    [result] = score_county([school], Window(SEP, SEP), county)
    # 100 − 8 + 40/7 − 7 + 7/3 = 85 + 169/21 = 93.0476…
    assert result.raw_score == 85 + Fraction(169, 21)
    assert result.score == Decimal("93.05")
    assert result.rubric_version == "fuping-2027"
    assert result.row("B1").points == 8
