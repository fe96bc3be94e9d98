"""Users, passwords (argon2), API tokens and the scope rules every bureau endpoint applies.

Scope rule: an object outside the user's scope does not exist for them (the API answers 404).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from district.audit.services import record
from district.auth.models import ROLES, ApiToken, User
from district.db import utcnow
from district.registry.models import City, County, School

_hasher = PasswordHasher()
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
    if len(password) < 8:
        raise ValueError("password must be at least 8 characters")
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


def create_token(session: Session, user: User, name: str) -> str:
    """Return a new personal token (shown once); only its hash is stored."""
    token = "hq_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_sha256=_token_digest(token), created_at=utcnow()))
    session.flush()
    record(session, actor=user.username, action="token.create", county_code=user.county_code, name=name)
    return token


def token_row(session: Session, token: str) -> ApiToken | None:
    """The unrevoked token row for a presented token, or None. Reads only."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == _token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row


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


# ---------------------------------------------------------------- scope


def can_see_county(session: Session, user: User, county_code: str) -> bool:
    if user.role == "city_admin":
        county = session.get(County, county_code)
        return county is not None and county.city_code == user.city_code
    if user.role in ("county_admin", "county_viewer"):
        return user.county_code == county_code
    return False


def can_see_school(session: Session, user: User, school_code: str) -> bool:
    if user.role == "school_viewer":
        return user.school_code == school_code
    school = session.get(School, school_code)
    return school is not None and can_see_county(session, user, school.county_code)


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
