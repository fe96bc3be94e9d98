"""Search and exports (issue 17 item 4): ``GET /api/v1/schools?q=``, the /schools page and the header's search
box, and the xlsx/CSV of rankings, completeness, hazards and a period's raw reports, each read back with openpyxl
and compared row by row with the JSON of the same endpoint."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from district.auth.services import create_token
from district.exports import services
from tests.district.dashboard.conftest import sign_in, submit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _november(hub_clock: Any) -> None:
    """2026-11-20: the latest closed period is 2026-10."""
    hub_clock.set(datetime(2026, 11, 20, 2, 0, tzinfo=UTC), ticking=True)


@pytest.fixture()
def stored(session: Any, users: dict[str, Any]) -> None:
    """0001 reported 2026-09 and 2026-10, 0002 only 2026-09 (0004, opened in October, never): each report carries
    the example's two hazards (one major open since September, one rectified)."""
    submit(session, "6105280001", "2026-09", datetime(2026, 10, 3, 2, tzinfo=UTC))
    submit(session, "6105280002", "2026-09", datetime(2026, 10, 9, 2, tzinfo=UTC))
    submit(session, "6105280001", "2026-10", datetime(2026, 11, 4, 2, tzinfo=UTC))


def auth(session: Any, users: dict[str, Any], who: str = "viewer") -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(session, users[who], 't')}"}


def sheet_rows(body: bytes) -> tuple[Any, list[list[Any]]]:
    wb = load_workbook(io.BytesIO(body))
    ws = wb.worksheets[0]
    return wb, [list(r) for r in ws.iter_rows(values_only=True)]


def check_layout(wb: Any, ncols: int, nrows: int) -> None:
    """One table sheet (plus 审计信息): header frozen, autofilter over header and data, printable landscape fit to
    width with the header repeated; Chinese titles only (no field names on the face)."""
    assert wb.sheetnames[1:] == ["审计信息"]
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2"
    last = chr(ord("A") + ncols - 1) if ncols <= 26 else None
    if last:
        assert ws.auto_filter.ref == f"A1:{last}{nrows + 1}"
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$1"
    header = [c.value for c in ws[1]]
    assert all(re.search(r"[A-Za-z_]{3,}", h) is None for h in header), header


def num(value: Any) -> Any:
    return None if value is None else Decimal(str(value))


# ---------------------------------------------------------------- search


def test_search_finds_by_name_and_code_within_scope(client: Any, session: Any, users: dict[str, Any]) -> None:
    headers = auth(session, users)
    resp = client.get("/api/v1/schools?q=庄里", headers=headers)
    assert resp.status_code == 200
    assert resp.json["schools"] == [
        {
            "code": "6105280001",
            "name": "庄里镇中心小学",
            "county_code": "610528",
            "township": "庄里镇",
            "type": "primary",
        },
        {
            "code": "6105280002",
            "name": "庄里镇初级中学",
            "county_code": "610528",
            "township": "庄里镇",
            "type": "junior",
        },
    ]
    assert [s["code"] for s in client.get("/api/v1/schools?q= 0004 ", headers=headers).json["schools"]] == [
        "6105280004"
    ]
    # 蒲城县's school is outside a 富平县 viewer's scope, inside the city admin's
    assert client.get("/api/v1/schools?q=城关小学", headers=headers).json["schools"] == []
    city = client.get("/api/v1/schools?q=城关小学", headers=auth(session, users, "city")).json["schools"]
    assert [s["code"] for s in city] == ["6105260001"]
    # a school_viewer finds its own school only; a LIKE wildcard is a character, not a pattern
    own = client.get("/api/v1/schools?q=6105", headers=auth(session, users, "school")).json["schools"]
    assert [s["code"] for s in own] == ["6105280001"]
    assert client.get("/api/v1/schools?q=%25", headers=headers).json["schools"] == []


@pytest.mark.parametrize("q", ["", "   ", "x" * 51, "庄\x01", None])
def test_search_refuses_a_bad_query(client: Any, session: Any, users: dict[str, Any], q: str | None) -> None:
    url = "/api/v1/schools" if q is None else f"/api/v1/schools?q={quote(q)}"
    resp = client.get(url, headers=auth(session, users))
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "invalid_query"
    assert client.get("/api/v1/schools?q=庄里").status_code == 401


def test_search_page_and_header_box(client: Any, users: dict[str, Any]) -> None:
    sign_in(client, "viewer")
    overview = client.get("/counties/610528/").get_data(as_text=True)
    assert 'action="/schools"' in overview and 'name="q"' in overview
    page = client.get("/schools?q=庄里").get_data(as_text=True)
    assert 'href="/schools/6105280001/"' in page and "庄里镇初级中学" in page
    assert "没有找到匹配的学校" in client.get("/schools?q=不存在的学校").get_data(as_text=True)
    assert client.get("/schools?q=" + "x" * 51).status_code == 400
    assert client.get("/schools").status_code == 200


# ---------------------------------------------------------------- rankings and completeness


