"""The 意见箱 on the pages (issue 20 item 4): the county overview sums it by township, the school page lists its
months; the figures are the service's (``district.reports.opinions``)."""

from __future__ import annotations

import re
from typing import Any

from tests.district.dashboard.conftest import sign_in
from tests.district.reports.test_opinions import plant


def test_the_pages_show_the_service_figures(client: Any, session: Any, users: Any) -> None:
    plant(session)
    sign_in(client, "admin")
    html = client.get("/counties/610528/?period=2026-09").get_data(as_text=True)
    start = html.index('id="opinions"')
    section = re.sub(r"\s+", " ", html[start : html.index("</section>", start)])
    assert "本月意见箱" in section
    row = re.search(r"<td>庄里镇</td>((?:<td[^>]*>[^<]*</td>)+)", section)
    assert row is not None
    assert re.findall(r">([^<]*)</td>", row.group(1)) == ["1", "3", "2", "1", "0"]
    assert "feedback_box" not in html

    page = client.get("/schools/6105280001/?from=2026-09&to=2026-12").get_data(as_text=True)
    start = page.index('id="opinions"')
    school = re.sub(r"\s+", " ", page[start : page.index("</section>", start)])
    assert re.findall(r'data-period="(\d{4}-\d\d)"', school) == ["2026-10", "2026-09"]  # newest first
    assert "收到意见" in school and "未答复" in school
    total = re.search(r'class="total">(.*?)</tr>', school)
    assert total is not None and re.findall(r">([\d,]+)</td>", total.group(1)) == ["8", "7", "1"]

    v1 = client.get("/schools/6105280002/?from=2026-09&to=2026-12").get_data(as_text=True)
    start = v1.index('id="opinions"')
    assert "没有按新版标准报送的月份" in v1[start : v1.index("</section>", start)]


def test_an_empty_period_says_so(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    html = client.get("/counties/610528/?period=2026-10").get_data(as_text=True)
    start = html.index('id="opinions"')
    assert "本月尚无学校填报意见箱" in html[start : html.index("</section>", start)]
