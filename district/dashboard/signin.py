"""Sign-in pages: /login, /logout, the language switch and the personal API tokens page. HTTP only."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from district.audit.services import record
from district.auth.models import ApiToken
from district.auth.services import create_token, end_sessions, revoke_token, session_user, token_days
from district.auth.signin import setting, sign_in
from district.dashboard.errors import register_page_errors
from district.dashboard.i18n import LANGUAGES, init_babel, lang
from district.db import db, utcnow
from district.unit_of_work import keep_on_error
from district.web.auth import current_user
from district.web.csrf import SESSION_KEY as CSRF_SESSION_KEY
from district.web.csrf import init_csrf, rotate_csrf_token
from houqin_standard import SHANGHAI

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
    page = render_template(
        "pages/login.html",
        error=error,
        username=username,
        next_url=next_url,
        max_failures=setting("LOGIN_MAX_FAILURES"),
        lockout_minutes=setting("LOGIN_LOCKOUT_MINUTES"),
    )
    return page, status


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
            # the same answer whether or not a user has this name (auth/signin.py): never 423 for a known one
            minutes = max(1, (result.retry_after + 59) // 60)
            page, status = _login_page(
                _("Too many failed sign-ins for this username. Try again in %(minutes)s minutes.", minutes=minutes),
                429,
                username,
            )
            return page, status, {"Retry-After": str(result.retry_after)}
        return _login_page(_("Wrong username or password."), 401, username)
    user = result.user
    chosen = session.get("lang")
    session.clear()  # nothing from before sign-in survives it (session fixation)
    session["user_id"] = user.id
    session["gen"] = user.session_generation
    session["login_at"] = int(utcnow().timestamp())
    session["lang"] = chosen if chosen in LANGUAGES else (user.language if user.language in LANGUAGES else "zh")
    rotate_csrf_token()
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    """Sign out: this cookie, and every other session of the user (a copy of the cookie taken before logout is
    refused at its next request: the user's session generation moves on)."""
    user = current_user()
    if user is not None and "user_id" in session:
        end_sessions(user)
        record(db.session(), actor=user.username, action="user.logout", county_code=user.county_code)
    _sign_out()
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
        "pages/tokens.html",
        user=user,
        tokens=tokens,
        new_token=new_token,
        new_name=new_name,
        error=error,
        now=utcnow(),
        token_days=token_days(),
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


def _sign_out(*, keep_csrf: bool = False) -> None:
    """Empty the session cookie, keeping only the chosen language (and, for a session ended elsewhere, the CSRF
    token, so that a form of a page loaded before reaches its view and is sent to the sign-in page rather than
    refused as expired; signing in makes a new one anyway)."""
    chosen, token = session.get("lang"), session.get(CSRF_SESSION_KEY)
    session.clear()
    if chosen in LANGUAGES:
        session["lang"] = chosen
    if keep_csrf and token:
        session[CSRF_SESSION_KEY] = token


def _expire_old_sessions() -> None:
    """A signed-in browser session lasts ``LOGIN_SESSION_HOURS`` from sign-in, whatever the cookie says, and
    ends at once when its user is disabled, or signs out or has the password reset elsewhere
    (``auth.services.session_user``)."""
    if not session.get("user_id") or request.endpoint == "static":
        return
    login_at = session.get("login_at")
    max_age = dt.timedelta(hours=setting("LOGIN_SESSION_HOURS")).total_seconds()
    if not isinstance(login_at, int) or utcnow().timestamp() - login_at > max_age:
        _sign_out(keep_csrf=True)
    elif session_user(db.session(), session) is None:
        _sign_out(keep_csrf=True)


_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")  # fmt: skip


def format_plain_date(value: dt.datetime | None, with_time: bool = False) -> str:
    """A day (and time) in Asia/Shanghai as people write it: ``2027年5月20日`` (``2027年5月20日 12:00``), or
    ``20 May 2027`` on English pages; never an ISO stamp on the face of a page."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the display filter")
    local = value.astimezone(SHANGHAI)
    if lang() == "en":
        text = f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year}"
    else:
        text = f"{local.year}年{local.month}月{local.day}日"
    return f"{text} {local:%H:%M}" if with_time else text


def init_app(app: Flask) -> None:
    # Flask's own default for SameSite is None, so a ``setdefault`` cannot set it: say it here.
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    init_babel(app)
    app.jinja_env.filters["plain_date"] = format_plain_date
    app.before_request(_expire_old_sessions)
    init_csrf(app)
    register_page_errors(bp)
    app.register_blueprint(bp)
