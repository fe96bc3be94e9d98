"""The county 营养餐 fund report as an xlsx workbook for auditors.

Every figure comes from ``FundReport.to_dict()`` (the engine's one output); this module only lays it out.
Money is written as a number (a ``Decimal`` parsed from that 2-decimal string) with a ¥ format; openpyxl
stores numbers as ``%.16g`` text, which is exact for up to 15 significant digits (any amount below ten
trillion yuan), so the file holds the engine's figure exactly (``81900.00`` → ``<v>81900</v>``). A figure
with more digits is written as its exact string instead, right-aligned, rather than rounded. Ratios are the
4-decimal strings written as numbers with a percentage format (0.9712 → 97.12%); a ratio with a zero
denominator is shown as "—".

Text cells are formula-injection safe (OWASP "CSV injection", which applies to xlsx text that a user may
re-enter): text starting with ``= + - @`` TAB or CR is written prefixed with ``'`` and always as a string
cell.

The four sheets a reader works with (汇总, 学校明细, 异常清单, 未报送学校) carry Chinese words only: anomalies
by name, no code column, no ``field=value`` text, no revision ids, the report standard or the chain head
(issue 17). Those are on the last sheet, 审计信息, with the generation time as an ISO timestamp. Words come
from :mod:`district.glossary`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from district.glossary import term
from district.nutrition.anomalies import ANOMALY_CODES
from district.nutrition.engine import FundReport
from houqin_standard import ENUM_LABELS, fund_text

__all__ = [
    "HEADER_ROW",
    "MONEY_FORMAT",
    "NOT_COMPUTED",
    "RATIO_FORMAT",
    "SHEET_NAMES",
    "fund_report_xlsx",
    "safe_text",
]

MONEY_FORMAT = '"¥"#,##0.00'
RATIO_FORMAT = "0.00%"
COUNT_FORMAT = "#,##0"
NOT_COMPUTED = "—"  # a ratio whose denominator is 0 (JSON null)
HEADER_ROW = 6  # rows 1–4 state county, window, generation time and the rate; row 6 holds the column titles
_EXACT_DIGITS = 15  # significant digits a double (and openpyxl's "%.16g") always keeps exactly
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

SHEET_NAMES = {
    "zh": ("汇总", "学校明细", "异常清单", "未报送学校", "审计信息"),
    "en": ("Summary", "Schools", "Anomalies", "Not reported", "Audit"),
}


def _label(enum_name: str, code: str | None, lang: str) -> str | None:
    """The standard's label of an enum value (houqin_standard.ENUM_LABELS); an unknown code as it is."""
    if code is None:
        return None
    zh, en = ENUM_LABELS[enum_name].get(code, (code, code))
    return en if lang == "en" else zh


_T = {
    "zh": {
        "title": "{name}营养餐资金报告",
        "window": "统计期间：{start} 至 {end}",
        "generated": "生成时间：{at}（北京时间）",
        "standard": "县定补助标准：{rate} 元/生/天",
        "item": "项目",
        "value": "内容",
        "county_code": "行政区划代码",
        "generated_iso": "生成时间（ISO 8601）",
        "scope": "范围",
        "group": "名称",
        "county": "全县合计",
        "township": "学区",
        "supply_mode": "供餐方式",
        "schools": "学校数",
        "months_participating": "参与月数",
        "meal_days": "供餐天数",
        "meals_served": "供餐人次",
        "expected_funds": "应拨补助资金",
        "funds_received": "到账补助资金",
        "food_spend": "食材支出",
        "other_spend": "食材以外支出",
        "opening_balance": "期初结余",
        "closing_balance": "期末结余",
        "utilisation": "资金使用率",
        "per_meal_spend": "每餐支出",
        "anomaly_count": "异常数",
        "school_code": "学校标识码",
        "school_name": "学校名称",
        "school_type": "学校类型",
        "participating_periods": "参与月份",
        "revision_ids": "所用报表版本",
        "period": "月份",
        "anomaly": "异常",
        "message": "说明",
        "formula": "计算",
        "missing_periods": "未报送月份",
        "missing_count": "未报送月数",
        "count": "件数",
        "unknown": "未填报",
        "opening_stock_value": "期初食材库存",
        "stock_purchases": "食材采购",
        "closing_stock_value": "期末食材库存",
        "stock_consumed": "食材消耗",
    },
    "en": {
        "title": "Nutrition fund report — {name}",
        "window": "Window: {start} to {end}",
        "generated": "Generated: {at} (Beijing time)",
        "standard": "County subsidy rate: {rate} yuan per student-day",
        "item": "Item",
        "value": "Value",
        "county_code": "County code",
        "generated_iso": "Generated (ISO 8601)",
        "scope": "Scope",
        "group": "Name",
        "county": "County total",
        "township": "School district",
        "supply_mode": "Supply mode",
        "schools": "Schools",
        "months_participating": "Months participating",
        "meal_days": "Meal days",
        "meals_served": "Meals served",
        "expected_funds": "Expected funds",
        "funds_received": "Funds received",
        "food_spend": "Food spend",
        "other_spend": "Other spend",
        "opening_balance": "Opening balance",
        "closing_balance": "Closing balance",
        "utilisation": "Utilisation",
        "per_meal_spend": "Spend per meal",
        "anomaly_count": "Anomalies",
        "school_code": "School code",
        "school_name": "School name",
        "school_type": "School type",
        "participating_periods": "Participating months",
        "revision_ids": "Revisions used",
        "period": "Period",
        "anomaly": "Anomaly",
        "message": "Message",
        "formula": "Calculation",
        "missing_periods": "Missing months",
        "missing_count": "Missing count",
        "count": "Count",
        "unknown": "Not stated",
        "opening_stock_value": "Opening food stock",
        "stock_purchases": "Food purchased",
        "closing_stock_value": "Closing food stock",
        "stock_consumed": "Food consumed",
    },
}

