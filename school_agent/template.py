"""The month's Excel template (月报模板): Chinese labels and units, drop-downs, number checks, pre-filled values.

The workbook is what the clerk fills on the school's PC (Excel or WPS). What it guards against is typing:
drop-downs for every enum and yes/no, whole numbers ≥ 0 for counts, two-decimal amounts for money, dates for
dates. Only the yellow cells are unlocked; the sheets and the workbook structure are protected (without a
password, so a clerk who must can unprotect) and the very hidden ``_meta`` sheet records school and month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from houqin_standard import ENUM_LABELS, HAZARD_FIELDS, STANDARD_ID, STANDARDS, Field
from houqin_standard.fields import CALENDAR_TASK_FIELDS, SECTIONS_V2, SECTIONS_V2_BY_KEY

from . import __version__
from .layout import (
    BOOL_LABELS,
    CALENDAR_BLANK_ROWS,
    CALENDAR_COLUMNS,
    CALENDAR_EXTRA_ROWS,
    CALENDAR_SHEET,
    CALENDAR_TITLE_COLUMN,
    CALENDAR_TITLE_HEADER,
    COVER_PERIOD,
    COVER_PREPARED_BY,
    COVER_SCHOOL,
    COVER_SCHOOL_NAME,
    COVER_SHEET,
    FIRST_ROW,
    HAZARD_BLANK_ROWS,
    HAZARD_COLUMNS,
    HAZARD_SHEET,
    LAYOUT_VERSION,
    META_MARKER,
    META_SHEET,
    SHEET_NAMES,
    STATIC_FIELDS,
    Slot,
    enum_label,
    form_sections,
    section_slots,
)

INPUT_FILL = "FFF2CC"  # the pale yellow of "fill me in"
HEADER_FILL = "D9E1F2"


def _hint(f: Field) -> str:
    if f.kind == "int":
        if f.maximum is not None and f.maximum < 10_000:
            return f"整数，{f.minimum or 0}～{f.maximum}"
        return "整数，不小于 0"
    if f.kind == "money":
        return "金额（元），保留两位小数"
    if f.kind == "quantity":
        return "数量，最多一位小数"
    if f.kind == "bool":
        return "下拉选择：是 / 否"
    if f.kind in ("enum", "list"):
        return "下拉选择"
    if f.kind == "date":
        return "日期，如 2026-09-04"
    return ""


def excel_value(f: Field, value: Any) -> Any:
    """A report value as the cell should hold it (numbers as numbers, enums as their Chinese label)."""
    if value is None:
        return None
    if f.kind == "bool":
        return BOOL_LABELS.get(value) if isinstance(value, bool) else None
    if f.kind == "enum" and isinstance(value, str) and f.enum_name and value in ENUM_LABELS[f.enum_name]:
        return enum_label(f.enum_name, value)
    if f.kind in ("money", "quantity") and isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return None
    if f.kind == "int" and type(value) is int:
        return value
    if f.kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if f.kind == "str" and isinstance(value, str):
        return value
    return None


def prefill_values(previous: Mapping[str, Any] | None, *, full: bool = False) -> dict[str, Any]:
    """Pointer-keyed values to pre-fill: the static ones of an earlier month, or all of ``previous`` (full)."""
    out: dict[str, Any] = {}
    if not isinstance(previous, Mapping):
        return out
    for section in SECTIONS_V2:  # a @1 report has none of @2's sections: nothing of them is pre-filled
        data = previous.get(section.key)
        if not isinstance(data, Mapping):
            continue
        keys = [f.key for f in section.fields] if full else list(STATIC_FIELDS.get(section.key, ()))
        for key in keys:
            if key in data:
                out[f"/{section.key}/{key}"] = data[key]
    if not full:
        nutrition = previous.get("nutrition")
        if isinstance(nutrition, Mapping) and "closing_balance" in nutrition:
            out["/nutrition/opening_balance"] = nutrition["closing_balance"]
        stock = previous.get("canteen_stock")
        if isinstance(stock, Mapping) and "closing_stock_value" in stock:
            out["/canteen_stock/opening_stock_value"] = stock["closing_stock_value"]
    if isinstance(previous.get("prepared_by"), str):
        out["/prepared_by"] = previous["prepared_by"]
    return out


def build_template(
    path: Path,
    *,
    school_code: str,
    period: str,
    school_name: str | None = None,
    prefill: Mapping[str, Any] | None = None,
    hazards: Sequence[Mapping[str, Any]] | None = None,
    prepared_by: str | None = None,
    prefilled_from: str | None = None,
    standard: str = STANDARD_ID,
    calendar_tasks: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Write the month's workbook to ``path`` (any existing file there is replaced), in the report standard
    ``standard`` (the version the hub names for the month: @2 adds four sheets, ``layout.py``). The cover says what was
    prefilled: ``prefilled_from`` (e.g. "2026-09 的报表") when given, else "上月报表" when ``prefill`` holds
    values, else that nothing was (issue 19: never "已按上月报表预填" on an empty template).

    ``calendar_tasks`` (@2): the month's tasks of the county's 后勤行事历 as the hub names them (``{code, title,
    category}``), listed on the 行事历 sheet with an empty 完成日期 and 备注 to fill; their codes are kept in the
    template's metadata, and the codes a clerk reports are checked against them before sending. ``None`` (made
    offline): blank rows for the codes, checked by the hub alone."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill, Protection
    from openpyxl.workbook.protection import WorkbookProtection
    from openpyxl.worksheet.datavalidation import DataValidation

    if standard not in STANDARDS:
        raise ValueError(f"unknown report standard {standard!r}")
    prefill = dict(prefill or {})
    hazards = list(hazards or [])
    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    bold = Font(bold=True)
    title_font = Font(bold=True, size=14)
    input_fill = PatternFill("solid", fgColor=INPUT_FILL)
    header_fill = PatternFill("solid", fgColor=HEADER_FILL)
    unlocked = Protection(locked=False)
    y, m = int(period[:4]), int(period[5:])
    month_zh = f"{y}年{m}月"

    def protect(ws: Any) -> None:
        ws.protection.sheet = True
        # Let the clerk still resize columns and rows; structure stays fixed.
        ws.protection.formatColumns = False
        ws.protection.formatRows = False

    def input_cell(ws: Any, ref: str, value: Any = None, number_format: str | None = None) -> None:
        c = ws[ref]
        c.value = value
        c.fill = input_fill
        c.protection = unlocked
        if number_format:
            c.number_format = number_format

    # ------------------------------------------------------------------ cover
    ws = wb.create_sheet(COVER_SHEET)
    ws["A1"] = f"学校后勤月报 · {month_zh}"
    ws["A1"].font = title_font
    for ref, label_zh, value in (
        (COVER_SCHOOL, "学校标识码", school_code),
        (COVER_SCHOOL_NAME, "学校名称", school_name or ""),
        (COVER_PERIOD, "报表月份", period),
    ):
        ws[f"A{ref[1:]}"] = label_zh
        ws[f"A{ref[1:]}"].font = bold
        ws[ref] = value
    ws["A6"] = "填报人"
    ws["A6"].font = bold
    input_cell(ws, COVER_PREPARED_BY, prefill.get("/prepared_by") or prepared_by or None)
    ws["D6"] = "填报人姓名，1～50 字"
    notes = [
        "填写说明：",
        "1. 只需填写黄色单元格；各工作表对应月报的一个部分，单位见 B 列。",
        "2. 人数、次数等填整数；金额填到分（两位小数）；面积、用水、用电最多一位小数。",
        "3. 带下拉箭头的单元格请从下拉列表中选择，不要手工输入其他文字。",
        "4. 请直接填写数值，不要使用公式，不要合并单元格，不要改动或删除工作表。",
        (
            f"5. 上月不变的数值（在校人数、占地面积、床位数等）已按{prefilled_from or '上月报表'}预填，如有变化请修改。"
            if any(k != "/prepared_by" for k in prefill)
            else "5. 本模板没有预填数值（找不到本校以前的报表），请逐项填写。"
        ),
        f"6. 填好后保存并关闭 Excel，再运行：houqin-agent submit 本文件名.xlsx（月份 {period}）",
        "7. 本模板只能用于上面的学校和月份；更正已上报的月份请运行 houqin-agent correct 月份 文件名。",
    ]
    for i, text in enumerate(notes, start=8):
        ws[f"A{i}"] = text
    for col, width in (("A", 14), ("B", 4), ("C", 26), ("D", 30)):
        ws.column_dimensions[col].width = width
    protect(ws)

    # ------------------------------------------------------------------ sections
    validations: dict[str, Any] = {}

    def validation(ws: Any, f: Field, cell: str | None = None) -> Any:
        key = f"{ws.title}:{f.kind}:{f.enum_name}:{f.maximum}"
        if f.kind in ("money", "quantity") and cell is not None:
            key += f":{cell}"  # a formula relative to its own cell: one rule per cell
        if key in validations:
            return validations[key]
        dv: Any
        if f.kind == "int":
            if f.maximum is not None and f.maximum < 10_000:
                dv = DataValidation(type="whole", operator="between", formula1="0", formula2=str(f.maximum))
                dv.error = f"请填写 0 到 {f.maximum} 之间的整数"
            else:
                dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
                dv.error = "请填写不小于 0 的整数"
        elif f.kind in ("money", "quantity") and cell is not None:
            places = 2 if f.kind == "money" else 1
            rule = f"AND(ISNUMBER({cell}),{cell}>=0,ROUND({cell},{places})={cell})"
            dv = DataValidation(type="custom", formula1=rule)
            dv.error = (
                "请填写不小于 0 的金额，最多两位小数（到分）"
                if f.kind == "money"
                else "请填写不小于 0 的数，最多一位小数"
            )
        elif f.kind in ("money", "quantity"):
            dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0")
            dv.error = "请填写不小于 0 的数"
        elif f.kind in ("bool", "list"):
            dv = DataValidation(type="list", formula1='"是,否"')
            dv.error = "请从下拉列表中选择“是”或“否”"
        elif f.kind == "enum":
            labels = ",".join(zh for zh, _en in ENUM_LABELS[f.enum_name or ""].values())
            dv = DataValidation(type="list", formula1=f'"{labels}"')
            dv.error = "请从下拉列表中选择"
        elif f.kind == "date":
            dv = DataValidation(type="date", operator="greaterThan", formula1="DATE(2000,1,1)")
            dv.error = "请填写日期，如 2026-09-04"
        else:
            return None
        dv.allow_blank = True
        dv.showErrorMessage = True
        dv.errorTitle = "输入有误"
        validations[key] = dv
        ws.add_data_validation(dv)
        return dv

    number_formats = {"int": "0", "money": "0.00", "quantity": "0.0", "date": "yyyy-mm-dd"}

    for key in form_sections(standard):
        section = SECTIONS_V2_BY_KEY[key]
        sheet = SHEET_NAMES[section.key]
        ws = wb.create_sheet(sheet)
        ws["A1"] = f"{section.label_zh}（{month_zh}）"
        ws["A1"].font = title_font
        if section.key == "nutrition":
            ws["A2"] = "未参加营养改善计划的月份：第一项选“否”，其余各项可不填。"
        elif section.key == "dormitory":
            ws["A2"] = "有住宿生（在校人数表“住宿生数”大于 0）的学校必须填写；没有住宿生的学校可留空。"
        elif section.key == "kitchen":
            ws["A2"] = "有食堂从业人员的学校必须填写；各项天数不能超过本月供餐天数。"
        elif section.key == "canteen_stock":
            ws["A2"] = "参加营养改善计划的学校必须填写；上月末库存 + 本月采购 − 本月末盘存 不能为负数。"
        else:
            ws["A2"] = "请填写黄色单元格。"
        for col, text in (("A", "项目"), ("B", "单位"), ("C", "填报值"), ("D", "填写说明")):
            ws[f"{col}3"] = text
            ws[f"{col}3"].font = bold
            ws[f"{col}3"].fill = header_fill
        validations.clear()
        slot: Slot
        for slot in section_slots(section.key):
            f = slot.field
            ws[f"A{slot.row}"] = slot.label
            ws[f"B{slot.row}"] = "" if f.kind == "list" else f.unit
            ws[f"D{slot.row}"] = _hint(f)
            prefilled = prefill.get(f"/{section.key}/{f.key}")
            if slot.item is not None:
                cell_value = BOOL_LABELS[slot.item in prefilled] if isinstance(prefilled, list) else None
            else:
                cell_value = excel_value(f, prefilled)
            input_cell(ws, slot.cell, cell_value, number_formats.get(f.kind))
            dv = validation(ws, f, slot.cell)
            if dv is not None:
                dv.add(slot.cell)
        ws.column_dimensions["A"].width = 34
        ws.column_dimensions["B"].width = 10
        ws.column_dimensions["C"].width = 18
        ws.column_dimensions["D"].width = 26
        ws.freeze_panes = "A4"
        protect(ws)

    # ------------------------------------------------------------------ calendar (@2)
    if standard != STANDARD_ID:
        ws = wb.create_sheet(CALENDAR_SHEET)
        ws["A1"] = f"后勤行事历（{month_zh}）"
        ws["A1"].font = title_font
        listed = [t for t in calendar_tasks or () if isinstance(t.get("code"), str)]
        ws["A2"] = (
            "下面是教育局行事历中本月的任务：已完成的任务请填写完成日期（本月或上月内），可填备注；"
            "没有完成的任务不填完成日期。"
            if listed
            else "本月完成的后勤行事历任务，每行一项：填写任务编号和完成日期（本月或上月内）；没有完成的任务不填。"
        )
        headers = dict(zip(CALENDAR_COLUMNS, (f.label_zh for f in CALENDAR_TASK_FIELDS), strict=True))
        headers[CALENDAR_TITLE_COLUMN] = CALENDAR_TITLE_HEADER
        for col, text in headers.items():
            ws[f"{col}3"] = text
            ws[f"{col}3"].font = bold
            ws[f"{col}3"].fill = header_fill
        last_row = FIRST_ROW + len(listed) + (CALENDAR_EXTRA_ROWS if listed else CALENDAR_BLANK_ROWS) - 1
        validations.clear()
        for col, f in zip(CALENDAR_COLUMNS, CALENDAR_TASK_FIELDS, strict=True):
            for row in range(FIRST_ROW, last_row + 1):
                input_cell(ws, f"{col}{row}", None, number_formats.get(f.kind))
            dv = validation(ws, f)
            if dv is not None:
                dv.add(f"{col}{FIRST_ROW}:{col}{last_row}")
        for row in range(FIRST_ROW, last_row + 1):
            input_cell(ws, f"{CALENDAR_TITLE_COLUMN}{row}", None, None)
        for i, task in enumerate(listed):
            row = FIRST_ROW + i
            # the hub's task: its code and title are not the clerk's to change
            title = task.get("title")
            for col, shown in ((CALENDAR_COLUMNS[0], task["code"]), (CALENDAR_TITLE_COLUMN, title)):
                cell = ws[f"{col}{row}"]
                cell.value = shown
                cell.protection = Protection(locked=True)
                cell.fill = PatternFill(fill_type=None)
        for col, width in (("A", 20), ("B", 44), ("C", 14), ("D", 40)):
            ws.column_dimensions[col].width = width
        ws.freeze_panes = "A4"
        protect(ws)

    # ------------------------------------------------------------------ hazard ledger
    ws = wb.create_sheet(HAZARD_SHEET)
    ws["A1"] = f"隐患台账（{month_zh}）"
    ws["A1"].font = title_font
    ws["A2"] = (
        "已预填本校尚未整改完成的隐患；整改完成的请填写“整改完成日期”。本月新发现的隐患请在下面空行登记"
        "（隐患编号可留空，系统自动编号）。"
    )
    for col, f in zip(HAZARD_COLUMNS, HAZARD_FIELDS, strict=True):
        ws[f"{col}3"] = f.label_zh
        ws[f"{col}3"].font = bold
        ws[f"{col}3"].fill = header_fill
    last_row = FIRST_ROW + len(hazards) + HAZARD_BLANK_ROWS - 1
    validations.clear()
    for col, f in zip(HAZARD_COLUMNS, HAZARD_FIELDS, strict=True):
        for row in range(FIRST_ROW, last_row + 1):
            input_cell(ws, f"{col}{row}", None, number_formats.get(f.kind))
        dv = validation(ws, f)
        if dv is not None:
            dv.add(f"{col}{FIRST_ROW}:{col}{last_row}")
    for i, h in enumerate(hazards):
        row = FIRST_ROW + i
        for col, f in zip(HAZARD_COLUMNS, HAZARD_FIELDS, strict=True):
            ws[f"{col}{row}"].value = excel_value(f, h.get(f.key))
        # The ref of a known hazard is its identity on the hub's ledger: not editable.
        ref_cell = ws[f"{HAZARD_COLUMNS[0]}{row}"]
        ref_cell.protection = Protection(locked=True)
        ref_cell.fill = PatternFill(fill_type=None)
    for col, width in zip(HAZARD_COLUMNS, (16, 12, 10, 8, 40, 12, 14), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A4"
    protect(ws)

    # ------------------------------------------------------------------ metadata
    meta = wb.create_sheet(META_SHEET)
    meta_rows = [
        ("marker", META_MARKER),
        ("standard", standard),
        ("layout", LAYOUT_VERSION),
        ("school_code", school_code),
        ("period", period),
        ("generated_at", datetime.now(UTC).replace(microsecond=0).isoformat()),
        ("agent", __version__),
    ]
    if standard != STANDARD_ID and calendar_tasks is not None:
        # the codes the hub listed for the month (may be none): what the agent checks the clerk's codes against
        meta_rows.append(("calendar_codes", ",".join(str(t.get("code")) for t in calendar_tasks) or "-"))
    for i, (k, v) in enumerate(meta_rows, start=1):
        meta[f"A{i}"] = k
        meta[f"B{i}"] = v
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True
    wb.security = WorkbookProtection(lockStructure=True)
    wb.active = 0
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    wb.close()
    tmp.replace(path)
