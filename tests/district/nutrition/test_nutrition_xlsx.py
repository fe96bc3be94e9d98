"""The xlsx export read back with openpyxl: every cell against ``FundReport.to_dict()``."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from district.nutrition.engine import FundSchool, build_fund_report
from district.nutrition.xlsx import fund_report_xlsx

# display labels written out (not read from the module under test), shared with the API and CLI read-backs
from tests.district.nutrition.fund_checks import ANOMALY_ZH, MODE_ZH, SUMS, TYPE_ZH
from tests.district.test_glossary import assert_no_noise, noise

MONEY = '"¥"#,##0.00'
RATIO = "0.00%"


def sums(d: dict[str, Any]) -> list[tuple[Any, str]]:
    return [("—", "text") if d[k] is None else (d[k], kind) for k, kind in SUMS]


def text(*values: str) -> list[tuple[Any, str]]:
    return [(v, "text") for v in values]


def check_table(
    ws: Worksheet, first_row: int, expected: list[list[tuple[Any, str]]], *, to_the_end: bool = True
) -> None:
    """Every cell of rows first_row.. equals the expected (value, kind); nothing more (to the sheet's end)."""
    for r, row in enumerate(expected, start=first_row):
        for c, (value, kind) in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c)
            where = f"{ws.title}!{cell.coordinate}"
            if kind == "text":
                assert cell.data_type == "s", where
                assert cell.value == value, where
            elif kind == "count":
                assert cell.value == value and isinstance(cell.value, int), where
            else:
                # a number of ≤ 15 significant digits survives the float round trip; repr gives it back
                assert isinstance(cell.value, int | float), where
                assert Decimal(repr(cell.value)) == Decimal(value), where
                assert cell.number_format == (MONEY if kind == "money" else RATIO), where
        assert ws.cell(row=r, column=len(row) + 1).value is None, f"{ws.title} row {r} is longer"
    if to_the_end:
        assert ws.max_row == first_row + len(expected) - 1, ws.title


@pytest.fixture
def book(county_report):
    return load_workbook(io.BytesIO(fund_report_xlsx(county_report)))


def test_sheets_and_header(book, county_report):
    assert book.sheetnames == ["汇总", "学校明细", "异常清单", "未报送学校", "审计信息"]
    for ws in book.worksheets:
        assert [ws.cell(row=i, column=1).value for i in range(1, 6)] == [
            "富平县营养餐资金报告",
            "统计期间：2026-09 至 2026-11",
            "生成时间：2026-12-06 10:30:00（北京时间）",
            "县定补助标准：5.00 元/生/天",
            None,
        ]
        assert ws.freeze_panes == "A7"
        titles = [c for c in ws[6] if c.value is not None]
        assert titles and all(c.font.b for c in titles)
        assert all(ws.column_dimensions[c.column_letter].width >= 8 for c in titles)


def test_summary_sheet(book, county_report):
    data = county_report.to_dict()
    ws = book["汇总"]
    assert [c.value for c in ws[6]][:4] == ["范围", "名称", "学校数", "参与月数"]
    expected = [[*text("全县合计", "富平县"), (data["county"]["schools"], "count"), *sums(data["county"])]]
    expected += [[*text("学区", t["township"]), (t["schools"], "count"), *sums(t)] for t in data["townships"]]
    expected += [
        [*text("供餐方式", MODE_ZH[m["supply_mode"]]), (m["schools"], "count"), *sums(m)] for m in data["supply_modes"]
    ]
    expected.append([(None, "blank")])
    expected.append(text("异常", "件数"))
    expected += [[*text(ANOMALY_ZH[code]), (n, "count")] for code, n in data["anomaly_counts"].items()]
    blank = 7 + len(data["townships"]) + len(data["supply_modes"]) + 1
    assert all(c.value is None for c in ws[blank])
    check_table(ws, 7, expected[: blank - 7], to_the_end=False)
    # the anomaly counts below the blank row
    rows = expected[blank - 7 + 1 :]
    for r, row in enumerate(rows, start=blank + 1):
        for c, (value, _kind) in enumerate(row, start=1):
            assert ws.cell(row=r, column=c).value == value
    assert ws.max_row == blank + len(rows)


def test_school_sheet(book, county_report):
    data = county_report.to_dict()
    expected = [
        [
            *text(
                s["school_code"],
                s["school_name"],
                TYPE_ZH[s["school_type"]],
                s["township"],
                MODE_ZH[s["supply_mode"]],
                ", ".join(s["participating_periods"]),
            ),
            *sums(s),
        ]
        for s in data["schools"]
    ]
    check_table(book["学校明细"], 7, expected)
    assert book["学校明细"]["F8"].value == "2026-09, 2026-11"  # school B skipped October


def test_anomaly_sheet(book, county_report):
    data = county_report.to_dict()
    schools = {s["school_code"]: s for s in data["schools"]}
    expected = [
        text(
            a["school_code"],
            schools[a["school_code"]]["school_name"],
            schools[a["school_code"]]["township"],
            a["period"],
            ANOMALY_ZH[a["code"]],
            a["sentence"],
            a["message"].split("：", 1)[1],  # the rule with its figures, without the name (the column before)
        )
        for a in data["anomalies"]
    ]
    assert expected and all(row[5] != row[6] for row in expected)
    check_table(book["异常清单"], 7, expected)


