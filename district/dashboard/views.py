"""The bureau dashboard pages (HTTP only: check scope, call services and queries, render).

Scope: an object outside the signed-in user's scope answers 404 (it does not exist for them); an action their
role may not take on an object they can see answers 403. Not signed in: a redirect to /login.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, g, get_template_attribute, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from district import calendar, readcache
from district.auth.models import User
from district.auth.services import (
    can_admin_county,
    can_see_county,
    can_see_school,
    rows_in_scope,
    school_filter,
    visible_counties,
)
from district.dashboard import cache, queries
from district.dashboard.errors import register_page_errors
from district.dashboard.i18n import (
    enum_label,
    flag_label,
    format_rate,
    grade_label,
    init_babel,
    lang,
    status_label,
)
from district.db import db
from district.ids import NotAnId, parse_id
from district.nutrition import services as fund_services
from district.nutrition.anomalies import ANOMALY_CODES
from district.registry.models import County, School
from district.rendering.inspection import has_inspections
from district.reports import opinions, windows
from district.reports.completeness import county_completeness
from district.reports.hazards import hazard_ledger
from district.scoring import inspections, snapshots
from district.web.auth import current_user
from houqin_standard import ENUM_LABELS, parse_period, period_add, periods_between

bp = Blueprint("dashboard", __name__)
F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------- access


def signed_in(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _user() -> User:
    user = current_user()
    assert user is not None
    return user


def county_in_scope(code: str) -> County:
    s = db.session()
    county = s.get(County, code)
    if county is None or not can_see_county(s, _user(), code):
        abort(404)
    return county


def school_in_scope(code: str) -> School:
    s = db.session()
    school = s.get(School, code)
    if school is None or not can_see_school(s, _user(), code):
        abort(404)
    return school


def require_admin(county_code: str) -> None:
    if not can_admin_county(db.session(), _user(), county_code):
        abort(403)


# ---------------------------------------------------------------- request arguments


def period_arg(county: County, name: str = "period") -> str:
    """A page's month: ``?period=`` (not after this month), by default the county's latest closed period."""
    value = request.args.get(name) or calendar.latest_closed_period(county)
    try:
        return calendar.check_period(value, name, future=False)
    except calendar.WindowError as exc:
        abort(400, description=exc.message(lang()))


def window_args(county: County) -> tuple[str, str, int | None]:
    """The window W of a page, read exactly as the API reads it (``district.reports.windows.window_from_args``):
    ``?from=&to=``, ``?year=`` or ``?school_year=``, by default the latest closed period's year."""
    year_arg = request.args.get("year") or None
    try:
        window = windows.window_from_args(db.session(), county, request.args)
    except calendar.WindowError as exc:
        abort(400, description=exc.message(lang()))
    from district.web.ratelimit import computing_read_limit

    if computing_read_limit(f"user:{_user().id}", request.args) is not None:
        abort(429, description=_("Too many rankings over periods of your own choosing: please wait a minute."))
    year = int(year_arg) if year_arg else None
    if year is None and not any(request.args.get(k) for k in ("from", "to", "school_year")):
        year = int(window.period_to[:4])  # the default window is the latest closed period's year
    return window.period_from, window.period_to, year


def pdf_window(county: County, frm: str, to: str, year: int | None) -> dict[str, Any]:
    """The window as the PDF job API takes it: ``year`` when it is a year's window (its files are then named by
    the year), else ``from`` and ``to``."""
    if year is None and frm[:4] == to[:4]:
        try:
            whole_year = windows.resolve_window(db.session(), county, year=int(frm[:4]))
        except calendar.WindowError:
            whole_year = None
        if whole_year is not None and (whole_year.period_from, whole_year.period_to) == (frm, to):
            year = int(frm[:4])
    return {"year": year} if year is not None else {"from": frm, "to": to}


def recent_periods(count: int = 13) -> list[str]:
    now = calendar.current_period()
    return [period_add(now, -i) for i in range(count)]


# ---------------------------------------------------------------- home and county picker


