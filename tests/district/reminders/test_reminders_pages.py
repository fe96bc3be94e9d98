"""一键催报 on the dashboard: the button on the completeness section, a confirmation step (CSRF form), the mails
read from a real SMTP server, and the log page in plain Chinese."""

from __future__ import annotations

import re
from typing import Any

from district.auth.services import create_user
from district.registry.models import School
from tests.district.dashboard.conftest import PASSWORD, csrf_from, sign_in


def test_one_click_from_the_completeness_section_confirms_then_sends_and_logs(
    client: Any, session: Any, county: Any, mail_config: Any
) -> None:
    session.get(School, "6105280001").contact_email = "zl1@school.example.cn"
    create_user(session, "fp-admin", PASSWORD, "county_admin", scope="610528")
    create_user(session, "fp-viewer", PASSWORD, "county_viewer", scope="610528")
    assert sign_in(client, "fp-admin").status_code == 302
    overview = client.get("/counties/610528/").get_data(as_text=True)
    assert 'id="remind-form"' in overview and "一键催报" in overview
    completeness = client.get("/counties/610528/completeness").get_data(as_text=True)  # 报送情况
    assert 'id="remind-form"' in completeness.split('id="missing"')[1]
    token = csrf_from(overview)
    assert client.post("/counties/610528/reminders/send").status_code == 400  # no CSRF token
    confirm = client.post("/counties/610528/reminders/send", data={"csrf_token": token})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "现在向 3 所学校发送 3 条提醒" in page and 'name="confirm"' in page
    assert mail_config.mails == []  # nothing before the confirmation
    done = client.post("/counties/610528/reminders/send", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/counties/610528/reminders")
    assert [m.to for m in mail_config.mails] == [["zl1@school.example.cn"]]
    log = client.get("/counties/610528/reminders").get_data(as_text=True)
    assert "已发送提醒 1 条，失败 0 条" in log
    assert "庄里镇中心小学" in log and "月报未报送" in log and "电子邮件" in log and "已发送" in log
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d", log) and "2026-11-21 12:" in log  # no ISO stamp: Shanghai time
    client.post("/logout", data={"csrf_token": csrf_from(log)})
    assert sign_in(client, "fp-viewer").status_code == 302
    viewer_page = client.get("/counties/610528/").get_data(as_text=True)
    assert 'id="remind-form"' not in viewer_page
    assert 'id="remind-form"' not in client.get("/counties/610528/completeness").get_data(as_text=True)
    assert client.get("/counties/610528/reminders").status_code == 200
    refused = client.post("/counties/610528/reminders/send", data={"csrf_token": csrf_from(viewer_page)})
    assert refused.status_code == 403
    assert client.get("/counties/610999/reminders").status_code == 404
