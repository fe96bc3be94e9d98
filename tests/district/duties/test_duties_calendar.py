"""The 后勤行事历 as data: the shipped default, ``houqin calendar load/show`` (versions appended, every error
naming its line and nothing stored), and ingestion judging a @2 report's tasks by the calendar in force
(``POST /api/v1/reports``: 422 ``calendar_task_unknown`` / ``calendar_task_duplicate``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from district.audit.models import AuditEntry
from district.cli import Context, main
from district.db import db
from district.duties import services as duties
from district.duties.models import DutyCalendarVersion, DutyTask
from district.registry.models import School
from district.reports.models import Rejection, ReportRevision
from tests.conftest import SignedClient
from tests.district.duties.helpers_duties import calendar_text, v2_report


@pytest.fixture
def run(app: Any, session: Any) -> Any:
    def invoke(*args: str) -> Any:
        db.session().commit()  # the test's rows into its outer transaction (rolled back at the end)
        ctx = Context()
        ctx._app = app
        return CliRunner().invoke(main, list(args), obj=ctx)

    return invoke


def test_the_shipped_calendar_follows_the_seed_plans() -> None:
    cal = duties.default_calendar()
    assert cal.is_default and cal.version_id is None
    per_month = {m: len(cal.tasks_of(m)) for m in range(1, 13)}
    assert per_month[7] == per_month[8] == 0  # the break months
    assert all(3 <= per_month[m] <= 5 for m in (1, 2, 3, 4, 5, 6, 9, 10, 11, 12)), per_month
    titles = {t.title for t in cal.tasks}
    # the seeds' own words (002: 二月、四月、六月; 004: 十二月、一月)
    assert {
        "期末财产清理，兑现制度",
        "检查预防“非洲猪瘟”工作落实情况",
        "审核伙食帐",
        "做好自来水防冻保暖工作",
    } <= titles
    assert all(len(t.code) <= 20 and t.category in duties.CATEGORIES for t in cal.tasks)


BAD = """[[task]]
code = "FEB-CHECK"
months = [2, 13]
title = "开学工作准备，检查维修"
category = "building"

[[task]]
code = "FEB-CHECK"
months = [3]
title = "检查学校收费情况"
category = "money"

[[task]]
code = "A-CODE-LONGER-THAN-TWENTY"
months = [4]
category = "food"
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BAD, [
            "第 3 行：months（月份）月份 13 不在 1–12 之内",
            "第 8 行：code（编号）“FEB-CHECK”重复（第 2 行已有）",
            "第 11 行：category（类别）“money”不是已知类别",
            "第 13 行：title（任务）缺少此项",
            "第 14 行：code（编号）“A-CODE-LONGER-THAN-TWENTY”超过 20 个字符",
        ]),
        ('[[task]]\ncode = "X"\nmonths = [0]\ntitle = "t"\ncategory = "other"\nwhen = 1\n', [
            "第 3 行：months（月份）月份 0 不在 1–12 之内",
            "第 6 行：when不是任务的字段",
        ]),
        ('[[task]]\ncode = "X"\nmonths = 2\ntitle = "t"\ncategory = "other"\n',
         ["第 3 行：months（月份）应为月份列表"]),
        ('[[task]]\ncode = "X"\nmonths = [2\n', ["第 3 行：TOML不是有效的 TOML"]),
        ("# nothing\n", ["第 1 行：task没有任何任务"]),
    ],
)  # fmt: skip
def test_a_bad_calendar_file_names_each_line_and_stores_nothing(
    run: Any, session: Any, county: Any, tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = run("calendar", "load", str(path), "--county", "610528")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("bad.toml ")]
    assert len(lines) == len(expected), result.output
    for line, want in zip(lines, expected, strict=True):
        assert want in line, (line, want)
    assert "未加载" in result.output
    assert session.scalar(select(func.count()).select_from(DutyCalendarVersion)) == 0
    assert session.scalar(select(func.count()).select_from(DutyTask)) == 0


