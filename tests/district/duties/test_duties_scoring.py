"""H1 后勤行事历 in the engine (SCORING.md default-2): points × tasks done / tasks due over the reported months
sent in @2, each month's due list the calendar in force when its report arrived; the same from stored figures
and from the reports' contents; explained in plain Chinese."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from district.duties import services as duties
from district.registry.models import County, School
from district.reports.models import ReportRevision
from district.scoring import county_rubrics, ranking
from district.scoring.engine import Window, score_county
from district.scoring.explain_text import render_row
from district.scoring.inputs import county_inputs
from district.scoring.loader import loader_of
from district.scoring.rubric import DEFAULT_RUBRIC_PATH
from tests.district.duties.helpers_duties import calendar_text, v2_report
from tests.district.scoring.helpers_scoring_db import explained, indicator, ranked_from_contents
from tests.factories import school_report, submit

W = Window("2026-09", "2026-10")


def rubric_with_h1() -> str:
    """default-1 with B1 at 6 points and H1 at 4 (100 in all), under its own version."""
    text = DEFAULT_RUBRIC_PATH.read_text(encoding="utf-8")
    text = text.replace('version = "default-1"', 'version = "test-h1"')
    text = text.replace('name_en = "Greening"\npoints = 10', 'name_en = "Greening"\npoints = 6')
    assert 'points = 6\nkind = "green_ratio"' in text
    text = text.replace(
        '[[areas]]\ncode = "dormitory"',
        '[[areas]]\ncode = "logistics"\nzh = "后勤行事历"\nen = "Logistics calendar"\n\n[[areas]]\ncode = "dormitory"',
    )
    return text + (
        '\n[[indicators]]\ncode = "H1"\narea = "logistics"\nname_zh = "后勤行事历"\n'
        'name_en = "Logistics calendar"\npoints = 4\nkind = "calendar_tasks"\n'
    )


@pytest.fixture()
def h1_county(session: Any, county: County) -> County:
    county.reporting_start = "2026-01"
    county_rubrics.load_county_rubric(session, "610528", rubric_with_h1(), "test-h1.toml", actor="test")
    return county


def _school(session: Any, code: str) -> School:
    school = session.get(School, code)
    assert school is not None
    return school


def test_h1_counts_done_over_due_by_the_calendar_in_force_when_each_month_arrived(
    session: Any, h1_county: County, hub_clock: Any
) -> None:
    s1, s2, s4 = (_school(session, c) for c in ("6105280001", "6105280002", "6105280004"))
    # September: no calendar loaded, the shipped default is in force: 5 tasks due in September
    assert duties.calendar_in_force(session, "610528").codes_of(9) == (
        "TERM-PLAN", "OPENING-CHECK", "SEP-ASSETS", "SEP-CLEAN-AREAS", "SEP-INSURANCE",
    )  # fmt: skip
    done = ["TERM-PLAN", "OPENING-CHECK", "SEP-ASSETS"]
    submit(session, "6105280001", "2026-09", data=v2_report(s1, "2026-09", done))
    submit(session, "6105280002", "2026-09", data=school_report(s2, "2026-09"))  # @1: not counted in H1

    # the county loads its own calendar: October has 2 tasks, September 1 other task
    first = calendar_text(
        ("OCT-A", [10], "召开伙管会成员会议", "food"),
        ("OCT-B", [10], "做好班级电教设备的检查工作", "wiring"),
        ("SEP-X", [9], "办好学生人身保险", "other"),
    )
    duties.load_calendar(session, "610528", first, "fuping.toml", actor="test")
    submit(session, "6105280001", "2026-10", data=v2_report(s1, "2026-10", ["OCT-A"]))
    submit(session, "6105280002", "2026-10", data=v2_report(s2, "2026-10", ["OCT-A", "OCT-B"]))
    submit(session, "6105280004", "2026-10", data=school_report(s4, "2026-10"))  # only @1 → H1 not applicable

    # a later calendar changes nothing for months already reported
    second = calendar_text(("OCT-C", [10], "召开日托班学生家长会议", "food"), ("SEP-Y", [9], "x", "other"))
    duties.load_calendar(session, "610528", second, "fuping-2.toml", actor="test")
    assert [v.version for v in duties.versions(session, "610528")] == [1, 2]

    snapshot = ranking.compute_ranking(session, "610528", W, trigger="test")
    h1 = indicator(session, snapshot, "6105280001", "H1")
    # September (default calendar): 3 of 5; October (version 1): 1 of 2 → 4 × 4 / 7
    assert h1["earned_exact"] == "16/7" and h1["earned"] == "2.29"
    assert h1["inputs"]["tasks done"] == "4" and h1["inputs"]["tasks due"] == "7"
    assert h1["inputs"]["tasks done 2026-09"] == "3/5" and h1["inputs"]["tasks done 2026-10"] == "1/2"
    text = render_row(h1, "zh")
    assert text.sentence.startswith("完成行事历任务 4 项 / 应完成 7 项")
    assert text.formula == "4 × 4 ÷ 7 = 2.29"
    assert ("2026年10月行事历任务", "完成 1 项 / 应完成 2 项") in text.inputs

    h1_2 = indicator(session, snapshot, "6105280002", "H1")
    # 2 of 2 done; the @1 September is left out
    assert h1_2["earned_exact"] == "4" and h1_2["inputs"]["months sent in @2"] == "1"
    h1_4 = indicator(session, snapshot, "6105280004", "H1")
    assert h1_4["applicable"] is False and h1_4["available"] == "0"
    assert render_row(h1_4, "zh").sentence == "按新标准报送的月份中没有应完成的行事历任务，本项不适用"

    # the recorded versions: September judged by the default (null), October by version 1
    versions = dict(
        session.execute(
            select(ReportRevision.period, ReportRevision.calendar_version_id).where(
                ReportRevision.school_code == "6105280001"
            )
        ).all()
    )
    assert versions["2026-09"] is None and versions["2026-10"] == duties.versions(session, "610528")[0].id
    # the scoring loader (this database's backend) reads the same recorded versions
    ids = dict(
        session.execute(
            select(ReportRevision.period, ReportRevision.id).where(ReportRevision.school_code == "6105280001")
        ).all()
    )
    recorded = loader_of(session).calendar_versions(session, [ids["2026-09"], ids["2026-10"]])
    assert recorded == {ids["2026-09"]: None, ids["2026-10"]: versions["2026-10"]}


def test_h1_from_stored_figures_is_h1_from_the_reports(session: Any, h1_county: County, hub_clock: Any) -> None:
    s1, s2 = _school(session, "6105280001"), _school(session, "6105280002")
    submit(session, "6105280001", "2026-09", data=v2_report(s1, "2026-09", ["TERM-PLAN"]))
    duties.load_calendar(session, "610528", calendar_text(("OCT-A", [10], "会议", "other")), "c.toml", actor="t")
    submit(session, "6105280001", "2026-10", data=v2_report(s1, "2026-10", ["OCT-A"]))
    submit(session, "6105280002", "2026-10", data=v2_report(s2, "2026-10", []))
    snapshot = ranking.compute_ranking(session, "610528", W, trigger="test")
    stored = explained(session, snapshot)
    assert ranked_from_contents(session, "610528", W) == stored
    h1 = {r["school_code"]: next(i for i in r["indicators"] if i["code"] == "H1") for r in stored if r["indicators"]}
    assert h1["6105280001"]["earned_exact"] == "4/3"  # 4 × (1 + 1) / (5 + 1)
    assert h1["6105280002"]["earned_exact"] == "0"  # 0 of 1


def test_the_engine_refuses_a_v2_month_without_its_due_tasks(session: Any, h1_county: County) -> None:
    s1 = _school(session, "6105280001")
    at = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
    submit(session, "6105280001", "2026-09", data=v2_report(s1, "2026-09", []), at=at)
    inputs = county_inputs(session, "610528", W)
    bare = [dataclasses.replace(s, months=[m._replace(calendar_due=None) for m in s.months]) for s in inputs.schools]
    with pytest.raises(ValueError, match="no calendar tasks due given"):
        score_county(bare, W, inputs.rubric)
