"""houqin_standard.prechecks: the fund rules checked from one report alone (报送前核对), as the agent and the hub's
web preview show them. Figures below are worked out by hand, not by the code under test."""

from __future__ import annotations

import ast
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from helpers_standard import example, mutated

from houqin_standard import prechecks
from houqin_standard.prechecks import precheck

ROOT = Path(__file__).resolve().parents[2]


def clean() -> dict:
    """The example report with every fund rule satisfied (its sample days raised to its meal days)."""
    return mutated(("/food_safety/sample_retention_days", 17))


def codes(report: dict, **kw) -> list[str]:
    return [f["code"] for f in precheck(report, **kw)]


def test_a_clean_report_has_nothing_to_check() -> None:
    assert precheck(clean()) == []


def test_the_issue_s_balance_typo_is_found_with_the_figures() -> None:
    # 1000.00 + 12000.00 − 11399.60 − 0.00 = 1600.40, but 1800.40 was typed
    report = mutated(
        ("/food_safety/sample_retention_days", 17),
        ("/nutrition/opening_balance", "1000.00"),
        ("/nutrition/funds_received", "12000.00"),
        ("/nutrition/food_spend", "11399.60"),
        ("/nutrition/closing_balance", "1800.40"),
        ("/nutrition/meals_served", 2300),
        ("/nutrition/eligible_students", 140),
        ("/nutrition/meal_days", 17),
        ("/nutrition/accompany_meal_days", 17),
    )
    found = precheck(report)
    assert [f["code"] for f in found] == ["BALANCE_MISMATCH", "HIGH_BALANCE"]
    first = found[0]
    assert first["path"] == "/nutrition/closing_balance"
    assert first["message"] == "账目不平：1000.00 + 12000.00 − 11399.60 − 0.00 = 1600.40 ≠ 1800.40"
    assert first["figures"]["difference"] == "200.00"
    assert "cells" not in first
    # 1800.40 > 0.10 × 13000.00 = 1300.00
    assert found[1]["message"] == "资金沉淀：本月结余 1800.40 > 0.10 × (1000.00 + 12000.00) = 1300.00"


def test_meals_over_entitlement_the_issue_s_13000_over_610_x_19() -> None:
    report = mutated(
        ("/food_safety/sample_retention_days", 19),
        ("/nutrition/eligible_students", 610),
        ("/nutrition/meal_days", 19),
        ("/nutrition/accompany_meal_days", 19),
        ("/nutrition/meals_served", 13000),
        ("/nutrition/food_spend", "62000.00"),
        ("/nutrition/funds_received", "62000.00"),
        ("/nutrition/opening_balance", "0.00"),
        ("/nutrition/closing_balance", "0.00"),
    )
    found = precheck(report)
    assert [f["code"] for f in found] == ["MEALS_EXCEED_ENTITLEMENT"]
    assert found[0]["message"] == "供餐人次超标：实际供餐 13000 人次 > 610 人 × 19 天 = 11590 人次"
    assert found[0]["paths"] == ["/nutrition/meals_served", "/nutrition/eligible_students", "/nutrition/meal_days"]


def test_spend_against_meals_both_ways_exact_at_the_limit() -> None:
    base = clean()
    meals = base["nutrition"]["meals_served"]  # 13193 × 5.00 = 65965.00; 0.9 × that = 59368.50
    assert meals == 13193
    at_limit = mutated(("/food_safety/sample_retention_days", 17), ("/nutrition/food_spend", "65965.00"))
    at_limit["nutrition"]["closing_balance"] = "4256.00"  # 2986.00 + 67235.00 − 65965.00
    assert "SPEND_EXCEEDS_MEALS" not in codes(at_limit)
    over = mutated(("/food_safety/sample_retention_days", 17), ("/nutrition/food_spend", "65965.01"))
    over["nutrition"]["closing_balance"] = "4255.99"
    assert codes(over) == ["SPEND_EXCEEDS_MEALS"]
    assert precheck(over)[0]["message"] == "支出超过供餐应支：食材支出 65965.01 > 13193 人次 × 5.00 = 65965.00"
    under = mutated(("/food_safety/sample_retention_days", 17), ("/nutrition/food_spend", "59368.49"))
    under["nutrition"]["closing_balance"] = "10852.51"
    assert "UNDERSPEND" in codes(under)
    assert precheck(under)[0]["figures"]["minimum_spend"] == "59368.50"


def test_the_rate_against_the_county_standard_with_the_tolerance() -> None:
    assert codes(clean(), standard_rate="5.01") == []  # |5.00 − 5.01| = 0.01: within the tolerance
    found = precheck(clean(), standard_rate=Decimal("4.00"))
    assert [f["code"] for f in found] == ["NONSTANDARD_RATE"]
    assert found[0]["message"] == "补助标准不符：补助标准 5.00 元/生/天 ≠ 县定标准 4.00 元/生/天"


def test_balance_tolerance_one_fen_passes_two_fen_fires() -> None:
    one = mutated(("/food_safety/sample_retention_days", 17), ("/nutrition/closing_balance", "4915.66"))
    two = mutated(("/food_safety/sample_retention_days", 17), ("/nutrition/closing_balance", "4915.67"))
    assert codes(one) == []
    assert codes(two) == ["BALANCE_MISMATCH"]


def test_where_maps_paths_to_cells_and_english_words() -> None:
    report = mutated(("/nutrition/other_spend", "10.00"))
    report["nutrition"]["closing_balance"] = "4905.65"
    cells = {"/nutrition/other_spend": "营养餐!C11", "/food_safety/sample_retention_days": "食品安全!C5"}
    found = precheck(report, where=cells.get)
    assert [f["code"] for f in found] == ["MISUSE", "SAMPLE_GAP"]
    assert found[0]["cells"] == ["营养餐!C11"]
    assert found[1]["cells"] == ["食品安全!C5"]  # a path with no cell is left out
    en = precheck(report, lang="en")
    assert en[0]["message"] == "Misuse of subsidy funds: non-food spending from the subsidy 10.00 yuan > 0.00"


def test_not_participating_or_unreadable_figures_give_nothing() -> None:
    off = example()
    off["nutrition"] = {"participating": False}
    assert precheck(off) == []
    assert precheck(mutated(("/nutrition/closing_balance", "12.3"))) == []  # not a money string: validation says so
    assert precheck(mutated(("/nutrition/meals_served", "13193"))) == []
    assert precheck({}) == []
    with pytest.raises(TypeError):  # a float never stands for money
        prechecks.parse_amount(5.0)


def test_the_codes_are_the_fund_engine_s_in_the_spec_s_order() -> None:
    assert prechecks.REPORT_CODES == (
        "BALANCE_MISMATCH",
        "MISUSE",
        "MEALS_EXCEED_ENTITLEMENT",
        "SPEND_EXCEEDS_MEALS",
        "UNDERSPEND",
        "HIGH_BALANCE",
        "NONSTANDARD_RATE",
        "ACCOMPANY_GAP",
        "SAMPLE_GAP",
        "SPEND_EXCEEDS_CONSUMPTION",  # a month sent in @2; STOCK_CARRY_OVER_MISMATCH needs history
        "STOCK_NOT_CHECKED",
    )


def test_standard_library_only() -> None:
    tree = ast.parse((ROOT / "houqin_standard" / "prechecks.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
