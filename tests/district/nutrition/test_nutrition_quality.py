"""Modified z-score outlier warnings (Iglewicz–Hoaglin), figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from district.nutrition.quality import modified_z_scores, period_quality_warnings


def test_skewed_electricity_flags_the_far_schools_only(make_report):
    # kWh per student (100 students each): 10 11 12 12 13 14 15 30 80 — right-skewed.
    # median 13; |x − 13| = 3 2 1 1 0 1 2 17 67 → sorted 0 1 1 1 2 2 3 17 67 → MAD 2.
    # M(30) = 0.6745 × 17 / 2 = 5.73325 > 3.5; M(80) = 0.6745 × 67 / 2 = 22.59575 > 3.5;
    # M(10) = 0.6745 × −3 / 2 = −1.01175. (A mean/SD test would miss 30: mean 21.89, SD ≈ 22.0, z ≈ 0.37.)
    per_student = [10, 11, 12, 12, 13, 14, 15, 30, 80]
    reports = [
        make_report(f"61052800{i:02d}", electricity_kwh=f"{v * 100}.0", students=100)
        for i, v in enumerate(per_student, start=1)
    ]
    # water (1.0 per student), meals per eligible student (19.5) and spend per meal (5.00) are all equal:
    # MAD 0, no flags.
    assert period_quality_warnings("2026-09", reports) == [
        {
            "school_code": "6105280008",
            "period": "2026-09",
            "metric": "electricity_kwh_per_student",
            "value": "30.0000",
            "median": "13.0000",
            "modified_z": "5.73",
        },
        {
            "school_code": "6105280009",
            "period": "2026-09",
            "metric": "electricity_kwh_per_student",
            "value": "80.0000",
            "median": "13.0000",
            "modified_z": "22.60",
        },
    ]


def test_per_meal_spend_low_and_high(make_report):
    # spend per meal (1000 meals each): 4.80 4.85 4.90 4.95 5.00 5.00 9.50 and a school at 1.00
    # sorted 1.00 4.80 4.85 4.90 4.95 5.00 5.00 9.50 → median (4.90 + 4.95) / 2 = 4.925
    # |x − 4.925| = 3.925 0.125 0.075 0.025 0.025 0.075 0.075 4.575 → sorted 0.025 0.025 0.075 0.075 0.075
    # 0.125 3.925 4.575 → MAD (0.075 + 0.075) / 2 = 0.075
    # M(9.50) = 0.6745 × 4.575 / 0.075 = 41.1445; M(1.00) = 0.6745 × −3.925 / 0.075 = −35.29883…
    # M(4.80) = 0.6745 × −0.125 / 0.075 = −1.124…
    spends = ["4800.00", "4850.00", "4900.00", "4950.00", "5000.00", "5000.00", "9500.00", "1000.00"]
    reports = [make_report(f"61052800{i:02d}", meals_served=1000, food_spend=s) for i, s in enumerate(spends, start=1)]
    reports.append(make_report("6105280099", participating=False))  # no nutrition figures: not in the set
    warnings = [w for w in period_quality_warnings("2026-09", reports) if w["metric"] == "per_meal_spend"]
    assert [(w["school_code"], w["value"], w["median"], w["modified_z"]) for w in warnings] == [
        ("6105280007", "9.5000", "4.9250", "41.14"),
        ("6105280008", "1.0000", "4.9250", "-35.30"),
    ]


def test_mad_zero_gives_no_flags():
    # 1 1 1 1 50: median 1, deviations 0 0 0 0 49 → MAD 0
    median, mad, scores = modified_z_scores([Decimal(v) for v in (1, 1, 1, 1, 50)])
    assert (median, mad, scores) == (Decimal(1), Decimal(0), [None] * 5)
    assert modified_z_scores([]) == (Decimal(0), Decimal(0), [])


@pytest.mark.parametrize(("x", "flagged"), [("6.18", None), ("6.19", "3.50")])
def test_threshold_3_5(make_report, x, flagged):
    # per student 0 0 1 1 2 2 x: median 1; deviations 1 1 0 0 1 1 (x − 1) → MAD 1;
    # M(6.18) = 0.6745 × 5.18 = 3.49391 (kept); M(6.19) = 0.6745 × 5.19 = 3.500655 (flagged, shown 3.50)
    values = ["0", "0", "1", "1", "2", "2", x]
    reports = [
        make_report(f"61052800{i:02d}", students=100, electricity_kwh=f"{Decimal(v) * 100:.1f}")
        for i, v in enumerate(values, start=1)
    ]
    warnings = period_quality_warnings("2026-09", reports)
    assert [w["modified_z"] for w in warnings] == ([] if flagged is None else [flagged])


def test_reports_of_another_period_or_twice_are_refused(make_report):
    with pytest.raises(ValueError, match="not 2026-10"):
        period_quality_warnings("2026-10", [make_report()])
    with pytest.raises(ValueError, match="more than one report"):
        period_quality_warnings("2026-09", [make_report(), make_report()])
