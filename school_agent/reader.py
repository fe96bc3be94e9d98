"""Reading what the clerk hands in — the filled template (.xlsx) or a report as JSON — into a report dict.

Everything that can go wrong with the FILE is an :class:`InputError` with one clear Chinese sentence (empty,
too big, an old .xls, a CSV renamed to .xlsx, still open in Excel, a sheet renamed or deleted, not our
template). Everything that can go wrong with a CELL is a :class:`CellIssue` naming the sheet and cell
(``营养餐!C7``): text in a number cell, a formula, merged cells. The report itself is then checked by
``houqin_standard.validate_report`` and its errors are named by cell too (:func:`describe`).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from houqin_standard import HAZARD_FIELDS, STANDARD_ID, STANDARDS, Field, Issue, format_money, format_quantity
from houqin_standard.fields import CALENDAR_TASK_FIELDS, SECTIONS_V2_BY_KEY
from houqin_standard.fields import label as field_label

from .layout import (
    BOOL_FROM_TEXT,
    CALENDAR_COLUMNS,
    CALENDAR_SHEET,
    COVER_PREPARED_BY,
    COVER_SHEET,
    DATA_SHEETS_V2,
    DORMITORY_ITEMS,
    FIRST_ROW,
    HAZARD_COLUMNS,
    HAZARD_SHEET,
    LABEL_COL,
    META_MARKER,
    META_SHEET,
    SHEET_NAMES,
    Slot,
    cell_for_path,
    data_sheets,
    enum_from_text,
    form_sections,
    section_slots,
)

MAX_FILE_BYTES = 5 * 1024 * 1024  # a filled template is ~30 KB; a report JSON ~3 KB
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024  # a zip bomb must not reach openpyxl
MAX_HAZARD_ROWS = 2000

CLOSE_EXCEL = "请先在 Excel 中关闭该文件"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_INT_TEXT = re.compile(r"[0-9]+")
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE_TEXT = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?")


class InputError(Exception):
    """The file cannot be read as a report at all; ``str(exc)`` is the Chinese sentence to show."""


@dataclass
class CellIssue:
    path: str  # JSON pointer of the value concerned
    where: str  # "营养餐!C7" or the path for JSON
    label: str
    message: str

    def __str__(self) -> str:
        return f"{self.where} {self.label}：{self.message}"


@dataclass
class ReadResult:
    report: dict[str, Any]
    kind: str  # "xlsx" | "json"
    school_code: str | None = None  # what the template / JSON says it is for
    period: str | None = None
    issues: list[CellIssue] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    hazard_rows: list[int] = field(default_factory=list)
    calendar_rows: list[int] = field(default_factory=list)  # @2: the 行事历 row of each calendar.tasks entry
    # @2: the codes of the month's tasks the hub listed in the template (its metadata); ``None`` when it listed
    # none (made offline, or a JSON file): the codes are then checked by the hub alone
    calendar_codes: tuple[str, ...] | None = None
    bad_paths: set[str] = field(default_factory=set)  # values already reported by an issue above

    def covered(self, path: str) -> bool:
        """True when a validator issue at ``path`` would only repeat a cell issue."""
        return any(path == p or path.startswith(p + "/") for p in self.bad_paths)

    def where(self, path: str) -> str:
        if self.kind == "xlsx":
            loc = cell_for_path(path, self.hazard_rows, self.calendar_rows)
            if loc is not None:
                return f"{loc[0]}!{loc[1]}"
        return path or "/"

    def describe(self, issue: Issue) -> str:
        """One validator issue as the clerk reads it: ``营养餐!C7 实际供餐人次：必须是不小于 0 的整数``."""
        return describe_issue(self.where(issue.path), issue.path, issue.code, issue.zh)

    def sort_key(self, where: str) -> tuple[int, int, str]:
        """Workbook order (sheet, then row) for a list of messages."""
        sheet, _, cell = where.partition("!")
        order = DATA_SHEETS_V2.index(sheet) if sheet in DATA_SHEETS_V2 else len(DATA_SHEETS_V2)
        digits = "".join(ch for ch in cell.split(":")[0] if ch.isdigit())
        return (order, int(digits) if digits else 0, cell)


def describe_issue(where: str, path: str, code: str, message: str) -> str:
    """``{where} {label}：{message}``, the message without the "label（/json/pointer）" the standard puts in it
    (the clerk reads cells, not JSON pointers). Used for local errors and for the hub's reasons alike."""
    label = field_label(path)[0] if path else "报表"
    name = f"{label}（{path or '/'}）"
    if code == "required":  # "缺少必填项：本月收费（/finance/fees_collected）" at 财务!C4
        message = message.replace(name, "").replace("：（", "（").rstrip("：")
    elif message.startswith(name):
        message = message[len(name) :].lstrip("：:，, ")
    else:
        message = message.replace(name, label)
    return f"{where} {label}：{message}"


