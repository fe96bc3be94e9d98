"""PDF jobs (PDF 生成任务) and the register of every PDF the hub made (PDF 登记).

A job is rows, so any worker process can do any part of it from ids alone:

1. ``create_job`` (the request, or the CLI): plans the parts — one per school with an expected month in the
   window, plus the county summary for a batch — and fixes each file's name. The caller commits, then enqueues
   ``start``.
2. ``start_job``: pins the county's current ranking snapshot (recomputed first when stale) and records the
   county's chain heads (``district.integrity.heads.record_heads``); every part prints that snapshot and that
   digest, so a batch never mixes two rankings.
3. ``prepare_part`` → bounded render → ``record_part``, per part: the HTML is built in a short read
   transaction, WeasyPrint runs outside any transaction (in a forked child bounded in time and memory), and
   the file and its ``PdfDocument`` row (its SHA-256) are written in a short write transaction that first
   locks the part: a part that already has its file is left alone, so a task run twice (a redelivery) does
   nothing the second time and never replaces a registered file.
4. ``finish_job``: once every part is done, the batch's zip (the PDFs and a ``SHA256SUMS.txt``), and the job
   is ``done``.

The county's 营养餐 fund report is a job too (``create_fund_job``, issue 17): one part of kind ``fund_report``,
no ranking pinned (the report pins nothing); its part reads the fund report of the job's window, for the schools
the asker sees (``school_filter`` of the asking user), and renders it like any other part.

``run_start``, ``run_part`` and ``run_finish`` are the transaction boundaries (each commits once per phase):
the Celery tasks (``workers.tasks.pdf``) and the CLI call them, and nothing else commits.

Files live under ``PDF_DIR/jobs/<job id>/``, named for their content:
``610528_2026_庄里镇中心小学_评估报告.pdf``, ``610528_2026_富平县_评估汇总报告.pdf``,
``610528_2026_富平县_评估报告.zip`` (a window asked as from/to: ``610528_2026-03至2026-10_…``).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import logging
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from district.audit.services import record
from district.db import db, utcnow
from district.files import create_private, private_dir
from district.integrity.heads import record_heads
from district.printing.pdf import RenderError, render_pdf, render_pdf_bounded
from district.registry.models import County, School
from district.rendering.evaluation import (
    Verification,
    county_summary_context,
    county_summary_html,
    school_evaluation_context,
    school_evaluation_html,
)
from district.rendering.models import (
    KIND_COUNTY,
    KIND_EXPORT,
    KIND_FUND,
    KIND_SCHOOL,
    PdfDocument,
    PdfJob,
    PdfJobPart,
)
from district.scoring import ranking
from district.scoring.engine import Window
from district.scoring.models import RankingSnapshot
from houqin_standard import SHANGHAI

__all__ = [
    "INTERRUPTED",
    "ONE_FILE_KINDS",
    "JobError",
    "PreparedPart",
    "all_parts_done",
    "check_job_limit",
    "create_fund_job",
    "create_job",
    "document_by_sha256",
    "fail_interrupted",
    "finish_job",
    "is_fund_job",
    "job_dir",
    "job_failed",
    "job_file",
    "job_view",
    "part_failed",
    "planned_schools",
    "prepare_part",
    "record_part",
    "register_part_runner",
    "run_finish",
    "run_part",
    "run_start",
    "seconds_left",
    "single_file_kind",
    "start_job",
    "unfinished_jobs",
    "user_jobs",
]

log = logging.getLogger(__name__)

SHA256_RE = re.compile(r"[0-9a-f]{64}")
_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_NAME_MAX = 60  # characters of a school name in a file name (UTF-8 file names stay under 255 bytes)


class JobError(ValueError):
    """A job that cannot be made; ``status`` and ``code`` are the API's answer (``retry_after``: seconds, for a
    429)."""

    def __init__(self, status: int, code: str, zh: str, en: str, *, retry_after: int | None = None) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.retry_after = retry_after

    def message(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else f"{self.zh} / {self.en}"


# ------------------------------------------------------------------------------------------------ names


def _clean(name: str) -> str:
    return _UNSAFE_IN_FILENAME.sub("_", name).strip(" ._")[:_NAME_MAX] or "_"


def window_tag(job: PdfJob) -> str:
    """``"2026"`` for a job asked as year=2026; ``"2026-03至2026-10"`` (or ``"2026-10"``) for from/to."""
    if job.year is not None:
        return str(job.year)
    if job.period_from == job.period_to:
        return job.period_from
    return f"{job.period_from}至{job.period_to}"


def school_filename(county_code: str, tag: str, school_name: str, school_code: str | None = None) -> str:
    """``610528_2026_富平县某某小学_评估报告.pdf`` (``school_code`` added when two schools share a name)."""
    middle = _clean(school_name) + (f"_{school_code}" if school_code else "")
    return f"{county_code}_{tag}_{middle}_评估报告.pdf"


def county_filename(county_code: str, tag: str, county_name: str) -> str:
    return f"{county_code}_{tag}_{_clean(county_name)}_评估汇总报告.pdf"


def zip_filename(county_code: str, tag: str, county_name: str) -> str:
    return f"{county_code}_{tag}_{_clean(county_name)}_评估报告.zip"


def ascii_filename(name: str, fallback_stem: str) -> str:
    """For clients without RFC 5987: the name itself when it is ASCII, else ``fallback_stem`` + its extension
    (anything non-ASCII or unsafe in a quoted header value replaced by ``_``)."""
    if not name.isascii():
        name = fallback_stem + Path(name).suffix
    return re.sub(r'[^\x20-\x7e]|["\\]', "_", name)


def document_no(job: PdfJob, part: PdfJobPart) -> str:
    """The number printed on every page: ``HQ-610528-000012-0003`` (county, job, part)."""
    return f"HQ-{job.county_code}-{job.id:06d}-{part.seq:04d}"


# ------------------------------------------------------------------------------------------------ planning


def planned_schools(session: Session, county: County, window: Window) -> list[School]:
    """The schools the engine lists for W: those with at least one expected month (the reporting calendar's
    ``expected_periods``), by code."""
    from district import calendar
    from district.reports import windows

    start = windows.reporting_start(session, county)
    schools = session.scalars(select(School).where(School.county_code == county.code).order_by(School.code))
    return [s for s in schools if calendar.expected_periods(county, s, window.periods, start)]


UNFINISHED = ("queued", "running")
#: What a refused asker is told to wait: about one school's report (a render is 2–10 s) and the poll of a client.
LIMIT_RETRY_AFTER_S = 30


def unfinished_jobs(session: Session, requested_by: str) -> int:
    """How many of ``requested_by``'s PDF jobs are queued or running."""
    return (
        session.scalar(
            select(func.count())
            .select_from(PdfJob)
            .where(PdfJob.requested_by == requested_by[:100], PdfJob.state.in_(UNFINISHED))
        )
        or 0
    )


