"""营养餐 fund reconciliation: the anomaly rules of one school-month (the one fund-rule engine).

``month_anomalies`` applies the table "营养餐 fund reconciliation" of ``shared/spec/SCORING.md`` to one
participating school-month. The scoring engine (indicator C4), the county fund report, the JSON API, the xlsx
and the PDF all call it; no fund rule is written anywhere else.

Arithmetic and comparisons (an auditor must get the same answer by hand):

- Money is ``Decimal`` end to end, parsed from the report's money strings; a float is refused (``TypeError``).
  Every product and sum below is exact; nothing is rounded before a comparison.
- The three "≠" rules (``BALANCE_MISMATCH``, ``CARRY_OVER_MISMATCH``, ``NONSTANDARD_RATE``) use the spec's
  tolerance: they fire when ``|a − b| > 0.01``. A difference of exactly 0.01 passes, 0.02 fails. The
  tolerance is applied to all three because the spec states it once for the whole table.
- The ">" and "<" rules (``MISUSE``, ``MEALS_EXCEED_ENTITLEMENT``, ``SPEND_EXCEEDS_MEALS``, ``UNDERSPEND``,
  ``HIGH_BALANCE``, ``ACCOMPANY_GAP``, ``SAMPLE_GAP``) compare exactly, with no tolerance: a limit is a limit,
  and a tolerance there would let ``other_spend = 0.01`` (misuse of one fen) or ``food_spend`` one fen over
  ``meals_served × subsidy_rate`` pass unnoticed.
- Figures in messages and in ``figures``: money read from the report is shown with 2 decimals; a computed
  value is shown exactly, with at least 2 decimals (``0.10 × 70221.00 = 7022.10``, but ``0.10 × 7022.05 =
  702.205``) so that a message never reads "702.21 > 702.21". Counts are plain integers.

Anomalies of one month come in the order of ``ANOMALY_CODES`` (the order of the spec's table).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from district.reports.figures import INDEX as FIGURE_INDEX
from houqin_standard import parse_money

__all__ = [
    "ANOMALY_CODES",
    "FUND_COMPLIANCE_CODES",
    "TOLERANCE",
    "Anomaly",
    "AnomalyName",
    "chain_anomaly_codes",
    "format_amount",
    "month_anomalies",
    "parse_amount",
]


class AnomalyName(NamedTuple):
    zh: str
    en: str


#: Every anomaly code, in the order of the spec's table, with its name in Chinese and English.
ANOMALY_CODES: Mapping[str, AnomalyName] = MappingProxyType(
    {
        "BALANCE_MISMATCH": AnomalyName("账目不平", "Balance mismatch"),
        "MISUSE": AnomalyName("挪用补助资金", "Misuse of subsidy funds"),
        "CARRY_OVER_MISMATCH": AnomalyName("结转不符", "Carry-over mismatch"),
        "MEALS_EXCEED_ENTITLEMENT": AnomalyName("供餐人次超标", "Meals exceed entitlement"),
        "SPEND_EXCEEDS_MEALS": AnomalyName("支出超过供餐应支", "Spending exceeds meals served"),
        "UNDERSPEND": AnomalyName("餐标不足", "Underspending on meals"),
        "HIGH_BALANCE": AnomalyName("资金沉淀", "Funds left unspent"),
        "NONSTANDARD_RATE": AnomalyName("补助标准不符", "Non-standard subsidy rate"),
        "ACCOMPANY_GAP": AnomalyName("陪餐不足", "Accompanied meals short"),
        "SAMPLE_GAP": AnomalyName("留样不足", "Food samples short"),
    }
)

#: The anomalies that make a participating month non-compliant for scoring indicator C4 (营养餐 · 资金合规).
FUND_COMPLIANCE_CODES: tuple[str, ...] = ("MISUSE", "BALANCE_MISMATCH", "CARRY_OVER_MISMATCH")

#: The spec's tolerance for the "≠" rules, in yuan.
TOLERANCE = Decimal("0.01")

_UNDERSPEND_SHARE = Decimal("0.9")
_HIGH_BALANCE_SHARE = Decimal("0.10")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Anomaly:
    """One anomaly of one school-month.

    ``figures`` holds the inputs that triggered it and the computed value, all as strings.
    """

    school_code: str
    period: str
    code: str
    zh: str
    en: str
    figures: dict[str, str] = field(default_factory=dict)

    @property
    def name_zh(self) -> str:
        return ANOMALY_CODES[self.code].zh

    @property
    def name_en(self) -> str:
        return ANOMALY_CODES[self.code].en

    def message(self, lang: str = "zh") -> str:
        return self.en if lang.lower().startswith("en") else self.zh

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """``{"school_code", "period", "code", "message", "figures"}``; message in English for lang "en"."""
        return {
            "school_code": self.school_code,
            "period": self.period,
            "code": self.code,
            "message": self.message(lang),
            "figures": dict(self.figures),
        }


def parse_amount(value: object) -> Decimal:
    """A money string of the report (``houqin_standard.parse_money``: exactly 2 decimals) or a ``Decimal``
    (a configured figure such as the county's standard rate) as an exact ``Decimal``. Floats are refused."""
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


class _Fund:
    """The figures of one participating month, parsed and checked once; the values the rules compare them with
    are the functions below, each written once for the rule and its message."""

    __slots__ = (
        "accompany_days",
        "closing",
        "eligible",
        "food",
        "meal_days",
        "meals",
        "opening",
        "other",
        "period",
        "rate",
        "received",
        "sample_days",
        "school_code",
    )  # fmt: skip

    def __init__(self, report: Mapping[str, Any] | list[Any], counts: bool = True) -> None:
        """The month of ``report``: a parsed report, or its figures (``district.reports.figures``)."""
        if type(report) is list:
            (school_code, period, opening, received, food, other, closing,
             rate, eligible, meal_days, meals, accompany_days, sample_days) = _FUND_FIGURES(report)  # fmt: skip
        else:
            nutrition = report["nutrition"]
            school_code, period = report["school_code"], report["period"]
            opening, received = nutrition["opening_balance"], nutrition["funds_received"]
            food, other, closing = nutrition["food_spend"], nutrition["other_spend"], nutrition["closing_balance"]
            if counts:
                rate, eligible = nutrition["subsidy_rate"], nutrition["eligible_students"]
                meal_days, meals = nutrition["meal_days"], nutrition["meals_served"]
                accompany_days = nutrition["accompany_meal_days"]
                sample_days = report["food_safety"]["sample_retention_days"]
        self.school_code: str = school_code
        self.period: str = period
        self.opening = parse_amount(opening)
        self.received = parse_amount(received)
        self.food = parse_amount(food)
        self.other = parse_amount(other)
        self.closing = parse_amount(closing)
        if counts:  # the rules on meals, days and the rate (``_COUNT_RULES``) read these
            self.rate = parse_amount(rate)
            self.eligible = _count(eligible, "eligible_students")
            self.meal_days = _count(meal_days, "meal_days")
            self.meals = _count(meals, "meals_served")
            self.accompany_days = _count(accompany_days, "accompany_meal_days")
            self.sample_days = _count(sample_days, "sample_retention_days")


#: What ``_Fund`` reads of a figures list, in its order.
_FUND_FIGURES = operator.itemgetter(
    *(
        FIGURE_INDEX[name]
        for name in (
            "school_code",
            "period",
            "nutrition.opening_balance",
            "nutrition.funds_received",
            "nutrition.food_spend",
            "nutrition.other_spend",
            "nutrition.closing_balance",
            "nutrition.subsidy_rate",
            "nutrition.eligible_students",
            "nutrition.meal_days",
            "nutrition.meals_served",
            "nutrition.accompany_meal_days",
            "food_safety.sample_retention_days",
        )
    )
)
_PARTICIPATING = FIGURE_INDEX["nutrition.participating"]
_SCHOOL_CODE = FIGURE_INDEX["school_code"]
_PERIOD = FIGURE_INDEX["period"]
_CLOSING = FIGURE_INDEX["nutrition.closing_balance"]


#: The rules that read the month's counts (meals, days, students) or its rate; the others read only balances.
_COUNT_RULES = frozenset(
    {
        "MEALS_EXCEED_ENTITLEMENT",
        "SPEND_EXCEEDS_MEALS",
        "UNDERSPEND",
        "NONSTANDARD_RATE",
        "ACCOMPANY_GAP",
        "SAMPLE_GAP",
    }
)


def _expected_closing(f: _Fund) -> Decimal:
    return f.opening + f.received - f.food - f.other


def _entitled(f: _Fund) -> int:
    return f.eligible * f.meal_days


def _allowed(f: _Fund) -> Decimal:
    return f.meals * f.rate


def _minimum(f: _Fund) -> Decimal:
    return _UNDERSPEND_SHARE * f.meals * f.rate


def _limit(f: _Fund) -> Decimal:
    return _HIGH_BALANCE_SHARE * (f.opening + f.received)


def _fired(
    f: _Fund, previous_closing: Decimal | None, standard_rate: Decimal, only: Collection[str] | None = None
) -> list[str]:
    """The codes whose condition holds, in ``ANOMALY_CODES`` order: every rule's condition, written once.
    ``only``: check just these codes (scoring's C4 asks for three; the figures the others need are not even
    parsed)."""
    out: list[str] = []
    every = only is None
    # 账目不平 opening + received − food − other ≠ closing
    if (every or "BALANCE_MISMATCH" in only) and _differs(_expected_closing(f), f.closing):
        out.append("BALANCE_MISMATCH")
    # 挪用补助资金 other_spend > 0
    if (every or "MISUSE" in only) and f.other > 0:
        out.append("MISUSE")
    # 结转不符 opening ≠ closing of the most recent earlier participating report
    if (
        (every or "CARRY_OVER_MISMATCH" in only)
        and previous_closing is not None
        and _differs(f.opening, previous_closing)
    ):
        out.append("CARRY_OVER_MISMATCH")
    # 供餐人次超标 meals_served > eligible_students × meal_days
    if (every or "MEALS_EXCEED_ENTITLEMENT" in only) and f.meals > _entitled(f):
        out.append("MEALS_EXCEED_ENTITLEMENT")
    # 支出超过供餐应支 food_spend > meals_served × subsidy_rate
    if (every or "SPEND_EXCEEDS_MEALS" in only) and f.food > _allowed(f):
        out.append("SPEND_EXCEEDS_MEALS")
    # 餐标不足 food_spend < 0.9 × meals_served × subsidy_rate
    if (every or "UNDERSPEND" in only) and f.food < _minimum(f):
        out.append("UNDERSPEND")
    # 资金沉淀 closing_balance > 0.10 × (opening_balance + funds_received)
    if (every or "HIGH_BALANCE" in only) and f.closing > _limit(f):
        out.append("HIGH_BALANCE")
    # 补助标准不符 subsidy_rate ≠ the county's standard
    if (every or "NONSTANDARD_RATE" in only) and _differs(f.rate, standard_rate):
        out.append("NONSTANDARD_RATE")
    # 陪餐不足 accompany_meal_days < meal_days
    if (every or "ACCOMPANY_GAP" in only) and f.accompany_days < f.meal_days:
        out.append("ACCOMPANY_GAP")
    # 留样不足 food_safety.sample_retention_days < meal_days
    if (every or "SAMPLE_GAP" in only) and f.sample_days < f.meal_days:
        out.append("SAMPLE_GAP")
    return out


def _previous_closing(
    report: Mapping[str, Any], previous_participating: Mapping[str, Any] | None
) -> tuple[str, Decimal] | None:
    if previous_participating is None:
        return None
    prev_period = _check_previous(report, previous_participating)
    return prev_period, parse_amount(previous_participating["nutrition"]["closing_balance"])


def chain_anomaly_codes(
    months: Sequence[list[Any]],
    previous_participating: list[Any] | None,
    *,
    standard_rate: Decimal = Decimal("5.00"),
    only: Collection[str] | None = None,
) -> list[list[str]]:
    """The codes of ``month_anomalies`` for each of one school's participating months, without messages: what
    scoring indicator C4 reads for every school of a county. ``months``: the figures
    (``district.reports.figures``) of one school's participating reports in ascending period order; each
    month's carry-over basis is the report before it (the first one's: ``previous_participating``, figures
    too), with the same checks as ``month_anomalies`` (``ValueError``). ``only``: just these codes are checked
    (C4 counts three; the figures the others need are not even parsed)."""
    rate = parse_amount(standard_rate)
    if only is not None:
        only = frozenset(only)
    counts = only is None or not _COUNT_RULES.isdisjoint(only)
    out: list[list[str]] = []
    previous: list[Any] = []
    closing: Decimal | None = None
    for i, values in enumerate(months):
        if values[_PARTICIPATING] is not True:
            raise ValueError(f"{values[_PERIOD]}: not a participating report")
        if i == 0:
            basis = None if previous_participating is None else _shaped(previous_participating)
            found = _previous_closing(_shaped(values), basis)
            closing = None if found is None else found[1]
        elif values[_SCHOOL_CODE] != previous[_SCHOOL_CODE] or not previous[_PERIOD] < values[_PERIOD]:
            # the report before it is in ``months``, and was checked participating there
            raise ValueError(f"{values[_PERIOD]}: reports must be one school's, in period order")
        fund = _Fund(values, counts=counts)
        out.append(_fired(fund, closing, rate, only))
        previous, closing = values, fund.closing
    return out


def _shaped(values: list[Any]) -> dict[str, Any]:
    """What ``_previous_closing`` reads of a report, from its figures (once per school: the chain's start)."""
    return {
        "school_code": values[_SCHOOL_CODE],
        "period": values[_PERIOD],
        "nutrition": {"participating": values[_PARTICIPATING], "closing_balance": values[_CLOSING]},
    }


def month_anomalies(
    report: Mapping[str, Any],
    previous_participating: Mapping[str, Any] | None,
    *,
    standard_rate: Decimal = Decimal("5.00"),
) -> list[Anomaly]:
    """The fund anomalies of one school-month, in ``ANOMALY_CODES`` order.

    ``report`` is a parsed, valid report (``houqin/monthly-report@1``). A month with
    ``nutrition.participating`` false gives ``[]``.

    ``previous_participating`` is the school's most recent participating report before ``report.period``
    (across non-participating months and break months), or ``None`` when there is none or it is unknown;
    ``CARRY_OVER_MISMATCH`` is checked only when it is given. Passing a non-participating report, another
    school's report, or one that is not earlier is a caller's error (``ValueError``): silently skipping the
    check would hide a carry-over anomaly.

    ``standard_rate`` is the county's configured subsidy standard (元/生/天) for ``NONSTANDARD_RATE``.
    """
    if not report["nutrition"].get("participating"):
        return []
    standard_rate = parse_amount(standard_rate)
    f = _Fund(report)
    previous = _previous_closing(report, previous_participating)
    codes = _fired(f, None if previous is None else previous[1], standard_rate)
    if not codes:
        return []

    # Each figure appears in the Chinese message, the English one and ``figures``: format each Decimal object
    # once. Keyed by identity (equal Decimals may print differently, 0.00 and -0.00), with the object kept in
    # the memo so that its id cannot be reused by another value during this call.
    formatted: dict[int, tuple[Decimal, str]] = {}

    def m(value: Decimal) -> str:
        hit = formatted.get(id(value))
        if hit is None:
            hit = formatted[id(value)] = (value, format_amount(value))
        return hit[1]

    found: list[Anomaly] = []
    for code in codes:
        zh, en, figures = _describe(code, f, m, previous, standard_rate)
        name = ANOMALY_CODES[code]
        found.append(Anomaly(f.school_code, f.period, code, f"{name.zh}：{zh}", f"{name.en}: {en}", figures))
    return found


def _describe(
    code: str,
    f: _Fund,
    m: Callable[[Decimal], str],
    previous: tuple[str, Decimal] | None,
    standard_rate: Decimal,
) -> tuple[str, str, dict[str, str]]:
    """The Chinese and English message and the figures of one anomaly that ``_fired`` found."""
    opening, received, food, other, closing, rate = f.opening, f.received, f.food, f.other, f.closing, f.rate
    meals, eligible, meal_days = f.meals, f.eligible, f.meal_days
    if code == "BALANCE_MISMATCH":
        expected_closing = _expected_closing(f)
        equation = (
            f"{m(opening)} + {m(received)} − {m(food)} − {m(other)} = {m(expected_closing)} ≠ {m(closing)}"
        )
        return equation, equation, {
            "opening_balance": m(opening),
            "funds_received": m(received),
            "food_spend": m(food),
            "other_spend": m(other),
            "closing_balance": m(closing),
            "expected_closing": m(expected_closing),
            "difference": m(closing - expected_closing),
        }
    if code == "MISUSE":
        return (
            f"补助资金用于食材以外的支出 {m(other)} 元 > 0.00",
            f"non-food spending from the subsidy {m(other)} yuan > 0.00",
            {"other_spend": m(other)},
        )
    if code == "CARRY_OVER_MISMATCH":
        assert previous is not None
        prev_period, prev_closing = previous
        return (
            f"上月结余 {m(opening)} ≠ {prev_period} 本月结余 {m(prev_closing)}",
            f"opening balance {m(opening)} ≠ closing balance {m(prev_closing)} of {prev_period}",
            {
                "opening_balance": m(opening),
                "previous_period": prev_period,
                "previous_closing_balance": m(prev_closing),
                "difference": m(opening - prev_closing),
            },
        )
    if code == "MEALS_EXCEED_ENTITLEMENT":
        entitled = _entitled(f)
        return (
            f"实际供餐 {meals} 人次 > {eligible} 人 × {meal_days} 天 = {entitled} 人次",
            f"{meals} meals served > {eligible} students × {meal_days} days = {entitled} meals",
            {
                "meals_served": str(meals),
                "eligible_students": str(eligible),
                "meal_days": str(meal_days),
                "entitled_meals": str(entitled),
            },
        )
    if code == "SPEND_EXCEEDS_MEALS":
        allowed = _allowed(f)
        return (
            f"食材支出 {m(food)} > {meals} 人次 × {m(rate)} = {m(allowed)}",
            f"food spending {m(food)} > {meals} meals × {m(rate)} = {m(allowed)}",
            {
                "food_spend": m(food),
                "meals_served": str(meals),
                "subsidy_rate": m(rate),
                "allowed_spend": m(allowed),
            },
        )
    if code == "UNDERSPEND":
        minimum = _minimum(f)
        return (
            f"食材支出 {m(food)} < 0.9 × {meals} 人次 × {m(rate)} = {m(minimum)}",
            f"food spending {m(food)} < 0.9 × {meals} meals × {m(rate)} = {m(minimum)}",
            {
                "food_spend": m(food),
                "meals_served": str(meals),
                "subsidy_rate": m(rate),
                "minimum_spend": m(minimum),
            },
        )
    if code == "HIGH_BALANCE":
        limit = _limit(f)
        return (
            f"本月结余 {m(closing)} > 0.10 × ({m(opening)} + {m(received)}) = {m(limit)}",
            f"closing balance {m(closing)} > 0.10 × ({m(opening)} + {m(received)}) = {m(limit)}",
            {
                "closing_balance": m(closing),
                "opening_balance": m(opening),
                "funds_received": m(received),
                "balance_limit": m(limit),
            },
        )
    if code == "NONSTANDARD_RATE":
        return (
            f"补助标准 {m(rate)} 元/生/天 ≠ 县定标准 {m(standard_rate)} 元/生/天",
            f"subsidy rate {m(rate)} yuan per student-day ≠ county standard {m(standard_rate)}",
            {"subsidy_rate": m(rate), "standard_rate": m(standard_rate)},
        )
    accompany_days, sample_days = f.accompany_days, f.sample_days
    if code == "ACCOMPANY_GAP":
        return (
            f"陪餐 {accompany_days} 天 < 供餐 {meal_days} 天",
            f"accompanied meals on {accompany_days} days < {meal_days} meal days",
            {
                "accompany_meal_days": str(accompany_days),
                "meal_days": str(meal_days),
                "shortfall_days": str(meal_days - accompany_days),
            },
        )
    assert code == "SAMPLE_GAP", code
    return (
        f"留样合规 {sample_days} 天 < 供餐 {meal_days} 天",
        f"compliant food samples on {sample_days} days < {meal_days} meal days",
        {
            "sample_retention_days": str(sample_days),
            "meal_days": str(meal_days),
            "shortfall_days": str(meal_days - sample_days),
        },
    )


def _check_previous(report: Mapping[str, Any], previous: Mapping[str, Any]) -> str:
    prev_period = str(previous["period"])
    if not previous["nutrition"].get("participating"):
        raise ValueError(f"previous_participating ({prev_period}) is not a participating report")
    if previous["school_code"] != report["school_code"]:
        raise ValueError(
            f"previous_participating is of school {previous['school_code']}, not {report['school_code']}"
        )
    # YYYY-MM strings order as the periods do.
    if not prev_period < report["period"]:
        raise ValueError(f"previous_participating ({prev_period}) is not before {report['period']}")
    return prev_period
