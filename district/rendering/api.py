"""HTTP edge of the evaluation reports: ask for PDFs, follow the job, download its files, verify a PDF.

- ``POST /api/v1/counties/<county>/reports/pdf`` ``{"school": CODE, "from": P, "to": P}`` or ``{"year": Y}``
  (``school`` optional; ``school_code`` is accepted as its alias, as the dashboard sends it; neither window:
  the current year) → 202 ``{"job_id", "state", "total", …}``. One school: anyone who may see that school
  (a ``school_viewer`` its own). All schools (a batch: every school's report, the county summary and a zip):
  a county or city admin of that county (403 for viewers). Check order: 401 → 415 → 422 (body) → 404 (scope)
  → 403 → 400 (window) → 429 (``too_many_jobs``: the asker already has ``PDF_JOBS_PER_USER`` jobs queued or
  running; ``Retry-After``) → 422 (nothing to print).
- ``POST /api/v1/counties/<county>/nutrition/pdf`` ``{"from": P, "to": P}`` (or ``year`` / ``school_year``; none:
  the default window, as ``GET …/nutrition``) → 202 with the job of the county's 营养餐 fund report PDF (issue 17):
  anyone who may read the county's fund report; the same per-user limit. ``GET …/nutrition?format=pdf`` still
  answers the PDF itself, in the request, for API clients (API.md).
- ``GET /api/v1/jobs/<id>`` → ``{"job_id", "state": queued|running|done|failed, "done", "total", "files": [{"name",
  "url", "sha256", "size"}], …}``; 404 outside the caller's scope.
- ``GET /api/v1/jobs?limit=N`` → ``{"jobs": [...]}``: the caller's own jobs (``requested_by``), newest first, each as
  ``GET /api/v1/jobs/<id>`` shows it plus ``id`` and ``seconds_left`` (an estimate, running jobs only); ``limit``
  1–50 (default 50), anything else 400 ``invalid_limit``. The download centre (``/downloads``) shows the same.
- ``GET /api/v1/jobs/<id>/files/<name>``: the file, ``Content-Disposition: attachment`` with the UTF-8 name
  (RFC 5987 ``filename*``) and an ASCII fallback.
- ``GET /verify/<sha256>`` (public, no sign-in): whether this hub made the PDF with that SHA-256, when, for which
  school and window; 404 "not made by this hub" otherwise. HTML, Chinese with English.

No request makes the PDFs: with a broker the job goes to the ``pdf`` queue; on the embedded default (no broker)
to the hub process's background thread (``workers.background``), so the 202 says ``queued`` (or ``running``)
and the asker follows ``GET /api/v1/jobs/<id>``. Only the test app (``TESTING``) runs the tasks in the request:
a test's rows are uncommitted, invisible to another thread's connection.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, current_app, jsonify, render_template, request, send_file

from district import calendar, clock
from district.db import db
from district.registry.models import County, School
from district.rendering import jobs
from district.rendering.models import KIND_COUNTY, KIND_SCHOOL, PdfJob
from district.rendering.schemas import FUND_PDF_JOB, PDF_JOB
from district.reports import windows
from district.unit_of_work import commit_now
from district.web.auth import (
    bureau_required,
    current_user,
    not_found,
    require_county,
    require_county_admin,
    require_school,
)
from district.web.body import read_json
from district.web.errors import ApiError, lang
from district.web.schemas import Schema
from houqin_standard import SHANGHAI

bp = Blueprint("rendering_api", __name__, url_prefix="/api/v1")
verify_bp = Blueprint("pdf_verify", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(verify_bp)


# ------------------------------------------------------------------------------------------------ jobs


def _body(schema: Schema = PDF_JOB) -> dict[str, Any]:
    """The job's body checked by its schema (``rendering.schemas``); no body: ``{}``. A null is the key not
    given."""
    data = read_json(optional=True)  # the one body reader (district/web/body.py)
    if data is None:
        return {}
    values = schema.validate(data)
    if values.get("school") and values.get("school_code") and values["school"] != values["school_code"]:
        en = lang() == "en"
        message = "school and school_code differ" if en else "school 与 school_code 不一致"
        detail = {"path": "/school_code", "code": "conflict", "message": message}
        raise ApiError(422, "validation_failed", message, [detail])
    return values


def _file_url(job: PdfJob, name: str) -> str:
    return f"/api/v1/jobs/{job.id}/files/{quote(name, safe='')}"


def _verify_base() -> str | None:
    """Where the printed verification URL points: ``PUBLIC_URL``, never this request's Host or X-Forwarded-Host
    (the client's to choose). A hub that serves has it (``district.app.require_public_url``); without it (tests,
    debug) the PDF prints the path alone."""
    configured = current_app.config.get("PUBLIC_URL")
    return str(configured) if configured else None


def _enqueue_start(job_id: int) -> None:
    """Hand the committed job to whoever makes it: the ``pdf`` queue (broker), the process's background thread
    (embedded default), or this request's thread (the test app only)."""
    from district import dispatch

    dispatch.start_pdf_job(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]


