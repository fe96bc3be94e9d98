"""HTTP edge of the 重大预警 and the city overview: ``GET /api/v1/counties/<county>/alerts?period=`` and
``GET /api/v1/cities/<city>/overview?period=`` (API.md). Check order: 401 (no bureau user) → 404 (county or
city outside the user's scope, or unknown) → 400 (bad period)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, jsonify, request

from district import calendar
from district.alerts.city import city_overview, counties_in_scope, default_period
from district.alerts.services import county_alerts
from district.db import db
from district.registry.models import County
from district.web.auth import bureau_required, current_user, not_found, require_county
from district.web.errors import period_param

bp = Blueprint("alerts_api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def period_arg(default: Callable[[], str]) -> str:
    """``?period=``: a month up to the current one; not given: ``default()`` (``district.web.errors.period_param``)."""
    return period_param(request.args.get("period"), default=default)


@bp.get("/counties/<county>/alerts")
@bureau_required
def alerts(county: str) -> Any:
    """What needs a director, most serious first: vetoes (year to date), overdue major hazards, misuse."""
    user = require_county(county)
    s = db.session()
    c = s.get(County, county)
    if c is None:  # pragma: no cover - require_county answered 404 already
        raise not_found()
    period = period_arg(lambda: calendar.latest_closed_period(c))
    from district.auth.services import rows_in_scope

    found = rows_in_scope(s, user, county, county_alerts(s, c, period))  # a township_admin: its own (issue 18)
    return jsonify({"county_code": county, "period": period, "alerts": [a.to_dict() for a in found]})


@bp.get("/cities/<city>/overview")
@bureau_required
def city_overview_read(city: str) -> Any:
    """The city's counties side by side for a period (a county's own users: their county alone)."""
    user = current_user()
    assert user is not None
    s = db.session()
    scope = counties_in_scope(s, user, city)
    if scope is None:
        raise not_found()
    found, counties = scope
    period = period_arg(lambda: default_period(counties))
    return jsonify(city_overview(s, found.code, found.name, counties, period).to_dict())
