"""One hand-computed month per anomaly code of SCORING.md "营养餐 fund reconciliation"."""

from __future__ import annotations

from decimal import Decimal

import pytest

from district.nutrition.anomalies import (
    ANOMALY_CODES,
    FUND_COMPLIANCE_CODES,
    Anomaly,
    chain_anomaly_codes,
    format_amount,
)
from district.reports.figures import figures_json, load_figures
from tests.district.nutrition.conftest import anomalies_of


def codes(anomalies: list[Anomaly]) -> list[str]:
    return [a.code for a in anomalies]


def only(anomalies: list[Anomaly], code: str) -> Anomaly:
    assert codes(anomalies) == [code]
    return anomalies[0]


def test_codes_are_the_spec_table_in_order():
    assert list(ANOMALY_CODES) == [
        "BALANCE_MISMATCH",
        "MISUSE",
        "CARRY_OVER_MISMATCH",
        "MEALS_EXCEED_ENTITLEMENT",
        "SPEND_EXCEEDS_MEALS",
        "UNDERSPEND",
        "HIGH_BALANCE",
        "NONSTANDARD_RATE",
        "ACCOMPANY_GAP",
        "SAMPLE_GAP",
        # the stock table of SCORING.md's additions for @2
        "SPEND_EXCEEDS_CONSUMPTION",
        "STOCK_CARRY_OVER_MISMATCH",
        "STOCK_NOT_CHECKED",
    ]
    assert [n.zh for n in ANOMALY_CODES.values()] == [
        "账目不平",
        "挪用补助资金",
        "结转不符",
        "供餐人次超标",
        "支出超过供餐应支",
        "餐标不足",
        "资金沉淀",
        "补助标准不符",
        "陪餐不足",
        "留样不足",
        "补助支出超过食材消耗",
        "库存结转不符",
        "未盘点",
    ]
    assert FUND_COMPLIANCE_CODES == ("MISUSE", "BALANCE_MISMATCH", "CARRY_OVER_MISMATCH")


def test_example_report_has_only_sample_gap(example_report):
    # 2986.00 + 67235.00 − 65305.35 − 0.00 = 4915.65 (balanced); 13193 ≤ 791 × 17 = 13447;
    # 65305.35 ≤ 13193 × 5.00 = 65965.00 and ≥ 0.9 × 65965.00 = 59368.50; 4915.65 ≤ 0.10 × 70221.00 = 7022.10;
    # rate 5.00; accompany 17 = meal days; samples 15 < 17 → SAMPLE_GAP only.
    a = only(anomalies_of(example_report, None), "SAMPLE_GAP")
    assert a.to_dict() == {
        "school_code": "6105260012",
        "period": "2026-09",
        "code": "SAMPLE_GAP",
        "message": "留样不足：留样合规 15 天 < 供餐 17 天",
        "figures": {"sample_retention_days": "15", "meal_days": "17", "shortfall_days": "2"},
        "sentence": "供餐 17 天，留样合规的只有 15 天，少 2 天",
    }
    assert a.to_dict("en")["message"] == "Food samples short: compliant food samples on 15 days < 17 meal days"


def test_clean_month_and_non_participating_month(make_report):
    assert anomalies_of(make_report(), None) == []
    assert anomalies_of(make_report(participating=False), make_report(period="2026-08")) == []


def test_balance_mismatch(make_report):
    # 1200.00 + 81900.00 − 80650.50 − 0.00 = 2449.50, reported 2487.00: off by 37.50.
    # (16131 ≤ 820 × 20 = 16400; 80650.50 ≤ 16131 × 5 = 80655.00; 2487.00 ≤ 0.10 × 83100.00 = 8310.00)
    report = make_report(
        eligible_students=820,
        meals_served=16131,
        opening_balance="1200.00",
        funds_received="81900.00",
        food_spend="80650.50",
        closing_balance="2487.00",
    )
    a = only(anomalies_of(report, None), "BALANCE_MISMATCH")
    assert a.zh == "账目不平：1200.00 + 81900.00 − 80650.50 − 0.00 = 2449.50 ≠ 2487.00"
    assert a.en == "Balance mismatch: 1200.00 + 81900.00 − 80650.50 − 0.00 = 2449.50 ≠ 2487.00"
    assert a.figures == {
        "opening_balance": "1200.00",
        "funds_received": "81900.00",
        "food_spend": "80650.50",
        "other_spend": "0.00",
        "closing_balance": "2487.00",
        "expected_closing": "2449.50",
        "difference": "37.50",
    }


