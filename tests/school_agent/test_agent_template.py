"""The month's template: what the clerk sees (sheets, labels, units, drop-downs, checks, pre-fills, metadata),
and that what is typed into it comes back as the same report, every error named by its sheet and cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from houqin_standard import ENUM_LABELS, SECTIONS, validate_report
from school_agent.cli import main
from school_agent.layout import DATA_SHEETS, META_SHEET, SHEET_NAMES, section_slots
from school_agent.outbox import Outbox
from school_agent.reader import read_file
from school_agent.template import build_template
from tests.school_agent.hubproc import SCHOOL, example_report, fill_template


def _template(tmp_path: Path, period: str = "2026-09", **kw: Any) -> Path:
    path = tmp_path / f"t-{period}.xlsx"
    build_template(path, school_code=SCHOOL, period=period, school_name="庄里镇中心小学", **kw)
    return path


def _validations(ws: Any) -> dict[str, Any]:
    """cell → its DataValidation."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row in ws[rng.coord] if ":" in rng.coord else [[ws[rng.coord]]]:
                for cell in row:
                    out[cell.coordinate] = dv
    return out


def test_one_sheet_per_section_with_chinese_labels_units_and_hidden_metadata(tmp_path: Path) -> None:
    wb = load_workbook(_template(tmp_path))
    try:
        assert wb.sheetnames == [*DATA_SHEETS, META_SHEET]
        assert DATA_SHEETS == ("封面", "在校人数", "营养餐", "食品安全", "财务", "校产", "能源消耗", "安全管理",
                               "美丽新校园", "学生公寓", "隐患台账")  # fmt: skip
        meta = wb[META_SHEET]
        assert meta.sheet_state == "veryHidden" and meta.protection.sheet
        recorded = {meta[f"A{i}"].value: meta[f"B{i}"].value for i in range(1, 8)}
        assert (
            recorded.items()
            >= {"school_code": SCHOOL, "period": "2026-09", "standard": "houqin/monthly-report@1"}.items()
        )
        assert wb.security.lockStructure  # sheets cannot be renamed or deleted in Excel
        ws = wb["营养餐"]
        assert ws.protection.sheet
        assert ws["A7"].value == "实际供餐人次" and ws["B7"].value == "人次"
        assert ws["A9"].value == "上月结余" and ws["B9"].value == "元"
        assert ws["C7"].protection.locked is False and ws["A7"].protection.locked is not False
        assert wb["美丽新校园"]["B10"].value == "m²"
        for section in SECTIONS:  # every field has its labelled row
            sheet = wb[SHEET_NAMES[section.key]]
            for slot in section_slots(section.key):
                assert sheet[f"A{slot.row}"].value == slot.label
    finally:
        wb.close()


def test_data_validation_drop_downs_whole_numbers_and_two_decimal_money(tmp_path: Path) -> None:
    wb = load_workbook(_template(tmp_path))
    try:
        v = _validations(wb["营养餐"])
        assert v["C4"].type == "list" and v["C4"].formula1 == '"是,否"'  # participating
        assert v["C7"].type == "whole" and v["C7"].operator == "greaterThanOrEqual" and v["C7"].formula1 == "0"
        assert v["C6"].type == "whole" and (v["C6"].formula1, v["C6"].formula2) == ("0", "31")  # meal days
        assert v["C9"].type == "custom" and "ROUND(C9,2)=C9" in v["C9"].formula1 and "C9>=0" in v["C9"].formula1
        supply = v["C14"]
        assert supply.type == "list"
        assert supply.formula1.strip('"').split(",") == [zh for zh, _ in ENUM_LABELS["supply_mode"].values()]
        campus = _validations(wb["美丽新校园"])
        assert campus["C4"].formula1 == '"达标,整改中,未达标,不适用"'
        assert "ROUND(C9,1)=C9" in campus["C9"].formula1  # quantities: one decimal
        hz = _validations(wb["隐患台账"])
        assert hz["C4"].type == "list" and "电路" in hz["C4"].formula1 and hz["D4"].formula1 == '"一般,重大"'
        assert hz["B4"].type == "date"
        for dv in wb["营养餐"].data_validations.dataValidation:
            assert dv.showErrorMessage and dv.error
    finally:
        wb.close()