@bp.get("/")
@signed_in
def home() -> Any:
    user = _user()
    if user.role == "school_clerk" and user.school_code:  # the school's own pages: 本月状态 (issue 19)
        return redirect(url_for("school_portal.status", code=user.school_code))
    if user.role == "school_viewer" and user.school_code:
        return redirect(url_for("dashboard.school", code=user.school_code))
    if user.role in ("county_admin", "county_viewer") and user.county_code:
        return redirect(url_for("dashboard.overview", county=user.county_code))
    if user.role == "city_admin" and user.city_code:  # the city overview (issue 17)
        return redirect(url_for("city_pages.city", city=user.city_code))
    return redirect(url_for("dashboard.counties"))


@bp.get("/counties")
@signed_in
def counties() -> Any:
    user = _user()
    if user.role in ("school_viewer", "school_clerk"):
        abort(404)
    rows = visible_counties(db.session(), user)
    if len(rows) == 1 and user.role != "city_admin":
        return redirect(url_for("dashboard.overview", county=rows[0].code))
    return render_template("pages/counties.html", counties=rows)


# ---------------------------------------------------------------- overview


@bp.get("/counties/<county>/")
@signed_in
def overview(county: str) -> Any:
    c = county_in_scope(county)
    period = period_arg(c)
    s = db.session()
    user = _user()  # a township_admin: its township's rows throughout (issue 18, auth.services.school_filter)
    completeness = county_completeness(s, county, period, schools_where=school_filter(user))
    overdue = rows_in_scope(s, user, county, cache.overdue_hazards(s, c, calendar.today()))
    anomalies, anomaly_total, anomaly_counts = period_fund_anomalies(c, period)
    progress = campaign_progress(c, int(period[:4]))
    from district.alerts.services import county_alerts  # 重大预警 (issue 17)

    alerts = county_alerts(s, c, period, anomalies=readcache.period_anomalies(s, c, period))
    alerts = rows_in_scope(s, user, county, alerts)
    # sorted bars (issue 17 item 6): the lowest completeness first, ties in the county's order of its townships
    by_township = sorted(
        completeness.townships(), key=lambda tv: _pct(tv[1]["reported"], tv[1]["expected"]) or 0.0
    )  # stable: townships() is in the county's order
    chart = {
        "townships": [t for t, _v in by_township],
        "completeness": [_pct(v["reported"], v["expected"]) for _t, v in by_township],
        "timeliness": [_pct(v["on_time"], v["expected"]) for _t, v in by_township],
        "labels": {"completeness": _("Completeness"), "timeliness": _("Timeliness")},
    }
    return render_template(
        "pages/overview.html",
        county=c,
        period=period,
        periods=recent_periods(),
        completeness=completeness.to_dict(),
        raw=completeness,
        overdue=overdue[:OVERVIEW_HAZARD_ROWS],
        overdue_total=len(overdue),
        overdue_major=sum(1 for h in overdue if h.severity == "major"),
        today=calendar.today(),
        anomalies=anomalies,
        anomaly_total=anomaly_total,
        anomaly_counts=anomaly_counts,
        progress=progress,
        chart=chart,
        can_admin=can_admin_county(s, _user(), county),
        alerts=alerts,
        alert_names=alert_names(),
        opinions=opinions.county_month(s, county, period, schools_where=school_filter(user)),
    )


def alert_names() -> dict[str, str]:
    """The 重大预警 band's words in the page's language (the band's title under ``""``, then each kind)."""
    from district.alerts.services import BAND_NAME, KIND_NAMES, NO_ALERT

    i = 1 if lang() == "en" else 0
    return {"": BAND_NAME[i], "none": NO_ALERT[i], **{kind: names[i] for kind, names in KIND_NAMES.items()}}


def _pct(n: int, d: int) -> float | None:
    # chart coordinates only (ECharts draws numbers); the tables show the exact rate strings
    return None if d == 0 else round(100 * n / d, 1)


OVERVIEW_ANOMALY_ROWS = 50
OVERVIEW_HAZARD_ROWS = 50  # the most serious (major first, then most overdue); the school pages have the rest


