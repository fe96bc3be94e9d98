"""Data-quality check across a county's schools for one period: outliers by the modified z-score.

Iglewicz and Hoaglin (1993): for the values x of one metric over the schools that have it,
``M = 0.6745 × (x − median) / MAD`` with ``MAD = median(|x − median|)``; a school is flagged when
``|M| > 3.5``.
Median and MAD are not pulled by the outliers themselves, which a mean and a standard deviation would be on a
county of 20–200 schools with one mistyped figure. ``MAD = 0`` (half the schools or more share one value)
gives no flags for that metric: there is no spread to measure against.

These are warnings for a person to look at, never errors: a large kindergarten or a boarding school may well
be far from the median.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from district.nutrition.anomalies import parse_amount
from houqin_standard import parse_quantity

__all__ = ["METRICS", "THRESHOLD", "modified_z_scores", "period_quality_warnings"]

THRESHOLD = Decimal("3.5")
_K = Decimal("0.6745")


def _nutrition(report: Mapping[str, Any]) -> Mapping[str, Any] | None:
    nutrition = report.get("nutrition") or {}
    return nutrition if nutrition.get("participating") else None


def _meals_per_eligible(report: Mapping[str, Any]) -> Decimal | None:
    n = _nutrition(report)
    if n is None or not n["eligible_students"]:
        return None
    return Decimal(n["meals_served"]) / Decimal(n["eligible_students"])


def _per_meal_spend(report: Mapping[str, Any]) -> Decimal | None:
    n = _nutrition(report)
    if n is None or not n["meals_served"]:
        return None
    return parse_amount(n["food_spend"]) / Decimal(n["meals_served"])


def _per_student(key: str) -> Callable[[Mapping[str, Any]], Decimal | None]:
    def metric(report: Mapping[str, Any]) -> Decimal | None:
        students = report["enrollment"]["students"]
        if not students:
            return None
        return parse_quantity(report["energy"][key]) / Decimal(students)

    return metric


#: metric name → how to read it from one report (None: the school has no value for it this period).
METRICS: Mapping[str, Callable[[Mapping[str, Any]], Decimal | None]] = {
    "meals_per_eligible_student": _meals_per_eligible,
    "per_meal_spend": _per_meal_spend,
    "electricity_kwh_per_student": _per_student("electricity_kwh"),
    "water_m3_per_student": _per_student("water_m3"),
}


def _median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def modified_z_scores(values: Sequence[Decimal]) -> tuple[Decimal, Decimal, list[Decimal | None]]:
    """(median, MAD, M for each value); every M is None when MAD is 0 or there are no values."""
    if not values:
        return Decimal(0), Decimal(0), []
    median = _median(values)
    mad = _median([abs(v - median) for v in values])
    if mad == 0:
        return median, mad, [None] * len(values)
    return median, mad, [_K * (v - median) / mad for v in values]


def _fixed(value: Decimal, places: int) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}"


def period_quality_warnings(period: str, reports: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Outlier warnings for one period over the effective reports of a county's schools.

    Metrics: meals served per eligible student (participating schools with eligible students), food spend per
    meal (participating schools with meals served), electricity (kWh) and water (m³) per enrolled student.
    Returns ``{"school_code", "period", "metric", "value", "median", "modified_z"}`` dicts, sorted by school
    code and then in ``METRICS`` order; value and median as strings with 4 decimals, modified_z with 2, all
    rounded half up for display only (the flag is decided on the unrounded figures, 28 significant digits).
    """
    for report in reports:
        if report["period"] != period:
            raise ValueError(f"report of {report['school_code']} is for {report['period']}, not {period}")
    codes = [r["school_code"] for r in reports]
    if len(codes) != len(set(codes)):
        raise ValueError("more than one report for a school: pass the effective revision of each")

    warnings: list[tuple[str, int, dict[str, str]]] = []
    with localcontext() as ctx:
        ctx.prec = 28
        for order, (metric, read) in enumerate(METRICS.items()):
            pairs = [(r["school_code"], v) for r in reports if (v := read(r)) is not None]
            median, _mad, scores = modified_z_scores([v for _, v in pairs])
            for (school_code, value), score in zip(pairs, scores, strict=True):
                if score is not None and abs(score) > THRESHOLD:
                    warnings.append(
                        (
                            school_code,
                            order,
                            {
                                "school_code": school_code,
                                "period": period,
                                "metric": metric,
                                "value": _fixed(value, 4),
                                "median": _fixed(median, 4),
                                "modified_z": _fixed(score, 2),
                            },
                        )
                    )
    return [w for _, _, w in sorted(warnings, key=lambda t: (t[0], t[1]))]