def where_in_template(path: str) -> str:
    """Where a JSON pointer sits in the month's template when the file itself is not at hand (hazard rows are
    then counted, not addressed)."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[1] == "hazards" and parts[2].isdigit():
        return f"{HAZARD_SHEET} 第 {int(parts[2]) + 1} 条"
    loc = cell_for_path(path)
    return f"{loc[0]}!{loc[1]}" if loc is not None else (path or "/")


# ------------------------------------------------------------------------------------------------ the file


def owner_file(path: Path) -> Path | None:
    """Excel's lock file (``~$name.xlsx``) next to ``path`` while the workbook is open; None when absent."""
    for name in ("~$" + path.name, "~$" + path.name[2:]):
        candidate = path.with_name(name)
        if len(path.name) > 2 and candidate.exists():
            return candidate
    return None


def read_bytes(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The whole file, after the checks that need no parsing (exists, not empty, not too big, not open)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"找不到文件：{path}") from None
    except PermissionError:
        raise InputError(f"{CLOSE_EXCEL}（无法访问 {path.name}）") from None
    if not path.is_file():
        raise InputError(f"{path} 不是一个文件")
    if st.st_size == 0:
        raise InputError(f"文件 {path.name} 是空的（0 字节），请选择填写好的月报文件")
    if st.st_size > max_bytes:
        raise InputError(
            f"文件 {path.name} 太大（{st.st_size / 1024 / 1024:.1f} MB），超过 {max_bytes // 1024 // 1024} MB 上限；"
            "月报模板通常只有几十 KB，请确认选对了文件"
        )
    if path.suffix.lower() in (".xlsx", ".xlsm") and owner_file(path) is not None:
        raise InputError(
            f"{CLOSE_EXCEL}：{path.name} 正在 Excel 中打开（发现锁定文件 {owner_file(path).name}）。"  # type: ignore[union-attr]
            "保存并关闭 Excel 后再提交；如果 Excel 已经关闭，请删除这个 ~$ 开头的文件后重试"
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except PermissionError:
        raise InputError(f"{CLOSE_EXCEL}：{path.name} 被其他程序占用，无法读取") from None
    except OSError as exc:
        raise InputError(f"无法读取文件 {path.name}：{exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(f"文件 {path.name} 太大，超过 {max_bytes // 1024 // 1024} MB 上限")
    if not data:
        raise InputError(f"文件 {path.name} 是空的（0 字节），请选择填写好的月报文件")
    return data


def read_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> ReadResult:
    """Read a filled template or a JSON report; raises :class:`InputError` for a file that is not one."""
    data = read_bytes(path, max_bytes=max_bytes)
    suffix = path.suffix.lower()
    if data.startswith(_OLE2_MAGIC):
        raise InputError(
            f"{path.name} 是旧版 Excel 97-2003（.xls）文件，不能直接提交。请运行 houqin-agent template 月份 "
            "生成新模板，或在 Excel 中“另存为”“Excel 工作簿（*.xlsx）”后重新填写"
        )
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data, name=path.name)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if suffix == ".json" or head in (b"{", b"["):
        return read_json(data, name=path.name)
    if suffix in (".xlsx", ".xlsm"):
        raise InputError(
            f"{path.name} 不是有效的 Excel（.xlsx）文件：看起来是 CSV 或文本文件被改了扩展名。"
            "请使用 houqin-agent template 生成的模板填写"
        )
    if suffix == ".csv":
        raise InputError(f"不支持 CSV 文件（{path.name}）：请使用 houqin-agent template 生成的 .xlsx 模板填写")
    raise InputError(f"不支持的文件类型：{path.name}。只能提交 .xlsx 月报模板或 .json 报表")


# ------------------------------------------------------------------------------------------------ JSON


def read_json(data: bytes, *, name: str = "report.json") -> ReadResult:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name} 不是 UTF-8 编码的 JSON 文件") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name} 的 JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}") from None
    except RecursionError:
        raise InputError(f"{name} 的 JSON 嵌套过深") from None
    if not isinstance(report, dict):
        raise InputError(f"{name} 的最外层必须是一个 JSON 对象（{{…}}），即一份月报")
    return ReadResult(
        report=report,
        kind="json",
        school_code=report.get("school_code") if isinstance(report.get("school_code"), str) else None,
        period=report.get("period") if isinstance(report.get("period"), str) else None,
    )


