"""The reminders part of API.md (second wave): 一键催报 and the delivery log. HTTP only: parse, call a service,
render."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from district.auth.services import township_scope
from district.db import db
from district.reminders import services
from district.unit_of_work import commit_now
from district.web.auth import bureau_required, require_county
from district.web.errors import ApiError

bp = Blueprint("reminders_api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def send_reminders(county: str, *, actor: str, township: str | None) -> dict[str, Any]:
    """一键催报 for the request's user: reserve today's deliveries, commit, hand them to the senders, and answer
    the counts after at most ``REMINDER_WAIT_SECONDS`` (``queued``: not settled by then; the log shows the end)."""
    from district.audit.services import record
    from district.dispatch import hand_over_reminders

    s = db.session()
    try:
        reservation = services.reserve(s, county, trigger="manual", township=township, retry_failed=True)
    except LookupError:
        raise ApiError(404, "not_found", "未找到 / not found") from None
    record(s, actor=actor, action="reminders.send", county_code=county, township=township,
           queued=len(reservation.to_send), skipped=reservation.skipped)  # fmt: skip
    commit_now()  # the deliveries exist before anyone may send them
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        hand_over_reminders(app, reservation.to_send)
    except Exception:  # the broker is away: the deliveries stay queued (the next 一键催报 hands them over again)
        app.logger.exception("reminders of %s could not be handed to the senders", county)
    deadline = time.monotonic() + float(app.config.get("REMINDER_WAIT_SECONDS") or 0)
    while True:
        s.expire_all()
        counts = services.counts(s, reservation.to_send)
        if not counts["queued"] or time.monotonic() >= deadline:
            break
        s.rollback()  # end this read so the senders' writes are seen by the next one
        time.sleep(0.1)
    return {**counts, "skipped": reservation.skipped, "paused": reservation.paused, "reminders": reservation.items}


@bp.post("/counties/<county>/reminders")
@bureau_required
def post_reminders(county: str) -> Any:
    """一键催报: county_admin for the county, township_admin for its township's schools."""
    user = require_county(county)
    if user.role not in ("county_admin", "township_admin"):
        raise ApiError(403, "forbidden", "需要县级或学区管理员权限 / county_admin or township_admin required")
    return jsonify(send_reminders(county, actor=user.username, township=township_scope(user)))


@bp.get("/counties/<county>/reminders/log")
@bureau_required
def reminders_log(county: str) -> Any:
    """Every delivery attempt of the county (a township_admin: its township's), newest first."""
    user = require_county(county)
    limit_raw = request.args.get("limit", "200")
    if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 1000:
        raise ApiError(
            400, "invalid_limit", "limit 应为 1–1000 的整数 / limit must be 1-1000",
            [{"path": "limit", "code": "invalid_limit", "message": "应为 1–1000 的整数"}],
        )  # fmt: skip
    rows = services.delivery_log(db.session(), county, township=township_scope(user), limit=int(limit_raw))
    return jsonify({"county_code": county, "log": rows})