def check_job_limit(session: Session, requested_by: str, limit: int) -> None:
    """Refuse a new job when ``requested_by`` already has ``limit`` unfinished ones (429 ``too_many_jobs``).

    The asker's user row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's writer already holds the
    database), so two requests of one user at once cannot both pass the count. ``limit`` < 1: no limit."""
    if limit < 1:
        return
    from district.auth.models import User

    session.execute(select(User.id).where(User.username == requested_by).with_for_update()).all()
    running = unfinished_jobs(session, requested_by)
    if running >= limit:
        raise JobError(
            429,
            "too_many_jobs",
            f"您已有 {running} 个 PDF 任务在排队或生成中（每人最多 {limit} 个），请等其完成后再申请",
            f"you already have {running} PDF jobs queued or running (at most {limit} per user); "
            "ask again when one has finished",
            retry_after=LIMIT_RETRY_AFTER_S,
        )


def create_job(
    session: Session,
    county_code: str,
    window: Window,
    *,
    requested_by: str,
    school_code: str | None = None,
    year: int | None = None,
    verify_base: str | None = None,
    now: dt.datetime | None = None,
) -> PdfJob:
    """Plan a job (state ``queued``): one school's report, or (no ``school_code``) every planned school's report
    plus the county summary. Audited as ``pdf.job``. The caller commits, then enqueues the start.

    Raises ``LookupError`` (unknown county, or a school not of this county) or :class:`JobError`
    (422 ``no_expected_month``: the school has no expected month in W; 422 ``no_schools``: the county has none).
    """
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    now = now or utcnow()
    if school_code is not None:
        school = session.get(School, school_code)
        if school is None or school.county_code != county_code:
            raise LookupError(school_code)
        if school not in planned_schools(session, county, window):
            raise JobError(
                422,
                "no_expected_month",
                "该校在此期间没有应报送的月份，不出具评估报告",
                "the school has no expected month in this window",
            )
        schools = [school]
    else:
        schools = planned_schools(session, county, window)
        if not schools:
            raise JobError(422, "no_schools", "该县在此期间没有应报送的学校", "no school of the county is expected")
    job = PdfJob(
        county_code=county_code,
        school_code=school_code,
        period_from=window.period_from,
        period_to=window.period_to,
        year=year,
        requested_by=requested_by[:100],
        created_at=now,
        state="queued",
        verify_base=(verify_base or None) and verify_base[:200],
    )
    session.add(job)
    session.flush()
    tag = window_tag(job)
    if school_code is None:
        session.add(
            PdfJobPart(
                job_id=job.id,
                seq=0,
                kind=KIND_COUNTY,
                school_code=None,
                filename=county_filename(county_code, tag, county.name),
                state="queued",
            )
        )
    names: dict[str, int] = {}
    for s in schools:
        key = _clean(s.name)
        names[key] = names.get(key, 0) + 1
    for seq, s in enumerate(schools, start=1):
        shared = names[_clean(s.name)] > 1
        session.add(
            PdfJobPart(
                job_id=job.id,
                seq=seq,
                kind=KIND_SCHOOL,
                school_code=s.code,
                filename=school_filename(county_code, tag, s.name, s.code if shared else None),
                state="queued",
            )
        )
    record(
        session,
        actor=requested_by,
        action="pdf.job",
        county_code=county_code,
        school_code=school_code,
        job_id=job.id,
        period_from=window.period_from,
        period_to=window.period_to,
        parts=len(schools) + (school_code is None),
    )
    session.flush()
    return job


