"""The 重大预警 band at the top of the county overview (issue 17): the alerts service's list, most serious first,
each school a link; and the ranking page lists a vetoed school unranked, after the ranked ones."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.district.dashboard.conftest import sign_in, submit

OCT3 = dt.datetime(2026, 10, 3, 2, 30, tzinfo=dt.UTC)  # before the deadline of 2026-09
MAJOR = {
    "ref": "YH-01", "found_on": "2026-09-02", "category": "fire", "severity": "major",
    "description": "消防通道堵塞", "deadline": "2026-09-10", "rectified_on": None,
}  # fmt: skip


def _band(resp: Any) -> str:
    html = resp.get_data(as_text=True)
    start = html.index('id="alerts"')
    assert start < html.index('id="completeness"'), "the band comes first"
    return html[start : html.index("</section>", start)]


def test_the_band_lists_the_alerts_most_serious_first(client: Any, session: Any, users: Any) -> None:
    submit(
        session, "6105280001", "2026-09", OCT3,
        food_safety__poisoning_incidents=1,
        nutrition__other_spend="1200.00", nutrition__closing_balance="3715.65",
        hazards=[MAJOR],
    )  # fmt: skip
    sign_in(client, "viewer")
    resp = client.get("/counties/610528/?period=2026-09")
    assert resp.status_code == 200
    band = _band(resp)
    assert re.findall(r'data-kind="(\w+)" data-school="(\d+)"', band) == [
        ("veto", "6105280001"),
        ("overdue_major_hazard", "6105280001"),
        ("misuse", "6105280001"),
    ]
    assert "重大预警" in band and "一票否决" in band and "挪用补助资金" in band
    assert band.count('href="/schools/6105280001/"') == 3
    assert "食物中毒事件 1 起" in band and "已逾期 20 天" in band and "1,200.00 元" in band


def test_a_quiet_period_says_so(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-09", OCT3, hazards=[])
    sign_in(client, "admin")
    band = _band(client.get("/counties/610528/?period=2026-09"))
    assert "本期没有一票否决、逾期未整改的重大隐患或挪用补助资金" in band and "data-kind" not in band


def test_the_ranking_page_lists_a_vetoed_school_unranked_after_the_ranked(
    client: Any, session: Any, users: Any
) -> None:
    submit(session, "6105280001", "2026-09", OCT3, food_safety__poisoning_incidents=1, hazards=[])
    submit(session, "6105280002", "2026-09", OCT3, hazards=[])
    sign_in(client, "admin")
    html = client.get("/counties/610528/ranking?from=2026-09&to=2026-09").get_data(as_text=True)
    rows = re.findall(r'<tr data-school="(\d+)">\s*<td class="num">([^<]*)</td>', html)
    assert [code for code, _rank in rows][:2] == ["6105280002", "6105280001"]
    assert dict(rows)["6105280001"] == "—" and dict(rows)["6105280002"] == "1"
    row = html[html.index('<tr data-school="6105280001">') :]
    row = row[: row.index("</tr>")]
    assert "不合格" in row and "一票否决" in row and re.search(r'class="score"[^>]*>\d+\.\d\d<', row)
