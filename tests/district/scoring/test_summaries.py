"""A ranking summed up (``district.scoring.summaries``): each summary by hand, then one county's figures on the
pages and in the PDFs pinned to the same functions over the same snapshot's rows (one truth)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

from district.alerts.services import year_to_date_ranking
from district.calendar import round_half_up
from district.integrity.heads import county_heads
from district.rendering.evaluation import Verification, county_summary_context, school_evaluation_context
from district.scoring import snapshots, summaries
from tests.district.dashboard.conftest import sign_in
from tests.district.scoring.helpers_scoring_db import seed_county, submit

# ------------------------------------------------------------------------------------------------ by hand


def _ind(code: str, area: str, earned: str | None, available: str, applicable: bool = True) -> dict[str, Any]:
    return {"code": code, "area": area, "area_zh": area, "name_zh": code, "points": available,
            "applicable": applicable, "earned_exact": earned, "available": available}  # fmt: skip


A = {"indicators": [_ind("A1", "x", "3", "6"), _ind("A2", "x", "6", "6"), _ind("B1", "y", "1/3", "10"),
                    _ind("G1", "z", None, "0", applicable=False)], "grade": "合格", "status": "compliant",
     "rank": 2}  # fmt: skip
B = {"indicators": [_ind("A1", "x", "4", "6"), _ind("A2", "x", "0", "6"), _ind("B1", "y", "6", "10"),
                    _ind("G1", "z", "5", "5")], "grade": "优秀", "status": "veto", "rank": 1}  # fmt: skip
UNSCORED = {"indicators": [], "grade": None, "status": "insufficient_data", "rank": None}


def test_area_rates_and_the_county_means_by_hand() -> None:
    assert summaries.area_rates(A) == {"x": (Fraction(9), Fraction(12)), "y": (Fraction(1, 3), Fraction(10)),
                                       "z": (Fraction(0), Fraction(0))}  # fmt: skip
    assert summaries.rubric_areas([UNSCORED, A, B]) == [("x", "x"), ("y", "y"), ("z", "z")]
    # x: (9/12 + 4/12) / 2; y: (1/30 + 6/10) / 2; z: only B applies (5/5)
    assert summaries.county_area_means([A, B, UNSCORED]) == {
        "x": Fraction(13, 24),
        "y": Fraction(19, 60),
        "z": Fraction(1),
    }


def test_failing_indicators_grades_and_statuses_by_hand() -> None:
    # below 60 %: A.A1 3/6 = 50 %, A.B1, B.A2 0/6; B.A1 4/6 = 66.7 % and B.B1 6/10 = 60 % are not below
    rows = summaries.failing_indicators([A, B])
    assert [(r["code"], r["failing"], r["applicable"], r["share"]) for r in rows] == [
        ("A1", 1, 2, Decimal("0.5000")), ("A2", 1, 2, Decimal("0.5000")), ("B1", 1, 2, Decimal("0.5000")),
    ]  # fmt: skip
    assert summaries.failing_indicators([A, B], limit=1)[0]["code"] == "A1"
    dist = summaries.grade_distribution([A, B, UNSCORED], ["优秀", "良好", "合格", "不合格"])
    assert [(d["grade"], d["count"], d["share"]) for d in dist] == [
        ("优秀", 1, Decimal("0.3333")),
        ("良好", 0, Decimal("0.0000")),
        ("合格", 1, Decimal("0.3333")),
        ("不合格", 0, Decimal("0.0000")),
        ("无成绩（期内无报表）", 1, Decimal("0.3333")),
    ]
    assert summaries.grade_distribution([], ["优秀"])[0]["share"] is None
    assert summaries.status_counts([A, B, UNSCORED]) == {
        "veto": 1,
        "insufficient_data": 1,
        "compliant": 1,
        "not_compliant": 0,
    }
    assert summaries.schools_ranked([A, B, UNSCORED]) == 2


# ------------------------------------------------------------------------------------------------ one truth


def test_the_city_page_and_the_pdfs_show_the_summaries_of_one_snapshot(client: Any, session: Any, county: Any) -> None:
    from district.auth.services import create_user

    seed_county(session)
    # a poisoning in October vetoes 0002 (a correction of its October report)
    submit(session, "6105280002", "2026-10", food_safety__poisoning_incidents=1)
    # the city page's ranking (the year to date of its period) is the one the PDFs are made from here
    snapshot = year_to_date_ranking(session, county, "2026-10")
    rows = snapshots.snapshot_rows(session, snapshot)
    counts = summaries.status_counts(rows)
    assert counts["veto"] == 1  # not a vacuous pin

    # the dashboard: the city overview's 一票否决学校 cell for 富平县
    create_user(session, "summary-city", "correct horse battery", "city_admin", scope="610500")
    sign_in(client, "summary-city", "correct horse battery")
    html = client.get("/cities/610500/?period=2026-10").get_data(as_text=True)
    line = html[html.index('<tr data-county="610528">') :]
    cells = re.findall(r'<td class="num">(?:<span class="late">)?([^<]+)<', line[: line.index("</tr>")])
    assert cells[5] == str(counts["veto"])

    # the county summary PDF: statuses, grades, failing indicators, schools ranked
    made = dt.datetime(2026, 11, 21, 6, 5, tzinfo=dt.UTC)
    v = Verification(
        document_no="HQ-610528-000001-0001", made_at=made, chain_digest=county_heads(session, "610528").digest
    )
    ctx = county_summary_context(session, snapshot, v)
    assert {s["status"]: s["count"] for s in ctx["statuses"]} == counts
    grades = [d["grade"] for d in ctx["distribution"]][:-1]
    assert ctx["distribution"] == summaries.grade_distribution(rows, grades)
    assert ctx["failing"] == summaries.failing_indicators(rows) != []
    assert ctx["schools_ranked"] == summaries.schools_ranked(rows)

    # a school's evaluation PDF: its area rates and the county's means in the seven-area table
    school = school_evaluation_context(session, snapshot, "6105280001", v)
    means = summaries.county_area_means(rows)
    mine = summaries.area_rates(snapshots.school_view(session, snapshot, "6105280001"))
    areas = summaries.rubric_areas(rows)
    assert len(areas) == 7 and means
    assert [a["label"] for a in school["areas"]] == [label for _code, label in areas]
    for (code, _label), shown in zip(areas, school["areas"], strict=True):
        assert shown["county_rate"] == (None if code not in means else round_half_up(means[code] * 100, 1))
        earned, available = mine[code]
        assert shown["rate"] == (round_half_up(earned / available * 100, 1) if available > 0 else None)