def test_audit_sheet_holds_what_the_face_leaves_out(book, county_report):
    data = county_report.to_dict()
    ws = book["审计信息"]
    assert [c.value for c in ws[6]][:3] == ["项目", "内容", None]
    audit = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(7, 12)}
    assert audit == {
        "行政区划代码": "610528",
        "报表标准": "houqin/monthly-report@1",
        "数据链头": "—",
        "生成时间（ISO 8601）": "2026-12-06T10:30:00+08:00",
        "时区": "Asia/Shanghai",
    }
    assert [c.value for c in ws[13]][:5] == ["学校标识码", "月份", "异常代码", "异常", "触发数据"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=14, max_row=13 + len(data["anomalies"]))]
    assert [r[2] for r in rows] == [a["code"] for a in data["anomalies"]]
    assert (
        "opening_balance=2000.00; funds_received=33000.00; food_spend=33000.00; other_spend=0.00; "
        "closing_balance=2100.00; expected_closing=2000.00; difference=100.00"
    ) in [r[4] for r in rows]
    revisions = {
        ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(16 + len(rows), ws.max_row + 1)
    }
    assert revisions == {
        s["school_code"]: ", ".join(f"{p}: {r}" for p, r in s["revision_ids"].items()) for s in data["schools"]
    }


def test_no_technical_noise_on_the_face_sheets(book, county_report):
    """Every cell of the sheets a reader works with (all but 审计信息): no anomaly code, field name, SHA-256 or
    ISO timestamp (tests/district/test_glossary.py)."""
    assert county_report.anomalies
    for ws in book.worksheets[:-1]:
        cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        assert_no_noise("\n".join(cells))
    assert noise("\n".join(str(c.value) for row in book["审计信息"].iter_rows() for c in row if c.value))


def test_non_reporting_sheet(book, county_report):
    data = county_report.to_dict()
    expected = [
        [
            *text(s["school_code"], s["school_name"], TYPE_ZH[s["school_type"]], s["township"]),
            (", ".join(s["missing_periods"]), "text"),
            (len(s["missing_periods"]), "count"),
        ]
        for s in data["non_reporting"]
    ]
    check_table(book["未报送学校"], 7, expected)


def test_money_is_stored_as_exact_decimal_text(county_report):
    with zipfile.ZipFile(io.BytesIO(fund_report_xlsx(county_report))) as z:
        summary = z.read("xl/worksheets/sheet1.xml").decode()
    # county expected funds 172550.00 and utilisation 0.9750, as exact numbers
    assert '<c r="G7" s="5" t="n"><v>172550</v></c>' in summary
    assert re.search(r'<c r="M7" s="\d+" t="n"><v>0.975</v></c>', summary)


def test_english(county_report):
    book = load_workbook(io.BytesIO(fund_report_xlsx(county_report, lang="en")))
    assert book.sheetnames == ["Summary", "Schools", "Anomalies", "Not reported", "Audit"]
    assert book["Summary"]["A3"].value == "Generated: 2026-12-06 10:30:00 (Beijing time)"
    assert book["Anomalies"]["F7"].value == (
        "The closing balance of 1,700.00 yuan is above a tenth of the funds available, 1,150.00 yuan"
    )
    assert book["Anomalies"]["G7"].value.startswith("closing balance 1700.00 > 0.10 × (")


def test_formula_injection_is_neutralised(make_month, make_not_participating):
    names = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
    schools = [
        FundSchool(
            f"61052800{i:02d}",
            name,
            "primary",
            "=1+1镇" if i == 1 else "庄里镇",
            None,
            [
                make_month(
                    f"61052800{i:02d}",
                    "2026-09",
                    days=20,
                    eligible=100,
                    meals=1950,
                    opening="500.00",
                    received="10000.00",
                    food="9750.00",
                    closing="750.00",
                    sample=19,
                )
            ],
            None,
            ["2026-09", "2026-10"],
        )
        for i, name in enumerate(names, start=1)
    ]
    report = build_fund_report(
        "610528", "=cmd|' /C calc'!A0", "2026-09", "2026-10", schools, standard_rate=Decimal("5.00")
    )
    content = fund_report_xlsx(report)
    book = load_workbook(io.BytesIO(content))
    school_names = [book["学校明细"].cell(row=r, column=2) for r in range(7, 7 + len(names))]
    # (XML turns a bare CR into LF when the file is read; the guard is what matters)
    assert [c.value for c in school_names] == ["'" + n.replace("\r", "\n") for n in names]
    assert all(c.data_type == "s" for c in school_names)
    assert book["学校明细"]["D7"].value == "'=1+1镇"
    assert book["汇总"]["A1"].value == "'=cmd|' /C calc'!A0营养餐资金报告"
    assert book["汇总"]["B7"].value == "'=cmd|' /C calc'!A0"
    assert book["异常清单"]["B7"].value == "'" + names[0]
    assert book["未报送学校"]["B7"].value == "'" + names[0]
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sheets and not any(re.search(r"<f[ >]", xml) for xml in sheets)  # no formula anywhere


def test_more_than_15_digits_stay_exact_as_text():
    # A report caps money at 12 integer digits, but a sum over a county could (in theory) pass 15 significant
    # digits, which a float cell would round: such a figure is written as its exact string instead.
    from openpyxl import Workbook

    from district.nutrition.xlsx import put_cell

    ws = Workbook(write_only=True).create_sheet()
    big = put_cell(ws, "12345678901234.56", "money")  # 16 significant digits
    assert (big.value, big.data_type) == ("12345678901234.56", "s")
    ok = put_cell(ws, "1234567890123.45", "money")  # 15: exact as a number
    assert ok.value == Decimal("1234567890123.45") and ok.number_format == MONEY