def test_load_makes_a_new_version_each_time_and_show_prints_the_calendar_in_force(
    run: Any, session: Any, county: Any, tmp_path: Path, hub_clock: Any
) -> None:
    shown = run("calendar", "show", "--county", "610528", "--month", "11")
    assert shown.exit_code == 0, shown.output
    assert "使用平台默认行事历" in shown.output and "开展消防安全教育活动和有关逃生演练（消防）" in shown.output

    path = tmp_path / "fuping.toml"
    path.write_text(calendar_text(("NOV-HEAT", [11, 12], "冬季取暖与防火检查", "fire")), encoding="utf-8")
    assert run("calendar", "load", str(path), "--county", "610528").exit_code == 0
    path.write_text(
        calendar_text(
            ("NOV-HEAT", [11], "冬季取暖与防火检查", "fire"), ("DEC-FEES", [12], "做好预结算工作", "finance")
        ),
        encoding="utf-8",
    )
    loaded = run("calendar", "load", str(path), "--county", "610528")
    assert loaded.exit_code == 0 and "第 2 版，共 2 项任务" in loaded.output, loaded.output

    rows = duties.versions(session, "610528")
    assert [(v.version, v.source, v.loaded_by) for v in rows] == [(1, "fuping.toml", "cli"), (2, "fuping.toml", "cli")]
    # the hub clock's time (tests.conftest: 2026-11-21 12:00 Asia/Shanghai), stored in UTC
    assert rows[0].loaded_at.date().isoformat() == "2026-11-21" and rows[0].loaded_at <= rows[1].loaded_at
    assert duties.calendar_by_version(session, rows[0].id).codes_of(12) == ("NOV-HEAT",)  # the old version stays
    assert duties.calendar_in_force(session, "610528").codes_of(12) == ("DEC-FEES",)
    acts = session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar.load")).all()
    assert [a.details["version"] for a in acts] == [1, 2]

    shown = run("calendar", "show", "--county", "610528", "--month", "12")
    assert "第 2 版" in shown.output and "DEC-FEES  做好预结算工作（财务）" in shown.output
    assert "NOV-HEAT" not in shown.output
    assert run("calendar", "show", "--county", "999999").exit_code == 1


def test_ingestion_judges_tasks_by_the_calendar_in_force(agent: SignedClient, session: Any, county: Any) -> None:
    school = session.get(School, "6105280001")
    # the shipped default is in force: September has OPENING-CHECK, not DEC-BUDGET (December's)
    unknown = agent.post_report(v2_report(school, "2026-09", ["OPENING-CHECK", "DEC-BUDGET"]))
    assert unknown.status_code == 422
    error = unknown.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert [(d["path"], d["code"]) for d in error["details"]] == [("/calendar/tasks/1/code", "calendar_task_unknown")]
    assert "DEC-BUDGET" in error["details"][0]["message"] and "9 月" in error["details"][0]["message"]

    twice = agent.post_report(v2_report(school, "2026-09", ["OPENING-CHECK", "OPENING-CHECK"]))
    assert twice.status_code == 422
    details = twice.get_json()["error"]["details"]
    assert [(d["path"], d["code"]) for d in details] == [("/calendar/tasks/1/code", "calendar_task_duplicate")]
    rejected = session.scalars(select(Rejection).order_by(Rejection.id)).all()
    assert [r.details for r in rejected] == [
        [{"path": "/calendar/tasks/1/code", "code": "calendar_task_unknown"}],
        [{"path": "/calendar/tasks/1/code", "code": "calendar_task_duplicate"}],
    ]
    assert session.scalar(select(func.count()).select_from(ReportRevision)) == 0

    ok = agent.post_report(v2_report(school, "2026-09", ["OPENING-CHECK", "SEP-INSURANCE"]))
    assert ok.status_code == 201, ok.get_json()

    # the county loads its own: September's default tasks are now unknown, its own are accepted
    duties.load_calendar(
        session, "610528", calendar_text(("SEP-DORM", [9], "学生宿舍卫生提前打扫", "hygiene")), "f.toml", actor="t"
    )
    old = agent.post_report(v2_report(school, "2026-09", ["OPENING-CHECK"]))
    assert old.status_code == 422
    assert old.get_json()["error"]["details"][0]["code"] == "calendar_task_unknown"
    new = agent.post_report(v2_report(school, "2026-09", ["SEP-DORM"]))
    assert new.status_code == 201, new.get_json()
    recorded = session.scalars(select(ReportRevision.calendar_version_id).order_by(ReportRevision.revision)).all()
    assert recorded == [None, duties.versions(session, "610528")[0].id]
