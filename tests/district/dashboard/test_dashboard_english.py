"""English mode complete on the bureau's pages (issue 17 item 6): walking the main pages in English finds no
Chinese character outside the data — school, county, city and township names, people's names and what users
typed (hazard descriptions, comments)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.district.dashboard.conftest import page_csrf, sign_in, submit

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
HAZARD = {"ref": "YH-1", "found_on": "2026-09-02", "category": "wiring", "severity": "major",
          "description": "配电箱线路老化", "deadline": "2026-09-20", "rectified_on": None}  # fmt: skip


def visible_text(html: str) -> str:
    body = html.split("<body", 1)[1].split(">", 1)[1]
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", body, flags=re.S)
    body = re.sub(r'<form[^>]*class="lang-switch".*?</form>', "", body, flags=re.S)  # 中文 / English: both names
    body = re.sub(r"<option[^>]*>", " ", body)
    return re.sub(r"<[^>]+>", " ", body)


def data_words(session: Any) -> list[str]:
    """The names and texts that are data, longest first (so 庄里镇中心小学 goes before 庄里镇)."""
    from sqlalchemy import select

    from district.auth.models import User
    from district.registry.models import City, County, School, Township
    from district.reports.hazards import hazard_ledger

    words = set(session.scalars(select(School.name))) | set(session.scalars(select(Township.name)))
    words |= set(session.scalars(select(County.name))) | set(session.scalars(select(City.name)))
    words |= {u.display_name for u in session.scalars(select(User)) if u.display_name}
    words |= {e.description for e in hazard_ledger(session, county_code="610528")}  # the schools' own text
    return sorted(words, key=len, reverse=True)


def test_the_main_pages_in_english_show_no_chinese_but_data(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-09", dt.datetime(2026, 10, 3, tzinfo=dt.UTC), hazards=[HAZARD])
    submit(session, "6105280002", "2026-09", dt.datetime(2026, 10, 9, tzinfo=dt.UTC), nutrition__other_spend="9.00")
    sign_in(client, "admin")
    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client)})
    words = data_words(session)
    pages = ["/counties/610528/?period=2026-09", "/counties/610528/ranking?from=2026-09&to=2026-09",
             "/counties/610528/completeness?period=2026-09", "/counties/610528/hazards?status=all",
             "/counties/610528/fund?from=2026-09&to=2026-09", "/counties/610528/approval?period=2026-09",
             "/counties/610528/review?period=2026-09", "/schools/6105280001/?from=2026-09&to=2026-09",
             "/schools/6105280002/?from=2026-09&to=2026-09",
             "/schools/6105280001/explain?from=2026-09&to=2026-09", "/downloads", "/schools?q=庄里"]  # fmt: skip
    leftovers = {}
    for path in pages:
        resp = client.get(path)
        assert resp.status_code == 200, path
        text = visible_text(resp.get_data(as_text=True))
        for w in words:
            text = text.replace(w, " ")
        found = sorted(set(CJK.findall(text)))
        if found:
            leftovers[path] = found[:15]
    assert leftovers == {}


def test_the_city_overview_in_english_shows_no_chinese_but_data(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-10", dt.datetime(2026, 11, 3, tzinfo=dt.UTC), hazards=[HAZARD])
    submit(session, "6105280002", "2026-10", dt.datetime(2026, 11, 3, tzinfo=dt.UTC), nutrition__other_spend="9.00")
    sign_in(client, "city")
    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client)})
    resp = client.get("/cities/610500/?period=2026-10")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "misuse of subsidy funds" in html and "days overdue" in html  # the alerts, in English
    text = visible_text(html)
    for w in data_words(session):
        text = text.replace(w, " ")
    assert sorted(set(CJK.findall(text))) == []
