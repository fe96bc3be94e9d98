"""The scoring part of API.md v1: rankings, one school's score, on-site inspections. HTTP only: parse, call a
service, render; the figures are the engine's, read from ranking snapshots."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, Flask, jsonify, request

from district import calendar
from district.auth.services import can_admin_county
from district.db import db
from district.ids import NotAnId, parse_id
from district.registry.models import County, School
from district.reports import windows
from district.scoring import inspections, snapshots
from district.scoring.checklists import checklist_codes
from district.scoring.schemas import INSPECTION
from district.scoring.tasks import ranking_for_read
from district.web.auth import bureau_required, current_user, not_found, require_county, require_school
from district.web.body import read_json
from district.web.errors import ApiError, lang
from district.web.ratelimit import computing_read_limit

bp = Blueprint("scoring_api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _window(county: County) -> Any:
    try:
        window = windows.window_from_args(db.session(), county, request.args)
    except calendar.WindowError as exc:
        raise ApiError(400, exc.code, exc.message(lang())) from None
    user = current_user()
    wait = computing_read_limit(f"user:{user.id if user else '-'}", request.args)
    if wait is not None:
        raise ApiError(
            429,
            "too_many_requests",
            "自选统计期间的排名查询过于频繁，请稍后再试 / too many rankings over windows of your own; retry later",
            headers={"Retry-After": str(wait)},
        )
    return window


def _flag(name: str) -> bool:
    return (request.args.get(name) or "").strip().lower() in {"1", "true", "yes", "on"}


def _snapshot_arg(county_code: str) -> Any:
    """``?snapshot=ID``: a stored ranking exactly as it was computed (never recomputed)."""
    raw = request.args.get("snapshot")
    if raw is None:
        return None
    try:
        snapshot_id = parse_id(raw)
    except NotAnId:  # ``²``, ``１２``, ``+3``: not a number at all
        raise ApiError(400, "invalid_snapshot", "snapshot 应为排名快照编号 / snapshot must be a snapshot id") from None
    # a number no id can be (past 32 bits) is simply no such snapshot
    snapshot = None if snapshot_id is None else snapshots.snapshot_by_id(db.session(), county_code, snapshot_id)
    if snapshot is None:
        raise not_found()
    return snapshot


@bp.get("/counties/<county>/rankings")
@bureau_required
def rankings(county: str) -> Any:
    """``?from=&to=`` or ``?year=`` (default: the current year); ``&by_type=1`` ranks within each school type;
    ``&snapshot=ID`` shows a stored ranking as it was."""
    require_county(county)
    from district.exports.api import format_arg, ranking_download

    fmt = format_arg(("json", "xlsx"))  # xlsx: the same rows (issue 17, district/exports)
    s = db.session()
    snapshot = _snapshot_arg(county)
    if snapshot is None:
        c = s.get(County, county)
        if c is None:  # pragma: no cover - require_county answered 404 already
            raise not_found()
        snapshot = ranking_for_read(s, county, _window(c), trigger="api")
    view = snapshots.ranking_view(s, snapshot, by_type=_flag("by_type"))
    user = current_user()
    assert user is not None
    from district.auth.services import rows_in_scope

    view["schools"] = rows_in_scope(s, user, county, view["schools"])  # a township_admin: its rows (issue 18)
    # the ranking page's township and type filters (issue 17 item 6): its export lists the rows it shows; the
    # ranks stay the county's
    from district.registry.listing import ListQuery, filter_sort

    wanted = ListQuery(request.args.get("township", ""), request.args.get("type", ""), "", "asc")
    if wanted.township or wanted.type:
        view = {**view, "schools": filter_sort(s, county, view["schools"], wanted, {}, type_of=lambda r: r["type"])}
    return ranking_download(view) if fmt == "xlsx" else jsonify(view)


@bp.get("/schools/<code>/score")
@bureau_required
def school_score(code: str) -> Any:
    """One school's indicator rows (earned, available, inputs, revision ids) and flags over the window."""
    require_school(code)
    s = db.session()
    school = s.get(School, code)
    if school is None:  # pragma: no cover - require_school answered 404 already
        raise not_found()
    snapshot = _snapshot_arg(school.county_code)
    if snapshot is None:
        county = s.get(County, school.county_code)
        assert county is not None
        snapshot = ranking_for_read(s, school.county_code, _window(county), trigger="api")
    try:
        return jsonify(snapshots.school_view(s, snapshot, code))
    except snapshots.NotRanked:
        raise ApiError(
            404,
            "not_found",
            "该校在此期间没有应报送的月份 / the school has no expected month in this window",
        ) from None


@bp.post("/schools/<code>/inspections")
@bureau_required
def add_inspection(code: str) -> Any:
    """Record an on-site inspection (county_admin of the school's county): 201 with the inspection."""
    user = require_school(code)  # out of scope: 404
    s = db.session()
    school = s.get(School, code)
    if school is None:  # pragma: no cover - require_school answered 404 already
        raise not_found()
    if not can_admin_county(s, user, school.county_code):  # in scope (a viewer, the school's own): 403
        raise ApiError(403, "forbidden", "需要县级管理员权限 / county_admin required")
    data = read_json(parse_float=Decimal)  # a score of 4.5 is read as exactly 4.5
    # the schema refuses a body that is not an object and every unknown key; each field's rules are the
    # service's (validate_inspection); every problem is answered at once
    fields, problems = INSPECTION.problems(data)
    fields = {k: fields.get(k) for k in INSPECTION.fields}
    county = s.get(County, school.county_code)
    assert county is not None
    details: list[dict[str, Any]] = []
    if not (problems and problems[0].path == ""):  # an object: its fields can be checked
        try:
            inspections.validate_inspection(
                **fields, codes=None if fields["items"] is None else checklist_codes(s, county)
            )
        except inspections.InspectionError as exc:
            details = exc.details(lang())
    if problems or details:
        raise INSPECTION.refusal(problems, details)
    # the request's unit of work commits it; the recompute request is sent after that commit (an after_commit
    # hook of inspections.record_inspection)
    insp = inspections.record_inspection(s, code, **fields, actor=user.username)
    resp = jsonify(inspections.inspection_dict(insp, s))
    resp.status_code = 201
    return resp
