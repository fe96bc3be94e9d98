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

Stock anomalies (SCORING.md, "Additions for houqin/monthly-report@2"): a participating month sent in @2 (it has
a ``canteen_stock`` section; a @1 month has none, its stock is *not reported* and no stock rule applies) is also
checked for ``SPEND_EXCEEDS_CONSUMPTION`` and ``STOCK_NOT_CHECKED`` (report-only rules, in
``houqin_standard.prechecks``) and ``STOCK_CARRY_OVER_MISMATCH``: opening_stock_value ≠ closing_stock_value of the
school's most recent earlier participating month sent in @2 (``previous_stock``; a @1 month between is skipped;
none → nothing to compare), with the tolerance of the other "≠" rules.

Anomalies of one month come in the order of ``ANOMALY_CODES`` (the order of the spec's tables: the fund table,
then the stock table).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from district.reports.figures import INDEX as FIGURE_INDEX
from district.reports.figures import ReportFigures
from houqin_standard import fund_text, prechecks
from houqin_standard.prechecks import COUNT_RULES as _COUNT_RULES
from houqin_standard.prechecks import TOLERANCE, format_amount, parse_amount
from houqin_standard.prechecks import FundMonth as _Fund

__all__ = [
    "ANOMALY_CODES",
    "FUND_COMPLIANCE_CODES",
    "STOCK_CODES",
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
    {code: AnomalyName(*names) for code, names in fund_text.FUND_CODE_NAMES.items()}
)

#: The anomalies that make a participating month non-compliant for scoring indicator C4 (营养餐 · 资金合规).
FUND_COMPLIANCE_CODES: tuple[str, ...] = ("MISUSE", "BALANCE_MISMATCH", "CARRY_OVER_MISMATCH")

#: The stock anomalies, only ever found in a month sent in @2.
STOCK_CODES: tuple[str, ...] = fund_text.STOCK_CODES

_ORDER = {code: i for i, code in enumerate(ANOMALY_CODES)}


