"""A period's reports export (``GET /api/v1/counties/<county>/reports?format=xlsx|csv``) as a job (issue 17): for a
large county the file is made beside the hub like the fund report's PDF and lands in the download centre.

The job is the PDF jobs' rows (``district.rendering.jobs``; no table of its own): one ``PdfJob`` with
``period_from = period_to = period`` and one part of kind ``reports_export`` whose file name carries the format
(``610528_富平县_月报_2026-10.xlsx``, the synchronous download's name). It runs through the same machinery —
``workers.tasks.pdf`` with a broker, the hub's background thread and pool on the embedded default —
``jobs.run_part`` handing the part to :func:`run_export_part`, which builds the very table the GET sends
(``services.period_reports`` → ``reports_table``; a township_admin's rows only, as the GET), writes the file
and registers its SHA-256 in the register (``PdfDocument``, kind ``reports_export``), so the download centre
lists it with its size and the job's file URL serves it.

The same bytes registered before (the same CSV asked twice) are not registered again (the register's SHA-256 is
unique): the part points at that registration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from district.audit.services import record
from district.db import db, utcnow
from district.exports import services
from district.exports.xlsx import table_csv, table_xlsx
from district.registry.models import County
from district.rendering import jobs
from district.rendering.models import KIND_EXPORT, PdfDocument, PdfJob, PdfJobPart

__all__ = ["EXPORT_FORMATS", "create_export_job", "export_bytes", "export_filename", "run_export_part"]

EXPORT_FORMATS = ("xlsx", "csv")


def export_filename(county_code: str, county_name: str, period: str, fmt: str) -> str:
    """``610528_富平县_月报_2026-10.xlsx``: the name the synchronous GET gives the same file."""
    return f"{county_code}_{jobs._clean(county_name)}_月报_{period}.{fmt}"


def create_export_job(
    session: Session, county_code: str, period: str, fmt: str, *, requested_by: str, now: dt.datetime | None = None
) -> PdfJob:
    """Plan the export as a job (state ``queued``, one part). Audited as ``pdf.job`` (kind ``reports_export``).
    The caller commits, then hands the job over. ``LookupError``: no such county; ``ValueError``: a format
    other than xlsx/csv."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    job = PdfJob(
        county_code=county_code,
        school_code=None,
        period_from=period,
        period_to=period,
        year=None,
        requested_by=requested_by[:100],
        created_at=now or utcnow(),
        state="queued",
        verify_base=None,
    )
    session.add(job)
    session.flush()
    session.add(
        PdfJobPart(
            job_id=job.id,
            seq=0,
            kind=KIND_EXPORT,
            school_code=None,
            filename=export_filename(county_code, county.name, period, fmt),
            state="queued",
        )
    )
    record(session, actor=requested_by, action="pdf.job", county_code=county_code, job_id=job.id,
           period_from=period, period_to=period, parts=1, kind=KIND_EXPORT, format=fmt)  # fmt: skip
    session.flush()
    return job


def export_bytes(session: Session, job: PdfJob, part: PdfJobPart) -> bytes:
    """The file the GET would send the asker now: the period's effective reports of the schools the asker sees
    (none when the asker's account is gone), as xlsx or csv by the part's file name."""
    from district.auth.models import User
    from district.auth.services import rows_in_scope

    data = services.period_reports(session, job.county_code, job.period_from)
    user = session.scalars(select(User).where(User.username == job.requested_by)).first()
    data["reports"] = rows_in_scope(session, user, job.county_code, data["reports"]) if user is not None else []
    table = services.reports_table(data, services.county_name(session, job.county_code))
    return table_csv(table) if part.filename.endswith(".csv") else table_xlsx(table)


def run_export_part(part_id: int, pdf_dir: str | Path) -> str:
    """The export part, end to end (``jobs.run_part`` calls it; failures are recorded there): the table in a short
    read transaction, the file and its register row in a short write transaction. ``"done"`` or ``"skipped"``
    (already has its file, or its job is finished)."""
    with db.transaction(write=False) as s:
        part = s.get(PdfJobPart, part_id, populate_existing=True)
        if part is None or part.state != "queued":
            return "skipped"
        job = s.get(PdfJob, part.job_id, populate_existing=True)
        if job is None or job.state in ("done", "failed"):
            return "skipped"
        made_at = utcnow()
        body = export_bytes(s, job, part)
        prepared = jobs.PreparedPart(
            part_id=part.id,
            job_id=job.id,
            kind=KIND_EXPORT,
            filename=part.filename,
            document_no=jobs.document_no(job, part),
            made_at=made_at,
            html="",
            county_code=job.county_code,
            school_code=None,
            period_from=job.period_from,
            period_to=job.period_to,
            chain_digest="",
            snapshot_id=None,
            rubric_version=None,
        )
    with db.transaction() as s:
        db.begin_write(s)
        done = _record(s, prepared, body, pdf_dir)
    return "done" if done else "skipped"


def _record(session: Session, prepared: jobs.PreparedPart, body: bytes, pdf_dir: str | Path) -> bool:
    existing = session.scalars(
        select(PdfDocument).where(PdfDocument.sha256 == hashlib.sha256(body).hexdigest())
    ).first()
    if existing is None:
        return jobs.record_part(session, prepared, body, pdf_dir) is not None
    part = session.get(PdfJobPart, prepared.part_id, with_for_update=True, populate_existing=True)
    if part is None or part.state != "queued":
        return False
    jobs._write_atomically(jobs.job_dir(pdf_dir, prepared.job_id) / prepared.filename, lambda p: p.write_bytes(body))
    part.state, part.document_id, part.error = "done", existing.id, None
    session.flush()
    return True
