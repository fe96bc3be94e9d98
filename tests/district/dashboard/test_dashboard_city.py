"""The city overview page (issue 17): a city_admin lands on it; the counties side by side with the figures of
the city overview API, each a link into its county; the city's 重大预警; plain Chinese, no codes on the face."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.district.dashboard.conftest import sign_in, submit
from tests.district.scoring.helpers_scoring_db import bearer

OCT3 = dt.datetime(2026, 10, 3, 2, 30, tzinfo=dt.UTC)


def _visible(html: str) -> str:
    body = html[html.index("<main") if "<main" in html else 0 :]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_the_city_admin_lands_on_the_city_overview(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-09", OCT3, food_safety__poisoning_incidents=1,
           nutrition__other_spend="1200.00", nutrition__closing_balance="3715.65", hazards=[])  # fmt: skip
    submit(session, "6105260001", "2026-09", OCT3, hazards=[])
    sign_in(client, "city")
    landing = client.get("/")
    assert landing.headers["Location"] == "/cities/610500/"
    resp = client.get("/cities/610500/?period=2026-09")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    rows = re.findall(r'<tr data-county="(\d+)">\s*<td><a href="([^"]+)">([^<]+)</a>', html)
    assert rows == [
        ("610526", "/counties/610526/?period=2026-09", "蒲城县"),
        ("610528", "/counties/610528/?period=2026-09", "富平县"),
    ]  # 金台区 is another city's
    api = client.get("/api/v1/cities/610500/overview?period=2026-09",
                     headers=bearer(session, "city_admin", "610500", "city-api")).json  # fmt: skip
    fuping = html[html.index('<tr data-county="610528">') :]
    cells = re.findall(r'<td class="num">(?:<span class="late">)?([^<]+)<', fuping[: fuping.index("</tr>")])
    line = api["counties"][1]
    assert cells == [
        str(line["expected"]),
        str(line["reported"]),
        str(line["on_time"]),
        "50.0%",
        "50.0%",
        str(line["veto_schools"]),
        str(line["overdue_major_hazards"]),
        str(line["fund_anomalies"]),
    ]
    assert line["veto_schools"] == 1
    band = html[html.index('id="alerts"') : html.index('id="counties"')]
    assert re.findall(r'data-kind="(\w+)"', band) == ["veto", "misuse"]
    assert "富平县" in band and 'href="/schools/6105280001/"' in band
    visible = _visible(html)
    assert not re.search(r"\b6105\d{2}\b|\b6105\d{6}\b", visible), "codes on the face"
    assert not re.search(r"veto|misuse|overdue_major_hazard", visible)


def test_scope_of_the_city_page(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "viewer")  # a county's own user: their county alone
    html = client.get("/cities/610500/").get_data(as_text=True)
    assert re.findall(r'<tr data-county="(\d+)">', html) == ["610528"]
    assert client.get("/cities/610300/").status_code == 404
    other = client.application.test_client()
    sign_in(other, "city")
    assert other.get("/cities/610300/").status_code == 404
    assert other.get("/cities/610500/?period=2026-13").status_code == 400
    school = client.application.test_client()
    sign_in(school, "school")
    assert school.get("/cities/610500/").status_code == 404