@pytest.mark.parametrize(
    ("closing", "flagged"),
    [("750.01", False), ("749.99", False), ("750.02", True), ("749.98", True)],
)
def test_balance_tolerance_boundary(make_report, closing, flagged):
    # expected closing 500.00 + 10000.00 − 9750.00 − 0.00 = 750.00; |diff| 0.01 passes, 0.02 fails
    assert codes(anomalies_of(make_report(closing_balance=closing), None)) == (["BALANCE_MISMATCH"] if flagged else [])


def test_misuse(make_report):
    # 500.00 + 10000.00 − 9450.00 − 300.00 = 750.00 (balanced); 9450.00 ≥ 0.9 × 9750.00 = 8775.00
    a = only(
        anomalies_of(make_report(food_spend="9450.00", other_spend="300.00"), None),
        "MISUSE",
    )
    assert a.zh == "挪用补助资金：补助资金用于食材以外的支出 300.00 元 > 0.00"
    assert a.en == "Misuse of subsidy funds: non-food spending from the subsidy 300.00 yuan > 0.00"
    assert a.figures == {"other_spend": "300.00"}


def test_misuse_has_no_tolerance(make_report):
    # one fen of misuse is misuse: 500.00 + 10000.00 − 9750.00 − 0.01 = 749.99
    report = make_report(other_spend="0.01", closing_balance="749.99")
    assert only(anomalies_of(report, None), "MISUSE").figures == {"other_spend": "0.01"}


def test_carry_over_mismatch(make_report):
    previous = make_report(period="2026-08", closing_balance="480.00", food_spend="10020.00")
    a = only(anomalies_of(make_report(), previous), "CARRY_OVER_MISMATCH")
    assert a.zh == "结转不符：上月结余 500.00 ≠ 2026-08 本月结余 480.00"
    assert a.en == "Carry-over mismatch: opening balance 500.00 ≠ closing balance 480.00 of 2026-08"
    assert a.figures == {
        "opening_balance": "500.00",
        "previous_period": "2026-08",
        "previous_closing_balance": "480.00",
        "difference": "20.00",
    }
    # not checked without a previous participating report
    assert anomalies_of(make_report(), None) == []


@pytest.mark.parametrize(("prev_closing", "flagged"), [("499.99", False), ("500.01", False), ("499.98", True)])
def test_carry_over_tolerance_boundary(make_report, prev_closing, flagged):
    # a previous month's own balance does not matter here; only its closing_balance is compared
    previous = make_report(period="2026-06", closing_balance=prev_closing)
    found = [a.code for a in anomalies_of(make_report(), previous) if a.code == "CARRY_OVER_MISMATCH"]
    assert found == (["CARRY_OVER_MISMATCH"] if flagged else [])


def test_carry_over_refuses_a_wrong_previous(make_report):
    with pytest.raises(ValueError, match="not a participating report"):
        anomalies_of(make_report(), make_report(period="2026-08", participating=False))
    with pytest.raises(ValueError, match="not before"):
        anomalies_of(make_report(), make_report(period="2026-09"))
    with pytest.raises(ValueError, match="of school"):
        anomalies_of(make_report(), make_report("6105280002", "2026-08"))


def test_meals_exceed_entitlement(make_report):
    # 1950 > 90 × 20 = 1800
    a = only(anomalies_of(make_report(eligible_students=90), None), "MEALS_EXCEED_ENTITLEMENT")
    assert a.zh == "供餐人次超标：实际供餐 1950 人次 > 90 人 × 20 天 = 1800 人次"
    assert a.en == "Meals exceed entitlement: 1950 meals served > 90 students × 20 days = 1800 meals"
    assert a.figures == {
        "meals_served": "1950",
        "eligible_students": "90",
        "meal_days": "20",
        "entitled_meals": "1800",
    }
    # 1960 = 98 × 20: equality is allowed (1960 × 5.00 = 9800.00 ≥ 9750.00 ≥ 0.9 × 9800.00 = 8820.00)
    assert anomalies_of(make_report(eligible_students=98, meals_served=1960, food_spend="9750.00"), None) == []