def period_fund_anomalies(county: County, period: str) -> tuple[list[dict[str, Any]], int, dict[str, int]]:
    """This period's fund anomalies (the nutrition service's list): the most serious ``OVERVIEW_ANOMALY_ROWS``
    of them, how many there are, and how many of each kind.

    Kinds follow the spec's table order (账目不平, 挪用补助资金, 结转不符 first), then school code.
    """
    s = db.session()
    order = {code: i for i, code in enumerate(ANOMALY_CODES)}
    found = sorted(
        rows_in_scope(s, _user(), county.code, readcache.period_anomalies(s, county, period)),
        key=lambda a: (order.get(a.code, 99), a.school_code),
    )
    counts: dict[str, int] = {}
    for a in found:
        counts[a.code] = counts.get(a.code, 0) + 1
    shown = found[:OVERVIEW_ANOMALY_ROWS]
    names = queries.school_names(s, {a.school_code for a in shown})
    rows = [
        {
            "school_code": a.school_code,
            "school_name": names.get(a.school_code, (a.school_code, ""))[0],
            "township": names.get(a.school_code, ("", ""))[1],
            "period": a.period,
            "code": a.code,
            "message": a.message(lang()),
            "sentence": a.sentence(lang()),  # what the overview shows (houqin_standard.fund_text)
        }
        for a in shown
    ]
    return rows, len(found), counts


def campaign_progress(county: County, year: int) -> dict[str, Any] | None:
    """The county's campaign progress for the year (the scoring service's, from its year ranking snapshot);
    ``None`` while no period of that year has passed its deadline."""
    return cache.county_campaign_progress(db.session(), county, year)


# ---------------------------------------------------------------- ranking


SORT_KEYS = ("rank", "score", "school_code", "name", "township", "type", "coverage", "status")


@bp.get("/counties/<county>/ranking")
@signed_in
def ranking(county: str) -> Any:
    c = county_in_scope(county)
    frm, to, year = window_args(c)
    by_type = request.args.get("by_type") == "1"
    township = request.args.get("township") or ""
    school_type = request.args.get("type") or ""
    sort = request.args.get("sort") or "rank"
    if sort not in SORT_KEYS:
        sort = "rank"
    order = "desc" if request.args.get("order") == "desc" else "asc"
    s = db.session()
    result = cache.county_ranking(s, county, frm, to, by_type=by_type)
    rows = rows_in_scope(s, _user(), county, list(result["schools"]))  # a township_admin: its rows (issue 18)
    progress = result.get("campaign_progress")
    if township:
        rows = [r for r in rows if r["township"] == township]
    if school_type:
        rows = [r for r in rows if r["type"] == school_type]
    rows = sort_rows(rows, sort, order)
    row_html = cache.ranking_fragments(result, ("rows", lang(), frm, to), lambda: ranking_row_html(result, frm, to))
    return render_template(
        "pages/ranking.html",
        county=c,
        rows=rows,
        rows_html=Markup("").join(row_html[r["school_code"]] for r in rows),  # escapes anything not Markup
        result=result,
        progress=progress,
        frm=frm,
        to=to,
        year=year,
        township=township,
        school_type=school_type,
        by_type=by_type,
        pdf_body=pdf_window(c, frm, to, year),
        sort=sort,
        order=order,
        townships=queries.townships(s, county),
        types=[t for t in ENUM_LABELS["school_type"] if t in {r["type"] for r in result["schools"]}],
        can_admin=can_admin_county(s, _user(), county),
    )


@dataclass(frozen=True)
class DisplayRow:
    """One ranking row with every text and link already made: a county has a thousand of them, and a plain
    loop over ready strings renders several times faster than macros, filters and ``url_for`` per row."""

    school_code: str
    name: str
    township: str
    type_label: str
    rank: str
    score: str | None
    grade: str
    status: str
    status_label: str
    coverage: str
    flags: list[str]
    school_url: str
    explain_url: str
    fragment_url: str


def ranking_row_html(result: dict[str, Any], frm: str, to: str) -> dict[str, Markup]:
    """Each school's ranking row as HTML (``pages/_ranking_row.html``), by school code. Made once per snapshot,
    language and window (``cache.ranking_fragments``); a request then only sorts, filters and joins them."""
    macro = get_template_attribute("pages/_ranking_row.html", "row")
    return {d.school_code: macro(d) for d in display_rows(result["schools"], frm, to)}  # autoescaped Markup