def fund_filename(county_code: str, county_name: str, period_from: str, period_to: str) -> str:
    """The fund report's PDF as the synchronous download names it (``nutrition.services.fund_report_filename``):
    ``610528_富平县_营养餐资金报表_2026-09_2026-11.pdf``."""
    from types import SimpleNamespace
    from typing import cast

    from district.nutrition.engine import FundReport
    from district.nutrition.services import fund_report_filename

    named = SimpleNamespace(county_code=county_code, county_name=county_name, window_from=period_from,
                            window_to=period_to)  # fmt: skip
    return fund_report_filename(cast(FundReport, named), "pdf")


def create_fund_job(
    session: Session,
    county_code: str,
    window: Window,
    *,
    requested_by: str,
    year: int | None = None,
    verify_base: str | None = None,
    now: dt.datetime | None = None,
) -> PdfJob:
    """Plan the county's fund-report PDF as a job (state ``queued``, one part). Audited as ``pdf.job``. The caller
    commits, then enqueues the start. Raises ``LookupError`` for an unknown county."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    job = PdfJob(
        county_code=county_code,
        school_code=None,
        period_from=window.period_from,
        period_to=window.period_to,
        year=year,
        requested_by=requested_by[:100],
        created_at=now or utcnow(),
        state="queued",
        verify_base=(verify_base or None) and verify_base[:200],
    )
    session.add(job)
    session.flush()
    session.add(
        PdfJobPart(
            job_id=job.id,
            seq=0,
            kind=KIND_FUND,
            school_code=None,
            filename=fund_filename(county_code, county.name, window.period_from, window.period_to),
            state="queued",
        )
    )
    record(
        session,
        actor=requested_by,
        action="pdf.job",
        county_code=county_code,
        job_id=job.id,
        period_from=window.period_from,
        period_to=window.period_to,
        parts=1,
        kind=KIND_FUND,
    )
    session.flush()
    return job


def is_fund_job(session: Session, job: PdfJob) -> bool:
    """Whether ``job`` is a fund-report job (its one part is of kind ``fund_report``)."""
    return single_file_kind(session, job) == KIND_FUND


#: The kinds of a job of one file that pins nothing: the fund report's PDF and a period's reports export.
ONE_FILE_KINDS = (KIND_FUND, KIND_EXPORT)


def single_file_kind(session: Session, job: PdfJob) -> str | None:
    """The kind of ``job``'s one part when it is a one-file job (``ONE_FILE_KINDS``), else ``None``."""
    if job.school_code is not None:
        return None
    kind = session.scalar(select(PdfJobPart.kind).where(PdfJobPart.job_id == job.id, PdfJobPart.seq == 0))
    return kind if kind in ONE_FILE_KINDS else None


