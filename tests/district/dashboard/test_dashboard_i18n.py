"""The message catalogs: every string of the pages has its Chinese translation, and the committed .mo files are
exactly their .po files compiled (so a checkout runs without a build step)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.district.dashboard.conftest import page_csrf, sign_in, submit


def test_catalogs_are_complete_and_compiled() -> None:
    from district.dashboard.catalogs import check

    assert check() == []


def test_no_english_words_left_on_the_chinese_pages(client: Any, session: Any, users: Any) -> None:
    """The pages' own words are all Chinese. Data is left as it is: the rubric's version name, and the scoring
    engine's formula notes and figure names (``td.inputs``, ``td.desc`` of the indicator rows)."""
    submit(session, "6105280001", "2026-09", dt.datetime(2026, 10, 3, tzinfo=dt.UTC))
    submit(session, "6105280002", "2026-09", dt.datetime(2026, 10, 9, tzinfo=dt.UTC), nutrition__other_spend="9.00")
    sign_in(client, "admin")
    pages = ["/counties/610528/?period=2026-09", "/counties/610528/ranking", "/counties/610528/fund",
             "/counties/610528/approval?period=2026-09", "/schools/6105280001/", "/schools/6105280001/inspection",
             "/account/tokens"]  # fmt: skip
    allowed = {"PDF", "API", "SHA", "Excel", "xlsx", "Bearer", "Authorization", "English", "default"}
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        body = html.split("<body", 1)[1].split(">", 1)[1]
        body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", body, flags=re.S)
        body = re.sub(r'<td class="(inputs|desc)">.*?</td>', "", body, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", body)
        text = re.sub(r"\b(?=[0-9a-f-]*\d)[0-9a-f-]{8,}\b", " ", text)  # hashes and ids: data, e.g. "3facee1b…"
        words = {w for w in re.findall(r"[A-Za-z]{4,}", text) if w not in allowed}
        assert not words, (path, sorted(words)[:20])


def test_english_pages_are_english(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client)})
    html = client.get("/counties/610528/approval?period=2026-09").get_data(as_text=True)
    assert "Period approval" in html and "This period has never been locked." in html
    assert "报送审核" not in html