# The sum columns shared by the summary and the school sheet, with how each is written.
_SUM_COLUMNS = (
    ("months_participating", "count"),
    ("meal_days", "count"),
    ("meals_served", "count"),
    ("expected_funds", "money"),
    ("funds_received", "money"),
    ("food_spend", "money"),
    ("other_spend", "money"),
    ("opening_balance", "money"),
    ("closing_balance", "money"),
    ("utilisation", "ratio"),
    ("per_meal_spend", "money"),
    ("anomaly_count", "count"),
)

# The stock columns (STANDARD-v2.md ``canteen_stock``), after the sums when the window has a month sent in @2;
# a school without one shows 未填报 (not reported, never 0).
_STOCK_COLUMNS = (
    ("opening_stock_value", "money"),
    ("stock_purchases", "money"),
    ("closing_stock_value", "money"),
    ("stock_consumed", "money"),
)


def safe_text(value: str) -> str:
    """Text as written to a cell: a formula trigger gets a leading ``'``; illegal XML chars become U+FFFD."""
    value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return "'" + value if value.startswith(_FORMULA_TRIGGERS) else value


_BOLD = Font(bold=True)
_NOT_BOLD = Font(bold=False)
_TITLE_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
_RIGHT = Alignment(horizontal="right")


def put_cell(ws: Any, value: Any, kind: str = "text", font: Font | None = None) -> Any:
    """The value of one cell as ``ws.append`` takes it: a plain ``str`` for unstyled text (the write-only writer
    stores a ``str`` as a string cell; ``safe_text`` has removed every formula trigger), otherwise a cell
    carrying its type and style."""
    if kind == "text" or value is None:
        text = safe_text("" if value is None else str(value))
        if font is None:
            return text
        cell = WriteOnlyCell(ws, text)
        cell.data_type = "s"
    elif kind == "count":
        cell = WriteOnlyCell(ws, int(value))
        cell.number_format = COUNT_FORMAT
    elif kind in ("money", "ratio"):
        number = Decimal(value)
        if len(number.as_tuple().digits) > _EXACT_DIGITS:
            # a float (how a cell holds a number) would round it: keep the engine's exact string
            cell = WriteOnlyCell(ws, safe_text(str(value)))
            cell.data_type = "s"
            cell.alignment = _RIGHT
        else:
            cell = WriteOnlyCell(ws, number)
            cell.number_format = MONEY_FORMAT if kind == "money" else RATIO_FORMAT
    else:  # pragma: no cover - a programming error
        raise ValueError(kind)
    if font is not None:
        cell.font = font
    return cell


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


_MAX_WIDTH = 60
_MEASURE_LIMIT = _MAX_WIDTH - 2  # a column measured this wide is already at the maximum


