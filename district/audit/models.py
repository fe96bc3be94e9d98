"""The append-only audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from district.db import Base, utc_datetime


class AuditEntry(Base):
    """Who did what, when: accepted revisions, rejections, credentials, locks, inspections. Never updated."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[utc_datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60), index=True)
    county_code: Mapped[str | None] = mapped_column(String(6), nullable=True, index=True)
    school_code: Mapped[str | None] = mapped_column(String(10), nullable=True, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
