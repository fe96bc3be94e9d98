"""The county fund report: a 5 schools × 3 months county, every figure computed by hand in the comments."""

from __future__ import annotations

from decimal import Decimal

import pytest

from district.nutrition.engine import FundSchool, build_fund_report, periods_between, ratio_half_up
from tests.factories import report_figures

# The county is the ``county_report`` fixture of conftest.py, each month's figures checked in its comments.
A, B, C, D, E = (f"610528000{i}" for i in range(1, 6))
WINDOW = ["2026-09", "2026-10", "2026-11"]

# fmt: off
# Per school, by hand. expected funds = Σ eligible × meal_days × rate.
SCHOOLS = {
    # A: days 20+22+21 = 63; meals 1950+2150+2000 = 6100; expected 10000+11000+10500 = 31500.00;
    #    food 9750+10750+9800 = 30300.00; utilisation 30300 / (500 + 31500) = 0.946875 → 0.9469;
    #    per meal 30300 / 6100 = 4.96721… → 4.97
    A: dict(months_participating=3, meal_days=63, meals_served=6100, expected_funds="31500.00",
            funds_received="31500.00", food_spend="30300.00", other_spend="0.00", opening_balance="500.00",
            closing_balance="1700.00", utilisation="0.9469", per_meal_spend="4.97", anomaly_count=1,
            supply_mode="canteen", participating_periods=["2026-09", "2026-10", "2026-11"]),
    # B: days 20+21 = 41; meals 4000+4100 = 8100; expected 20000+21000 = 41000.00; food 40500.00;
    #    utilisation 40500 / (0 + 41000) = 0.987804… → 0.9878; per meal 40500 / 8100 = 5.00
    B: dict(months_participating=2, meal_days=41, meals_served=8100, expected_funds="41000.00",
            funds_received="41000.00", food_spend="40500.00", other_spend="500.00", opening_balance="0.00",
            closing_balance="100.00", utilisation="0.9878", per_meal_spend="5.00", anomaly_count=3,
            supply_mode="enterprise", participating_periods=["2026-09", "2026-11"]),
    # C: days 41; meals 600+650 = 1250; expected 30×20×4.00 + 30×21×5.00 = 2400 + 3150 = 5550.00;
    #    food 5400.00; utilisation 5400 / 5550 = 0.972972… → 0.9730; per meal 5400 / 1250 = 4.32
    C: dict(months_participating=2, meal_days=41, meals_served=1250, expected_funds="5550.00",
            funds_received="5550.00", food_spend="5400.00", other_spend="0.00", opening_balance="0.00",
            closing_balance="150.00", utilisation="0.9730", per_meal_spend="4.32", anomaly_count=3,
            supply_mode="canteen", participating_periods=["2026-09", "2026-11"]),
    # D: days 63; meals 6000+6600+6300 = 18900; expected 30000+33000+31500 = 94500.00;
    #    food 29000+33000+31500 = 93500.00; utilisation 93500 / (1000 + 94500) = 0.979057… → 0.9791;
    #    per meal 93500 / 18900 = 4.94708… → 4.95
    D: dict(months_participating=3, meal_days=63, meals_served=18900, expected_funds="94500.00",
            funds_received="94500.00", food_spend="93500.00", other_spend="0.00", opening_balance="1000.00",
            closing_balance="2000.00", utilisation="0.9791", per_meal_spend="4.95", anomaly_count=2,
            supply_mode="enterprise", participating_periods=["2026-09", "2026-10", "2026-11"]),
}

TOWNSHIPS = [
    # 城关镇 (U+57CE) sorts before 庄里镇 (U+5E84). 城关镇 = D alone (E does not participate).
    dict(township="城关镇", schools=1, months_participating=3, meal_days=63, meals_served=18900,
         expected_funds="94500.00", funds_received="94500.00", food_spend="93500.00", other_spend="0.00",
         opening_balance="1000.00", closing_balance="2000.00", utilisation="0.9791", per_meal_spend="4.95",
         anomaly_count=2),
    # 庄里镇 = A+B+C: months 3+2+2 = 7; days 63+41+41 = 145; meals 6100+8100+1250 = 15450;
    # expected = received 31500+41000+5550 = 78050.00; food 30300+40500+5400 = 76200.00; opening 500+0+0;
    # closing 1700+100+150 = 1950.00; utilisation 76200 / (500 + 78050) = 0.970082… → 0.9701;
    # per meal 76200 / 15450 = 4.93203… → 4.93; anomalies 1+3+3 = 7
    dict(township="庄里镇", schools=3, months_participating=7, meal_days=145, meals_served=15450,
         expected_funds="78050.00", funds_received="78050.00", food_spend="76200.00", other_spend="500.00",
         opening_balance="500.00", closing_balance="1950.00", utilisation="0.9701", per_meal_spend="4.93",
         anomaly_count=7),
]

