"""GET /api/v1/counties/<county>/nutrition as JSON, xlsx and PDF: one report, the same figures in all three.

The xlsx is read back with openpyxl and every cell compared to the JSON; the PDF is read back with poppler's
``pdftotext``. The JSON's figures themselves are checked by hand in test_nutrition_services.py.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from district.auth.services import create_token, create_user
from district.nutrition import services
from district.printing.templating import period_zh
from tests.district.nutrition.fund_checks import (
    ANOMALY_ZH,
    MODE_ZH,
    check_workbook,
    figures_pattern,
    pdfinfo,
    pdftotext,
)
from tests.district.test_glossary import assert_no_noise, split_audit

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
URL = "/api/v1/counties/610528/nutrition?from=2026-09&to=2026-11"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NAME_UTF8 = "610528_富平县_营养餐资金报表_2026-09_2026-11"
NAME_ASCII = "610528_nutrition_fund_report_2026-09_2026-11"

EVIL_NAME = '=HYPERLINK("http://x.cn","<b>点</b>")'


@pytest.fixture(autouse=True)
def _closed_november(hub_clock: Any) -> None:
    """The hub's clock after 2026-11's deadline (5 December): the window 2026-09..2026-11 is closed, so the
    reporting calendar gives it whole (``NOW`` stays the report's generation time)."""
    hub_clock.set(datetime(2026, 12, 7, 2, 0, tzinfo=UTC), ticking=True)


def bearer(session: Any, role: str, scope: str, name: str) -> dict[str, str]:
    user = create_user(session, name, "correct horse battery", role, scope=scope)
    return {"Authorization": f"Bearer {create_token(session, user, 't')}"}


@pytest.fixture
def viewer(session: Any, fund_county: Any) -> dict[str, str]:
    return bearer(session, "county_viewer", "610528", "viewer")


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "utcnow", lambda: NOW)


@pytest.fixture
def data(client: Any, viewer: dict[str, str], fund_scenario: Any, fixed_now: None) -> dict[str, Any]:
    resp = client.get(URL, headers=viewer)
    assert resp.status_code == 200, resp.json
    assert resp.mimetype == "application/json"
    return resp.json  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------ JSON


def test_json_is_the_services_report(data: dict[str, Any], session: Any) -> None:
    assert data == services.fund_report(session, "610528", "2026-09", "2026-11", now=NOW).to_dict()
    assert data["county"]["funds_received"] == "142550.00"  # by hand in test_nutrition_services.py


def test_english_messages(client: Any, viewer: dict[str, str], fund_scenario: Any) -> None:
    resp = client.get(URL, headers={**viewer, "Accept-Language": "en"})
    carry = next(a for a in resp.json["anomalies"] if a["code"] == "CARRY_OVER_MISMATCH")
    assert carry["message"].startswith("Carry-over mismatch: opening balance 100.00")


# ------------------------------------------------------------------------------------------------ xlsx


def test_xlsx_every_cell_is_the_json(client: Any, viewer: dict[str, str], data: dict[str, Any]) -> None:
    resp = client.get(URL + "&format=xlsx", headers=viewer)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == XLSX
    assert resp.headers["Content-Disposition"] == (
        f"attachment; filename=\"{NAME_ASCII}.xlsx\"; filename*=UTF-8''{quote(NAME_UTF8 + '.xlsx', safe='')}"
    )
    assert resp.headers["Cache-Control"] == "private, no-store"
    check_workbook(resp.data, data)
    book = load_workbook(io.BytesIO(resp.data))
    assert book["汇总"]["I7"].value == 140850  # 食材支出 of the county, by hand
    assert book["汇总"]["I7"].number_format == '"¥"#,##0.00'


def test_xlsx_and_pdf_export_a_formula_name_as_text(
    client: Any, viewer: dict[str, str], session: Any, fund_scenario: Any, fixed_now: None, tmp_path: Path
) -> None:
    from district.nutrition.pdf import fund_report_html
    from district.registry.models import School

    school = session.get(School, "6105280002")
    school.name = EVIL_NAME
    session.flush()
    data = client.get(URL, headers=viewer).json
    resp = client.get(URL + "&format=xlsx", headers=viewer)
    check_workbook(resp.data, data)  # the name cells hold "'=HYPERLINK(…)" as text
    ws = load_workbook(io.BytesIO(resp.data))["学校明细"]
    assert ws["B8"].value == "'" + EVIL_NAME and ws["B8"].data_type == "s"

    html = fund_report_html(services.fund_report(session, "610528", "2026-09", "2026-11", now=NOW))
    assert "<b>点</b>" not in html
    assert "=HYPERLINK(&#34;http://x.cn&#34;,&#34;&lt;b&gt;点&lt;/b&gt;&#34;)" in html
    pdf = client.get(URL + "&format=pdf", headers=viewer).data
    text = pdftotext(pdf, tmp_path, "-raw")
    assert EVIL_NAME in re.sub(r"\s+", "", text)  # shown as typed, tags and all
    assert b"/URI" not in pdf  # and no link was made of it


# ------------------------------------------------------------------------------------------------- PDF


