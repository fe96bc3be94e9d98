"""Sessions and accounts (issue 16): logout and the account commands end every session at once, tokens expire,
the lockout is counted per username and address, and no answer tells a known username from an unknown one."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from district.audit.models import AuditEntry
from district.auth.models import ApiToken, LoginFailures
from district.db import db, utcnow
from tests.district.dashboard.conftest import PASSWORD, config, page_csrf, sign_in

PAGE = "/counties/610528/"
API = "/api/v1/counties/610528/completeness?period=2026-09"


@pytest.fixture()
def houqin(app: Any, session: Any, restore_db_state: Any) -> Any:
    """``houqin …`` run in-process on the test's database (its transaction, rolled back after the test)."""
    from district.cli import Context, main

    def run(*args: str) -> Any:
        # a command that fails rolls its session back: to the test's data as committed (a savepoint of the test's
        # transaction), never before it
        db.session().commit()
        ctx = Context()
        ctx._app = app
        return CliRunner().invoke(main, list(args), obj=ctx)

    return run


def copy_of_cookie(client: Any) -> Any:
    """Another browser holding a copy of ``client``'s session cookie, as captured by someone."""
    thief = client.application.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in(client: Any) -> bool:
    return client.get(PAGE).status_code == 200


def audit(session: Any, action: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    return [{"actor": e.actor, **e.details} for e in rows]


def other_address(app: Any, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# ---------------------------------------------------------------- sessions


def test_a_cookie_captured_before_logout_is_signed_out(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    thief = copy_of_cookie(client)
    other_browser = client.application.test_client()
    sign_in(other_browser, "admin")
    assert signed_in(thief) and signed_in(other_browser)
    other_form_token = page_csrf(other_browser)
    assert client.post("/logout", data={"csrf_token": page_csrf(client)}).status_code == 302
    resp = thief.get(PAGE)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert thief.get(API).status_code == 401
    # every session of the user ends (a per-user session generation)
    # a form of a page loaded before: sent to the sign-in page (not refused as an expired form), nothing done
    resp = other_browser.post("/account/tokens", data={"name": "x", "csrf_token": other_form_token})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert session.scalars(select(ApiToken)).all() == []
    assert not signed_in(other_browser)
    assert [e["actor"] for e in audit(session, "user.logout")] == ["admin"]
    # signing in again works, and the new session is not touched by the old one's fate
    assert sign_in(client, "admin").status_code == 302 and signed_in(client)
    assert not signed_in(thief)


def test_disable_ends_sessions_refuses_sign_in_and_tokens_enable_restores(
    client: Any, session: Any, users: Any, houqin: Any
) -> None:
    from district.auth.services import create_token

    token = create_token(session, users["viewer"], "script")
    bearer = {"Authorization": f"Bearer {token}"}
    sign_in(client, "viewer")
    api = client.application.test_client()
    assert signed_in(client) and api.get(API, headers=bearer).status_code == 200

    result = houqin("users", "disable", "viewer")
    assert result.exit_code == 0, result.output
    assert "disabled" in result.output
    assert not signed_in(client)
    resp = api.get(API, headers=bearer)
    assert resp.status_code == 401 and resp.json["error"]["code"] == "account_disabled"
    # the right password of a disabled user: the same answer as a wrong one, or an unknown name
    refused = sign_in(client, "viewer")
    assert refused.status_code == 401 and "用户名或密码错误" in refused.get_data(as_text=True)
    assert audit(session, "user.login_failed")[-1]["reason"] == "disabled"

    result = houqin("users", "enable", "viewer")
    assert result.exit_code == 0, result.output
    assert api.get(API, headers=bearer).status_code == 200  # not revoked: refused only while disabled
    assert sign_in(client, "viewer").status_code == 302 and signed_in(client)
    assert [e["username"] for e in audit(session, "user.disable")] == ["viewer"]
    assert [e["username"] for e in audit(session, "user.enable")] == ["viewer"]
    assert audit(session, "user.disable")[0]["actor"] == "cli"


def test_reset_password_prints_a_one_time_password_and_ends_sessions(
    client: Any, session: Any, users: Any, houqin: Any
) -> None:
    sign_in(client, "admin")
    thief = copy_of_cookie(client)
    result = houqin("users", "reset-password", "admin")
    assert result.exit_code == 0, result.output
    new_password = result.stdout.strip().splitlines()[-1]
    assert len(new_password) == 16 and new_password != PASSWORD
    assert not signed_in(client) and not signed_in(thief)
    fresh = client.application.test_client()
    assert sign_in(fresh, "admin", PASSWORD).status_code == 401
    assert sign_in(fresh, "admin", new_password).status_code == 302
    # never the password in the audit log
    entries = audit(session, "user.password_reset")
    assert entries == [{"actor": "cli", "username": "admin"}]
    assert new_password not in str(session.scalars(select(AuditEntry.details)).all())


def test_reset_password_reads_one_and_refuses_a_short_one(client: Any, session: Any, users: Any, houqin: Any) -> None:
    result = houqin("users", "reset-password", "viewer", "--password", "short")
    assert result.exit_code == 1 and "at least 8 characters" in result.output
    assert sign_in(client, "viewer", PASSWORD).status_code == 302
    result = houqin("users", "reset-password", "viewer", "--password", "a new long password")
    assert result.exit_code == 0, result.output
    assert "a new long password" not in result.stdout  # chosen by the operator: not echoed
    assert not signed_in(client)
    assert sign_in(client, "viewer", "a new long password").status_code == 302


def test_revoke_tokens_revokes_every_token_of_the_user_only(client: Any, session: Any, users: Any, houqin: Any) -> None:
    from district.auth.services import create_token

    mine = [create_token(session, users["viewer"], name) for name in ("a", "b")]
    theirs = create_token(session, users["admin"], "admin's")
    api = client.application.test_client()
    result = houqin("users", "revoke-tokens", "viewer")
    assert result.exit_code == 0 and "2 token(s) of viewer revoked" in result.output
    for token in mine:
        resp = api.get(API, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthenticated"
    assert api.get(API, headers={"Authorization": f"Bearer {theirs}"}).status_code == 200
    ids = session.scalars(select(ApiToken.id).where(ApiToken.user_id == users["viewer"].id).order_by(ApiToken.id)).all()
    assert audit(session, "user.tokens_revoke") == [{"actor": "cli", "username": "viewer", "token_ids": list(ids)}]


def test_account_commands_name_an_unknown_user(session: Any, users: Any, houqin: Any) -> None:
    for command in ("disable", "enable", "reset-password", "revoke-tokens"):
        result = houqin("users", command, "nobody")
        assert result.exit_code == 1 and "unknown user nobody" in result.output, command


# ---------------------------------------------------------------- token expiry


def test_a_token_expires_after_180_days_and_the_page_says_so(
    client: Any, session: Any, users: Any, hub_clock: Any
) -> None:
    sign_in(client, "viewer")
    resp = client.post("/account/tokens", data={"name": "导出", "csrf_token": page_csrf(client)})
    token = resp.get_data(as_text=True).split('id="new-token">', 1)[1].split("<", 1)[0]
    row = session.scalars(select(ApiToken).where(ApiToken.name == "导出")).one()
    assert row.expires_at - row.created_at == dt.timedelta(days=180)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "到期日" in page and "2027年5月20日" in page and "180 天后过期" in page
    face = re.sub(r"<[^>]+>", " ", page.split("<body", 1)[1])  # the text a reader sees, not attributes
    assert not re.search(r"\d{4}-\d{2}-\d{2}", face), "an ISO date on the face of the page"

    api = client.application.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    hub_clock.set(row.expires_at - dt.timedelta(seconds=1))
    assert api.get(API, headers=bearer).status_code == 200
    hub_clock.set(row.expires_at)
    resp = api.get(API, headers=bearer)
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "token_expired" and "过期" in resp.json["error"]["message"]
    sign_in(client, "viewer")  # 180 days on, the 12-hour session is long over
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "已于 2027年5月20日 过期" in page


def test_token_days_is_configurable(app: Any, client: Any, session: Any, users: Any, monkeypatch: Any) -> None:
    from pathlib import Path

    from district.auth.services import create_token
    from district.config import load_config

    monkeypatch.setenv("HOUQIN_TOKEN_DAYS", "30")
    assert load_config(Path(app.instance_path))["TOKEN_DAYS"] == 30
    assert load_config(Path(app.instance_path), {})["TOKEN_DAYS"] == 30
    monkeypatch.delenv("HOUQIN_TOKEN_DAYS")
    assert load_config(Path(app.instance_path))["TOKEN_DAYS"] == 180
    with config(app, TOKEN_DAYS=30):
        create_token(session, users["admin"], "short-lived")
    row = session.scalars(select(ApiToken).where(ApiToken.name == "short-lived")).one()
    assert row.expires_at - row.created_at == dt.timedelta(days=30)


def test_english_page_shows_a_plain_english_date(client: Any, session: Any, users: Any) -> None:
    from district.auth.services import create_token

    create_token(session, users["admin"], "x")
    sign_in(client, "admin")
    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client)})
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "20 May 2027" in page and "Expires" in page


# ---------------------------------------------------------------- lockout per username and address


def test_someone_elsewhere_cannot_lock_the_admin_out(app: Any, client: Any, session: Any, users: Any) -> None:
    attacker = other_address(app, "10.0.0.9")
    for _ in range(4):
        assert sign_in(attacker, "admin", "guess").status_code == 401
    assert sign_in(attacker, "admin", "guess").status_code == 429
    assert sign_in(attacker, "admin").status_code == 429  # locked there, even the right password
    assert sign_in(client, "admin").status_code == 302  # the admin, from their own address, is not
    counts = {r.address: r.failures for r in session.scalars(select(LoginFailures))}
    assert counts == {"*": 5, "10.0.0.9": 0}  # the lock is on the attacker's address; the admin's count is gone


def test_the_overall_ceiling_locks_the_name_everywhere(app: Any, client: Any, session: Any, users: Any) -> None:
    with config(app, LOGIN_USER_MAX_FAILURES=8, LOGIN_PER_USER_PER_MINUTE=1000):
        for i in range(7):
            assert sign_in(other_address(app, f"10.0.1.{i}"), "admin", "guess").status_code == 401
        last = sign_in(other_address(app, "10.0.2.1"), "admin", "guess")
        assert last.status_code == 429 and last.headers["Retry-After"] == "900"
        assert sign_in(client, "admin").status_code == 429
        assert "user.locked" in [e.action for e in session.scalars(select(AuditEntry))]


def _face(resp: Any, username: str) -> tuple[int, int | None, str]:
    """What an answer tells: status, Retry-After and the page, with the echoed username taken out."""
    body = resp.get_data(as_text=True).replace(f'value="{username}"', 'value=""')
    retry = resp.headers.get("Retry-After")
    return resp.status_code, int(retry) if retry is not None else None, body


def test_nothing_tells_a_known_username_from_an_unknown_one(
    app: Any, client: Any, session: Any, users: Any, monkeypatch: Any, houqin: Any
) -> None:
    """Known and unknown names, side by side from the same browser, in every state: the same status, the
    same page, the same Retry-After, and the same work (one argon2 verification, or none when locked)."""
    from district.auth import signin

    checks: list[str] = []
    real_check = signin.check_password

    def counting(user: Any, password: str) -> bool:
        checks.append(user.username or "(dummy)")
        return real_check(user, password)

    monkeypatch.setattr(signin, "check_password", counting)

    def side_by_side(known: str, unknown: str, password: str) -> tuple[Any, Any]:
        checks.clear()
        a = _face(sign_in(client, known, password), known)
        work_a = len(checks)
        checks.clear()
        b = _face(sign_in(client, unknown, password), unknown)
        assert (a[0], a[2]) == (b[0], b[2])
        # the two names' locks began a few milliseconds apart on the running clock: a second either way
        assert a[1] == b[1] or (a[1] is not None and b[1] is not None and abs(a[1] - b[1]) <= 1)
        assert work_a == len(checks)
        return a, work_a

    with config(app, LOGIN_PER_USER_PER_MINUTE=1000, LOGIN_PER_IP_PER_MINUTE=1000):
        (status, _retry, body), work = side_by_side("admin", "nobody", "wrong")
        assert status == 401 and "用户名或密码错误" in body and work == 1
        for _ in range(3):
            side_by_side("admin", "nobody", "wrong")
        (status, retry, body), work = side_by_side("admin", "nobody", "wrong")  # the fifth: both lock
        assert status == 429 and retry == 900 and "15 分钟" in body and work == 1
        # locked: the right password of the known name is refused exactly as any password of the unknown one
        (status, _retry, body), work = side_by_side("admin", "nobody", PASSWORD)
        assert status == 429 and work == 0
        # a disabled user with the right password, and an unknown name
        houqin("users", "disable", "viewer")
        (status, _retry, body), work = side_by_side("viewer", "nobody2", PASSWORD)
        assert status == 401 and work == 1


def test_counts_are_per_name_as_typed_whatever_the_case(client: Any, session: Any, users: Any) -> None:
    for name in ("Admin", "ADMIN", "admin", "aDmin"):
        sign_in(client, name, "wrong")
    assert sign_in(client, "admin", "wrong").status_code == 429


def test_old_counts_are_forgotten(client: Any, session: Any, users: Any, hub_clock: Any) -> None:
    for name in ("ghost1", "ghost2"):
        sign_in(client, name, "wrong")
    assert len(session.scalars(select(LoginFailures)).all()) == 4  # per address and overall, for each name
    hub_clock.set(utcnow() + dt.timedelta(minutes=31), ticking=True)
    sign_in(client, "ghost3", "wrong")
    assert {r.username for r in session.scalars(select(LoginFailures))} == {"ghost3"}


def test_reset_password_and_enable_lift_the_lockout(client: Any, session: Any, users: Any, houqin: Any) -> None:
    for _ in range(5):
        sign_in(client, "admin", "wrong")
    assert sign_in(client, "admin").status_code == 429
    houqin("users", "enable", "admin")
    assert sign_in(client, "admin").status_code == 302
    other = client.application.test_client()
    for _ in range(5):
        sign_in(other, "viewer", "wrong")
    assert sign_in(other, "viewer").status_code == 429
    result = houqin("users", "reset-password", "viewer", "--password", "another password")
    assert result.exit_code == 0
    assert sign_in(other, "viewer", "another password").status_code == 302