def test_ranking_xlsx_is_the_json(client: Any, session: Any, users: dict[str, Any], stored: None) -> None:
    headers = auth(session, users)
    data = client.get("/api/v1/counties/610528/rankings?year=2026", headers=headers).json
    resp = client.get("/api/v1/counties/610528/rankings?year=2026&format=xlsx", headers=headers)
    assert resp.status_code == 200 and resp.mimetype == XLSX
    assert "filename*=UTF-8''610528_" in resp.headers["Content-Disposition"]
    wb, rows = sheet_rows(resp.data)
    assert rows[0] == [c.title for c in services.RANKING_COLUMNS]
    assert len(rows) == 1 + len(data["schools"]) and data["schools"]
    for row, school in zip(rows[1:], data["schools"], strict=True):
        assert row[0] == school["rank"]
        assert row[1:3] == [school["name"], school["township"]]
        assert num(row[4]) == num(school["score"])
        assert row[5] == (school["grade"] or None)
        assert num(row[7]) == num(school["coverage"])
        # the flags in words by the one catalog of explanations, as on the pages and the PDFs
        from district.scoring.explain_text import flag_text

        assert (row[8] or "") == "；".join(flag_text(f) for f in school["flags"])
        assert not re.search(r"missing:|veto:|awaiting_inspection", row[8] or "")
    assert any(row[8] for row in rows[1:])  # some school has a flag to show
    check_layout(wb, len(services.RANKING_COLUMNS), len(data["schools"]))
    audit = [list(r) for r in wb["审计信息"].iter_rows(values_only=True)]
    assert ["排名快照编号", str(data["snapshot_id"])] in audit
    assert client.get("/api/v1/counties/610528/rankings?format=pdf", headers=headers).json["error"]["code"] == (
        "invalid_format"
    )


def test_completeness_xlsx_lists_the_unreported(client: Any, session: Any, users: dict[str, Any], stored: None) -> None:
    headers = auth(session, users)
    data = client.get("/api/v1/counties/610528/completeness?period=2026-10", headers=headers).json
    assert [m["school_code"] for m in data["missing"]] == ["6105280002", "6105280004"]
    resp = client.get("/api/v1/counties/610528/completeness?period=2026-10&format=xlsx", headers=headers)
    wb, rows = sheet_rows(resp.data)
    assert rows == [["学校", "学区", "逾期天数"]] + [
        [m["name"], m["township"], m["days_late"]] for m in data["missing"]
    ]
    check_layout(wb, 3, 2)
    resp = client.get("/api/v1/counties/610528/completeness?period=2026-10&format=csv", headers=headers)
    assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_format"


# ---------------------------------------------------------------- hazards


@pytest.mark.parametrize(("status", "count"), [("open", 2), ("overdue", 2), ("all", 4)])
def test_hazards_json_and_xlsx(
    client: Any, session: Any, users: dict[str, Any], stored: None, status: str, count: int
) -> None:
    headers = auth(session, users)
    data = client.get(f"/api/v1/counties/610528/hazards?status={status}", headers=headers).json
    assert data["as_of"] == "2026-11-20" and len(data["hazards"]) == count
    major = data["hazards"][0]
    assert (major["ref"], major["severity"], major["open"], major["days_overdue"]) == (
        "H-2026-09-001",
        "major",
        True,
        51,
    )
    resp = client.get(f"/api/v1/counties/610528/hazards?status={status}&format=xlsx", headers=headers)
    assert resp.status_code == 200 and resp.mimetype == XLSX
    wb, rows = sheet_rows(resp.data)
    assert rows[0] == [c.title for c in services.HAZARD_COLUMNS]
    assert len(rows) == 1 + count
    for row, h in zip(rows[1:], data["hazards"], strict=True):
        assert row[:2] == [h["name"], h["township"]]
        assert row[3] == {"major": "重大", "general": "一般"}[h["severity"]]
        assert row[4:7] == [h["description"], h["found_on"], h["deadline"]]
        assert row[7] == h["rectified_on"]
        assert row[8] == services.hazard_state_zh(h) and row[9] == h["days_overdue"]
    check_layout(wb, len(services.HAZARD_COLUMNS), count)
    refs = [
        r[2] for r in wb["审计信息"].iter_rows(values_only=True) if r and r[0] in ("庄里镇中心小学", "庄里镇初级中学")
    ]
    assert refs == [h["ref"] for h in data["hazards"]]


def test_hazards_refuses_bad_arguments_and_other_counties(
    client: Any, session: Any, users: dict[str, Any], stored: None
) -> None:
    headers = auth(session, users)
    bad = client.get("/api/v1/counties/610528/hazards?status=closed", headers=headers)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_status"
    bad = client.get("/api/v1/counties/610528/hazards?format=pdf", headers=headers)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_format"
    for url in (
        "/api/v1/counties/610526/hazards",
        "/api/v1/counties/610526/hazards?format=xlsx",
        "/api/v1/counties/610526/reports?period=2026-09&format=xlsx",
        "/api/v1/counties/610526/rankings?format=xlsx",
        "/api/v1/counties/610526/completeness?period=2026-09&format=xlsx",
        "/api/v1/counties/999999/reports",
    ):
        assert client.get(url, headers=headers).status_code == 404, url
    school = auth(session, users, "school")
    assert client.get("/api/v1/counties/610528/hazards", headers=school).status_code == 404
    assert client.get("/api/v1/counties/610528/hazards").status_code == 401