class _Sheet:
    """One sheet: the statement header, then a table with bold, frozen column titles.

    The workbook is written in openpyxl's write-only mode (rows streamed to the file, no cell objects kept):
    about three times faster on a county of a thousand schools. Column widths must be known before the first
    row is written, so rows are collected (as values) and written by ``finish``.
    """

    def __init__(self, wb: Workbook, title: str, header_lines: Sequence[str], columns: Sequence[str]):
        self.wb, self.title = wb, title
        self.header_lines, self.columns = list(header_lines), list(columns)
        self.widths = [_display_width(c) for c in columns]
        self.rows: list[tuple[Sequence[tuple[Any, str]], bool]] = []

    def skip_row(self) -> None:
        self.rows.append(((), False))

    def append(self, cells: Sequence[tuple[Any, str]], *, bold: bool = False) -> None:
        self.rows.append((cells, bold))
        widths = self.widths
        for col, (value, kind) in enumerate(cells[: len(widths)]):
            current = widths[col]
            if current >= _MEASURE_LIMIT:
                continue
            shown = NOT_COMPUTED if value is None else str(value)
            extra = 4 if kind in ("money", "ratio") else 0
            if 2 * len(shown) + extra <= current:  # cannot be wider than the column already is
                continue
            widths[col] = max(current, _display_width(shown) + extra)

    def finish(self) -> None:
        ws = self.wb.create_sheet(self.title)
        for col, width in enumerate(self.widths, start=1):
            ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 8), _MAX_WIDTH)
        ws.freeze_panes = f"A{HEADER_ROW + 1}"
        for i, line in enumerate(self.header_lines, start=1):
            ws.append([put_cell(ws, line, font=_BOLD if i == 1 else _NOT_BOLD)])
        for _ in range(len(self.header_lines) + 1, HEADER_ROW):
            ws.append([])
        titles = []
        for title_text in self.columns:
            cell = put_cell(ws, title_text, font=_BOLD)
            cell.alignment = _TITLE_ALIGNMENT
            titles.append(cell)
        ws.append(titles)
        for cells, bold in self.rows:
            font = _BOLD if bold else None
            ws.append([put_cell(ws, value, kind, font) for value, kind in cells])


def _sum_cells(totals: dict[str, Any], stock: bool = False, unknown: str = "") -> list[tuple[Any, str]]:
    cells: list[tuple[Any, str]] = []
    for key, kind in _SUM_COLUMNS:
        value = totals[key]
        cells.append((NOT_COMPUTED, "text") if value is None else (value, kind))
    if stock:
        for key, kind in _STOCK_COLUMNS:
            value = totals[key]
            cells.append((unknown, "text") if value is None else (value, kind))
    return cells


