"""``houqin/monthly-report@2`` beside @1 on the hub (issue 20 item 1, STANDARD-v2.md): ingestion stores a @2
report and its figures, a correction may change a month's version, a county may require @2 from a period on
(the settings API and the CLI, audited; a @1 report then 422 ``standard_version_required``), the agent's period
state names the version, and scoring ranks a @2 month by its @1 fields exactly as from stored figures."""

from __future__ import annotations

import copy
import json
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from district.audit.models import AuditEntry
from district.duties.services import default_calendar
from district.reports.figures import FIELDS, FIELDS_1, INDEX, LAYOUT, LAYOUT_1, ReportFigures, figures_json
from district.reports.models import ReportHead, ReportRevision
from district.reports.services import IngestError
from houqin_standard import STANDARD_ID, STANDARD_ID_2
from tests.conftest import SignedClient, example_report
from tests.factories import submit

V2_SECTIONS: dict[str, Any] = {
    "calendar": {"tasks": [{"code": "OPENING-CHECK", "done_on": "2026-09-03", "note": "取暖设备检修"}]},
    "kitchen": {"morning_check_days": 17, "tableware_disinfection_days": 17, "tasting_days": 15},
    "canteen_stock": {
        "opening_stock_value": "3200.00",
        "purchases": "65305.35",
        "closing_stock_value": "2800.00",
        "stock_checked": True,
    },
    "feedback_box": {"received": 3, "answered": 2},
}