# ------------------------------------------------------------------------------------------------ xlsx


class _Bad:
    """A cell whose content was already reported as a :class:`CellIssue`."""


_BAD = _Bad()


def _open_workbook(data: bytes, name: str) -> Any:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            unzipped = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"{name} 已损坏，不是有效的 Excel（.xlsx）文件") from None
    if "xl/workbook.xml" not in names:
        raise InputError(f"{name} 不是 Excel 工作簿（可能是 Word 或其他压缩文件改了扩展名）")
    if unzipped > MAX_UNZIPPED_BYTES:
        raise InputError(f"{name} 解压后超过 {MAX_UNZIPPED_BYTES // 1024 // 1024} MB，不是正常的月报模板")
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            # Excel's and WPS's extensions (x14 data validation, slicers …) make openpyxl warn; they do not
            # matter for the values we read.
            warnings.simplefilter("ignore")
            return load_workbook(io.BytesIO(data), data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise InputError(f"无法读取 {name}：文件已损坏或不是 Excel 工作簿（{type(exc).__name__}）") from None


def _meta(wb: Any, name: str) -> dict[str, str]:
    if META_SHEET not in wb.sheetnames:
        raise InputError(
            f"{name} 不是 houqin-agent 生成的月报模板（缺少模板信息）。"
            "请运行 houqin-agent template 月份 生成本月模板后填写"
        )
    ws = wb[META_SHEET]
    meta: dict[str, str] = {}
    for row in ws.iter_rows(min_row=1, max_row=50, max_col=2, values_only=True):
        if row and isinstance(row[0], str) and row[1] is not None:
            meta[row[0]] = str(row[1])
    if meta.get("marker") != META_MARKER:
        raise InputError(f"{name} 的模板信息已损坏，请重新运行 houqin-agent template 月份 生成模板")
    return meta


def read_xlsx(data: bytes, *, name: str = "template.xlsx") -> ReadResult:
    wb = _open_workbook(data, name)
    try:
        return _read_workbook(wb, name)
    finally:
        wb.close()


def _read_workbook(wb: Any, name: str) -> ReadResult:
    meta = _meta(wb, name)
    school, period = meta.get("school_code"), meta.get("period")
    # the standard the template was written in (a template of before @2 records @1)
    recorded = meta.get("standard")
    standard = recorded if recorded is not None and recorded in STANDARDS else STANDARD_ID
    sheets = data_sheets(standard)
    missing = [s for s in sheets if s not in wb.sheetnames]
    if missing:
        extra = [s for s in wb.sheetnames if s not in sheets and s != META_SHEET]
        msg = "、".join(f"“{s}”" for s in missing)
        hint = f"（发现不认识的工作表 {'、'.join(f'“{s}”' for s in extra)}，是否被改了名？）" if extra else ""
        raise InputError(
            f"{name} 缺少工作表 {msg}：模板的工作表被改名或删除了{hint}。请不要改动工作表名称；"
            f"可以改回原名，或重新运行 houqin-agent template {period or '月份'} 生成模板后重新填写"
        )
    result = ReadResult(report={}, kind="xlsx", school_code=school, period=period)
    report: dict[str, Any] = {"standard": standard}
    if school is not None:
        report["school_code"] = school
    if period is not None:
        report["period"] = period

    slots_by_sheet: dict[str, list[Slot]] = {}
    for key in form_sections(standard):
        slots_by_sheet[SHEET_NAMES[key]] = section_slots(key)
    for sheet in sheets:
        ws = wb[sheet]
        for rng in sorted(ws.merged_cells.ranges, key=str):
            inside = [
                s
                for s in slots_by_sheet.get(sheet, [])
                if rng.min_row <= s.row <= rng.max_row and rng.min_col <= 3 <= rng.max_col
            ]
            result.bad_paths.update(f"/{s.section}/{s.field.key}" for s in inside)
            if sheet == HAZARD_SHEET:
                result.bad_paths.add("/hazards")
            if sheet == CALENDAR_SHEET:
                result.bad_paths.add("/calendar")
            result.issues.append(
                CellIssue("", f"{sheet}!{rng}", "合并单元格", "模板中不能合并单元格，请取消合并后再提交")
            )

    cover = wb[COVER_SHEET]
    prepared_by = _text(cover[COVER_PREPARED_BY], result, "/prepared_by", f"{COVER_SHEET}!{COVER_PREPARED_BY}")
    if isinstance(prepared_by, str):
        report["prepared_by"] = prepared_by

    for key in form_sections(standard):
        section = SECTIONS_V2_BY_KEY[key]
        ws = wb[SHEET_NAMES[section.key]]
        slots = section_slots(section.key)
        if not _layout_intact(ws, slots, result):
            continue
        obj: dict[str, Any] = {}
        items: list[str] = []
        items_answered = False
        for slot in slots:
            where = f"{slot.sheet}!{slot.cell}"
            path = f"/{section.key}/{slot.field.key}"
            if slot.item is not None:
                v = _convert(ws[slot.cell], slot.field, result, path, where, kind="bool", label=slot.label)
                if v is None or v is _BAD:
                    continue
                items_answered = True
                if v is True:
                    items.append(slot.item)
                continue
            v = _convert(ws[slot.cell], slot.field, result, path, where)
            if v is not None and v is not _BAD:
                obj[slot.field.key] = v
        if items_answered:
            obj["unified_items"] = [i for i in DORMITORY_ITEMS if i in items]
        if section.key == "nutrition" and obj.get("participating") is False and len(obj) > 1:
            result.notices.append("本月未参加营养改善计划（营养餐表第一项为“否”），营养餐表的其余各项不上报")
            obj = {"participating": False}
        if not section.required and not obj and not result.covered(f"/{section.key}"):
            continue  # no boarders (no canteen staff, not in the programme), sheet left empty: optional
        report[section.key] = obj

    if CALENDAR_SHEET in sheets:
        report["calendar"] = {"tasks": _read_calendar(wb[CALENDAR_SHEET], result)}
        codes = meta.get("calendar_codes")
        if codes is not None:
            result.calendar_codes = () if codes == "-" else tuple(c for c in codes.split(",") if c)
    report["hazards"] = _read_hazards(wb[HAZARD_SHEET], result, period or "")
    result.report = report
    return result


def _layout_intact(ws: Any, slots: list[Slot], result: ReadResult) -> bool:
    for slot in slots:
        found = ws[f"{LABEL_COL}{slot.row}"].value
        if found != slot.label:
            result.bad_paths.add(f"/{slot.section}")
            result.issues.append(
                CellIssue(
                    f"/{slot.section}",
                    f"{ws.title}!{LABEL_COL}{slot.row}",
                    slot.label,
                    f"模板结构被改动：第 {slot.row} 行应为“{slot.label}”，现为“{'' if found is None else found}”。"
                    "请不要插入或删除行；请重新生成模板后填写",
                )
            )
            return False
    return True


def _is_formula(cell: Any) -> bool:
    v = cell.value
    return (
        getattr(cell, "data_type", None) == "f"
        or (isinstance(v, str) and v.startswith("="))
        or (type(v).__name__ in ("ArrayFormula", "DataTableFormula"))
    )


def _convert(
    cell: Any,
    f: Field,
    result: ReadResult,
    path: str,
    where: str,
    *,
    kind: str | None = None,
    label: str | None = None,
) -> Any:
    """The cell's value in the report's form; None when blank; ``_BAD`` after recording a CellIssue."""
    kind = kind or f.kind
    label = label or f.label_zh
    v = cell.value

    def bad(message: str) -> _Bad:
        result.issues.append(CellIssue(path, where, label, message))
        result.bad_paths.add(path)
        return _BAD

    if _is_formula(cell):
        shown = getattr(v, "text", v)
        return bad(f"不能使用公式（{str(shown)[:40]}），请直接填写数值（可复制后“选择性粘贴→数值”）")
    if getattr(cell, "data_type", None) == "e":
        return bad(f"单元格是错误值 {v}，请填写数值")
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, str):
        v = v.strip()
    if kind == "int":
        if isinstance(v, bool):
            return bad("应填写整数")
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            if v.is_integer():
                return int(v)
            return bad(f"应填写整数，不能有小数（现为 {v:g}）")
        if isinstance(v, str) and _INT_TEXT.fullmatch(v):
            return int(v)
        if isinstance(v, str) and v.startswith("-") and _INT_TEXT.fullmatch(v[1:]):
            return int(v)  # the standard's "negative" message says it better
        return bad(f"应填写整数，不能填写文字“{_short(v)}”")
    if kind in ("money", "quantity"):
        places = 2 if kind == "money" else 1
        d: Decimal | None = None
        if isinstance(v, bool):
            d = None
        elif isinstance(v, int):
            d = Decimal(v)
        elif isinstance(v, float):
            d = Decimal(format(v, ".15g"))  # what Excel shows: 15 significant digits
        elif isinstance(v, str) and _DECIMAL_TEXT.fullmatch(v):
            d = Decimal(v)
        if d is None:
            what = "金额" if kind == "money" else "数量"
            return bad(f"应填写{what}（数字），不能填写文字“{_short(v)}”")
        try:
            exponent = int(d.normalize().as_tuple().exponent)
        except (InvalidOperation, TypeError):
            return bad("数值无效")
        if exponent < -places:
            return bad(f"最多{'两' if places == 2 else '一'}位小数（现为 {d.normalize():f}）")
        return format_money(d) if kind == "money" else format_quantity(d)
    if kind == "bool":
        if isinstance(v, bool):
            return v
        text = str(v).strip().lower()
        if text in BOOL_FROM_TEXT:
            return BOOL_FROM_TEXT[text]
        return bad(f"请从下拉列表中选择“是”或“否”（现为“{_short(v)}”）")
    if kind == "enum":
        code = enum_from_text(f.enum_name or "", str(v)) if isinstance(v, str) else None
        if code is None:
            from houqin_standard import ENUM_LABELS

            choices = "、".join(zh for zh, _en in ENUM_LABELS[f.enum_name or ""].values())
            return bad(f"请从下拉列表中选择：{choices}（现为“{_short(v)}”）")
        return code
    if kind == "date":
        if isinstance(v, dt.datetime):
            return v.date().isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, str):
            m = _DATE_TEXT.fullmatch(v)
            if m:
                try:
                    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
                except ValueError:
                    pass
        return bad(f"应填写日期，如 2026-09-04（现为“{_short(v)}”）")
    # text
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def _text(cell: Any, result: ReadResult, path: str, where: str) -> Any:
    f = Field("prepared_by", "str", "填报人", "Prepared by")
    return _convert(cell, f, result, path, where)


