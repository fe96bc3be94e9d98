"""The append-only audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from district.db import Base, utc_datetime


class AuditEntry(Base):
    """Who did what, when: accepted revisions, rejections, credentials, locks, inspections. Never updated."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("chain_key", "chain_seq", name="uq_audit_log_chain_key_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[utc_datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60), index=True)
    county_code: Mapped[str | None] = mapped_column(String(6), nullable=True, index=True)
    school_code: Mapped[str | None] = mapped_column(String(10), nullable=True, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # administrative acts (locks, unlocks, credentials, inspections) are chained per county; others are not
    chain_key: Mapped[str | None] = mapped_column(String(10), nullable=True)
    chain_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entry_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ChainHeadRecord(Base):
    """A county's chain heads recorded at a moment (daily, and whenever a report is printed from them).

    ``digest`` is SHA-256 over the sorted ``school:seq:hash`` lines: the one value a printed report shows.
    """

    __tablename__ = "chain_head_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    recorded_at: Mapped[utc_datetime]
    digest: Mapped[str] = mapped_column(String(64))
    heads: Mapped[dict[str, Any]] = mapped_column(JSON)  # school -> [chain_seq, chain_hash]
