"""The city overview page 市级总览 (issue 17): the city's counties side by side (the figures of
``GET /api/v1/cities/<city>/overview``, from ``district.alerts.city``), each a link into its county, and the
city's 重大预警 band. Reads services only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, render_template, request

from district import calendar
from district.alerts.city import city_overview, counties_in_scope, default_period
from district.alerts.services import BAND_NAME, KIND_NAMES, NO_ALERT
from district.dashboard.errors import register_page_errors
from district.dashboard.i18n import lang
from district.dashboard.views import _user, signed_in
from district.db import db

bp = Blueprint("city_pages", __name__)

#: the page's words (zh, en), kept with the page until the one message catalog takes them (issue 17 item 5)
WORDS = {
    "title": ("全市概览", "City overview"),
    "counties": ("各县情况", "Counties"),
    "county": ("县（市、区）", "County"),
    "expected": ("应报学校", "Schools expected"),
    "reported": ("已报", "Reported"),
    "on_time": ("按时", "On time"),
    "completeness": ("报送率", "Completeness"),
    "timeliness": ("及时率", "Timeliness"),
    "veto": ("一票否决学校", "Vetoed schools"),
    "hazards": ("逾期重大隐患", "Overdue major hazards"),
    "anomalies": ("资金异常", "Fund anomalies"),
    "campaign": ("创建进度（达标 / 在办）", "Campaign (compliant / active)"),
    "target": ("年度目标", "Target"),
    "no_campaign": ("本年尚无可统计月份", "No month of the year counted yet"),
    "period_note": ("报送情况、资金异常为所选月份；一票否决、创建进度为当年截至所选月份。",
                    "Reporting and fund anomalies: the month shown; vetoes and the campaign: the year to date."),
    "show": ("查询", "Show"),
    "period": ("月份", "Period"),
    "band": BAND_NAME,
    "none": NO_ALERT,
    **KIND_NAMES,
}  # fmt: skip


def init_app(app: Flask) -> None:
    register_page_errors(bp)
    app.register_blueprint(bp)


@bp.get("/cities/<city>/")
@signed_in
def city(city: str) -> Any:
    s = db.session()
    scope = counties_in_scope(s, _user(), city)
    if scope is None:
        abort(404)
    found, counties = scope
    value = request.args.get("period") or default_period(counties)
    try:
        period = calendar.check_period(value, "period", future=False)
    except calendar.WindowError as exc:
        abort(400, description=exc.message(lang()))
    overview = city_overview(s, found.code, found.name, counties, period)
    i = 1 if lang() == "en" else 0
    return render_template(
        "pages/city.html",
        city=found,
        period=period,
        overview=overview,
        words={k: v[i] for k, v in WORDS.items()},
    )
