"""一键催报 and the daily job over real channels: mails read from a real SMTP server, robot posts read from a real
HTTP server (WeCom and DingTalk formats, DingTalk's signature), failures logged and retried, never a duplicate
after a success, never a 500; scope and pause."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import pytest
from celery.exceptions import Retry
from sqlalchemy import select

from district.auth.services import create_token, create_user
from district.registry.models import School
from district.reminders.models import ReminderAttempt, ReminderDelivery
from tests.district.reminders.conftest import BadSmtp

COUNTY = "610528"
# at the tests' hub clock (2026-11-21) the latest closed period is 2026-10 (due 2026-11-05): 16 days late
DAYS_LATE = 16


def bearer(session: Any, role: str, scope: str, name: str) -> dict[str, str]:
    user = create_user(session, name, "correct horse battery", role, scope=scope)
    return {"Authorization": f"Bearer {create_token(session, user, 't')}"}


@pytest.fixture()
def contacts(session: Any, county: Any) -> dict[str, str]:
    emails = {"6105280001": "zhuangli1@school.example.cn", "6105280002": "zhuangli2@school.example.cn",
              "6105280004": "chengguan4@school.example.cn"}  # fmt: skip
    for code, address in emails.items():
        school = session.get(School, code)
        school.contact_name, school.contact_email = "王老师", address
    session.flush()
    return emails


@pytest.fixture()
def admin(session: Any, county: Any) -> dict[str, str]:
    return bearer(session, "county_admin", COUNTY, "fp-admin")


def _send(client: Any, headers: dict[str, str]) -> Any:
    return client.post(f"/api/v1/counties/{COUNTY}/reminders", headers=headers)


def test_one_click_mails_each_school_contact_in_chinese_with_the_days_late(
    client: Any, session: Any, admin: dict[str, str], contacts: dict[str, str], mail_config: Any
) -> None:
    resp = _send(client, admin)
    assert resp.status_code == 200, resp.json
    assert resp.json | {"reminders": 0} == {"sent": 3, "failed": 0, "queued": 0, "skipped": 0, "paused": False,
                                            "reminders": 0}  # fmt: skip
    mails = {m.to[0]: m for m in mail_config.mails}
    assert set(mails) == set(contacts.values())  # 0003 closed in June: not asked
    mail = mails["zhuangli1@school.example.cn"]
    assert mail.mail_from == "houqin@jyj.example.cn"
    assert mail.subject == "【富平县教育局】庄里镇中心小学：月报未报送提醒"
    assert "庄里镇中心小学负责同志" in mail.body
    assert f"2026年10月的月报尚未报送，已逾期 {DAYS_LATE} 天" in mail.body
    # the log: one attempt each, sent
    log = client.get(f"/api/v1/counties/{COUNTY}/reminders/log", headers=admin).json["log"]
    assert sorted((r["school_code"], r["channel"], r["kind"], r["status"], r["attempt"]) for r in log) == [
        (code, "email", "report_missing", "sent", 1) for code in sorted(contacts)
    ]
    assert all(r["to"] == contacts[r["school_code"]] and r["error"] is None for r in log)
    assert {r["school_name"] for r in log} == {"庄里镇中心小学", "庄里镇初级中学", "城关新区小学"}
    bad = client.get(f"/api/v1/counties/{COUNTY}/reminders/log?limit=0", headers=admin)
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["path"] == "limit"
    assert len(client.get(f"/api/v1/counties/{COUNTY}/reminders/log?limit=2", headers=admin).json["log"]) == 2
    # a second 一键催报 the same day sends nothing again
    again = _send(client, admin).json
    assert (again["sent"], again["failed"], again["skipped"]) == (0, 0, 3)
    assert len(mail_config.mails) == 3


def test_group_robots_get_one_digest_in_their_formats_and_dingtalk_is_signed(
    client: Any, session: Any, admin: dict[str, str], county: Any, webhook_sink: Any, app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setitem(app.config, "SMTP_URL", None)
    secret = "SEC0123456789abcdef0123456789abcdef"
    channels = {
        "email": False,
        "wecom": {"url": webhook_sink.url("/cgi-bin/webhook/send?key=wecom-key-0001")},
        "dingtalk": {"url": webhook_sink.url("/robot/send?access_token=ding-token-0002"), "secret": secret},
    }
    put = client.put(f"/api/v1/counties/{COUNTY}/settings", headers=admin, json={"channels": channels})
    assert put.status_code == 200, put.json
    shown = put.json["channels"]
    assert shown["email"] is False and shown["paused"] is False
    assert "wecom-key-0001" not in str(shown) and "ding-token-0002" not in str(shown) and secret not in str(shown)
    assert shown["wecom"]["url"].endswith("key=…0001") and shown["dingtalk"]["secret"] == "…cdef"
    assert client.get(f"/api/v1/counties/{COUNTY}/settings", headers=admin).json["channels"] == shown

    before = time.time()
    resp = _send(client, admin)
    assert resp.status_code == 200 and (resp.json["sent"], resp.json["failed"]) == (2, 0), resp.json
    [wecom] = webhook_sink.posts_to("/cgi-bin/webhook/send")
    assert wecom.query == {"key": "wecom-key-0001"}
    assert set(wecom.payload) == {"msgtype", "markdown"} and wecom.payload["msgtype"] == "markdown"
    content = wecom.payload["markdown"]["content"]
    assert set(wecom.payload["markdown"]) == {"content"}
    assert "富平县 11月21日催报提醒" in content and "月报未报送（3 所学校）" in content
    assert f"庄里镇中心小学：2026年10月的月报尚未报送，已逾期 {DAYS_LATE} 天" in content

    [ding] = webhook_sink.posts_to("/robot/send")
    assert ding.payload["msgtype"] == "markdown" and set(ding.payload["markdown"]) == {"title", "text"}
    assert ding.payload["markdown"]["title"] == "富平县 11月21日催报提醒"
    assert "城关新区小学" in ding.payload["markdown"]["text"]
    assert ding.query["access_token"] == "ding-token-0002"
    stamp = int(ding.query["timestamp"])
    assert before * 1000 - 1000 <= stamp <= time.time() * 1000 + 1000  # milliseconds, the wall clock
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert ding.query["sign"] == expected  # parse_qsl undid the URL encoding of the Base64
    # one digest a day per robot
    assert _send(client, admin).json["skipped"] == 2 and len(webhook_sink.posts) == 2


@pytest.mark.parametrize("fault", ["refused", "hang", "close"])
def test_an_smtp_server_that_refuses_hangs_or_closes_is_a_logged_failure_then_a_retry_without_duplicates(
    client: Any, session: Any, admin: dict[str, str], contacts: dict[str, str], mail_config: Any, app: Any,
    monkeypatch: pytest.MonkeyPatch, fault: str,
) -> None:  # fmt: skip
    bad = None
    if fault == "refused":
        from district.demo.sinks import free_port

        monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    else:
        bad = BadSmtp(fault)
        monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{bad.port}")
    monkeypatch.setitem(app.config, "REMINDER_TIMEOUT_SECONDS", 0.3)
    try:
        resp = _send(client, admin)
    finally:
        if bad is not None:
            bad.close()
    assert resp.status_code == 200, resp.json
    assert (resp.json["sent"], resp.json["failed"]) == (0, 3)
    log = client.get(f"/api/v1/counties/{COUNTY}/reminders/log", headers=admin).json["log"]
    assert {(r["status"], r["attempt"]) for r in log} == {("failed", 1)}
    assert all(r["error"] for r in log)
    if fault == "hang":
        assert all("timed out" in r["error"] for r in log)
    # the server is back: asking again retries the failed ones (attempt 2), once
    monkeypatch.setitem(app.config, "SMTP_URL", mail_config.url)
    again = _send(client, admin).json
    assert (again["sent"], again["failed"]) == (3, 0)
    assert sorted(m.to[0] for m in mail_config.mails) == sorted(contacts.values())
    attempts = session.scalars(select(ReminderAttempt).order_by(ReminderAttempt.id)).all()
    assert [(a.attempt, a.status) for a in attempts] == [(1, "failed")] * 3 + [(2, "sent")] * 3
    third = _send(client, admin).json
    assert (third["sent"], third["skipped"]) == (0, 3) and len(mail_config.mails) == 3


def test_the_task_retries_a_failed_webhook_with_backoff_and_never_sends_twice(
    client: Any, session: Any, admin: dict[str, str], county: Any, webhook_sink: Any, app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from workers.tasks import reminders as tasks

    monkeypatch.setitem(app.config, "REMINDER_TIMEOUT_SECONDS", 0.5)
    url = webhook_sink.url("/cgi-bin/webhook/send?key=k")
    client.put(f"/api/v1/counties/{COUNTY}/settings", headers=admin,
               json={"channels": {"email": False, "wecom": {"url": url}}})  # fmt: skip
    webhook_sink.fail_next(1, 500)
    webhook_sink.fail_next(1, 0)  # then a hang past the timeout
    first = _send(client, admin).json
    assert (first["sent"], first["failed"]) == (0, 1)
    delivery = session.scalars(select(ReminderDelivery)).one()
    with pytest.raises(Retry):  # the task asks Celery for another try (countdown: the backoff)
        tasks.deliver.run(delivery.id)
    assert tasks.deliver.run(delivery.id) == "sent"
    assert tasks.deliver.run(delivery.id) == "skipped"  # a redelivered task after the success sends nothing
    assert len(webhook_sink.posts) == 1
    errors = [a.error for a in session.scalars(select(ReminderAttempt).order_by(ReminderAttempt.id))]
    assert errors[0] == "HTTP 500" and "timed out" in errors[1] and errors[2] is None
    monkeypatch.setitem(app.config, "REMINDER_RETRY_SECONDS", 60.0)
    with app.app_context():
        assert [tasks.backoff_seconds(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]


def test_township_admin_sends_its_township_only_and_viewers_cannot(
    client: Any, session: Any, admin: dict[str, str], contacts: dict[str, str], mail_config: Any
) -> None:
    township = bearer(session, "township_admin", f"{COUNTY}/庄里镇", "zl-admin")
    resp = _send(client, township)
    assert resp.status_code == 200 and resp.json["sent"] == 2, resp.json
    assert sorted(m.to[0] for m in mail_config.mails) == ["zhuangli1@school.example.cn", "zhuangli2@school.example.cn"]
    log = client.get(f"/api/v1/counties/{COUNTY}/reminders/log", headers=township).json["log"]
    assert {r["school_code"] for r in log} == {"6105280001", "6105280002"}
    viewer = bearer(session, "county_viewer", COUNTY, "fp-viewer")
    assert _send(client, viewer).status_code == 403
    assert client.get(f"/api/v1/counties/{COUNTY}/reminders/log", headers=viewer).status_code == 200
    assert client.post("/api/v1/counties/610999/reminders", headers=admin).status_code == 404
    assert client.post(f"/api/v1/counties/{COUNTY}/reminders").status_code == 401
    # the county's own 一键催报 later sends the rest, never the township's two again
    assert _send(client, admin).json | {"reminders": 0} == {
        "sent": 1, "failed": 0, "queued": 0, "skipped": 2, "paused": False, "reminders": 0}  # fmt: skip


def test_a_paused_county_sends_nothing(
    client: Any, session: Any, admin: dict[str, str], contacts: dict[str, str], mail_config: Any
) -> None:
    assert client.put(f"/api/v1/counties/{COUNTY}/settings", headers=admin,
                      json={"channels": {"paused": True}}).status_code == 200  # fmt: skip
    resp = _send(client, admin).json
    assert resp["paused"] is True and resp["sent"] == 0 and mail_config.mails == []
    client.put(f"/api/v1/counties/{COUNTY}/settings", headers=admin, json={"channels": {"paused": False}})
    assert _send(client, admin).json["sent"] == 3


@pytest.mark.parametrize(
    ("channels", "path"),
    [
        ({"wecom": {"url": "ftp://robot.example/x"}}, "channels.wecom.url"),
        ({"wecom": {"url": "javascript:alert(1)"}}, "channels.wecom.url"),
        (
            {"dingtalk": {"url": "https://oapi.example/robot/send?access_token=x", "secret": 5}},
            "channels.dingtalk.secret",
        ),
        ({"email": "yes"}, "channels.email"),
        ({"paused": 1}, "channels.paused"),
        ({"sms": True}, "channels.sms"),
        ({"wecom": "https://x.example"}, "channels.wecom"),
        ("on", "channels"),
    ],
)
def test_bad_channels_are_a_400_naming_the_field_and_change_nothing(
    client: Any, session: Any, admin: dict[str, str], channels: Any, path: str
) -> None:
    resp = client.put(f"/api/v1/counties/{COUNTY}/settings", headers=admin, json={"channels": channels})
    assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_channels", resp.json
    assert path in [d["path"] for d in resp.json["error"]["details"]]
    assert client.get(f"/api/v1/counties/{COUNTY}/settings", headers=admin).json["channels"] == {
        "email": True, "paused": False, "wecom": None, "dingtalk": None}  # fmt: skip


def test_a_robot_set_to_null_is_removed_and_other_keys_are_kept(
    client: Any, session: Any, admin: dict[str, str], county: Any
) -> None:
    url = f"/api/v1/counties/{COUNTY}/settings"
    hook = {"url": "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456", "secret": "SECabcdefgh1234"}
    client.put(url, headers=admin, json={"channels": {"dingtalk": hook, "email": False}})
    shown = client.put(url, headers=admin, json={"channels": {"paused": True}}).json["channels"]
    assert (shown["email"], shown["paused"]) == (False, True) and shown["dingtalk"]["secret"] == "…1234"
    assert shown["dingtalk"]["url"] == "https://oapi.dingtalk.com/robot/send?access_token=…3456"
    assert client.put(url, headers=admin, json={"channels": {"dingtalk": None}}).json["channels"]["dingtalk"] is None


def test_only_a_county_admin_sets_channels(client: Any, session: Any, county: Any) -> None:
    township = bearer(session, "township_admin", f"{COUNTY}/庄里镇", "zl-admin2")
    resp = client.put(f"/api/v1/counties/{COUNTY}/settings", headers=township, json={"channels": {"paused": True}})
    assert resp.status_code == 403


def test_the_daily_job_sends_once_a_day(session: Any, contacts: dict[str, str], mail_config: Any, app: Any) -> None:
    from workers.tasks import scoring as scoring_tasks

    first = scoring_tasks.daily_reminders.run()
    assert first["queued"] == {COUNTY: 3} and len(mail_config.mails) == 3
    assert scoring_tasks.daily_reminders.run()["queued"] == {COUNTY: 0}  # reserved already today
    assert len(mail_config.mails) == 3
    rows = session.scalars(select(ReminderDelivery)).all()
    assert {(r.trigger, r.status) for r in rows} == {("daily", "sent")}


def test_a_returned_report_not_yet_corrected_is_reminded_with_the_reviewers_comment(
    client: Any, session: Any, agent: Any, admin: dict[str, str], contacts: dict[str, str], mail_config: Any
) -> None:
    from district import clock
    from tests.conftest import example_report

    report = example_report()  # 6105280001, 2026-09
    assert agent.post_report(report, ts=int(clock.now().timestamp())).status_code == 201
    review = client.post(f"/api/v1/reports/{report['report_id']}/review", headers=admin,
                         json={"decision": "returned", "comment": "本月结余与上月结转不符，请核对"})  # fmt: skip
    assert review.status_code == 200, review.json
    assert _send(client, admin).json["sent"] == 5
    kinds = sorted((d.school_code, d.kind) for d in session.scalars(select(ReminderDelivery)))
    assert kinds == [  # three missing 2026-10; the 2026-09 report returned, and its hazards past their deadline
        ("6105280001", "hazard_overdue"), ("6105280001", "report_missing"), ("6105280001", "report_returned"),
        ("6105280002", "report_missing"), ("6105280004", "report_missing"),
    ]  # fmt: skip
    [returned] = [m for m in mail_config.mails if "退回" in m.subject]
    assert returned.to == ["zhuangli1@school.example.cn"]
    assert returned.subject == "【富平县教育局】庄里镇中心小学：月报被退回待更正提醒"
    assert "2026年9月的月报被退回待更正：本月结余与上月结转不符，请核对" in returned.body


def test_a_lost_hand_over_is_no_500_and_the_next_one_click_sends_them_once(
    client: Any, session: Any, admin: dict[str, str], contacts: dict[str, str], mail_config: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import workers.reminders

    def broker_away(*_args: Any, **_kwargs: Any) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(workers.reminders, "hand_over", broker_away)
        first = _send(client, admin)
    assert first.status_code == 200 and (first.json["sent"], first.json["queued"]) == (0, 3), first.json
    again = _send(client, admin).json
    assert (again["sent"], again["skipped"]) == (3, 0) and len(mail_config.mails) == 3
    assert _send(client, admin).json["skipped"] == 3 and len(mail_config.mails) == 3
