"""The one message catalog of the 营养餐 fund anomalies (issue 17 item 5): an anomaly's structured form — its code
and its ``figures`` — put in words, zh and en. Standard library only: the hub's fund engine
(``district.nutrition.anomalies``), its pages, xlsx, PDF and alerts, the hub's web preview and the school's agent
(``houqin-agent submit``'s "请核对") all render anomalies here; no fund message is written anywhere else.

- :func:`detail` — the rule with the month's own figures ("1000.00 + 500.00 − 300.00 − 0.00 = 1200.00 ≠
  1300.00"): the API's ``message`` after the rule's name, unchanged (the wording is contract).
- :func:`message` — the name and the detail ("账目不平：…"; "Balance mismatch: …"): the API's ``message``.
- :func:`sentence` — one plain sentence for a reader who does not know the formula ("本月结余比按收支算出的多
  100.00 元"), money with 2 places and thousands separators, counts with separators.

``figures`` are the engine's strings (money exact, at least 2 places; counts plain integers): the catalog only
places and formats them, it never recomputes a figure (the engine computed ``difference``, ``shortfall_days`` …).
A code or a figure the catalog does not know is shown as it is, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

__all__ = ["FUND_CODE_NAMES", "STOCK_CODES", "detail", "message", "name", "sentence"]

#: Every fund anomaly code in the order of SCORING.md's table, with its name (Chinese, English).
FUND_CODE_NAMES: Mapping[str, tuple[str, str]] = {
    "BALANCE_MISMATCH": ("账目不平", "Balance mismatch"),
    "MISUSE": ("挪用补助资金", "Misuse of subsidy funds"),
    "CARRY_OVER_MISMATCH": ("结转不符", "Carry-over mismatch"),
    "MEALS_EXCEED_ENTITLEMENT": ("供餐人次超标", "Meals exceed entitlement"),
    "SPEND_EXCEEDS_MEALS": ("支出超过供餐应支", "Spending exceeds meals served"),
    "UNDERSPEND": ("餐标不足", "Underspending on meals"),
    "HIGH_BALANCE": ("资金沉淀", "Funds left unspent"),
    "NONSTANDARD_RATE": ("补助标准不符", "Non-standard subsidy rate"),
    "ACCOMPANY_GAP": ("陪餐不足", "Accompanied meals short"),
    "SAMPLE_GAP": ("留样不足", "Food samples short"),
    # the stock anomalies of a month sent in @2 (SCORING.md "Additions for houqin/monthly-report@2")
    "SPEND_EXCEEDS_CONSUMPTION": ("补助支出超过食材消耗", "Spending exceeds food consumed"),
    "STOCK_CARRY_OVER_MISMATCH": ("库存结转不符", "Stock carry-over mismatch"),
    "STOCK_NOT_CHECKED": ("未盘点", "Stock not counted"),
}

#: The stock anomalies (months sent in ``houqin/monthly-report@2`` only), in the order of their table.
STOCK_CODES: tuple[str, ...] = ("SPEND_EXCEEDS_CONSUMPTION", "STOCK_CARRY_OVER_MISMATCH", "STOCK_NOT_CHECKED")

# The rule with its figures: (zh, en) ``str.format_map`` templates over ``figures`` (the wording of the API's
# ``message``; a change here changes the contract).
_DETAIL: Mapping[str, tuple[str, str]] = {
    "BALANCE_MISMATCH": (
        "{opening_balance} + {funds_received} − {food_spend} − {other_spend} = {expected_closing} ≠ {closing_balance}",
        "{opening_balance} + {funds_received} − {food_spend} − {other_spend} = {expected_closing} ≠ {closing_balance}",
    ),
    "MISUSE": (
        "补助资金用于食材以外的支出 {other_spend} 元 > 0.00",
        "non-food spending from the subsidy {other_spend} yuan > 0.00",
    ),
    "CARRY_OVER_MISMATCH": (
        "上月结余 {opening_balance} ≠ {previous_period} 本月结余 {previous_closing_balance}",
        "opening balance {opening_balance} ≠ closing balance {previous_closing_balance} of {previous_period}",
    ),
    "MEALS_EXCEED_ENTITLEMENT": (
        "实际供餐 {meals_served} 人次 > {eligible_students} 人 × {meal_days} 天 = {entitled_meals} 人次",
        "{meals_served} meals served > {eligible_students} students × {meal_days} days = {entitled_meals} meals",
    ),
    "SPEND_EXCEEDS_MEALS": (
        "食材支出 {food_spend} > {meals_served} 人次 × {subsidy_rate} = {allowed_spend}",
        "food spending {food_spend} > {meals_served} meals × {subsidy_rate} = {allowed_spend}",
    ),
    "UNDERSPEND": (
        "食材支出 {food_spend} < 0.9 × {meals_served} 人次 × {subsidy_rate} = {minimum_spend}",
        "food spending {food_spend} < 0.9 × {meals_served} meals × {subsidy_rate} = {minimum_spend}",
    ),
    "HIGH_BALANCE": (
        "本月结余 {closing_balance} > 0.10 × ({opening_balance} + {funds_received}) = {balance_limit}",
        "closing balance {closing_balance} > 0.10 × ({opening_balance} + {funds_received}) = {balance_limit}",
    ),
    "NONSTANDARD_RATE": (
        "补助标准 {subsidy_rate} 元/生/天 ≠ 县定标准 {standard_rate} 元/生/天",
        "subsidy rate {subsidy_rate} yuan per student-day ≠ county standard {standard_rate}",
    ),
    "ACCOMPANY_GAP": (
        "陪餐 {accompany_meal_days} 天 < 供餐 {meal_days} 天",
        "accompanied meals on {accompany_meal_days} days < {meal_days} meal days",
    ),
    "SAMPLE_GAP": (
        "留样合规 {sample_retention_days} 天 < 供餐 {meal_days} 天",
        "compliant food samples on {sample_retention_days} days < {meal_days} meal days",
    ),
    "SPEND_EXCEEDS_CONSUMPTION": (
        "食材支出 {food_spend} > 食材消耗 {opening_stock_value} + {purchases} − {closing_stock_value} = {consumed}",
        "food spending {food_spend} > food consumed {opening_stock_value} + {purchases} − {closing_stock_value}"
        " = {consumed}",
    ),
    "STOCK_CARRY_OVER_MISMATCH": (
        "上月末库存 {opening_stock_value} ≠ {previous_period} 本月末盘存 {previous_closing_stock_value}",
        "opening stock {opening_stock_value} ≠ closing stock {previous_closing_stock_value} of {previous_period}",
    ),
    "STOCK_NOT_CHECKED": ("本月未盘点食材库存", "food stock not counted this month"),
}

# One plain sentence: (zh, en) templates over the figures as people write them (money "1,234.50 元", counts
# "1,234", periods "2026年10月"); ``{gap}`` is the size of the gap where the engine did not compute one.
_SENTENCE: Mapping[str, tuple[str, str]] = {
    "BALANCE_MISMATCH": (
        "本月结余 {closing_balance} 元，按上月结余、收入和支出算应为 {expected_closing} 元，相差 {difference} 元",
        "The closing balance is {closing_balance} yuan; opening balance, income and spending give "
        "{expected_closing} yuan, a difference of {difference} yuan",
    ),
    "MISUSE": (
        "营养餐补助资金用于食材以外的支出 {other_spend} 元",
        "{other_spend} yuan of the meal subsidy was spent on something other than food",
    ),
    "CARRY_OVER_MISMATCH": (
        "上月结余 {opening_balance} 元，与{previous_period}报表的本月结余 {previous_closing_balance} 元不一致，"
        "相差 {difference} 元",
        "The opening balance of {opening_balance} yuan differs from the closing balance of {previous_period}, "
        "{previous_closing_balance} yuan, by {difference} yuan",
    ),
    "MEALS_EXCEED_ENTITLEMENT": (
        "实际供餐 {meals_served} 人次，超过应享受的 {entitled_meals} 人次（{eligible_students} 人 × {meal_days} 天）",
        "{meals_served} meals were served, more than the {entitled_meals} the students are entitled to "
        "({eligible_students} students × {meal_days} days)",
    ),
    "SPEND_EXCEEDS_MEALS": (
        "食材支出 {food_spend} 元，超过按供餐人次应支的 {allowed_spend} 元",
        "Food spending of {food_spend} yuan is above the {allowed_spend} yuan the meals served allow",
    ),
    "UNDERSPEND": (
        "食材支出 {food_spend} 元，不足按供餐人次应支的九成 {minimum_spend} 元",
        "Food spending of {food_spend} yuan is below 90% of what the meals served allow, {minimum_spend} yuan",
    ),
    "HIGH_BALANCE": (
        "本月结余 {closing_balance} 元，超过可用资金的一成 {balance_limit} 元",
        "The closing balance of {closing_balance} yuan is above a tenth of the funds available, {balance_limit} yuan",
    ),
    "NONSTANDARD_RATE": (
        "补助标准填报为每生每天 {subsidy_rate} 元，县定标准是 {standard_rate} 元",
        "The subsidy rate is reported as {subsidy_rate} yuan per student-day; the county's standard is "
        "{standard_rate} yuan",
    ),
    "ACCOMPANY_GAP": (
        "供餐 {meal_days} 天，有陪餐记录的只有 {accompany_meal_days} 天，少 {shortfall_days} 天",
        "Meals on {meal_days} days, accompanied on only {accompany_meal_days}: {shortfall_days} days short",
    ),
    "SAMPLE_GAP": (
        "供餐 {meal_days} 天，留样合规的只有 {sample_retention_days} 天，少 {shortfall_days} 天",
        "Meals on {meal_days} days, compliant food samples on only {sample_retention_days}: "
        "{shortfall_days} days short",
    ),
    "SPEND_EXCEEDS_CONSUMPTION": (
        "补助食材支出 {food_spend} 元，超过本月实际消耗的食材 {consumed} 元（上月末库存 {opening_stock_value} 元"
        " + 本月采购 {purchases} 元 − 本月末盘存 {closing_stock_value} 元），相差 {difference} 元",
        "Food spending of {food_spend} yuan is above the food consumed this month, {consumed} yuan (opening stock "
        "{opening_stock_value} + purchases {purchases} − closing stock {closing_stock_value}), by {difference} yuan",
    ),
    "STOCK_CARRY_OVER_MISMATCH": (
        "上月末库存 {opening_stock_value} 元，与{previous_period}报表的本月末盘存 {previous_closing_stock_value} 元"
        "不一致，相差 {difference} 元",
        "The opening stock of {opening_stock_value} yuan differs from the stock counted at the end of "
        "{previous_period}, {previous_closing_stock_value} yuan, by {difference} yuan",
    ),
    "STOCK_NOT_CHECKED": (
        "本月没有对食堂食材库存进行月底盘点",
        "The canteen's food stock was not counted at the end of the month",
    ),
}

_MONEY = frozenset(
    {
        "opening_balance",
        "funds_received",
        "food_spend",
        "other_spend",
        "closing_balance",
        "expected_closing",
        "previous_closing_balance",
        "allowed_spend",
        "minimum_spend",
        "balance_limit",
        "subsidy_rate",
        "standard_rate",
        "opening_stock_value",
        "purchases",
        "closing_stock_value",
        "consumed",
        "previous_closing_stock_value",
    }
)
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _en(lang: str | None) -> bool:
    return str(lang or "").lower().startswith("en")


def name(code: str, lang: str = "zh") -> str:
    """The anomaly's name ("账目不平"; "Balance mismatch"); an unknown code as it is."""
    names = FUND_CODE_NAMES.get(code)
    return code if names is None else names[1 if _en(lang) else 0]


