"""The fund report from the database: reports submitted through the signed API, every figure by hand.

The county is ``fund_scenario`` (conftest.py), each month checked in its comments. Runs on SQLite and, with
HOUQIN_TEST_POSTGRES_URL, on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from district import clock
from district.nutrition import services
from district.reports.feedback import previous_participating
from district.reports.models import ReportHead
from tests.district.nutrition.conftest import fund

S1, S2, S3, S4, S5, S6 = (f"610528000{i}" for i in range(1, 7))
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)

# fmt: off
# Per school over 2026-09..2026-11. expected funds = Σ eligible × meal_days × rate.
ROWS = {
    # 0001: days 20+22+21 = 63; meals 1950+2150+2000 = 6100; expected 10000+11000+10500 = 31500.00;
    #   food 9750+10750 (revision 2)+9800 = 30300.00; opening 500.00 (Sept.), closing 1700.00 (Nov.);
    #   utilisation 30300 / (500 + 31500) = 0.946875 → 0.9469; per meal 30300 / 6100 = 4.9672… → 4.97
    S1: dict(school_name="庄里镇中心小学", school_type="primary", township="庄里镇", supply_mode="canteen",
             participating_periods=["2026-09", "2026-10", "2026-11"], months_participating=3, meal_days=63,
             meals_served=6100, expected_funds="31500.00", funds_received="31500.00", food_spend="30300.00",
             other_spend="0.00", opening_balance="500.00", closing_balance="1700.00", utilisation="0.9469",
             per_meal_spend="4.97", anomaly_count=1),
    # 0002: days 20+21 = 41; meals 4000+4100 = 8100; expected 20000+21000 = 41000.00; food 40500.00;
    #   other 500.00; utilisation 40500 / (0 + 41000) = 0.98780… → 0.9878; per meal 40500 / 8100 = 5.00
    S2: dict(school_name="庄里镇初级中学", school_type="junior", township="庄里镇", supply_mode="enterprise",
             participating_periods=["2026-09", "2026-11"], months_participating=2, meal_days=41,
             meals_served=8100, expected_funds="41000.00", funds_received="41000.00", food_spend="40500.00",
             other_spend="500.00", opening_balance="0.00", closing_balance="100.00", utilisation="0.9878",
             per_meal_spend="5.00", anomaly_count=3),
    # 0004: days 22+21 = 43; meals 6600+6300 = 12900; expected 33000+31500 = 64500.00; food 64500.00;
    #   opening 0.00, closing 0.00; utilisation 64500 / 64500 = 1.0000; per meal 64500 / 12900 = 5.00
    S4: dict(school_name="城关新区小学", school_type="primary", township="城关街道", supply_mode="mixed",
             participating_periods=["2026-10", "2026-11"], months_participating=2, meal_days=43,
             meals_served=12900, expected_funds="64500.00", funds_received="64500.00", food_spend="64500.00",
             other_spend="0.00", opening_balance="0.00", closing_balance="0.00", utilisation="1.0000",
             per_meal_spend="5.00", anomaly_count=2),
    # 0005: days 41; meals 600+650 = 1250; expected 30×20×4.00 + 30×21×5.00 = 2400 + 3150 = 5550.00;
    #   food 5550.00; opening 200.00, closing 200.00; utilisation 5550 / (200 + 5550) = 0.96521… → 0.9652;
    #   per meal 5550 / 1250 = 4.44
    S5: dict(school_name="城关第二小学", school_type="primary", township="城关街道", supply_mode="canteen",
             participating_periods=["2026-09", "2026-11"], months_participating=2, meal_days=41,
             meals_served=1250, expected_funds="5550.00", funds_received="5550.00", food_spend="5550.00",
             other_spend="0.00", opening_balance="200.00", closing_balance="200.00", utilisation="0.9652",
             per_meal_spend="4.44", anomaly_count=3),
}

TOWNSHIPS = [
    # 城关街道 (U+57CE) sorts before 庄里镇 (U+5E84). 城关街道 = 0004 + 0005: months 4; days 84; meals 14150;
    # expected = received = food 70050.00; opening 200.00; closing 200.00;
    # utilisation 70050 / 70250 = 0.997153… → 0.9972; per meal 70050 / 14150 = 4.9505… → 4.95; anomalies 5
    dict(township="城关街道", schools=2, months_participating=4, meal_days=84, meals_served=14150,
         expected_funds="70050.00", funds_received="70050.00", food_spend="70050.00", other_spend="0.00",
         opening_balance="200.00", closing_balance="200.00", utilisation="0.9972", per_meal_spend="4.95",
         anomaly_count=5),
    # 庄里镇 = 0001 + 0002 (0006 never participated): months 5; days 104; meals 14200; expected = received
    # 72500.00; food 70800.00; other 500.00; opening 500.00; closing 1800.00;
    # utilisation 70800 / 73000 = 0.969863… → 0.9699; per meal 70800 / 14200 = 4.9859… → 4.99; anomalies 4
    dict(township="庄里镇", schools=2, months_participating=5, meal_days=104, meals_served=14200,
         expected_funds="72500.00", funds_received="72500.00", food_spend="70800.00", other_spend="500.00",
         opening_balance="500.00", closing_balance="1800.00", utilisation="0.9699", per_meal_spend="4.99",
         anomaly_count=4),
]

SUPPLY_MODES = [
    # canteen = 0001 + 0005: months 5; days 104; meals 7350; expected = received 37050.00; food 35850.00;
    # opening 700.00; closing 1900.00; utilisation 35850 / 37750 = 0.949668… → 0.9497;
    # per meal 35850 / 7350 = 4.8775… → 4.88; anomalies 4
    dict(supply_mode="canteen", schools=2, months_participating=5, meal_days=104, meals_served=7350,
         expected_funds="37050.00", funds_received="37050.00", food_spend="35850.00", other_spend="0.00",
         opening_balance="700.00", closing_balance="1900.00", utilisation="0.9497", per_meal_spend="4.88",
         anomaly_count=4),
    dict(supply_mode="enterprise", schools=1, months_participating=2, meal_days=41, meals_served=8100,
         expected_funds="41000.00", funds_received="41000.00", food_spend="40500.00", other_spend="500.00",
         opening_balance="0.00", closing_balance="100.00", utilisation="0.9878", per_meal_spend="5.00",
         anomaly_count=3),
    dict(supply_mode="mixed", schools=1, months_participating=2, meal_days=43, meals_served=12900,
         expected_funds="64500.00", funds_received="64500.00", food_spend="64500.00", other_spend="0.00",
         opening_balance="0.00", closing_balance="0.00", utilisation="1.0000", per_meal_spend="5.00",
         anomaly_count=2),
]

# County = 0001 + 0002 + 0004 + 0005: months 9; days 63+41+43+41 = 188; meals 6100+8100+12900+1250 = 28350;
# expected = received 31500+41000+64500+5550 = 142550.00; food 30300+40500+64500+5550 = 140850.00;
# other 500.00; opening 500+0+0+200 = 700.00; closing 1700+100+0+200 = 2000.00;
# utilisation 140850 / (700 + 142550) = 140850 / 143250 = 0.983246… → 0.9832;
# per meal 140850 / 28350 = 4.96825… → 4.97; anomalies 1+3+2+3 = 9
COUNTY = dict(schools=4, months_participating=9, meal_days=188, meals_served=28350,
              expected_funds="142550.00", funds_received="142550.00", food_spend="140850.00",
              other_spend="500.00", opening_balance="700.00", closing_balance="2000.00",
              utilisation="0.9832", per_meal_spend="4.97", anomaly_count=9)

ANOMALIES = [  # (school, period, code), sorted so
    (S1, "2026-11", "HIGH_BALANCE"),
    (S2, "2026-11", "ACCOMPANY_GAP"),
    (S2, "2026-11", "CARRY_OVER_MISMATCH"),
    (S2, "2026-11", "MISUSE"),
    (S4, "2026-10", "BALANCE_MISMATCH"),
    (S4, "2026-11", "CARRY_OVER_MISMATCH"),
    (S5, "2026-09", "NONSTANDARD_RATE"),
    (S5, "2026-11", "MEALS_EXCEED_ENTITLEMENT"),
    (S5, "2026-11", "SAMPLE_GAP"),
]

NON_REPORTING = [
    # 0004 opened 2026-10-01: not expected in September, reported Oct. and Nov.; 0003 closed 2026-06-30.
    dict(school_code=S5, school_name="城关第二小学", school_type="primary", township="城关街道",
         missing_periods=["2026-10"]),
    dict(school_code=S6, school_name="庄里镇东村教学点", school_type="teaching_point", township="庄里镇",
         missing_periods=["2026-11"]),
]
# fmt: on


@pytest.fixture
def report_data(session: Any, fund_scenario: Any) -> dict[str, Any]:
    return services.fund_report(session, "610528", "2026-09", "2026-11", now=NOW).to_dict()


def test_every_figure_by_hand(report_data: dict[str, Any]) -> None:
    data = report_data
    assert (data["county_code"], data["county_name"]) == ("610528", "富平县")
    assert (data["window_from"], data["window_to"], data["standard_rate"]) == ("2026-09", "2026-11", "5.00")
    assert data["generated_at"] == "2026-11-21T10:00:00+08:00"
    assert [r["school_code"] for r in data["schools"]] == [S1, S2, S4, S5]
    for row in data["schools"]:
        expected = ROWS[row["school_code"]]
        assert {k: row[k] for k in expected} == expected, row["school_code"]
    assert data["townships"] == TOWNSHIPS
    assert data["supply_modes"] == SUPPLY_MODES
    assert data["county"] == COUNTY
    assert data["non_reporting"] == NON_REPORTING
    assert [(a["school_code"], a["period"], a["code"]) for a in data["anomalies"]] == ANOMALIES
    assert data["anomaly_counts"] == {
        "BALANCE_MISMATCH": 1, "MISUSE": 1, "CARRY_OVER_MISMATCH": 2, "MEALS_EXCEED_ENTITLEMENT": 1,
        "SPEND_EXCEEDS_MEALS": 0, "UNDERSPEND": 0, "HIGH_BALANCE": 1, "NONSTANDARD_RATE": 1,
        "ACCOMPANY_GAP": 1, "SAMPLE_GAP": 1,
    }  # fmt: skip


def test_anomaly_figures_and_messages(report_data: dict[str, Any]) -> None:
    by_key = {(a["school_code"], a["period"], a["code"]): a for a in report_data["anomalies"]}
    carry = by_key[(S4, "2026-11", "CARRY_OVER_MISMATCH")]
    assert carry["figures"] == {
        "opening_balance": "0.00",
        "previous_period": "2026-10",
        "previous_closing_balance": "100.00",
        "difference": "-100.00",
    }
    assert carry["message"] == "结转不符：上月结余 0.00 ≠ 2026-10 本月结余 100.00"
    across = by_key[(S2, "2026-11", "CARRY_OVER_MISMATCH")]  # across the non-participating October
    assert across["figures"]["previous_period"] == "2026-09"
    balance = by_key[(S4, "2026-10", "BALANCE_MISMATCH")]
    assert balance["message"] == "账目不平：0.00 + 33000.00 − 33000.00 − 0.00 = 0.00 ≠ 100.00"
    high = by_key[(S1, "2026-11", "HIGH_BALANCE")]
    assert high["figures"]["balance_limit"] == "1150.00"


def test_effective_revisions_are_used_and_traced(session: Any, fund_scenario: Any, report_data: Any) -> None:
    row = next(r for r in report_data["schools"] if r["school_code"] == S1)
    heads = {h.period: h.revision_id for h in session.scalars(select(ReportHead).where(ReportHead.school_code == S1))}
    assert row["revision_ids"] == {p: heads[p] for p in ("2026-09", "2026-10", "2026-11")}
    # revision 1 of October had a balance mismatch; only the effective revision 2 counts
    assert not any(a["school_code"] == S1 and a["period"] == "2026-10" for a in report_data["anomalies"])
    assert fund_scenario[(S1, "2026-10")]["revision"] == 2


def test_carry_over_basis_before_the_window_matches_the_feedback(session: Any, fund_scenario: Any) -> None:
    """The batched query finds, per school, the same report the feedback's per-school lookup finds."""
    batched = services._previous_participating(session, "610528", "2026-09")
    assert {code: r.period for code, r in batched.items()} == {S1: "2026-06", S2: "2026-06", S5: "2026-05"}
    for code in (S1, S2, S4, S5, S6):
        one = previous_participating(session, code, "2026-09")
        found = batched.get(code)
        assert (one or {}).get("period") == (None if found is None else found.period), code
    # 0005's opening 200.00 equals May's closing (June did not participate): no carry-over anomaly in Sept.
    history = services.school_fund_history(session, S5, "2026-09", "2026-11")
    assert history.previous_period == "2026-05"
    assert [a.code for a in history.months[0].anomalies] == ["NONSTANDARD_RATE"]