@bp.post("/counties/<county>/reports/pdf")
@bureau_required
def request_pdfs(county: str) -> Any:
    """Ask for evaluation reports: 202 with the job, at once (its PDFs are made elsewhere)."""
    data = _body()
    school_code = data.get("school") or data.get("school_code") or None
    s = db.session()
    if school_code is not None:
        require_school(school_code)
        school = s.get(School, school_code)
        if school is None or school.county_code != county:
            raise not_found()
        user = current_user()
    else:
        user = require_county_admin(county)
    assert user is not None
    c = s.get(County, county)
    if c is None:  # pragma: no cover - the scope checks answered 404 already
        raise not_found()
    try:
        window = windows.window_from_args(s, c, data)
    except calendar.WindowError as exc:
        raise ApiError(400, exc.code, exc.message(lang())) from None
    year = None
    if data.get("year") not in (None, ""):
        year = int(str(data["year"]))
    elif not data.get("from") and not data.get("to"):
        year = int(window.period_to[:4])  # the default window is the current year
    try:
        jobs.check_job_limit(s, user.username, int(current_app.config.get("PDF_JOBS_PER_USER") or 0))
        job = jobs.create_job(
            s,
            county,
            window,
            requested_by=user.username,
            school_code=school_code,
            year=year,
            verify_base=_verify_base(),
        )
    except jobs.JobError as exc:
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        raise ApiError(exc.status, exc.code, exc.message(lang()), headers=retry) from None
    return _accepted(job.id)


@bp.post("/counties/<county>/nutrition/pdf")
@bureau_required
def request_fund_pdf(county: str) -> Any:
    """Ask for the county's 营养餐 fund report as a PDF: 202 with the job, at once (made beside the hub or on the
    ``pdf`` queue, like the evaluation reports). Check order: 401 → 415 → 422 (body) → 404 (scope) → 400
    (window) → 429 (``too_many_jobs``)."""
    data = _body(FUND_PDF_JOB)
    user = require_county(county)
    s = db.session()
    c = s.get(County, county)
    if c is None:  # pragma: no cover - the scope check answered 404 already
        raise not_found()
    try:
        window = windows.window_from_args(s, c, {k: str(v) for k, v in data.items() if v is not None})
    except calendar.WindowError as exc:
        raise ApiError(400, exc.code, exc.message(lang())) from None
    try:
        jobs.check_job_limit(s, user.username, int(current_app.config.get("PDF_JOBS_PER_USER") or 0))
        job = jobs.create_fund_job(s, county, window, requested_by=user.username, verify_base=_verify_base())
    except jobs.JobError as exc:
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        raise ApiError(exc.status, exc.code, exc.message(lang()), headers=retry) from None
    return _accepted(job.id)


def _accepted(job_id: int) -> Any:
    """Commit the planned job, hand it over, and answer 202 with it (a job that could not be handed over is
    ``failed``, saying why)."""
    commit_now()  # the documented exception (district/unit_of_work.py): a worker must find the job's rows
    try:
        _enqueue_start(job_id)  # after the commit: a worker must find the job's rows
    except Exception as exc:  # the broker is down: the job says so (failed) rather than stay queued forever
        current_app.logger.exception("PDF job %s not enqueued", job_id)
        db.session.remove()
        with db.transaction() as failed:
            jobs.job_failed(failed, job_id, f"任务队列不可用 / the job queue is unavailable ({type(exc).__name__})")
    s = db.session()  # eager tasks (the test app) ran in this thread and closed the request's session
    made = s.get(PdfJob, job_id, populate_existing=True)
    assert made is not None
    resp = jsonify(_view(s, made))
    resp.status_code = 202
    resp.headers["Location"] = f"/api/v1/jobs/{job_id}"
    return resp


def _view(s: Any, job: PdfJob) -> dict[str, Any]:
    """The job as the API shows it, with ``seconds_left`` (an estimate from the mean time per part so far)."""
    view = jobs.job_view(s, job, _file_url)
    return {**view, "seconds_left": jobs.seconds_left(job, view["done"], view["total"], clock.now())}


