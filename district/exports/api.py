"""HTTP edge of search and exports (API.md "Additions (v1, second wave)", issue 17 item 4).

``GET /api/v1/schools?q=`` · ``GET /api/v1/counties/<county>/hazards?status=&format=`` ·
``GET /api/v1/counties/<county>/reports?period=&format=`` (and ``POST …/reports/export``: the same file as a job in
the download centre, ``district.exports.jobs``); the xlsx of rankings and completeness are served by
their own endpoints through :func:`ranking_download` and :func:`completeness_download`. Check order as
everywhere: 401 → 404 (out of scope) → 400 (bad argument). Parse, call ``exports.services``, render.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, request

from district import calendar
from district.auth.services import rows_in_scope
from district.db import db
from district.exports import services
from district.exports.xlsx import CSV_MIMETYPE, XLSX_MIMETYPE, Table, download, table_csv, table_xlsx
from district.web.auth import bureau_required, current_user, require_county
from district.web.errors import ApiError, period_param

bp = Blueprint("exports_api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def format_arg(allowed: tuple[str, ...]) -> str:
    fmt = request.args.get("format", "json")
    if fmt not in allowed:
        names = "、".join(allowed)
        raise ApiError(400, "invalid_format", f"format 应为 {names} / format must be one of {', '.join(allowed)}")
    return fmt


def query_arg() -> str:
    """``q``: 1 to 50 characters with at least one visible one and no control characters (the same pattern the
    OpenAPI document states); searched trimmed."""
    q = request.args.get("q") or ""
    if not services.valid_query(q):
        raise ApiError(
            400,
            "invalid_query",
            f"搜索词应为 1 至 {services.SEARCH_MAX_LENGTH} 个字符，不含控制字符 / q must be 1 to "
            f"{services.SEARCH_MAX_LENGTH} characters, with no control characters",
        )
    return q.strip()


def _send(table: Table, fmt: str, utf8_stem: str, ascii_stem: str) -> Any:
    if fmt == "csv":
        return download(table_csv(table), f"{utf8_stem}.csv", f"{ascii_stem}.csv", CSV_MIMETYPE)
    return download(table_xlsx(table), f"{utf8_stem}.xlsx", f"{ascii_stem}.xlsx", XLSX_MIMETYPE)


@bp.get("/schools")
@bureau_required
def search() -> Any:
    q = query_arg()
    user = current_user()
    assert user is not None
    return jsonify({"q": q, "schools": services.search_schools(db.session(), user, q)})


@bp.get("/counties/<county>/hazards")
@bureau_required
def county_hazards(county: str) -> Any:
    """The hazard ledger as it stands today (the hub's clock): ``status=open`` (default), ``overdue`` or ``all``."""
    user = require_county(county)
    status = request.args.get("status", "open")
    if status not in services.HAZARD_STATUSES:
        raise ApiError(400, "invalid_status", "status 应为 open、overdue 或 all / status must be open, overdue or all")
    fmt = format_arg(("json", "xlsx"))
    s = db.session()
    data = services.hazards(s, county, status, calendar.today())
    data["hazards"] = rows_in_scope(s, user, county, data["hazards"])  # a township_admin: its own (issue 18)
    # the hazards page's township and type filters (issue 17 item 6), so its export lists what it shows
    from district.registry.listing import ListQuery, filter_sort

    wanted = ListQuery(request.args.get("township", ""), request.args.get("type", ""), "", "asc")
    if wanted.township or wanted.type:
        data["hazards"] = filter_sort(s, county, data["hazards"], wanted, {})
    if fmt == "json":
        return jsonify(data)
    name = services.county_name(s, county)
    words = {"open": "未整改隐患", "overdue": "逾期隐患", "all": "隐患台账"}[status]
    stamp = data["as_of"]
    return _send(
        services.hazards_table(data, name),
        fmt,
        f"{county}_{name}_{words}_{stamp}",
        f"{county}_hazards_{status}_{stamp}",
    )


@bp.get("/counties/<county>/reports")
@bureau_required
def county_reports(county: str) -> Any:
    """Every effective report of ``period`` (default: the county's latest closed period), one per school."""
    user = require_county(county)
    fmt = format_arg(("json", "xlsx", "csv"))
    s = db.session()
    from district.registry.models import County

    c = s.get(County, county)
    if c is None:  # pragma: no cover - require_county answered 404 already
        raise ApiError(404, "not_found", "未找到 / not found")
    period = period_param(request.args.get("period"), default=lambda: calendar.latest_closed_period(c))
    data = services.period_reports(s, county, period)
    data["reports"] = rows_in_scope(s, user, county, data["reports"])  # a township_admin: its own (issue 18)
    if fmt == "json":
        return jsonify(data)
    return _send(
        services.reports_table(data, c.name), fmt, f"{county}_{c.name}_月报_{period}", f"{county}_reports_{period}"
    )


@bp.post("/counties/<county>/reports/export")
@bureau_required
def request_reports_export(county: str) -> Any:
    """The period's reports export as a job (``district.exports.jobs``): 202 with the job at once, the file in the
    download centre; ``{"period": P, "format": "xlsx"|"csv"}``, both optional (the county's latest closed period,
    xlsx). Check order: 401 → 415 → 422 (body) → 404 (scope) → 400 (format, period) → 429 (``too_many_jobs``)."""
    from flask import current_app

    from district.exports.jobs import EXPORT_FORMATS, create_export_job
    from district.exports.schemas import REPORTS_EXPORT
    from district.registry.models import County
    from district.rendering import jobs
    from district.rendering.api import _accepted
    from district.web.body import read_json
    from district.web.errors import lang

    body = read_json(optional=True)  # no body: the latest closed period, xlsx
    data = {} if body is None else REPORTS_EXPORT.validate(body)
    user = require_county(county)
    s = db.session()
    c = s.get(County, county)
    if c is None:  # pragma: no cover - require_county answered 404 already
        raise ApiError(404, "not_found", "未找到 / not found")
    fmt = data.get("format") or "xlsx"
    if fmt not in EXPORT_FORMATS:
        raise ApiError(400, "invalid_format", "format 应为 xlsx、csv / format must be one of xlsx, csv")
    period = period_param(data.get("period"), default=lambda: calendar.latest_closed_period(c))
    try:
        jobs.check_job_limit(s, user.username, int(current_app.config.get("PDF_JOBS_PER_USER") or 0))
    except jobs.JobError as exc:
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        raise ApiError(exc.status, exc.code, exc.message(lang()), headers=retry) from None
    job = create_export_job(s, county, period, fmt, requested_by=user.username)
    return _accepted(job.id)


def ranking_download(view: dict[str, Any]) -> Any:
    """The ranking JSON of ``GET /counties/<county>/rankings`` as its xlsx."""
    window = view["window"]
    stem = f"{window['from']}_{window['to']}"
    code, name = view["county_code"], view["county_name"]
    kind = "分类排名" if view.get("by_type") else "排名"
    ascii_kind = "ranking_by_type" if view.get("by_type") else "ranking"
    return _send(services.ranking_table(view), "xlsx", f"{code}_{name}_{kind}_{stem}", f"{code}_{ascii_kind}_{stem}")


def completeness_download(data: dict[str, Any]) -> Any:
    """The completeness JSON of ``GET /counties/<county>/completeness`` as its xlsx (the unreported schools)."""
    code, period = data["county_code"], data["period"]
    name = services.county_name(db.session(), code)
    return _send(
        services.completeness_table(data, name),
        "xlsx",
        f"{code}_{name}_未报送学校_{period}",
        f"{code}_unreported_{period}",
    )