def test_break_months_and_active_range_decide_who_is_expected(session: Any, fund_scenario: Any) -> None:
    # 2026-06..2026-09: July and August are the county's break months. 0003 closed on 2026-06-30, so it was
    # expected in June alone and did not report; 0004 opened 2026-10-01 and is expected in none of them.
    report = services.fund_report(session, "610528", "2026-06", "2026-09", now=NOW)
    assert [(s.school_code, s.missing_periods) for s in report.non_reporting] == [(S3, ("2026-06",))]
    assert [r.school_code for r in report.schools] == [S1, S2, S5]
    # 0005's September carries May's closing over, across June (not participating) and the break: no anomaly
    assert report.schools[2].participating_periods == ("2026-09",)
    assert [a.code for a in report.schools[2].anomalies] == ["NONSTANDARD_RATE"]


def test_the_counties_standard_rate_is_used(session: Any, fund_scenario: Any, fund_county: Any) -> None:
    fund_county.subsidy_standard = Decimal("4.00")
    session.flush()
    report = services.fund_report(session, "610528", "2026-09", "2026-09", now=NOW)
    flagged = sorted(a.school_code for a in report.anomalies if a.code == "NONSTANDARD_RATE")
    assert flagged == [S1, S2]  # 5.00 ≠ 4.00; 0005's 4.00 now matches
    assert report.to_dict()["standard_rate"] == "4.00"


