"""The month's template in ``houqin/monthly-report@2`` (issue 20 item 1): the version the hub names for the month
(or, offline, the school's own latest report's) decides the sheets; a filled @2 template reads back as the same
report, and @2's errors are named by sheet and cell. @1 templates are as before (test_agent_template.py)."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from houqin_standard import STANDARD_ID_2, validate_report
from school_agent.cli import main
from school_agent.layout import DATA_SHEETS_V2, META_SHEET
from school_agent.outbox import Outbox
from school_agent.reader import read_file
from school_agent.template import build_template
from tests.school_agent.hubproc import SCHOOL, example_report, fill_template

V2_SECTIONS: dict[str, Any] = {
    "calendar": {"tasks": [{"code": "SEPT-SAFETY", "done_on": "2026-09-01", "note": "开学安全检查"}, {
        "code": "FEE-CHECK", "done_on": "2026-08-30"}]},
    "kitchen": {"morning_check_days": 17, "tableware_disinfection_days": 17, "tasting_days": 16},
    "canteen_stock": {"opening_stock_value": "3200.00", "purchases": "65305.35", "closing_stock_value": "2800.00",
                      "stock_checked": True},
    "feedback_box": {"received": 4, "answered": 4},
}  # fmt: skip


def v2_report(period: str = "2026-09") -> dict[str, Any]:
    return {**example_report(period), **copy.deepcopy(V2_SECTIONS), "standard": STANDARD_ID_2}


def _template(tmp_path: Path, period: str = "2026-09") -> Path:
    path = tmp_path / f"t2-{period}.xlsx"
    build_template(path, school_code=SCHOOL, period=period, school_name="庄里镇中心小学", standard=STANDARD_ID_2)
    return path


def test_a_v2_template_has_the_four_sheets_and_records_its_standard(tmp_path: Path) -> None:
    wb = load_workbook(_template(tmp_path))
    try:
        assert wb.sheetnames == [*DATA_SHEETS_V2, META_SHEET]
        assert {"食堂管控", "食堂库存", "意见箱", "行事历"} <= set(wb.sheetnames)
        meta = wb[META_SHEET]
        recorded = {meta[f"A{i}"].value: meta[f"B{i}"].value for i in range(1, 8)}
        assert recorded["standard"] == STANDARD_ID_2
        kitchen = wb["食堂管控"]
        assert kitchen["A6"].value == "试尝天数" and kitchen["B6"].value == "天"
        assert kitchen["C6"].protection.locked is False
        cal = wb["行事历"]
        assert [cal[f"{c}3"].value for c in "ABCD"] == ["任务编号", "任务", "完成日期", "备注"]
    finally:
        wb.close()


def test_a_filled_v2_template_reads_back_as_the_same_report(tmp_path: Path) -> None:
    report = v2_report()
    read = read_file(fill_template(_template(tmp_path), report))
    assert read.issues == []
    got = read.report
    assert got["standard"] == STANDARD_ID_2
    for key, value in V2_SECTIONS.items():
        assert got[key] == value, key
    got["report_id"], got["prepared_at"] = report["report_id"], report["prepared_at"]
    assert validate_report(got).errors == []


def test_v2_errors_are_named_by_sheet_and_cell(tmp_path: Path, capsys: Any, offline_home: Path) -> None:
    path = fill_template(_template(tmp_path), v2_report())
    wb = load_workbook(path)
    wb["食堂管控"]["C6"] = 18  # tasting days over the 17 meal days
    wb["食堂库存"]["C6"] = 99999  # closing stock: negative consumption
    wb["行事历"]["A5"] = "SEPT-SAFETY"  # the same task twice
    wb.save(path)
    wb.close()
    code = main(["--home", str(offline_home), "submit", str(path), "--no-push"])
    text = capsys.readouterr().err
    assert code == 1
    assert "食堂管控!C6 试尝天数：" in text and "不能大于本月供餐天数" in text
    assert "食堂库存!C6 本月末盘存金额：" in text and "消耗的食材不能为负数" in text
    assert "行事历!A5 任务编号：" in text and "重复填写" in text


def test_offline_the_template_follows_the_schools_latest_report_version(tmp_path: Path, offline_home: Path) -> None:
    with Outbox(offline_home / "outbox.sqlite3") as ob:
        ob.add(v2_report("2026-09"))
    out = tmp_path / "oct.xlsx"
    assert main(["--home", str(offline_home), "template", "2026-10", "-o", str(out), "--offline"]) == 0
    wb = load_workbook(out)
    try:
        assert "行事历" in wb.sheetnames
        assert wb["食堂库存"]["C4"].value == 2800  # opening stock = last month's closing stock
    finally:
        wb.close()
    assert read_file(out).report["standard"] == STANDARD_ID_2


def test_the_feedback_says_when_the_month_is_due_in_v2() -> None:
    from school_agent import wording

    assert any("第 2 版数据标准" in line for line in wording.feedback_lines({"standard": STANDARD_ID_2}))
    assert not any("数据标准" in line for line in wording.feedback_lines({"standard": "houqin/monthly-report@1"}))
    lines = wording.feedback_lines({"standard": STANDARD_ID_2, "calendar_tasks": TASKS[:2]})
    assert "本月后勤行事历任务 2 项：制订后勤工作计划；开学工作准备，检查维修。校园环境消毒" in lines


TASKS = [
    {"code": "TERM-PLAN", "title": "制订后勤工作计划", "category": "other"},
    {"code": "OPENING-CHECK", "title": "开学工作准备，检查维修。校园环境消毒", "category": "building"},
    {"code": "SEP-INSURANCE", "title": "办好学生人身保险", "category": "other"},
]


def test_the_months_tasks_are_listed_and_only_those_with_a_done_date_read_back(tmp_path: Path) -> None:
    path = tmp_path / "listed.xlsx"
    build_template(
        path, school_code=SCHOOL, period="2026-09", school_name="庄里镇中心小学", standard=STANDARD_ID_2,
        calendar_tasks=TASKS,
    )  # fmt: skip
    wb = load_workbook(path)
    cal = wb["行事历"]
    assert [(cal[f"A{r}"].value, cal[f"B{r}"].value) for r in (4, 5, 6)] == [(t["code"], t["title"]) for t in TASKS]
    assert cal["A4"].protection.locked and cal["B4"].protection.locked  # the bureau's task: not the clerk's
    assert not cal["C4"].protection.locked and cal["C4"].value is None and cal["D4"].value is None
    cal["C5"] = dt.date(2026, 9, 2)
    cal["D5"] = "全校消毒"
    wb.save(path)
    wb.close()
    read = read_file(path)
    assert read.report["calendar"] == {
        "tasks": [{"code": "OPENING-CHECK", "done_on": "2026-09-02", "note": "全校消毒"}]
    }
    assert read.calendar_codes == ("TERM-PLAN", "OPENING-CHECK", "SEP-INSURANCE")


def test_a_code_not_among_the_listed_tasks_is_refused_before_sending(
    tmp_path: Path, capsys: Any, offline_home: Path
) -> None:
    path = tmp_path / "listed.xlsx"
    build_template(
        path, school_code=SCHOOL, period="2026-09", school_name="庄里镇中心小学", standard=STANDARD_ID_2,
        calendar_tasks=TASKS,
    )  # fmt: skip
    report = v2_report()
    report["calendar"] = {"tasks": []}
    fill_template(path, report)
    wb = load_workbook(path)
    cal = wb["行事历"]
    cal["A7"], cal["C7"] = "NOV-HEATING", dt.date(2026, 9, 3)  # typed in a blank row
    wb.save(path)
    wb.close()
    code = main(["--home", str(offline_home), "submit", str(path), "--no-push"])
    text = capsys.readouterr().err
    assert code == 1
    assert "行事历!A7 任务编号：" in text and "NOV-HEATING" in text
    with Outbox(offline_home / "outbox.sqlite3") as ob:
        assert ob.for_period(SCHOOL, "2026-09") == []
