"""The rubric ``default-2`` (SCORING.md "Additions for houqin/monthly-report@2"): the shipped file has exactly the
spec's points, and the same county ranked with default-1 and then default-2 gives, school by school, default-1's
earned points scaled to default-2's for every shared indicator, C4 counting the stock carry-over, and C6 and H1
computed by hand."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from district.duties import services as duties
from district.registry.models import County, School
from district.scoring import county_rubrics, ranking
from district.scoring.engine import Window
from district.scoring.rubric import DEFAULT_RUBRIC_PATH, load_rubric_file
from tests.district.duties.helpers_duties import v2_report
from tests.district.scoring.helpers_scoring_db import explained
from tests.factories import school_report, submit

V2_PATH = DEFAULT_RUBRIC_PATH.with_name("default-v2.toml")
W = Window("2026-09", "2026-10")

#: SCORING.md: "A1–A5 6 each · B1 7 · B2 5 · C1 6 · C2 4 · C3 3 · C4 4 · C5 3 · C6 3 · D1 6 · D2 3 · D3 2 · D4 2 ·
#: E1 4 · E2 2 · E3 3 · F1 4 · G1 5 · H1 4"
SPEC_POINTS = {"A1": 6, "A2": 6, "A3": 6, "A4": 6, "A5": 6, "B1": 7, "B2": 5, "C1": 6, "C2": 4, "C3": 3, "C4": 4,
               "C5": 3, "C6": 3, "D1": 6, "D2": 3, "D3": 2, "D4": 2, "E1": 4, "E2": 2, "E3": 3, "F1": 4, "G1": 5,
               "H1": 4}  # fmt: skip
STOCK_CODES = {"SPEND_EXCEEDS_CONSUMPTION", "STOCK_CARRY_OVER_MISMATCH"}


def test_the_shipped_default_2_is_the_spec_s() -> None:
    one, two = load_rubric_file(DEFAULT_RUBRIC_PATH), load_rubric_file(V2_PATH)
    assert (one.version, two.version) == ("default-1", "default-2")
    assert {i.code: int(i.points) for i in two.indicators} == SPEC_POINTS
    by_code = {i.code: i for i in one.indicators}
    for i in two.indicators:
        if i.code in ("C6", "H1"):
            assert i.kind == {"C6": "kitchen_controls", "H1": "calendar_tasks"}[i.code]
            continue
        assert (i.kind, i.area) == (by_code[i.code].kind, by_code[i.code].area), i.code  # default-1's formula
    c4 = {i.code: i for i in two.indicators}["C4"]
    assert set(c4.params["codes"]) == {"MISUSE", "BALANCE_MISMATCH", "CARRY_OVER_MISMATCH"} | STOCK_CODES


@pytest.fixture()
def two_rankings(session: Any, county: County) -> tuple[dict[str, Any], dict[str, Any]]:
    """0001 in @2 for September and October, 0002 in @1; ranked with default-1, then with default-2."""
    county.reporting_start = "2026-01"
    s1, s2 = session.get(School, "6105280001"), session.get(School, "6105280002")
    assert duties.calendar_in_force(session, "610528").codes_of(9)[:2] == ("TERM-PLAN", "OPENING-CHECK")
    october = duties.calendar_in_force(session, "610528").codes_of(10)
    assert len(october) == 3 and len(duties.calendar_in_force(session, "610528").codes_of(9)) == 5
    submit(session, "6105280001", "2026-09", data=v2_report(s1, "2026-09", ["TERM-PLAN", "OPENING-CHECK"]))
    # October carries September's fund balance on (no CARRY_OVER_MISMATCH) but not its stock: opening stock
    # 3,200.00 against September's closing 2,800.00 → STOCK_CARRY_OVER_MISMATCH, which only default-2's C4 counts
    october_report = v2_report(
        s1, "2026-10", list(october), nutrition__opening_balance="4915.65", nutrition__closing_balance="6845.30"
    )
    submit(session, "6105280001", "2026-10", data=october_report)
    submit(session, "6105280002", "2026-09", data=school_report(s2, "2026-09"))
    submit(session, "6105280002", "2026-10", data=school_report(s2, "2026-10"))
    first = _ranked(session)
    county_rubrics.load_county_rubric(session, "610528", V2_PATH.read_text(encoding="utf-8"), V2_PATH.name, actor="t")
    return first, _ranked(session)


def _ranked(session: Any) -> dict[str, Any]:
    snapshot = ranking.compute_ranking(session, "610528", W, trigger="t")
    return {r["school_code"]: r for r in explained(session, snapshot)}


def _rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["code"]: i for i in result["indicators"]}


def test_the_same_county_ranked_with_default_1_and_default_2(two_rankings: Any) -> None:
    first, second = two_rankings
    for code in ("6105280001", "6105280002"):
        one, two = _rows(first[code]), _rows(second[code])
        for ind, row in two.items():
            if ind in ("C4", "C6", "H1"):
                continue
            base = one[ind]
            assert row["applicable"] == base["applicable"], (code, ind)
            if not row["applicable"]:
                continue
            scale = Fraction(SPEC_POINTS[ind]) / Fraction(base["points"])
            assert Fraction(row["earned_exact"]) == Fraction(base["earned_exact"]) * scale, (code, ind)
        # the score: 100 × earned / available over the applicable rows, exact, rounded half up to 2 places
        earned = sum(Fraction(r["earned_exact"]) for r in two.values() if r["applicable"])
        available = sum(Fraction(r["points"]) for r in two.values() if r["applicable"])
        assert Fraction(second[code]["earned_total"]) == earned
        assert Fraction(second[code]["available_total"]) == available
        exact = 100 * earned / available
        assert Fraction(second[code]["raw_score"]) == exact
        assert Fraction(second[code]["score"]) == Fraction(int(exact * 100 + Fraction(1, 2)), 100)
        assert (first[code]["rubric_version"], second[code]["rubric_version"]) == ("default-1", "default-2")

    r1 = _rows(second["6105280001"])
    # C6: Σ (17 + 17 + 15) over two months / (3 × 17 × 2) = 98 / 102 → 3 × 98/102 = 49/17
    assert Fraction(r1["C6"]["earned_exact"]) == Fraction(49, 17)
    # H1: September 2 of 5 (the shipped calendar), October 3 of 3 → 4 × 5/8
    assert Fraction(r1["H1"]["earned_exact"]) == Fraction(5, 2)
    # C4: default-1 counts both months clean (4); default-2 finds October's stock carry-over (4 × 1/2)
    assert Fraction(_rows(first["6105280001"])["C4"]["earned_exact"]) == 4
    assert Fraction(r1["C4"]["earned_exact"]) == 2
    # 0002 sent @1 only: neither C6 nor H1 applies, its C4 is default-1's
    r2 = _rows(second["6105280002"])
    assert r2["C6"]["applicable"] is False and r2["H1"]["applicable"] is False
    assert Fraction(r2["C4"]["earned_exact"]) == Fraction(_rows(first["6105280002"])["C4"]["earned_exact"])
    # available: the spec's 100 less the points of the rows that do not apply (C6 and H1 among them)
    assert Fraction(second["6105280002"]["available_total"]) == 100 - sum(
        Fraction(r["points"]) for r in r2.values() if not r["applicable"]
    )
