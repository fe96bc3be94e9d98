"""Bad input: a clear Chinese message, an exit code ≠ 0, and the outbox untouched — one test per case."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from school_agent import reader
from school_agent.cli import main
from school_agent.outbox import Outbox
from school_agent.template import build_template
from tests.school_agent.hubproc import OTHER_SCHOOL, SCHOOL, example_report, fill_template, write_json


@pytest.fixture()
def home(offline_home: Path) -> Path:
    """An agent whose outbox already holds one pending report (so "untouched" means something)."""
    with Outbox(offline_home / "outbox.sqlite3") as ob:
        ob.add(example_report("2026-08"), source="earlier.xlsx")
    return offline_home


def snapshot(home: Path) -> list[Any]:
    conn = sqlite3.connect(home / "outbox.sqlite3")
    try:
        return [
            list(conn.execute("SELECT * FROM outbox ORDER BY seq")),
            list(conn.execute("SELECT * FROM events ORDER BY id")),
        ]
    finally:
        conn.close()


@pytest.fixture()
def submit(home: Path, capsys: Any) -> Callable[..., tuple[int, str]]:
    """Run ``houqin-agent submit`` in-process; assert the outbox did not change; return (exit code, stderr)."""

    def run(path: Path, *extra: str, command: str = "submit") -> tuple[int, str]:
        before = snapshot(home)
        code = main(["--home", str(home), command, *extra, str(path)])
        captured = capsys.readouterr()
        assert snapshot(home) == before, "the outbox must stay untouched"
        return code, captured.err + captured.out

    return run


def filled(tmp_path: Path, period: str = "2026-09", school: str = SCHOOL, name: str = "filled.xlsx") -> Path:
    path = tmp_path / name
    build_template(path, school_code=school, period=period)
    return fill_template(path, example_report(period, school))


def edit(path: Path, change: Callable[[Any], None]) -> Path:
    wb = load_workbook(path)
    change(wb)
    wb.save(path)
    wb.close()
    return path


def test_a_template_for_another_school(tmp_path: Path, submit: Any) -> None:
    code, text = submit(filled(tmp_path, school=OTHER_SCHOOL))
    assert code == 1
    assert f"这是学校 {OTHER_SCHOOL} 的模板，本机配置的学校是 {SCHOOL}" in text


def test_a_json_report_for_another_school(tmp_path: Path, submit: Any) -> None:
    code, text = submit(write_json(tmp_path / "r.json", example_report("2026-09", OTHER_SCHOOL)))
    assert code == 1
    assert f"这是学校 {OTHER_SCHOOL} 的报表" in text


def test_a_template_for_another_month(tmp_path: Path, submit: Any) -> None:
    path = filled(tmp_path, period="2026-09")
    code, text = submit(path, "--period", "2026-10")
    assert code == 1
    assert "这是 2026-09 的模板，不是 2026-10 的" in text
    code, text = submit(path, "2026-10", command="correct")
    assert code == 1
    assert "这是 2026-09 的模板，不是 2026-10 的" in text


def test_last_months_filled_file_submitted_again_points_to_correct(tmp_path: Path, submit: Any) -> None:
    # 2026-08 is already in the outbox; a different 2026-08 file is not silently a second report
    path = filled(tmp_path, period="2026-08")
    path = edit(path, lambda wb: wb["营养餐"].__setitem__("C7", 100))
    code, text = submit(path)
    assert code == 1
    assert "2026-08 的报表已经提交过" in text and "houqin-agent correct 2026-08" in text


def test_a_sheet_renamed(tmp_path: Path, submit: Any) -> None:
    path = edit(filled(tmp_path), lambda wb: setattr(wb["营养餐"], "title", "营养"))
    code, text = submit(path)
    assert code == 1
    assert "缺少工作表 “营养餐”" in text and "被改名或删除" in text and "“营养”" in text


def test_a_sheet_deleted(tmp_path: Path, submit: Any) -> None:
    path = edit(filled(tmp_path), lambda wb: wb.remove(wb["校产"]))
    code, text = submit(path)
    assert code == 1
    assert "缺少工作表 “校产”" in text


def test_rows_inserted_into_a_sheet(tmp_path: Path, submit: Any) -> None:
    path = edit(filled(tmp_path), lambda wb: wb["财务"].insert_rows(5))
    code, text = submit(path)
    assert code == 1
    assert "财务!A5" in text and "模板结构被改动" in text


def test_text_in_a_number_cell(tmp_path: Path, submit: Any) -> None:
    path = edit(filled(tmp_path), lambda wb: wb["营养餐"].__setitem__("C7", "一万三千"))
    code, text = submit(path)
    assert code == 1
    assert "营养餐!C7 实际供餐人次：应填写整数，不能填写文字“一万三千”" in text


def test_text_in_a_money_cell(tmp_path: Path, submit: Any) -> None:
    path = edit(filled(tmp_path), lambda wb: wb["营养餐"].__setitem__("C10", "六万七千元"))
    code, text = submit(path)
    assert code == 1
    assert "营养餐!C10 本月到账补助资金：应填写金额（数字），不能填写文字“六万七千元”" in text


def test_a_formula_cell(tmp_path: Path, submit: Any) -> None:
    path = edit(filled(tmp_path), lambda wb: wb["营养餐"].__setitem__("C7", "=C5*C6"))
    code, text = submit(path)
    assert code == 1
    assert "营养餐!C7 实际供餐人次：不能使用公式（=C5*C6），请直接填写数值" in text


def test_merged_cells(tmp_path: Path, submit: Any) -> None:
    path = edit(filled(tmp_path), lambda wb: wb["营养餐"].merge_cells("C5:C7"))
    code, text = submit(path)
    assert code == 1
    assert "营养餐!C5:C7 合并单元格：模板中不能合并单元格，请取消合并后再提交" in text
    assert "缺少必填项" not in text  # the cells lost to the merge are not reported twice


def test_an_old_xls_file(tmp_path: Path, submit: Any) -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096
    for name in ("old.xls", "old-renamed.xlsx"):
        path = tmp_path / name
        path.write_bytes(ole2)
        code, text = submit(path)
        assert code == 1
        assert "旧版 Excel 97-2003（.xls）文件，不能直接提交" in text


def test_a_csv_renamed_to_xlsx(tmp_path: Path, submit: Any) -> None:
    path = tmp_path / "report.xlsx"
    path.write_text("项目,填报值\n在校学生数,805\n", encoding="utf-8")
    code, text = submit(path)
    assert code == 1
    assert "不是有效的 Excel（.xlsx）文件：看起来是 CSV 或文本文件被改了扩展名" in text
    path = tmp_path / "report.csv"
    path.write_text("项目,填报值\n", encoding="utf-8")
    code, text = submit(path)
    assert code == 1 and "不支持 CSV 文件" in text


def test_an_empty_file(tmp_path: Path, submit: Any) -> None:
    for name in ("empty.xlsx", "empty.json"):
        path = tmp_path / name
        path.write_bytes(b"")
        code, text = submit(path)
        assert code == 1
        assert f"文件 {name} 是空的（0 字节）" in text


def test_a_50_mb_file_is_refused_by_its_size_before_parsing(
    tmp_path: Path, submit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.xlsx"
    with open(path, "wb") as fh:
        fh.write(b"PK\x03\x04")
        fh.truncate(50 * 1024 * 1024)

    def never(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a 50 MB file must not be read or parsed")

    monkeypatch.setattr(reader, "read_xlsx", never)
    monkeypatch.setattr(reader, "open", never, raising=False)
    started = time.monotonic()
    code, text = submit(path)
    assert code == 1
    assert "太大（50.0 MB），超过 5 MB 上限" in text
    assert time.monotonic() - started < 2


def test_a_file_open_in_excel_owner_file(tmp_path: Path, submit: Any) -> None:
    path = filled(tmp_path, name="后勤月报.xlsx")
    (tmp_path / "~$后勤月报.xlsx").write_bytes(b"\x0c\x00clerk")
    code, text = submit(path)
    assert code == 1
    assert "请先在 Excel 中关闭该文件" in text and "~$后勤月报.xlsx" in text


def test_a_file_locked_by_excel_permission_error(tmp_path: Path, submit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = filled(tmp_path)

    def locked(*_a: Any, **_k: Any) -> Any:  # what Windows answers while Excel holds the file open
        raise PermissionError(13, "The process cannot access the file because it is being used by another process")

    monkeypatch.setattr(reader, "open", locked, raising=False)
    code, text = submit(path)
    assert code == 1
    assert "请先在 Excel 中关闭该文件" in text


def test_a_workbook_that_is_not_our_template(tmp_path: Path, submit: Any) -> None:
    path = tmp_path / "own.xlsx"
    wb = Workbook()
    wb.active["A1"] = "学校自制表格"
    wb.save(path)
    wb.close()
    code, text = submit(path)
    assert code == 1
    assert "不是 houqin-agent 生成的月报模板" in text


def test_a_zip_that_is_not_a_workbook(tmp_path: Path, submit: Any) -> None:
    import zipfile

    path = tmp_path / "renamed.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    code, text = submit(path)
    assert code == 1
    assert "不是 Excel 工作簿" in text


def test_a_damaged_json_file(tmp_path: Path, submit: Any) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"standard": "houqin/monthly-report@1",\n "period": }', encoding="utf-8")
    code, text = submit(path)
    assert code == 1
    assert "JSON 格式错误：第 2 行" in text


def test_a_json_report_breaking_the_standard_names_each_field(tmp_path: Path, submit: Any) -> None:
    report = example_report("2026-09")
    report["nutrition"]["meals_served"] = "many"
    report["enrollment"]["boarder"] = 3
    code, text = submit(write_json(tmp_path / "r.json", report))
    assert code == 1
    assert "/nutrition/meals_served 实际供餐人次：必须是不小于 0 的整数" in text
    assert "无法识别的字段“boarder”" in text


def test_a_missing_file_and_no_configuration(tmp_path: Path, submit: Any, capsys: Any) -> None:
    code, text = submit(tmp_path / "nowhere.xlsx")
    assert code == 1 and "找不到文件" in text
    code = main(["--home", str(tmp_path / "unconfigured"), "submit", str(tmp_path / "x.xlsx")])
    assert code == 5
    assert "请先运行 houqin-agent setup" in capsys.readouterr().err
    assert not (tmp_path / "unconfigured" / "outbox.sqlite3").exists()


def test_usage_errors_exit_2(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["submit"])
    assert exc.value.code == 2
    assert "命令参数有误" in capsys.readouterr().err


def test_json_reports_keep_their_own_report_id(tmp_path: Path, home: Path, capsys: Any) -> None:
    report = example_report("2026-07")
    path = write_json(tmp_path / "r.json", report)
    assert main(["--home", str(home), "submit", str(path), "--no-push"]) == 0
    with Outbox(home / "outbox.sqlite3") as ob:
        item = ob.get(report["report_id"])
    assert item is not None and item.report == report
    assert json.loads(item.body) == report
