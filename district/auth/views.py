"""Sign-in pages: /login, /logout, the language switch and the personal API tokens page. HTTP only."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from district.api.auth import current_user
from district.auth.csrf import init_csrf, rotate_csrf_token
from district.auth.models import ApiToken
from district.auth.services import create_token, revoke_token
from district.auth.signin import setting, sign_in
from district.dashboard.errors import register_page_errors
from district.dashboard.i18n import LANGUAGES, init_babel
from district.db import db, utcnow
from district.unit_of_work import keep_on_error

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site (no scheme, no host, no ``//``): never an open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _login_page(error: str | None = None, status: int = 200, username: str = "") -> Any:
    next_url = safe_next(request.values.get("next"), "")
    return render_template("pages/login.html", error=error, username=username, next_url=next_url), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if current_user() is not None:
            return redirect(safe_next(request.args.get("next")))
        return _login_page()
    username = request.form.get("username", "")[:80]
    password = request.form.get("password", "")[:1024]
    if not username or not password:
        return _login_page(_("Enter your username and password."), 400, username)
    result = sign_in(db.session(), username, password, remote_addr=request.remote_addr)
    keep_on_error()  # a refused sign-in's count, lockout and audit entry are kept with its error page
    if result.user is None:
        if result.reason == "rate_limited":
            page, status = _login_page(
                _("Too many sign-in attempts. Try again in %(seconds)s seconds.", seconds=result.retry_after),
                429,
                username,
            )
            return page, status, {"Retry-After": str(result.retry_after)}
        if result.reason == "locked":
            minutes = max(1, (result.retry_after + 59) // 60)
            return _login_page(
                _(
                    "This account is locked after repeated failed sign-ins. Try again in %(minutes)s minutes.",
                    minutes=minutes,
                ),
                423,
                username,
            )
        return _login_page(_("Wrong username or password."), 401, username)
    user = result.user
    chosen = session.get("lang")
    session.clear()  # nothing from before sign-in survives it (session fixation)
    session["user_id"] = user.id
    session["login_at"] = int(utcnow().timestamp())
    session["lang"] = chosen if chosen in LANGUAGES else (user.language if user.language in LANGUAGES else "zh")
    rotate_csrf_token()
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    chosen = session.get("lang")
    session.clear()
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language() -> Any:
    """Language switch: stored in the session, and as the user's preference when signed in."""
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        user = current_user()
        if user is not None and user.language != chosen:
            user.language = chosen  # committed by the request's unit of work (district/unit_of_work.py)
    return redirect(safe_next(request.form.get("next")))


# ---------------------------------------------------------------- personal API tokens


def _tokens_page(
    new_token: str | None = None, new_name: str | None = None, error: str | None = None, status: int = 200
) -> Any:
    user = current_user()
    assert user is not None
    tokens = list(
        db.session().scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )
    resp = render_template(
        "pages/tokens.html", user=user, tokens=tokens, new_token=new_token, new_name=new_name, error=error
    )
    # the new token is in this page only: never cache it
    return resp, status, {"Cache-Control": "no-store"}


def _require_user() -> Any:
    if current_user() is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


@bp.route("/account/tokens", methods=["GET", "POST"])
def tokens() -> Any:
    if (redirect_resp := _require_user()) is not None:
        return redirect_resp
    if request.method == "GET":
        return _tokens_page()
    user = current_user()
    assert user is not None
    name = request.form.get("name", "").strip()
    if not name or len(name) > 100:
        return _tokens_page(error=_("Give the token a name of 1 to 100 characters."), status=400)
    token = create_token(db.session(), user, name)
    return _tokens_page(new_token=token, new_name=name, status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke(token_id: int) -> Any:
    if (redirect_resp := _require_user()) is not None:
        return redirect_resp
    user = current_user()
    assert user is not None
    if not revoke_token(db.session(), user, token_id):
        return _tokens_page(error=_("No such active token."), status=404)
    return redirect(url_for("auth.tokens"))


# ---------------------------------------------------------------- wiring


def _expire_old_sessions() -> None:
    """A signed-in browser session lasts ``LOGIN_SESSION_HOURS`` from sign-in, whatever the cookie says."""
    if not session.get("user_id"):
        return
    login_at = session.get("login_at")
    max_age = dt.timedelta(hours=setting("LOGIN_SESSION_HOURS")).total_seconds()
    if not isinstance(login_at, int) or utcnow().timestamp() - login_at > max_age:
        chosen = session.get("lang")
        session.clear()
        if chosen in LANGUAGES:
            session["lang"] = chosen


def init_app(app: Flask) -> None:
    # Flask's own default for SameSite is None, so a ``setdefault`` cannot set it: say it here.
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    init_babel(app)
    app.before_request(_expire_old_sessions)
    init_csrf(app)
    register_page_errors(bp)
    app.register_blueprint(bp)