def _job_in_scope(job_id: int) -> PdfJob:
    job = db.session().get(PdfJob, job_id, populate_existing=True)
    if job is None:
        raise not_found()
    if job.school_code is not None:
        require_school(job.school_code)
    else:
        require_county(job.county_code)
    return job


_LIMIT_RE = re.compile(r"[1-9][0-9]?", re.ASCII)


def _limit_arg() -> int:
    """``?limit=N``: 1 to ``USER_JOBS_MAX`` (50), ASCII digits, given once; absent: 50. Anything else is 400
    ``invalid_limit`` (never silently clipped: the caller would think it had every job)."""
    given = request.args.getlist("limit")
    if not given:
        return jobs.USER_JOBS_MAX
    if len(given) > 1 or not _LIMIT_RE.fullmatch(given[0]) or int(given[0]) > jobs.USER_JOBS_MAX:
        en = lang() == "en"
        raise ApiError(
            400,
            "invalid_limit",
            f"limit must be a whole number from 1 to {jobs.USER_JOBS_MAX}" if en
            else f"limit 应为 1 至 {jobs.USER_JOBS_MAX} 的整数 / limit must be a whole number from 1 to "
                 f"{jobs.USER_JOBS_MAX}",
        )  # fmt: skip
    return int(given[0])


def user_job_views(limit: int = jobs.USER_JOBS_MAX) -> list[dict[str, Any]]:
    """The signed-in user's jobs as ``GET /api/v1/jobs`` lists them (the download centre shows the same)."""
    user = current_user()
    assert user is not None
    s = db.session()
    now = clock.now()
    views = []
    for job in jobs.user_jobs(s, user.username, limit=limit):
        view = jobs.job_view(s, job, _file_url)
        views.append({"id": job.id, **view, "seconds_left": jobs.seconds_left(job, view["done"], view["total"], now)})
    return views


@bp.get("/jobs")
@bureau_required
def list_jobs() -> Any:
    """The caller's own PDF jobs, newest first (``?limit=``, at most 50): ``{"jobs": [...]}``."""
    return jsonify({"jobs": user_job_views(_limit_arg())})


@bp.get("/jobs/<int:job_id>")
@bureau_required
def get_job(job_id: int) -> Any:
    return jsonify(_view(db.session(), _job_in_scope(job_id)))


@bp.get("/jobs/<int:job_id>/files/<name>")
@bureau_required
def job_file(job_id: int, name: str) -> Any:
    job = _job_in_scope(job_id)
    found = jobs.job_file(db.session(), job, name, current_app.config["PDF_DIR"])
    if found is None or not found[0].is_file():
        raise not_found()
    path, mimetype, school_code = found
    window = str(job.year) if job.year is not None else f"{job.period_from}_{job.period_to}"
    if mimetype == "application/zip":
        what = "evaluation_reports"
    elif school_code is None and jobs.is_fund_job(db.session(), job):
        what = "nutrition_fund_report"
    else:
        what = f"{school_code or 'county'}_evaluation"
    fallback = jobs.ascii_filename(name, f"{job.county_code}_{window}_{what}")
    resp = send_file(path, mimetype=mimetype, conditional=True, max_age=0)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


# ------------------------------------------------------------------------------------------------ verify

_KIND_LABELS = {
    KIND_SCHOOL: ("学校评估报告", "school evaluation report"),
    KIND_COUNTY: ("县评估汇总报告", "county evaluation summary"),
}


@verify_bp.get("/verify/<sha256>")
def verify(sha256: str) -> Any:
    """Public: did this hub make the PDF whose SHA-256 is ``sha256``? No sign-in; shows only what the PDF
    itself prints (school, county, window, when, document number)."""
    s = db.session()
    doc = jobs.document_by_sha256(s, sha256)
    context: dict[str, Any] = {"sha256": sha256[:64].lower(), "doc": None}
    if doc is not None:
        county = s.get(County, doc.county_code)
        school = s.get(School, doc.school_code) if doc.school_code else None
        context.update(
            doc=doc,
            kind=_KIND_LABELS.get(doc.kind, (doc.kind, doc.kind)),
            county=county,
            school=school,
            made_at=doc.made_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        )
    resp = current_app.make_response((render_template("pages/verify.html", **context), 200 if doc is not None else 404))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Robots-Tag"] = "noindex"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
