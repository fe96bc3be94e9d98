"""营养餐 fund services: read the effective revisions from the database and hand them to the pure engine.

Nothing here computes a figure. ``fund_report`` gathers, for one county and one window, exactly the inputs
``engine.build_fund_report`` needs (effective revisions, each school's previous participating report,
expected periods, the county's subsidy standard); the JSON API, the xlsx, the PDF and the CLI all show that
one ``FundReport``. Anomalies are therefore computed at read time from the effective revisions: when a
correction changes a closing balance, the carry-over check of the later months moves with it, without
anything stored to recompute.

Queries (``fund_report``), whatever the county's size — besides the county's own row:

1. the county's schools with their township names;
2. the effective revisions inside the window — ``report_heads`` (the effective-revision index, filtered by
   its ``county_code`` and the period range, with each revision's figures stored at ingestion) joined to
   ``report_revisions`` for the revision number (not its content: a head without figures of the current
   layout, if any, has its content read in one more query), see :func:`_window_heads`;
3. each school's most recent effective *participating* revision before the window (for the carry-over check
   of its first participating month in the window), see :func:`_previous_participating`;
4. each school's most recent effective participating revision *sent in @2* before the window (the stock
   carry-over basis of its first @2 month), the same query with ``stock=True``.

``bench/nutrition/run.py`` times them on a county of 1,000 schools × 10 months.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar
from district.calendar import WindowError
from district.db import utcnow
from district.nutrition.anomalies import Anomaly
from district.nutrition.engine import FundMonth, FundReport, FundSchool, FundSchoolRow, build_fund_report
from district.nutrition.quality import period_quality_warnings
from district.registry.models import County, School, Township
from district.registry.services import township_order
from district.reports import windows
from district.reports.figures import ReportFigures, load_figures
from district.reports.history import PARTICIPATING_MARK, previous_participating_rows
from district.reports.models import ReportHead, ReportRevision
from houqin_standard import format_money, parse_period, periods_between

__all__ = [
    "MAX_WINDOW_MONTHS",
    "PARTICIPATING_MARK",
    "SchoolFundHistory",
    "SchoolFundMonth",
    "WindowError",
    "check_window",
    "county_period_anomalies",
    "county_quality_warnings",
    "fund_report",
    "fund_report_filename",
    "school_fund_history",
]

#: The longest window a fund report covers: the reporting calendar's (three school years); longer asks are refused.
MAX_WINDOW_MONTHS = calendar.MAX_WINDOW_MONTHS


def check_window(period_from: str | None, period_to: str | None) -> list[str]:
    """The periods of ``period_from..period_to`` (inclusive), or the calendar's :class:`WindowError`:

    ``invalid_period`` (missing or not ``YYYY-MM``), ``invalid_window`` (from after to),
    ``window_too_long`` (more than :data:`MAX_WINDOW_MONTHS` months).
    """
    calendar.check_period(period_from or "", "from")
    calendar.check_period(period_to or "", "to")
    assert period_from is not None and period_to is not None
    if period_from > period_to:  # YYYY-MM strings order as the periods do
        raise WindowError(
            "invalid_window",
            f"起始月份 {period_from} 晚于截止月份 {period_to}",
            f"from {period_from} is after to {period_to}",
            field="from",
        )
    periods = periods_between(period_from, period_to)
    if len(periods) > MAX_WINDOW_MONTHS:
        raise WindowError(
            "window_too_long",
            f"统计期间为 {len(periods)} 个月，最长 {MAX_WINDOW_MONTHS} 个月",
            f"the window is {len(periods)} months; at most {MAX_WINDOW_MONTHS}",
            field="from",
        )
    return periods


# ------------------------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class _Head:
    school_code: str
    period: str
    revision_id: int
    revision: int
    figures: ReportFigures  # what the fund engine reads of the report


def _window_heads(
    session: Session, county_code: str, period_from: str, period_to: str, school_code: str | None = None
) -> list[_Head]:
    """The effective revisions of the window, by school code and period, with their figures: those stored on
    the heads (``ReportFigures.from_stored``), a head without figures of the current layout's from its
    revision's content (one more query, for those only). Sorted here rather than by the database: an ORDER BY
    over the wide rows made PostgreSQL sort them on disk.

    The figures are a fifth of a report's text and one flat list: reading them instead of the content (or,
    before, the ``json_extract`` of its parts on SQLite) costs less on either database, and the fund engine
    and scoring's C4 read the same values.
    """
    q = (
        select(ReportHead.school_code, ReportHead.period, ReportRevision.id, ReportRevision.revision,
               ReportHead.figures)
        .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
        .where(
            ReportHead.county_code == county_code,
            ReportHead.period >= period_from,
            ReportHead.period <= period_to,
        )
    )  # fmt: skip
    if school_code is not None:
        q = q.where(ReportHead.school_code == school_code)
    heads: list[_Head] = []
    unread: list[tuple[str, str, int, int]] = []  # heads without figures of the current layout
    for code, period, rev_id, revision, stored in session.execute(q):
        figures = ReportFigures.from_stored(stored)
        if figures is None:
            unread.append((code, period, rev_id, revision))
        else:
            heads.append(_Head(code, period, rev_id, revision, figures))
    contents: dict[int, str] = {}
    for i in range(0, len(unread), 5000):
        chunk = [rev_id for _c, _p, rev_id, _r in unread[i : i + 5000]]
        rows = session.execute(select(ReportRevision.id, ReportRevision.content).where(ReportRevision.id.in_(chunk)))
        contents.update(rows.tuples().all())
    heads += [_Head(c, p, rev_id, r, load_figures(None, contents[rev_id])) for c, p, rev_id, r in unread]
    heads.sort(key=lambda h: (h.school_code, h.period))
    return heads


def _previous_participating(
    session: Session, county_code: str, before: str, school_code: str | None = None, *, stock: bool = False
) -> dict[str, ReportFigures]:
    """school code → its most recent effective participating report before ``before`` (one query); ``stock``:
    its most recent one sent in @2 (the stock carry-over basis).

    The one query of ``district.reports.history.previous_participating_rows`` (scoring and the agent's feedback
    use it too, so they agree), for all the county's schools at once.
    """
    stmt = previous_participating_rows(
        before, county_code=county_code, school_code=school_code, content=True, stock=stock
    )
    found: dict[str, ReportFigures] = {}
    for code, _period, _revision_id, stored, content in session.execute(stmt):
        figures = load_figures(stored, content)
        if not figures.participating:  # pragma: no cover - impossible for canonical content
            continue
        found[code] = figures
    return found


def _county(session: Session, county_code: str) -> County:
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(f"unknown county {county_code}")
    return county


def _fund_schools(
    county: County,
    schools: Sequence[tuple[School, str]],
    heads: Sequence[_Head],
    previous: Mapping[str, ReportFigures],
    periods: Sequence[str],
    start: str | None,
    previous_stock: Mapping[str, ReportFigures] | None = None,
) -> list[FundSchool]:
    """The engine's schools. A month outside a school's active range (closed, or not yet opened: a report
    stored before the dates were recorded) is left out, so it is in no row or total and reconciles nothing;
    break months the school reported stay (money that moved must be reconciled: ``engine.FundSchool``)."""
    registered = {school.code: school for school, _township in schools}
    by_school: dict[str, list[FundMonth]] = defaultdict(list)
    for head in heads:
        school = registered.get(head.school_code)
        if school is not None and calendar.is_active(school, head.period):
            by_school[head.school_code].append(FundMonth(head.period, head.revision_id, head.figures))
    return [
        FundSchool(
            code=school.code,
            name=school.name,
            type=school.type,
            township=township,
            supply_mode_hint=None,  # the registry keeps no supply mode; the reports state it
            months=by_school.get(school.code, []),
            previous_participating=previous.get(school.code),
            expected_periods=calendar.expected_periods(county, school, periods, start),
            previous_stock=None if previous_stock is None else previous_stock.get(school.code),
        )
        for school, township in schools
    ]


# ------------------------------------------------------------------------------------------- services


def fund_report(
    session: Session,
    county_code: str,
    period_from: str,
    period_to: str,
    *,
    now: dt.datetime | None = None,
    schools_where: Any = None,
) -> FundReport:
    """The county's 营养餐 fund report over ``period_from..period_to`` (SCORING.md, "营养餐 fund reconciliation").

    ``schools_where``: a clause on ``School`` (``district.auth.services.school_filter``: a township_admin's
    township) keeping those schools' rows and totals only; None: every school of the county.

    Inputs, read in three queries (module docstring) besides the county's row: every school registered in
    the county with its township name; the effective (newest accepted) revision of each school-period inside
    the window; each school's most recent effective participating report before the window. A school's
    expected periods are the window's periods that are not one of the county's break months and that its
    active range covers; a closed school or one not yet opened is expected for none, and its reports of months
    outside its active range are not counted (:func:`_fund_schools`). The county's ``subsidy_standard`` is the
    standard rate of ``NONSTANDARD_RATE``. ``now`` (default: the current time) is the report's generation time.

    Raises ``LookupError`` for an unknown county and :class:`WindowError` for a bad window.
    """
    periods = check_window(period_from, period_to)
    county = _county(session, county_code)
    schools = session.execute(
        select(School, Township.name)
        .join(Township, Township.id == School.township_id)
        .where(School.county_code == county_code, *(() if schools_where is None else (schools_where,)))
        .order_by(School.code)
    ).all()
    heads = _window_heads(session, county_code, period_from, period_to)
    registered = {school.code for school, _ in schools}
    if schools_where is not None:  # the user's township: the other schools' heads are not strays
        heads = [h for h in heads if h.school_code in registered]
    strays = sorted({h.school_code for h in heads} - registered)
    if strays:  # a head's county_code is its school's: this would be a broken registry, not a report
        raise RuntimeError(f"effective revisions of schools not registered in {county_code}: {strays}")
    previous = _previous_participating(session, county_code, period_from)
    previous_stock = _previous_participating(session, county_code, period_from, stock=True)
    report = build_fund_report(
        county.code,
        county.name,
        period_from,
        period_to,
        _fund_schools(
            county,
            [(s, t) for s, t in schools],
            heads,
            previous,
            periods,
            windows.reporting_start(session, county),
            previous_stock,
        ),
        standard_rate=county.subsidy_standard,
        generated_at=now or utcnow(),
        township_key=township_order(session, county.code),
    )
    from district.integrity.heads import county_heads

    return dataclasses.replace(report, chain_head=county_heads(session, county_code).digest)


def county_period_anomalies(session: Session, county_code: str, period: str) -> list[Anomaly]:
    """The fund anomalies of one period over the county's schools (the dashboard's period page): exactly the
    anomaly list of ``fund_report(session, county_code, period, period)``, sorted by school code and code."""
    return list(fund_report(session, county_code, period, period).anomalies)


_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def fund_report_filename(report: FundReport, extension: str, *, ascii_only: bool = False) -> str:
    """A file name saying what the file holds: ``610528_富平县_营养餐资金报表_2026-09_2026-11.xlsx``.

    ``ascii_only`` gives the fallback for clients without RFC 5987 (``610528_nutrition_fund_report_…``).
    Characters that no file system or header accepts are replaced with ``_``.
    """
    if ascii_only:
        stem = f"{report.county_code}_nutrition_fund_report_{report.window_from}_{report.window_to}"
    else:
        name = _UNSAFE_IN_FILENAME.sub("_", report.county_name).strip(" .") or report.county_code
        stem = f"{report.county_code}_{name}_营养餐资金报表_{report.window_from}_{report.window_to}"
    return f"{stem}.{extension}"


# ---------------------------------------------------------------------------------- one school's history


@dataclass(frozen=True)
class SchoolFundMonth:
    """One period of a school's fund history: the effective revision (if any) and its anomalies."""

    period: str
    expected: bool
    revision_id: int | None
    revision: int | None
    participating: bool | None  # None: no report
    nutrition: Mapping[str, Any] | None
    anomalies: tuple[Anomaly, ...]

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "period": self.period,
            "expected": self.expected,
            "reported": self.revision_id is not None,
            "revision_id": self.revision_id,
            "revision": self.revision,
            "participating": self.participating,
            "nutrition": dict(self.nutrition) if self.nutrition is not None else None,
            "anomalies": [a.to_dict(lang) for a in self.anomalies],
        }


