"""The county 营养餐 fund report: pure functions over plain inputs (no database, no Flask).

The JSON API, the xlsx (``district.nutrition.xlsx``) and the PDF all show
``build_fund_report(...).to_dict()``; no figure of the fund report is computed anywhere else. The month
rules are ``anomalies.month_anomalies``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from district import clock
from district.calendar import round_half_up
from district.nutrition.anomalies import ANOMALY_CODES, STOCK_CODES, Anomaly, month_anomalies, parse_amount
from district.reports.figures import ReportFigures
from houqin_standard import SHANGHAI, STANDARD_ID, STANDARD_ID_2, format_money, parse_period
from houqin_standard import periods_between as _periods_between

__all__ = [
    "STOCK_KEYS",
    "SUPPLY_MODES",
    "FundMonth",
    "FundReport",
    "FundSchool",
    "FundSchoolRow",
    "FundSubtotal",
    "FundTotals",
    "NonReportingSchool",
    "StockTotals",
    "build_fund_report",
    "format_ratio",
    "periods_between",
    "ratio_half_up",
]

# Enum order of the standard (nutrition.supply_mode); subtotals by supply mode follow it.
SUPPLY_MODES: tuple[str, ...] = ("canteen", "enterprise", "mixed", "family")

_ZERO = Decimal("0.00")


# --------------------------------------------------------------------------------- periods, rounding


def periods_between(first: str, last: str) -> list[str]:
    """The periods ``first..last``, inclusive; a window that ends before it starts is an error."""
    if parse_period(first) > parse_period(last):
        raise ValueError(f"window {first}..{last} ends before it starts")
    return _periods_between(first, last)


def ratio_half_up(numerator: Decimal | int, denominator: Decimal | int, places: int) -> Decimal | None:
    """numerator / denominator rounded to ``places`` decimals by the one rounding rule
    (``district.calendar.round_half_up``, exact); ``None`` when the denominator is 0."""
    if denominator == 0:
        return None
    return round_half_up(Fraction(numerator) / Fraction(denominator), places)


def format_ratio(value: Decimal | None, places: int) -> str | None:
    return None if value is None else f"{value.quantize(Decimal(1).scaleb(-places)):f}"


# ------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class FundMonth:
    """The effective (newest accepted) revision of one school-month: its figures (``ReportFigures``, made by
    the loader from the figures stored on its head or from its content)."""

    period: str
    revision_id: int
    figures: ReportFigures


@dataclass(frozen=True)
class FundSchool:
    """One school of the county, with its effective revisions inside the window.

    ``months``: the effective revisions of the periods inside the window that have a report, ascending; break
    months are included when the school did report them (money that moved must be reconciled).
    ``previous_participating``: the school's most recent participating report before the window (for the
    carry-over check of its first participating month), or ``None``.
    ``expected_periods``: the periods of the window the school was expected to report (active, not a break
    month), for the list of schools that did not report.
    ``supply_mode_hint``: the registry's supply mode, used only when no participating month states one.
    ``previous_stock``: the school's most recent participating report *sent in @2* before the window (the
    stock carry-over basis of its first @2 month), or ``None``.
    """

    code: str
    name: str
    type: str
    township: str
    supply_mode_hint: str | None
    months: Sequence[FundMonth]
    previous_participating: ReportFigures | None
    expected_periods: Sequence[str]
    previous_stock: ReportFigures | None = None


# ------------------------------------------------------------------------------------ outputs


@dataclass(frozen=True)
class StockTotals:
    """The 食材库存 sums over participating months sent in @2, exact: ``opening`` the opening_stock_value of the
    first such month, ``closing`` the closing_stock_value of the last, ``purchases`` Σ purchases, ``consumed``
    Σ (opening_stock_value + purchases − closing_stock_value) month by month; for a group of schools each is
    summed over the schools that have such a month."""

    months: int = 0
    opening: Decimal = _ZERO
    purchases: Decimal = _ZERO
    closing: Decimal = _ZERO
    consumed: Decimal = _ZERO

    def __add__(self, other: StockTotals) -> StockTotals:
        return StockTotals(
            months=self.months + other.months,
            opening=self.opening + other.opening,
            purchases=self.purchases + other.purchases,
            closing=self.closing + other.closing,
            consumed=self.consumed + other.consumed,
        )


#: The stock keys of a row or subtotal in JSON, in their column order (null: not reported, never 0).
STOCK_KEYS: tuple[str, ...] = (
    "stock_months", "opening_stock_value", "stock_purchases", "closing_stock_value", "stock_consumed"
)  # fmt: skip


def _stock_dict(stock: StockTotals | None) -> dict[str, Any]:
    if stock is None:
        return dict.fromkeys(STOCK_KEYS)
    return {
        "stock_months": stock.months,
        "opening_stock_value": format_money(stock.opening),
        "stock_purchases": format_money(stock.purchases),
        "closing_stock_value": format_money(stock.closing),
        "stock_consumed": format_money(stock.consumed),
    }


def _add_stock(a: StockTotals | None, b: StockTotals | None) -> StockTotals | None:
    if a is None:
        return b
    return a if b is None else a + b


@dataclass(frozen=True)
class FundTotals:
    """The sums of the fund report over participating school-months, exact.

    ``opening_balance`` is the opening balance of the first participating month of each school in the window,
    ``closing_balance`` the closing balance of the last one; for a group of schools both are summed over its
    schools. The ratios are computed from these sums (never averaged over schools):
    ``utilisation`` (资金使用率) = food_spend / (opening_balance + funds_received), 4 decimals;
    ``per_meal_spend`` (每餐支出) = food_spend / meals_served, 2 decimals; both rounded half up at output
    only, ``None`` when the denominator is 0.
    """

    months_participating: int = 0
    meal_days: int = 0
    meals_served: int = 0
    expected_funds: Decimal = _ZERO
    funds_received: Decimal = _ZERO
    food_spend: Decimal = _ZERO
    other_spend: Decimal = _ZERO
    opening_balance: Decimal = _ZERO
    closing_balance: Decimal = _ZERO
    anomaly_count: int = 0
    stock: StockTotals | None = None  # None: no participating month sent in @2 (stock not reported)

    @property
    def utilisation(self) -> Decimal | None:
        return ratio_half_up(self.food_spend, self.opening_balance + self.funds_received, 4)

    @property
    def per_meal_spend(self) -> Decimal | None:
        return ratio_half_up(self.food_spend, self.meals_served, 2)

    def __add__(self, other: FundTotals) -> FundTotals:
        return FundTotals(
            months_participating=self.months_participating + other.months_participating,
            meal_days=self.meal_days + other.meal_days,
            meals_served=self.meals_served + other.meals_served,
            expected_funds=self.expected_funds + other.expected_funds,
            funds_received=self.funds_received + other.funds_received,
            food_spend=self.food_spend + other.food_spend,
            other_spend=self.other_spend + other.other_spend,
            opening_balance=self.opening_balance + other.opening_balance,
            closing_balance=self.closing_balance + other.closing_balance,
            anomaly_count=self.anomaly_count + other.anomaly_count,
            stock=_add_stock(self.stock, other.stock),
        )

    def to_dict(self, stock: bool | None = None) -> dict[str, Any]:
        """``stock``: with the stock keys (``STOCK_KEYS``, null when not reported); ``None``: when reported."""
        out = self._to_dict()
        if stock or (stock is None and self.stock is not None):
            out.update(_stock_dict(self.stock))
        return out

    def _to_dict(self) -> dict[str, Any]:
        return {
            "months_participating": self.months_participating,
            "meal_days": self.meal_days,
            "meals_served": self.meals_served,
            "expected_funds": format_money(self.expected_funds),
            "funds_received": format_money(self.funds_received),
            "food_spend": format_money(self.food_spend),
            "other_spend": format_money(self.other_spend),
            "opening_balance": format_money(self.opening_balance),
            "closing_balance": format_money(self.closing_balance),
            "utilisation": format_ratio(self.utilisation, 4),
            "per_meal_spend": format_ratio(self.per_meal_spend, 2),
            "anomaly_count": self.anomaly_count,
        }


def _sum_totals(items: Iterable[FundTotals]) -> FundTotals:
    total = FundTotals()
    for item in items:
        total = total + item
    return total


@dataclass(frozen=True)
class FundSchoolRow:
    """One participating school over the window."""

    school_code: str
    school_name: str
    school_type: str
    township: str
    supply_mode: str | None
    participating_periods: tuple[str, ...]
    revision_ids: Mapping[str, int]
    totals: FundTotals
    anomalies: tuple[Anomaly, ...]

    def to_dict(self, lang: str = "zh", stock: bool | None = None) -> dict[str, Any]:
        return {
            "school_code": self.school_code,
            "school_name": self.school_name,
            "school_type": self.school_type,
            "township": self.township,
            "supply_mode": self.supply_mode,
            "participating_periods": list(self.participating_periods),
            "revision_ids": dict(self.revision_ids),
            **self.totals.to_dict(stock),
            "anomalies": [a.to_dict(lang) for a in self.anomalies],
        }


@dataclass(frozen=True)
class FundSubtotal:
    """The sum over a group of participating schools (a township, a supply mode, the county)."""

    key: str | None
    schools: int
    totals: FundTotals

    def to_dict(self, key_name: str | None, stock: bool | None = None) -> dict[str, Any]:
        head: dict[str, Any] = {key_name: self.key} if key_name else {}
        return {**head, "schools": self.schools, **self.totals.to_dict(stock)}


@dataclass(frozen=True)
class NonReportingSchool:
    """A school with no report at all for one or more of its expected periods in the window."""

    school_code: str
    school_name: str
    school_type: str
    township: str
    missing_periods: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "school_code": self.school_code,
            "school_name": self.school_name,
            "school_type": self.school_type,
            "township": self.township,
            "missing_periods": list(self.missing_periods),
        }


@dataclass(frozen=True)
class FundReport:
    county_code: str
    county_name: str
    window_from: str
    window_to: str
    standard_rate: Decimal
    generated_at: datetime
    schools: tuple[FundSchoolRow, ...]
    townships: tuple[FundSubtotal, ...]
    supply_modes: tuple[FundSubtotal, ...]
    county: FundSubtotal
    non_reporting: tuple[NonReportingSchool, ...]
    anomalies: tuple[Anomaly, ...]
    anomaly_counts: Mapping[str, int] = field(default_factory=dict)
    # the county's chain-head digest the report was built on (docs/AUDIT.md): pins the exact data behind it
    chain_head: str | None = None

    @property
    def generated_at_shanghai(self) -> datetime:
        return self.generated_at.astimezone(SHANGHAI)

    @property
    def has_stock(self) -> bool:
        """Whether any participating month of the window was sent in @2: then every row and total carries the
        stock columns (null for a school with none); otherwise there are none at all."""
        return self.county.totals.stock is not None

    @property
    def standard(self) -> str:
        """The newest standard whose fields the report shows: @2 with the stock columns, else @1."""
        return STANDARD_ID_2 if self.has_stock else STANDARD_ID

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """JSON-ready: money as 2-decimal strings, ratios as strings (or null), counts as integers. With
        ``has_stock``, ``stock: true`` and every row and total has the keys of ``STOCK_KEYS``."""
        stock = self.has_stock
        return {
            "standard": self.standard,
            "stock": stock,
            "county_code": self.county_code,
            "county_name": self.county_name,
            "window_from": self.window_from,
            "window_to": self.window_to,
            "standard_rate": format_money(self.standard_rate),
            "generated_at": self.generated_at_shanghai.isoformat(timespec="seconds"),
            "schools": [row.to_dict(lang, stock) for row in self.schools],
            "townships": [sub.to_dict("township", stock) for sub in self.townships],
            "supply_modes": [sub.to_dict("supply_mode", stock) for sub in self.supply_modes],
            "county": self.county.to_dict(None, stock),
            "non_reporting": [school.to_dict() for school in self.non_reporting],
            "anomalies": [a.to_dict(lang) for a in self.anomalies],
            "anomaly_counts": dict(self.anomaly_counts),
            "chain_head": self.chain_head,
        }


# ------------------------------------------------------------------------------------ the engine


def _school_row(school: FundSchool, window: set[str], standard_rate: Decimal) -> FundSchoolRow | None:
    previous = school.previous_participating
    if previous is not None and previous.period >= min(window):
        raise ValueError(f"{school.code}: previous_participating {previous.period} is not before the window")
    previous_stock = school.previous_stock
    if previous_stock is not None and previous_stock.period >= min(window):
        raise ValueError(f"{school.code}: previous_stock {previous_stock.period} is not before the window")
    stock_totals: StockTotals | None = None
    seen: list[str] = []
    periods: list[str] = []
    revision_ids: dict[str, int] = {}
    anomalies: list[Anomaly] = []
    totals = FundTotals()
    first_opening: Decimal | None = None
    last_closing = _ZERO
    supply_mode: str | None = None
    for month in school.months:
        report = month.figures
        if month.period not in window:
            raise ValueError(f"{school.code}: month {month.period} is outside the window")
        if seen and month.period <= seen[-1]:
            raise ValueError(f"{school.code}: months must be in ascending order without repeats")
        if report.period != month.period or report.school_code != school.code:
            raise ValueError(f"{school.code}: revision {month.revision_id} is not of {school.code} {month.period}")
        seen.append(month.period)
        if not report.participating:
            continue
        found = month_anomalies(report, previous, standard_rate=standard_rate, previous_stock=previous_stock)
        previous = report  # carry-over runs across non-participating and break months
        value = report.value
        if value("canteen_stock.opening_stock_value") is not None:
            # sent in @2; a @1 month is skipped by the stock carry-over and has no stock
            previous_stock = report
            opening_stock = parse_amount(value("canteen_stock.opening_stock_value"))
            purchases = parse_amount(value("canteen_stock.purchases"))
            closing_stock = parse_amount(value("canteen_stock.closing_stock_value"))
            month_stock = StockTotals(1, opening_stock, purchases, closing_stock,
                                      opening_stock + purchases - closing_stock)  # fmt: skip
            stock_totals = (
                month_stock if stock_totals is None
                else replace(stock_totals + month_stock, opening=stock_totals.opening, closing=closing_stock)
            )  # fmt: skip
        rate = parse_amount(value("nutrition.subsidy_rate"))
        opening = parse_amount(value("nutrition.opening_balance"))
        if first_opening is None:
            first_opening = opening
        last_closing = parse_amount(value("nutrition.closing_balance"))
        supply_mode = value("nutrition.supply_mode") or supply_mode
        periods.append(month.period)
        revision_ids[month.period] = month.revision_id
        anomalies.extend(found)
        totals = totals + FundTotals(
            months_participating=1,
            meal_days=value("nutrition.meal_days"),
            meals_served=value("nutrition.meals_served"),
            expected_funds=value("nutrition.eligible_students") * value("nutrition.meal_days") * rate,
            funds_received=parse_amount(value("nutrition.funds_received")),
            food_spend=parse_amount(value("nutrition.food_spend")),
            other_spend=parse_amount(value("nutrition.other_spend")),
            anomaly_count=len(found),
        )
    if first_opening is None:
        return None
    totals = replace(totals, opening_balance=first_opening, closing_balance=last_closing, stock=stock_totals)
    return FundSchoolRow(
        school_code=school.code,
        school_name=school.name,
        school_type=school.type,
        township=school.township,
        supply_mode=supply_mode or school.supply_mode_hint,
        participating_periods=tuple(periods),
        revision_ids=revision_ids,
        totals=totals,
        anomalies=tuple(sorted(anomalies, key=_anomaly_key)),
    )


def _anomaly_key(a: Anomaly) -> tuple[str, str, str]:
    return (a.school_code, a.period, a.code)


def _group(rows: Sequence[FundSchoolRow], key_of: Any, order: Sequence[str | None]) -> tuple[FundSubtotal, ...]:
    groups: dict[str | None, list[FundSchoolRow]] = {}
    for row in rows:
        groups.setdefault(key_of(row), []).append(row)
    return tuple(
        FundSubtotal(key, len(groups[key]), _sum_totals(r.totals for r in groups[key]))
        for key in order
        if key in groups
    )


def build_fund_report(
    county_code: str,
    county_name: str,
    window_from: str,
    window_to: str,
    schools: Sequence[FundSchool],
    *,
    standard_rate: Decimal,
    generated_at: datetime | None = None,
    township_key: Callable[[str], Any] | None = None,
) -> FundReport:
    """The 营养餐 fund report of a county over the window ``window_from..window_to`` (inclusive).

    Semantics (``shared/spec/SCORING.md``, "营养餐 fund reconciliation"):

    - Only participating months count (``nutrition.participating`` true). A school with at least one
      participating month in the window is a row (``schools``, sorted by school code); every sum Σ runs over
      its participating months: meal_days, meals_served, expected funds Σ(eligible_students × meal_days ×
      subsidy_rate), funds_received, food_spend, other_spend. ``opening_balance`` is that of the first and
      ``closing_balance`` that of the last participating month in the window. utilisation = Σ food_spend /
      (first opening_balance + Σ funds_received), per-meal spend = Σ food_spend / Σ meals_served; both are
      computed exactly and rounded half up only at output (4 and 2 decimals), ``None`` on a zero denominator.
    - ``supply_mode`` is the school's mode in its latest participating month (the registry's hint if none is
      stated); a school that changed mode inside the window is counted wholly under its latest one.
    - Anomalies: ``month_anomalies`` of each participating month. The carry-over check of a month uses the
      school's previous participating month — in the window, or ``FundSchool.previous_participating`` for the
      first one — across non-participating months, missing months and break months.
    - Subtotals by township (sorted by name) and by supply mode (in the standard's enum order), and the county
      total, add up the rows' sums (including each row's first opening and last closing balance) and recompute
      utilisation and per-meal spend from those sums; ratios are never averaged.
    - ``non_reporting``: every school (participating or not) with no report at all for one or more of its
      expected periods, with those periods; sorted by school code.
    - ``anomalies``: all anomalies, sorted by (school code, period, code); ``anomaly_counts``: per code, every
      code of ``ANOMALY_CODES`` in its order, zeros included — the stock codes only when a participating month
      of the window was sent in @2.
    - Stock (months sent in @2, SCORING.md's stock anomalies): the stock anomalies come with the month's others
      (their carry-over basis: the previous participating @2 month, in the window or
      ``FundSchool.previous_stock``); each row's ``totals.stock`` (``StockTotals``) sums its participating @2
      months, ``None`` when it has none; subtotals add the rows that have one.
    - ``generated_at`` (default: now) is stated on the exports in Asia/Shanghai time.

    Raises ``ValueError`` on inconsistent input (a month outside the window or out of order, a report of
    another school or period, an expected period outside the window, a school listed twice).
    """
    window_periods = periods_between(window_from, window_to)
    window = set(window_periods)
    rate = parse_amount(standard_rate)
    when = generated_at or clock.now()
    if when.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")

    codes = [s.code for s in schools]
    if len(codes) != len(set(codes)):
        raise ValueError("a school is listed twice")

    rows: list[FundSchoolRow] = []
    non_reporting: list[NonReportingSchool] = []
    for school in sorted(schools, key=lambda s: s.code):
        row = _school_row(school, window, rate)
        if row is not None:
            rows.append(row)
        outside = [p for p in school.expected_periods if p not in window]
        if outside:
            raise ValueError(f"{school.code}: expected periods outside the window: {outside}")
        reported = {m.period for m in school.months}
        missing = tuple(p for p in window_periods if p in set(school.expected_periods) - reported)
        if missing:
            non_reporting.append(NonReportingSchool(school.code, school.name, school.type, school.township, missing))

    anomalies = tuple(sorted((a for row in rows for a in row.anomalies), key=_anomaly_key))
    has_stock = any(row.totals.stock is not None for row in rows)
    # the stock codes are counted only when the window has a month sent in @2 (otherwise: not reported)
    counts = {code: 0 for code in ANOMALY_CODES if has_stock or code not in STOCK_CODES}
    for a in anomalies:
        counts[a.code] += 1

    # the county's order of its townships (``registry.services.township_order``), given by the caller
    townships = sorted({row.township for row in rows}, key=township_key)
    modes_present = {row.supply_mode for row in rows}
    mode_order: list[str | None] = [m for m in SUPPLY_MODES if m in modes_present]
    mode_order += sorted(m for m in modes_present if m is not None and m not in SUPPLY_MODES)
    if None in modes_present:
        mode_order.append(None)

    return FundReport(
        county_code=county_code,
        county_name=county_name,
        window_from=window_from,
        window_to=window_to,
        standard_rate=rate,
        generated_at=when,
        schools=tuple(rows),
        townships=_group(rows, lambda r: r.township, townships),
        supply_modes=_group(rows, lambda r: r.supply_mode, mode_order),
        county=FundSubtotal(None, len(rows), _sum_totals(r.totals for r in rows)),
        non_reporting=tuple(non_reporting),
        anomalies=anomalies,
        anomaly_counts=counts,
    )
