"""Factories for the scoring tests: report dicts built from the spec's example report, with overrides.

No database: the engine takes plain inputs. ``make_report`` starts either from the example report exactly as
the spec gives it (``base="example"``, ``tests.factories.EXAMPLE``) or from ``PERFECT``, the
example changed so that it earns full marks on every indicator of the default rubric when its school is the
only one of its type (so each test changes only what it is about, and its hand computation starts at 100).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from district.scoring.engine import (
    HazardInput,
    InspectionInput,
    MonthInput,
    SchoolInput,
    SchoolScore,
    Window,
    score_county,
)
from district.scoring.rubric import Rubric, load_default_rubric
from tests.factories import EXAMPLE, report_figures

ALL_ITEMS = [
    "rules",
    "evacuation_map",
    "door_signs",
    "bed_spec",
    "item_positions",
    "mirror",
    "bunk_cards",
    "student_info",
    "manager_duties",
]

#: The example with everything at full marks (hand check, default rubric):
#: A1–A5 all compliant; B1 4200 / 12000 = 0.35 = the target; C1 17 / 17; C2 6 / 6; C3 17 / 17;
#: C4 1000.00 + 65305.35 − 65305.35 − 0.00 = 1000.00 (balanced, carries over to itself); C5 both true;
#: D1 0 found (full); D2 20 patrols in one month; D3 one drill a month; D4, E1 true; E2 2 / 2;
#: E3 0 mismatches, 0 repairs requested (full); G1 9 / 9 items. (F1 depends on the county's schools.)
PERFECT_OVERRIDES: dict[str, Any] = {
    "campus.shop": "compliant",
    "campus.hygiene": "compliant",
    "campus.campus_area_m2": "12000",
    "campus.green_area_m2": "4200",
    "food_safety.sample_retention_days": 17,
    "nutrition.opening_balance": "1000.00",
    "nutrition.funds_received": "65305.35",
    "nutrition.closing_balance": "1000.00",
    "safety.inspections": 20,
    "safety.hazards_found": 0,
    "safety.hazards_rectified": 0,
    "assets.repairs_requested": 0,
    "assets.repairs_completed": 0,
    "dormitory.unified_items": ALL_ITEMS,
    "hazards": [],
}

DELETE = object()  # an override value that removes the key (e.g. an optional section)

_revision_ids = itertools.count(1000)


def apply_overrides(report: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set ``"section.field"`` (or top-level ``"field"``) keys; ``DELETE`` removes one."""
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = report
        for part in parents:
            node = node.setdefault(part, {})
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)
    return report


def build_report(
    period: str = "2026-09",
    overrides: Mapping[str, Any] | None = None,
    *,
    school_code: str = "6105260012",
    base: str = "perfect",
) -> dict[str, Any]:
    report = copy.deepcopy(EXAMPLE)
    if base == "perfect":
        apply_overrides(report, PERFECT_OVERRIDES)
    elif base != "example":
        raise ValueError(base)
    report["period"] = period
    report["school_code"] = school_code
    return apply_overrides(report, overrides or {})


def build_month(
    period: str = "2026-09",
    overrides: Mapping[str, Any] | None = None,
    *,
    school_code: str = "6105260012",
    base: str = "perfect",
    revision_id: int | None = None,
) -> MonthInput:
    rid = next(_revision_ids) if revision_id is None else revision_id
    return MonthInput(period, rid, report_figures(build_report(period, overrides, school_code=school_code, base=base)))


def build_school(
    code: str = "6105260012",
    months: Iterable[str | tuple[str, Mapping[str, Any]] | MonthInput] = ("2026-09",),
    expected: Iterable[str] | None = None,
    *,
    type: str = "primary",
    township: str = "庄里镇",
    name: str | None = None,
    inspections: Iterable[InspectionInput] | None = None,
    hazards: Iterable[HazardInput] = (),
    previous: MonthInput | None = None,
) -> SchoolInput:
    """A school; ``months`` items are a period (a PERFECT month), ``(period, overrides)`` or a MonthInput.

    ``expected`` defaults to the periods of ``months``; ``inspections`` defaults to one inspection scoring
    5.0 on the 15th of the last expected month (B2 full).
    """
    built: list[MonthInput] = []
    for item in months:
        if isinstance(item, MonthInput):
            built.append(item)
        elif isinstance(item, str):
            built.append(build_month(item, school_code=code))
        else:
            period, overrides = item
            built.append(build_month(period, overrides, school_code=code))
    built.sort(key=lambda m: m.period)
    expected_periods = sorted(expected) if expected is not None else [m.period for m in built]
    if inspections is None:
        if expected_periods:
            y, m = map(int, expected_periods[-1].split("-"))
            inspections = [InspectionInput(1, date(y, m, 15), Decimal("5.0"))]
        else:
            inspections = []
    return SchoolInput(
        code=code,
        name=name or f"学校{code[-4:]}",
        type=type,
        township=township,
        months=built,
        expected_periods=expected_periods,
        inspections=list(inspections),
        hazards=list(hazards),
        previous_participating=previous,
    )


@pytest.fixture(scope="session")
def rubric() -> Rubric:
    return load_default_rubric()


@pytest.fixture
def make_report() -> Callable[..., dict[str, Any]]:
    return build_report


@pytest.fixture
def make_month() -> Callable[..., MonthInput]:
    return build_month


@pytest.fixture
def make_school() -> Callable[..., SchoolInput]:
    return build_school


@pytest.fixture
def score_one(rubric: Rubric) -> Callable[..., SchoolScore]:
    """Score one school alone (so F1 compares it with itself: full) over ``window`` (default: its months)."""

    def score(school: SchoolInput, window: Window | None = None) -> SchoolScore:
        if window is None:
            periods = sorted([*school.expected_periods, *(m.period for m in school.months)])
            window = Window(periods[0], periods[-1])
        [result] = score_county([school], window, rubric)
        return result

    return score


@pytest.fixture
def example_report() -> dict[str, Any]:
    """The spec's example report, exactly (a fresh copy)."""
    return copy.deepcopy(EXAMPLE)
