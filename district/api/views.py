"""The HTTP edge of API.md v1: parse, call a service, render. No business rules here."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, NoReturn

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from district import calendar
from district.api.refusals import RefusalGuard
from district.backends import report_store
from district.db import db, utcnow
from district.registry.crypto import SecretBox
from district.registry.models import School
from district.reports import services as reports
from district.reports.completeness import county_completeness
from district.reports.ingest import SignedRequest, authenticate_request, ingest
from district.reports.models import ReportRevision
from district.unit_of_work import REQUEST_UNIT, keep_on_error, restart
from district.web.auth import bureau_required, require_county, require_county_admin
from district.web.body import BodyError, parse_json, read_json
from district.web.errors import ApiError, lang, period_param
from district.web.ratelimit import RateLimiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.after_app_request
def _hub_time(resp: Any) -> Any:
    """Every API answer states the hub's clock (unix seconds), so an agent on a PC whose clock is wrong can
    correct its signature timestamps after a ``stale_timestamp`` refusal instead of failing forever."""
    if request.path.startswith("/api/"):
        resp.headers["X-Houqin-Time"] = str(int(utcnow().timestamp()))
    return resp


def _box() -> SecretBox:
    ext = current_app.extensions
    if "houqin_box" not in ext:
        ext["houqin_box"] = SecretBox(current_app.config["SERVER_KEY_FILE"])
    return ext["houqin_box"]


def _hub_keys() -> Any:
    """The hub's signing keys, reloaded when ``houqin keys init`` has made a new key current (every worker
    process notices within a second; no restart needed)."""
    from district.audit.keys import HubKeys

    ext = current_app.extensions
    cached = ext.get("houqin_keys")
    now = time.monotonic()
    if cached is not None and now - cached[2] < 1.0:  # look at the key directory at most once a second
        return cached[1]
    directory = Path(current_app.config["SIGNING_KEY_DIR"])
    try:
        stamp = (directory / "current").stat().st_mtime_ns
    except FileNotFoundError:
        stamp = None
    if cached is None or cached[0] != stamp or stamp is None:
        keys = HubKeys.load(directory)
        ext["houqin_keys"] = ((directory / "current").stat().st_mtime_ns, keys, now)
        return keys
    ext["houqin_keys"] = (stamp, cached[1], now)
    return cached[1]


def _limiter() -> RateLimiter:
    ext = current_app.extensions
    if "houqin_limiter" not in ext:
        ext["houqin_limiter"] = RateLimiter(
            current_app.config["RATE_LIMIT_PER_MINUTE"], current_app.config.get("BROKER_URL")
        )
    return ext["houqin_limiter"]


def _refusals() -> RefusalGuard:
    ext = current_app.extensions
    if "houqin_refusals" not in ext:
        # by default half the per-school request limit (so a suite or bench that lifts that limit lifts this too)
        limit = current_app.config.get("REFUSED_PER_MINUTE") or current_app.config["RATE_LIMIT_PER_MINUTE"] // 2
        per_minute = max(1, int(limit))
        ext["houqin_refusals"] = RefusalGuard(per_minute)
    return ext["houqin_refusals"]


def _path_with_query() -> str:
    qs = request.query_string.decode("latin-1")
    return request.path + ("?" + qs if qs else "")


def _read_body_limited() -> bytes:
    """The body, up to the limit; read once (a request run again after a lock conflict reads the same)."""
    if "houqin.body" in request.environ:
        return request.environ["houqin.body"]
    limit = current_app.config["MAX_REPORT_BYTES"]
    length = request.content_length
    if length is not None and length > limit:
        raise reports.IngestError(413, "payload_too_large", f"报表超过 {limit} 字节", f"body over {limit} bytes")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise reports.IngestError(413, "payload_too_large", f"报表超过 {limit} 字节", f"body over {limit} bytes")
    request.environ["houqin.body"] = body
    return body


def _signed_request(body: bytes) -> SignedRequest:
    return SignedRequest(
        school_header=request.headers.get("X-Houqin-School"),
        timestamp_header=request.headers.get("X-Houqin-Timestamp"),
        signature_header=request.headers.get("X-Houqin-Signature"),
        method=request.method,
        path_with_query=_path_with_query(),
        body=body,
        window_seconds=current_app.config["SIGNATURE_WINDOW_SECONDS"],
    )


def _signed_agent_school() -> School:
    """The signer's school of a bodiless agent request: read without ``about``, it is the registry's entity
    (only the submission's path reads a ``SchoolKey``)."""
    school = authenticate_request(db.session(), _box(), _signed_request(b"")).school
    assert isinstance(school, School)
    return school


def _guard_source() -> None:
    """Before anything is read or written: a source refused too often this minute is answered 429 at once
    (district/api/refusals.py)."""
    wait = _refusals().blocked(request.remote_addr, request.headers.get("X-Houqin-School"))
    if wait is None:
        return
    err = reports.IngestError(
        429,
        "rate_limited",
        f"被拒绝的请求过多，请 {wait} 秒后重试",
        f"too many refused requests; retry in {wait} s",
        headers={"Retry-After": str(wait)},
    )
    _log_unsigned(err, counts_against_source=False)
    _raise(err)


def _log_unsigned(err: reports.IngestError, *, counts_against_source: bool = True) -> None:
    """A refusal no valid signature vouches for: counted against its source, logged aggregated."""
    pending = _refusals().refused(
        request.remote_addr,
        request.headers.get("X-Houqin-School"),
        err.status,
        err.code,
        school_code=err.school_code,
        counts_against_source=counts_against_source,
    )
    if not pending:
        return
    s = db.session()
    for row in pending:
        key = row.key
        logged = reports.IngestError(key.status, key.code, "", "", school_code=key.school_code)
        if key.status == err.status and key.code == err.code and row.count == 1:
            logged.report_id, logged.period, logged.details = err.report_id, err.period, err.details
        at = dt.datetime.fromtimestamp(row.at, dt.UTC)
        reports.log_rejection(s, logged, remote_addr=key.remote_addr, count=row.count, at=at)
    keep_on_error()


def _refuse(err: reports.IngestError, signer: reports.Signer | None = None) -> Any:
    """Drop what the request wrote, keep only the refusal's trace, answer in the error format.

    A signed request (``signer``) is the school's own: its refusal is logged as it is, and its signature kept as
    seen. An unsigned one (bad signature, replay, stale timestamp, unknown school, too large) is counted against
    its source and logged aggregated (district/api/refusals.py)."""
    restart()
    s = db.session()
    if signer is None:
        _log_unsigned(err)
    else:  # a verified signature not yet kept (submit_report keeps it with the revision)
        reports.record_seen(s, signer.signature, utcnow(), report_store())
        reports.log_rejection(s, err, remote_addr=request.remote_addr)
        keep_on_error()
    _raise(err)


def _raise(err: reports.IngestError) -> NoReturn:
    details = [
        {"path": d["path"], "code": d["code"], "message": d["en" if lang() == "en" else "zh"]} for d in err.details
    ]
    raise ApiError(err.status, err.code, err.message(lang()), details, headers=err.headers)


@bp.post("/reports")
def submit_report() -> Any:
    _guard_source()
    s = db.session()
    try:
        req = _signed_request(_read_body_limited())
        accepted = ingest(s, report_store(), REQUEST_UNIT, _box(), req, parse=_report_json, admit=_admit)
    except reports.IngestError as err:
        return _refuse(err, err.signer)
    if accepted.created:
        reports.notify_revision_accepted(accepted.school.county_code, accepted.school.code, accepted.receipt.period)
    resp = jsonify(accepted.receipt.sign(_hub_keys()).to_dict(lang()))
    resp.status_code = 201 if accepted.created else 200
    resp.headers["Location"] = f"/api/v1/reports/{accepted.receipt.report_id}"
    return resp


def _admit(school_code: str) -> reports.IngestError | None:
    """The per-school request limit, once a valid signature names the school."""
    if (wait := _limiter().hit(school_code)) is None:
        return None
    return reports.IngestError(
        429,
        "rate_limited",
        f"请求过于频繁，请 {wait} 秒后重试",
        f"too many requests; retry in {wait} s",
        school_code=school_code,
        headers={"Retry-After": str(wait)},
    )


def _report_json(body: bytes) -> Any:
    """The report's JSON, parsed from the very bytes its signature covers by the one body reader
    (``district.web.body``); a refused body is an :class:`IngestError`, logged as every signed refusal is."""
    try:
        return parse_json(body, request.headers.get("Content-Type"))
    except BodyError as err:
        raise reports.IngestError(err.status, err.code, err.zh, err.en, err.details) from None


@bp.get("/reports/<report_id>")
def get_receipt(report_id: str) -> Any:
    _guard_source()
    s = db.session()
    try:
        school = _signed_agent_school()
    except reports.IngestError as err:
        return _refuse(err)
    keep_on_error()  # the signature is kept as seen whatever the answer
    rev = s.scalars(select(ReportRevision).where(ReportRevision.report_id == report_id.lower())).first()
    if rev is None or rev.school_code != school.code:
        raise ApiError(404, "not_found", "未找到该报表 / no such report of this school")
    return jsonify(reports.receipt_for(s, rev).sign(_hub_keys()).to_dict(lang()))


@bp.get("/hub-keys")
def hub_keys() -> Any:
    """The hub's public receipt-signing keys (current and retired), for agents to pin and auditors to verify."""
    return jsonify({"algorithm": "Ed25519", "keys": _hub_keys().public_keys()})


@bp.get("/feedback")
def feedback() -> Any:
    _guard_source()
    s = db.session()
    try:
        school = _signed_agent_school()
    except reports.IngestError as err:
        return _refuse(err)
    keep_on_error()  # the signature is kept as seen whatever the answer
    period = _period_arg(request.args.get("period", ""), ahead=1)
    from district.api.feedback import school_feedback

    return jsonify(school_feedback(s, school, period, lang=lang()))


@bp.get("/period-state")
def agent_period_state() -> Any:
    """The signer's school's state for a period before its clerk fills a template (issue 19): locked, already
    reported, the hub's days left or late, the county's subsidy standard (district/reports/agent_state.py)."""
    _guard_source()
    try:
        school = _signed_agent_school()
    except reports.IngestError as err:
        return _refuse(err)
    keep_on_error()
    period = _period_arg(request.args.get("period", ""), ahead=1)
    from district.reports.agent_state import period_state

    return jsonify(period_state(db.session(), school, period))


@bp.get("/last-report")
def agent_last_report() -> Any:
    """The signer's school's last accepted report (``houqin-agent restore`` on a new PC), before ``before``
    when given; 404 when the hub has none."""
    _guard_source()
    try:
        school = _signed_agent_school()
    except reports.IngestError as err:
        return _refuse(err)
    keep_on_error()
    before = request.args.get("before")
    if before is not None:
        from district import calendar

        try:  # the field named as the agent sent it
            before = calendar.check_period(before, "before", future=False, ahead=1)
        except calendar.WindowError as exc:
            raise ApiError(400, exc.code, exc.message(lang())) from None
    from district.reports.agent_state import last_report

    found = last_report(db.session(), school, before)
    if found is None:
        raise ApiError(404, "not_found", "教育局服务器上还没有本校已接收的报表 / no accepted report of this school")
    return jsonify(found)


@bp.get("/counties/<county>/completeness")
@bureau_required
def completeness(county: str) -> Any:
    user = require_county(county)
    from district.auth.services import school_filter
    from district.exports.api import completeness_download, format_arg

    fmt = format_arg(("json", "xlsx"))  # xlsx: the unreported schools (issue 17, district/exports)
    period = _period_arg(request.args.get("period", ""))
    # a township_admin: its township's schools only (issue 18); ``township`` and ``type``: the 报送情况 page's
    # filters (issue 17 item 6), so its export counts the schools the page shows
    from district.registry.listing import schools_where

    where = schools_where(county, school_filter(user), request.args.get("township", ""), request.args.get("type", ""))
    data = county_completeness(db.session(), county, period, schools_where=where).to_dict()
    return completeness_download(data) if fmt == "xlsx" else jsonify(data)


@bp.get("/counties/<county>/calendar")
@bureau_required
def county_duty_calendar(county: str) -> Any:
    """后勤行事历 of a county's month: the tasks in force and, per school, done / not done (``district.duties``);
    a township_admin sees its township's schools only."""
    user = require_county(county)
    from district.auth.services import school_filter
    from district.reports.calendar_tasks import month_status

    period = _period_arg(request.args.get("period", ""))
    return jsonify(month_status(db.session(), county, period, schools_where=school_filter(user)))


def _period_arg(period: str, *, ahead: int = 0) -> str:
    """A period the hub can hold (``district.web.errors.period_param``); an agent whose PC clock runs a little
    ahead asks the feedback for one more month (``ahead``)."""
    return period_param(period, ahead=ahead)


@bp.post("/periods/<county>/<period>/lock")
@bureau_required
def lock_period(county: str, period: str) -> Any:
    return _set_lock(county, period, lock=True)


@bp.post("/periods/<county>/<period>/unlock")
@bureau_required
def unlock_period(county: str, period: str) -> Any:
    return _set_lock(county, period, lock=False)


def _set_lock(county: str, period: str, *, lock: bool) -> Any:
    from district.reports.approval import ApprovalError, set_lock

    user = require_county_admin(county)
    from district.auth.services import can_lock_period

    if not can_lock_period(db.session(), user, county):
        raise ApiError(
            403, "forbidden", "锁定与解锁月份由县级管理员办理 / only the county's county_admin locks a period"
        )
    _period_arg(period)
    from district.reports.schemas import PERIOD_NOTE

    payload = read_json(optional=True)  # no body, or one that is not an object (as always): no note
    note = PERIOD_NOTE.validate(payload).get("note") if isinstance(payload, dict) else None
    try:
        state = set_lock(db.session(), county, period, lock=lock, actor=user.username, note=note)
    except ApprovalError as exc:  # the 409 answer rolls the request back
        raise ApiError(409, exc.code, str(exc)) from None
    return jsonify(state.to_dict())


@bp.get("/periods/<county>/<period>")
@bureau_required
def period_status(county: str, period: str) -> Any:
    from district.reports.approval import period_state

    require_county(county)
    return jsonify(period_state(db.session(), county, _period_arg(period)).to_dict())


@bp.get("/counties/<county>/settings")
@bureau_required
def county_settings_get(county: str) -> Any:
    """The county's settings (API.md second wave): ``reporting_start`` (上线月份) and what is in force."""
    from district.api.settings import county_settings
    from district.registry.models import County

    require_county(county)
    c = db.session().get(County, county)
    if c is None:  # pragma: no cover - require_county answered 404 already
        raise ApiError(404, "not_found", "未找到 / not found")
    return jsonify(county_settings(db.session(), c))


@bp.put("/counties/<county>/settings")
@bureau_required
def county_settings_put(county: str) -> Any:
    """Set the county's settings (county_admin); a bad value is a 400 naming the field and the reason."""
    from district.api.settings import county_settings
    from district.registry.models import County
    from district.reports.windows import configure_county

    user = require_county_admin(county)
    from district.api.schemas_settings import COUNTY_SETTINGS, settings_refusal

    payload, problems = COUNTY_SETTINGS.problems(read_json())
    if problems:
        raise settings_refusal(problems)
    s = db.session()
    if "reporting_start" in payload:
        try:
            configure_county(s, county, reporting_start=payload["reporting_start"], actor=user.username)
        except calendar.WindowError as exc:
            raise ApiError(
                400,
                exc.code,
                exc.message(lang()),
                [{"path": "reporting_start", "code": exc.code, "message": exc.message(lang())}],
            ) from None
    if "channels" in payload:  # reminder channels (issue 18): district.reminders.services.set_channels
        from district.reminders.services import ChannelsError, set_channels

        try:
            set_channels(s, county, payload["channels"], actor=user.username)
        except ChannelsError as exc:
            raise ApiError(
                400, "invalid_channels", f"催报渠道设置有误 / invalid channels: {exc}"[:300], exc.details
            ) from None
    if "township_order" in payload:  # the official order of its townships (issue 17 item 6); null clears it
        from district.registry.services import TownshipOrderError, parse_township_order, set_township_order

        try:
            set_township_order(s, county, parse_township_order(payload["township_order"]), actor=user.username)
        except TownshipOrderError as exc:
            raise ApiError(422, "invalid_township_order", exc.message[:300], exc.details) from None
    if "require_standard" in payload:  # {version, from} or null (issue 20 item 1): district.reports.standards
        from district.reports.standards import RequirementError, parse_requirement, set_requirement

        try:
            set_requirement(s, county, parse_requirement(payload["require_standard"]), actor=user.username)
        except RequirementError as exc:
            raise ApiError(
                400,
                exc.code,
                exc.message(lang())[:300],
                [{"path": exc.path, "code": exc.code, "message": exc.message(lang())[:300]}],
            ) from None
    c = s.get(County, county)
    assert c is not None
    return jsonify(county_settings(s, c))


@bp.get("/openapi.json")
def openapi() -> Any:
    from district.api.openapi import OPENAPI_PATH

    return current_app.response_class(OPENAPI_PATH.read_text(encoding="utf-8"), mimetype="application/json")