def v2(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` sent in @2: the same @1 fields and the four sections (dates moved into its period)."""
    out = {**copy.deepcopy(report), **copy.deepcopy(V2_SECTIONS), "standard": STANDARD_ID_2}
    out["calendar"]["tasks"][0]["done_on"] = f"{out['period']}-03"
    # a task the shipped 后勤行事历 has in the month (September's: OPENING-CHECK)
    out["calendar"]["tasks"][0]["code"] = default_calendar().codes_of(int(out["period"][5:7]))[1]
    return out


def test_the_hub_stores_a_v2_report_and_its_figures(agent: SignedClient, session: Any) -> None:
    report = v2(example_report())
    resp = agent.post_report(report)
    assert resp.status_code == 201, resp.get_json()
    head = session.get(ReportHead, ("6105280001", "2026-09"))
    stored = json.loads(head.figures)
    assert stored[0] == LAYOUT and len(stored) == len(FIELDS) + 1
    assert stored[INDEX["kitchen.tasting_days"]] == 15
    assert stored[INDEX["canteen_stock.closing_stock_value"]] == "2800.00"
    assert stored[INDEX["calendar.tasks"]] == report["calendar"]["tasks"]
    assert stored[INDEX["feedback_box.answered"]] == 2
    assert stored[INDEX["nutrition.food_spend"]] == report["nutrition"]["food_spend"]
    rev = session.get(ReportRevision, head.revision_id)
    assert json.loads(rev.content)["standard"] == STANDARD_ID_2


def test_a_v1_month_keeps_its_layout_and_reads_none_for_v2_fields() -> None:
    report = example_report()
    text = figures_json(report)
    stored = json.loads(text)
    assert stored[0] == LAYOUT_1 and len(stored) == len(FIELDS_1) + 1  # as stored before @2 existed
    values = ReportFigures.from_content(report)
    assert values.standard == STANDARD_ID and values.section("kitchen") is None
    for name in FIELDS[len(FIELDS_1) :]:
        assert values[INDEX[name]] is None, name  # not reported: never 0, never false


def test_a_v2_report_failing_its_rules_is_refused_with_the_codes(agent: SignedClient) -> None:
    report = v2(example_report())
    report["kitchen"]["tasting_days"] = 18  # meal days are 17
    report["canteen_stock"]["closing_stock_value"] = "99999.00"
    report["calendar"]["tasks"].append(dict(report["calendar"]["tasks"][0]))
    resp = agent.post_report(report)
    assert resp.status_code == 422
    details = {(d["path"], d["code"]) for d in resp.get_json()["error"]["details"]}
    assert details == {
        ("/kitchen/tasting_days", "kitchen_days_exceed_meal_days"),
        ("/canteen_stock/closing_stock_value", "stock_negative_consumption"),
        ("/calendar/tasks/1/code", "calendar_task_duplicate"),
    }


def test_a_correction_changes_a_month_from_v1_to_v2(agent: SignedClient, session: Any) -> None:
    first = example_report()
    assert agent.post_report(first).status_code == 201
    head = session.get(ReportHead, ("6105280001", "2026-09"))
    assert json.loads(head.figures)[0] == LAYOUT_1
    corrected = v2(example_report())
    resp = agent.post_report(corrected)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["revision"] == 2
    session.expire_all()
    head = session.get(ReportHead, ("6105280001", "2026-09"))
    assert head.revisions == 2
    stored = json.loads(head.figures)
    assert stored[0] == LAYOUT and stored[INDEX["feedback_box.received"]] == 3
    revisions = session.scalars(
        select(ReportRevision.content).where(ReportRevision.period == "2026-09").order_by(ReportRevision.revision)
    ).all()
    assert [json.loads(c)["standard"] for c in revisions] == [STANDARD_ID, STANDARD_ID_2]
    # and back: a later correction in @1 again is accepted while the county requires nothing
    assert agent.post_report(example_report(enrollment__staff=61)).status_code == 201


def test_the_settings_api_requires_v2_from_a_period_audited(client: Any, agent: SignedClient, session: Any) -> None:
    from tests.district.scoring.helpers_scoring_db import bearer

    admin = bearer(session, "county_admin", "610528", "std-admin")
    viewer = bearer(session, "county_viewer", "610528", "std-viewer")
    url = "/api/v1/counties/610528/settings"
    assert client.get(url, headers=viewer).get_json()["require_standard"] is None
    for value, path, code in (
        ({"version": 3, "from": "2026-10"}, "require_standard.version", "invalid_version"),
        ({"version": "2", "from": "2026-10"}, "require_standard.version", "invalid_version"),
        ({"version": 2, "from": "2026-13"}, "require_standard.from", "invalid_period"),
        ({"version": 2}, "require_standard.from", "invalid_period"),
        ({"version": 2, "from": "2026-10", "to": "2027-01"}, "require_standard.to", "unsupported"),
        ("2", "require_standard", "invalid_type"),
    ):
        bad = client.put(url, headers=admin, json={"require_standard": value})
        assert bad.status_code == 400, (value, bad.get_json())
        detail = bad.get_json()["error"]["details"][0]
        assert (detail["path"], detail["code"]) == (path, code), (value, detail)
    assert client.put(url, headers=viewer, json={"require_standard": None}).status_code == 403

    resp = client.put(url, headers=admin, json={"require_standard": {"version": 2, "from": "2026-10"}})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["require_standard"] == {"version": 2, "from": "2026-10"}
    acts = session.scalars(select(AuditEntry).where(AuditEntry.action == "county.require_standard")).all()
    assert len(acts) == 1 and acts[0].actor == "std-admin"

    # a @1 report for October or later: refused, naming the version and the period in Chinese
    late = agent.post_report(example_report(period="2026-10"))
    assert late.status_code == 422
    error = late.get_json()["error"]
    assert error["code"] == "standard_version_required"
    assert "2026年10月" in error["message"] and "第 2 版" in error["message"]
    assert agent.post_report(v2(example_report(period="2026-10"))).status_code == 201
    # September is before the requirement: @1 still accepted
    assert agent.post_report(example_report(period="2026-09")).status_code == 201

    # the agent is told which version to write, per period (period-state and feedback)
    from district import clock

    def signed(path: str, n: int) -> Any:
        return agent.get(path, ts=int(clock.now().timestamp()) + n)

    assert signed("/api/v1/period-state?period=2026-09", 1).get_json()["standard"] == STANDARD_ID
    assert signed("/api/v1/period-state?period=2026-11", 2).get_json()["standard"] == STANDARD_ID_2

    cleared = client.put(url, headers=admin, json={"require_standard": {"version": 1}})
    assert cleared.status_code == 200 and cleared.get_json()["require_standard"] is None
    assert agent.post_report(example_report(period="2026-11")).status_code == 201


def test_the_cli_requires_v2(app: Any, session: Any, county: Any, restore_db_state: Any) -> None:
    from district.cli import Context, main
    from district.db import db
    from district.registry.models import County

    session.commit()
    runner = CliRunner()
    ctx = Context()
    ctx._app = app
    result = runner.invoke(
        main, ["counties", "configure", "610528", "--require-standard", "2", "--from", "2026-12"], obj=ctx
    )
    assert result.exit_code == 0, result.output
    assert "自 2026-12 起须按第 2 版填报" in result.output
    bad = runner.invoke(
        main, ["counties", "configure", "610528", "--require-standard", "2", "--from", "12/2026"], obj=ctx
    )
    assert bad.exit_code == 2 and "require_standard.from" in bad.output
    db.session.remove()
    session.expire_all()
    got = session.get(County, "610528")
    assert (got.require_standard, got.require_standard_from) == (2, "2026-12")
    acts = session.scalars(select(AuditEntry).where(AuditEntry.action == "county.require_standard")).all()
    assert [a.actor for a in acts] == ["cli"]


def test_a_v1_report_is_refused_in_the_service_too(session: Any, county: Any) -> None:
    from district.reports.standards import parse_requirement, set_requirement

    set_requirement(session, "610528", parse_requirement({"version": 2, "from": "2026-06"}))
    try:
        submit(session, "6105280001", "2026-06")
    except IngestError as exc:
        assert (exc.status, exc.code) == (422, "standard_version_required")
    else:  # pragma: no cover - the assertion
        raise AssertionError("a @1 report for a @2 period was accepted")
    submit(session, "6105280001", "2026-05")  # before the requirement


def test_a_county_ranked_from_parsed_v2_contents_equals_the_ranking_from_stored_figures(
    session: Any, county: Any
) -> None:
    """As for @1 (tests/district/scoring/test_scoring_services.py): the engine given the parsed @2 reports ranks
    exactly as from the figures stored at ingestion, and the default-1 rubric ranks a @2 month exactly as its @1
    fields say (the same reports sent in @1 rank the same)."""
    from district.registry.models import County
    from district.scoring import ranking
    from district.scoring.engine import Window
    from tests.district.scoring.helpers_scoring_db import explained, ranked_from_contents, report

    session.get(County, "610528").reporting_start = "2026-01"
    for period in ("2026-03", "2026-04", "2026-05", "2026-06", "2026-09", "2026-10"):
        for code in ("6105280001", "6105280002"):
            data = report(code, period)
            if code == "6105280002":
                data["enrollment"]["staff"] = 40 + int(period[5:])
            if period >= "2026-05":  # @1 in March and April, @2 from May
                data = v2(data)
            submit(session, code, period, data=data)
    window = Window("2026-01", "2026-10")
    snapshot = ranking.compute_ranking(session, "610528", window, trigger="test")
    stored = explained(session, snapshot)
    contents = {rid: json.loads(c) for rid, c in session.execute(select(ReportRevision.id, ReportRevision.content))}
    assert {c["standard"] for c in contents.values()} == {STANDARD_ID, STANDARD_ID_2}
    assert len(stored) == 4 and sum(1 for row in stored if row["indicators"] and row["earned_total"]) >= 2

    def as_v1(content: dict[str, Any]) -> dict[str, Any]:
        content["standard"] = STANDARD_ID
        for key in V2_SECTIONS:
            content.pop(key, None)
        return content

    assert ranked_from_contents(session, "610528", window) == stored
    assert ranked_from_contents(session, "610528", window, as_v1) == stored


def test_the_periods_export_has_every_v2_field_and_a_v1_school_leaves_them_empty(session: Any, county: Any) -> None:
    from district.exports import services as exports
    from district.registry.models import School
    from tests.factories import school_report

    submit(session, "6105280001", "2026-09", data=v2(school_report(session.get(School, "6105280001"), "2026-09")))
    submit(session, "6105280002", "2026-09")  # @1
    data = exports.period_reports(session, "610528", "2026-09")
    assert (data["standard"], data["standards"]) == (STANDARD_ID_2, [STANDARD_ID, STANDARD_ID_2])
    paths = [f["path"] for f in data["fields"]]
    assert paths[-3:] == ["/canteen_stock/stock_checked", "/feedback_box/received", "/feedback_box/answered"]
    assert {"/calendar/tasks", "/kitchen/morning_check_days", "/feedback_box/answered"} <= set(paths)
    table = exports.reports_table(data, "富平县")
    titles = [c.title for c in table.columns]
    rows = {row[0]: dict(zip(titles, row, strict=True)) for row in table.rows}
    v2_row, v1_row = rows["庄里镇中心小学"], rows["庄里镇初级中学"]
    assert v2_row["食堂日常管控·试尝天数（天）"] == 15
    assert v2_row["食堂食材库存与月底盘存·本月已盘点"] == "是"
    assert v2_row["后勤行事历·本月完成的行事历任务（项）"] == "OPENING-CHECK（2026-09-03）"
    # not reported in a @1 month: empty, never 0 or 否
    assert v1_row["食堂日常管控·试尝天数（天）"] is None
    assert v1_row["食堂食材库存与月底盘存·本月已盘点"] is None
    assert ("数据标准", f"{STANDARD_ID}、{STANDARD_ID_2}") in table.audit
    # a month of @1 reports only keeps @1's columns
    assert exports.period_reports(session, "610528", "2026-08")["standard"] == STANDARD_ID


def test_the_revision_diff_of_a_v1_to_v2_correction_lists_the_new_sections() -> None:
    from district.dashboard.queries import is_absent, revision_diff

    before = example_report()
    after = v2(before)
    changes = {c.path: (c.before, c.after) for c in revision_diff(before, after)}
    assert changes["/standard"] == (STANDARD_ID, STANDARD_ID_2)
    # not stated in the @1 revision (shown 未填报), never 0
    assert is_absent(changes["/kitchen/tasting_days"][0]) and changes["/kitchen/tasting_days"][1] == 15
    assert is_absent(changes["/feedback_box/received"][0]) and changes["/feedback_box/received"][1] == 3
    assert "/nutrition/food_spend" not in changes


def test_a_v1_report_stored_before_the_requirement_is_resent_for_its_receipt(session: Any, county: Any) -> None:
    """The requirement does not touch reports already stored: an identical re-send gets its receipt (not
    created), a new @1 report for that period is refused."""
    from district.registry.models import School
    from district.reports.services import submit_report
    from district.reports.standards import parse_requirement, set_requirement
    from tests.factories import on_time, school_report

    school = session.get(School, "6105280001")
    report = school_report(school, "2026-09")
    first, created = submit_report(session, school, 1, report, now=on_time("2026-09"))
    assert created
    set_requirement(session, "610528", parse_requirement({"version": 2, "from": "2026-09"}))
    again, created = submit_report(session, school, 1, copy.deepcopy(report), now=on_time("2026-09"))
    assert not created and again == first
    try:
        submit_report(session, school, 1, school_report(school, "2026-09"), now=on_time("2026-09"))
    except IngestError as exc:
        assert (exc.status, exc.code) == (422, "standard_version_required")
    else:  # pragma: no cover - the assertion
        raise AssertionError("a new @1 report for a @2 period was accepted")
