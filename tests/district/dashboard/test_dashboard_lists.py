"""The school lists with one filter and sort (issue 17 item 6): 报送情况 (completeness by township and the
unreported schools), 隐患清单, the fund table with its 学区 column; their exports keep the filters; townships in
the county's order."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.district.dashboard.conftest import sign_in, submit

AT = dt.datetime(2026, 11, 3, 2, 0, tzinfo=dt.UTC)


def rows_of(html: str, table_id: str) -> list[str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr[^>]*data-school="(\d+)"', body)


def test_completeness_page_filters_by_township_and_type_and_counts_only_those(
    client: Any, session: Any, users: Any
) -> None:
    submit(session, "6105280001", "2026-10", AT)
    sign_in(client, "admin")
    page = client.get("/counties/610528/completeness?period=2026-10")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # 6105280002 (庄里镇, junior) and 6105280004 (城关街道, opened 2026-10) have not reported
    assert rows_of(html, "missing-table") == ["6105280004", "6105280002"]  # 城关街道 (cheng) before 庄里镇 (zhuang)
    junior = client.get("/counties/610528/completeness?period=2026-10&type=junior").get_data(as_text=True)
    assert rows_of(junior, "missing-table") == ["6105280002"]
    assert '<span class="kpi-value">1</span>' in junior  # one junior school expected: the service counted it alone
    town = client.get("/counties/610528/completeness?period=2026-10&township=庄里镇").get_data(as_text=True)
    assert rows_of(town, "missing-table") == ["6105280002"]
    assert "50.0%" in town  # 庄里镇: 1 of 2 reported
    by_code = client.get("/counties/610528/completeness?period=2026-10&sort=name&order=desc").get_data(as_text=True)
    # names by pinyin too: 庄里镇初级中学 (zhuang) after 城关新区小学 (cheng); descending
    assert rows_of(by_code, "missing-table") == ["6105280002", "6105280004"]
    bad = client.get("/counties/610528/completeness?period=2026-13&sort=nonsense")
    assert bad.status_code == 400


def test_hazards_page_and_its_export_keep_the_filters(client: Any, session: Any, users: Any) -> None:
    hazard = {"ref": "YH-1", "found_on": "2026-10-02", "category": "wiring", "severity": "major",
              "description": "配电箱线路老化", "deadline": "2026-10-20", "rectified_on": None}  # fmt: skip
    submit(session, "6105280001", "2026-10", AT, hazards=[hazard])
    submit(session, "6105280002", "2026-10", AT, hazards=[{**hazard, "ref": "YH-2", "severity": "general"}])
    sign_in(client, "admin")
    html = client.get("/counties/610528/hazards").get_data(as_text=True)
    assert rows_of(html, "hazards-table") == ["6105280001", "6105280002"]  # most overdue first, then the order
    by_severity = client.get("/counties/610528/hazards?sort=severity&order=desc").get_data(as_text=True)
    assert rows_of(by_severity, "hazards-table") == ["6105280002", "6105280001"]
    junior = client.get("/counties/610528/hazards?type=junior").get_data(as_text=True)
    assert rows_of(junior, "hazards-table") == ["6105280002"]
    link = re.search(r'href="(/api/v1/counties/610528/hazards\?[^"]+)"', junior).group(1).replace("&amp;", "&")
    assert "type=junior" in link and "format=xlsx" in link
    exported = client.get(link.replace("format=xlsx", "format=json")).get_json()
    assert [h["school_code"] for h in exported["hazards"]] == ["6105280002"]
    assert client.get("/counties/610528/hazards?status=bogus").status_code == 200  # an unknown status: overdue


def test_fund_table_shows_the_township_column_and_sorts_by_it(client: Any, session: Any, users: Any) -> None:
    from district.registry.services import set_township_order

    for code in ("6105280001", "6105280002", "6105280004"):
        submit(session, code, "2026-10", AT)
    sign_in(client, "admin")
    html = client.get("/counties/610528/fund?from=2026-10&to=2026-10&sort=township").get_data(as_text=True)
    assert rows_of(html, "fund-schools") == ["6105280004", "6105280001", "6105280002"]
    assert "<td>城关街道</td>" in html.split('id="fund-schools"', 1)[1]
    set_township_order(session, "610528", ["庄里镇", "城关街道"], actor="test")
    html = client.get("/counties/610528/fund?from=2026-10&to=2026-10&sort=township").get_data(as_text=True)
    assert rows_of(html, "fund-schools") == ["6105280001", "6105280002", "6105280004"]
    primary = client.get("/counties/610528/fund?from=2026-10&to=2026-10&type=primary").get_data(as_text=True)
    assert rows_of(primary, "fund-schools") == ["6105280001", "6105280004"]


def test_a_township_admin_sees_only_its_township_in_the_lists(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-10", AT)
    sign_in(client, "township")
    html = client.get("/counties/610528/completeness?period=2026-10").get_data(as_text=True)
    assert rows_of(html, "missing-table") == ["6105280002"]


def test_the_completeness_api_and_its_xlsx_keep_the_pages_filters(client: Any, session: Any, users: Any) -> None:
    import io

    import openpyxl

    submit(session, "6105280001", "2026-10", AT)
    sign_in(client, "admin")
    html = client.get("/counties/610528/completeness?period=2026-10&type=junior").get_data(as_text=True)
    link = re.search(r'href="(/api/v1/counties/610528/completeness\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "type=junior" in link and "format=xlsx" in link
    data = client.get(link.replace("format=xlsx", "format=json")).get_json()
    assert (data["expected"], data["reported"]) == (1, 0)
    assert [m["school_code"] for m in data["missing"]] == ["6105280002"]
    book = openpyxl.load_workbook(io.BytesIO(client.get(link).data))
    names = [row[0] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True) if row[0]]
    assert names == ["庄里镇初级中学"]
    town = client.get("/api/v1/counties/610528/completeness?period=2026-10&township=城关街道").get_json()
    assert [t["township"] for t in town["by_township"]] == ["城关街道"] and town["expected"] == 1


def test_township_selects_follow_the_countys_order(client: Any, session: Any, users: Any) -> None:
    from district.registry.services import set_township_order

    sign_in(client, "admin")

    def options(path: str) -> list[str]:
        html = client.get(path).get_data(as_text=True)
        select = html.split('<select name="township">', 1)[1].split("</select>", 1)[0]
        return re.findall(r'<option value="([^"]+)"', select)

    for path in ("/counties/610528/ranking", "/counties/610528/completeness", "/counties/610528/hazards"):
        assert options(path) == ["城关街道", "庄里镇"], path  # pinyin: cheng before zhuang
    set_township_order(session, "610528", ["庄里镇", "城关街道"], actor="test")
    for path in ("/counties/610528/ranking", "/counties/610528/completeness", "/counties/610528/fund"):
        assert options(path) == ["庄里镇", "城关街道"], path


def test_the_ranking_export_keeps_the_pages_filters(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-10", AT)
    submit(session, "6105280002", "2026-10", AT)
    sign_in(client, "admin")
    html = client.get("/counties/610528/ranking?from=2026-10&to=2026-10&type=junior").get_data(as_text=True)
    link = re.search(r'href="(/api/v1/counties/610528/rankings\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "type=junior" in link and "format=xlsx" in link and "from=2026-10" in link and "township" not in link
    rows = client.get(link.replace("format=xlsx", "format=json")).get_json()["schools"]
    assert [r["school_code"] for r in rows] == ["6105280002"]
    everyone = client.get("/api/v1/counties/610528/rankings?from=2026-10&to=2026-10").get_json()["schools"]
    rank = {r["school_code"]: r["rank"] for r in everyone}
    assert rows[0]["rank"] == rank["6105280002"]  # the county's rank, not a rank among the filtered rows