def test_a_correction_moves_the_carry_over_anomaly_to_the_right_month(
    session: Any, submit: Any, fund_agents: Any
) -> None:
    # September closes at 100.00 (0.00 + 10000.00 − 9900.00); October opens at 100.00: nothing to report.
    submit(S1, "2026-09", **fund(20, 100, 1980, "0.00", "10000.00", "9900.00", "100.00"))
    submit(S1, "2026-10", **fund(22, 100, 2200, "100.00", "11000.00", "11000.00", "100.00"))
    before = services.fund_report(session, "610528", "2026-09", "2026-10", now=NOW)
    assert [a.code for a in before.anomalies] == []
    assert fund_agents[S1].get("/api/v1/feedback?period=2026-10").json["fund_anomalies"] == []

    # A correction of September: 0.00 + 10000.00 − 9880.00 = 120.00. September stays clean, October's
    # opening 100.00 no longer carries September's closing over.
    submit(S1, "2026-09", **fund(20, 100, 1980, "0.00", "10000.00", "9880.00", "120.00"))
    after = services.fund_report(session, "610528", "2026-09", "2026-10", now=NOW)
    assert [(a.period, a.code) for a in after.anomalies] == [("2026-10", "CARRY_OVER_MISMATCH")]
    assert after.anomalies[0].figures == {
        "opening_balance": "100.00",
        "previous_period": "2026-09",
        "previous_closing_balance": "120.00",
        "difference": "-20.00",
    }
    # a new timestamp: the same signed GET inside 300 s would be a replay
    feedback = fund_agents[S1].get("/api/v1/feedback?period=2026-10", ts=int(clock.now().timestamp()) + 1).json
    assert [a["code"] for a in feedback["fund_anomalies"]] == ["CARRY_OVER_MISMATCH"]
    assert feedback["fund_anomalies"][0] == after.anomalies[0].to_dict()
    assert fund_agents[S1].get("/api/v1/feedback?period=2026-09").json["fund_anomalies"] == []
    # the school page and the period page show it on October too
    history = services.school_fund_history(session, S1, "2026-09", "2026-10")
    assert [[a.code for a in m.anomalies] for m in history.months] == [[], ["CARRY_OVER_MISMATCH"]]
    assert [a.period for a in services.county_period_anomalies(session, "610528", "2026-10")] == ["2026-10"]


