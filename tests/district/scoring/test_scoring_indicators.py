"""Every indicator of the default rubric, by hand, one at a time.

Each test starts from PERFECT months (conftest: full marks everywhere, 100.00) and changes only what the
indicator reads, so the expected score is 100 minus what the indicator loses, written out below.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from district.scoring.engine import HazardInput, InspectionInput, Window, score_county

SEP, OCT, NOV = "2026-09", "2026-10", "2026-11"


def hazard(ref: str, deadline: date, rectified_on: date | None = None, severity: str = "major") -> HazardInput:
    return HazardInput(ref, severity, deadline, rectified_on, date(2026, 9, 1), revision_id=77)


# --- A1–A5 五项整治 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "earned", "score"),
    [("compliant", 6, "100.00"), ("rectifying", 3, "97.00"), ("noncompliant", 0, "94.00")],
)
def test_a_campaign_status_points(make_school, score_one, status, earned, score):
    result = score_one(make_school(months=[(SEP, {"campus.wiring": status})]))
    assert result.row("A4").earned == earned
    assert result.score == Decimal(score)


def test_a_not_applicable_leaves_the_available_points(make_school, score_one):
    result = score_one(make_school(months=[(SEP, {"campus.drinking_water": "not_applicable"})]))
    row = result.row("A5")
    assert (row.applicable, row.earned, row.available) == (False, None, 0)
    # 94 earned of 94 available
    assert result.available_total == 94
    assert result.score == Decimal("100.00")


def test_a_reads_the_latest_report_only(make_school, score_one):
    school = make_school(
        months=[(SEP, {"campus.shop": "noncompliant"}), (OCT, {"campus.shop": "rectifying"})],
    )
    result = score_one(school)
    assert result.row("A1").earned == 3  # October's rectifying, not September's noncompliant
    assert result.row("A1").revision_ids == [school.months[1].revision_id]


# --- B1 绿化, B2 文化与美化 ------------------------------------------------------------------------------


def test_b1_green_ratio_below_target(make_school, score_one):
    # 10 × (3000 / 12000) / 0.35 = 10 × 0.25 / 0.35 = 50/7
    result = score_one(make_school(months=[(SEP, {"campus.green_area_m2": "3000.0"})]))
    assert result.row("B1").earned == Fraction(50, 7)
    assert result.raw_score == 100 - 10 + Fraction(50, 7)  # available 100


def test_b1_capped_at_full_above_target(make_school, score_one):
    result = score_one(make_school(months=[(SEP, {"campus.green_area_m2": "6000"})]))  # 0.5 > 0.35
    assert result.row("B1").earned == 10


def test_b1_zero_campus_area_is_nothing_to_check(make_school, score_one):
    result = score_one(make_school(months=[(SEP, {"campus.campus_area_m2": "0", "campus.green_area_m2": "0"})]))
    assert result.row("B1").earned == 10


def test_b2_latest_inspection_inside_w_highest_id_on_a_tie(make_school, score_one):
    school = make_school(
        months=[SEP, OCT],
        inspections=[
            InspectionInput(3, date(2026, 10, 20), Decimal("3.5")),
            InspectionInput(9, date(2026, 10, 20), Decimal("4.0")),  # same date, higher id: this one
            InspectionInput(5, date(2026, 9, 2), Decimal("5.0")),  # older
            InspectionInput(11, date(2026, 11, 3), Decimal("1.0")),  # after W: ignored
        ],
    )
    result = score_one(school, Window(SEP, OCT))
    assert result.row("B2").earned == 4
    assert result.row("B2").inputs["inspection id"] == "9"
    assert result.flags == []


def test_b2_no_inspection_scores_zero_and_flags(make_school, score_one):
    result = score_one(make_school(months=[SEP], inspections=[]))
    assert result.row("B2").earned == 0
    assert result.flags == ["awaiting_inspection"]
    assert result.score == Decimal("95.00")


def test_b2_score_outside_0_to_5_is_refused(make_school, score_one):
    school = make_school(months=[SEP], inspections=[InspectionInput(1, date(2026, 9, 9), Decimal("5.5"))])
    with pytest.raises(ValueError, match=r"school 6105260012 inspection 1: score 5.5 is outside 0..5"):
        score_one(school)


# --- C1–C5 食品安全与营养餐 -------------------------------------------------------------------------------


NOT_PARTICIPATING = {
    "nutrition": {"participating": False},
    "food_safety.sample_retention_days": 0,
}


def test_c1_c3_sum_over_participating_months_only(make_school, score_one):
    school = make_school(
        months=[
            (SEP, {"food_safety.sample_retention_days": 15, "nutrition.accompany_meal_days": 10}),  # of 17
            (OCT, NOT_PARTICIPATING),  # not in C1/C3
            (NOV, {"nutrition.meal_days": 20, "food_safety.sample_retention_days": 20}),
        ]
    )
    result = score_one(school)
    # C1 6 × (15 + 20) / (17 + 20) = 210/37; C3 3 × (10 + 17) / (17 + 20) = 81/37
    assert result.row("C1").earned == Fraction(210, 37)
    assert result.row("C1").inputs == {
        "participating months": "2",
        "Σ sample_retention_days": "35",
        "Σ meal_days": "37",
    }
    assert result.row("C3").earned == Fraction(81, 37)
    assert result.row("C1").revision_ids == [school.months[0].revision_id, school.months[2].revision_id]


def test_c1_c3_zero_meal_days_is_full(make_school, score_one):
    result = score_one(
        make_school(
            months=[
                (
                    SEP,
                    {
                        "nutrition.meal_days": 0,
                        "nutrition.meals_served": 0,
                        "nutrition.accompany_meal_days": 0,
                        "nutrition.funds_received": "0.00",
                        "nutrition.food_spend": "0.00",
                        "food_safety.sample_retention_days": 0,
                    },
                )
            ]
        )
    )
    assert (result.row("C1").earned, result.row("C3").earned) == (6, 3)


def test_c1_c3_c4_not_applicable_without_participation(make_school, score_one):
    result = score_one(make_school(months=[(SEP, NOT_PARTICIPATING), (OCT, NOT_PARTICIPATING)]))
    for code in ("C1", "C3", "C4"):
        row = result.row(code)
        assert (row.applicable, row.available) == (False, 0), code
        assert row.note == "not applicable: the school participated in no month of W"
    assert result.available_total == 100 - 6 - 3 - 4
    assert result.score == Decimal("100.00")


def test_c2_health_certificates(make_school, score_one):
    school = make_school(
        months=[
            (SEP, {"food_safety.canteen_staff": 6, "food_safety.health_certified_staff": 5}),
            (OCT, {"food_safety.canteen_staff": 6, "food_safety.health_certified_staff": 6}),
        ]
    )
    # 4 × 11 / 12 = 11/3
    assert score_one(school).row("C2").earned == Fraction(11, 3)


def test_c2_no_canteen_staff_is_not_applicable(make_school, score_one):
    zero = {"food_safety.canteen_staff": 0, "food_safety.health_certified_staff": 0}
    result = score_one(make_school(months=[(SEP, zero)]))
    row = result.row("C2")
    assert (row.applicable, row.available, row.note) == (False, 0, "not applicable: Σ canteen_staff = 0")
    assert result.available_total == 96


def test_c4_misuse_and_balance_mismatch(make_school, score_one):
    school = make_school(
        months=[
            SEP,
            # MISUSE: 1000.00 + 65305.35 − 65205.35 − 100.00 = 1000.00 (balanced, but 100 spent off food)
            (OCT, {"nutrition.food_spend": "65205.35", "nutrition.other_spend": "100.00"}),
            # BALANCE_MISMATCH: 1000.00 + 65305.35 − 65305.35 − 0 = 1000.00 ≠ 1000.50
            (NOV, {"nutrition.closing_balance": "1000.50"}),
        ]
    )
    result = score_one(school)
    # 4 × 1 compliant month / 3 participating months
    assert result.row("C4").earned == Fraction(4, 3)
    assert result.row("C4").inputs == {
        "participating months": "3",
        "carry-over basis of 2026-10": "2026-09",
        "anomalies 2026-10": "MISUSE",
        "carry-over basis of 2026-11": "2026-10",
        "anomalies 2026-11": "BALANCE_MISMATCH",
        "fund-compliant months": "1",
    }


def test_c4_other_anomalies_do_not_count(make_school, score_one):
    # NONSTANDARD_RATE and UNDERSPEND are anomalies, but not fund-compliance ones
    result = score_one(
        make_school(
            months=[
                (
                    SEP,
                    {
                        "nutrition.subsidy_rate": "4.00",
                        "nutrition.funds_received": "40000.00",
                        "nutrition.food_spend": "40000.00",
                    },
                )
            ]
        )
    )
    assert result.row("C4").earned == 4


def test_c4_carry_over_across_the_summer_break(make_school, make_month, score_one):
    # W = 2026-06..2026-09, July and August are break months (not expected, no reports).
    june = make_month("2026-06", school_code="6105260012")  # closing 1000.00
    equal = make_school(months=[june, "2026-09"], expected=["2026-06", "2026-09"])  # September opens 1000.00
    result = score_one(equal, Window("2026-06", "2026-09"))
    assert result.row("C4").earned == 4
    assert result.row("C4").inputs["carry-over basis of 2026-09"] == "2026-06"
    assert result.coverage == 1
    assert result.score == Decimal("100.00")

    # September opens 1200.00 (and balances: 1200.00 + 65305.35 − 65305.35 = 1200.00) ≠ June's 1000.00
    moved = {"nutrition.opening_balance": "1200.00", "nutrition.closing_balance": "1200.00"}
    unequal = make_school(months=[june, ("2026-09", moved)], expected=["2026-06", "2026-09"])
    result = score_one(unequal, Window("2026-06", "2026-09"))
    assert result.row("C4").inputs["anomalies 2026-09"] == "CARRY_OVER_MISMATCH"
    assert result.row("C4").earned == 2  # 4 × 1 / 2
    assert result.score == Decimal("98.00")


def test_c4_carry_over_from_before_the_window(make_school, make_month, score_one):
    june = make_month("2026-06", school_code="6105260012", revision_id=500)  # closing 1000.00
    moved = {"nutrition.opening_balance": "1200.00", "nutrition.closing_balance": "1200.00"}
    result = score_one(make_school(months=[(SEP, moved)], previous=june), Window(SEP, SEP))
    assert result.row("C4").earned == 0  # 4 × 0 / 1
    assert 500 in result.row("C4").revision_ids
    result = score_one(make_school(months=[SEP], previous=june), Window(SEP, SEP))
    assert result.row("C4").earned == 4


def test_c4_a_report_in_a_break_month_is_the_basis_but_not_scored(make_school, make_month, score_one):
    # A school reported July (a break month). July is not scored, but its closing balance (1200.00) is the
    # most recent earlier participating report for September, which opens 1200.00: no carry-over mismatch.
    july = {"nutrition.closing_balance": "1200.00", "nutrition.funds_received": "65505.35"}
    september = {"nutrition.opening_balance": "1200.00", "nutrition.closing_balance": "1200.00"}
    school = make_school(months=["2026-06", ("2026-07", july), (SEP, september)], expected=["2026-06", SEP])
    result = score_one(school, Window("2026-06", SEP))
    assert result.row("C4").earned == 4
    assert result.row("C4").inputs["carry-over basis of 2026-09"] == "2026-07"
    assert result.coverage == 1  # 2 reported of 2 expected; July is neither
    assert result.row("D2").inputs["reported months"] == "2"


def test_c5_records(make_school, score_one):
    school = make_school(
        months=[SEP, (OCT, {"food_safety.swill_records_complete": False}), NOV],
    )
    assert score_one(school).row("C5").earned == 2  # 3 × 2 / 3


# --- D1–D4 安全 -------------------------------------------------------------------------------------


def test_d1_rectification_share(make_school, score_one):
    school = make_school(
        months=[
            (SEP, {"safety.hazards_found": 3, "safety.hazards_rectified": 1}),
            (OCT, {"safety.hazards_found": 2, "safety.hazards_rectified": 2}),
        ]
    )
    assert score_one(school).row("D1").earned == Fraction(18, 5)  # 6 × 3 / 5


def test_d1_capped_and_zero_found(make_school, score_one):
    more = make_school(months=[(SEP, {"safety.hazards_found": 2, "safety.hazards_rectified": 3})])
    assert score_one(more).row("D1").earned == 6  # 6 × min(1, 3/2)
    assert score_one(make_school(months=[SEP])).row("D1").earned == 6  # Σ found = 0 → full


def test_d1_overdue_major_hazard_costs_2(make_school, score_one):
    school = make_school(
        months=[(SEP, {"safety.hazards_found": 4, "safety.hazards_rectified": 4})],
        hazards=[
            hazard("H-1", date(2026, 9, 29)),  # major, deadline before 09-30, open → −2
            hazard("H-2", date(2026, 9, 30)),  # deadline ON the last day: not overdue
            hazard("H-3", date(2026, 9, 10), rectified_on=date(2026, 9, 30)),  # rectified by the last day
            hazard("H-4", date(2026, 9, 10), severity="general"),  # general: no penalty
        ],
    )
    result = score_one(school, Window(SEP, SEP))
    row = result.row("D1")
    assert row.earned == 4  # 6 × 4 / 4 − 2 × 1
    assert row.inputs["overdue open major hazards"] == "1"
    assert row.inputs["hazard H-1"] == "major, deadline 2026-09-29, rectified_on open"
    assert 77 in row.revision_ids
    assert result.score == Decimal("98.00")


def test_d1_rectified_after_the_window_is_still_open(make_school, score_one):
    school = make_school(
        months=[SEP],
        hazards=[hazard("H-1", date(2026, 9, 20), rectified_on=date(2026, 10, 2))],
    )
    assert score_one(school, Window(SEP, SEP)).row("D1").earned == 4  # 6 − 2


def test_d1_floor_zero(make_school, score_one):
    school = make_school(
        months=[(SEP, {"safety.hazards_found": 4, "safety.hazards_rectified": 1})],
        hazards=[hazard(f"H-{i}", date(2026, 9, 1 + i)) for i in range(3)],
    )
    # 6 × 1/4 = 1.5, − 2 × 3 = −4.5 → 0
    assert score_one(school, Window(SEP, SEP)).row("D1").earned == 0


def test_d2_patrols(make_school, score_one):
    school = make_school(
        months=[
            (SEP, {"safety.inspections": 20}),
            (OCT, {"safety.inspections": 15}),
            (NOV, {"safety.inspections": 10}),
        ]
    )
    assert score_one(school).row("D2").earned == 3  # 4 × min(1, 45 / (20 × 3))
    over = make_school(months=[(SEP, {"safety.inspections": 31})])
    assert score_one(over).row("D2").earned == 4  # capped


def test_d3_drills_every_three_expected_months(make_school, score_one):
    # 5 expected months (2026-09..2027-01), 4 reported; Σ drills = 1; required ceil(5 / 3) = 2
    school = make_school(
        months=[
            SEP,
            (OCT, {"safety.drills": 0}),
            (NOV, {"safety.drills": 0}),
            ("2027-01", {"safety.drills": 0}),
        ],
        expected=[SEP, OCT, NOV, "2026-12", "2027-01"],
    )
    row = score_one(school).row("D3")
    assert row.earned == 1  # 2 × min(1, 1 / 2)
    assert row.inputs["required"] == "ceil(5 / 3) = 2"


def test_d4_visitor_log(make_school, score_one):
    school = make_school(months=[SEP, (OCT, {"safety.visitor_log_complete": False})])
    assert score_one(school).row("D4").earned == Fraction(3, 2)  # 3 × 1 / 2


# --- E1–E3 财务与资产 ----------------------------------------------------------------------------------


def test_e1_both_flags_needed(make_school, score_one):
    school = make_school(
        months=[
            SEP,
            (OCT, {"finance.fee_standards_published": False}),
            (NOV, {"finance.accounts_disclosed": False}),
        ]
    )
    assert score_one(school).row("E1").earned == Fraction(4, 3)  # 4 × 1 / 3


def test_e2_invoices(make_school, score_one):
    school = make_school(
        months=[
            (SEP, {"finance.invoices": 4, "finance.invoices_fully_signed": 3}),
            (OCT, {"finance.invoices": 6, "finance.invoices_fully_signed": 4}),
        ]
    )
    assert score_one(school).row("E2").earned == Fraction(21, 10)  # 3 × 7 / 10
    none = make_school(months=[(SEP, {"finance.invoices": 0, "finance.invoices_fully_signed": 0})])
    assert score_one(none).row("E2").earned == 3  # zero denominator: full


def test_e3_assets(make_school, score_one):
    school = make_school(
        months=[
            (SEP, {"assets.mismatches": 0, "assets.repairs_requested": 1, "assets.repairs_completed": 1}),
            (OCT, {"assets.mismatches": 2, "assets.repairs_requested": 3, "assets.repairs_completed": 2}),
        ]
    )
    # 1.5 × 1 / 2 + 1.5 × min(1, 3 / 4) = 0.75 + 1.125
    assert score_one(school).row("E3").earned == Fraction(15, 8)
    none = make_school(months=[(SEP, {"assets.mismatches": 1})])  # no repairs requested: that half full
    assert score_one(none).row("E3").earned == Fraction(3, 2)  # 1.5 × 0 / 1 + 1.5


# --- F1 节约 ----------------------------------------------------------------------------------------


def energy(kwh: object, water: object = "500.0", students: int = 1000) -> dict[str, object]:
    return {"energy.electricity_kwh": kwh, "energy.water_m3": water, "enrollment.students": students}


def test_f1_median_of_an_even_number_of_schools(make_school, rubric):
    schools = [
        make_school("6105260001", months=[(SEP, energy("10000.0"))]),  # e = 10
        make_school("6105260002", months=[(SEP, energy("12000.0"))]),  # e = 12
        make_school("6105260003", months=[(SEP, energy("14000.0"))]),  # e = 14
        make_school("6105260004", months=[(SEP, energy("20000.0"))]),  # e = 20
        # another type: not in the primary median (its own median is itself → full)
        make_school("6105260005", type="junior", months=[(SEP, energy("999000.0"))]),
        # no students: nothing per student to check → full, and not in the median
        make_school("6105260006", months=[(SEP, energy("50000.0", students=0))]),
    ]
    results = {r.code: r for r in score_county(schools, Window(SEP, SEP), rubric)}
    # primary median e = (12 + 14) / 2 = 13; every w = 500 / 1000 = 0.5 = the median → that half full
    f1 = {code: r.row("F1").earned for code, r in results.items()}
    assert f1 == {
        "6105260001": 5,  # r = 10/13 ≤ 1
        "6105260002": 5,  # r = 12/13 ≤ 1
        "6105260003": Fraction(60, 13),  # 2.5 × (1.5 − 14/13) / 0.5 + 2.5 = 2.5 × 11/13 + 2.5 = 55/26 + 65/26
        "6105260004": Fraction(5, 2),  # r = 20/13 ≥ 1.5 → 0 + 2.5
        "6105260005": 5,
        "6105260006": 5,
    }
    assert results["6105260003"].row("F1").inputs["median e"] == "13"
    assert results["6105260003"].row("F1").inputs["schools in median"] == "4"
    assert results["6105260003"].row("F1").inputs["r_e"] == "14/13 ≈ 1.076923"
    assert results["6105260003"].score == Decimal("99.62")  # 95 + 60/13 = 99.6153…
    assert results["6105260004"].score == Decimal("97.50")


def test_f1_zero_median_scores_full(make_school, rubric):
    schools = [
        make_school("6105260001", months=[(SEP, energy("10000.0", water="0"))]),
        make_school("6105260002", months=[(SEP, energy("10000.0", water="0"))]),
        make_school("6105260003", months=[(SEP, energy("10000.0", water="900.0"))]),  # w = 0.9, median 0
    ]
    results = score_county(schools, Window(SEP, SEP), rubric)
    assert [r.row("F1").earned for r in results] == [5, 5, 5]
    assert "median w = 0: full" in results[0].row("F1").note


def test_f1_linear_between_thresholds_on_water(make_school, rubric):
    schools = [
        make_school("6105260001", months=[(SEP, energy("10000.0", water="400.0"))]),  # w = 0.4
        make_school("6105260002", months=[(SEP, energy("10000.0", water="500.0"))]),  # w = 0.5 (median)
        make_school("6105260003", months=[(SEP, energy("10000.0", water="625.0"))]),  # w = 0.625
    ]
    results = {r.code: r for r in score_county(schools, Window(SEP, SEP), rubric)}
    # 6105260003: r_w = 0.625 / 0.5 = 1.25 → f = (1.5 − 1.25) / 0.5 = 0.5 → 2.5 + 2.5 × 0.5
    assert results["6105260003"].row("F1").earned == Fraction(15, 4)
    assert results["6105260001"].row("F1").earned == 5


def test_f1_sums_over_the_reported_months(make_school, rubric):
    schools = [
        make_school("6105260001", months=[(SEP, energy("6000.0")), (OCT, energy("4000.0"))]),  # 10000/2000 = 5
        make_school("6105260002", months=[(SEP, energy("7000.0"))]),  # 7
        make_school("6105260003", months=[(SEP, energy("9000.0"))]),  # 9
    ]
    results = {r.code: r for r in score_county(schools, Window(SEP, OCT), rubric)}
    # median e = 7 (odd count); w: 1000/2000 = 0.5, 0.5, 0.5
    assert results["6105260001"].row("F1").inputs["e"] == "5"
    assert results["6105260003"].row("F1").inputs["median e"] == "7"
    # r = 9/7 → f = (1.5 − 9/7) / 0.5 = 3/7 → 2.5 × 3/7 + 2.5
    assert results["6105260003"].row("F1").earned == Fraction(15, 14) + Fraction(5, 2)


# --- G1 学生公寓 --------------------------------------------------------------------------------------


def test_g1_items(make_school, score_one):
    three = make_school(months=[(SEP, {"dormitory.unified_items": ["rules", "mirror", "bed_spec"]})])
    assert score_one(three).row("G1").earned == Fraction(5, 3)  # 5 × 3 / 9


def test_g1_no_boarders_is_not_applicable(make_school, score_one):
    # dormitory is optional without boarders; G1 does not look at it
    result = score_one(make_school(months=[(SEP, {"enrollment.boarders": 0})]))
    row = result.row("G1")
    assert (row.applicable, row.available) == (False, 0)
    assert row.note == "not applicable: no boarders in the latest report (2026-09)"
    assert result.available_total == 95


def test_g1_reads_the_latest_report(make_school, score_one):
    school = make_school(
        months=[(SEP, {"enrollment.boarders": 0}), (OCT, {"dormitory.unified_items": ["rules"]})],
    )
    assert score_one(school).row("G1").earned == Fraction(5, 9)


def test_f1_integer_totals_divide_exactly(make_school, rubric):
    """Integer quantities (ints, or decimal strings without a point) sum to integers: e = Σ kWh / Σ students
    is still an exact fraction, never a float (13000 / 1000 would be 13.0, and 10000 / 3000 a rounded float)."""
    schools = [
        make_school("6105260001", months=[(SEP, energy(10000, water=500, students=3000))]),  # e = 10/3
        make_school("6105260002", months=[(SEP, energy("13000", water="500", students=3000))]),  # e = 13/3
        make_school("6105260003", months=[(SEP, energy(16000, water=500, students=3000))]),  # e = 16/3
    ]
    results = {r.code: r for r in score_county(schools, Window(SEP, SEP), rubric)}
    row = results["6105260003"].row("F1")
    assert row.inputs["e"] == "16/3 ≈ 5.333333" and row.inputs["median e"] == "13/3 ≈ 4.333333"
    # r_e = 16/13 → f = (1.5 − 16/13) / 0.5 = 7/13 → 2.5 × 7/13 + 2.5 (w at the median: full)
    assert row.earned == Fraction(35, 26) + Fraction(5, 2)
    assert all(type(r.row("F1").earned) is Fraction for r in results.values())
