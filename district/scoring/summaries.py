"""A county's ranking summed up: area rates, the county's area means, schools per grade and per status, the
indicators most often failed. Pure functions over a snapshot's rows (``scoring.snapshots.snapshot_rows``:
the ranking fields and, per indicator, its exact figures), so the PDFs (``rendering.evaluation``) and the pages
(the city overview's vetoed schools, ``alerts.city``) count the same figure the same way.

Nothing here scores: every figure is a sum, a count or a mean of the engine's exact figures; rounding for print
is the calendar's one rule (``round_half_up``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from district.calendar import round_half_up
from district.scoring.engine import STATUS_LABELS

__all__ = [
    "FAILING_SHARE",
    "UNSCORED",
    "area_rates",
    "county_area_means",
    "failing_indicators",
    "grade_distribution",
    "rubric_areas",
    "schools_ranked",
    "status_counts",
]

#: An indicator "fails" for a school when earned / available is below this share.
FAILING_SHARE = Fraction(3, 5)
#: The grade distribution's last line: the schools listed without a score (no report in the window).
UNSCORED = "无成绩（期内无报表）"


def _fraction(text: str | None) -> Fraction | None:
    """An exact figure of the engine (``"45"``, ``"916.2"``, ``"325800/82397"``)."""
    return None if text is None else Fraction(text)


def area_rates(row: Mapping[str, Any]) -> dict[str, tuple[Fraction, Fraction]]:
    """Per area of one school's indicator rows: (Σ exact earned, Σ available) over the applicable rows."""
    out: dict[str, tuple[Fraction, Fraction]] = {}
    for ind in row.get("indicators") or ():
        earned, available = out.get(ind["area"], (Fraction(0), Fraction(0)))
        if ind["applicable"]:
            earned += _fraction(ind["earned_exact"]) or Fraction(0)
            available += _fraction(ind["available"]) or Fraction(0)
        out[ind["area"]] = (earned, available)
    return out


def rubric_areas(results: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(code, Chinese label) of the rubric's areas, in the rubric's order (as the engine listed the rows)."""
    seen: dict[str, str] = {}
    for row in results:
        for ind in row.get("indicators") or ():
            seen.setdefault(ind["area"], ind.get("area_zh") or ind["area"])
        if seen:
            break
    return list(seen.items())


def county_area_means(results: Sequence[Mapping[str, Any]]) -> dict[str, Fraction]:
    """The mean over the county's scored schools of each school's area rate (schools where it applies)."""
    sums: dict[str, list[Fraction]] = {}
    for row in results:
        for area, (earned, available) in area_rates(row).items():
            if available > 0:
                sums.setdefault(area, []).append(earned / available)
    return {area: sum(rates, Fraction(0)) / len(rates) for area, rates in sums.items()}


def grade_distribution(results: Sequence[Mapping[str, Any]], grades: Sequence[str]) -> list[dict[str, Any]]:
    """Schools per grade (in ``grades`` order, best first), then those without a score (``UNSCORED``); each
    with its share of the schools listed (4 places)."""
    counts = {g: 0 for g in grades}
    unscored = 0
    for r in results:
        if r.get("grade") is None:
            unscored += 1
        else:
            counts[r["grade"]] = counts.get(r["grade"], 0) + 1
    total = len(results)

    def share(n: int) -> Decimal | None:
        return round_half_up(Fraction(n, total), 4) if total else None

    rows = [{"grade": g, "count": n, "share": share(n)} for g, n in counts.items()]
    rows.append({"grade": UNSCORED, "count": unscored, "share": share(unscored)})
    return rows


def status_counts(results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Schools per status, every status of the engine present (in its order), 0 when none has it."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def schools_ranked(results: Sequence[Mapping[str, Any]]) -> int:
    """The schools given a rank (a score in the window)."""
    return sum(1 for r in results if r["rank"] is not None)


def failing_indicators(results: Sequence[Mapping[str, Any]], limit: int | None = 10) -> list[dict[str, Any]]:
    """Indicators most often below ``FAILING_SHARE`` of their available points, counted across schools.

    For each indicator code: ``failing`` = schools whose row is applicable with exact earned / available below
    60 %, ``applicable`` = schools whose row is applicable. Most failing first, then by code; only indicators
    with at least one failing school.
    """
    stats: dict[str, dict[str, Any]] = {}
    for r in results:
        for ind in r.get("indicators") or ():
            entry = stats.setdefault(
                ind["code"],
                {"code": ind["code"], "name": ind["name_zh"], "area": ind.get("area_zh") or ind["area"],
                 "points": ind["points"], "failing": 0, "applicable": 0},
            )  # fmt: skip
            if not ind["applicable"]:
                continue
            available = _fraction(ind["available"]) or Fraction(0)
            if available <= 0:
                continue
            entry["applicable"] += 1
            earned = _fraction(ind["earned_exact"]) or Fraction(0)
            if earned / available < FAILING_SHARE:
                entry["failing"] += 1
    rows = [s for s in stats.values() if s["failing"] > 0]
    for s in rows:
        s["share"] = round_half_up(Fraction(s["failing"], s["applicable"]), 4)
    rows.sort(key=lambda s: (-s["failing"], s["code"]))
    return rows if limit is None else rows[:limit]