def _parts(session: Session, job_id: int) -> list[PdfJobPart]:
    return list(
        session.scalars(
            select(PdfJobPart)
            .where(PdfJobPart.job_id == job_id)
            .order_by(PdfJobPart.seq)
            .execution_options(populate_existing=True)
        )
    )


def _locked_job(session: Session, job_id: int) -> PdfJob | None:
    # FOR UPDATE on PostgreSQL (SQLite serialises writers); populate_existing: the scoped session may still hold
    # this row from an earlier transaction of the same task
    return session.get(PdfJob, job_id, with_for_update=True, populate_existing=True)


def start_job(session: Session, job_id: int, *, now: dt.datetime | None = None) -> list[int]:
    """Pin the job's ranking snapshot and chain heads (once) and mark it running.

    Returns the ids of the parts still to render (none when the job is finished, failed or unknown).
    """
    job = _locked_job(session, job_id)
    if job is None or job.state in ("done", "failed"):
        return []
    if single_file_kind(session, job) is not None:  # nothing to pin: the part reads the window as it is now
        if job.state == "queued":
            job.state = "running"
            job.started_at = now or utcnow()
            session.flush()
    elif job.snapshot_id is None:
        window = Window(job.period_from, job.period_to)
        snapshot = ranking.latest_ranking(session, job.county_code, window, trigger="pdf")
        assert snapshot is not None
        heads = record_heads(session, job.county_code)  # the county summary prints the pinned ranking's campaign
        job.snapshot_id = snapshot.id
        job.chain_digest = heads.digest
        job.state = "running"
        job.started_at = now or utcnow()
        session.flush()
    return [p.id for p in _parts(session, job.id) if p.state == "queued"]


# ------------------------------------------------------------------------------------------------ parts


@dataclass(frozen=True)
class PreparedPart:
    """A part's HTML, ready to render, and what its register row will say."""

    part_id: int
    job_id: int
    kind: str
    filename: str
    document_no: str
    made_at: dt.datetime
    html: str
    county_code: str
    school_code: str | None
    period_from: str
    period_to: str
    chain_digest: str
    snapshot_id: int | None
    rubric_version: str | None


def prepare_part(session: Session, part_id: int, *, now: dt.datetime | None = None) -> PreparedPart | None:
    """The part's HTML, or ``None`` when there is nothing to do (already has its file, job failed or gone).

    Raises ``RuntimeError`` when the job was not started (its snapshot is not pinned).
    """
    part = session.get(PdfJobPart, part_id, populate_existing=True)
    if part is None or part.state != "queued":
        return None
    job = session.get(PdfJob, part.job_id, populate_existing=True)
    if job is None or job.state in ("done", "failed"):
        return None
    if part.kind == KIND_FUND:
        return _prepare_fund(session, job, part, now or utcnow())
    if job.snapshot_id is None or job.chain_digest is None:
        raise RuntimeError(f"PDF job {job.id} was not started")
    # the rows (every school's figures and pinned inputs) are read when first used: the county's summaries once
    # per process (evaluation.snapshot_facts), each school's explanation from its pins (snapshots.school_view)
    snapshot = session.get(RankingSnapshot, job.snapshot_id, options=[defer(RankingSnapshot.results)])
    assert snapshot is not None
    made_at = now or utcnow()
    verification = Verification(
        document_no=document_no(job, part),
        made_at=made_at,
        chain_digest=job.chain_digest,
        verify_base=job.verify_base,
        job_id=job.id,
    )
    if part.kind == KIND_COUNTY:
        html = county_summary_html(county_summary_context(session, snapshot, verification))
    else:
        assert part.school_code is not None
        html = school_evaluation_html(school_evaluation_context(session, snapshot, part.school_code, verification))
    return PreparedPart(
        part_id=part.id,
        job_id=job.id,
        kind=part.kind,
        filename=part.filename,
        document_no=verification.document_no,
        made_at=made_at,
        html=html,
        county_code=job.county_code,
        school_code=part.school_code,
        period_from=job.period_from,
        period_to=job.period_to,
        chain_digest=job.chain_digest,
        snapshot_id=snapshot.id,
        rubric_version=snapshot.rubric_version,
    )