def _normalised(report: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(report))
    for key in ("report_id", "prepared_at"):
        out.pop(key, None)
    for section in ("energy", "campus"):
        for k, v in out.get(section, {}).items():
            if k.endswith(("_m2", "_m3", "_kwh")):
                out[section][k] = v if "." in v else v + ".0"
    out["dormitory"]["unified_items"] = sorted(out["dormitory"]["unified_items"])
    return out


def test_a_filled_template_reads_back_as_the_same_report(tmp_path: Path) -> None:
    report = example_report("2026-09")
    filled = fill_template(_template(tmp_path), report)
    read = read_file(filled)
    assert read.issues == [] and read.kind == "xlsx"
    assert (read.school_code, read.period) == (SCHOOL, "2026-09")
    got = read.report
    assert _normalised(got) == _normalised(report)
    assert got["nutrition"]["closing_balance"] == "4915.65" and got["energy"]["water_m3"] == "916.2"
    assert got["hazards"][0]["rectified_on"] is None  # an open hazard keeps the key, null
    got["report_id"] = report["report_id"]
    got["prepared_at"] = report["prepared_at"]
    assert validate_report(got).ok


def _errors_of(tmp_path: Path, capsys: Any, home: Path, edit: Any, period: str = "2026-09") -> tuple[int, str]:
    report = example_report(period)
    path = fill_template(_template(tmp_path, period), report)
    wb = load_workbook(path)
    edit(wb)
    wb.save(path)
    wb.close()
    code = main(["--home", str(home), "submit", str(path), "--no-push"])
    return code, capsys.readouterr().err


def test_every_error_is_named_by_sheet_and_cell(tmp_path: Path, capsys: Any, offline_home: Path) -> None:
    def edit(wb: Any) -> None:
        wb["营养餐"]["C7"] = -3  # meals_served
        wb["在校人数"]["C5"] = 900  # boarders > students (805)
        wb["隐患台账"]["F4"] = wb["隐患台账"]["B4"].value.replace(day=1)  # deadline before found_on
        wb["美丽新校园"]["C4"] = "很好"  # not one of the drop-down values

    code, text = _errors_of(tmp_path, capsys, offline_home, edit)
    assert code == 1
    assert "报表有 4 处错误，未保存、未发送" in text
    assert "营养餐!C7 实际供餐人次：" in text
    assert "在校人数!C5 住宿生数：" in text
    assert "隐患台账!F4 整改期限：" in text
    assert "美丽新校园!C4 校园商店整治：请从下拉列表中选择：达标、整改中、未达标、不适用（现为“很好”）" in text
    assert "/nutrition" not in text  # the clerk reads cells, not JSON pointers
    assert not (offline_home / "outbox.sqlite3").exists()


def test_a_missing_required_value_points_at_its_empty_cell(tmp_path: Path, capsys: Any, offline_home: Path) -> None:
    code, text = _errors_of(tmp_path, capsys, offline_home, lambda wb: wb["财务"].__setitem__("C4", None))
    assert code == 1
    assert "财务!C4 本月收费：缺少必填项" in text


def test_not_participating_drops_the_other_nutrition_cells_with_a_notice(tmp_path: Path) -> None:
    report = example_report("2026-09")
    path = fill_template(_template(tmp_path), report)
    wb = load_workbook(path)
    wb["营养餐"]["C4"] = "否"
    wb.save(path)
    wb.close()
    read = read_file(path)
    assert read.report["nutrition"] == {"participating": False}
    assert any("未参加营养改善计划" in n for n in read.notices)


def test_new_hazards_without_a_ref_are_numbered(tmp_path: Path) -> None:
    report = example_report("2026-09")
    report["hazards"].append(
        {
            "ref": None,
            "found_on": "2026-09-10",
            "category": "fire",
            "severity": "general",
            "description": "灭火器过期",
            "deadline": "2026-09-20",
            "rectified_on": None,
        }
    )
    read = read_file(fill_template(_template(tmp_path), report))
    assert [h["ref"] for h in read.report["hazards"]] == ["H-2026-09-001", "H-2026-06-003", "H-2026-09-002"]
    assert any("自动编号 H-2026-09-002" in n for n in read.notices)


