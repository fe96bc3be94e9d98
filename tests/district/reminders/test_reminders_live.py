"""The embedded default over real HTTP: a hub process without a broker sends 一键催报 from its background thread
(the request only reserves and waits a bounded time), retries a failed robot post after the backoff, and never
sends a message twice; a real SMTP server and a real HTTP "robot" on loopback ports receive them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from district.demo.sinks import SmtpSink, WebhookSink
from tests.livehub import LiveHub

pytestmark = pytest.mark.slow

SCHOOLS = [
    {"code": "6105280001", "name": "庄里镇中心小学", "county_code": "610528", "township": "庄里镇",
     "type": "primary", "boarding": "true", "contact_name": "王老师", "contact_phone": "13912345678",
     "contact_email": "zl1@school.example.cn"},
    {"code": "6105280002", "name": "庄里镇初级中学", "county_code": "610528", "township": "庄里镇",
     "type": "junior", "boarding": "true", "contact_name": "", "contact_phone": "", "contact_email": ""},
]  # fmt: skip


def call(hub: LiveHub, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    req = urllib.request.Request(hub.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        exc.close()
        return exc.code, json.loads(payload or b"{}")


def test_the_hub_sends_in_the_background_and_retries_a_failed_robot_once(tmp_path: Path) -> None:
    smtp, robot = SmtpSink().start(), WebhookSink().start()
    hub = LiveHub(
        tmp_path,
        schools=SCHOOLS,
        env={
            "HOUQIN_NOW": "2026-11-21T10:00:00+08:00",
            "HOUQIN_SMTP_URL": smtp.url,
            "HOUQIN_REMINDER_RETRY_SECONDS": "0.5",
            "HOUQIN_REMINDER_TIMEOUT_SECONDS": "2",
            "HOUQIN_REMINDER_WAIT_SECONDS": "20",  # a loaded machine still settles both before the answer
        },
    )
    try:
        hub.prepare()
        token = hub.county_admin_token()
        hub.start()
        url = robot.url("/cgi-bin/webhook/send?key=live-key")
        assert (
            call(hub, "PUT", "/api/v1/counties/610528/settings", token, {"channels": {"wecom": {"url": url}}})[0] == 200
        )
        robot.fail_next(1, 500)
        started = time.monotonic()
        status, answer = call(hub, "POST", "/api/v1/counties/610528/reminders", token)
        assert status == 200, answer
        assert time.monotonic() - started < 20
        assert (answer["sent"], answer["failed"], answer["queued"]) == (1, 1, 0)  # the e-mail; the robot's 500
        assert [m.to for m in smtp.mails] == [["zl1@school.example.cn"]]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not robot.posts:
            time.sleep(0.1)
        time.sleep(1.0)  # a wrong second retry would have arrived by now
        assert len(robot.posts) == 1 and "月报未报送（2 所学校）" in robot.posts[0].payload["markdown"]["content"]
        _, log = call(hub, "GET", "/api/v1/counties/610528/reminders/log", token)
        wecom = sorted((r["attempt"], r["status"]) for r in log["log"] if r["channel"] == "wecom")
        assert wecom == [(1, "failed"), (2, "sent")]
        again = call(hub, "POST", "/api/v1/counties/610528/reminders", token)[1]
        assert (again["sent"], again["skipped"]) == (0, 2) and len(smtp.mails) == 1 and len(robot.posts) == 1
    finally:
        hub.close()
        smtp.stop()
        robot.stop()
