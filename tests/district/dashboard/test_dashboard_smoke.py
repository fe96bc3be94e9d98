"""Every page renders for an in-scope county admin and shows what the two stored revisions of 6105280001 for
2026-09 say (the correction's 10.00 元 other spend, the missing school, the school's registry entry); the
details of each page are in the other modules."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from tests.district.dashboard.conftest import sign_in, submit

UTC = dt.UTC

#: path → (the path it lands on, what the page must show: plain Chinese, as the reader sees it)
PAGES: dict[str, tuple[str, list[str]]] = {
    "/": ("/counties/610528/", ["富平县 · 概览", "2026年10月"]),  # the admin's own county, the latest period
    "/counties/610528/?period=2026-09": (
        "/counties/610528/",
        [
            "富平县 · 概览",
            "2026年9月",
            "营养餐补助资金用于食材以外的支出 10.00 元",  # the correction (revision 2) is the one counted
            "6105280002 庄里镇初级中学",  # the one school of 2026-09 still missing
            "50.0% 完整率",
        ],
    ),
    "/counties/610528/ranking": ("/counties/610528/ranking", ["富平县 · 评比排名", "共 3 所学校", "庄里镇中心小学"]),
    "/counties/610528/fund": (
        "/counties/610528/fund",
        ["富平县 · 营养餐资金报表", "补助标准：每生每天 5.00 元", "65,305.35", "4,915.65"],
    ),
    "/counties/610528/approval?period=2026-09": (
        "/counties/610528/approval",
        ["富平县 · 报送审核", "已报送学校：1 所（应报送 2 所）", "挪用补助资金 1"],
    ),
    "/schools/6105280001/": ("/schools/6105280001/", ["庄里镇中心小学", "富平县 · 庄里镇 · 小学 · 寄宿制", "全县名次"]),
    "/schools/6105280001/inspection": ("/schools/6105280001/inspection", ["庄里镇中心小学 · 实地检查", "检查清单"]),
    "/account/tokens": ("/account/tokens", ["个人访问令牌", "您还没有访问令牌"]),
}


def page_text(resp: Any) -> str:
    """The page's main content as the reader sees it: tags, scripts and styles dropped, spaces collapsed."""
    body = resp.get_data(as_text=True)
    main = body[body.find("<main") :] if "<main" in body else body
    main = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", main)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main)))


def test_pages_render_and_show_the_stored_reports(client: Any, session: Any, users: dict[str, Any]) -> None:
    submit(session, "6105280001", "2026-09", dt.datetime(2026, 10, 3, tzinfo=UTC))
    submit(session, "6105280001", "2026-09", dt.datetime(2026, 10, 4, tzinfo=UTC), nutrition__other_spend="10.00")
    assert sign_in(client, "admin").status_code == 302
    for path, (landing, shown) in PAGES.items():
        resp = client.get(path, follow_redirects=True)
        assert resp.status_code == 200, (path, resp.status_code, resp.get_data(as_text=True)[:2000])
        assert resp.request.path == landing, (path, resp.request.path)
        text = page_text(resp)
        missing = [s for s in shown if s not in text]
        assert not missing, (path, missing, text[:3000])