SUPPLY_MODES = [
    # canteen = A+C: months 5; days 104; meals 7350; expected 37050.00; food 35700.00; opening 500.00;
    # closing 1850.00; utilisation 35700 / 37550 = 0.950732… → 0.9507; per meal 35700 / 7350 = 4.857… → 4.86
    dict(supply_mode="canteen", schools=2, months_participating=5, meal_days=104, meals_served=7350,
         expected_funds="37050.00", funds_received="37050.00", food_spend="35700.00", other_spend="0.00",
         opening_balance="500.00", closing_balance="1850.00", utilisation="0.9507", per_meal_spend="4.86",
         anomaly_count=4),
    # enterprise = B+D (D by its latest month): months 5; days 104; meals 8100+18900 = 27000;
    # expected 41000+94500 = 135500.00; food 40500+93500 = 134000.00; other 500.00; opening 0+1000;
    # closing 100+2000 = 2100.00; utilisation 134000 / 136500 = 0.981684… → 0.9817;
    # per meal 134000 / 27000 = 4.96296… → 4.96
    dict(supply_mode="enterprise", schools=2, months_participating=5, meal_days=104, meals_served=27000,
         expected_funds="135500.00", funds_received="135500.00", food_spend="134000.00", other_spend="500.00",
         opening_balance="1000.00", closing_balance="2100.00", utilisation="0.9817", per_meal_spend="4.96",
         anomaly_count=5),
]

# County = A+B+C+D: months 10; days 208; meals 34350; expected = received 172550.00; food 169700.00;
# other 500.00; opening 1500.00; closing 3950.00; utilisation 169700 / (1500 + 172550) = 169700 / 174050
# = 0.975007… → 0.9750; per meal 169700 / 34350 = 4.94032… → 4.94; anomalies 9
COUNTY = dict(schools=4, months_participating=10, meal_days=208, meals_served=34350,
              expected_funds="172550.00", funds_received="172550.00", food_spend="169700.00",
              other_spend="500.00", opening_balance="1500.00", closing_balance="3950.00",
              utilisation="0.9750", per_meal_spend="4.94", anomaly_count=9)

ANOMALIES = [  # sorted by school code, period, code
    (A, "2026-11", "HIGH_BALANCE"),
    (B, "2026-11", "ACCOMPANY_GAP"),
    (B, "2026-11", "CARRY_OVER_MISMATCH"),
    (B, "2026-11", "MISUSE"),
    (C, "2026-09", "NONSTANDARD_RATE"),
    (C, "2026-11", "MEALS_EXCEED_ENTITLEMENT"),
    (C, "2026-11", "SAMPLE_GAP"),
    (D, "2026-10", "BALANCE_MISMATCH"),
    (D, "2026-11", "CARRY_OVER_MISMATCH"),
]
# fmt: on


def test_school_rows(county_report):
    rows = county_report.to_dict()["schools"]
    assert [r["school_code"] for r in rows] == [A, B, C, D]  # E never participated
    for row in rows:
        expected = SCHOOLS[row["school_code"]]
        assert {k: row[k] for k in expected} == expected, row["school_code"]


def test_revision_ids_trace_every_participating_month(county_report):
    row = county_report.to_dict()["schools"][1]
    assert row["revision_ids"] == {"2026-09": 209, "2026-11": 211}


def test_subtotals_and_county(county_report):
    data = county_report.to_dict()
    assert data["townships"] == TOWNSHIPS
    assert data["supply_modes"] == SUPPLY_MODES
    assert data["county"] == COUNTY


