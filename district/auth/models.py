"""Bureau users, their roles and scopes, and personal API tokens (stored hashed)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from district.db import Base, utc_datetime

ROLES = ("city_admin", "county_admin", "county_viewer", "school_viewer")


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
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[utc_datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[utc_datetime]
    language: Mapped[str] = mapped_column(String(5), default="zh")


class ApiToken(Base):
    """A personal API token: only its SHA-256 is stored; revocable; last use recorded."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[utc_datetime]
    last_used_at: Mapped[utc_datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[utc_datetime | None] = mapped_column(nullable=True)

    user: Mapped[User] = relationship()