def test_spend_exceeds_meals(make_report):
    # 9750.01 > 1950 × 5.00 = 9750.00 (exact: no tolerance on an inequality); balance 749.99 kept
    a = only(
        anomalies_of(make_report(food_spend="9750.01", closing_balance="749.99"), None),
        "SPEND_EXCEEDS_MEALS",
    )
    assert a.zh == "支出超过供餐应支：食材支出 9750.01 > 1950 人次 × 5.00 = 9750.00"
    assert a.en == "Spending exceeds meals served: food spending 9750.01 > 1950 meals × 5.00 = 9750.00"
    assert a.figures == {
        "food_spend": "9750.01",
        "meals_served": "1950",
        "subsidy_rate": "5.00",
        "allowed_spend": "9750.00",
    }


def test_underspend(make_report):
    # 8774.99 < 0.9 × 1950 × 5.00 = 8775.00; 0.00 + 8800.00 − 8774.99 = 25.01 ≤ 0.10 × 8800.00
    report = make_report(
        opening_balance="0.00", funds_received="8800.00", food_spend="8774.99", closing_balance="25.01"
    )
    a = only(anomalies_of(report, None), "UNDERSPEND")
    assert a.zh == "餐标不足：食材支出 8774.99 < 0.9 × 1950 人次 × 5.00 = 8775.00"
    assert a.en == "Underspending on meals: food spending 8774.99 < 0.9 × 1950 meals × 5.00 = 8775.00"
    assert a.figures == {
        "food_spend": "8774.99",
        "meals_served": "1950",
        "subsidy_rate": "5.00",
        "minimum_spend": "8775.00",
    }
    # exactly 0.9 × … is not underspending
    at_limit = make_report(
        opening_balance="0.00", funds_received="8800.00", food_spend="8775.00", closing_balance="25.00"
    )
    assert anomalies_of(at_limit, None) == []


def test_high_balance_shows_an_exact_three_decimal_limit(make_report):
    # 0.00 + 7022.05 − 6319.84 = 702.21 > 0.10 × (0.00 + 7022.05) = 702.205;
    # 6319.84 ≤ 1264 × 5.00 = 6320.00 and ≥ 0.9 × 6320.00 = 5688.00; 1264 ≤ 100 × 20
    report = make_report(
        meals_served=1264,
        opening_balance="0.00",
        funds_received="7022.05",
        food_spend="6319.84",
        closing_balance="702.21",
    )
    a = only(anomalies_of(report, None), "HIGH_BALANCE")
    assert a.zh == "资金沉淀：本月结余 702.21 > 0.10 × (0.00 + 7022.05) = 702.205"
    assert a.en == "Funds left unspent: closing balance 702.21 > 0.10 × (0.00 + 7022.05) = 702.205"
    assert a.figures == {
        "closing_balance": "702.21",
        "opening_balance": "0.00",
        "funds_received": "7022.05",
        "balance_limit": "702.205",
    }
    # 702.20 < 702.205: compared exactly, not flagged (0.00 + 7022.05 − 6319.85 = 702.20)
    below = make_report(
        meals_served=1264,
        opening_balance="0.00",
        funds_received="7022.05",
        food_spend="6319.85",
        closing_balance="702.20",
    )
    assert anomalies_of(below, None) == []


def test_nonstandard_rate(make_report):
    # rate 4.00: 1950 × 4.00 = 7800.00 = food; 500.00 + 8000.00 − 7800.00 = 700.00 ≤ 850.00
    report = make_report(subsidy_rate="4.00", funds_received="8000.00", food_spend="7800.00", closing_balance="700.00")
    a = only(anomalies_of(report, None), "NONSTANDARD_RATE")
    assert a.zh == "补助标准不符：补助标准 4.00 元/生/天 ≠ 县定标准 5.00 元/生/天"
    assert a.en == "Non-standard subsidy rate: subsidy rate 4.00 yuan per student-day ≠ county standard 5.00"
    assert a.figures == {"subsidy_rate": "4.00", "standard_rate": "5.00"}
    # a county whose configured standard is 4.00
    assert anomalies_of(report, None, standard_rate=Decimal("4.00")) == []


@pytest.mark.parametrize(("rate", "flagged"), [("5.01", False), ("4.99", False), ("5.02", True)])
def test_rate_tolerance_boundary(make_report, rate, flagged):
    # 1950 × 5.02 = 9789.00 ≥ 9750.00 ≥ 0.9 × 9789.00 = 8810.10; 1950 × 4.99 = 9730.50 < 9750.00 though
    found = [a.code for a in anomalies_of(make_report(subsidy_rate=rate), None) if a.code == "NONSTANDARD_RATE"]
    assert found == (["NONSTANDARD_RATE"] if flagged else [])


