"""The bureau's 督查 findings in the school's hazard ledger (issue 20 item 5; SCORING.md "On-site inspections
with a checklist"): each finding is the entry ``DC-<inspection id>-<n>`` found on the visit's date, counted in D1
like the school's own entries, shown in the agent's feedback and the web template, and closed by the school's
later report by its ref (what the bureau wrote stays as written)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from district.api.feedback import school_feedback
from district.registry.models import School
from district.reports.hazards import hazard_ledger
from district.scoring import inspections, ranking, snapshots
from district.scoring.engine import Window
from district.scoring.models import Inspection
from district.submission.services import open_hazards
from school_agent import wording
from tests.district.scoring.helpers_scoring_db import YEAR_FROM, YEAR_TO, report, seed_county, submit

W = Window(YEAR_FROM, YEAR_TO)


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    return seed_county(session)


def _finding(**overrides: Any) -> dict[str, Any]:
    return {"category": "fire", "severity": "major", "description": "灭火器过期", "deadline": "2026-09-30", **overrides}


def _indicator(session: Any, code: str, indicator_code: str, window: Window = W) -> dict[str, Any]:
    return next(i for i in ranking.school_score(session, code, window)["indicators"] if i["code"] == indicator_code)


# ------------------------------------------------------------------------------------------------ the ledger


def _visit(session: Any, code: str = "6105280002", date: str = "2026-09-10", **finding: Any) -> Inspection:
    finding.setdefault("deadline", "2026-09-30")
    return inspections.record_inspection(
        session, code, date=date, score="4", inspector="后勤科", findings=[_finding(**finding)], actor="t"
    )


def _closing(code: str, period: str, ref: str, rectified_on: str | None, **overrides: Any) -> dict[str, Any]:
    entry = {
        "ref": ref,
        "found_on": "2026-09-10",
        "category": "fire",
        "severity": "major",
        "description": "灭火器已更换",
        "deadline": "2026-09-30",
        "rectified_on": rectified_on,
        **overrides,
    }
    return report(code, period, hazards=[entry])


def test_findings_enter_the_ledger_as_dc_refs_found_on_the_visit(session: Any, seeded: dict[str, int]) -> None:
    insp = _visit(session)
    ref = f"DC-{insp.id}-1"
    [entry] = [e for e in hazard_ledger(session, school_code="6105280002") if e.ref.startswith("DC-")]
    assert (entry.ref, entry.found_on, entry.period, entry.revision_id) == (ref, dt.date(2026, 9, 10), "2026-09", None)
    assert (entry.category, entry.severity, entry.deadline, entry.rectified_on) == (
        "fire",
        "major",
        dt.date(2026, 9, 30),
        None,
    )
    assert entry.school_name == "庄里镇初级中学" and entry.township == "庄里镇"
    # the county's ledger lists it too; the ledger as it stood in August does not
    assert ref in {e.ref for e in hazard_ledger(session, county_code="610528")}
    assert ref not in {e.ref for e in hazard_ledger(session, county_code="610528", as_of_period="2026-08")}
    # overdue on 2026-10-01 (deadline 2026-09-30, still open); not on the deadline itself
    assert [
        e.ref
        for e in hazard_ledger(session, county_code="610528", overdue_on=dt.date(2026, 10, 1))
        if e.school_code == "6105280002"
    ] == [ref]
    assert not [
        e
        for e in hazard_ledger(session, county_code="610528", overdue_on=dt.date(2026, 9, 30))
        if e.school_code == "6105280002"
    ]


def test_an_overdue_major_finding_counts_in_d1_like_the_schools_own(session: Any, seeded: dict[str, int]) -> None:
    before = _indicator(session, "6105280002", "D1")
    assert before["inputs"]["overdue open major hazards"] == "0"
    insp = _visit(session)
    after = _indicator(session, "6105280002", "D1")
    assert after["inputs"]["overdue open major hazards"] == "1"
    assert f"hazard DC-{insp.id}-1" in after["inputs"]
    assert Decimal(after["earned"]) == max(Decimal(0), Decimal(before["earned"]) - 2)  # the penalty of 2
    # a general finding is not penalised
    general = _indicator(session, "6105280001", "D1")
    _visit(session, code="6105280001", severity="general")
    assert _indicator(session, "6105280001", "D1") == general


def test_the_school_closes_a_finding_by_its_ref_in_a_later_report(session: Any, seeded: dict[str, int]) -> None:
    insp = _visit(session)
    ref = f"DC-{insp.id}-1"
    # the school restates it rectified in its October report; a lowered severity or moved deadline is not read
    submit(
        session,
        "6105280002",
        "2026-10",
        _closing("6105280002", "2026-10", ref, "2026-09-25", severity="general", deadline="2026-12-31"),
    )
    [entry] = [e for e in hazard_ledger(session, school_code="6105280002") if e.ref == ref]
    assert entry.rectified_on == dt.date(2026, 9, 25) and entry.period == "2026-10" and entry.revision_id is not None
    assert (entry.severity, entry.deadline, entry.description) == ("major", dt.date(2026, 9, 30), "灭火器过期")
    assert _indicator(session, "6105280002", "D1")["inputs"]["overdue open major hazards"] == "0"
    assert not any(e.ref == ref for e in hazard_ledger(session, county_code="610528", overdue_on=dt.date(2026, 10, 1)))
    # the ledger as it stood at September (before the October report) still has it open
    [then] = [e for e in hazard_ledger(session, school_code="6105280002", as_of_period="2026-09") if e.ref == ref]
    assert then.rectified_on is None and then.revision_id is None


def test_a_statement_from_before_the_visit_does_not_close_it(session: Any, seeded: dict[str, int]) -> None:
    insp = _visit(session, date="2026-10-10", deadline="2026-10-20")
    ref = f"DC-{insp.id}-1"
    submit(session, "6105280002", "2026-09", _closing("6105280002", "2026-09", ref, "2026-09-20"))
    [entry] = [e for e in hazard_ledger(session, school_code="6105280002") if e.ref == ref]
    assert entry.rectified_on is None and entry.period == "2026-10"
    assert _indicator(session, "6105280002", "D1")["inputs"]["overdue open major hazards"] == "1"


def test_an_old_visit_with_findings_makes_a_stored_ranking_stale(session: Any, seeded: dict[str, int]) -> None:
    window = Window("2026-10", "2026-10")
    first = ranking.latest_ranking(session, "610528", window)
    assert first is not None
    _visit(session)  # dated 2026-09-10, before the window; its finding is overdue at the window's end
    second = ranking.latest_ranking(session, "610528", window)
    assert second is not None and second.id > first.id
    row = next(r for r in second.results if r["school_code"] == "6105280002")
    assert any(h[0].startswith("DC-") and h[5] is None for h in row["pins"]["hazards"])
    d1 = next(i for i in snapshots.school_view(session, second, "6105280002")["indicators"] if i["code"] == "D1")
    assert d1["inputs"]["overdue open major hazards"] == "1"


# ------------------------------------------------------------------------------------------------ the school sees it


def test_feedback_and_templates_carry_the_open_findings(session: Any, seeded: dict[str, int]) -> None:
    insp = _visit(session)
    ref = f"DC-{insp.id}-1"
    school = session.get(School, "6105280002")
    fb = school_feedback(session, school, "2026-10")
    assert fb["inspection_findings"] == [
        {"ref": ref, "found_on": "2026-09-10", "category": "fire", "severity": "major", "description": "灭火器过期",
         "deadline": "2026-09-30", "rectified_on": None}
    ]  # fmt: skip
    line = f"教育局督查发现的问题 {ref}（重大隐患）：灭火器过期，整改期限 2026年9月30日。"
    assert line + "整改后在月报隐患台账中该编号一行填写整改完成日期" in wording.feedback_lines(fb)
    # the web path's template prefills it among the open hazards
    assert ref in [h["ref"] for h in open_hazards(session, "6105280002", "2026-10")]
    submit(session, "6105280002", "2026-10", _closing("6105280002", "2026-10", ref, "2026-09-28"))
    assert school_feedback(session, school, "2026-11")["inspection_findings"] == []
    assert ref not in [h["ref"] for h in open_hazards(session, "6105280002", "2026-10")]


def test_the_agent_sees_the_finding_over_http(agent: Any, session: Any, seeded: dict[str, int]) -> None:
    insp = _visit(session, code="6105280001")
    resp = agent.get("/api/v1/feedback?period=2026-10")
    assert resp.status_code == 200
    assert [f["ref"] for f in resp.json["inspection_findings"]] == [f"DC-{insp.id}-1"]


def test_a_finding_moves_the_countys_read_watermark(session: Any, seeded: dict[str, int], county: Any) -> None:
    from district import readcache

    mark = readcache.county_watermark(session, county)
    _visit(session)
    assert readcache.county_watermark(session, county) != mark  # the cached overdue hazards are made again
    on = dt.date(2026, 10, 31)
    assert any(e.ref.startswith("DC-") for e in readcache.overdue_major_hazards(session, county, "2026-10", on))
