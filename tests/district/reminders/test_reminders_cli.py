"""``houqin reminders --county X --send`` and ``--daily`` (cron on the embedded default) with click's CliRunner on
the test app, mails read from a real SMTP server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from district.cli import Context, main
from district.db import db
from district.registry.models import School


@pytest.fixture
def run(app: Any, session: Any) -> Any:
    def invoke(*args: str) -> Any:
        db.session().commit()  # into the test's outer transaction (rolled back at its end)
        ctx = Context()
        ctx._app = app
        return CliRunner().invoke(main, list(args), obj=ctx)

    return invoke


def test_send_from_the_command_line_then_the_daily_job_sends_nothing_twice(
    run: Any, session: Any, county: Any, mail_config: Any, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for code in ("6105280001", "6105280004"):
        session.get(School, code).contact_email = f"s{code[-1]}@school.example.cn"
    result = run("reminders", "--county", "610528", "--send")
    assert result.exit_code == 0, result.output
    assert "610528：已发送 2，失败 0，今日已发过 0" in result.output
    assert sorted(m.to[0] for m in mail_config.mails) == ["s1@school.example.cn", "s4@school.example.cn"]
    daily = run("reminders", "--daily", "--json")
    assert daily.exit_code == 0, daily.output
    assert json.loads(daily.output)["610528"] == {"sent": 0, "failed": 0, "queued": 0, "skipped": 2, "paused": False}
    assert len(mail_config.mails) == 2


def test_the_command_line_retries_a_failure_after_the_backoff(
    run: Any, session: Any, county: Any, app: Any, webhook_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from district.reminders.services import set_channels

    monkeypatch.setitem(app.config, "REMINDER_RETRY_SECONDS", 0.05)
    monkeypatch.setitem(app.config, "REMINDER_TIMEOUT_SECONDS", 1.0)
    robot = {"url": webhook_sink.url("/robot/send?access_token=t")}
    set_channels(session, "610528", {"email": False, "dingtalk": robot}, actor="test")
    webhook_sink.fail_next(2, 502)
    result = run("reminders", "--county", "610528", "--send")
    assert result.exit_code == 0 and "已发送 1，失败 0" in result.output, result.output
    assert len(webhook_sink.posts) == 1 and "timestamp" not in webhook_sink.posts[0].query  # no secret: unsigned


def test_unknown_county_and_missing_county(run: Any, session: Any, county: Any) -> None:
    assert run("reminders", "--county", "999999", "--send").exit_code == 1
    assert run("reminders", "--send").exit_code == 1
