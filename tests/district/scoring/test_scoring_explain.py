"""Indicator rows explained as data (``district.scoring.explanation``) and put in words by the one catalog
(``district.scoring.explain_text``), zh and en (issue 17 item 5).

The schools below are built so that, between them, every explanation code the default rubric can give appears;
each row's structured explanation is checked against the row's exact ``inputs`` (the API's audit data) and its
words against what people should read: plain Chinese with the standard's labels, no English, no field names, no
fraction of many digits.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from district.scoring.engine import HazardInput, SchoolScore, Window, score_county
from district.scoring.explain_text import FORMULAS, SENTENCES, flag_text, render_row
from houqin_standard.fields import SECTIONS
from tests.district.scoring.conftest import build_school

SEP, OCT = "2026-09", "2026-10"
FIELD_PATHS = {f"{s.key}.{f.key}" for s in SECTIONS for f in s.fields}
LEAVES = {f.key for s in SECTIONS for f in s.fields}
CJK = re.compile(r"[\u4e00-\u9fff]")
LONG_FRACTION = re.compile(r"\d+/\d+")
MANY_DIGITS = re.compile(r"\d{7,}")


def _scores(rubric: Any) -> dict[str, SchoolScore]:
    """Five schools of one county (all primary, so F1 compares them) covering every explanation code."""
    overdue = HazardInput("H-1", "major", date(2026, 9, 10), None, date(2026, 9, 1), revision_id=77)
    schools = [
        # a: below target green, two months, one with misuse, an overdue major hazard, repairs half done,
        # a shop still being fixed, more electricity than its peers
        build_school(
            "6105260001",
            months=[
                (SEP, {"campus.green_area_m2": "3000.5", "nutrition.accompany_meal_days": 15}),
                (
                    OCT,
                    {
                        "nutrition.food_spend": "65205.35",
                        "nutrition.other_spend": "100.00",
                        "campus.shop": "rectifying",
                        "safety.hazards_found": 3,
                        "safety.hazards_rectified": 1,
                        "assets.repairs_requested": 4,
                        "assets.repairs_completed": 2,
                        "energy.electricity_kwh": "123456.7",
                        "safety.inspections": 11,
                    },
                ),
            ],
            hazards=[overdue],
        ),
        # b: not in the meal programme, no canteen staff, no invoices, water not applicable, no boarders,
        # no inspection in the window
        build_school(
            "6105260002",
            months=[
                (
                    SEP,
                    {
                        "nutrition.participating": False,
                        "food_safety.canteen_staff": 0,
                        "food_safety.health_certified_staff": 0,
                        "finance.invoices": 0,
                        "finance.invoices_fully_signed": 0,
                        "campus.drinking_water": "not_applicable",
                        "enrollment.boarders": 0,
                    },
                ),
            ],
            inspections=[],
        ),
        # c: no campus area, no students (F1 full, out of the medians)
        build_school(
            "6105260003",
            months=[(SEP, {"campus.campus_area_m2": "0", "campus.green_area_m2": "0", "enrollment.students": 0})],
        ),
        build_school("6105260004", months=[SEP, OCT]),
        build_school("6105260005", months=[(SEP, {"energy.water_m3": "0", "energy.electricity_kwh": "0"})]),
    ]
    results = score_county(schools, Window(SEP, OCT), rubric)
    return {s.code: s for s in results}


@pytest.fixture(scope="module")
def scores(rubric: Any) -> dict[str, SchoolScore]:
    return _scores(rubric)


def _rows(scores: dict[str, SchoolScore]) -> list[dict[str, Any]]:
    return [row.to_dict() for s in scores.values() for row in s.indicators]


def test_every_code_of_the_default_rubric_is_explained(scores: dict[str, SchoolScore]) -> None:
    codes = {r["explanation"]["code"] for r in _rows(scores)}
    # every code the catalog knows, but the fallback, D3 without an expected month (a listed school has one) and
    # default-2's C6 and H1, which default-1 has not (tests/district/scoring/test_scoring_v2.py and
    # tests/district/duties/test_duties_scoring.py explain them)
    assert codes == set(SENTENCES) - {
        "figures",
        "drills_none_required",
        "kitchen_controls",
        "kitchen_zero_full",
        "no_kitchen",
        "calendar_tasks",
        "calendar_none_due",
    }
    assert set(SENTENCES) == set(FORMULAS)


def test_every_indicator_of_the_rubric_has_words_in_both_languages(scores: dict[str, SchoolScore], rubric: Any) -> None:
    seen: set[str] = set()
    for row in _rows(scores):
        seen.add(row["code"])
        for lang in ("zh", "en"):
            text = render_row(row, lang)
            assert text.sentence and text.formula and "—" not in text.formula, (row["code"], lang, text)
    assert seen == {ind.code for ind in rubric.indicators}


def test_a_median_of_zero_leaves_that_half_full(rubric: Any) -> None:
    """Two schools of a type that used no electricity: the median is 0, no ratio, that half is full."""
    schools = [
        build_school(code, months=[(SEP, {"energy.electricity_kwh": "0"})]) for code in ("6105260011", "6105260012")
    ]
    [first, _second] = score_county(schools, Window(SEP, SEP), rubric)
    row = first.row("F1").to_dict()
    params = row["explanation"]["params"]
    assert (params["median_e"], params["r_e"], params["f_e"]) == (0, None, None)
    zh, en = render_row(row, "zh"), render_row(row, "en")
    assert zh.sentence == "同类学校生均用电中位数为 0，该半项满分，生均用水与中位数持平，得 5.00 / 5 分"
    assert zh.formula.startswith("2.5 × 1 + 2.5 × f(1.000) = 2.5 × 1 + 2.5 × 1.000 = 5.00；")
    assert en.sentence.startswith("Electricity per student: median of similar schools 0, that half full")


def test_explanations_are_data_matching_the_exact_inputs(scores: dict[str, SchoolScore]) -> None:
    for row in _rows(scores):
        explanation = row["explanation"]
        params = explanation["params"]
        assert params["points"] == row["points"] and params["earned"] == row["earned_exact"]
        # one structured input per figure of the API's ``inputs``, in its order, with the same exact value
        assert len(explanation["inputs"]) == len(row["inputs"]), row["code"]
        for item, (name, text) in zip(explanation["inputs"], row["inputs"].items(), strict=True):
            assert set(item) == {"key", "params", "value"}
            assert " " not in item["key"], name  # a code, not the engine's English label
            value = item["value"]
            if isinstance(value, list):
                assert ", ".join(value) == text
            elif item["key"] == "required":
                assert text.endswith(f"= {value}"), text  # "20 × 2 = 40" in the audit text
            elif isinstance(value, str) and "/" in value:
                assert text.startswith(f"{value} ≈ "), (name, value, text)  # the exact ratio under "p/q ≈ d"
            else:
                assert str(value) == text, (name, value, text)
            for key in ("field", "numerator", "denominator"):
                if key in item["params"] and item["params"][key] is not None:
                    assert item["params"][key] in FIELD_PATHS
            for f in item["params"].get("fields", ()):
                assert f in FIELD_PATHS
        for key in ("field", "green_field", "area_field", "numerator", "denominator", "mismatch_field"):
            if key in params:
                assert params[key] in FIELD_PATHS, (row["code"], key, params[key])


def test_structured_figures_are_exact(scores: dict[str, SchoolScore]) -> None:
    a = scores["6105260001"]
    c3 = a.row("C3").to_dict()["explanation"]
    assert c3["code"] == "ratio"
    p = c3["params"]
    assert (p["numerator"], p["denominator"], p["months_kind"]) == (
        "nutrition.accompany_meal_days", "nutrition.meal_days", "participating",
    )  # fmt: skip
    assert Fraction(p["ratio"]) == Fraction(p["num"]) / Fraction(p["den"]) and p["months"] == 2
    c4 = a.row("C4").to_dict()["explanation"]
    assert c4["code"] == "fund_compliance" and (c4["params"]["compliant"], c4["params"]["months"]) == (1, 2)
    assert {"key": "fund_anomalies", "params": {"period": OCT}, "value": ["MISUSE"]} in c4["inputs"]
    d1 = a.row("D1").to_dict()["explanation"]
    assert (d1["params"]["found"], d1["params"]["rectified"], d1["params"]["overdue"]) == (3, 1, 1)
    assert {
        "key": "overdue_hazard",
        "params": {"ref": "H-1", "severity": "major", "deadline": "2026-09-10", "rectified_on": None},
        "value": "major, deadline 2026-09-10, rectified_on open",
    } in d1["inputs"]
    d2 = a.row("D2").to_dict()["explanation"]
    assert d2["params"]["required"] == 40 and d2["params"]["done"] == 31


def _plain_zh(text: str) -> None:
    assert not re.search(r"[A-Za-z]{4,}", text), text  # no English word, field name or anomaly code
    assert not LONG_FRACTION.search(text), text  # no fraction (ratios as % or decimals)
    assert not MANY_DIGITS.search(text.replace(",", "")), text
    assert not re.search(r"\d{4}-\d{2}", text), text  # no ISO period or date
    assert not any(leaf in text for leaf in LEAVES if "_" in leaf), text


def test_zh_words_are_plain_chinese(scores: dict[str, SchoolScore]) -> None:
    for row in _rows(scores):
        text = render_row(row, "zh")
        _plain_zh(text.sentence)
        _plain_zh(text.formula)
        for name, value in text.inputs:
            _plain_zh(name)
            _plain_zh(value)
        if row["applicable"]:
            assert text.sentence.endswith(f"得 {row['earned']} / {row['points']} 分"), text.sentence
        else:
            assert "不适用" in text.sentence


def test_en_words_are_english(scores: dict[str, SchoolScore]) -> None:
    for row in _rows(scores):
        text = render_row(row, "en")
        for piece in (text.sentence, text.formula, *(x for pair in text.inputs for x in pair)):
            assert not CJK.search(piece), piece
        if row["applicable"]:
            assert text.sentence.endswith(f"{row['earned']} / {row['points']} points")


def test_sentences_read_as_people_write(scores: dict[str, SchoolScore]) -> None:
    a = scores["6105260001"]

    def zh(code: str, school: SchoolScore = a) -> Any:
        return render_row(school.row(code).to_dict(), "zh")

    assert zh("C4").sentence == (
        "2 个参加营养餐的月份中 1 个月资金合规（无挪用补助资金、账目不平、结转不符），得 2.00 / 4 分"
    )
    assert ("2026年10月资金异常", "挪用补助资金") in zh("C4").inputs
    assert zh("C4").formula == "4 × 1 ÷ 2 = 2.00"
    # F1: a.electricity far above its peers' median: "高 x%", water level with the median
    f1 = zh("F1")
    water = r"生均用水((高|低) \d+\.\d%|与中位数持平)"
    assert re.fullmatch(rf"生均用电比同类学校中位数高 [\d,]+\.\d%，{water}，得 \d\.\d\d / 5 分", f1.sentence), (
        f1.sentence
    )
    assert "f(r)：r ≤ 1 为 1，r ≥ 1.5 为 0" in f1.formula
    assert ("隐患 H-1", "重大，整改期限 2026年9月10日，未整改") in zh("D1").inputs
    assert zh("D1").sentence.startswith("发现隐患 3 处，整改完成 1 处（33.3%）；逾期未整改重大隐患 1 处，每处扣 2 分")
    assert zh("D1").formula == "6 × min(1, 1 ÷ 3) − 2 × 1 = 0.00（最低 0 分）"
    assert zh("A1").sentence == "最近一期（2026年10月）报表“校园商店整治”为“整改中”，得 3.00 / 6 分"
    assert zh("B1").sentence.startswith("“绿化面积”占“校园占地面积”的 ")
    assert zh("E3").sentence == (
        "2 个已报送月份中 2 个月“帐物不符件数”为 0；报修 4 件，完成 2 件（50.0%），得 2.25 / 3 分"
    )
    electricity = dict(zh("F1").inputs)["用电量合计"]
    assert re.fullmatch(r"\d{1,3}(,\d{3})+\.\d\d kWh", electricity), electricity  # separators, 2 places, unit
    b = scores["6105260002"]
    assert zh("C1", b).sentence == "期内未参加营养改善计划，本项不适用"
    assert zh("C2", b).sentence == "期内“食堂从业人员数”合计为 0，本项不适用"
    assert zh("E2", b).sentence == "1 个已报送月份中“报销票据张数”合计为 0，无需核查，得 3.00 / 3 分"
    assert zh("B2", b).sentence == "期内尚无县局现场督查，得 0.00 / 5 分"
    assert zh("G1", b).sentence == "最近一期（2026年9月）报表无住宿生，本项不适用"
    c = scores["6105260003"]
    assert zh("F1", c).sentence == "期内“在校学生数”合计为 0，无生均用量可比，得 5.00 / 5 分"
    en = render_row(a.row("C4").to_dict(), "en")
    assert en.sentence == (
        "1 of 2 participating months with compliant funds (no Misuse of subsidy funds, Balance mismatch,"
        " Carry-over mismatch); 2.00 / 4 points"
    )


def test_one_renderer_for_flags() -> None:
    assert flag_text("missing:2026-03") == "缺报 2026年3月"
    assert flag_text("missing:2026-03", "en") == "Missing Mar 2026"
    assert flag_text("awaiting_inspection") == "待县局现场督查"
    assert flag_text("veto:poisoning_incidents=1") == "一票否决：食物中毒事件数 1"
    assert flag_text("veto:poisoning_incidents=1", "en").startswith("Veto: ")
    assert flag_text("veto:major_accidents=1200") == "一票否决：重大安全责任事故数 1,200"
    assert flag_text("something_new") == "something_new"  # an unknown flag stays visible


def test_explanations_are_made_only_when_a_row_is_shown(rubric: Any) -> None:
    """A county's recompute makes no explanation: it is a cached property of the row, built on first read."""
    [score] = score_county([build_school("6105260009", months=[SEP])], Window(SEP, SEP), rubric)
    row = score.row("C1")
    assert "explanation" not in row.__dict__
    first = row.to_dict()["explanation"]
    assert "explanation" in row.__dict__
    first["params"]["points"] = "changed"  # each caller gets its own copy
    assert row.to_dict()["explanation"]["params"]["points"] == "6"
    assert Decimal(row.to_dict()["earned"]) == 6
