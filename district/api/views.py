"""The HTTP edge of API.md v1: parse, call a service, render. No business rules here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from district.api.auth import bureau_required, require_county, require_county_admin
from district.api.errors import ApiError, lang
from district.api.ratelimit import RateLimiter
from district.db import db, utcnow
from district.registry.crypto import SecretBox
from district.reports import services as reports
from district.reports.completeness import county_completeness
from district.reports.models import ReportRevision
from houqin_standard import parse_period

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
    return ext["houqin_box"]  # type: ignore[no-any-return]


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
    return ext["houqin_limiter"]  # type: ignore[no-any-return]


def _path_with_query() -> str:
    qs = request.query_string.decode("latin-1")
    return request.path + ("?" + qs if qs else "")


def _read_body_limited() -> bytes:
    limit = current_app.config["MAX_REPORT_BYTES"]
    length = request.content_length
    if length is not None and length > limit:
        raise reports.IngestError(413, "payload_too_large", f"报表超过 {limit} 字节", f"body over {limit} bytes")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise reports.IngestError(413, "payload_too_large", f"报表超过 {limit} 字节", f"body over {limit} bytes")
    return body


def _signed_school(
    body: bytes, *, about: tuple[str, str] | None = None, record_seen: bool = True
) -> reports.Signer:
    return reports.authenticate(
        db.session(),
        _box(),
        school_header=request.headers.get("X-Houqin-School"),
        timestamp_header=request.headers.get("X-Houqin-Timestamp"),
        signature_header=request.headers.get("X-Houqin-Signature"),
        method=request.method,
        path_with_query=_path_with_query(),
        body=body,
        window_seconds=current_app.config["SIGNATURE_WINDOW_SECONDS"],
        about=about,
        record_seen=record_seen,
    )


def _refuse(err: reports.IngestError, signer: reports.Signer | None = None) -> Any:
    """Log the refusal (and keep the seen signature), commit that alone, answer in the error format."""
    s = db.session()
    if signer is not None:  # a verified signature not yet kept (submit_report keeps it with the revision)
        reports.record_seen(s, signer.signature, utcnow())
    reports.log_rejection(s, err, remote_addr=request.remote_addr)
    s.commit()
    details = [
        {"path": d["path"], "code": d["code"], "message": d["en" if lang() == "en" else "zh"]} for d in err.details
    ]
    raise ApiError(err.status, err.code, err.message(lang()), details, headers=err.headers)


@bp.post("/reports")
def submit_report() -> Any:
    s = db.session()
    school = signer = None
    try:
        body = _read_body_limited()
        about = reports.claimed_report(body)
        for attempt in range(_RACE_RETRIES):
            try:
                direct = reports.direct_connection(s)
                if direct is None:
                    db.begin_write(s)
                else:
                    s.info[reports.DIRECT] = direct
                signer = None
                # the signer and the report's context in one statement; the signature is kept with the revision
                signer = _signed_school(body, about=about, record_seen=False)
                school = signer.school
                if attempt == 0 and (wait := _limiter().hit(school.code)) is not None:
                    raise reports.IngestError(
                        429,
                        "rate_limited",
                        f"请求过于频繁，请 {wait} 秒后重试",
                        f"too many requests; retry in {wait} s",
                        school_code=school.code,
                        headers={"Retry-After": str(wait)},
                    )
                data = reports.parse_body(body, request.headers.get("Content-Type"))
                receipt, created = reports.submit_report(
                    s,
                    school,
                    signer.credential_id,
                    data,
                    deadline_day=signer.deadline_day,
                    signature=signer.signature,
                    context=signer.context,
                )
                if s.in_transaction():  # not on the direct connection's path, which wrote in autocommit
                    s.commit()
                break
            except (OperationalError, IntegrityError):
                # lost a race with a concurrent writer (SQLite busy, or the same report/chain position/revision
                # number/signature taken: the unique constraints serialise a school's revisions):
                # nothing of this attempt was kept; run it again against the now-committed state
                s.rollback()
                if attempt == _RACE_RETRIES - 1:
                    raise
                time.sleep(0.02 * (attempt + 1))
    except reports.IngestError as err:
        if err.school_code is None and school is not None:
            err.school_code = school.code
        return _refuse(err, signer)
    finally:
        s.info.pop(reports.DIRECT, None)
    if created:
        reports.notify_revision_accepted(school.county_code, school.code, receipt.period)
    resp = jsonify(receipt.sign(_hub_keys()).to_dict(lang()))
    resp.status_code = 201 if created else 200
    resp.headers["Location"] = f"/api/v1/reports/{receipt.report_id}"
    return resp


_RACE_RETRIES = 5


@bp.get("/reports/<report_id>")
def get_receipt(report_id: str) -> Any:
    s = db.session()
    try:
        school = _signed_school(b"").school
    except reports.IngestError as err:
        return _refuse(err)
    s.commit()
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
    s = db.session()
    try:
        school = _signed_school(b"").school
    except reports.IngestError as err:
        return _refuse(err)
    s.commit()
    period = _period_arg(request.args.get("period", ""))
    from district.reports.feedback import school_feedback

    return jsonify(school_feedback(s, school, period, lang=lang()))


@bp.get("/counties/<county>/completeness")
@bureau_required
def completeness(county: str) -> Any:
    require_county(county)
    period = _period_arg(request.args.get("period", ""))
    return jsonify(county_completeness(db.session(), county, period).to_dict())


def _period_arg(period: str) -> str:
    """A period the hub can hold: YYYY-MM, from 2010-01 (STANDARD.md) on."""
    try:
        parse_period(period)
    except ValueError:
        raise ApiError(400, "invalid_period", "period 应为 YYYY-MM / period must be YYYY-MM") from None
    if period < "2010-01":
        raise ApiError(400, "invalid_period", "period 不能早于 2010-01 / period is before 2010-01")
    return period


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
    _period_arg(period)
    payload = request.get_json(silent=True) if request.is_json else None
    note = payload.get("note") if isinstance(payload, dict) and isinstance(payload.get("note"), str) else None
    s = db.session()
    try:
        state = set_lock(s, county, period, lock=lock, actor=user.username, note=note)
    except ApprovalError as exc:
        s.rollback()
        raise ApiError(409, exc.code, str(exc)) from None
    s.commit()
    return jsonify(state.to_dict())


@bp.get("/periods/<county>/<period>")
@bureau_required
def period_status(county: str, period: str) -> Any:
    from district.reports.approval import period_state

    require_county(county)
    return jsonify(period_state(db.session(), county, _period_arg(period)).to_dict())


@bp.get("/openapi.json")
def openapi() -> Any:
    from district.api.openapi import OPENAPI_PATH

    return current_app.response_class(OPENAPI_PATH.read_text(encoding="utf-8"), mimetype="application/json")