class _AsIs(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # a figure the engine did not give stays visible as its name


def detail(code: str, figures: Mapping[str, str], lang: str = "zh") -> str:
    """The rule with the month's figures, as the engine's figures are written (the API message's body)."""
    templates = _DETAIL.get(code)
    if templates is None:
        return code
    return templates[1 if _en(lang) else 0].format_map(_AsIs(figures))


def message(code: str, figures: Mapping[str, str], lang: str = "zh") -> str:
    """``"账目不平：<detail>"`` / ``"Balance mismatch: <detail>"`` — the API's ``message``."""
    if _en(lang):
        return f"{name(code, 'en')}: {detail(code, figures, 'en')}"
    return f"{name(code)}：{detail(code, figures)}"


def _money(text: str, *, magnitude: bool = False) -> str:
    """An amount as people write it: 2 places (more only when the engine's exact figure has them), separators;
    ``magnitude``: without its sign (a difference, whose direction the sentence says)."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        return text
    if not value.is_finite():
        return text
    if magnitude:
        value = abs(value)
    exponent = value.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{value:,.{places}f}"


def _count(text: str) -> str:
    try:
        return f"{int(text):,}"
    except (TypeError, ValueError):
        return text


def _period(text: str, en: bool) -> str:
    try:
        year, month = (int(p) for p in text.split("-"))
    except ValueError:
        return text
    if not 1 <= month <= 12:
        return text
    return f"{_MONTHS_EN[month - 1]} {year}" if en else f"{year}年{month}月"


def sentence(code: str, figures: Mapping[str, str], lang: str = "zh") -> str:
    """One plain sentence for the anomaly, numbers as people write them; an unknown code: its message."""
    templates = _SENTENCE.get(code)
    en = _en(lang)
    if templates is None:
        return message(code, figures, lang)
    shown: dict[str, str] = {}
    for key, value in figures.items():
        if key in _MONEY or key == "difference":
            shown[key] = _money(value, magnitude=key == "difference")
        elif key == "previous_period":
            shown[key] = _period(value, en)
        else:
            shown[key] = _count(value)
    return templates[1 if en else 0].format_map(_AsIs(shown))
