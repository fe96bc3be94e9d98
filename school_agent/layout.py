"""Where every field of the standard sits in the month's workbook (模板版式).

One description, read by the template writer (``template.py``) and the reader (``reader.py``), so a value is
written and read at the same cell, and an error about ``/nutrition/meals_served`` names ``营养餐!C7``.

Every section sheet has the same shape: row 1 a title, row 2 a hint, row 3 the column headers
(项目 | 单位 | 填报值 | 填写说明), then one field per row from row 4, in the standard's order, the value in
column C. The dormitory's nine “八统一” items are one row each (是/否). The hazard ledger is a table, one
hazard per row from row 4. A very hidden, protected sheet ``_meta`` records school, month and the standard.

A template of ``houqin/monthly-report@2`` (the version the hub names for the month) has four more sheets:
食堂管控, 食堂库存 and 意见箱 shaped as the section sheets, and 行事历, a table of the tasks done (任务编号 |
完成日期 | 备注), one per row from row 4. A @1 template is exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from houqin_standard import ENUM_LABELS, HAZARD_FIELDS, SECTIONS, STANDARD_ID_2, Field
from houqin_standard.fields import CALENDAR_TASK_FIELDS, SECTIONS_V2, SECTIONS_V2_BY_KEY

LAYOUT_VERSION = "1"

COVER_SHEET = "封面"
HAZARD_SHEET = "隐患台账"
META_SHEET = "_meta"
META_MARKER = "houqin-agent template"

# Short sheet names a clerk reads in the tab bar (Excel allows 31 characters). 营养餐 is what schools call the
# 营养改善计划 section.
SHEET_NAMES: dict[str, str] = {
    "enrollment": "在校人数",
    "nutrition": "营养餐",
    "food_safety": "食品安全",
    "finance": "财务",
    "assets": "校产",
    "energy": "能源消耗",
    "safety": "安全管理",
    "campus": "美丽新校园",
    "dormitory": "学生公寓",
    # @2 only
    "kitchen": "食堂管控",
    "canteen_stock": "食堂库存",
    "feedback_box": "意见箱",
}
CALENDAR_SHEET = "行事历"  # @2's calendar.tasks, a table: the month's tasks listed, a done date per task done
CALENDAR_COLUMNS: tuple[str, ...] = ("A", "C", "D")  # in CALENDAR_TASK_FIELDS order (code, done_on, note)
CALENDAR_TITLE_COLUMN = "B"  # 任务: the task's title, as the hub listed it (not read back)
CALENDAR_TITLE_HEADER = "任务"
CALENDAR_BLANK_ROWS = 12  # rows for codes typed by hand when the template lists no task (made offline)
CALENDAR_EXTRA_ROWS = 3  # blank rows below the listed tasks

FIRST_ROW = 4  # first field row on a section sheet, and first hazard row on the ledger
LABEL_COL = "A"
UNIT_COL = "B"
VALUE_COL = "C"
HINT_COL = "D"

# Cover sheet cells.
COVER_SCHOOL = "C3"
COVER_SCHOOL_NAME = "C4"
COVER_PERIOD = "C5"
COVER_PREPARED_BY = "C6"

# Hazard ledger columns, in HAZARD_FIELDS order.
HAZARD_COLUMNS: tuple[str, ...] = ("A", "B", "C", "D", "E", "F", "G")
HAZARD_BLANK_ROWS = 30  # empty, validated rows left for new hazards

BOOL_LABELS = {True: "是", False: "否"}
BOOL_FROM_TEXT = {
    "是": True,
    "否": False,
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "1": True,
    "0": False,
    "√": True,
    "×": False,
}

DORMITORY_ITEMS: tuple[str, ...] = tuple(ENUM_LABELS["dormitory_item"])

# Values that stay the same from month to month; the template for a month pre-fills them from the school's
# latest earlier report in the outbox. nutrition.opening_balance is last month's closing_balance.
STATIC_FIELDS: dict[str, tuple[str, ...]] = {
    "enrollment": ("students", "boarders", "staff", "logistics_staff"),
    "nutrition": ("participating", "eligible_students", "subsidy_rate", "supply_mode"),
    "food_safety": ("canteen_staff", "health_certified_staff"),
    "assets": ("items_registered", "book_value"),
    "campus": ("shop", "toilets", "hygiene", "wiring", "drinking_water", "campus_area_m2", "green_area_m2"),
    "dormitory": ("beds", "unified_items"),
}


@dataclass(frozen=True)
class Slot:
    """One input cell: which sheet, which row, and what belongs there."""

    section: str
    field: Field
    sheet: str
    row: int
    item: str | None = None  # a dormitory item code for the unified_items rows

    @property
    def cell(self) -> str:
        return f"{VALUE_COL}{self.row}"

    @property
    def label(self) -> str:
        if self.item is not None:
            return f"八统一：{ENUM_LABELS['dormitory_item'][self.item][0]}"
        return self.field.label_zh


def section_slots(section_key: str) -> list[Slot]:
    section = SECTIONS_V2_BY_KEY[section_key]
    sheet = SHEET_NAMES[section_key]
    slots: list[Slot] = []
    row = FIRST_ROW
    for f in section.fields:
        if f.kind == "list":
            for item in DORMITORY_ITEMS:
                slots.append(Slot(section_key, f, sheet, row, item))
                row += 1
        else:
            slots.append(Slot(section_key, f, sheet, row))
            row += 1
    return slots


ALL_SLOTS: dict[str, list[Slot]] = {s.key: section_slots(s.key) for s in SECTIONS_V2 if s.key in SHEET_NAMES}

#: The sheets of a @1 template, in order.
DATA_SHEETS: tuple[str, ...] = (COVER_SHEET, *(SHEET_NAMES[s.key] for s in SECTIONS), HAZARD_SHEET)
#: The sheets of a @2 template, in order.
DATA_SHEETS_V2: tuple[str, ...] = (
    COVER_SHEET,
    *(SHEET_NAMES[s.key] for s in SECTIONS_V2 if s.key in SHEET_NAMES),
    CALENDAR_SHEET,
    HAZARD_SHEET,
)


def form_sections(standard: str) -> tuple[str, ...]:
    """The sections of ``standard`` laid out as a section sheet (one field per row), in order."""
    sections = SECTIONS_V2 if standard == STANDARD_ID_2 else SECTIONS
    return tuple(s.key for s in sections if s.key in SHEET_NAMES)


def data_sheets(standard: str) -> tuple[str, ...]:
    return DATA_SHEETS_V2 if standard == STANDARD_ID_2 else DATA_SHEETS


def calendar_column(key: str) -> str:
    return CALENDAR_COLUMNS[[f.key for f in CALENDAR_TASK_FIELDS].index(key)]


def enum_label(enum_name: str, code: str) -> str:
    return ENUM_LABELS[enum_name][code][0]


def enum_from_text(enum_name: str, text: str) -> str | None:
    """A drop-down label (达标) or the code itself (compliant) → the code; None when neither."""
    labels = ENUM_LABELS[enum_name]
    t = text.strip()
    if t in labels:
        return t
    for code, (zh, en) in labels.items():
        if t in (zh, en) or t.lower() == en.lower():
            return code
    return None


def hazard_field(key: str) -> Field:
    for f in HAZARD_FIELDS:
        if f.key == key:
            return f
    raise KeyError(key)


def hazard_column(key: str) -> str:
    return HAZARD_COLUMNS[[f.key for f in HAZARD_FIELDS].index(key)]


def cell_for_path(
    path: str, hazard_rows: list[int] | None = None, calendar_rows: list[int] | None = None
) -> tuple[str, str] | None:
    """The (sheet, cell) a JSON pointer of a report read from the template points at; None when there is none."""
    parts = path.split("/")[1:]
    if not parts:
        return None
    head = parts[0]
    if head == "prepared_by":
        return (COVER_SHEET, COVER_PREPARED_BY)
    if head == "school_code":
        return (COVER_SHEET, COVER_SCHOOL)
    if head in ("period", "prepared_at", "report_id", "standard"):
        return (COVER_SHEET, COVER_PERIOD)
    if head == "hazards":
        rows = hazard_rows or []
        if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(rows):
            row = rows[int(parts[1])]
            col = hazard_column(parts[2]) if len(parts) >= 3 and parts[2] in _HAZARD_KEYS else "A"
            return (HAZARD_SHEET, f"{col}{row}")
        return (HAZARD_SHEET, f"A{FIRST_ROW}")
    if head == "calendar":
        rows = calendar_rows or []
        if len(parts) >= 3 and parts[2].isdigit() and int(parts[2]) < len(rows):
            row = rows[int(parts[2])]
            keys = [f.key for f in CALENDAR_TASK_FIELDS]
            col = calendar_column(parts[3]) if len(parts) >= 4 and parts[3] in keys else "A"
            return (CALENDAR_SHEET, f"{col}{row}")
        return (CALENDAR_SHEET, f"A{FIRST_ROW}")
    slots = ALL_SLOTS.get(head)
    if slots is None:
        return None
    if len(parts) >= 2:
        for s in slots:
            if s.field.key == parts[1]:
                if s.item is not None and len(parts) >= 3 and parts[2].isdigit():
                    # /dormitory/unified_items/3 → the row of the fourth item in the standard's order
                    idx = min(int(parts[2]), len(DORMITORY_ITEMS) - 1)
                    return (s.sheet, f"{VALUE_COL}{s.row + idx}")
                return (s.sheet, s.cell)
    return (SHEET_NAMES[head], f"{VALUE_COL}{FIRST_ROW}")


_HAZARD_KEYS = {f.key for f in HAZARD_FIELDS}