@dataclass(frozen=True)
class SchoolFundHistory:
    """A school's 营养餐 months over a window, with the totals row of the county report (same engine)."""

    county_code: str
    school_code: str
    school_name: str
    township: str
    window_from: str
    window_to: str
    standard_rate: Decimal
    months: tuple[SchoolFundMonth, ...]
    totals: FundSchoolRow | None  # None: the school participated in no month of the window
    previous_period: str | None  # the participating month before the window its first month carries over from

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "county_code": self.county_code,
            "school_code": self.school_code,
            "school_name": self.school_name,
            "township": self.township,
            "window_from": self.window_from,
            "window_to": self.window_to,
            "standard_rate": format_money(self.standard_rate),
            "previous_participating_period": self.previous_period,
            "months": [m.to_dict(lang) for m in self.months],
            "totals": self.totals.to_dict(lang) if self.totals is not None else None,
        }


def school_fund_history(session: Session, school_code: str, period_from: str, period_to: str) -> SchoolFundHistory:
    """One school's fund months over the window, for the dashboard's school page.

    Every period of the window is listed (expected or not, reported or not) with the effective revision's
    nutrition section as reported and that month's anomalies; ``totals`` is exactly the school's row of the
    county fund report for the same window (built by the same engine from the same inputs).
    Raises ``LookupError`` for an unknown school and :class:`WindowError` for a bad window.
    """
    periods = check_window(period_from, period_to)
    row = session.execute(
        select(School, Township.name)
        .join(Township, Township.id == School.township_id)
        .where(School.code == school_code)
    ).first()
    if row is None:
        raise LookupError(f"unknown school {school_code}")
    school, township = row
    county = _county(session, school.county_code)
    heads = _window_heads(session, county.code, period_from, period_to, school_code=school.code)
    previous = _previous_participating(session, county.code, period_from, school_code=school.code)
    previous_stock = _previous_participating(session, county.code, period_from, school_code=school.code, stock=True)
    start = windows.reporting_start(session, county)
    fund_school = _fund_schools(county, [(school, township)], heads, previous, periods, start, previous_stock)[0]
    report = build_fund_report(
        county.code,
        county.name,
        period_from,
        period_to,
        [fund_school],
        standard_rate=county.subsidy_standard,
        generated_at=utcnow(),
    )
    totals = report.schools[0] if report.schools else None
    by_period = {h.period: h for h in heads}
    anomalies: dict[str, list[Anomaly]] = defaultdict(list)
    for a in report.anomalies:
        anomalies[a.period].append(a)
    expected = set(fund_school.expected_periods)
    months = []
    for period in periods:
        head = by_period.get(period)
        months.append(
            SchoolFundMonth(
                period=period,
                expected=period in expected,
                revision_id=head.revision_id if head else None,
                revision=head.revision if head else None,
                participating=head.figures.participating if head else None,
                nutrition=head.figures.section("nutrition") if head else None,
                anomalies=tuple(anomalies.get(period, ())),
            )
        )
    prev = previous.get(school.code)
    return SchoolFundHistory(
        county_code=county.code,
        school_code=school.code,
        school_name=school.name,
        township=township,
        window_from=period_from,
        window_to=period_to,
        standard_rate=county.subsidy_standard,
        months=tuple(months),
        totals=totals,
        previous_period=prev.period if prev else None,
    )


# ------------------------------------------------------------------------------------- data quality


def county_quality_warnings(session: Session, county_code: str, period: str) -> list[dict[str, str]]:
    """Outlier warnings (modified z-score, ``quality.period_quality_warnings``) over the effective reports of
    the county's schools for one period, each with the school's name added. Warnings, never errors."""
    try:
        parse_period(period)
    except ValueError:
        raise WindowError("invalid_period", "period 应为 YYYY-MM 格式的月份", "period must be YYYY-MM") from None
    _county(session, county_code)
    rows = session.execute(
        select(ReportRevision.content, School.name)
        .join(ReportHead, ReportHead.revision_id == ReportRevision.id)
        .join(School, School.code == ReportHead.school_code)
        .where(ReportHead.county_code == county_code, ReportHead.period == period)
        .order_by(ReportHead.school_code)
    ).all()
    names = {}
    reports = []
    for content, name in rows:
        report = json.loads(content)
        names[report["school_code"]] = name
        reports.append(report)
    return [
        {"school_code": w["school_code"], "school_name": names[w["school_code"]], **w}
        for w in period_quality_warnings(period, reports)
    ]