def test_pdf_shows_the_same_figures(client: Any, viewer: dict[str, str], data: dict[str, Any], tmp_path: Path) -> None:
    resp = client.get(URL + "&format=pdf", headers=viewer)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"] == (
        f"attachment; filename=\"{NAME_ASCII}.pdf\"; filename*=UTF-8''{quote(NAME_UTF8 + '.pdf', safe='')}"
    )
    pdf = resp.data
    assert pdf.startswith(b"%PDF-")
    text = pdftotext(pdf, tmp_path)

    # the county totals, exactly as hand-computed (test_nutrition_services.py), with thousands separators
    figures = ["4", "9", "188", "28,350", "142,550.00", "142,550.00", "140,850.00", "500.00", "700.00", "2,000.00"]
    total = r"\s+".join(["全县合计", *map(re.escape, [*figures, "98.32%", "4.97", "9"])])
    assert len(re.findall(total, text)) == 3  # the summary, the township and the supply-mode tables
    assert re.search(figures_pattern(data["county"]), text)
    assert re.search(r"全县合计（4 所）\s+" + figures_pattern(data["county"]), text)  # under the school rows
    for row in data["schools"]:
        assert re.search(re.escape(row["school_code"]) + r"\s.*?" + figures_pattern(row), text), row["school_code"]
    for sub in data["townships"]:
        assert re.search(
            re.escape(sub["township"]) + r"\s+" + str(sub["schools"]) + r"\s+" + figures_pattern(sub), text
        )
    for sub in data["supply_modes"]:
        label = re.escape(MODE_ZH[sub["supply_mode"]])
        assert re.search(label + r"\s+" + str(sub["schools"]) + r"\s+" + figures_pattern(sub), text)
    for school in data["non_reporting"]:
        assert re.search(re.escape(school["school_code"]) + r"\s+" + re.escape(school["school_name"]), text)
        assert "、".join(period_zh(p) for p in school["missing_periods"]) in re.sub(r"\s+", "", text)
    flat = re.sub(r"\s+", "", text)
    for a in data["anomalies"]:  # the plain sentence, then the rule with its figures (计算：…)
        rule = a["message"].removeprefix(ANOMALY_ZH[a["code"]] + "：")
        assert re.sub(r"\s+", "", a["sentence"] + "计算：" + rule) in flat, a["sentence"]

    # header: county, window, generation time in Beijing time (02:00 UTC), the rate; footer page numbers
    face, appendix = split_audit(text)
    header = ("富平县营养餐资金报告", "县（区）：富平县", "2026年9月—2026年11月", "2026-11-21 10:00", "5.00 元/生/天")
    for part in header:
        assert part in face, part
    # codes, the standard, the chain head and the ISO time only in the 审计信息 appendix on the last page
    assert_no_noise(face)
    flat_appendix = re.sub(r"\s+", "", appendix)
    for part in ("610528", "houqin/monthly-report@1", "2026-11-21T10:00:00+08:00", "Asia/Shanghai"):
        assert part in flat_appendix, part
    for a in data["anomalies"]:
        assert a["code"] in flat_appendix
        assert a["code"] not in face
    raw = pdftotext(pdf, tmp_path, "-raw")
    pages = int(re.search(r"^Pages:\s+(\d+)$", pdfinfo(pdf, tmp_path), re.MULTILINE)[1])  # type: ignore[index]
    for page in range(1, pages + 1):
        assert f"第 {page} 页 共 {pages} 页" in raw
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts \(A4\)", pdfinfo(pdf, tmp_path), re.MULTILINE)
    assert size and float(size[1]) > float(size[2])  # A4 landscape


# ------------------------------------------------------------------------------------- auth, scope, window


def test_no_credentials_is_401(client: Any, fund_county: Any) -> None:
    resp = client.get(URL)
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthenticated"
    assert client.get(URL + "&format=xlsx").status_code == 401


def test_out_of_scope_is_404_before_any_other_check(client: Any, session: Any, fund_county: Any) -> None:
    from district.registry.models import County

    session.add(County(code="610526", city_code="610500", name="蒲城县"))
    session.flush()
    other = bearer(session, "county_admin", "610526", "other")
    school = bearer(session, "school_viewer", "6105280001", "school")
    city = bearer(session, "city_admin", "610500", "city")
    for headers in (other, school):
        for url in (URL, URL + "&format=pdf", "/api/v1/counties/610528/nutrition?from=bad"):
            resp = client.get(url, headers=headers)
            assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found", url
            assert "富平县" not in resp.get_data(as_text=True)
    assert client.get("/api/v1/counties/619999/nutrition?from=2026-09&to=2026-11", headers=city).status_code == 404
    assert client.get(URL, headers=city).status_code == 200


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=2026-9&to=2026-11", "invalid_period"),
        ("from=2026-09&to=2026-13", "invalid_period"),
        ("from=2026-11&to=2026-09", "invalid_window"),
        ("from=2023-10&to=2026-10", "window_too_long"),
        ("from=2027-01&to=2027-03", "empty_window"),  # not closed yet
        ("from=9999-12&to=9999-12", "empty_window"),
        ("year=2026&from=2026-09&to=2026-10", "invalid_window"),
        ("from=2026-09&to=2026-11&format=csv", "invalid_format"),
    ],
)
def test_bad_window_or_format_is_400(client: Any, viewer: dict[str, str], query: str, code: str) -> None:
    resp = client.get(f"/api/v1/counties/610528/nutrition?{query}", headers=viewer)
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == code
    assert resp.json["error"]["message"]


def test_a_pdf_past_its_bound_is_503(
    app: Any, client: Any, viewer: dict[str, str], fund_scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "NUTRITION_PDF_TIMEOUT_S", 0.001)
    resp = client.get(URL + "&format=pdf", headers=viewer)
    assert resp.status_code == 503
    assert resp.json["error"]["code"] == "pdf_timeout"


def test_the_fund_report_pins_the_chain_head_it_was_built_on(session: Any, county: Any) -> None:
    """docs/AUDIT.md: a printed fund report shows the county's chain-head digest, the same the verifier records."""
    from district.integrity.heads import county_heads
    from district.nutrition.services import fund_report

    report = fund_report(session, "610528", "2026-09", "2026-09")
    assert report.chain_head == county_heads(session, "610528").digest
    assert report.to_dict()["chain_head"] == report.chain_head
