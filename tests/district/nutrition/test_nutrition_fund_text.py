"""The fund anomalies' one catalog (``houqin_standard.fund_text``, issue 17 item 5): every anomaly the engine
finds is its code and figures; the API's ``message`` and the plain ``sentence`` are the catalog's words of them,
the same on every surface (the engine, the agent's pre-check, the alerts)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from district.nutrition.anomalies import ANOMALY_CODES, Anomaly
from houqin_standard import fund_text
from houqin_standard.prechecks import precheck
from tests.district.nutrition.conftest import anomalies_of, stock_section


@pytest.fixture
def every_code(make_report: Callable[..., dict[str, Any]]) -> dict[str, Anomaly]:
    """One anomaly of each of the ten codes, found by the engine in hand-made months."""
    found: list[Anomaly] = []
    previous = make_report(period="2026-08", closing_balance="0.00")
    found += anomalies_of(
        make_report(other_spend="100.00", accompany_meal_days=10, sample_retention_days=19), previous
    )  # BALANCE_MISMATCH, MISUSE, CARRY_OVER_MISMATCH, ACCOMPANY_GAP, SAMPLE_GAP
    found += anomalies_of(make_report(eligible_students=90), None)
    found += anomalies_of(make_report(food_spend="9750.01", closing_balance="749.99"), None)
    found += anomalies_of(
        make_report(opening_balance="0.00", funds_received="8800.00", food_spend="8774.99", closing_balance="25.01"),
        None,
    )
    found += anomalies_of(
        make_report(
            meals_served=1264,
            opening_balance="0.00",
            funds_received="7022.05",
            food_spend="6319.84",
            closing_balance="702.21",
        ),
        None,
    )
    found += anomalies_of(
        make_report(subsidy_rate="4.00", funds_received="8000.00", food_spend="7800.00", closing_balance="700.00"),
        None,
    )
    # a month sent in @2: 40.00 + 9000.00 − 100.00 = 8940.00 consumed < 9750.00 spent; opening stock 40.00 ≠
    # August's closing stock 50.00; not counted
    previous_stock = make_report(period="2026-08", stock=stock_section("0.00", "100.00", "50.00"))
    found += anomalies_of(
        make_report(stock=stock_section("40.00", "9000.00", "100.00", checked=False)), None,
        previous_stock=previous_stock,
    )  # fmt: skip
    by_code = {a.code: a for a in found}
    assert list(by_code) != [] and set(by_code) == set(ANOMALY_CODES)
    return by_code


def test_the_message_is_the_catalog_s_words_of_code_and_figures(every_code: dict[str, Anomaly]) -> None:
    for code, a in every_code.items():
        assert a.zh == fund_text.message(code, a.figures, "zh") == f"{a.name_zh}：{fund_text.detail(code, a.figures)}"
        assert a.en == fund_text.message(code, a.figures, "en")
        for lang in ("zh", "en"):
            said = a.sentence(lang)
            assert "{" not in said and "}" not in said, (code, said)  # every figure the sentence names is given
            assert a.to_dict(lang)["sentence"] == said
        assert not any(c.isascii() and c.isalpha() for c in a.sentence("zh")), a.sentence("zh")  # plain Chinese


def test_sentences_write_numbers_as_people_do(every_code: dict[str, Anomaly]) -> None:
    # 500 + 10000 − 9750 − 100 = 650.00, reported 750.00: the difference's sign is in the words
    assert every_code["BALANCE_MISMATCH"].sentence() == (
        "本月结余 750.00 元，按上月结余、收入和支出算应为 650.00 元，相差 100.00 元"
    )
    # the carry-over basis as a month in words, not 2026-08
    assert every_code["CARRY_OVER_MISMATCH"].sentence() == (
        "上月结余 500.00 元，与2026年8月报表的本月结余 0.00 元不一致，相差 500.00 元"
    )
    assert (
        every_code["CARRY_OVER_MISMATCH"]
        .sentence("en")
        .startswith("The opening balance of 500.00 yuan differs from the closing balance of Aug 2026, 0.00 yuan")
    )
    assert every_code["MEALS_EXCEED_ENTITLEMENT"].sentence() == (
        "实际供餐 1,950 人次，超过应享受的 1,800 人次（90 人 × 20 天）"
    )
    # an exact limit of 3 places stays exact (never "702.21 > 702.21")
    assert every_code["HIGH_BALANCE"].sentence() == "本月结余 702.21 元，超过可用资金的一成 702.205 元"
    assert every_code["ACCOMPANY_GAP"].sentence() == "供餐 20 天，有陪餐记录的只有 10 天，少 10 天"
    assert fund_text.sentence("MISUSE", {"other_spend": "12345.60"}) == "营养餐补助资金用于食材以外的支出 12,345.60 元"


def test_unknown_codes_and_figures_stay_visible() -> None:
    assert fund_text.name("NEW_RULE") == "NEW_RULE"
    assert fund_text.message("NEW_RULE", {}, "zh") == "NEW_RULE：NEW_RULE"
    assert fund_text.sentence("MISUSE", {}) == "营养餐补助资金用于食材以外的支出 {other_spend} 元"


def test_the_agent_s_pre_check_says_the_same_words(make_report: Callable[..., dict[str, Any]]) -> None:
    report = make_report(eligible_students=90)
    [finding] = precheck(report)
    [a] = anomalies_of(report, None)
    assert (finding["code"], finding["message"], finding["sentence"], finding["figures"]) == (
        a.code,
        a.zh,
        a.sentence(),
        a.figures,
    )
    [english] = precheck(report, lang="en")
    assert english["sentence"] == a.sentence("en") and english["message"] == a.en


def test_the_catalog_needs_no_flask() -> None:
    """The school's agent renders with it: importing it (and the pre-check) loads nothing of the hub."""
    code = (
        "import sys, houqin_standard.fund_text, houqin_standard.prechecks; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'district', 'sqlalchemy')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
