"""A 后勤行事历 loaded from a workbook (issue 20 item 2): the first sheet, a heading row (任务代码/月份/任务/类别 or
code/months/title/category), one task per row; the same tasks as the TOML file, the same rules, every error
naming the sheet's row. Real workbooks written by openpyxl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import func, select

from district.cli import Context, main
from district.db import db
from district.duties import services as duties
from district.duties.models import DutyCalendarVersion, DutyTask
from tests.district.duties.helpers_duties import calendar_text

HEADING = ["任务代码", "月份", "任务", "类别"]


def workbook(tmp_path: Path, *rows: list[Any], name: str = "fuping.xlsx", extra_sheet: bool = False) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "行事历"
    for row in rows:
        sheet.append(row)
    if extra_sheet:  # a workbook's other sheets (notes, a print copy) are not read
        book.create_sheet("说明").append(["任务代码", "不是任务"])
    path = tmp_path / name
    book.save(path)
    return path


def parse(path: Path) -> tuple[duties.Task, ...]:
    return duties.parse_calendar_file(path.read_bytes(), path.name)


def problems(path: Path) -> list[str]:
    with pytest.raises(duties.CalendarError) as err:
        parse(path)
    return err.value.messages("zh")


def test_a_workbook_gives_the_same_tasks_as_the_toml_file(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        HEADING,
        ["TERM-PLAN", "2,9", "制订后勤工作计划", "other"],
        [None, None, None, None],  # an empty row is skipped
        ["OPENING-CHECK", "2、9", "  开学工作准备，检查维修 ", "校舍"],  # the category's Chinese name
        ["NOV-HEAT", 11, "冬季取暖与防火检查", "fire"],  # one month as a number
        [101, "3，4", "检查学校收费情况", "finance"],  # a code typed as a number
        extra_sheet=True,
    )
    toml = calendar_text(
        ("TERM-PLAN", [2, 9], "制订后勤工作计划", "other"),
        ("OPENING-CHECK", [9, 2], "开学工作准备，检查维修", "building"),
        ("NOV-HEAT", [11], "冬季取暖与防火检查", "fire"),
        ("101", [3, 4], "检查学校收费情况", "finance"),
    )
    assert parse(path) == duties.parse_calendar(toml, "fuping.toml")
    assert parse(path)[1].months == (2, 9)


def test_english_headings_and_a_month_per_cell(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        ["Code", "Months", "Months", "Title", "Category"],
        ["FEB-CHECK", 2, 3.0, "开学检查", "building"],  # Excel stores 3 as 3.0
        ["JUN-ASSETS", "6", None, "期末财产清理", "assets"],
    )
    assert [(t.code, t.months, t.category) for t in parse(path)] == [
        ("FEB-CHECK", (2, 3), "building"),
        ("JUN-ASSETS", (6,), "assets"),
    ]


def test_every_bad_row_is_named_by_the_sheets_row(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        ["2026 年后勤行事历"],  # a title above the heading is not a heading
        HEADING,
    )
    assert problems(path) == [
        "fuping.xlsx 第 1 行：2026 年后勤行事历不是行事历的列（只有 任务代码、月份、任务、类别）",
        "fuping.xlsx 第 1 行：code（编号）缺少这一列",
        "fuping.xlsx 第 1 行：months（月份）缺少这一列",
        "fuping.xlsx 第 1 行：title（任务）缺少这一列",
        "fuping.xlsx 第 1 行：category（类别）缺少这一列",
    ]
    path = workbook(
        tmp_path,
        HEADING,
        ["FEB-CHECK", "2,13", "开学工作准备，检查维修", "building"],
        ["FEB-CHECK", "3", "检查学校收费情况", "finance"],
        [],
        ["MAR-FEES", "3", "检查学校收费情况", "money"],
        ["APR-FOOD", "0、4", None, "食品"],
        ["MAY-X", "五月", "检查", "other"],
        ["JUN-X", "6,6", "检查", "other"],
    )
    assert problems(path) == [
        "fuping.xlsx 第 2 行：months（月份）月份 13 不在 1–12 之内",
        "fuping.xlsx 第 3 行：code（编号）“FEB-CHECK”重复（第 2 行已有）",
        "fuping.xlsx 第 5 行：category（类别）“money”不是已知类别（可用：" + "、".join(duties.CATEGORIES) + "）",
        "fuping.xlsx 第 6 行：title（任务）缺少此项",
        "fuping.xlsx 第 6 行：months（月份）月份 0 不在 1–12 之内",
        "fuping.xlsx 第 7 行：months（月份）月份 '五月' 不在 1–12 之内",
        "fuping.xlsx 第 8 行：months（月份）同一月份写了两次",
    ]


def test_a_workbook_without_tasks_or_not_a_workbook_is_refused(tmp_path: Path) -> None:
    assert problems(workbook(tmp_path, HEADING)) == ["fuping.xlsx 第 1 行：task没有任何任务（表头下每行一个任务）"]
    assert problems(workbook(tmp_path)) == ["fuping.xlsx 第 1 行：task工作表是空的（应有表头和任务）"]
    twice = workbook(tmp_path, ["任务代码", "月份", "任务", "类别", "code"], ["A", 2, "t", "other", "B"])
    assert problems(twice) == ["fuping.xlsx 第 1 行：code（编号）这一列出现了两次"]
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"code,months\nA,2\n")
    [message] = problems(fake)
    assert message.startswith("fake.xlsx 第 1 行：xlsx不是有效的 xlsx 文件")


def test_the_cli_loads_a_workbook_and_refuses_a_bad_one_naming_the_row(
    app: Any, session: Any, county: Any, tmp_path: Path
) -> None:
    def run(*args: str) -> Any:
        db.session().commit()  # the test's rows into its outer transaction (rolled back at the end)
        ctx = Context()
        ctx._app = app
        return CliRunner().invoke(main, list(args), obj=ctx)

    bad = workbook(tmp_path, HEADING, ["NOV-HEAT", "11", "冬季取暖与防火检查", "heating"], name="bad.xlsx")
    refused = run("calendar", "load", str(bad), "--county", "610528")
    assert refused.exit_code == 1 and "bad.xlsx 第 2 行：category（类别）“heating”不是已知类别" in refused.output
    assert "未加载" in refused.output
    assert session.scalar(select(func.count()).select_from(DutyCalendarVersion)) == 0

    good = workbook(
        tmp_path,
        HEADING,
        ["NOV-HEAT", "11、12", "冬季取暖与防火检查", "消防"],
        ["DEC-FEES", 12, "做好预结算工作", "finance"],
    )
    loaded = run("calendar", "load", str(good), "--county", "610528")
    assert loaded.exit_code == 0 and "第 1 版，共 2 项任务" in loaded.output, loaded.output
    [version] = duties.versions(session, "610528")
    assert version.source == "fuping.xlsx"
    assert duties.calendar_in_force(session, "610528").codes_of(12) == ("NOV-HEAT", "DEC-FEES")
    assert session.scalar(select(func.count()).select_from(DutyTask)) == 2
    shown = run("calendar", "show", "--county", "610528", "--month", "11")
    assert "NOV-HEAT  冬季取暖与防火检查（消防）" in shown.output
