"""Users, passwords (argon2), API tokens, the accounts' sessions and the scope rules every bureau endpoint applies.

Scope rule: an object outside the user's scope does not exist for them (the API answers 404).

Sessions: a signed-in browser's cookie carries the user's ``session_generation`` of when it signed in; raising
it (:func:`end_sessions`: logout, disable, reset-password) signs out every session of that user at its next
request. A disabled user signs in nowhere, keeps no session and no token works for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from district.audit.services import record
from district.auth.models import ROLES, SCHOOL_ROLES, ApiToken, LoginFailures, User
from district.db import utcnow
from district.registry.models import City, County, School

_hasher = PasswordHasher()
MIN_PASSWORD = 8
CLERK_NAME_MAX = 36  # "web:" + the name fits report_revisions.signer (String(40))
log = logging.getLogger(__name__)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    scope: str | None = None,
    display_name: str = "",
    actor: str = "cli",
) -> User:
    """Create a user. ``scope`` is a city code (city_admin), county code (county roles) or school code."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must be at least {MIN_PASSWORD} characters")
    if role == "school_clerk" and len(username) > CLERK_NAME_MAX:
        # a clerk's revisions record their signer as "web:<username>" (report_revisions.signer, 40 characters)
        raise ValueError(f"a school_clerk's username must be at most {CLERK_NAME_MAX} characters")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        created_at=utcnow(),
        display_name=display_name or username,
    )
    if role == "city_admin":
        if not scope or session.get(City, scope) is None:
            raise ValueError(f"unknown city {scope!r}")
        user.city_code = scope
    elif role in ("county_admin", "county_viewer"):
        county = session.get(County, scope or "")
        if county is None:
            raise ValueError(f"unknown county {scope!r}")
        user.county_code, user.city_code = county.code, county.city_code
    elif role == "township_admin":  # scope "610528/庄里镇": a township of that county (issue 18)
        county_part, _, township = (scope or "").partition("/")
        county = session.get(County, county_part)
        if county is None:
            raise ValueError(f"unknown county {county_part!r}")
        if not township or session.scalar(township_named(county.code, township)) is None:
            raise ValueError(f"unknown township {township!r} in county {county.code}")
        user.county_code, user.city_code, user.township = county.code, county.city_code, township
    else:
        school = session.get(School, scope or "")
        if school is None:
            raise ValueError(f"unknown school {scope!r}")
        user.school_code, user.county_code = school.code, school.county_code
    session.add(user)
    session.flush()
    record(session, actor=actor, action="user.create", county_code=user.county_code, username=username, role=role)
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


DEFAULT_TOKEN_DAYS = 180


def token_days() -> int:
    """How long a new personal token lives (``HOUQIN_TOKEN_DAYS``, default 180)."""
    if has_app_context():
        return int(current_app.config.get("TOKEN_DAYS") or DEFAULT_TOKEN_DAYS)
    return DEFAULT_TOKEN_DAYS


def create_token(session: Session, user: User, name: str) -> str:
    """Return a new personal token (shown once); only its hash is stored. It expires after :func:`token_days`."""
    token = "hq_" + secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + dt.timedelta(days=token_days())
    session.add(
        ApiToken(user_id=user.id, name=name, token_sha256=_token_digest(token), created_at=now, expires_at=expires_at)
    )
    session.flush()
    record(
        session,
        actor=user.username,
        action="token.create",
        county_code=user.county_code,
        name=name,
        expires_at=expires_at.isoformat(),
    )
    return token


@dataclass(frozen=True)
class TokenCheck:
    """A presented token: ``row`` when it may be used, else ``refusal``: ``unknown`` (never issued, or revoked:
    the same to the caller), ``expired`` or ``disabled`` (its user is disabled)."""

    row: ApiToken | None
    refusal: str | None = None