def test_accompany_gap(make_report):
    a = only(anomalies_of(make_report(accompany_meal_days=18), None), "ACCOMPANY_GAP")
    assert a.zh == "陪餐不足：陪餐 18 天 < 供餐 20 天"
    assert a.en == "Accompanied meals short: accompanied meals on 18 days < 20 meal days"
    assert a.figures == {"accompany_meal_days": "18", "meal_days": "20", "shortfall_days": "2"}


def test_sample_gap(make_report):
    a = only(anomalies_of(make_report(sample_retention_days=15), None), "SAMPLE_GAP")
    assert a.zh == "留样不足：留样合规 15 天 < 供餐 20 天"
    assert a.figures == {"sample_retention_days": "15", "meal_days": "20", "shortfall_days": "5"}


def test_several_anomalies_come_in_table_order(make_report):
    report = make_report(
        other_spend="100.00",  # MISUSE, and 500 + 10000 − 9750 − 100 = 650.00 ≠ 750.00
        accompany_meal_days=10,
        sample_retention_days=19,
    )
    previous = make_report(period="2026-08", closing_balance="0.00")
    assert codes(anomalies_of(report, previous)) == [
        "BALANCE_MISMATCH",
        "MISUSE",
        "CARRY_OVER_MISMATCH",
        "ACCOMPANY_GAP",
        "SAMPLE_GAP",
    ]


def test_money_must_be_a_decimal_string(make_report):
    with pytest.raises(TypeError, match="decimal string"):
        anomalies_of(make_report(food_spend=9750.0), None)
    with pytest.raises(ValueError, match="not a money string"):
        anomalies_of(make_report(food_spend="9,750.00"), None)


def test_format_amount():
    assert format_amount(Decimal("7022.1")) == "7022.10"
    assert format_amount(Decimal("8775.000")) == "8775.00"
    assert format_amount(Decimal("702.205")) == "702.205"
    assert format_amount(Decimal("0")) == "0.00"


def test_chain_codes_are_month_anomalies_codes_month_by_month(make_report):
    """``chain_anomaly_codes`` (scoring's C4, on the months' figures as stored at ingestion) gives, for each month,
    the codes ``month_anomalies`` gives the parsed report with the month before as the carry-over basis; with
    ``only`` the same codes filtered, in the same order."""
    months = [
        make_report(period="2026-03"),  # clean: opening 500 + 10000 − 9750 = closing 750
        make_report(period="2026-04", opening_balance="750.00", other_spend="10.00", closing_balance="740.00"),
        make_report(period="2026-05", opening_balance="700.00", closing_balance="950.00"),  # carry-over 740 ≠ 700
        make_report(period="2026-06", opening_balance="950.00", meals_served=2100, closing_balance="1200.00"),
        make_report(period="2026-09", opening_balance="1200.00", subsidy_rate="4.00", closing_balance="1400.00"),
    ]
    before = make_report(period="2026-02", closing_balance="500.01")
    for previous in (None, before):
        expected, prev = [], previous
        for report in months:
            expected.append(codes(anomalies_of(report, prev, standard_rate=Decimal("5.00"))))
            prev = report
        figures, basis = [stored(m) for m in months], None if previous is None else stored(previous)
        assert chain_anomaly_codes(figures, basis, standard_rate=Decimal("5.00")) == expected
        assert any(expected) and any("CARRY_OVER_MISMATCH" in c for c in expected)
        assert chain_anomaly_codes(figures, basis, only=FUND_COMPLIANCE_CODES) == [
            [c for c in month if c in FUND_COMPLIANCE_CODES] for month in expected
        ]
    with pytest.raises(ValueError, match="not before"):
        chain_anomaly_codes([stored(months[1])], stored(months[2]))
    with pytest.raises(ValueError, match="period order"):
        chain_anomaly_codes([stored(months[1]), stored(months[0])], None)
    with pytest.raises(ValueError, match="one school"):
        chain_anomaly_codes([stored(months[0]), stored(make_report("6105280002", "2026-04"))], None)
    with pytest.raises(ValueError, match="not a participating"):
        chain_anomaly_codes([stored(make_report(period="2026-03", participating=False))], None)


def stored(report):
    """The report's figures as ingestion stores them and scoring reads them back (JSON both ways)."""
    return load_figures(figures_json(report))
