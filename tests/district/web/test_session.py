"""district/web/session.py: the hub's session interface answers every request exactly as Flask's own signed-cookie
interface does (the same Set-Cookie, the same session data, the same Vary), with and without a cookie."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface

from district.web.session import CookieSessionInterface


def _app(interface: Any) -> Flask:
    app = Flask("session_test")
    app.secret_key = "k" * 32
    app.session_interface = interface

    @app.get("/untouched")
    def untouched() -> str:
        return "ok"

    @app.get("/read")
    def read() -> str:
        return str(session.get("user_id"))

    @app.get("/write")
    def write() -> str:
        session["user_id"] = 7
        return "ok"

    @app.get("/clear")
    def clear() -> str:
        session.clear()
        return "ok"

    return app


def _answer(app: Flask, path: str, cookie: str | None) -> dict[str, Any]:
    client = app.test_client()
    if cookie is not None:
        client.set_cookie("session", cookie)
    resp = client.get(path)
    out: dict[str, Any] = {"body": resp.get_data(as_text=True), "vary": resp.headers.get("Vary")}
    set_cookie = resp.headers.getlist("Set-Cookie")
    out["set_cookie"] = len(set_cookie)
    if set_cookie:
        morsel = SimpleCookie(set_cookie[0])["session"]
        serializer = SecureCookieSessionInterface().get_signing_serializer(app)
        assert serializer is not None
        # the value is signed with a timestamp: compare what it holds and the cookie's attributes
        out["data"] = serializer.loads(morsel.value) if morsel.value else None
        out["attributes"] = {k: v for k, v in morsel.items() if v}
    return out


def _cookie_of(data: dict[str, Any]) -> str:
    serializer = SecureCookieSessionInterface().get_signing_serializer(_app(SecureCookieSessionInterface()))
    assert serializer is not None
    return str(serializer.dumps(data))


@pytest.mark.parametrize("path", ["/untouched", "/read", "/write", "/clear"])
@pytest.mark.parametrize("cookie", ["none", "empty", "signed", "tampered"])
def test_every_request_is_answered_as_flasks_own_interface_answers_it(path: str, cookie: str) -> None:
    value = {
        "none": None,
        "empty": "",
        "signed": _cookie_of({"user_id": 3, "_csrf": "x" * 40}),
        "tampered": _cookie_of({"user_id": 3})[:-2] + "xx",
    }[cookie]
    ours = _answer(_app(CookieSessionInterface()), path, value)
    flasks = _answer(_app(SecureCookieSessionInterface()), path, value)
    assert ours == flasks


def test_a_request_without_the_cookie_gets_an_empty_session_without_the_signer_being_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[int] = []
    original = SecureCookieSessionInterface.get_signing_serializer

    def counting(self: Any, app: Flask) -> Any:
        made.append(1)
        return original(self, app)

    cookie = _cookie_of({"user_id": 3})
    monkeypatch.setattr(SecureCookieSessionInterface, "get_signing_serializer", counting)
    app = _app(CookieSessionInterface())
    client = app.test_client()
    resp = client.get("/read")
    assert (resp.get_data(as_text=True), resp.headers.get("Vary"), resp.headers.get("Set-Cookie")) == (
        "None",
        "Cookie",
        None,
    )
    assert made == []
    # a request that brings the cookie is read by Flask's own code
    client.set_cookie("session", cookie)
    assert client.get("/read").get_data(as_text=True) == "3"
    assert len(made) == 1