def test_a_school_without_boarders_may_leave_the_dormitory_sheet_empty(tmp_path: Path) -> None:
    report = example_report("2026-09")
    report["enrollment"]["boarders"] = 0
    del report["dormitory"]
    read = read_file(fill_template(_template(tmp_path), report))
    assert "dormitory" not in read.report
    read.report["report_id"] = report["report_id"]
    read.report["prepared_at"] = report["prepared_at"]
    assert validate_report(read.report).ok


def test_template_prefills_last_months_static_values_and_open_hazards(tmp_path: Path, offline_home: Path) -> None:
    earlier = example_report("2026-08")
    earlier["hazards"].append(
        {
            "ref": "H-OLD",
            "found_on": "2026-05-01",
            "category": "fire",
            "severity": "major",
            "description": "消防通道堵塞",
            "deadline": "2026-05-10",
            "rectified_on": None,
        }
    )
    last = example_report("2026-09")  # H-2026-09-001 still open; H-2026-06-003 rectified
    last["enrollment"]["students"] = 812
    last["hazards"].append(
        {
            "ref": "H-OLD",
            "found_on": "2026-05-01",
            "category": "fire",
            "severity": "major",
            "description": "消防通道堵塞",
            "deadline": "2026-05-10",
            "rectified_on": "2026-09-02",
        }
    )
    with Outbox(offline_home / "outbox.sqlite3") as ob:
        ob.add(earlier)
        ob.add(last)
    out = tmp_path / "next.xlsx"
    assert main(["--home", str(offline_home), "template", "2026-10", "-o", str(out)]) == 0
    wb = load_workbook(out)
    try:
        assert wb["在校人数"]["C4"].value == 812  # students, from the latest earlier month
        assert wb["营养餐"]["C9"].value == pytest.approx(4915.65)  # opening balance = last closing balance
        assert wb["营养餐"]["C8"].value == 5  # subsidy rate
        assert wb["营养餐"]["C14"].value == "企业(单位)供餐"
        assert wb["营养餐"]["C7"].value is None  # monthly figures are not pre-filled
        assert wb["美丽新校园"]["C9"].value == 11771 and wb["美丽新校园"]["C4"].value == "未达标"
        assert wb["学生公寓"]["C4"].value == 206 and wb["学生公寓"]["C7"].value == "否"  # door_signs not met
        assert wb["封面"]["C6"].value == "李总务"
        hz = wb["隐患台账"]
        assert [hz[f"A{r}"].value for r in range(4, 7)] == ["H-2026-09-001", None, None]  # H-OLD was rectified
        assert hz["C4"].value == "电路" and hz["D4"].value == "重大" and hz["G4"].value is None
        assert hz["A4"].protection.locked is not False  # a known hazard's ref is its identity
    finally:
        wb.close()


def test_template_of_a_sent_month_prefills_everything_for_a_correction(
    tmp_path: Path, offline_home: Path, capsys: Any
) -> None:
    sent = example_report("2026-09")
    with Outbox(offline_home / "outbox.sqlite3") as ob:
        ob.add(sent)
    out = tmp_path / "fix.xlsx"
    assert main(["--home", str(offline_home), "template", "2026-09", "-o", str(out)]) == 0
    assert "houqin-agent correct 2026-09" in capsys.readouterr().out
    read = read_file(out)
    assert _normalised(read.report) == _normalised(sent)


def test_template_refuses_a_future_month_and_an_existing_file(tmp_path: Path, offline_home: Path, capsys: Any) -> None:
    assert main(["--home", str(offline_home), "template", "2999-01", "-o", str(tmp_path / "x.xlsx")]) == 1
    assert "不能生成未来月份" in capsys.readouterr().err
    existing = tmp_path / "filled.xlsx"
    existing.write_bytes(b"the clerk's work")
    assert main(["--home", str(offline_home), "template", "2026-09", "-o", str(existing)]) == 1
    assert "文件已存在" in capsys.readouterr().err
    assert existing.read_bytes() == b"the clerk's work"
    assert main(["--home", str(offline_home), "template", "2026-9"]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