def check_token(session: Session, token: str) -> TokenCheck:
    """Whether a presented token may be used now. Reads only."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == _token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        return TokenCheck(None, "unknown")
    if row.expires_at <= utcnow():
        return TokenCheck(None, "expired")
    if row.user.disabled_at is not None:
        return TokenCheck(None, "disabled")
    return TokenCheck(row)


def token_row(session: Session, token: str) -> ApiToken | None:
    """The token row for a presented token that may be used now (unrevoked, unexpired, its user enabled)."""
    return check_token(session, token).row


def user_for_token(session: Session, token: str) -> User | None:
    row = token_row(session, token)
    return row.user if row is not None else None


TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)  # a token's last use is stamped at most once a minute


def record_token_use(row: ApiToken) -> None:
    """Note a token's last use: the one write a GET may make, so it is cheap and can never fail a request.

    Only when the stored stamp is older than :data:`TOKEN_USE_RESOLUTION`; in a short transaction of its own
    (its own session: never the request's, which stays a read), waiting at most 200 ms for SQLite's write lock;
    a failure (a busy database) is logged and forgotten."""
    from district.db import db

    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < TOKEN_USE_RESOLUTION:
        return
    stamp = db.session_factory()
    try:
        db.begin_write(stamp, sqlite_busy_ms=200)
        stamp.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        stamp.commit()
        set_committed_value(row, "last_used_at", now)  # as stored; not a change the request's session would write
    except Exception:  # best effort by design: the request goes on whatever happened here
        log.info("token %s: last use not recorded", row.id, exc_info=True)
        stamp.rollback()
    finally:
        stamp.close()


def revoke_token(session: Session, user: User, token_id: int) -> bool:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    record(session, actor=user.username, action="token.revoke", county_code=user.county_code, token_id=token_id)
    return True


# ---------------------------------------------------------------- accounts and their sessions


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def session_user(session: Session, cookie: Any) -> User | None:
    """The user a signed-in browser session stands for, or None when it no longer does: its user is gone or
    disabled, or its generation is not the user's current one (logout, disable or reset-password since)."""
    user_id = cookie.get("user_id")
    if not user_id:
        return None
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        return None
    if cookie.get("gen") != user.session_generation:
        return None
    return user


def end_sessions(user: User) -> None:
    """Sign out every browser session of ``user`` (each is refused at its next request)."""
    user.session_generation = (user.session_generation or 0) + 1


def forget_login_failures(session: Session, user: User) -> None:
    """Lift the sign-in lockout of the user's name (every address): after an administrator's reset or enable."""
    session.execute(delete(LoginFailures).where(LoginFailures.username == user.username.lower()))


def disable_user(session: Session, user: User, *, actor: str = "cli") -> None:
    """No more sign-in, its sessions end at once and its tokens are refused (not revoked: ``enable`` restores
    them). Idempotent; audited as ``user.disable``."""
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    end_sessions(user)
    session.flush()
    record(session, actor=actor, action="user.disable", county_code=user.county_code, username=user.username)


def enable_user(session: Session, user: User, *, actor: str = "cli") -> None:
    """Undo :func:`disable_user` (its unexpired, unrevoked tokens work again); lifts its lockout. Audited."""
    user.disabled_at = None
    forget_login_failures(session, user)
    session.flush()
    record(session, actor=actor, action="user.enable", county_code=user.county_code, username=user.username)


def generate_password() -> str:
    """A one-time password to be handed to the user: 16 characters of an alphabet without look-alikes."""
    alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def reset_password(session: Session, user: User, password: str | None = None, *, actor: str = "cli") -> str:
    """Set a new password (``password``, or a generated one) and return it; every session of the user ends and
    its lockout is lifted. Tokens are left as they are (``revoke_tokens`` for those). Audited, never the
    password."""
    if password is None:
        password = generate_password()
    elif len(password) < MIN_PASSWORD:
        raise ValueError(f"password must be at least {MIN_PASSWORD} characters")
    user.password_hash = hash_password(password)
    end_sessions(user)
    forget_login_failures(session, user)
    session.flush()
    record(session, actor=actor, action="user.password_reset", county_code=user.county_code, username=user.username)
    return password


def revoke_tokens(session: Session, user: User, *, actor: str = "cli") -> list[int]:
    """Revoke every active token of ``user``; return their ids. Audited as ``user.tokens_revoke``."""
    rows = list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
        )
    )
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    session.flush()
    record(
        session,
        actor=actor,
        action="user.tokens_revoke",
        county_code=user.county_code,
        username=user.username,
        token_ids=[row.id for row in rows],
    )
    return [row.id for row in rows]


