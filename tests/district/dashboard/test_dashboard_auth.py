"""Sign-in: passwords, cookies, CSRF, rate limits, lockout, session lifetime, logout, personal API tokens."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from district.audit.models import AuditEntry
from district.auth.models import ApiToken, LoginFailures, User
from district.db import utcnow
from tests.district.dashboard.conftest import PASSWORD, config, csrf_from, page_csrf, sign_in


def failures(session: Any, username: str, address: str = "127.0.0.1") -> int:
    row = session.scalars(
        select(LoginFailures).where(LoginFailures.username == username, LoginFailures.address == address)
    ).first()
    return row.failures if row is not None else 0


def actions(session: Any) -> list[str]:
    return list(
        session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("user.%")).order_by(AuditEntry.id))
    )


# ---------------------------------------------------------------- password and cookies


def test_sign_in_sets_an_httponly_samesite_session_and_redirects(client: Any, session: Any, users: Any) -> None:
    resp = sign_in(client, "admin")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/").headers["Location"] == "/counties/610528/"
    assert actions(session) == ["user.create"] * len(users) + ["user.login"]


def test_secure_cookie_when_configured(app: Any, client: Any, session: Any, users: Any, monkeypatch: Any) -> None:
    from district.config import load_config

    monkeypatch.setenv("HOUQIN_SESSION_COOKIE_SECURE", "1")
    assert load_config(Path(app.instance_path))["SESSION_COOKIE_SECURE"] is True
    with config(app, SESSION_COOKIE_SECURE=True):
        cookie = sign_in(client, "admin").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_password_is_stored_as_argon2(session: Any, users: Any) -> None:
    assert users["admin"].password_hash.startswith("$argon2")
    assert PASSWORD not in users["admin"].password_hash


def test_wrong_password_and_unknown_user_say_the_same(client: Any, session: Any, users: Any) -> None:
    bad = sign_in(client, "admin", "not the password")
    unknown = sign_in(client, "nobody", "not the password")
    assert bad.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in bad.get_data(as_text=True)
    assert "用户名或密码错误" in unknown.get_data(as_text=True)
    assert failures(session, "admin") == failures(session, "nobody") == 1
    assert client.get("/").status_code == 302  # still not signed in


def test_locked_out_after_five_failures_for_fifteen_minutes(
    client: Any, session: Any, users: Any, hub_clock: Any
) -> None:
    for _ in range(4):
        assert sign_in(client, "admin", "wrong").status_code == 401
    fifth = sign_in(client, "admin", "wrong")
    assert fifth.status_code == 429 and "15 分钟" in fifth.get_data(as_text=True)
    assert fifth.headers["Retry-After"] == "900"
    lock = session.scalars(select(LoginFailures).where(LoginFailures.address == "127.0.0.1")).one()
    assert lock.locked_until is not None
    remaining = lock.locked_until - utcnow()
    assert dt.timedelta(minutes=14) < remaining <= dt.timedelta(minutes=15)
    # the right password does not open a locked name
    assert sign_in(client, "admin").status_code == 429
    # … until the 15 minutes have passed
    hub_clock.set(utcnow() + dt.timedelta(minutes=15, seconds=1), ticking=True)
    assert sign_in(client, "admin").status_code == 302
    assert failures(session, "admin") == 0  # a success forgets its address's count
    assert "user.locked" in actions(session)


def test_rate_limited_per_username_and_per_ip(app: Any, client: Any, session: Any, users: Any) -> None:
    with config(app, LOGIN_PER_USER_PER_MINUTE=3, LOGIN_PER_IP_PER_MINUTE=1000):
        for _ in range(3):
            assert sign_in(client, "viewer", "wrong").status_code == 401
        limited = sign_in(client, "viewer")  # even the right password
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        assert sign_in(client, "admin").status_code == 302  # another username is not limited
    with config(app, LOGIN_PER_USER_PER_MINUTE=1000, LOGIN_PER_IP_PER_MINUTE=3):
        client = app.test_client()
        other_ip = app.test_client()
        other_ip.environ_base["REMOTE_ADDR"] = "10.0.0.9"
        for name in ("a", "b", "c"):
            assert sign_in(client, name, "wrong").status_code == 401
        assert sign_in(client, "city").status_code == 429
        assert sign_in(other_ip, "city").status_code == 302


def test_throttled_attempts_do_not_count_towards_the_lockout(app: Any, client: Any, session: Any, users: Any) -> None:
    with config(app, LOGIN_PER_USER_PER_MINUTE=2):
        for _ in range(6):
            sign_in(client, "viewer", "wrong")
    assert failures(session, "viewer") == 2
    locks = select(LoginFailures.locked_until).where(LoginFailures.locked_until.is_not(None))
    assert session.scalars(locks).all() == []


# ---------------------------------------------------------------- CSRF


def test_sign_in_form_needs_its_csrf_token(client: Any, session: Any, users: Any) -> None:
    client.get("/login")
    no_token = client.post("/login", data={"username": "admin", "password": PASSWORD})
    wrong = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "x" * 43})
    assert no_token.status_code == wrong.status_code == 400
    assert "表单已过期" in no_token.get_data(as_text=True)


def test_every_dashboard_post_needs_the_token(client: Any, session: Any, users: Any) -> None:
    from district.reports.approval import period_state

    sign_in(client, "admin")
    for path, data in [
        ("/counties/610528/approval/2026-09/lock", {"note": "x"}),
        ("/account/tokens", {"name": "x"}),
        ("/language", {"lang": "en"}),
        ("/logout", {}),
        ("/schools/6105280001/inspection", {"date": "2026-10-01", "score": "4", "inspector": "x"}),
    ]:
        resp = client.post(path, data=data)
        assert resp.status_code == 400, path
    assert not period_state(session, "610528", "2026-09").locked
    assert session.scalars(select(ApiToken)).all() == []
    assert client.get("/").status_code == 302 and client.get("/").headers["Location"].endswith("/counties/610528/")


def test_token_from_before_sign_in_is_replaced(client: Any, session: Any, users: Any) -> None:
    before = csrf_from(client.get("/login").get_data(as_text=True))
    sign_in(client, "admin")
    after = page_csrf(client)
    assert before != after
    resp = client.post("/counties/610528/approval/2026-09/lock", data={"csrf_token": before})
    assert resp.status_code == 400


def test_session_api_calls_need_the_csrf_header_bearer_calls_do_not(client: Any, session: Any, users: Any) -> None:
    from district.auth.services import create_token

    sign_in(client, "admin")
    resp = client.post("/api/v1/periods/610528/2026-09/lock", json={})
    assert resp.status_code == 403 and resp.json["error"]["code"] == "csrf_failed"
    resp = client.post("/api/v1/periods/610528/2026-09/lock", json={}, headers={"X-CSRF-Token": page_csrf(client)})
    assert resp.status_code == 200 and resp.json["locked"] is True
    token = create_token(session, users["admin"], "script")
    bare = users["admin"] and client.application.test_client()
    resp = bare.post("/api/v1/periods/610528/2026-09/unlock", json={}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.json["locked"] is False


# ---------------------------------------------------------------- redirects, logout, session lifetime


def test_next_goes_back_to_the_page_but_never_off_site(client: Any, session: Any, users: Any) -> None:
    resp = client.get("/counties/610528/ranking?year=2026")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login?next=/counties/610528/ranking?year%3D2026"
    assert sign_in(client, "admin", next="/counties/610528/fund").headers["Location"] == "/counties/610528/fund"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client.post("/logout", data={"csrf_token": page_csrf(client)})
        assert sign_in(client, "admin", next=evil).headers["Location"] == "/", evil


def test_logout_ends_the_session(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    assert client.get("/counties/610528/").status_code == 200
    resp = client.post("/logout", data={"csrf_token": page_csrf(client)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert client.get("/counties/610528/").status_code == 302
    assert client.get("/api/v1/counties/610528/completeness?period=2026-09").status_code == 401


def test_a_session_expires_after_its_lifetime(app: Any, client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    with client.session_transaction() as sess:
        sess["login_at"] -= 13 * 3600
    assert client.get("/counties/610528/").status_code == 302


def test_school_viewer_lands_on_their_school(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "school")
    assert client.get("/").headers["Location"] == "/schools/6105280001/"
    city = client.application.test_client()
    sign_in(city, "city")
    assert city.get("/").headers["Location"] == "/cities/610500/"  # the city overview (issue 17)
    page = city.get("/counties").get_data(as_text=True)
    assert "富平县" in page and "蒲城县" in page and "金台区" not in page


# ---------------------------------------------------------------- personal API tokens


def test_token_shown_once_listed_with_last_use_and_revocable(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "viewer")
    resp = client.post("/account/tokens", data={"name": "月报导出", "csrf_token": page_csrf(client)})
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    token = html.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert token.startswith("hq_") and "不会再次显示" in html
    row = session.scalars(select(ApiToken).where(ApiToken.name == "月报导出")).one()
    assert token not in row.token_sha256  # only the hash is stored
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert token not in listing and "月报导出" in listing and "从未使用" in listing
    api = client.application.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/counties/610528/completeness?period=2026-09", headers=auth).status_code == 200
    assert row.last_used_at is not None
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "从未使用" not in listing
    resp = client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": page_csrf(client)})
    assert resp.status_code == 302
    assert api.get("/api/v1/counties/610528/completeness?period=2026-09", headers=auth).status_code == 401
    assert "已于" in client.get("/account/tokens").get_data(as_text=True)


def test_nobody_revokes_somebody_elses_token(client: Any, session: Any, users: Any) -> None:
    from district.auth.services import create_token

    create_token(session, users["admin"], "admin's")
    theirs = session.scalars(select(ApiToken).where(ApiToken.user_id == users["admin"].id)).one()
    sign_in(client, "viewer")
    resp = client.post(f"/account/tokens/{theirs.id}/revoke", data={"csrf_token": page_csrf(client)})
    assert resp.status_code == 404 and theirs.revoked_at is None


def test_token_needs_a_name(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "viewer")
    assert client.post("/account/tokens", data={"name": " ", "csrf_token": page_csrf(client)}).status_code == 400


# ---------------------------------------------------------------- language


def test_chinese_by_default_english_on_request_and_remembered(client: Any, session: Any, users: Any) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "登录" in page
    sign_in(client, "admin")
    resp = client.post("/language", data={"lang": "en", "next": "/counties/610528/", "csrf_token": page_csrf(client)})
    assert resp.headers["Location"] == "/counties/610528/"
    page = client.get("/counties/610528/?period=2026-09").get_data(as_text=True)
    assert '<html lang="en">' in page and "Schools that have not reported" in page
    assert session.get(User, users["admin"].id).language == "en"
    fresh = client.application.test_client()
    sign_in(fresh, "admin")  # a new browser: the saved choice
    assert "Overview" in fresh.get("/counties/610528/?period=2026-09").get_data(as_text=True)
