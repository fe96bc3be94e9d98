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
    """The pages' own words are all Chinese, the explanation of a score too (issue 17: its sentence, formula and
    figures come from the one catalog, ``district.scoring.explain_text``). Data is left as it is: the rubric's
    version name."""
    submit(session, "6105280001", "2026-09", dt.datetime(2026, 10, 3, tzinfo=dt.UTC))
    submit(session, "6105280002", "2026-09", dt.datetime(2026, 10, 9, tzinfo=dt.UTC), nutrition__other_spend="9.00")
    sign_in(client, "admin")
    pages = ["/counties/610528/?period=2026-09", "/counties/610528/ranking", "/counties/610528/fund",
             "/counties/610528/approval?period=2026-09", "/schools/6105280001/", "/schools/6105280001/inspection",
             "/account/tokens", "/schools/6105280001/explain?from=2026-09&to=2026-09",
             "/schools/6105280002/explain?from=2026-09&to=2026-09"]  # fmt: skip
    allowed = {"PDF", "API", "SHA", "Excel", "xlsx", "Bearer", "Authorization", "English", "default"}
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        body = html.split("<body", 1)[1].split(">", 1)[1]
        body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", body, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", body)
        text = re.sub(r"\b(?=[0-9a-f-]*\d)[0-9a-f-]{8,}\b", " ", text)  # hashes and ids: data, e.g. "3facee1b…"
        words = {w for w in re.findall(r"[A-Za-z]{4,}", text) if w not in allowed}
        assert not words, (path, sorted(words)[:20])
        if "/explain" in path:  # numbers as people write them: no fraction of many digits, no ISO period
            assert "计算明细" in text and "得 " in text
            assert not re.search(r"\d+/\d{4,}|\d{7,}", text.replace(",", "")), path
            assert not re.search(r"\b\d{4}-\d{2}\b", text), path


def test_english_pages_are_english(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client)})
    html = client.get("/counties/610528/approval?period=2026-09").get_data(as_text=True)
    assert "Period approval" in html and "This period has never been locked." in html
    assert "报送审核" not in html


def test_english_explanations_are_english(client: Any, session: Any, users: Any) -> None:
    """The same catalog of explanations in English: each indicator's sentence, formula and figures (the school's
    name and the report's free text are data and stay as they are; none is in these cells)."""
    submit(session, "6105280002", "2026-09", dt.datetime(2026, 10, 9, tzinfo=dt.UTC), nutrition__other_spend="9.00")
    sign_in(client, "admin")
    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client)})
    html = client.get("/schools/6105280002/explain?from=2026-09&to=2026-09").get_data(as_text=True)
    cells = re.findall(r'<td class="desc">(.*?)</td>', html, flags=re.S)
    assert len(cells) >= 20
    for cell in cells:
        text = re.sub(r"<[^>]+>", " ", cell)
        assert "Calculation details" in text and ("points" in text or "does not apply" in text), text
        assert not re.search(r"[\u4e00-\u9fff]", text), text
    assert "Awaiting the bureau&#39;s inspection" in html and "Misuse of subsidy funds" in html
