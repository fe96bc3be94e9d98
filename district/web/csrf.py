"""CSRF protection for everything a signed-in browser can post.

One random token per browser session (kept in the signed session cookie), put in a hidden ``csrf_token`` field
of every form (and sent as ``X-CSRF-Token`` by the dashboard's own scripts). Every unsafe request is checked,
app-wide, except the ones a browser cannot be tricked into sending:

- API calls with ``Authorization: Bearer …`` (a personal token; a cross-site form cannot set that header);
- API calls without a signed-in session (the API answers 401 on its own): the school agents' signed requests
  are among these, since an agent has no session.

A request carrying ``X-Houqin-Signature`` *and* the session cookie is checked like any other: the header alone
(whatever its value) vouches for nothing before the signature is verified, and the dashboard's cookie would
otherwise authenticate a request that skipped CSRF (issue 16).

The sign-in form itself is checked too (login CSRF): its token comes with ``GET /login``.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

from district.web.errors import ApiError

SESSION_KEY = "_csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def csrf_token() -> str:
    """This session's token, made on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def rotate_csrf_token() -> str:
    """A fresh token (after signing in, so a token planted before sign-in is worthless)."""
    session.pop(SESSION_KEY, None)
    return csrf_token()


def _exempt() -> bool:
    if request.method in SAFE_METHODS:
        return True
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return True
    return request.path.startswith("/api/") and not session.get("user_id")


def _sent_token() -> str:
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.mimetype in _FORM_MIMETYPES:
        return request.form.get(FORM_FIELD, "")
    return ""


def csrf_ok() -> bool:
    expected = session.get(SESSION_KEY)
    sent = _sent_token()
    return isinstance(expected, str) and bool(sent) and hmac.compare_digest(expected.encode(), sent.encode())


def check_csrf() -> None:
    if _exempt() or csrf_ok():
        return
    if request.path.startswith("/api/"):
        raise ApiError(403, "csrf_failed", "CSRF 校验失败，请刷新页面后重试 / CSRF check failed")
    abort(400, description="csrf_failed")


def init_csrf(app: Flask) -> None:
    if app.extensions.get("houqin_csrf"):
        return
    app.extensions["houqin_csrf"] = True
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