def fund_report_xlsx(report: FundReport, lang: str = "zh") -> bytes:
    """The workbook (sheets 汇总, 学校明细, 异常清单, 未报送学校, 审计信息) of ``report.to_dict(lang)``, as bytes."""
    lang = "en" if lang.lower().startswith("en") else "zh"
    t = _T[lang]
    data = report.to_dict(lang)

    def mode_label(mode: str | None) -> str:
        return _label("supply_mode", mode, lang) or t["unknown"]

    def anomaly_name(code: str) -> str:
        name = ANOMALY_CODES.get(code)
        return code if name is None else (name.en if lang == "en" else name.zh)

    def type_label(school_type: str) -> str:
        return _label("school_type", school_type, lang) or ""

    header = [
        t["title"].format(name=data["county_name"]),
        t["window"].format(start=data["window_from"], end=data["window_to"]),
        t["generated"].format(at=report.generated_at_shanghai.strftime("%Y-%m-%d %H:%M:%S")),
        t["standard"].format(rate=data["standard_rate"]),
    ]
    stock = bool(data["stock"])
    sum_titles = [t[key] for key, _ in (*_SUM_COLUMNS, *(_STOCK_COLUMNS if stock else ()))]

    def sum_cells(totals: dict[str, Any]) -> list[tuple[Any, str]]:
        return _sum_cells(totals, stock, t["unknown"])

    wb = Workbook(write_only=True)
    names = SHEET_NAMES[lang]

    # 汇总: county total, townships, supply modes; then the count of each anomaly code
    summary = _Sheet(wb, names[0], header, [t["scope"], t["group"], t["schools"], *sum_titles])

    def group_row(scope: str, name: str, sub: dict[str, Any]) -> list[tuple[Any, str]]:
        return [(scope, "text"), (name, "text"), (sub["schools"], "count"), *sum_cells(sub)]

    summary.append(group_row(t["county"], data["county_name"], data["county"]), bold=True)
    for sub in data["townships"]:
        summary.append(group_row(t["township"], sub["township"], sub))
    for sub in data["supply_modes"]:
        summary.append(group_row(t["supply_mode"], mode_label(sub["supply_mode"]), sub))
    summary.skip_row()
    summary.append([(t["anomaly"], "text"), (t["count"], "text")], bold=True)
    for code, count in data["anomaly_counts"].items():
        summary.append([(anomaly_name(code), "text"), (count, "count")])
    summary.finish()

    # 学校明细
    schools = _Sheet(
        wb,
        names[1],
        header,
        [
            t["school_code"],
            t["school_name"],
            t["school_type"],
            t["township"],
            t["supply_mode"],
            t["participating_periods"],
            *sum_titles,
        ],
    )
    for row in data["schools"]:
        schools.append(
            [
                (row["school_code"], "text"),
                (row["school_name"], "text"),
                (type_label(row["school_type"]), "text"),
                (row["township"], "text"),
                (mode_label(row["supply_mode"]), "text"),
                (", ".join(row["participating_periods"]), "text"),
                *sum_cells(row),
            ]
        )
    schools.finish()

    # 异常清单
    names_by_code = {row["school_code"]: row for row in data["schools"]}
    anomalies = _Sheet(
        wb,
        names[2],
        header,
        [
            t["school_code"],
            t["school_name"],
            t["township"],
            t["period"],
            t["anomaly"],
            t["message"],
            t["formula"],
        ],
    )
    for a in data["anomalies"]:
        school = names_by_code[a["school_code"]]
        anomalies.append(
            [
                (a["school_code"], "text"),
                (school["school_name"], "text"),
                (school["township"], "text"),
                (a["period"], "text"),
                (anomaly_name(a["code"]), "text"),
                (a["sentence"], "text"),  # the plain sentence; the rule with its figures beside it
                (fund_text.detail(a["code"], a["figures"], lang), "text"),
            ]
        )
    anomalies.finish()

    # 未报送学校
    missing = _Sheet(
        wb,
        names[3],
        header,
        [
            t["school_code"],
            t["school_name"],
            t["school_type"],
            t["township"],
            t["missing_periods"],
            t["missing_count"],
        ],
    )
    for school in data["non_reporting"]:
        missing.append(
            [
                (school["school_code"], "text"),
                (school["school_name"], "text"),
                (type_label(school["school_type"]), "text"),
                (school["township"], "text"),
                (", ".join(school["missing_periods"]), "text"),
                (len(school["missing_periods"]), "count"),
            ]
        )
    missing.finish()

    # 审计信息: what verification needs and nobody reads on the face (issue 17)
    audit = _Sheet(wb, names[4], header, [t["item"], t["value"]])
    for label, value in (
        (t["county_code"], data["county_code"]),
        (term("standard_id", lang), data["standard"]),
        (term("chain_head", lang), data.get("chain_head") or NOT_COMPUTED),
        (t["generated_iso"], report.generated_at_shanghai.isoformat(timespec="seconds")),
        (term("timezone", lang), "Asia/Shanghai"),
    ):
        audit.append([(label, "text"), (value, "text")])
    audit.skip_row()
    audit.append(
        [(t["school_code"], "text"), (t["period"], "text"), (term("anomaly_code", lang), "text"),
         (t["anomaly"], "text"), (term("figures", lang), "text")],
        bold=True,
    )  # fmt: skip
    for a in data["anomalies"]:
        audit.append(
            [(a["school_code"], "text"), (a["period"], "text"), (a["code"], "text"), (anomaly_name(a["code"]), "text"),
             ("; ".join(f"{k}={v}" for k, v in a["figures"].items()), "text")]
        )  # fmt: skip
    audit.skip_row()
    audit.append([(t["school_code"], "text"), (t["revision_ids"], "text")], bold=True)
    for row in data["schools"]:
        audit.append(
            [(row["school_code"], "text"), (", ".join(f"{p}: {r}" for p, r in row["revision_ids"].items()), "text")]
        )
    audit.finish()

    buffer = io.BytesIO()
    wb.properties.creator = "Houqin"
    # core properties are written as UTC ("…Z")
    wb.properties.created = report.generated_at.astimezone(UTC).replace(tzinfo=None)
    wb.save(buffer)
    return buffer.getvalue()