def test_anomaly_list_and_counts(county_report):
    data = county_report.to_dict()
    assert [(a["school_code"], a["period"], a["code"]) for a in data["anomalies"]] == ANOMALIES
    assert data["anomaly_counts"] == {
        "BALANCE_MISMATCH": 1,
        "MISUSE": 1,
        "CARRY_OVER_MISMATCH": 2,
        "MEALS_EXCEED_ENTITLEMENT": 1,
        "SPEND_EXCEEDS_MEALS": 0,
        "UNDERSPEND": 0,
        "HIGH_BALANCE": 1,
        "NONSTANDARD_RATE": 1,
        "ACCOMPANY_GAP": 1,
        "SAMPLE_GAP": 1,
    }
    by_key = {(a["school_code"], a["period"], a["code"]): a for a in data["anomalies"]}
    assert by_key[(B, "2026-11", "CARRY_OVER_MISMATCH")]["message"] == (
        "结转不符：上月结余 100.00 ≠ 2026-09 本月结余 0.00"
    )
    assert by_key[(D, "2026-11", "CARRY_OVER_MISMATCH")]["figures"] == {
        "opening_balance": "2000.00",
        "previous_period": "2026-10",
        "previous_closing_balance": "2100.00",
        "difference": "-100.00",
    }
    assert by_key[(D, "2026-10", "BALANCE_MISMATCH")]["message"] == (
        "账目不平：2000.00 + 33000.00 − 33000.00 − 0.00 = 2000.00 ≠ 2100.00"
    )


def test_non_reporting_schools(county_report):
    assert county_report.to_dict()["non_reporting"] == [
        {
            "school_code": C,
            "school_name": "庄里镇东村教学点",
            "school_type": "teaching_point",
            "township": "庄里镇",
            "missing_periods": ["2026-10"],
        },
        {
            "school_code": E,
            "school_name": "城关镇中学",
            "school_type": "junior",
            "township": "城关镇",
            "missing_periods": ["2026-11"],
        },
    ]


def test_report_header(county_report):
    data = county_report.to_dict("en")
    assert {k: data[k] for k in ("standard", "county_code", "county_name", "window_from", "window_to")} == {
        "standard": "houqin/monthly-report@1",
        "county_code": "610528",
        "county_name": "富平县",
        "window_from": "2026-09",
        "window_to": "2026-11",
    }
    assert data["standard_rate"] == "5.00"
    assert data["generated_at"] == "2026-12-06T10:30:00+08:00"
    assert data["anomalies"][0]["message"].startswith("Funds left unspent: ")


def test_carry_over_across_a_non_participating_month(make_month, make_not_participating):
    month, not_participating = make_month, make_not_participating

    def school(november_opening: str) -> FundSchool:
        return FundSchool(
            A, "甲校", "primary", "庄里镇", None,
            [
                month(A, "2026-09", days=20, eligible=100, meals=1950, opening="500.00",
                      received="10000.00", food="9750.00", closing="750.00"),
                not_participating(A, "2026-10"),
                month(A, "2026-11", days=20, eligible=100, meals=1950, opening=november_opening,
                      received="10000.00", food="9750.00",
                      closing=str(Decimal(november_opening) + Decimal("250.00"))),
            ],
            None, WINDOW,
        )  # fmt: skip

    def codes(opening: str) -> list[tuple[str, str]]:
        rep = build_fund_report(
            "610528", "富平县", "2026-09", "2026-11", [school(opening)], standard_rate=Decimal("5.00")
        )
        return [(a.period, a.code) for a in rep.anomalies]

    # September's closing 750.00 carries over to November, October (not participating) is skipped
    assert codes("750.00") == []
    assert codes("750.01") == []  # within the 0.01 tolerance
    assert codes("700.00") == [("2026-11", "CARRY_OVER_MISMATCH")]
    rep = build_fund_report("610528", "富平县", "2026-09", "2026-11", [school("700.00")], standard_rate=Decimal("5.00"))
    assert rep.anomalies[0].figures["previous_period"] == "2026-09"
    # utilisation = (9750 + 9750) / (500 + 20000) = 19500 / 20500 = 0.951219… → 0.9512; closing 700 + 250
    row = rep.to_dict()["schools"][0]
    assert (row["utilisation"], row["opening_balance"], row["closing_balance"]) == (
        "0.9512",
        "500.00",
        "950.00",
    )


