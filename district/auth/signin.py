"""Signing in: password check, per-IP and per-username rate limits, and the account lockout.

- Rate limits (fixed one-minute windows, shared through Redis when a broker is configured): at most
  ``LOGIN_PER_IP_PER_MINUTE`` attempts from one address and ``LOGIN_PER_USER_PER_MINUTE`` for one username
  (known or not, so probing unknown names costs the same).
- Lockout: ``LOGIN_MAX_FAILURES`` (5) consecutive wrong passwords lock the account for
  ``LOGIN_LOCKOUT_MINUTES`` (15); while locked even the right password is refused, and the attempt is not
  checked at all. A successful sign-in resets the count.
- Every outcome is audited (``user.login``, ``user.login_failed``, ``user.locked``), never the password.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from district.api.ratelimit import RateLimiter
from district.audit.services import record
from district.auth.models import User
from district.auth.services import check_password, hash_password
from district.db import utcnow

DEFAULTS = {
    "LOGIN_PER_IP_PER_MINUTE": 30,
    "LOGIN_PER_USER_PER_MINUTE": 10,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCKOUT_MINUTES": 15,
    "LOGIN_SESSION_HOURS": 12,
}


@functools.cache
def _dummy_user() -> User:
    """Verified against when the username is unknown, so both cases cost one argon2 verification."""
    return User(password_hash=hash_password(secrets.token_urlsafe(16)))


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def _limiters() -> tuple[RateLimiter, RateLimiter]:
    ext = current_app.extensions
    if "houqin_login_limiters" not in ext:
        redis_url = current_app.config.get("BROKER_URL")
        ext["houqin_login_limiters"] = (
            RateLimiter(setting("LOGIN_PER_IP_PER_MINUTE"), redis_url),
            RateLimiter(setting("LOGIN_PER_USER_PER_MINUTE"), redis_url),
        )
    return ext["houqin_login_limiters"]


def reset_limiters() -> None:
    """Forget the in-process counters (tests)."""
    current_app.extensions.pop("houqin_login_limiters", None)


@dataclass
class SignInResult:
    """``user`` when signed in; else ``reason``: rate_limited | locked | bad_credentials (+ ``retry_after``)."""

    user: User | None = None
    reason: str | None = None
    retry_after: int = 0


def sign_in(
    session: Session, username: str, password: str, *, remote_addr: str | None, now: dt.datetime | None = None
) -> SignInResult:
    """Check one sign-in attempt. Flushes the failure count / lockout; the caller commits."""
    now = now or utcnow()
    username = username.strip()
    by_ip, by_user = _limiters()
    wait_ip = by_ip.hit(f"login-ip:{remote_addr or '-'}")
    wait_user = by_user.hit(f"login-user:{username.lower()}")
    if wait_ip is not None or wait_user is not None:
        record(session, actor=username[:100] or "anonymous", action="user.login_throttled", ip=remote_addr)
        return SignInResult(reason="rate_limited", retry_after=max(wait_ip or 0, wait_user or 0))
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        record(
            session,
            actor=user.username,
            action="user.login_failed",
            county_code=user.county_code,
            ip=remote_addr,
            reason="locked",
        )
        return SignInResult(reason="locked", retry_after=int((user.locked_until - now).total_seconds()) + 1)
    if user is None:
        check_password(_dummy_user(), password)
        record(
            session,
            actor=username[:100] or "anonymous",
            action="user.login_failed",
            ip=remote_addr,
            reason="unknown_user",
        )
        return SignInResult(reason="bad_credentials")
    if not check_password(user, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        record(
            session,
            actor=user.username,
            action="user.login_failed",
            county_code=user.county_code,
            ip=remote_addr,
            reason="bad_password",
            failures=user.failed_logins,
        )
        if user.failed_logins >= setting("LOGIN_MAX_FAILURES"):
            user.locked_until = now + dt.timedelta(minutes=setting("LOGIN_LOCKOUT_MINUTES"))
            user.failed_logins = 0
            record(
                session,
                actor=user.username,
                action="user.locked",
                county_code=user.county_code,
                ip=remote_addr,
                until=user.locked_until.isoformat(),
            )
            session.flush()
            return SignInResult(reason="locked", retry_after=setting("LOGIN_LOCKOUT_MINUTES") * 60)
        session.flush()
        return SignInResult(reason="bad_credentials")
    user.failed_logins = 0
    user.locked_until = None
    record(session, actor=user.username, action="user.login", county_code=user.county_code, ip=remote_addr)
    session.flush()
    return SignInResult(user=user)
