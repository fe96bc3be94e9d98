"""The rubric kinds default-2 needs from the @2 standard (issue 20 item 3): ``kitchen_controls`` (C6, 食堂日常管控)
and ``fund_compliance`` counting the stock anomalies (default-2's C4), through the one engine, explained in plain
Chinese; and a county ranked with them from parsed @2 contents equals the ranking from the stored figures. Inline
rubrics; every figure computed by hand in the comments."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import select

from district.reports.models import ReportRevision
from district.scoring.engine import MonthInput, SchoolScore, Window, score_county
from district.scoring.explain_text import render_row
from district.scoring.rubric import DEFAULT_RUBRIC_PATH, Rubric, RubricError, load_default_rubric, load_rubric
from houqin_standard import STANDARD_ID, STANDARD_ID_2
from tests.district.scoring.conftest import build_report, build_school
from tests.factories import report_figures

DEFAULT_TEXT = DEFAULT_RUBRIC_PATH.read_text(encoding="utf-8")
STOCK_CODES = (
    '["MISUSE", "BALANCE_MISMATCH", "CARRY_OVER_MISMATCH", "SPEND_EXCEEDS_CONSUMPTION", "STOCK_CARRY_OVER_MISMATCH"]'
)
C6 = """
[[indicators]]
code = "C6"
area = "food_nutrition"
name_zh = "食品安全 · 食堂日常管控"
name_en = "Food safety: kitchen daily controls"
points = 3
kind = "kitchen_controls"
fields = ["kitchen.morning_check_days", "kitchen.tableware_disinfection_days", "kitchen.tasting_days"]
denominator = "nutrition.meal_days"
"""


def v2_rubric_text(version: str = "test-v2-stock", c6: str = C6) -> str:
    """default-1 with B1 10 → 7, C4 counting the stock anomalies and C6 (3 points): 100 in all."""
    text = DEFAULT_TEXT.replace('version = "default-1"', f'version = "{version}"', 1)
    assert "points = 10\n" in text
    text = text.replace("points = 10\n", "points = 7\n", 1)  # B1
    old_codes = 'codes = ["MISUSE", "BALANCE_MISMATCH", "CARRY_OVER_MISMATCH"]'
    assert old_codes in text
    text = text.replace(old_codes, f"codes = {STOCK_CODES}", 1)
    return text + c6


@pytest.fixture(scope="module")
def v2_rubric() -> Rubric:
    return load_rubric(v2_rubric_text(), "test-v2.toml")


def v2_month(period: str, kitchen: tuple[int, int, int] | None, stock: tuple[str, str, str, bool] | None,
             **overrides: Any) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """A PERFECT month (tests/district/scoring/conftest.py) sent in @2 with this kitchen and stock."""
    out: dict[str, Any] = {"standard": STANDARD_ID_2, "calendar.tasks": [],
                           "feedback_box.received": 0, "feedback_box.answered": 0, **overrides}  # fmt: skip
    if kitchen is not None:
        keys = ("morning_check_days", "tableware_disinfection_days", "tasting_days")
        for key, days in zip(keys, kitchen, strict=True):
            out[f"kitchen.{key}"] = days
    if stock is not None:
        for key, value in zip(("opening_stock_value", "purchases", "closing_stock_value", "stock_checked"), stock,
                              strict=True):  # fmt: skip
            out[f"canteen_stock.{key}"] = value
    return period, out


def row(score: SchoolScore, code: str) -> Any:
    return score.row(code)


# ------------------------------------------------------------------------------------------------ C6


def test_kitchen_controls_over_the_participating_months_with_a_kitchen(v2_rubric: Rubric) -> None:
    # PERFECT months: 17 meal days, balanced, carried over; stock 1000.00 + 65305.35 − 1000.00 = 65305.35 = food.
    # 09 @2 kitchen 17 + 17 + 15 = 49; 10 @1 (no kitchen: not counted); 11 @2 kitchen 17 + 16 + 17 = 50.
    # C6 = 3 × (49 + 50) / (3 × (17 + 17)) = 3 × 99 / 102 = 99/34 ≈ 2.91
    ok = ("1000.00", "65305.35", "1000.00", True)
    school = build_school(months=[v2_month("2026-09", (17, 17, 15), ok), "2026-10",
                                  v2_month("2026-11", (17, 16, 17), ok)])  # fmt: skip
    [score] = score_county([school], Window("2026-09", "2026-11"), v2_rubric)
    c6 = row(score, "C6")
    assert c6.applicable and c6.earned == Fraction(99, 34)
    assert c6.raw_inputs == {
        "months with kitchen controls": 2,
        "Σ morning_check_days": 34,
        "Σ tableware_disinfection_days": 33,
        "Σ tasting_days": 32,
        "Σ meal_days": 34,
    }
    ids = [m.revision_id for m in school.months]
    assert list(c6.revision_ids) == [ids[0], ids[2]]
    assert row(score, "C4").earned == 4  # the stock carries over: 1000.00 → 1000.00
    # every other indicator full: 100 − 3 + 99/34 = 100 − 3/34 → 99.91 (rounded half up)
    assert str(score.score) == "99.91"
    text = render_row(c6.to_dict(), "zh")
    assert text.sentence == (
        "2 个填报食堂日常管控的营养餐月份中，“晨检天数”、“餐具消毒天数”、“试尝天数”合计 99 天，应为“本月供餐天数”合计"
        " 34 天的 3 倍即 102 天，达到 97.1%，得 2.91 / 3 分"
    )
    assert text.formula == "3 × 99 ÷ (3 × 34) = 2.91"
    assert not any(c.isascii() and c.isalpha() for c in text.sentence + text.formula + str(text.inputs))
    assert render_row(c6.to_dict(), "en").formula == "3 × 99 ÷ (3 × 34) = 2.91"


def test_kitchen_controls_not_applicable_without_a_kitchen_month(v2_rubric: Rubric) -> None:
    # @1 months only (no kitchen section): C6 not applicable; available 97; a @2 month not in the meal programme
    # is not counted either
    school = build_school(months=["2026-09", v2_month("2026-10", (5, 5, 5), None, **{
        "nutrition": {"participating": False}, "food_safety.sample_retention_days": 0})])  # fmt: skip
    [score] = score_county([school], Window("2026-09", "2026-10"), v2_rubric)
    c6 = row(score, "C6")
    assert not c6.applicable and c6.earned is None
    assert score.available_total == 97
    assert render_row(c6.to_dict(), "zh").sentence == "期内没有填报食堂日常管控的营养餐月份，本项不适用"


def test_kitchen_controls_with_no_meal_day_is_nothing_to_check(v2_rubric: Rubric) -> None:
    zero = {"nutrition.meal_days": 0, "nutrition.meals_served": 0, "nutrition.accompany_meal_days": 0,
            "food_safety.sample_retention_days": 0, "nutrition.food_spend": "0.00",
            "nutrition.funds_received": "0.00"}  # fmt: skip
    school = build_school(months=[v2_month("2026-09", (0, 0, 0), ("0.00", "0.00", "0.00", True), **zero)])
    [score] = score_county([school], Window("2026-09", "2026-09"), v2_rubric)
    assert row(score, "C6").earned == 3
    assert render_row(row(score, "C6").to_dict(), "zh").formula == "合计为 0：满分 3"


# ------------------------------------------------------------------------------------------------ C4 with stock


def test_c4_counts_the_stock_anomalies_of_default_2_across_a_v1_month(v2_rubric: Rubric) -> None:
    # Before W: August @2 closed its stock at 950.00. 09 @2 opening stock 1000.00 ≠ 950.00 → STOCK_CARRY_OVER;
    # 10 @1 (no stock rule, skipped as a basis); 11 @2 opening 900.00 ≠ September's 1000.00 → STOCK_CARRY_OVER,
    # and 900.00 + 65405.35 − 1000.00 = 65305.35 consumed = food (no SPEND_EXCEEDS_CONSUMPTION).
    # 12 @2: 1000.00 + 65300.00 − 1000.00 = 65300.00 < 65305.35 → SPEND_EXCEEDS_CONSUMPTION; not counted
    # (STOCK_NOT_CHECKED is not one of default-2's codes). C4 = 4 × 1 / 4 (only October compliant) = 1.
    august = MonthInput("2026-08", 1, report_figures(build_report("2026-08", dict(v2_month(
        "2026-08", (17, 17, 17), ("0.00", "66255.35", "950.00", True))[1]))))  # fmt: skip
    school = build_school(
        months=[
            v2_month("2026-09", (17, 17, 17), ("1000.00", "65305.35", "1000.00", True)),
            "2026-10",
            v2_month("2026-11", (17, 17, 17), ("900.00", "65405.35", "1000.00", True)),
            v2_month("2026-12", (17, 17, 17), ("1000.00", "65300.00", "1000.00", False)),
        ],
        previous=august,
    )
    school = dataclasses.replace(school, previous_stock=august)
    window = Window("2026-09", "2026-12")
    [score] = score_county([school], window, v2_rubric)
    c4 = row(score, "C4")
    assert c4.earned == 1
    assert c4.raw_inputs["anomalies 2026-09"] == "STOCK_CARRY_OVER_MISMATCH"
    assert c4.raw_inputs["anomalies 2026-11"] == "STOCK_CARRY_OVER_MISMATCH"
    assert c4.raw_inputs["anomalies 2026-12"] == "SPEND_EXCEEDS_CONSUMPTION"
    assert "anomalies 2026-10" not in c4.raw_inputs
    assert c4.raw_inputs["stock carry-over basis of 2026-09"] == "2026-08"
    assert c4.raw_inputs["stock carry-over basis of 2026-11"] == "2026-09"  # across October (@1)
    assert "stock carry-over basis of 2026-10" not in c4.raw_inputs
    assert 1 in c4.revision_ids  # August, the basis before W
    inputs = dict(render_row(c4.to_dict(), "zh").inputs)
    assert inputs["2026年11月的库存结转依据"] == "2026年9月"
    assert inputs["2026年12月资金异常"] == "补助支出超过食材消耗"
    assert "库存结转不符" in render_row(c4.to_dict(), "zh").sentence
    # default-1 counts none of them: every month compliant
    [plain] = score_county([school], window, load_default_rubric())
    assert row(plain, "C4").earned == 4


def test_the_rubric_validates_the_new_parameters() -> None:
    assert load_rubric(v2_rubric_text(), "ok.toml").indicator("C6").params["fields"] == (
        "kitchen.morning_check_days", "kitchen.tableware_disinfection_days", "kitchen.tasting_days"
    )  # fmt: skip
    unknown, one_section = "is not a field of the report standard", "must all be fields of one section"
    cases = {
        '"kitchen.tasting_days"]': ('"kitchen.tasting"]', unknown),
        'fields = ["kitchen.morning_check_days"': ('fields = ["nutrition.meal_days"', one_section),
        'denominator = "nutrition.meal_days"': ('denominator = "kitchen.nope"', unknown),
    }
    for old, (new, said) in cases.items():
        with pytest.raises(RubricError) as caught:
            load_rubric(v2_rubric_text(c6=C6.replace(old, new)), "bad.toml")
        assert any(said in m and m.startswith("bad.toml:") for m in caught.value.messages), caught.value.messages
    with pytest.raises(RubricError, match="unknown fund anomaly code"):
        load_rubric(v2_rubric_text().replace('"STOCK_CARRY_OVER_MISMATCH"', '"STOCK_CARRY"'), "bad.toml")


# ------------------------------------------------------------------------------------------------ in the database


def test_a_county_ranked_with_c4_and_c6_from_parsed_v2_contents_equals_the_stored_ranking(
    session: Any, county: Any
) -> None:
    """The pattern of tests/district/reports/test_reports_standard_v2.py for the new kinds: the ranking stored
    from figures, explained again from its pinned inputs (the stock carry-over basis too), equals the engine run
    on the parsed reports."""
    from district.registry.models import County
    from district.scoring import county_rubrics, ranking
    from district.scoring.inputs import county_inputs
    from tests.district.reports.test_reports_standard_v2 import v2
    from tests.district.scoring.helpers_scoring_db import explained, indicator, ranked_from_contents, report, submit

    county_rubrics.load_county_rubric(session, "610528", v2_rubric_text("test-v2-db"), "test-v2.toml")
    session.get(County, "610528").reporting_start = "2026-01"
    # Balanced months that carry over (2986.00 + 65305.35 − 65305.35 = 2986.00). @2 in March, @1 in April and
    # May, @2 from June: the window 2026-05..2026-10's stock basis is March (April, the previous participating
    # report, is @1). Every @2 month opens its stock at 3200.00 and closes at 2800.00 (tests/…/v2): from June on
    # each is STOCK_CARRY_OVER_MISMATCH (3200.00 ≠ 2800.00); consumed 3200.00 + 65305.35 − 2800.00 ≥ food spend.
    for period in ("2026-03", "2026-04", "2026-05", "2026-06", "2026-09", "2026-10"):
        for code in ("6105280001", "6105280002"):
            data = report(code, period)
            data["nutrition"]["funds_received"] = "65305.35"
            data["nutrition"]["closing_balance"] = "2986.00"
            if code == "6105280002":
                data["nutrition"]["opening_balance"] = "2986.00"
                if period == "2026-10":
                    data["nutrition"]["other_spend"] = "1.00"  # MISUSE (and BALANCE_MISMATCH)
            if period not in ("2026-04", "2026-05"):
                data = v2(data)
            submit(session, code, period, data=data)
    window = Window("2026-05", "2026-10")
    snapshot = ranking.compute_ranking(session, "610528", window, trigger="test")
    assert snapshot.rubric_version == "test-v2-db"
    stored = explained(session, snapshot)
    # C4 of 0001: 05 (@1) compliant, 06, 09, 10 stock carry-over mismatches → 4 × 1 / 4 = 1
    c4 = indicator(session, snapshot, "6105280001", "C4")
    assert Fraction(c4["earned_exact"]) == 1
    assert c4["inputs"]["stock carry-over basis of 2026-06"] == "2026-03"
    # C6 (example kitchen 17 + 17 + 15 over 17 meal days, three @2 months): 3 × 147 / (3 × 51) = 49/17
    c6 = indicator(session, snapshot, "6105280001", "C6")
    assert Fraction(c6["earned_exact"]) == Fraction(49, 17)

    inputs = county_inputs(session, "610528", window)
    contents = {rid: json.loads(c) for rid, c in session.execute(select(ReportRevision.id, ReportRevision.content))}
    assert {c["standard"] for c in contents.values()} == {STANDARD_ID, STANDARD_ID_2}
    by_code = {s.code: s for s in inputs.schools}
    assert by_code["6105280001"].previous_stock is not None and by_code["6105280001"].previous_stock.period == "2026-03"
    assert by_code["6105280001"].previous_participating.period == "2026-04"  # type: ignore[union-attr]

    assert ranked_from_contents(session, "610528", window) == stored