def _prepare_fund(session: Session, job: PdfJob, part: PdfJobPart, made_at: dt.datetime) -> PreparedPart:
    """The fund report's HTML: the report of the job's window, for the schools the asker sees now (a
    township_admin: its township's; ``school_filter``), as ``GET …/nutrition?format=pdf`` renders it."""
    from district.auth.models import User
    from district.auth.services import school_filter
    from district.nutrition import services as fund
    from district.nutrition.pdf import fund_report_html

    user = session.scalars(select(User).where(User.username == job.requested_by)).first()
    where = school_filter(user) if user is not None else None
    report = fund.fund_report(session, job.county_code, job.period_from, job.period_to, now=made_at,
                              schools_where=where)  # fmt: skip
    return PreparedPart(
        part_id=part.id,
        job_id=job.id,
        kind=part.kind,
        filename=part.filename,
        document_no=document_no(job, part),
        made_at=made_at,
        html=fund_report_html(report),
        county_code=job.county_code,
        school_code=None,
        period_from=job.period_from,
        period_to=job.period_to,
        chain_digest=report.chain_head or "",
        snapshot_id=None,
        rubric_version=None,
    )


def job_dir(pdf_dir: str | Path, job_id: int) -> Path:
    return Path(pdf_dir) / "jobs" / str(job_id)


def _write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    private_dir(target.parent)  # folders 0700, the file 0600 from its first byte (district/files.py)
    tmp = target.parent / f".{uuid.uuid4().hex}.tmp"
    try:
        create_private(tmp)
        write(tmp)
        os.replace(tmp, target)  # readers see the old file or the whole new one, never a half-written one
    finally:
        tmp.unlink(missing_ok=True)


def record_part(session: Session, prepared: PreparedPart, pdf: bytes, pdf_dir: str | Path) -> PdfDocument | None:
    """Store the rendered file and register its SHA-256; ``None`` when the part already has its file (another
    run of the same task got there first: its file and record stay as they are)."""
    part = session.get(PdfJobPart, prepared.part_id, with_for_update=True, populate_existing=True)
    if part is None or part.state != "queued":
        return None
    digest = hashlib.sha256(pdf).hexdigest()
    _write_atomically(job_dir(pdf_dir, prepared.job_id) / prepared.filename, lambda p: p.write_bytes(pdf))
    doc = PdfDocument(
        sha256=digest,
        document_no=prepared.document_no,
        kind=prepared.kind,
        county_code=prepared.county_code,
        school_code=prepared.school_code,
        period_from=prepared.period_from,
        period_to=prepared.period_to,
        made_at=prepared.made_at,
        job_id=prepared.job_id,
        chain_digest=prepared.chain_digest,
        snapshot_id=prepared.snapshot_id,
        rubric_version=prepared.rubric_version,
        filename=prepared.filename,
        size=len(pdf),
    )
    session.add(doc)
    session.flush()
    part.state = "done"
    part.document_id = doc.id
    part.error = None
    session.flush()
    return doc