def test_carry_over_across_break_months_and_from_before_the_window(make_month, make_report):
    month = make_month
    # window 2026-06..2026-09; July and August are break months (not expected, no report)
    school = FundSchool(
        A, "甲校", "primary", "庄里镇", None,
        [
            month(A, "2026-06", days=20, eligible=100, meals=1950, opening="400.00",
                  received="10000.00", food="9750.00", closing="650.00"),
            month(A, "2026-09", days=20, eligible=100, meals=1950, opening="600.00",
                  received="10000.00", food="9750.00", closing="850.00"),
        ],
        report_figures(make_report(A, "2026-05", closing_balance="500.00")),
        ["2026-06", "2026-09"],
    )  # fmt: skip
    rep = build_fund_report("610528", "富平县", "2026-06", "2026-09", [school], standard_rate=Decimal("5.00"))
    assert [(a.period, a.code, a.figures["previous_period"]) for a in rep.anomalies] == [
        ("2026-06", "CARRY_OVER_MISMATCH", "2026-05"),  # 400.00 ≠ May's 500.00
        ("2026-09", "CARRY_OVER_MISMATCH", "2026-06"),  # 600.00 ≠ June's 650.00
    ]
    assert rep.non_reporting == ()


def test_zero_denominators_give_null_ratios(make_month):
    month = make_month
    # a participating month with no meal days, no money: utilisation and per-meal spend are null
    school = FundSchool(
        A, "甲校", "primary", "庄里镇", None,
        [month(A, "2026-09", days=0, eligible=100, meals=0, opening="0.00", received="0.00", food="0.00",
               closing="0.00")],
        None, ["2026-09"],
    )  # fmt: skip
    rep = build_fund_report("610528", "富平县", "2026-09", "2026-09", [school], standard_rate=Decimal("5.00"))
    data = rep.to_dict()
    assert (data["schools"][0]["utilisation"], data["schools"][0]["per_meal_spend"]) == (None, None)
    assert (data["county"]["utilisation"], data["county"]["per_meal_spend"]) == (None, None)
    assert data["anomalies"] == []


def test_empty_county():
    rep = build_fund_report("610528", "富平县", "2026-09", "2026-11", [], standard_rate=Decimal("5.00"))
    data = rep.to_dict()
    assert data["schools"] == data["townships"] == data["supply_modes"] == data["anomalies"] == []
    assert data["county"]["schools"] == 0 and data["county"]["food_spend"] == "0.00"


def test_inconsistent_input_is_refused(make_not_participating):
    not_participating = make_not_participating
    bad_month = FundSchool(A, "甲校", "primary", "庄里镇", None, [not_participating(A, "2026-12")], None, WINDOW)
    with pytest.raises(ValueError, match="outside the window"):
        build_fund_report("610528", "富平县", "2026-09", "2026-11", [bad_month], standard_rate=Decimal("5.00"))
    unordered = FundSchool(
        A, "甲校", "primary", "庄里镇", None,
        [not_participating(A, "2026-10"), not_participating(A, "2026-09")], None, WINDOW,
    )  # fmt: skip
    with pytest.raises(ValueError, match="ascending"):
        build_fund_report("610528", "富平县", "2026-09", "2026-11", [unordered], standard_rate=Decimal("5.00"))
    other_school = FundSchool(B, "乙校", "primary", "庄里镇", None, [not_participating(A, "2026-09")], None, WINDOW)
    with pytest.raises(ValueError, match="is not of"):
        build_fund_report("610528", "富平县", "2026-09", "2026-11", [other_school], standard_rate=Decimal("5.00"))
    with pytest.raises(ValueError, match="ends before"):
        build_fund_report("610528", "富平县", "2026-11", "2026-09", [], standard_rate=Decimal("5.00"))


def test_ratio_half_up_is_exact():
    assert ratio_half_up(1, 8, 2) == Decimal("0.13")  # 0.125: half up, not half even
    assert ratio_half_up(Decimal("30300"), Decimal("32000"), 4) == Decimal("0.9469")  # 0.946875
    assert ratio_half_up(5, 0, 2) is None
    assert periods_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