def test_school_fund_history_is_the_schools_row(session: Any, fund_scenario: Any, report_data: Any) -> None:
    history = services.school_fund_history(session, S2, "2026-09", "2026-11").to_dict()
    row = next(r for r in report_data["schools"] if r["school_code"] == S2)
    assert history["totals"] == row
    months = history["months"]
    assert [m["period"] for m in months] == ["2026-09", "2026-10", "2026-11"]
    assert [m["participating"] for m in months] == [True, False, True]
    assert [m["revision"] for m in months] == [1, 1, 1]
    assert months[2]["nutrition"]["other_spend"] == "500.00"
    assert [a["code"] for a in months[2]["anomalies"]] == ["ACCOMPANY_GAP", "CARRY_OVER_MISMATCH", "MISUSE"]
    assert history["previous_participating_period"] == "2026-06"
    # a school that never participated has months but no totals
    s6 = services.school_fund_history(session, S6, "2026-09", "2026-11").to_dict()
    assert s6["totals"] is None
    assert [(m["expected"], m["reported"]) for m in s6["months"]] == [(True, True), (True, True), (True, False)]
    with pytest.raises(LookupError):
        services.school_fund_history(session, "6105289999", "2026-09", "2026-11")


def test_county_period_anomalies_are_the_reports(session: Any, fund_scenario: Any) -> None:
    found = services.county_period_anomalies(session, "610528", "2026-11")
    assert [(a.school_code, a.code) for a in found] == [
        (S1, "HIGH_BALANCE"),
        (S2, "ACCOMPANY_GAP"),
        (S2, "CARRY_OVER_MISMATCH"),
        (S2, "MISUSE"),
        (S4, "CARRY_OVER_MISMATCH"),
        (S5, "MEALS_EXCEED_ENTITLEMENT"),
        (S5, "SAMPLE_GAP"),
    ]