# ---------------------------------------------------------------- a period's raw reports


def test_period_reports_json_xlsx_csv(client: Any, session: Any, users: dict[str, Any], stored: None) -> None:
    headers = auth(session, users)
    data = client.get("/api/v1/counties/610528/reports?period=2026-09", headers=headers).json
    assert [r["school_code"] for r in data["reports"]] == ["6105280001", "6105280002"]
    fields = services.report_fields()
    titles = [f["title"] for f in data["fields"]]
    assert titles == [t for _p, _f, t in fields] and "营养改善计划·实际供餐人次（人次）" in titles
    resp = client.get("/api/v1/counties/610528/reports?period=2026-09&format=xlsx", headers=headers)
    assert resp.status_code == 200 and resp.mimetype == XLSX
    wb, rows = sheet_rows(resp.data)
    columns = services.report_columns()
    assert rows[0] == [c.title for c in columns] and rows[0][:2] == ["学校", "学区"]
    assert len(rows) == 1 + len(data["reports"]) + 1  # the totals row
    for row, r in zip(rows[1:-1], data["reports"], strict=True):
        assert row[:2] == [r["name"], r["township"]]
        for cell, (path, f, _t) in zip(row[2:], fields, strict=False):
            expected = services.report_value(r["content"], path, f)
            if f.kind in ("money", "quantity"):
                assert num(cell) == num(expected), path
            else:
                assert cell == expected, path
    totals = rows[-1]
    assert totals[0] == "合计"
    i = titles.index("在校人数·在校学生数（人）") + 2
    assert totals[i] == sum(r["content"]["enrollment"]["students"] for r in data["reports"])
    i = titles.index("营养改善计划·本月到账补助资金（元）") + 2
    assert num(totals[i]) == sum(Decimal(r["content"]["nutrition"]["funds_received"]) for r in data["reports"])
    assert totals[titles.index("营养改善计划·本月供餐天数（天）") + 2] is None  # days do not add up
    ws = wb.worksheets[0]
    assert ws.auto_filter.ref.endswith(str(1 + len(data["reports"])))  # the filter leaves the totals out
    assert ws.cell(row=2, column=i + 1).number_format == "#,##0.00"
    audit = [list(r) for r in wb["审计信息"].iter_rows(values_only=True)]
    assert [r[2] for r in audit if r and r[0] in ("庄里镇中心小学", "庄里镇初级中学")] == [
        r["report_id"] for r in data["reports"]
    ]
    resp = client.get("/api/v1/counties/610528/reports?period=2026-09&format=csv", headers=headers)
    assert resp.mimetype == "text/csv" and resp.data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert table[0] == rows[0] and [t[:2] for t in table[1:]] == [[r["name"], r["township"]] for r in data["reports"]]
    # the default period is the latest closed one (2026-10)
    assert client.get("/api/v1/counties/610528/reports", headers=headers).json["period"] == "2026-10"
    for bad, code in (("period=2026-13", "invalid_period"), ("period=2027-01", "invalid_period"),
                      ("format=pdf", "invalid_format")):  # fmt: skip
        resp = client.get(f"/api/v1/counties/610528/reports?{bad}", headers=headers)
        assert resp.status_code == 400 and resp.json["error"]["code"] == code, bad


def test_pages_link_their_exports(client: Any, users: dict[str, Any], stored: None) -> None:
    """The overview (unreported schools, overdue hazards) and the ranking link the exports of their rows; a
    signed-in session downloads them."""
    sign_in(client, "viewer")
    overview = client.get("/counties/610528/").get_data(as_text=True)
    ranking = client.get("/counties/610528/ranking?from=2026-01&to=2026-10").get_data(as_text=True)
    links = re.findall(r'href="(/api/v1/[^"]+)"', overview + ranking)
    wanted = [
        "/api/v1/counties/610528/completeness?period=2026-10&amp;format=xlsx",
        "/api/v1/counties/610528/hazards?status=overdue&amp;format=xlsx",
        "/api/v1/counties/610528/rankings?from=2026-09&amp;to=2026-10&amp;format=xlsx",  # clipped to the start
    ]
    # the period's raw reports: asked for as a job (the download centre; test_reports_export_job.py)
    assert 'data-url="/api/v1/counties/610528/reports/export"' in overview
    for href in wanted:
        assert href in links, (href, [link for link in links if "rankings" in link])
        resp = client.get(href.replace("&amp;", "&"))
        assert resp.status_code == 200 and resp.mimetype == XLSX, href