def display_rows(rows: list[dict[str, Any]], frm: str, to: str) -> list[DisplayRow]:
    query = "?" + urlencode({"from": frm, "to": to})
    school_base = url_for("dashboard.school", code="CODE")
    explain_base = url_for("dashboard.explain", code="CODE")
    types = {t: enum_label(t, "school_type") for t in ENUM_LABELS["school_type"]}
    statuses: dict[str, str] = {}
    out = []
    for r in rows:
        code = r["school_code"]
        status = r["status"]
        if status not in statuses:
            statuses[status] = status_label(status)
        explain = explain_base.replace("CODE", code) + query
        out.append(
            DisplayRow(
                school_code=code,
                name=r["name"],
                township=r["township"],
                type_label=types.get(r["type"], r["type"]),
                rank="—" if r["rank"] is None else str(r["rank"]),
                score=r["score"],
                grade=grade_label(r["grade"]),
                status=status,
                status_label=statuses[status],
                coverage=format_rate(r["coverage"], 0),
                flags=[flag_label(f) for f in r["flags"]],
                school_url=school_base.replace("CODE", code) + query,
                explain_url=explain,
                fragment_url=explain + "&fragment=1",
            )
        )
    return out


_TYPE_ORDER = {t: i for i, t in enumerate(ENUM_LABELS["school_type"])}
_STATUS_ORDER = {"compliant": 0, "not_compliant": 1, "insufficient_data": 2, "veto": 3}


def sort_rows(rows: list[dict[str, Any]], key: str, order: str) -> list[dict[str, Any]]:
    """The ranking's rows in display order: by ``key`` (types and statuses in their natural order), ties by
    school code ascending; rows without the value (no score, no rank) always last, by school code (by rank:
    in the ranking's own order, the vetoed schools before those without a report)."""

    def value(r: dict[str, Any]) -> Any:
        v = r.get(key)
        if v is None:
            return None
        if key in ("score", "coverage"):
            try:
                return Decimal(str(v))
            except InvalidOperation:
                return None
        if key == "type":
            return _TYPE_ORDER.get(v, len(_TYPE_ORDER))
        if key == "status":
            return _STATUS_ORDER.get(v, len(_STATUS_ORDER))
        return v

    by_code = sorted(rows, key=lambda r: r["school_code"])
    present = [r for r in by_code if value(r) is not None]
    missing = [r for r in by_code if value(r) is None]
    if key == "rank":  # the unranked in the engine's order: vetoed by score (SCORING.md), then no report
        missing = [r for r in rows if value(r) is None]
    present.sort(key=value, reverse=(order == "desc"))  # stable: ties keep the school-code order
    return present + missing


def school_indicators(school: School, frm: str, to: str) -> dict[str, Any] | None:
    """One school's score with its indicator rows (the scoring service's snapshot); None when the school has
    no expected month in the window."""
    s = db.session()
    try:
        score = cache.school_score(s, school.code, school.county_code, frm, to)
    except snapshots.NotRanked:
        score = None
    return score


@bp.get("/schools/<code>/explain")
@signed_in
def explain(code: str) -> Any:
    """The indicator rows of one score (a fragment the ranking page opens inline; a page without script)."""
    school = school_in_scope(code)
    frm, to, _year = window_args(school.county)
    score = school_indicators(school, frm, to)
    template = "pages/_explain.html" if request.args.get("fragment") else "pages/explain.html"
    return render_template(template, school=school, county=school.county, score=score, frm=frm, to=to)


# ---------------------------------------------------------------- school


@bp.get("/schools/<code>/")
@signed_in
def school(code: str) -> Any:
    sch = school_in_scope(code)
    frm, to, year = window_args(sch.county)
    s = db.session()
    months = queries.school_months(s, code)
    ledger = hazard_ledger(s, school_code=code)
    fund, fund_error = school_fund_history(sch, frm, to)
    score = school_indicators(sch, frm, to)
    box = opinions.school_months(s, code, frm, to)  # 意见箱 (issue 20 item 4)
    user = _user()
    return render_template(
        "pages/school.html",
        opinions=box,
        opinion_totals=opinions.school_totals(box),
        school=sch,
        county=sch.county,
        months=months,
        all_revisions=[(m.period, r) for m in months for r in reversed(m.revisions)],
        ledger=ledger,
        today=calendar.today(),
        fund=fund,
        fund_error=fund_error,
        score=score,
        frm=frm,
        to=to,
        year=year,
        pdf_body={"school_code": sch.code, **pdf_window(sch.county, frm, to, year)},
        can_admin=can_admin_county(s, user, sch.county_code),
        can_see_county=can_see_county(s, user, sch.county_code),
        has_inspections=has_inspections(s, sch.code),
    )


