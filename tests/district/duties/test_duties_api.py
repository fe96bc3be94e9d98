"""``GET /api/v1/counties/<c>/calendar``: the month's tasks in force and, per school and township, done / not
done; schools that sent @1 or nothing are shown as such. The agent's period state and feedback name the month's
tasks when the county requires @2; the web template lists them."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from district.registry.models import School
from district.reports.standards import set_requirement
from tests.conftest import SignedClient
from tests.district.duties.helpers_duties import v2_report
from tests.district.scoring.helpers_scoring_db import bearer
from tests.factories import school_report, submit


def test_the_county_calendar_of_a_month_school_by_school(client: Any, session: Any, county: Any) -> None:
    s1, s2 = session.get(School, "6105280001"), session.get(School, "6105280002")
    submit(session, "6105280001", "2026-10", data=v2_report(s1, "2026-10", ["OCT-AV-CHECK", "OCT-PARENTS"]))
    submit(session, "6105280002", "2026-10", data=school_report(s2, "2026-10"))  # @1
    viewer = bearer(session, "county_viewer", "610528", "cal-viewer")

    resp = client.get("/api/v1/counties/610528/calendar?period=2026-10", headers=viewer)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["calendar"] == {"version": None, "default": True, "source": "default-calendar.toml"}
    assert [(t["code"], t["due"], t["done"]) for t in data["tasks"]] == [
        ("OCT-MEAL-COMMITTEE", 1, 0),
        ("OCT-AV-CHECK", 1, 1),
        ("OCT-PARENTS", 1, 1),
    ]
    assert data["tasks"][1]["by_township"] == [
        {"township": "城关街道", "due": 0, "done": 0},
        {"township": "庄里镇", "due": 1, "done": 1},
    ]
    # 0003 closed in June: not listed; 0004 opened in October and sent nothing
    assert [(s["school_code"], s["status"], s["done"]) for s in data["schools"]] == [
        ("6105280004", "not_reported", []),
        ("6105280001", "reported_v2", ["OCT-AV-CHECK", "OCT-PARENTS"]),
        ("6105280002", "reported_v1", []),
    ]
    assert data["townships"] == [
        {"township": "城关街道", "schools": 1, "reported_v2": 0, "reported_v1": 0, "not_reported": 1,
         "tasks_due": 0, "tasks_done": 0},
        {"township": "庄里镇", "schools": 2, "reported_v2": 1, "reported_v1": 1, "not_reported": 0,
         "tasks_due": 3, "tasks_done": 2},
    ]  # fmt: skip

    july = client.get("/api/v1/counties/610528/calendar?period=2026-07", headers=viewer).get_json()
    assert july["tasks"] == [] and july["schools"] == []  # a break month: no task, nobody expected
    assert client.get("/api/v1/counties/610528/calendar?period=2026-13", headers=viewer).status_code == 400
    assert client.get("/api/v1/counties/610528/calendar", headers=viewer).status_code == 400
    assert client.get("/api/v1/counties/999999/calendar?period=2026-10", headers=viewer).status_code in (403, 404)
    assert client.get("/api/v1/counties/610528/calendar?period=2026-10").status_code == 401


def test_the_agent_is_told_the_months_tasks_when_v2_is_required(agent: SignedClient, session: Any, county: Any) -> None:
    from district import clock

    def signed(path: str, n: int) -> Any:
        return agent.get(path, ts=int(clock.now().timestamp()) + n)

    assert "calendar_tasks" not in signed("/api/v1/period-state?period=2026-10", 1).get_json()
    set_requirement(session, "610528", (2, "2026-10"), actor="test")
    state = signed("/api/v1/period-state?period=2026-10", 2).get_json()
    assert state["calendar_tasks"] == [
        {"code": "OCT-MEAL-COMMITTEE", "title": "召开伙管会成员会议", "category": "food"},
        {"code": "OCT-AV-CHECK", "title": "做好班级电教设备的检查工作", "category": "wiring"},
        {"code": "OCT-PARENTS", "title": "召开日托班学生家长会议，了解学生在校用膳情况", "category": "food"},
    ]
    feedback = signed("/api/v1/feedback?period=2026-10", 3).get_json()
    assert feedback["calendar_tasks"] == state["calendar_tasks"]


def test_the_web_template_lists_the_months_tasks(session: Any, county: Any) -> None:
    from district.submission.services import template_bytes

    set_requirement(session, "610528", (2, "2026-10"), actor="test")
    data, _note = template_bytes(session, session.get(School, "6105280001"), "2026-11", "clerk")
    wb = load_workbook(io.BytesIO(data))
    cal = wb["行事历"]
    assert [(cal[f"A{r}"].value, cal[f"B{r}"].value) for r in (4, 5, 6)] == [
        ("NOV-LOGI-MEETING", "召开后勤领导小组会议"),
        ("NOV-PLANTING", "做好花圃、绿化带、树木、苗木的补缺，整理工作"),
        ("NOV-FIRE-DRILL", "开展消防安全教育活动和有关逃生演练"),
    ]
    assert cal["C4"].value is None and cal["A7"].value is None
    wb.close()
