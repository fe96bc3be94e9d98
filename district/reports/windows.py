"""A county's windows: the reporting calendar's rules (``district.calendar``) applied with what the reports say.

The county's reporting start (上线月份) is its setting, else the earliest period of any accepted report in the
county; finding it reads the report store, so it lives here, beside the tables it reads, and the calendar
itself stays free of sessions. Every surface (pages, API, CLI, PDFs, workers) resolves a request's window here;
the clipping, capping and limits are ``calendar.window_for``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from district import calendar
from district.audit.services import record
from district.calendar import Window, WindowError
from district.registry.models import County
from district.reports.models import ReportHead

__all__ = [
    "configure_county",
    "default_window",
    "first_report_period",
    "reporting_start",
    "resolve_window",
    "validate_reporting_start",
    "window_from_args",
]

_FIRST_PERIODS = "houqin.first_report_period"


def first_report_period(session: Session, county_code: str) -> str | None:
    """The earliest period of any accepted report in the county (asked once per county and transaction: a
    page asks it for every window it resolves)."""
    known: dict[str, str | None] = session.info.setdefault(_FIRST_PERIODS, {})
    if county_code not in known:
        known[county_code] = session.scalar(
            select(func.min(ReportHead.period)).where(ReportHead.county_code == county_code)
        )
    return known[county_code]


def _forget_first_periods(session: Session, *_args: Any) -> None:
    session.info.pop(_FIRST_PERIODS, None)


# what the session wrote, or what others committed since its transaction began, may move a county's first period
for _event in ("after_flush", "after_commit", "after_soft_rollback", "after_begin"):
    event.listen(Session, _event, _forget_first_periods)


def reporting_start(session: Session, county: County) -> str | None:
    """The county's 上线月份: its setting, else its earliest accepted report's period, else ``None``."""
    if county.reporting_start:
        return county.reporting_start
    return first_report_period(session, county.code)


def validate_reporting_start(session: Session, county: County, value: Any) -> str:
    """A reporting start the county may set, else ``WindowError`` saying why (field ``reporting_start``): the
    calendar's rule (``calendar.check_reporting_start``) against the county's first accepted report."""
    return calendar.check_reporting_start(value, first_report_period(session, county.code))


def configure_county(session: Session, county_code: str, *, reporting_start: object, actor: str = "cli") -> County:
    """Set a county's reporting start (上线月份); ``None`` clears it. Validated against the county's reports
    (a future month, or one after the county's first accepted report, is refused with the reason:
    ``district.calendar.WindowError``); audited as ``county.configure``. ``LookupError`` for an unknown county.

    It lives here rather than in the registry, which owns the county, because the check reads the reports,
    which sit above the registry."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    value = None
    if reporting_start not in (None, ""):
        value = validate_reporting_start(session, county, reporting_start)
    previous = county.reporting_start
    if value != previous:
        county.reporting_start = value
        record(
            session,
            actor=actor,
            action="county.configure",
            county_code=county_code,
            reporting_start=value,
            previous_reporting_start=previous,
        )
    session.flush()
    return county


def resolve_window(
    session: Session,
    county: County,
    *,
    period_from: str | None = None,
    period_to: str | None = None,
    year: Any = None,
    school_year: Any = None,
    at: dt.datetime | None = None,
) -> Window:
    """The window of a request: ``from``+``to``, ``year`` or ``school_year``, else the default window; clipped
    to the county's reporting start and capped at its latest closed period (``WindowError`` when bad or empty)."""
    return calendar.window_for(
        county,
        reporting_start(session, county),
        period_from=period_from,
        period_to=period_to,
        year=year,
        school_year=school_year,
        at=at,
    )


def default_window(session: Session, county: County, at: dt.datetime | None = None) -> Window | None:
    """The window every surface shows without being given one (``year=`` the latest closed period's year),
    or ``None`` when no month of it can be counted yet (the county has not started reporting)."""
    try:
        return resolve_window(session, county, at=at)
    except WindowError:
        return None


def window_from_args(session: Session, county: County, args: Any, at: dt.datetime | None = None) -> Window:
    """The window of a request's query arguments (``from``, ``to``, ``year``, ``school_year``), as every page
    and API endpoint reads it."""
    return resolve_window(
        session,
        county,
        period_from=args.get("from") or None,
        period_to=args.get("to") or None,
        year=args.get("year") or None,
        school_year=args.get("school_year") or None,
        at=at,
    )
