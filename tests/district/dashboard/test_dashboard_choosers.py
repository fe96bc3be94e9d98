"""Month and date choosers are selects labelled as people write months (issue 17, item 6): no
``<input type=month|date>``, whose picker follows the browser's locale and is missing in IE-mode browsers."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from district.config import PROJECT_ROOT
from tests.district.dashboard.conftest import page_csrf, sign_in


def options(html: str, name: str) -> list[tuple[str, str, bool]]:
    block = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert block, f"no select named {name}"
    return [
        (value, label.strip(), bool(sel))
        for value, sel, label in re.findall(
            r'<option value="([^"]*)"\s*(selected)?\s*>([^<]*)</option>', block.group(1)
        )
    ]


def test_no_page_template_uses_a_browser_month_or_date_picker() -> None:
    found = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "templates" / "pages").rglob("*.html")
        if re.search(r'type="(month|date)"', path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_ranking_window_choosers_are_selects_in_chinese(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    html = client.get("/counties/610528/ranking?from=2026-03&to=2026-10").get_data(as_text=True)
    frm, to = options(html, "from"), options(html, "to")
    assert [o for o in frm if o[2]] == [("2026-03", "2026年3月", True)]
    assert [o for o in to if o[2]] == [("2026-10", "2026年10月", True)]
    # newest first, from the hub's current month (2026-11) back over the 36-month window limit
    assert frm[0][:2] == ("2026-11", "2026年11月") and len(frm) == 37 and frm[-1][0] == "2023-11"


def test_a_month_outside_the_list_is_still_offered_in_order(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    html = client.get("/counties/610528/fund?from=2022-01&to=2022-12").get_data(as_text=True)
    values = [v for v, _, _ in options(html, "from")]
    assert "2022-01" in values and values == sorted(values, reverse=True)


def test_english_month_labels(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client)})
    html = client.get("/counties/610528/ranking?from=2026-03&to=2026-10").get_data(as_text=True)
    assert ("2026-03", "Mar 2026", True) in options(html, "from")


def test_inspection_date_from_the_three_selects(client: Any, session: Any, users: Any) -> None:
    from district.scoring.models import Inspection

    sign_in(client, "admin")
    html = client.get("/schools/6105280001/inspection").get_data(as_text=True)
    # the hub's today (2026-11-21) is preselected
    assert [o for o in options(html, "date_y") if o[2]] == [("2026", "2026年", True)]
    assert [o for o in options(html, "date_m") if o[2]] == [("11", "11月", True)]
    assert [o for o in options(html, "date_d") if o[2]] == [("21", "21日", True)]
    form = {"score": "4.5", "inspector": "县局督导 张", "csrf_token": page_csrf(client)}
    resp = client.post("/schools/6105280001/inspection", data={**form, "date_y": "2026", "date_m": "10", "date_d": "9"})
    assert resp.status_code == 302
    insp = session.scalars(select(Inspection)).one()
    assert (insp.date.isoformat(), insp.score) == ("2026-10-09", Decimal("4.5"))


def test_an_impossible_day_is_refused_in_words(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    form = {"score": "4", "inspector": "张", "csrf_token": page_csrf(client)}
    resp = client.post("/schools/6105280001/inspection", data={**form, "date_y": "2026", "date_m": "2", "date_d": "30"})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "日期" in body and "Traceback" not in body