def school_fund_history(sch: School, frm: str, to: str) -> tuple[Any, str | None]:
    """The school's 营养餐 months over the window (the nutrition service's history), or why there is none."""
    try:
        return fund_services.school_fund_history(db.session(), sch.code, frm, to), None
    except fund_services.WindowError as exc:
        return None, exc.message(lang())


@bp.get("/schools/<code>/diff")
@signed_in
def diff(code: str) -> Any:
    sch = school_in_scope(code)
    s = db.session()
    try:
        a_id, b_id = parse_id(request.args.get("a", "")), parse_id(request.args.get("b", ""))
    except NotAnId:  # district/ids.py: ASCII digits only
        abort(400, description=_("Choose two revisions to compare."))
    if a_id is None or b_id is None:
        abort(404)  # past 32 bits: no such revision
    try:
        rev_a, content_a = queries.revision_content(s, code, a_id)
        rev_b, content_b = queries.revision_content(s, code, b_id)
    except LookupError:
        abort(404)  # not a revision of this school
    if (rev_a.period, rev_a.revision, rev_a.id) > (rev_b.period, rev_b.revision, rev_b.id):
        (rev_a, content_a), (rev_b, content_b) = (rev_b, content_b), (rev_a, content_a)  # older on the left
    changes = queries.revision_diff(content_a, content_b)
    return render_template(
        "pages/diff.html",
        school=sch,
        county=sch.county,
        a=rev_a,
        b=rev_b,
        changes=changes,
        is_absent=queries.is_absent,
    )


# ---------------------------------------------------------------- fund report


@bp.get("/counties/<county>/fund")
@signed_in
def fund(county: str) -> Any:
    c = county_in_scope(county)
    frm, to, _year = window_args(c)
    report, error = county_fund_report(c, frm, to)
    from district.dashboard import lists  # the one filter and sort of school lists (issue 17 item 6)

    q = lists.list_query((*lists.FUND_SORTS, "township", "type"), "township")
    s = db.session()
    rows = lists.fund_rows(s, county, report["schools"], q) if report else []
    return render_template(
        "pages/fund.html",
        county=c,
        frm=frm,
        to=to,
        report=report,
        error=error,
        rows=rows,
        q=q,
        townships=queries.townships(s, county),
        types=lists.type_choices(s, county),
    ), (400 if error else 200)


def county_fund_report(county: County, frm: str, to: str) -> tuple[dict[str, Any] | None, str | None]:
    """The fund report JSON (the same figures as the xlsx and the PDF) from the nutrition service, or why not."""
    try:
        report = fund_services.fund_report(db.session(), county.code, frm, to, schools_where=school_filter(_user()))
    except fund_services.WindowError as exc:
        return None, exc.message(lang())
    return report.to_dict(lang()), None


# ---------------------------------------------------------------- period approval


@bp.get("/counties/<county>/calendar")
@signed_in
def duty_calendar(county: str) -> Any:
    """后勤行事历 of one month: per task, done / not done by township and by school (``district.duties``'s
    ``month_status``, the same figures as ``GET /api/v1/counties/<c>/calendar``)."""
    from district.reports.calendar_tasks import month_status

    c = county_in_scope(county)
    period = period_arg(c)
    status = month_status(db.session(), c.code, period, schools_where=school_filter(_user()))
    return render_template("pages/calendar.html", county=c, period=period, status=status)


@bp.get("/counties/<county>/approval")
@signed_in
def approval(county: str) -> Any:
    c = county_in_scope(county)
    period = period_arg(c)
    done = request.args.get("done")
    return _approval_page(c, period, done=done if done in ("lock", "unlock") else None)


def can_lock_period(county_code: str) -> bool:
    """Locking and unlocking a period is a county's act: its county_admin. The city (city_admin) reads the page
    and the state, but approving a county's month is not its decision (issue 17)."""
    user = _user()
    from district.auth.services import can_lock_period

    return can_lock_period(db.session(), user, county_code)