def part_failed(session: Session, part_id: int, message: str) -> None:
    """Mark the part and its job failed (the job's remaining parts then do nothing)."""
    part = session.get(PdfJobPart, part_id, with_for_update=True, populate_existing=True)
    if part is None or part.state == "done":
        return
    part.state = "failed"
    part.error = message[:2000]
    job = _locked_job(session, part.job_id)
    if job is not None and job.state != "done":
        job.state = "failed"
        job.error = f"{part.filename}: {message}"[:2000]
        job.finished_at = utcnow()
    session.flush()


def job_failed(session: Session, job_id: int, message: str) -> None:
    """Mark a job failed as a whole (it could not be started or enqueued); finished jobs stay as they are."""
    job = _locked_job(session, job_id)
    if job is not None and job.state not in ("done", "failed"):
        job.state = "failed"
        job.error = message[:2000]
        job.finished_at = utcnow()
        session.flush()


#: Why a job a stopping hub could not finish failed (at the next start, or as the hub process exits).
INTERRUPTED = "枢纽在生成期间停止，请重新申请 / the hub stopped while the job was being made: ask again"


def fail_interrupted(session: Session, *, now: dt.datetime | None = None) -> list[int]:
    """At a hub's start on the embedded default (no broker): every job still queued or running was left by a
    hub that stopped (its background thread died with it), so it is marked failed, saying so; the parts it
    finished stay registered (``/verify`` still knows them). The asker asks again. Returns the job ids."""
    ids = list(session.scalars(select(PdfJob.id).where(PdfJob.state.in_(UNFINISHED)).order_by(PdfJob.id)))
    for job_id in ids:
        job = _locked_job(session, job_id)
        if job is None or job.state not in UNFINISHED:
            continue
        job.state = "failed"
        job.error = INTERRUPTED
        job.finished_at = now or utcnow()
    session.flush()
    return ids


def all_parts_done(session: Session, job_id: int) -> bool:
    left = session.scalar(
        select(func.count()).select_from(PdfJobPart).where(PdfJobPart.job_id == job_id, PdfJobPart.state != "done")
    )
    return not left


def finish_job(session: Session, job_id: int, pdf_dir: str | Path, *, now: dt.datetime | None = None) -> bool:
    """When every part is done: the zip of a batch, and the job ``done``. True when this call finished it."""
    job = _locked_job(session, job_id)
    if job is None or job.state in ("done", "failed") or not all_parts_done(session, job_id):
        return False
    parts = _parts(session, job_id)
    if job.school_code is None and not any(p.kind in ONE_FILE_KINDS for p in parts):  # a batch: its zip
        county = session.get(County, job.county_code)
        assert county is not None
        name = zip_filename(job.county_code, window_tag(job), county.name)
        docs = {d.id: d for d in session.scalars(select(PdfDocument).where(PdfDocument.job_id == job_id))}
        folder = job_dir(pdf_dir, job_id)
        stamp = (job.started_at or job.created_at).astimezone(SHANGHAI).timetuple()[:6]
        sums = []

        def write(path: Path) -> None:
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                for part in parts:
                    doc = docs[part.document_id or 0]
                    info = zipfile.ZipInfo(part.filename, date_time=stamp)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with (folder / part.filename).open("rb") as src, zf.open(info, "w") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    sums.append(f"{doc.sha256}  {part.filename}\n")
                info = zipfile.ZipInfo("SHA256SUMS.txt", date_time=stamp)
                zf.writestr(info, "".join(sums).encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)

        target = folder / name
        _write_atomically(target, write)
        data_hash = hashlib.sha256()
        with target.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                data_hash.update(chunk)
        job.zip_name = name
        job.zip_sha256 = data_hash.hexdigest()
        job.zip_size = target.stat().st_size
    job.state = "done"
    job.finished_at = now or utcnow()
    session.flush()
    return True


# ------------------------------------------------------------------------------------------------ reading


def document_by_sha256(session: Session, sha256: str) -> PdfDocument | None:
    """The register row of a PDF the hub made, by the file's SHA-256 (lower-case hex), or ``None``."""
    digest = sha256.strip().lower()
    if not SHA256_RE.fullmatch(digest):
        return None
    return session.scalars(select(PdfDocument).where(PdfDocument.sha256 == digest)).first()


