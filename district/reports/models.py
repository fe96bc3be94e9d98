"""Report revisions (append-only), the derived effective-revision index, the hazard ledger (with the findings of
the bureau's inspections, ``InspectionFinding``), rejections, locks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from district.db import Base, period_str, utc_datetime


class ReportRevision(Base):
    """One accepted report revision. Never updated, never deleted.

    ``content`` is the canonical JSON (sorted keys, no spaces) whose SHA-256 is ``content_sha256``.
    ``revision`` counts 1, 2, … per (school, period); the highest is the effective one.
    """

    __tablename__ = "report_revisions"
    __table_args__ = (
        UniqueConstraint("school_code", "period", "revision"),
        # one successor per link: a school's chain can never fork, whatever the race
        UniqueConstraint("school_code", "chain_seq", name="uq_report_revisions_school_chain_seq"),
        # (school_code, period) lookups use the first unique constraint's index: no index of their own, one
        # index less to write per report
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[str] = mapped_column(String(36), unique=True)
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"))
    period: Mapped[period_str]
    revision: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[utc_datetime]
    # "credential:<id>" of the key that signed it, or "web:<username>" of the clerk who sent it from the hub's
    # school pages (district/submission)
    signer: Mapped[str] = mapped_column(String(40))
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    on_time: Mapped[bool] = mapped_column(Boolean)
    # tamper evidence (docs/AUDIT.md): position in the school's chain, the previous link, and this link
    chain_seq: Mapped[int] = mapped_column(Integer)
    prev_chain_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    # the county's 后勤行事历 version that judged a @2 report's ``calendar.tasks`` (the one in force when it
    # arrived, ``district.duties``); ``None`` for the calendar shipped with the hub, and for @1 reports. No
    # foreign key: SQLite could add one only by copying this table, which others refer to; versions are
    # never deleted
    calendar_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ReportHead(Base):
    """Derived index: the effective (newest accepted) revision of each school-period and when it first arrived.

    Kept with every write of a revision (``reports.services``), so every read is one join. ``figures`` are the
    effective revision's figures (``district.reports.figures``: what scoring reads of it, as JSON), written with
    it, so that a ranking reads the heads alone; ``None`` for a head written by other means (``houqin db
    figures`` fills them). Scoring reads the content of a revision without figures of the current layout, so a
    missing value costs time, never a wrong score.
    """

    __tablename__ = "report_heads"
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("report_revisions.id"))
    revisions: Mapped[int] = mapped_column(Integer)
    first_received_at: Mapped[utc_datetime]
    on_time: Mapped[bool] = mapped_column(Boolean)
    figures: Mapped[str | None] = mapped_column(Text, nullable=True)


class HazardEntry(Base):
    """One hazard-ledger entry as one revision stated it. The ledger is the latest entry per (school, ref)."""

    __tablename__ = "hazard_entries"
    __table_args__ = (Index("ix_hazard_entries_school_ref", "school_code", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("report_revisions.id"), index=True)
    school_code: Mapped[str] = mapped_column(String(10))
    period: Mapped[period_str]
    ref: Mapped[str] = mapped_column(String(40))
    found_on: Mapped[dt.date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    deadline: Mapped[dt.date] = mapped_column(Date)
    rectified_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class Rejection(Base):
    """The only trace a rejected submission leaves: who, when, why — never the body."""

    __tablename__ = "rejections"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[utc_datetime]
    school_code: Mapped[str | None] = mapped_column(String(10), nullable=True, index=True)
    report_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    period: Mapped[str | None] = mapped_column(String(7), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(60))
    details: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{path, code}] only
    remote_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # refusals this row stands for: 1, or more for an unsigned flood logged aggregated (district/api/refusals.py)
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class SeenSignature(Base):
    """Signatures seen inside the replay window; pruned after the window has passed."""

    __tablename__ = "seen_signatures"
    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    # no index: the table holds the replay window's signatures only, and its prune (every 10 min) may scan it
    seen_at: Mapped[utc_datetime]


class PeriodApproval(Base):
    """Lock (approve) and unlock acts of a county's period, appended; the latest act is the state."""

    __tablename__ = "period_approvals"
    __table_args__ = (Index("ix_period_approvals_county_period", "county_code", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"))
    period: Mapped[period_str]
    action: Mapped[str] = mapped_column(String(10))  # "lock" | "unlock"
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[utc_datetime]
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReportReview(Base):
    """One review decision on one revision (issue 18): ``approved`` or ``returned`` with a comment. Appended,
    never updated; a period's review is the latest decision on its effective revision (``review/services.py``),
    so a new revision is 待审核 again without anything being cleared."""

    __tablename__ = "report_reviews"
    __table_args__ = (Index("ix_report_reviews_school_period", "school_code", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("report_revisions.id"), index=True)
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    period: Mapped[period_str]
    decision: Mapped[str] = mapped_column(String(10))  # "approved" | "returned"
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(80))
    at: Mapped[utc_datetime]


class InspectionFinding(Base):
    """One problem found on a visit 督查发现的问题: a hazard-ledger entry of the school, ref ``DC-<inspection>-<n>``.

    Written once with its inspection and never changed; the school closes it by stating the ref with
    ``rectified_on`` in a later report (``district.reports.hazards.hazard_ledger`` merges the two).
    """

    __tablename__ = "inspection_findings"
    __table_args__ = (
        UniqueConstraint("ref"),
        Index("ix_inspection_findings_county_period", "county_code", "period"),
        Index("ix_inspection_findings_school_period", "school_code", "period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"))
    county_code: Mapped[str] = mapped_column(String(6))
    n: Mapped[int] = mapped_column(Integer)  # 1, 2, … in the order given
    ref: Mapped[str] = mapped_column(String(40))
    period: Mapped[period_str]  # the month of the visit: the ledger as it stood at a period counts it from then
    found_on: Mapped[dt.date] = mapped_column(Date)  # the visit's date
    category: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    deadline: Mapped[dt.date] = mapped_column(Date)