# ---------------------------------------------------------------- scope


def can_see_county(session: Session, user: User, county_code: str) -> bool:
    if user.role == "city_admin":
        county = session.get(County, county_code)
        return county is not None and county.city_code == user.city_code
    if user.role in ("county_admin", "county_viewer", "township_admin"):  # township_admin: rows filtered
        return user.county_code == county_code
    return False


def can_see_school(session: Session, user: User, school_code: str) -> bool:
    if user.role in SCHOOL_ROLES:  # a school's viewer or clerk: its own school only
        return user.school_code == school_code
    school = session.get(School, school_code)
    if school is None or not can_see_county(session, user, school.county_code):
        return False
    township = township_scope(user)
    return township is None or school.township.name == township


def township_scope(user: User) -> str | None:
    """The township a user is held to (a township_admin's), or None: every school of the counties it sees."""
    return user.township if user.role == "township_admin" else None


def township_named(county_code: str, name: str) -> Any:
    """``select(Township.id)`` of the township ``name`` in the county."""
    from district.registry.models import Township

    return select(Township.id).where(Township.county_code == county_code, Township.name == name)


def school_filter(user: User) -> Any:
    """The one township filter (issue 18): a clause on ``School`` keeping the schools a county-level list may
    show this user (a township_admin: its township's), or None for every school of the county. Every view and
    API listing a county's schools applies it: ``q.where(f)`` when ``f is not None``."""
    township = township_scope(user)
    if township is None:
        return None
    return School.township_id.in_(township_named(user.county_code or "", township))


def school_codes_in_scope(session: Session, user: User, county_code: str) -> set[str] | None:
    """The county's school codes this user may see, or None for all of them: for lists built from rows
    (computed rankings, fund rows) rather than from a query on ``School``."""
    clause = school_filter(user)
    if clause is None:
        return None
    return set(session.scalars(select(School.code).where(School.county_code == county_code, clause)))


def rows_in_scope(
    session: Session, user: User, county_code: str, rows: list[Any], field: str = "school_code"
) -> list[Any]:
    """``rows`` (dicts, or objects with the attribute ``field``) of the county's schools this user may see:
    every row for a county-wide role, its township's for a township_admin (:func:`school_filter`)."""
    codes = school_codes_in_scope(session, user, county_code)
    if codes is None:
        return rows
    return [r for r in rows if (r[field] if isinstance(r, dict) else getattr(r, field)) in codes]


def can_review(session: Session, user: User, school_code: str) -> bool:
    """Reviewing a school's reports (issue 18): its county_admin, or the township_admin of its township."""
    return user.role in ("county_admin", "township_admin") and can_see_school(session, user, school_code)


def can_submit_for(user: User, school_code: str) -> bool:
    """Reporting for a school through the web (district/submission): its own school_clerk only."""
    return user.role == "school_clerk" and user.school_code == school_code


def can_lock_period(session: Session, user: User, county_code: str) -> bool:
    """Locking and unlocking a county's period: the county's own act (its county_admin); a city_admin reads
    everything in the city but locks no county's period (API.md, second wave)."""
    return user.role == "county_admin" and can_see_county(session, user, county_code)


def can_admin_county(session: Session, user: User, county_code: str) -> bool:
    """Locking periods and recording inspections: county_admin of that county (and city_admin above it)."""
    return user.role in ("county_admin", "city_admin") and can_see_county(session, user, county_code)


def visible_counties(session: Session, user: User) -> list[County]:
    q = select(County).order_by(County.code)
    if user.role == "city_admin":
        q = q.where(County.city_code == user.city_code)
    elif user.county_code:
        q = q.where(County.code == user.county_code)
    return list(session.scalars(q))