def _approval_scope(c: County, period: str) -> dict[str, Any]:
    """What a lock approves: the schools expected but not reported this month and the month's fund anomalies
    (the completeness and fund services' own figures), with where to read them in full."""
    completeness = county_completeness(db.session(), c.code, period, schools_where=school_filter(_user()))
    _rows, anomaly_total, anomaly_counts = period_fund_anomalies(c, period)
    from district.auth.services import township_scope
    from district.review.services import period_review_counts  # issue 18

    return {
        "reviews": period_review_counts(db.session(), c.code, period, township_scope(_user())),
        "expected": completeness.expected,
        "reported": completeness.reported,
        "unreported": completeness.missing,
        "anomaly_total": anomaly_total,
        "anomaly_counts": [
            (ANOMALY_CODES[code].zh if lang() == "zh" else ANOMALY_CODES[code].en, n)
            for code, n in anomaly_counts.items()
            if code in ANOMALY_CODES
        ],
    }


def _approval_page(
    c: County,
    period: str,
    error: str | None = None,
    status: int = 200,
    *,
    done: str | None = None,
    confirm: str | None = None,
    note: str | None = None,
) -> Any:
    from district.reports.approval import period_state

    s = db.session()
    state = period_state(s, c.code, period)
    since = queries.revisions_since(s, c.code, period, state.history) if state.history else []
    return render_template(
        "pages/approval.html",
        county=c,
        period=period,
        periods=recent_periods(),
        state=state,
        since=since,
        scope=_approval_scope(c, period),
        error=error,
        done=done,
        confirm=confirm,
        note=note,
        can_admin=can_lock_period(c.code),
    ), status


@bp.post("/counties/<county>/approval/<period>/<action>")
@signed_in
def approval_act(county: str, period: str, action: str) -> Any:
    """Lock or unlock in two steps, no script needed: the first POST shows what is being approved and asks to
    confirm (the same page, a ``confirm`` form); the second, with ``confirm=yes``, acts and redirects to the
    page with a result message (``?done=lock``)."""
    from district.reports.approval import ApprovalError, set_lock

    c = county_in_scope(county)
    if action not in ("lock", "unlock"):
        abort(404)
    try:
        parse_period(period)
    except ValueError:
        abort(404)
    if not can_lock_period(county):
        abort(403)
    note = (request.form.get("note") or "").strip()[:500] or None
    if request.form.get("confirm") != "yes":
        return _approval_page(c, period, confirm=action, note=note)
    s = db.session()
    if action == "lock" and request.form.get("returned_ok") != "yes":
        from district.review.services import period_review_counts  # issue 18: returned, not yet corrected

        if period_review_counts(s, county, period).returned:
            message = _(
                "Some reports of this period were returned and are not corrected yet: tick the box to lock anyway."
            )
            return _approval_page(c, period, error=message, status=409, confirm=action, note=note)
    try:
        set_lock(s, county, period, lock=(action == "lock"), actor=_user().username, note=note)
    except ApprovalError as exc:  # the 409 answer rolls the request back
        message = (
            _("This period is already locked.") if exc.code == "already_locked" else _("This period is not locked.")
        )
        return _approval_page(c, period, error=message, status=409)
    return redirect(url_for("dashboard.approval", county=county, period=period, done=action))


# ---------------------------------------------------------------- on-site inspection


