"""The school's pages on the hub (issue 19): 本月状态, 下载模板, 上传报表 → 预览 → 确认报送 → 回执.

HTTP only: scope, call ``district.submission.services`` and the one ingestion path
(``district.reports.services.submit_report``), render. A school's own ``school_clerk`` reports; its
``school_viewer`` (and the bureau's users who can see the school) read; another school's pages do not exist
(404). Nothing is stored before 确认报送.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from district import calendar
from district.api.feedback import school_feedback
from district.auth.models import User
from district.auth.services import can_see_school, can_submit_for
from district.backends import report_store
from district.dashboard.errors import register_page_errors
from district.db import db
from district.registry.models import School
from district.reports import services as reports
from district.reports.ingest import ingest_web
from district.reports.models import ReportRevision
from district.submission import services as web
from district.unit_of_work import REQUEST_UNIT, keep_on_error, restart
from district.web.auth import current_user
from houqin_standard import SHANGHAI, period_add
from houqin_standard.periods import PERIOD_RE

bp = Blueprint("school_portal", __name__)
_FORM_OVERHEAD = 64 * 1024  # the multipart envelope and the CSRF field around a 1 MiB file


# ---------------------------------------------------------------- access


def _user() -> User | None:
    return current_user()


def _school(code: str) -> School:
    """The school of the page, when the signed-in user can see it (else 404)."""
    user = _user()
    assert user is not None
    s = db.session()
    school = s.get(School, code)
    if school is None or not can_see_school(s, user, code):
        abort(404)
    return school


def _clerk_school(code: str) -> tuple[School, User]:
    school = _school(code)
    user = _user()
    assert user is not None
    if not can_submit_for(user, code):
        abort(403)
    return school, user


def _signed_in() -> Response | None:
    if _user() is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))  # type: ignore[return-value]
    return None


def _refused(status: int, message: str, school: School | None = None) -> tuple[str, int]:
    return render_template("pages/school/refused.html", message=message, school=school, status=status), status


def _limited(school: School) -> tuple[str, int] | None:
    from district.api.views import _limiter

    wait = _limiter().hit(f"web:{school.code}")
    if wait is None:
        return None
    return _refused(429, f"操作过于频繁，请 {wait} 秒后再试", school)


def _period_arg(school: School, default: str) -> str:
    value = request.args.get("period") or default
    try:
        return calendar.check_period(value, "period", future=False)
    except calendar.WindowError as exc:
        abort(400, description=exc.message("zh"))


def _fmt(at: Any) -> str:
    """A time as the clerk reads it: Beijing time, no ISO codes."""
    if at is None:
        return ""
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _month(period: str) -> str:
    return web.month_zh(period)


# ---------------------------------------------------------------- pages


@bp.get("/school/<code>/")
def status(code: str) -> Any:
    """本月状态: the month's deadline, days left or late, the lock, the revisions, the bureau's review."""
    if (gone := _signed_in()) is not None:
        return gone
    school = _school(code)
    s = db.session()
    period = _period_arg(school, web.reporting_period(school.county))
    state = web.month_state(s, school, period)
    feedback = school_feedback(s, school, period) if state.effective is not None else None
    template_note = web.template_source(s, school, period)[2]
    user = _user()
    assert user is not None
    return render_template(
        "pages/school/status.html",
        school=school,
        state=state,
        feedback=feedback,
        can_submit=can_submit_for(user, code),
        template_note=template_note,
        periods=[period_add(calendar.current_period(), -i) for i in range(13)],
    )


@bp.get("/school/<code>/template")
def template(code: str) -> Any:
    """下载模板: the agent's workbook for the month, prefilled from the school's last accepted report."""
    if (gone := _signed_in()) is not None:
        return gone
    school = _school(code)
    period = _period_arg(school, web.reporting_period(school.county))
    user = _user()
    assert user is not None
    data, note = web.template_bytes(db.session(), school, period, user.display_name or None)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    filename = f"后勤月报_{school.code}_{period}.xlsx"
    from urllib.parse import quote

    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"houqin_{school.code}_{period}.xlsx\"; filename*=UTF-8''{quote(filename)}"
    )
    resp.headers["X-Houqin-Template-Note"] = quote(note)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/school/<code>/upload", methods=["GET", "POST"])
def upload(code: str) -> Any:
    """上传报表 → the preview: every error as the agent shows it, every warning and fund check; nothing stored."""
    if (gone := _signed_in()) is not None:
        return gone
    school, user = _clerk_school(code)
    if request.method == "GET":
        period = web.reporting_period(school.county)
        return render_template("pages/school/upload.html", school=school, period=period)
    if (limited := _limited(school)) is not None:
        return limited
    file = request.files.get("report")
    if file is None or not file.filename:
        return _refused(400, "请选择要上传的月报文件（.xlsx 模板或 .json 报表）", school)
    try:
        data = file.stream.read(web.MAX_UPLOAD_BYTES + 1)
    finally:
        file.close()  # a large part is spooled to a temporary file: closed now, not at garbage collection
    if len(data) > web.MAX_UPLOAD_BYTES:
        return _refused(413, web.too_large_message(), school)
    try:
        pv = web.preview(db.session(), school, data, file.filename, user.display_name or user.username)
    except web.UploadRefused as exc:
        return _refused(exc.status, exc.message, school)
    if len(pv.content.encode("utf-8")) > current_app.config["MAX_REPORT_BYTES"]:  # as the agent's API limits it
        return _refused(
            413,
            f"报表内容超过 {current_app.config['MAX_REPORT_BYTES'] // 1024} KB 上限，请检查隐患台账等是否填得过多",
            school,
        )
    token = ""
    if pv.ok:
        token = web.confirm_token(current_app.config["SECRET_KEY"], school.code, user.username, pv.content)
    page = render_template("pages/school/preview.html", school=school, pv=pv, token=token, month=_month)
    return page, (200 if pv.ok else 422)


@bp.post("/school/<code>/confirm")
def confirm(code: str) -> Any:
    """确认报送: the previewed report through the one ingestion path; then the receipt."""
    if (gone := _signed_in()) is not None:
        return gone
    school, user = _clerk_school(code)
    if (limited := _limited(school)) is not None:
        return limited
    content = request.form.get("content", "")
    reason = web.check_confirm_token(
        current_app.config["SECRET_KEY"], school.code, user.username, content, request.form.get("token", "")
    )
    if reason is not None:
        return _refused(400, reason, school)
    data = json.loads(content)
    s = db.session()
    try:
        accepted = ingest_web(s, report_store(), REQUEST_UNIT, school, data, signer=f"web:{user.username}")
    except reports.IngestError as err:
        restart()
        reports.log_rejection(s, err, remote_addr=request.remote_addr)
        keep_on_error()
        message = web.LOCKED_MESSAGE if err.code == "period_locked" else err.zh
        lines = [d.get("zh", "") for d in err.details]
        return _refused(err.status, message + ("：" + "；".join(lines) if lines else ""), school)
    receipt = accepted.receipt
    if accepted.created:
        reports.notify_revision_accepted(school.county_code, school.code, receipt.period)
    return redirect(url_for("school_portal.receipt", code=code, report_id=receipt.report_id), code=303)


@bp.get("/school/<code>/receipts/<report_id>")
def receipt(code: str, report_id: str) -> Any:
    """The receipt signed by the hub (the agent's receipt): a printable page, or ``?download=1`` as JSON."""
    if (gone := _signed_in()) is not None:
        return gone
    school = _school(code)
    s = db.session()
    rev = s.scalars(select(ReportRevision).where(ReportRevision.report_id == report_id.lower()[:64])).first()
    if rev is None or rev.school_code != school.code:
        abort(404)
    from district.api.views import _hub_keys

    signed = reports.receipt_for(s, rev).sign(_hub_keys()).to_dict("zh")
    if request.args.get("download"):
        resp = Response(json.dumps(signed, ensure_ascii=False, indent=2), mimetype="application/json")
        resp.headers["Content-Disposition"] = (
            f'attachment; filename="receipt_{school.code}_{rev.period}_r{rev.revision}.json"'
        )
        return resp
    feedback = school_feedback(s, school, rev.period)
    return render_template(
        "pages/school/receipt.html",
        school=school,
        rev=rev,
        receipt=signed,
        received=_fmt(rev.received_at),
        feedback=feedback,
        month=_month,
        signer=rev.signer,
    )


# ---------------------------------------------------------------- the upload's size, before anything reads it


def _upload_limit() -> Any:
    """Before the CSRF check reads the form: an upload over 1 MiB is refused (413) without reading it. 确认报送
    carries the previewed report (at most the API's report limit) URL-encoded: up to 9 bytes a character."""
    if request.method != "POST":
        return None
    if request.endpoint == "school_portal.confirm":
        request.max_form_memory_size = request.max_content_length = 9 * current_app.config["MAX_REPORT_BYTES"] + 4096
        return None
    if request.endpoint != "school_portal.upload":
        return None
    limit = web.MAX_UPLOAD_BYTES + _FORM_OVERHEAD
    request.max_content_length = limit  # a chunked body without a length is cut off at the limit too
    if request.content_length is not None and request.content_length > limit:
        return _refused(413, web.too_large_message())
    return None


def _too_large(exc: HTTPException) -> Any:
    return _refused(413, web.too_large_message())


@bp.app_template_filter("beijing")
def beijing(at: Any) -> str:
    return _fmt(at)


@bp.app_template_filter("month_zh")
def month_zh(period: str) -> str:
    return _month(period) if isinstance(period, str) and PERIOD_RE.fullmatch(period) else str(period)


def init_app(app: Flask) -> None:
    register_page_errors(bp)
    if 413 not in (bp.error_handler_spec.get(None) or {}):
        bp.register_error_handler(413, _too_large)
    app.register_blueprint(bp)
    # first of the app's before-request hooks (the CSRF check reads the form)
    app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)
