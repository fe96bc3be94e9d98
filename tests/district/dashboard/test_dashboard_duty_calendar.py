"""The county's 后勤行事历 page (issue 20 item 2): per task of the month, done / not done by township and by
school, in plain Chinese; schools that sent @1 or nothing are shown as such, not as 未完成."""

from __future__ import annotations

import re
from typing import Any

from district.registry.models import School
from tests.district.dashboard.conftest import sign_in
from tests.district.duties.helpers_duties import v2_report
from tests.factories import school_report, submit


def _section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    return re.sub(r"\s+", " ", html[start : html.index("</section>", start)])


def test_the_calendar_page_of_a_month(app: Any, client: Any, session: Any, users: Any) -> None:
    s1, s2 = session.get(School, "6105280001"), session.get(School, "6105280002")
    submit(session, "6105280001", "2026-10", data=v2_report(s1, "2026-10", ["OCT-AV-CHECK"]))
    submit(session, "6105280002", "2026-10", data=school_report(s2, "2026-10"))
    sign_in(client, "admin")
    overview = client.get("/counties/610528/?period=2026-10").get_data(as_text=True)
    assert 'href="/counties/610528/calendar"' in overview and "后勤行事历" in overview  # in the navigation

    resp = client.get("/counties/610528/calendar?period=2026-10")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "使用平台默认行事历" in html
    assert '<option value="2026-10" selected>' in html  # the month picker, as on the other pages
    tasks = _section(html, "tasks")
    assert '做好班级电教设备的检查工作</td><td>电路</td><td class="num">1</td><td class="num">1</td>' in tasks
    assert '召开伙管会成员会议</td><td>食品</td><td class="num">0</td><td class="num">1</td>' in tasks
    schools = _section(html, "schools")
    row1 = schools[schools.index("庄里镇中心小学") :]
    assert "<td>做好班级电教设备的检查工作</td>" in row1.split("</tr>")[0]
    assert "召开伙管会成员会议、召开日托班学生家长会议" in row1.split("</tr>")[0]
    assert "未按新标准报送" in schools[schools.index("庄里镇初级中学") :].split("</tr>")[0]
    assert "未报送" in schools[schools.index("城关新区小学") :].split("</tr>")[0]
    townships = _section(html, "townships")
    assert '<td>庄里镇</td><td class="num">2</td><td class="num">1</td><td class="num">1</td>' in townships
    # no codes on the face of the page
    assert "OCT-AV-CHECK" not in html and "reported_v2" not in html

    # a township_admin sees its township's schools only; another county is out of scope
    township = app.test_client()
    sign_in(township, "township")
    mine = township.get("/counties/610528/calendar?period=2026-10").get_data(as_text=True)
    assert "庄里镇中心小学" in mine and "城关新区小学" not in mine
    assert client.get("/counties/610526/calendar?period=2026-10").status_code in (403, 404)
    assert client.get("/counties/610528/calendar?period=2026-13").status_code == 400

    # in English the task categories are English too (the standard's labels)
    from tests.district.dashboard.conftest import page_csrf

    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client)})
    english = _section(client.get("/counties/610528/calendar?period=2026-10").get_data(as_text=True), "tasks")
    assert "<td>Electrical wiring</td>" in english and "电路" not in english
