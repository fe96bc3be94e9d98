"""Bureau users, their roles and scopes, and personal API tokens (stored hashed)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from district.db import Base, utc_datetime

ROLES = ("city_admin", "county_admin", "county_viewer", "school_viewer", "school_clerk", "township_admin")
#: the roles of one school (scope: ``school_code``): it sees only its own school; a clerk also reports for it
SCHOOL_ROLES = ("school_viewer", "school_clerk")


class User(Base):
    """A bureau user. Scope: ``city_code`` for city_admin, ``county_code`` for county roles, ``school_code``."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    city_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    county_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    school_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # township_admin (学区): the name of its township inside ``county_code`` (issue 18)
    township: Mapped[str | None] = mapped_column(String(60), nullable=True)
    # Every signed-in browser session carries the generation it began in; raising it (logout, disable,
    # reset-password) signs out every session of the user at their next request (docs/DECISIONS.md).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled_at: Mapped[utc_datetime | None] = mapped_column(nullable=True)  # no sign-in, no session, no token
    created_at: Mapped[utc_datetime]
    language: Mapped[str] = mapped_column(String(5), default="zh")


class ApiToken(Base):
    """A personal API token: only its SHA-256 is stored; revocable; expires; last use recorded."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[utc_datetime]
    expires_at: Mapped[utc_datetime]  # created_at + HOUQIN_TOKEN_DAYS (180)
    last_used_at: Mapped[utc_datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[utc_datetime | None] = mapped_column(nullable=True)

    user: Mapped[User] = relationship()


class LoginFailures(Base):
    """Failed sign-ins counted for one username (as typed, lower-cased; known or not) from one address, and
    for the username from every address (``address == "*"``): the lockout's counters (auth/signin.py).

    Kept per name rather than per user so that an unknown name fails, counts and locks exactly as a known one."""

    __tablename__ = "login_failures"
    __table_args__ = (UniqueConstraint("username", "address"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[utc_datetime] = mapped_column(index=True)
    locked_until: Mapped[utc_datetime | None] = mapped_column(nullable=True)