def job_file(session: Session, job: PdfJob, name: str, pdf_dir: str | Path) -> tuple[Path, str, str | None] | None:
    """``(path, mimetype, school code)`` of one of the job's finished files, by its exact name (never a path from
    the caller: the name must be one the job made)."""
    if job.zip_name and name == job.zip_name and job.state == "done":
        return job_dir(pdf_dir, job.id) / name, "application/zip", None
    part = session.scalars(
        select(PdfJobPart).where(PdfJobPart.job_id == job.id, PdfJobPart.filename == name, PdfJobPart.state == "done")
    ).first()
    if part is None:
        return None
    return job_dir(pdf_dir, job.id) / part.filename, _MIMETYPES[Path(part.filename).suffix], part.school_code


_MIMETYPES = {
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
}


#: The most jobs ``GET /api/v1/jobs`` and the download centre list (the newest).
USER_JOBS_MAX = 50


def user_jobs(session: Session, requested_by: str, *, limit: int = USER_JOBS_MAX) -> list[PdfJob]:
    """The PDF jobs ``requested_by`` asked for (下载中心), newest first, at most ``limit`` (≤ ``USER_JOBS_MAX``).
    Only the asker's own: a job of a colleague in the same county is not listed, though its scope lets the
    caller open it by id (``GET /api/v1/jobs/<id>``)."""
    limit = max(1, min(limit, USER_JOBS_MAX))
    return list(
        session.scalars(
            select(PdfJob)
            .where(PdfJob.requested_by == requested_by[:100])
            .order_by(PdfJob.created_at.desc(), PdfJob.id.desc())
            .limit(limit)
            .execution_options(populate_existing=True)
        )
    )


def seconds_left(job: PdfJob, done: int, total: int, now: dt.datetime) -> int | None:
    """An estimate of the seconds a running job still needs, from the parts done so far: the time since it
    started per part done, times the parts left. ``None`` when there is nothing to go on (not started, no part
    done yet) or nothing left."""
    if job.state != "running" or job.started_at is None or done < 1 or done >= total:
        return None
    elapsed = max(0.0, (now - job.started_at).total_seconds())
    return max(1, round(elapsed / done * (total - done)))


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(SHANGHAI).isoformat()


def job_view(session: Session, job: PdfJob, file_url: Callable[[PdfJob, str], str]) -> dict[str, Any]:
    """The job as ``GET /api/v1/jobs/<id>`` shows it: state, progress and the finished files (the zip first)."""
    parts = _parts(session, job.id)
    doc_ids = [p.document_id for p in parts if p.document_id is not None]
    docs = {d.id: d for d in session.scalars(select(PdfDocument).where(PdfDocument.id.in_(doc_ids)))} if doc_ids else {}
    files: list[dict[str, Any]] = []
    if job.zip_name and job.state == "done":
        files.append(
            {"name": job.zip_name, "url": file_url(job, job.zip_name), "sha256": job.zip_sha256,
             "size": job.zip_size, "kind": "zip"}
        )  # fmt: skip
    for p in parts:
        doc = docs.get(p.document_id or 0)
        if p.state == "done" and doc is not None:
            files.append(
                {"name": p.filename, "url": file_url(job, p.filename), "sha256": doc.sha256, "size": doc.size,
                 "kind": p.kind, "school_code": p.school_code, "document_no": doc.document_no}
            )  # fmt: skip
    errors = [{"name": p.filename, "message": p.error} for p in parts if p.state == "failed"]
    return {
        "job_id": job.id,
        "state": job.state,
        "done": sum(1 for p in parts if p.state == "done"),
        "total": len(parts),
        "files": files,
        "kind": _job_kind(job, parts),
        "county_code": job.county_code,
        "school_code": job.school_code,
        "window": {"from": job.period_from, "to": job.period_to},
        "year": job.year,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "snapshot_id": job.snapshot_id,
        "chain_digest": job.chain_digest,
        "error": job.error,
        "errors": errors,
    }


def _job_kind(job: PdfJob, parts: Sequence[PdfJobPart]) -> str:
    if job.school_code:
        return "school"
    kinds = {p.kind for p in parts}
    return "fund" if KIND_FUND in kinds else ("export" if KIND_EXPORT in kinds else "batch")


