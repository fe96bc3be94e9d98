"""PDF jobs and the record of every PDF the hub made (评估报告 and their verification).

- ``PdfJob``: one request for evaluation reports — one school, or every school of a county plus the county
  summary and a zip. Its ranking snapshot and the county's chain head digest are pinned when the job starts,
  so every file of a batch shows the same ranking and names the same digest.
- ``PdfJobPart``: one file of a job (``seq`` 0 is the county summary of a batch, 1… the schools). Its file name
  is fixed when the job is planned, so two schools with the same name never overwrite each other. A fund-report
  job (issue 17) is a job of one part of kind ``fund_report`` (``seq`` 0, no school): no ranking is pinned.
- ``PdfDocument``: every PDF made, with its SHA-256. Appended once per file and never updated: it is what
  ``GET /verify/<sha256>`` answers from, so a printed report can be checked against the hub years later.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from district.db import Base, period_str, utc_datetime

JOB_STATES = ("queued", "running", "done", "failed")
PART_STATES = ("queued", "done", "failed")
KIND_SCHOOL = "school_evaluation"
KIND_COUNTY = "county_summary"
KIND_FUND = "fund_report"  # the county's 营养餐 fund report (a job of this one part)
KIND_EXPORT = "reports_export"  # a period's raw reports as xlsx or csv (a job of this one part; issue 17)


class PdfJob(Base):
    """A request for evaluation reports (a row, so any worker process can pick up its parts by id)."""

    __tablename__ = "pdf_jobs"
    __table_args__ = (Index("ix_pdf_jobs_county_created", "county_code", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"))
    school_code: Mapped[str | None] = mapped_column(ForeignKey("schools.code"), nullable=True)  # one-school job
    period_from: Mapped[period_str]
    period_to: Mapped[period_str]
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)  # asked as year=Y: files are named "…_Y_…"
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[utc_datetime]
    state: Mapped[str] = mapped_column(String(10))  # queued | running | done | failed
    started_at: Mapped[utc_datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[utc_datetime | None] = mapped_column(nullable=True)
    # pinned by the start task: the ranking every file shows, and the chain heads it was built on
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("ranking_snapshots.id"), nullable=True)
    chain_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verify_base: Mapped[str | None] = mapped_column(String(200), nullable=True)  # printed verification URL prefix
    zip_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    zip_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    zip_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class PdfJobPart(Base):
    """One file of a job: the county summary (``seq`` 0, batches only) or one school's report."""

    __tablename__ = "pdf_job_parts"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_pdf_job_parts_job_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("pdf_jobs.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # school_evaluation | county_summary | fund_report | reports_export
    school_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(10))  # queued | done | failed
    document_id: Mapped[int | None] = mapped_column(ForeignKey("pdf_documents.id"), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class PdfDocument(Base):
    """A PDF the hub made: its SHA-256 and what it is. Never updated, never deleted."""

    __tablename__ = "pdf_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    document_no: Mapped[str] = mapped_column(String(40), unique=True)  # printed on every page, e.g. HQ-610528-…
    kind: Mapped[str] = mapped_column(String(20))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    school_code: Mapped[str | None] = mapped_column(String(10), nullable=True, index=True)
    period_from: Mapped[period_str]
    period_to: Mapped[period_str]
    made_at: Mapped[utc_datetime]  # the generation time printed in the PDF
    job_id: Mapped[int] = mapped_column(ForeignKey("pdf_jobs.id"), index=True)
    chain_digest: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rubric_version: Mapped[str | None] = mapped_column(String(80), nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)


__all__ = [
    "JOB_STATES",
    "KIND_COUNTY",
    "KIND_EXPORT",
    "KIND_FUND",
    "KIND_SCHOOL",
    "PART_STATES",
    "PdfDocument",
    "PdfJob",
    "PdfJobPart",
]
