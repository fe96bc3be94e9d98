"""Signing in: password check, per-IP and per-username rate limits, and the lockout.

- Rate limits (fixed one-minute windows, shared through Redis when a broker is configured): at most
  ``LOGIN_PER_IP_PER_MINUTE`` attempts from one address and ``LOGIN_PER_USER_PER_MINUTE`` for one username
  (known or not, so probing unknown names costs the same).
- Lockout, counted per username *as typed* (lower-cased, known or not) and source address (``LoginFailures``):
  ``LOGIN_MAX_FAILURES`` (5) failures for a name from one address within ``LOGIN_LOCKOUT_MINUTES`` (15) lock
  that name *from that address* for 15 minutes, so someone elsewhere cannot lock the admin out;
  ``LOGIN_USER_MAX_FAILURES`` (50) failures for the name from every address together lock it everywhere (the
  ceiling on guessing spread over many addresses). While locked even the right password is refused, unchecked.
  A successful sign-in forgets its address's count, not the overall one.
- Nothing tells a known username from an unknown one: a wrong password, an unknown name and a disabled user
  all cost one argon2 verification, count one failure and get the same 401; a locked name gets the same 429
  whether or not a user has it (unknown names lock exactly as known ones do).
- Every outcome is audited (``user.login``, ``user.login_failed``, ``user.locked``), never the password.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from district.audit.services import record
from district.auth.models import LoginFailures, User
from district.auth.services import check_password, find_user, hash_password
from district.db import utcnow
from district.web.ratelimit import RateLimiter

DEFAULTS = {
    "LOGIN_PER_IP_PER_MINUTE": 30,
    "LOGIN_PER_USER_PER_MINUTE": 10,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_USER_MAX_FAILURES": 50,
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


#: ``LoginFailures.address`` of a name's count over every address.
EVERY_ADDRESS = "*"


def _counter(session: Session, name: str, address: str, now: dt.datetime) -> LoginFailures:
    """The failure count of ``name`` from ``address``, made when missing (a concurrent first failure of the
    same pair is settled by the unique constraint), row-locked on PostgreSQL."""
    query = (
        select(LoginFailures)
        .where(LoginFailures.username == name, LoginFailures.address == address)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = session.scalars(query).first()
    if row is None:
        try:
            with session.begin_nested():
                row = LoginFailures(username=name, address=address, failures=0, window_start=now)
                session.add(row)
        except IntegrityError:
            row = session.scalars(query).one()
    return row


def _locked_until(session: Session, name: str, address: str, now: dt.datetime) -> dt.datetime | None:
    """When the lock on ``name`` from ``address`` (or from everywhere) ends, or None when it is not locked."""
    query = select(LoginFailures.locked_until).where(
        LoginFailures.username == name,
        LoginFailures.address.in_((address, EVERY_ADDRESS)),
        LoginFailures.locked_until > now,
    )
    ends = [end for end in session.scalars(query) if end is not None]
    return max(ends) if ends else None


def _count_failure(session: Session, name: str, address: str, now: dt.datetime) -> dt.datetime | None:
    """Count one failure of ``name`` from ``address`` and overall; return the end of a lock it started."""
    window = dt.timedelta(minutes=setting("LOGIN_LOCKOUT_MINUTES"))
    # counts whose window and lock are long over go (an attacker's made-up names do not pile up)
    session.execute(
        delete(LoginFailures).where(
            LoginFailures.window_start < now - 2 * window,
            or_(LoginFailures.locked_until.is_(None), LoginFailures.locked_until < now),
        )
    )
    locked: dt.datetime | None = None
    for where, limit in ((address, setting("LOGIN_MAX_FAILURES")), (EVERY_ADDRESS, setting("LOGIN_USER_MAX_FAILURES"))):
        row = _counter(session, name, where, now)
        if row.window_start + window <= now:
            row.failures, row.window_start = 0, now
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + window
            row.failures, row.window_start = 0, now
            locked = max(locked or row.locked_until, row.locked_until)
    session.flush()
    return locked


def sign_in(
    session: Session, username: str, password: str, *, remote_addr: str | None, now: dt.datetime | None = None
) -> SignInResult:
    """Check one sign-in attempt. Flushes the failure counts and locks; the caller commits (even on failure)."""
    now = now or utcnow()
    username = username.strip()
    name, address = username.lower()[:80], (remote_addr or "-")[:64]
    actor = username[:100] or "anonymous"
    by_ip, by_user = _limiters()
    wait_ip = by_ip.hit(f"login-ip:{address}")
    wait_user = by_user.hit(f"login-user:{name}")
    if wait_ip is not None or wait_user is not None:
        record(session, actor=actor, action="user.login_throttled", ip=remote_addr)
        return SignInResult(reason="rate_limited", retry_after=max(wait_ip or 0, wait_user or 0))
    # a locked name is refused before anything about it is read: the same for a user's name and a made-up one
    if (until := _locked_until(session, name, address, now)) is not None:
        record(session, actor=actor, action="user.login_failed", ip=remote_addr, reason="locked")
        return SignInResult(reason="locked", retry_after=int((until - now).total_seconds()) + 1)
    user = find_user(session, username)
    # one argon2 verification whatever the name: an unknown name is checked against a dummy hash
    password_ok = check_password(user if user is not None else _dummy_user(), password)
    if user is None or not password_ok or user.disabled_at is not None:
        reason = "unknown_user" if user is None else "disabled" if user.disabled_at is not None else "bad_password"
        until = _count_failure(session, name, address, now)
        county = user.county_code if user is not None else None
        record(session, actor=actor, action="user.login_failed", county_code=county, ip=remote_addr, reason=reason)
        if until is not None:
            record(
                session, actor=actor, action="user.locked", county_code=county, ip=remote_addr, until=until.isoformat()
            )
            return SignInResult(reason="locked", retry_after=int((until - now).total_seconds()))
        return SignInResult(reason="bad_credentials")
    session.execute(delete(LoginFailures).where(LoginFailures.username == name, LoginFailures.address == address))
    record(session, actor=user.username, action="user.login", county_code=user.county_code, ip=remote_addr)
    session.flush()
    return SignInResult(user=user)