# ------------------------------------------------------------------------------------------------ boundaries


@dataclass(frozen=True)
class RenderLimits:
    """How a part is rendered: in a bounded child (workers, web) or in this process (CLI, tests)."""

    bounded: bool = True
    timeout_s: float = 120
    max_rss_mb: int = 1024

    @classmethod
    def from_config(cls, config: Any, *, bounded: bool = True) -> RenderLimits:
        return cls(
            bounded=bounded,
            timeout_s=float(config.get("PDF_RENDER_TIMEOUT_S") or 120),
            max_rss_mb=int(config.get("PDF_RENDER_MAX_MB") or 1024),
        )


def run_start(job_id: int) -> list[int] | None:
    """``start_job`` in its own transaction; the part ids to render (enqueue them after this returns), or
    ``None`` when the start failed (recorded on the job, logged, not raised)."""
    try:
        with db.transaction() as s:
            db.begin_write(s)
            return start_job(s, job_id)
    except Exception as exc:
        log.exception("PDF job %s could not start", job_id)
        with db.transaction() as s:
            db.begin_write(s)
            job_failed(s, job_id, f"{type(exc).__name__}: {exc}")
        return None


PartRunner = Callable[[int, str | Path], str]
_part_runners: dict[str, PartRunner] = {}


def register_part_runner(kind: str, runner: PartRunner) -> None:
    """Who runs the parts of a job kind that is not a render: the exports' tables (``KIND_EXPORT``), registered
    by ``create_app`` (the exports sit above this package and import it, never the other way)."""
    _part_runners[kind] = runner


def run_part(part_id: int, pdf_dir: str | Path, limits: RenderLimits = RenderLimits()) -> str:
    """One part, end to end: ``"done"``, ``"skipped"`` (nothing to do) or ``"failed"`` (recorded on the part and
    its job; the error is logged, not raised)."""
    try:
        with db.transaction(write=False) as s:
            kind = s.scalar(select(PdfJobPart.kind).where(PdfJobPart.id == part_id))
        if kind == KIND_EXPORT:  # a table, not a render: written by the exports (district/exports/jobs.py)
            runner = _part_runners.get(kind)
            if runner is None:
                raise RuntimeError(f"no runner for {kind} parts: create_app registers it (register_part_runner)")
            return runner(part_id, pdf_dir)
        with db.transaction(write=False) as s:
            if kind == KIND_COUNTY:
                # the county summary may store the year's ranking snapshot (campaign progress): a writer from
                # the start, since on SQLite a read transaction that later writes fails if another writer got
                # in first. School parts only read (the pinned snapshot), so they never hold the write lock.
                db.begin_write(s)
            prepared = prepare_part(s, part_id)
        if prepared is None:
            return "skipped"
        if limits.bounded:
            # Freeze the heap before the render forks: the child's garbage collector then leaves the parent's
            # objects alone instead of touching (and so copying) every page of them, which made a bounded
            # render ~25 % slower than the same render in-process.
            gc.freeze()
            try:
                pdf = render_pdf_bounded(prepared.html, timeout_s=limits.timeout_s, max_rss_mb=limits.max_rss_mb)
            finally:
                gc.unfreeze()
        else:
            pdf = render_pdf(prepared.html)
        with db.transaction() as s:
            db.begin_write(s)
            doc = record_part(s, prepared, pdf, pdf_dir)
        return "done" if doc is not None else "skipped"
    except Exception as exc:  # a render error, a time limit, a school gone: the job says why
        if not isinstance(exc, RenderError):
            log.exception("PDF part %s failed", part_id)
        message = f"{type(exc).__name__}: {exc}"
        with db.transaction() as s:
            db.begin_write(s)
            part_failed(s, part_id, message)
        return "failed"


def run_finish(job_id: int, pdf_dir: str | Path) -> bool:
    with db.transaction() as s:
        db.begin_write(s)
        return finish_job(s, job_id, pdf_dir)


def job_parts(session: Session, job_id: int) -> Sequence[PdfJobPart]:
    return _parts(session, job_id)