def _short(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 30 else s[:30] + "…"


def _read_calendar(ws: Any, result: ReadResult) -> list[dict[str, Any]]:
    """@2's 行事历 sheet: one task per row (任务编号 | 任务 | 完成日期 | 备注); a task is done, and read back, only
    when its 完成日期 is filled (the listed tasks not done keep theirs empty)."""
    for col, f in zip(CALENDAR_COLUMNS, CALENDAR_TASK_FIELDS, strict=True):
        if ws[f"{col}3"].value != f.label_zh:
            result.bad_paths.add("/calendar")
            result.issues.append(
                CellIssue(
                    "/calendar",
                    f"{CALENDAR_SHEET}!{col}3",
                    f.label_zh,
                    f"模板结构被改动：{col} 列应为“{f.label_zh}”。请不要插入或删除列；请重新生成模板后填写",
                )
            )
            return []
    tasks: list[dict[str, Any]] = []
    rows: list[int] = []
    last = min(ws.max_row, FIRST_ROW + MAX_HAZARD_ROWS - 1)
    for row in range(FIRST_ROW, last + 1):
        cells = [ws[f"{col}{row}"] for col in CALENDAR_COLUMNS]
        done_on = cells[1]  # 完成日期
        if done_on.value is None or (isinstance(done_on.value, str) and not done_on.value.strip()):
            continue  # not done (or a blank row)
        index = len(tasks)
        entry: dict[str, Any] = {}
        for cell, f in zip(cells, CALENDAR_TASK_FIELDS, strict=True):
            v = _convert(cell, f, result, f"/calendar/tasks/{index}/{f.key}", f"{CALENDAR_SHEET}!{cell.coordinate}")
            if v is not _BAD and v is not None:
                entry[f.key] = v
        tasks.append(entry)
        rows.append(row)
    result.calendar_rows = rows
    return tasks


def _read_hazards(ws: Any, result: ReadResult, period: str) -> list[dict[str, Any]]:
    hazards: list[dict[str, Any]] = []
    rows: list[int] = []
    last = min(ws.max_row, FIRST_ROW + MAX_HAZARD_ROWS - 1)
    for row in ws.iter_rows(min_row=last + 1, max_col=len(HAZARD_COLUMNS), values_only=True):
        if any(v is not None and str(v).strip() for v in row):
            result.bad_paths.add("/hazards")
            result.issues.append(
                CellIssue(
                    "/hazards",
                    f"{HAZARD_SHEET}!A{last + 1}",
                    "隐患台账",
                    f"隐患台账最多登记 {MAX_HAZARD_ROWS} 条，多出的行不能上报，请联系教育局",
                )
            )
            break
    for col, f in zip(HAZARD_COLUMNS, HAZARD_FIELDS, strict=True):
        if ws[f"{col}3"].value != f.label_zh:
            result.bad_paths.add("/hazards")
            result.issues.append(
                CellIssue(
                    "/hazards",
                    f"{HAZARD_SHEET}!{col}3",
                    f.label_zh,
                    f"模板结构被改动：{col} 列应为“{f.label_zh}”。请不要插入或删除列；请重新生成模板后填写",
                )
            )
            return []
    for row in range(FIRST_ROW, last + 1):
        cells = [ws[f"{col}{row}"] for col in HAZARD_COLUMNS]
        if all(c.value is None or (isinstance(c.value, str) and not c.value.strip()) for c in cells):
            continue
        index = len(hazards)
        entry: dict[str, Any] = {}
        for cell, f in zip(cells, HAZARD_FIELDS, strict=True):
            path = f"/hazards/{index}/{f.key}"
            v = _convert(cell, f, result, path, f"{HAZARD_SHEET}!{cell.coordinate}")
            if v is _BAD:
                continue
            if v is None:
                if f.nullable:
                    entry[f.key] = None  # an open hazard: rectified_on present and null
                continue
            entry[f.key] = v
        hazards.append(entry)
        rows.append(row)
    used = {h["ref"] for h in hazards if isinstance(h.get("ref"), str)}
    n = 0
    for h, row in zip(hazards, rows, strict=True):
        if "ref" not in h and not result.covered(f"/hazards/{rows.index(row)}/ref"):
            n += 1
            while f"H-{period}-{n:03d}" in used:
                n += 1
            h["ref"] = f"H-{period}-{n:03d}"
            used.add(h["ref"])
            result.notices.append(f"{HAZARD_SHEET}!A{row} 新登记的隐患已自动编号 {h['ref']}")
    result.hazard_rows = rows
    return hazards