@bp.route("/schools/<code>/inspection", methods=["GET", "POST"])
@signed_in
def inspection(code: str) -> Any:
    """On-site inspection entry (B2): a score, or a checklist that makes it, and the findings (each a hazard of
    the school, ``DC-<id>-<n>``); the scoring service validates and records it (audited)."""
    from district.dashboard import inspection_form as ifm
    from district.scoring.checklists import checklist

    sch = school_in_scope(code)
    require_admin(sch.county_code)
    form = {"date": calendar.today().isoformat(), "score": "", "inspector": _user().display_name or "", "notes": ""}
    s = db.session()
    items = checklist(s, sch.county)
    rows, answered = ifm.form_items({}, items)
    findings, filled = ifm.form_findings({})
    errors: list[str] = []
    by_field: dict[str, list[str]] = {}
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in form}
        if not form["date"] and request.form.get("date_y"):
            # the page's year/month/day choosers; an impossible day (2 月 30 日) is refused by the service
            parts = (request.form.get(f"date_{p}", "").strip() for p in "ymd")
            y, m, d = parts
            form["date"] = f"{y}-{m.zfill(2)}-{d.zfill(2)}"
        rows, answered = ifm.form_items(request.form, items)
        findings, filled = ifm.form_findings(request.form)
        item_args, finding_args = ifm.service_args(rows, answered, findings, filled)
        try:
            inspections.record_inspection(
                s,
                sch.code,
                date=form["date"] or None,
                score=form["score"] or None,
                inspector=form["inspector"] or None,
                notes=form["notes"] or None,
                items=item_args,
                findings=finding_args,
                actor=_user().username,
            )
        except inspections.InspectionError as exc:  # the 400 answer rolls the request back
            details = exc.details(lang())
            errors = [d["message"] for d in details]
            by_field = ifm.field_errors(details, answered, filled)
        else:
            return redirect(url_for("dashboard.school", code=code, saved="inspection") + "#score")
    return render_template(
        "pages/inspection.html",
        school=sch,
        county=sch.county,
        form=form,
        errors=errors,
        field_errors=by_field,
        checklist=items,
        item_rows=rows,
        findings=findings,
    ), (400 if errors else 200)


@bp.get("/schools/<code>/inspections.pdf")
@signed_in
def inspection_report(code: str) -> Any:
    """The school's 督查记录 as a PDF, one page per visit (``?visit=<id>``: that visit only); 404 without one."""
    from urllib.parse import quote

    from flask import current_app

    from district.printing import RenderError
    from district.rendering.inspection import inspection_report_pdf, school_inspections

    sch = school_in_scope(code)
    visit: int | None = None
    if request.args.get("visit") is not None:
        try:
            visit = parse_id(request.args.get("visit"))
        except NotAnId:
            abort(404)
        if visit is None:
            abort(404)
    s = db.session()
    visits = school_inspections(s, sch.code, visit)
    if not visits:
        abort(404)
    try:
        pdf = inspection_report_pdf(s, sch, visits, bounded=True)
    except RenderError:
        abort(503)
    name = f"督查记录_{sch.name}.pdf"
    resp = current_app.response_class(pdf, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"inspections-{sch.code}.pdf\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# ---------------------------------------------------------------- errors and wiring


@bp.app_template_global()
def person(username: str | None) -> str:
    """A user as people know them on a page: the display name (a username is an account's code); the username
    when no such user is known (an actor of the command line, a removed account)."""
    if not username:
        return "—"
    names: dict[str, str] = g.setdefault("_people", {})
    if username not in names:
        from district.auth.services import find_user

        user = find_user(db.session(), username)
        names[username] = (user.display_name or username) if user is not None else username
    return names[username]


@bp.app_template_global()
def school_href(code: str) -> str:
    """``url_for("dashboard.school", code=code)``, made once per request: pages link hundreds of schools."""
    base = g.get("_school_href")
    if base is None:
        base = g._school_href = url_for("dashboard.school", code="__CODE__")
    return str(base).replace("__CODE__", code)


@bp.app_template_global()
def period_options(selected: str, count: int = 13) -> list[str]:
    """The months a chooser offers, newest first: the current one and ``count - 1`` before it (37 covers the
    36-month window limit), and ``selected`` wherever it lies. A select, not ``<input type=month>``, whose picker
    follows the browser's locale and is missing from the IE-mode browsers common in offices."""
    periods = recent_periods(count)
    if selected and selected not in periods:
        periods.append(selected)
        periods.sort(reverse=True)
    return periods


@bp.app_template_global()
def date_options(selected: str) -> dict[str, Any]:
    """The year, month and day choosers of a date field (the inspection's date), around the hub's today."""
    today = calendar.today()
    try:
        chosen = dt.date.fromisoformat(selected)
    except (TypeError, ValueError):
        chosen = today
    years = sorted({today.year, today.year - 1, chosen.year}, reverse=True)
    return {"years": years, "year": chosen.year, "month": chosen.month, "day": chosen.day}


def _security_headers(resp: Any) -> Any:
    if resp.mimetype == "text/html":
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    return resp


def init_app(app: Flask) -> None:
    init_babel(app)
    register_page_errors(bp)
    app.register_blueprint(bp)
    app.after_request(_security_headers)
    app.jinja_env.globals.update(periods_between=periods_between)
