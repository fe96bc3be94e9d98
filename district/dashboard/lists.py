"""School lists with one filter and sort (issue 17 item 6): township and school type filters and sorting on every
list of schools — the ranking keeps its own, the completeness page (报送情况: by township and the unreported
schools), the hazards list (隐患清单) and the fund table use :func:`list_query` and :func:`filter_sort`; their
form is the one macro ``list_filters`` of ``pages/_filters.html``. Townships sort in the county's order
(``registry.services.township_order``), types in the standard's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Flask, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar
from district.auth.services import rows_in_scope, school_filter
from district.dashboard import queries
from district.dashboard.errors import register_page_errors
from district.dashboard.views import _user, county_in_scope, period_arg, recent_periods, signed_in
from district.db import db
from district.registry.listing import ListQuery, filter_sort, school_types, schools_where
from district.registry.models import School
from district.registry.services import pinyin_key
from district.reports.completeness import county_completeness
from houqin_standard import ENUM_LABELS

bp = Blueprint("lists", __name__)

SEVERITY_ORDER = {"major": 0, "general": 1}
HAZARD_STATUSES = ("overdue", "open", "all")


def list_query(sorts: Sequence[str], default: str, default_order: str = "asc") -> ListQuery:
    """The list's filters from the request. An unknown sort key falls back to ``default`` (as on the ranking);
    a township or type that matches no school is a filter that shows nothing."""
    sort = request.args.get("sort") or default
    if sort not in sorts:
        sort = default
    order = request.args.get("order") or default_order
    if order not in ("asc", "desc"):
        order = default_order
    return ListQuery(
        (request.args.get("township") or "").strip()[:100], (request.args.get("type") or "").strip()[:30], sort, order
    )


def decimal_or_none(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def type_choices(session: Session, county_code: str) -> list[str]:
    """The school types registered in the county, in the standard's order (the filter's choices)."""
    present = set(session.scalars(select(School.type).where(School.county_code == county_code).distinct()))
    return [t for t in ENUM_LABELS["school_type"] if t in present]


# ---------------------------------------------------------------- pages


@bp.get("/counties/<county>/completeness")
@signed_in
def completeness(county: str) -> Any:
    """报送情况: completeness by township and the unreported schools of one period, filtered by township and type
    (the completeness service counts only the chosen schools: one truth per figure)."""
    c = county_in_scope(county)
    period = period_arg(c)
    q = list_query(("township", "name", "type", "days_late"), "township")
    s = db.session()
    user = _user()
    where = schools_where(county, school_filter(user), q.township, q.type)
    result = county_completeness(s, county, period, schools_where=where)
    data = result.to_dict()
    missing = filter_sort(
        s,
        county,
        data["missing"],
        q,
        {"name": lambda r: pinyin_key(r["name"]), "days_late": lambda r: r["days_late"]},
    )
    return render_template(
        "pages/completeness.html",
        county=c,
        period=period,
        periods=recent_periods(),
        c=data,
        missing=missing,
        school_type_of=school_types(s, [m["school_code"] for m in missing]),
        q=q,
        townships=queries.townships(s, county),
        types=type_choices(s, county),
    )


@bp.get("/counties/<county>/hazards")
@signed_in
def hazards(county: str) -> Any:
    """隐患清单: the county's hazard ledger as of today (overdue, open or all), filtered and sorted."""
    from district.exports import services as exports

    c = county_in_scope(county)
    status = request.args.get("status") or "overdue"
    if status not in HAZARD_STATUSES:
        status = "overdue"
    q = list_query(("days_overdue", "name", "township", "type", "severity", "deadline"), "days_overdue", "desc")
    s = db.session()
    today = calendar.today()
    data = exports.hazards(s, county, status, today)
    rows = rows_in_scope(s, _user(), county, data["hazards"])
    rows = filter_sort(
        s,
        county,
        rows,
        q,
        {
            "days_overdue": lambda r: r["days_overdue"],
            "name": lambda r: pinyin_key(r["name"]),
            "severity": lambda r: SEVERITY_ORDER.get(r["severity"], 9),
            "deadline": lambda r: r["deadline"],
        },
    )
    return render_template(
        "pages/hazards.html",
        county=c,
        status=status,
        statuses=HAZARD_STATUSES,
        rows=rows,
        today=today,
        q=q,
        townships=queries.townships(s, county),
        types=type_choices(s, county),
    )


FUND_SORTS = {
    "name": lambda r: pinyin_key(r["school_name"]),
    "closing_balance": lambda r: decimal_or_none(r.get("closing_balance")),
    "utilisation": lambda r: decimal_or_none(r.get("utilisation")),
    "funds_received": lambda r: decimal_or_none(r.get("funds_received")),
    "anomalies": lambda r: r.get("anomaly_count"),
}


def fund_rows(session: Session, county_code: str, schools: Sequence[dict[str, Any]], q: ListQuery) -> list[Any]:
    """The fund table's school rows (the fund report's own) filtered and sorted by ``q``."""
    return filter_sort(session, county_code, schools, q, FUND_SORTS, type_of=lambda r: r["school_type"])


def init_app(app: Flask) -> None:
    register_page_errors(bp)
    app.register_blueprint(bp)
