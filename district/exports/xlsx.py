"""One way to write a table export (rankings, completeness, hazards, a period's raw reports) as xlsx or CSV.

Every export is a :class:`Table`: Chinese column titles, rows of plain values, the columns to total, and
optional audit lines (codes, ids, the standard) that go on a second sheet 审计信息, never on the face. The
first sheet is the table alone, header in row 1, so that a reader (or a test) can read it back row by row:

- header frozen, autofilter over the header and the data rows (not the totals row);
- printable: landscape, fit to one page wide, header row repeated on every page, A4;
- a totals row 合计 under the data when a column is marked ``total`` (sums of counts and money only);
- money written as a number (``Decimal``, 2 places, ``#,##0.00``), counts as integers (``#,##0``), rates as the
  engine's 4-decimal fraction with a percentage format, text formula-safe (``district.nutrition.xlsx.safe_text``).

The CSV of a table is UTF-8 with a BOM (so Excel opens the Chinese), the same header and rows, no totals row,
every text cell formula-safe as well.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from flask import Response, current_app
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from district.nutrition.xlsx import safe_text

__all__ = ["AUDIT_SHEET", "CSV_MIMETYPE", "XLSX_MIMETYPE", "Column", "Table", "download", "table_csv", "table_xlsx"]

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"
AUDIT_SHEET = "审计信息"
TOTAL_LABEL = "合计"

FORMATS = {
    "money": "#,##0.00",
    "int": "#,##0",
    "rate": "0.00%",
    "score": "0.00",
    "number": "#,##0.###",
}

_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE5EE")
_WRAP = Alignment(vertical="center", wrap_text=True)


@dataclass(frozen=True)
class Column:
    """One column: its Chinese title, how its values are written (``text``, ``int``, ``money``, ``rate``,
    ``score``, ``number``) and whether the totals row sums it."""

    title: str
    kind: str = "text"
    total: bool = False
    width: int | None = None


@dataclass
class Table:
    title: str  # the sheet's name (at most 31 characters) and the document's title
    columns: Sequence[Column]
    rows: list[list[Any]]
    audit: list[tuple[str, str]] = field(default_factory=list)  # (what, value) lines of the 审计信息 sheet
    audit_rows: list[list[Any]] = field(default_factory=list)  # optional per-row codes, header first

    @property
    def has_totals(self) -> bool:
        return any(c.total for c in self.columns) and bool(self.rows)

    def totals(self) -> list[Any]:
        """The totals row: 合计 in the first column, the sum of each ``total`` column, blank elsewhere."""
        out: list[Any] = []
        for i, col in enumerate(self.columns):
            if col.total:
                values = [_number(r[i]) for r in self.rows]
                out.append(sum((v for v in values if v is not None), Decimal(0) if col.kind == "money" else 0))
            else:
                out.append(TOTAL_LABEL if i == 0 else None)
        return out


def _number(value: Any) -> Any:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _cell_value(value: Any, kind: str) -> Any:
    """What is written to a cell: numbers as numbers (money quantized to 2 places), text formula-safe."""
    if value is None:
        return None
    if kind == "text" or (isinstance(value, str) and _number(value) is None):
        return safe_text(str(value))
    if kind == "money":
        return _number(value).quantize(Decimal("0.01"))
    if kind == "int":
        return int(value)
    number = _number(value)
    return number if number is not None else safe_text(str(value))


def table_xlsx(table: Table) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = table.title[:31]
    ncols = len(table.columns)
    ws.append([safe_text(c.title) for c in table.columns])
    for cell in ws[1]:
        cell.font, cell.fill, cell.alignment = _BOLD, _HEADER_FILL, _WRAP
    for row in table.rows:
        ws.append([_cell_value(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
    last_data = 1 + len(table.rows)
    if table.has_totals:
        ws.append([_cell_value(v, c.kind) for v, c in zip(table.totals(), table.columns, strict=True)])
        for cell in ws[ws.max_row]:
            cell.font = _BOLD
    for i, col in enumerate(table.columns, start=1):
        fmt = FORMATS.get(col.kind)
        letter = get_column_letter(i)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, max_row=ws.max_row, min_col=i, max_col=i):
                if isinstance(cell.value, int | float | Decimal):
                    cell.number_format = fmt
        longest = max((_display_width(r[i - 1]) for r in table.rows), default=0)
        ws.column_dimensions[letter].width = col.width or min(max(_display_width(col.title), longest, 6) + 2, 48)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{max(last_data, 1)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = "1:1"
    ws.oddHeader.center.text = safe_text(table.title)
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    if table.audit or table.audit_rows:
        audit = wb.create_sheet(AUDIT_SHEET)
        for what, value in table.audit:
            audit.append([safe_text(what), safe_text(str(value))])
        if table.audit_rows:
            if table.audit:
                audit.append([])
            for row in table.audit_rows:
                audit.append([safe_text(str(v)) if v is not None else None for v in row])
        audit.column_dimensions["A"].width = 24
        audit.column_dimensions["B"].width = 48
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _display_width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    return str(value)


def table_csv(table: Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_csv_text(c.title) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_text(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def download(body: bytes, utf8_name: str, ascii_name: str, mimetype: str) -> Response:
    """The file as a download named for its content (ASCII ``filename`` and RFC 5987 UTF-8 ``filename*``), never
    kept in a shared cache (as ``district.nutrition.api.attachment``)."""
    resp = current_app.response_class(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"
    )
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