@dataclass(frozen=True)
class Anomaly:
    """One anomaly of one school-month.

    ``code`` and ``figures`` (the inputs that triggered it and the computed values, all as strings) are its
    structured form; ``zh``/``en`` (the API's ``message``) and :meth:`sentence` are their words in the one
    catalog, ``houqin_standard.fund_text``.
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

    def sentence(self, lang: str = "zh") -> str:
        """One plain sentence ("供餐 19 天，有陪餐记录的只有 15 天，少 4 天"), numbers as people write them."""
        return fund_text.sentence(self.code, self.figures, lang)

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """``{"school_code", "period", "code", "message", "figures", "sentence"}``; the words in English for lang
        "en"."""
        return {
            "school_code": self.school_code,
            "period": self.period,
            "code": self.code,
            "message": self.message(lang),
            "figures": dict(self.figures),
            "sentence": self.sentence(lang),
        }


#: What ``_Fund`` reads of a report's figures, in its order.
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
#: What ``StockMonth`` reads of a report's figures (all ``None`` for a month sent in @1).
_STOCK_FIGURES = operator.itemgetter(
    *(
        FIGURE_INDEX[f"canteen_stock.{name}"]
        for name in ("opening_stock_value", "purchases", "closing_stock_value", "stock_checked")
    )
)
_STOCK_OPENING = FIGURE_INDEX["canteen_stock.opening_stock_value"]
_STOCK_CLOSING = FIGURE_INDEX["canteen_stock.closing_stock_value"]
_PARTICIPATING = FIGURE_INDEX["nutrition.participating"]
_SCHOOL_CODE = FIGURE_INDEX["school_code"]
_PERIOD = FIGURE_INDEX["period"]
_CLOSING = FIGURE_INDEX["nutrition.closing_balance"]


def _fired(
    f: _Fund,
    previous_closing: Decimal | None,
    standard_rate: Decimal,
    only: Collection[str] | None = None,
    previous_stock_closing: Decimal | None = None,
) -> list[str]:
    """The codes whose condition holds, in ``ANOMALY_CODES`` order: the report-only rules of
    ``houqin_standard.prechecks`` (the one place their conditions are written), 结转不符 and 库存结转不符, which
    need the school's earlier reports. ``only``: check just these codes (scoring's C4 asks for a few; the
    figures the others need are not even parsed)."""
    out = prechecks.fired(f, standard_rate, only)
    added = False
    # 结转不符 opening ≠ closing of the most recent earlier participating report
    if (
        (only is None or "CARRY_OVER_MISMATCH" in only)
        and previous_closing is not None
        and abs(f.opening - previous_closing) > TOLERANCE
    ):
        out.append("CARRY_OVER_MISMATCH")
        added = True
    # 库存结转不符 opening_stock_value ≠ closing_stock_value of the most recent earlier participating @2 month
    if (
        (only is None or "STOCK_CARRY_OVER_MISMATCH" in only)
        and f.stock is not None
        and previous_stock_closing is not None
        and abs(f.stock.opening - previous_stock_closing) > TOLERANCE
    ):
        out.append("STOCK_CARRY_OVER_MISMATCH")
        added = True
    if added:
        out.sort(key=_ORDER.__getitem__)
    return out


def _previous_closing(
    report: ReportFigures, previous_participating: ReportFigures | None
) -> tuple[str, Decimal] | None:
    if previous_participating is None:
        return None
    prev_period = _check_previous(report, previous_participating)
    return prev_period, parse_amount(previous_participating[_CLOSING])


def _previous_stock_closing(report: ReportFigures, previous_stock: ReportFigures | None) -> tuple[str, Decimal] | None:
    """The period and closing stock value of the stock carry-over basis (checked as ``_check_previous``
    does, and it must have been sent in @2: a ``canteen_stock`` section)."""
    if previous_stock is None:
        return None
    prev_period = _check_previous(report, previous_stock)
    if previous_stock[_STOCK_OPENING] is None:
        raise ValueError(f"previous_stock ({prev_period}) has no canteen_stock: not a month sent in @2")
    return prev_period, parse_amount(previous_stock[_STOCK_CLOSING])


def chain_anomaly_codes(
    months: Sequence[ReportFigures],
    previous_participating: ReportFigures | None,
    *,
    standard_rate: Decimal = Decimal("5.00"),
    only: Collection[str] | None = None,
    previous_stock: ReportFigures | None = None,
) -> list[list[str]]:
    """The codes of ``month_anomalies`` for each of one school's participating months, without messages: what
    scoring indicator C4 reads for every school of a county. ``months``: one school's participating reports
    in ascending period order; each month's carry-over basis is the report before it (the first one's:
    ``previous_participating``), each @2 month's stock carry-over basis the @2 report before it (before the first:
    ``previous_stock``, the most recent participating month sent in @2 before ``months``), with the same checks
    as ``month_anomalies`` (``ValueError``). ``only``: just these codes are checked (C4 counts a few; the
    figures the others need are not even parsed)."""
    rate = parse_amount(standard_rate)
    if only is not None:
        only = frozenset(only)
    counts = only is None or not _COUNT_RULES.isdisjoint(only)
    stocks = only is None or not prechecks.STOCK_RULES.isdisjoint(only)
    out: list[list[str]] = []
    previous: ReportFigures | None = None
    closing: Decimal | None = None
    stock_closing: Decimal | None = None
    for values in months:
        if values[_PARTICIPATING] is not True:
            raise ValueError(f"{values[_PERIOD]}: not a participating report")
        if previous is None:
            found = _previous_closing(values, previous_participating)
            closing = None if found is None else found[1]
            if stocks and previous_stock is not None:
                stock_found = _previous_stock_closing(values, previous_stock)
                stock_closing = None if stock_found is None else stock_found[1]
        elif values[_SCHOOL_CODE] != previous[_SCHOOL_CODE] or not previous[_PERIOD] < values[_PERIOD]:
            # the report before it is in ``months``, and was checked participating there
            raise ValueError(f"{values[_PERIOD]}: reports must be one school's, in period order")
        stock = _stock_of(values) if stocks else None
        fund = _Fund(*_FUND_FIGURES(values), counts=counts, stock=stock)
        out.append(_fired(fund, closing, rate, only, stock_closing))
        previous, closing = values, fund.closing
        if stock is not None:  # a @1 month is skipped: the basis stays the last @2 month's
            stock_closing = stock.closing
    return out


def _stock_of(values: ReportFigures) -> prechecks.StockMonth | None:
    opening, purchases, closing, checked = _STOCK_FIGURES(values)
    if opening is None:  # sent in @1 (or, impossibly for a participating @2 month, without the section)
        return None
    return prechecks.StockMonth(opening, purchases, closing, checked)


def month_anomalies(
    report: ReportFigures,
    previous_participating: ReportFigures | None,
    *,
    standard_rate: Decimal = Decimal("5.00"),
    previous_stock: ReportFigures | None = None,
) -> list[Anomaly]:
    """The fund anomalies of one school-month, in ``ANOMALY_CODES`` order.

    ``report`` is a valid report's figures (``district.reports.figures.ReportFigures``). A month with
    ``nutrition.participating`` false gives ``[]``.

    ``previous_participating`` is the school's most recent participating report before ``report.period``
    (across non-participating months and break months), or ``None`` when there is none or it is unknown;
    ``CARRY_OVER_MISMATCH`` is checked only when it is given. Passing a non-participating report, another
    school's report, or one that is not earlier is a caller's error (``ValueError``): silently skipping the
    check would hide a carry-over anomaly.

    ``standard_rate`` is the county's configured subsidy standard (元/生/天) for ``NONSTANDARD_RATE``.

    A month sent in @2 (it has ``canteen_stock``) is also checked by the stock rules; ``previous_stock`` is the
    school's most recent participating report *sent in @2* before it (``None``: none, no stock carry-over to
    check), with the same checks as ``previous_participating``. A @1 month gets no stock anomaly.
    """
    if report[_PARTICIPATING] is not True:
        return []
    standard_rate = parse_amount(standard_rate)
    f = _Fund(*_FUND_FIGURES(report), stock=_stock_of(report))
    previous = _previous_closing(report, previous_participating)
    previous_stock_basis = None if f.stock is None else _previous_stock_closing(report, previous_stock)
    codes = _fired(
        f,
        None if previous is None else previous[1],
        standard_rate,
        None,
        None if previous_stock_basis is None else previous_stock_basis[1],
    )
    if not codes:
        return []

    # each figure is formatted once per anomaly (the messages are made from ``figures``): a month has few
    found: list[Anomaly] = []
    for code in codes:
        figures = _figures(code, f, format_amount, previous, standard_rate, previous_stock_basis)
        zh, en = fund_text.message(code, figures, "zh"), fund_text.message(code, figures, "en")
        found.append(Anomaly(f.school_code, f.period, code, zh, en, figures))
    return found


def _figures(
    code: str,
    f: _Fund,
    m: Callable[[Decimal], str],
    previous: tuple[str, Decimal] | None,
    standard_rate: Decimal,
    previous_stock: tuple[str, Decimal] | None = None,
) -> dict[str, str]:
    """The figures of one anomaly that ``_fired`` found: 结转不符 and 库存结转不符 here, the others as
    ``houqin_standard.prechecks.describe_figures`` gives them (the agent shows the same figures and words)."""
    if code == "STOCK_CARRY_OVER_MISMATCH":
        assert previous_stock is not None and f.stock is not None
        stock_period, stock_closing = previous_stock
        return {
            "opening_stock_value": m(f.stock.opening),
            "previous_period": stock_period,
            "previous_closing_stock_value": m(stock_closing),
            "difference": m(f.stock.opening - stock_closing),
        }
    if code != "CARRY_OVER_MISMATCH":
        return prechecks.describe_figures(code, f, m, standard_rate)
    assert previous is not None
    prev_period, prev_closing = previous
    opening = f.opening
    return {
        "opening_balance": m(opening),
        "previous_period": prev_period,
        "previous_closing_balance": m(prev_closing),
        "difference": m(opening - prev_closing),
    }


def _check_previous(report: ReportFigures, previous: ReportFigures) -> str:
    prev_period = str(previous[_PERIOD])
    if previous[_PARTICIPATING] is not True:
        raise ValueError(f"previous_participating ({prev_period}) is not a participating report")
    if previous[_SCHOOL_CODE] != report[_SCHOOL_CODE]:
        raise ValueError(f"previous_participating is of school {previous[_SCHOOL_CODE]}, not {report[_SCHOOL_CODE]}")
    # YYYY-MM strings order as the periods do.
    if not prev_period < report[_PERIOD]:
        raise ValueError(f"previous_participating ({prev_period}) is not before {report[_PERIOD]}")
    return prev_period
