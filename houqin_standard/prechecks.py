"""营养餐 fund rules that a report can be checked against on its own (报送前核对).

The pure part of the fund engine of ``shared/spec/SCORING.md`` ("营养餐 fund reconciliation"): every rule of
the table except ``CARRY_OVER_MISMATCH``, which needs the school's earlier report, and of a month sent in
``houqin/monthly-report@2`` the stock rules ``SPEND_EXCEEDS_CONSUMPTION`` and ``STOCK_NOT_CHECKED`` ("Stock
anomalies"; ``STOCK_CARRY_OVER_MISMATCH`` needs history too). The hub's fund engine
(``district/nutrition/anomalies.py``) calls the rule conditions and messages written here and adds only what
needs history; the school agent (``houqin-agent submit``) and the hub's web preview call :func:`precheck` to
show the same findings as "请核对" warnings before the report leaves. Standard library only.

Arithmetic (an auditor must get the same answer by hand): money is ``Decimal`` parsed from the report's money
strings (a float is refused); nothing is rounded before a comparison; the "≠" rules (``BALANCE_MISMATCH``,
``NONSTANDARD_RATE``) fire when ``|a − b| > 0.01``; the ">" and "<" rules compare exactly, except
``SPEND_EXCEEDS_CONSUMPTION``, whose condition states its tolerance: food_spend > consumed + 0.01.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

from . import fund_text
from .money import parse_money

__all__ = [
    "COUNT_RULES",
    "DEFAULT_STANDARD_RATE",
    "HISTORY_CODES",
    "REPORT_CODES",
    "REPORT_CODE_NAMES",
    "RULE_PATHS",
    "STOCK_RULES",
    "TOLERANCE",
    "FundMonth",
    "StockMonth",
    "describe",
    "describe_figures",
    "fired",
    "format_amount",
    "parse_amount",
    "precheck",
]

#: The rules that need the school's earlier report: the hub's fund engine adds them.
HISTORY_CODES = frozenset({"CARRY_OVER_MISMATCH", "STOCK_CARRY_OVER_MISMATCH"})

#: The anomaly codes checked from the report alone, in the order of the spec's tables, with their names
#: (Chinese, English). The carry-over rules (``HISTORY_CODES``) need history: the hub adds them.
REPORT_CODE_NAMES: Mapping[str, tuple[str, str]] = {
    code: names for code, names in fund_text.FUND_CODE_NAMES.items() if code not in HISTORY_CODES
}
REPORT_CODES: tuple[str, ...] = tuple(REPORT_CODE_NAMES)

#: The spec's tolerance for the "≠" rules, in yuan.
TOLERANCE = Decimal("0.01")
#: SCORING.md's default county standard (元/生/天) when the county's own is not known.
DEFAULT_STANDARD_RATE = Decimal("5.00")

_UNDERSPEND_SHARE = Decimal("0.9")
_HIGH_BALANCE_SHARE = Decimal("0.10")
_CENT = Decimal("0.01")

#: The rules that read the month's counts (meals, days, students) or its rate; the others read only balances.
COUNT_RULES = frozenset(
    {"MEALS_EXCEED_ENTITLEMENT", "SPEND_EXCEEDS_MEALS", "UNDERSPEND", "NONSTANDARD_RATE", "ACCOMPANY_GAP", "SAMPLE_GAP"}
)

_N = "/nutrition/"
#: The report fields each rule reads (JSON pointers), the first one the field to correct first.
RULE_PATHS: Mapping[str, tuple[str, ...]] = {
    "BALANCE_MISMATCH": tuple(
        _N + f for f in ("closing_balance", "opening_balance", "funds_received", "food_spend", "other_spend")
    ),
    "MISUSE": (_N + "other_spend",),
    "MEALS_EXCEED_ENTITLEMENT": (_N + "meals_served", _N + "eligible_students", _N + "meal_days"),
    "SPEND_EXCEEDS_MEALS": (_N + "food_spend", _N + "meals_served", _N + "subsidy_rate"),
    "UNDERSPEND": (_N + "food_spend", _N + "meals_served", _N + "subsidy_rate"),
    "HIGH_BALANCE": (_N + "closing_balance", _N + "opening_balance", _N + "funds_received"),
    "NONSTANDARD_RATE": (_N + "subsidy_rate",),
    "ACCOMPANY_GAP": (_N + "accompany_meal_days", _N + "meal_days"),
    "SAMPLE_GAP": ("/food_safety/sample_retention_days", _N + "meal_days"),
    "SPEND_EXCEEDS_CONSUMPTION": (
        _N + "food_spend",
        *(f"/canteen_stock/{f}" for f in ("opening_stock_value", "purchases", "closing_stock_value")),
    ),
    "STOCK_NOT_CHECKED": ("/canteen_stock/stock_checked",),
}

#: The stock rules (a month sent in @2); they read ``FundMonth.stock``.
STOCK_RULES = frozenset(fund_text.STOCK_CODES)


def parse_amount(value: object) -> Decimal:
    """A money string of the report (``parse_money``: exactly 2 decimals) or a ``Decimal`` (a configured figure
    such as the county's standard rate) as an exact ``Decimal``. Floats are refused."""
    if isinstance(value, str):
        return parse_money(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite amount: {value!r}")
        return value
    # A float has already lost the exact amount; ints are not a money form of the standard either.
    raise TypeError(f"money must be a decimal string, got {type(value).__name__}: {value!r}")


def format_amount(value: Decimal) -> str:
    """Exactly, with at least 2 decimals: ``7022.1 → "7022.10"``, ``702.205 → "702.205"``."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{normal:f}"
    return f"{value.quantize(_CENT):f}"


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return value


def _differs(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) > TOLERANCE


class StockMonth:
    """The ``canteen_stock`` section of one month sent in @2, parsed once."""

    __slots__ = ("checked", "closing", "opening", "purchases")

    def __init__(self, opening: object, purchases: object, closing: object, checked: object) -> None:
        self.opening = parse_amount(opening)
        self.purchases = parse_amount(purchases)
        self.closing = parse_amount(closing)
        if checked is not True and checked is not False:
            raise TypeError(f"stock_checked must be true or false, got {checked!r}")
        self.checked = checked

    @classmethod
    def from_section(cls, section: object) -> StockMonth | None:
        """The section of a report (``None``: a month that has none — sent in @1, or not participating)."""
        if section is None:
            return None
        if not isinstance(section, Mapping):
            raise TypeError(f"canteen_stock must be an object, got {section!r}")
        return cls(
            section["opening_stock_value"], section["purchases"], section["closing_stock_value"],
            section["stock_checked"],
        )  # fmt: skip

    def consumed(self) -> Decimal:
        """Food consumed: opening + purchases − closing (STANDARD-v2.md)."""
        return self.opening + self.purchases - self.closing


class FundMonth:
    """The figures of one participating month, parsed and checked once (``counts``: also the meals, days,
    students and rate that the rules of ``COUNT_RULES`` read; ``stock``: the month's ``canteen_stock``, ``None``
    for a month sent in @1, whose stock is not reported)."""

    __slots__ = (
        "accompany_days", "closing", "eligible", "food", "meal_days", "meals", "opening", "other", "period",
        "rate", "received", "sample_days", "school_code", "stock",
    )  # fmt: skip

    def __init__(
        self,
        school_code: str,
        period: str,
        opening: object,
        received: object,
        food: object,
        other: object,
        closing: object,
        rate: object = None,
        eligible: object = None,
        meal_days: object = None,
        meals: object = None,
        accompany_days: object = None,
        sample_days: object = None,
        *,
        counts: bool = True,
        stock: StockMonth | None = None,
    ) -> None:
        self.school_code = school_code
        self.stock = stock
        self.period = period
        self.opening = parse_amount(opening)
        self.received = parse_amount(received)
        self.food = parse_amount(food)
        self.other = parse_amount(other)
        self.closing = parse_amount(closing)
        if counts:
            self.rate = parse_amount(rate)
            self.eligible = _count(eligible, "eligible_students")
            self.meal_days = _count(meal_days, "meal_days")
            self.meals = _count(meals, "meals_served")
            self.accompany_days = _count(accompany_days, "accompany_meal_days")
            self.sample_days = _count(sample_days, "sample_retention_days")

    @classmethod
    def from_report(cls, report: Mapping[str, Any], *, counts: bool = True) -> FundMonth:
        n = report["nutrition"]
        stock = StockMonth.from_section(report.get("canteen_stock"))
        if not counts:
            return cls(
                report["school_code"], report["period"], n["opening_balance"], n["funds_received"],
                n["food_spend"], n["other_spend"], n["closing_balance"], counts=False, stock=stock,
            )  # fmt: skip
        return cls(
            report["school_code"], report["period"], n["opening_balance"], n["funds_received"], n["food_spend"],
            n["other_spend"], n["closing_balance"], n["subsidy_rate"], n["eligible_students"], n["meal_days"],
            n["meals_served"], n["accompany_meal_days"], report["food_safety"]["sample_retention_days"],
            stock=stock,
        )  # fmt: skip

    def expected_closing(self) -> Decimal:
        return self.opening + self.received - self.food - self.other

    def entitled(self) -> int:
        return self.eligible * self.meal_days

    def allowed(self) -> Decimal:
        return self.meals * self.rate

    def minimum(self) -> Decimal:
        return _UNDERSPEND_SHARE * self.meals * self.rate

    def limit(self) -> Decimal:
        return _HIGH_BALANCE_SHARE * (self.opening + self.received)


def fired(f: FundMonth, standard_rate: Decimal, only: Collection[str] | None = None) -> list[str]:
    """The codes of the report-only rules whose condition holds, in ``REPORT_CODES`` order: every rule's
    condition, written once. ``only``: check just these codes."""
    out: list[str] = []
    every = only is None
    wanted: Collection[str] = () if only is None else only
    # 账目不平 opening + received − food − other ≠ closing
    if (every or "BALANCE_MISMATCH" in wanted) and _differs(f.expected_closing(), f.closing):
        out.append("BALANCE_MISMATCH")
    # 挪用补助资金 other_spend > 0
    if (every or "MISUSE" in wanted) and f.other > 0:
        out.append("MISUSE")
    # 供餐人次超标 meals_served > eligible_students × meal_days
    if (every or "MEALS_EXCEED_ENTITLEMENT" in wanted) and f.meals > f.entitled():
        out.append("MEALS_EXCEED_ENTITLEMENT")
    # 支出超过供餐应支 food_spend > meals_served × subsidy_rate
    if (every or "SPEND_EXCEEDS_MEALS" in wanted) and f.food > f.allowed():
        out.append("SPEND_EXCEEDS_MEALS")
    # 餐标不足 food_spend < 0.9 × meals_served × subsidy_rate
    if (every or "UNDERSPEND" in wanted) and f.food < f.minimum():
        out.append("UNDERSPEND")
    # 资金沉淀 closing_balance > 0.10 × (opening_balance + funds_received)
    if (every or "HIGH_BALANCE" in wanted) and f.closing > f.limit():
        out.append("HIGH_BALANCE")
    # 补助标准不符 subsidy_rate ≠ the county's standard
    if (every or "NONSTANDARD_RATE" in wanted) and _differs(f.rate, standard_rate):
        out.append("NONSTANDARD_RATE")
    # 陪餐不足 accompany_meal_days < meal_days
    if (every or "ACCOMPANY_GAP" in wanted) and f.accompany_days < f.meal_days:
        out.append("ACCOMPANY_GAP")
    # 留样不足 food_safety.sample_retention_days < meal_days
    if (every or "SAMPLE_GAP" in wanted) and f.sample_days < f.meal_days:
        out.append("SAMPLE_GAP")
    stock = f.stock
    if stock is None:  # a month sent in @1: its stock is not reported, so no stock rule applies
        return out
    # 补助支出超过食材消耗 food_spend > opening_stock_value + purchases − closing_stock_value (+ 0.01)
    if (every or "SPEND_EXCEEDS_CONSUMPTION" in wanted) and f.food - stock.consumed() > TOLERANCE:
        out.append("SPEND_EXCEEDS_CONSUMPTION")
    # 未盘点 stock_checked is false
    if (every or "STOCK_NOT_CHECKED" in wanted) and stock.checked is False:
        out.append("STOCK_NOT_CHECKED")
    return out


def describe(
    code: str, f: FundMonth, m: Callable[[Decimal], str], standard_rate: Decimal
) -> tuple[str, str, dict[str, str]]:
    """The Chinese and English message (without the rule's name) and the figures of one report-only
    anomaly that :func:`fired` found. ``m`` formats an amount (``format_amount``, possibly memoised). The
    figures are the anomaly's structured form; the words are ``fund_text.detail`` of them (the one catalog)."""
    figures = describe_figures(code, f, m, standard_rate)
    return fund_text.detail(code, figures, "zh"), fund_text.detail(code, figures, "en"), figures


def describe_figures(code: str, f: FundMonth, m: Callable[[Decimal], str], standard_rate: Decimal) -> dict[str, str]:
    """The figures of one report-only anomaly: the inputs that triggered it and the computed values, as text
    (money by ``m``, counts as plain integers)."""
    opening, received, food, other, closing = f.opening, f.received, f.food, f.other, f.closing
    if code == "BALANCE_MISMATCH":
        expected_closing = f.expected_closing()
        return {
            "opening_balance": m(opening),
            "funds_received": m(received),
            "food_spend": m(food),
            "other_spend": m(other),
            "closing_balance": m(closing),
            "expected_closing": m(expected_closing),
            "difference": m(closing - expected_closing),
        }
    if code == "MISUSE":
        return {"other_spend": m(other)}
    if code in STOCK_RULES:
        return _stock_figures(code, f, m)
    if code == "HIGH_BALANCE":
        return {
            "closing_balance": m(closing),
            "opening_balance": m(opening),
            "funds_received": m(received),
            "balance_limit": m(f.limit()),
        }
    rate, meals, eligible, meal_days = f.rate, f.meals, f.eligible, f.meal_days
    if code == "MEALS_EXCEED_ENTITLEMENT":
        return {
            "meals_served": str(meals),
            "eligible_students": str(eligible),
            "meal_days": str(meal_days),
            "entitled_meals": str(f.entitled()),
        }
    if code == "SPEND_EXCEEDS_MEALS":
        return {
            "food_spend": m(food),
            "meals_served": str(meals),
            "subsidy_rate": m(rate),
            "allowed_spend": m(f.allowed()),
        }
    if code == "UNDERSPEND":
        return {
            "food_spend": m(food),
            "meals_served": str(meals),
            "subsidy_rate": m(rate),
            "minimum_spend": m(f.minimum()),
        }
    if code == "NONSTANDARD_RATE":
        return {"subsidy_rate": m(rate), "standard_rate": m(standard_rate)}
    accompany_days, sample_days = f.accompany_days, f.sample_days
    if code == "ACCOMPANY_GAP":
        return {
            "accompany_meal_days": str(accompany_days),
            "meal_days": str(meal_days),
            "shortfall_days": str(meal_days - accompany_days),
        }
    if code != "SAMPLE_GAP":
        raise ValueError(f"not a report-only fund rule: {code}")
    return {
        "sample_retention_days": str(sample_days),
        "meal_days": str(meal_days),
        "shortfall_days": str(meal_days - sample_days),
    }


def _stock_figures(code: str, f: FundMonth, m: Callable[[Decimal], str]) -> dict[str, str]:
    stock = f.stock
    if stock is None:
        raise ValueError(f"{code}: the month has no canteen_stock")
    if code == "STOCK_NOT_CHECKED":
        return {"stock_checked": "false"}
    if code != "SPEND_EXCEEDS_CONSUMPTION":
        raise ValueError(f"not a report-only fund rule: {code}")
    consumed = stock.consumed()
    return {
        "food_spend": m(f.food),
        "opening_stock_value": m(stock.opening),
        "purchases": m(stock.purchases),
        "closing_stock_value": m(stock.closing),
        "consumed": m(consumed),
        "difference": m(f.food - consumed),
    }


def precheck(
    content: Mapping[str, Any],
    *,
    standard_rate: Decimal | str = DEFAULT_STANDARD_RATE,
    where: Callable[[str], str | None] | None = None,
    lang: str = "zh",
) -> list[dict[str, Any]]:
    """The fund rules a report can be checked against on its own, as "请核对" warnings before it is sent:
    ``[{path, code, message, sentence, figures, paths, cells?}]`` in the order of the spec's table, with the hub's
    fund engine's codes and words (``houqin_standard.fund_text``; ``message``: "账目不平：1000.00 + … = 1600.40 ≠
    1800.40", ``sentence`` the plain one; English for ``lang="en"``). ``path`` is the field to look at first,
    ``paths`` every field the rule reads. ``where`` maps a path to where the clerk typed it (``营养餐!C12``);
    given, each finding carries ``cells``.

    A month that is not participating gives ``[]``; so does a report whose fund figures cannot be read (the
    validation errors say why; this is no place to repeat them). ``standard_rate``: the county's configured
    subsidy standard (元/生/天), by default SCORING.md's 5.00.
    """
    try:
        nutrition = content.get("nutrition")
        if not isinstance(nutrition, Mapping) or nutrition.get("participating") is not True:
            return []
        rate = parse_amount(standard_rate)
        f = FundMonth.from_report(content)
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
        return []
    en = str(lang or "").lower().startswith("en")
    out: list[dict[str, Any]] = []
    for code in fired(f, rate):
        figures = describe_figures(code, f, format_amount, rate)
        paths = RULE_PATHS[code]
        finding: dict[str, Any] = {
            "path": paths[0],
            "code": code,
            "message": fund_text.message(code, figures, "en" if en else "zh"),
            "sentence": fund_text.sentence(code, figures, "en" if en else "zh"),
            "figures": figures,
            "paths": list(paths),
        }
        if where is not None:
            finding["cells"] = [c for c in (where(p) for p in paths) if c]
        out.append(finding)
    return out
