"""Read-back helpers shared by the fund report's API and CLI tests: the xlsx cell by cell against the JSON,
the PDF through poppler's command-line tools. Labels are written out here, not read from the code under test."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

TYPE_ZH = {"primary": "小学", "junior": "初中", "teaching_point": "教学点"}
MODE_ZH = {"canteen": "学校食堂供餐", "enterprise": "企业(单位)供餐", "mixed": "混合供餐"}
ANOMALY_ZH = {
    "BALANCE_MISMATCH": "账目不平",
    "MISUSE": "挪用补助资金",
    "CARRY_OVER_MISMATCH": "结转不符",
    "MEALS_EXCEED_ENTITLEMENT": "供餐人次超标",
    "SPEND_EXCEEDS_MEALS": "支出超过供餐应支",
    "UNDERSPEND": "餐标不足",
    "HIGH_BALANCE": "资金沉淀",
    "NONSTANDARD_RATE": "补助标准不符",
    "ACCOMPANY_GAP": "陪餐不足",
    "SAMPLE_GAP": "留样不足",
}
SUMS = [
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
]


def _cell_is(cell: Any, value: Any, kind: str) -> None:
    where = f"{cell.parent.title}!{cell.coordinate}"
    if kind == "blank":
        assert cell.value is None, where
    elif kind == "text":
        shown = "'" + value if value.startswith(("=", "+", "-", "@")) else value  # formula-injection guard
        assert cell.data_type == "s" and cell.value == shown, (where, cell.value, shown)
    elif kind == "count":
        assert isinstance(cell.value, int) and cell.value == value, (where, cell.value, value)
    else:  # money or ratio: a number holding the JSON figure exactly, with the ¥ or percentage format
        assert isinstance(cell.value, int | float), where
        assert Decimal(repr(cell.value)) == Decimal(value), (where, cell.value, value)
        assert cell.number_format == ('"¥"#,##0.00' if kind == "money" else "0.00%"), where


def _sums(d: dict[str, Any]) -> list[tuple[Any, str]]:
    return [("—", "text") if d[k] is None else (d[k], kind) for k, kind in SUMS]


def _t(*values: str) -> list[tuple[Any, str]]:
    return [(v, "text") for v in values]


def expected_sheets(data: dict[str, Any]) -> dict[str, list[list[tuple[Any, str]]]]:
    """Each sheet's rows from row 7 on, built from the JSON alone."""
    summary = [[*_t("全县合计", data["county_name"]), (data["county"]["schools"], "count"), *_sums(data["county"])]]
    summary += [[*_t("学区", t["township"]), (t["schools"], "count"), *_sums(t)] for t in data["townships"]]
    summary += [
        [*_t("供餐方式", MODE_ZH[m["supply_mode"]]), (m["schools"], "count"), *_sums(m)] for m in data["supply_modes"]
    ]
    summary.append([])
    summary.append(_t("异常", "件数"))
    summary += [[*_t(ANOMALY_ZH[code]), (n, "count")] for code, n in data["anomaly_counts"].items()]
    schools = [
        [
            *_t(
                r["school_code"], r["school_name"], TYPE_ZH[r["school_type"]], r["township"], MODE_ZH[r["supply_mode"]]
            ),
            *_t(", ".join(r["participating_periods"])),
            *_sums(r),
        ]
        for r in data["schools"]
    ]
    by_code = {r["school_code"]: r for r in data["schools"]}
    anomalies = [
        _t(
            a["school_code"],
            by_code[a["school_code"]]["school_name"],
            by_code[a["school_code"]]["township"],
            a["period"],
            ANOMALY_ZH[a["code"]],
            a["sentence"],
            a["message"].removeprefix(ANOMALY_ZH[a["code"]] + "："),  # the rule with its figures
        )
        for a in data["anomalies"]
    ]
    missing = [
        [
            *_t(s["school_code"], s["school_name"], TYPE_ZH[s["school_type"]], s["township"]),
            *_t(", ".join(s["missing_periods"])),
            (len(s["missing_periods"]), "count"),
        ]
        for s in data["non_reporting"]
    ]
    # 审计信息: the codes, figures, revision ids, standard, chain head and ISO time the face leaves out
    audit = [
        _t("行政区划代码", data["county_code"]),
        _t("报表标准", "houqin/monthly-report@1"),
        _t("数据链头", data.get("chain_head") or "—"),
        _t("生成时间（ISO 8601）", data["generated_at"]),
        _t("时区", "Asia/Shanghai"),
        [],
        _t("学校标识码", "月份", "异常代码", "异常", "触发数据"),
        *[
            _t(a["school_code"], a["period"], a["code"], ANOMALY_ZH[a["code"]],
               "; ".join(f"{k}={v}" for k, v in a["figures"].items()))
            for a in data["anomalies"]
        ],
        [],
        _t("学校标识码", "所用报表版本"),
        *[
            _t(r["school_code"], ", ".join(f"{p}: {rev}" for p, rev in r["revision_ids"].items()))
            for r in data["schools"]
        ],
    ]  # fmt: skip
    return {"汇总": summary, "学校明细": schools, "异常清单": anomalies, "未报送学校": missing, "审计信息": audit}


def check_workbook(body: bytes, data: dict[str, Any]) -> None:
    """Every cell of every sheet: the four header lines, then the table rows, and nothing else below."""
    book = load_workbook(io.BytesIO(body))
    sheets = expected_sheets(data)
    assert book.sheetnames == list(sheets)
    header = [
        f"{data['county_name']}营养餐资金报告",
        f"统计期间：{data['window_from']} 至 {data['window_to']}",
        f"生成时间：{data['generated_at'][:10]} {data['generated_at'][11:19]}（北京时间）",
        f"县定补助标准：{data['standard_rate']} 元/生/天",
    ]
    for ws in book.worksheets:
        rows = sheets[ws.title]
        assert [ws.cell(row=i, column=1).value for i in range(1, 5)] == header, ws.title
        assert all(ws.cell(row=i, column=c).value is None for i in range(1, 6) for c in range(2, ws.max_column + 1))
        assert ws.freeze_panes == "A7"
        width = max(len(r) for r in rows) if rows else ws.max_column
        assert ws.max_row == 6 + len(rows), ws.title
        for r, expected in enumerate(rows, start=7):
            for c in range(1, max(width, ws.max_column) + 1):
                value, kind = expected[c - 1] if c <= len(expected) else (None, "blank")
                _cell_is(ws.cell(row=r, column=c), value, kind)
    # no formula anywhere in the package
    with zipfile.ZipFile(io.BytesIO(body)) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in package.read(name) and b"<f " not in package.read(name), name


def pdftotext(pdf: bytes, tmp_path: Path, mode: str = "-layout") -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", mode, "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def shown(value: Any, kind: str) -> str:
    """How the PDF prints a JSON figure: thousands separators; ratios as percentages with 2 decimals."""
    if value is None:
        return "—"
    if kind == "count":
        return f"{value:,}"
    if kind == "ratio":
        return f"{Decimal(value) * 100:,.2f}%"
    return f"{Decimal(value):,.2f}"


def figures_pattern(d: dict[str, Any]) -> str:
    return r"\s+".join(re.escape(shown(d[k], kind)) for k, kind in SUMS)


def pdfinfo(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "info.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True, timeout=60).stdout