def test_county_quality_warnings(session: Any, submit: Any) -> None:
    spends = {S1: "9750.00", S2: "19600.00", S4: "29100.00", S6: "19000.00"}
    meals = {S1: 1950, S2: 4000, S4: 6000, S6: 4000}
    # per meal: 0001 5.00, 0002 4.90, 0004 4.85, 0006 4.75, 0005 2.00 → median 4.85, MAD median(|x − 4.85|)
    # = median(0.15, 0.05, 0, 0.10, 2.85) = 0.10; 0005: 0.6745 × (2.00 − 4.85) / 0.10 = −19.22 → flagged.
    for code in (S1, S2, S4, S6):
        n = meals[code]
        submit(code, "2026-10", **fund(20, 300, n, "0.00", spends[code], spends[code], "0.00"))
    submit(S5, "2026-10", **fund(20, 300, 1500, "0.00", "3000.00", "3000.00", "0.00"))
    warnings = services.county_quality_warnings(session, "610528", "2026-10")
    spend = [w for w in warnings if w["metric"] == "per_meal_spend"]
    assert spend == [
        {
            "school_code": S5,
            "school_name": "城关第二小学",
            "period": "2026-10",
            "metric": "per_meal_spend",
            "value": "2.0000",
            "median": "4.8500",
            "modified_z": "-19.22",
        }
    ]
    with pytest.raises(services.WindowError):
        services.county_quality_warnings(session, "610528", "2026-13")


@pytest.mark.parametrize(
    ("period_from", "period_to", "code"),
    [
        ("2026-9", "2026-11", "invalid_period"),
        ("2026-09", None, "invalid_period"),
        ("2026-13", "2026-11", "invalid_period"),
        ("2026-11", "2026-09", "invalid_window"),
        ("2023-10", "2026-10", "window_too_long"),  # 37 months
    ],
)
def test_bad_windows_are_refused_with_a_code(session: Any, period_from: Any, period_to: Any, code: str) -> None:
    with pytest.raises(services.WindowError) as err:
        services.fund_report(session, "610528", period_from, period_to)
    assert err.value.code == code


def test_thirty_six_months_is_allowed_and_unknown_county_is_lookup_error(session: Any, fund_county: Any) -> None:
    report = services.fund_report(session, "610528", "2023-11", "2026-10", now=NOW)  # exactly 36
    assert report.county.schools == 0
    with pytest.raises(LookupError):
        services.fund_report(session, "999999", "2026-09", "2026-11")


def test_filename_names_the_content(session: Any, fund_county: Any) -> None:
    report = services.fund_report(session, "610528", "2026-09", "2026-11", now=NOW)
    assert services.fund_report_filename(report, "xlsx") == "610528_富平县_营养餐资金报表_2026-09_2026-11.xlsx"
    assert (
        services.fund_report_filename(report, "pdf", ascii_only=True)
        == "610528_nutrition_fund_report_2026-09_2026-11.pdf"
    )
    fund_county.name = 'a/b\\c:"d"'
    session.flush()
    report = services.fund_report(session, "610528", "2026-09", "2026-11", now=NOW)
    assert services.fund_report_filename(report, "json") == "610528_a_b_c_d__营养餐资金报表_2026-09_2026-11.json"


def test_a_head_without_stored_figures_is_read_from_its_content_and_the_report_is_the_same(
    session: Any, fund_scenario: Any
) -> None:
    """The fund report reads each revision's figures stored on its head; one without figures (a bulk load) or
    with figures of an older layout is read from its content, and the report is exactly the same."""
    expected = services.fund_report(session, "610528", "2026-09", "2026-11", now=NOW).to_dict()
    history = services.school_fund_history(session, S1, "2026-09", "2026-11").to_dict()
    county = ReportHead.county_code == "610528"
    session.execute(update(ReportHead).where(county, ReportHead.period == "2026-09").values(figures=None))
    session.execute(update(ReportHead).where(county, ReportHead.period == "2026-10").values(figures='["f0:old"]'))
    session.execute(update(ReportHead).where(county, ReportHead.period < "2026-09").values(figures=None))
    session.expire_all()
    assert services.fund_report(session, "610528", "2026-09", "2026-11", now=NOW).to_dict() == expected
    assert services.school_fund_history(session, S1, "2026-09", "2026-11").to_dict() == history
