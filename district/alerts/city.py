"""The city overview 市级总览 (API.md ``GET /api/v1/cities/<city>/overview``): the city's counties side by side.

Every figure is a county endpoint's, for the same period, read through the same services: completeness and
timeliness (``reports.completeness.county_completeness``), the ranking over the year to date of the period
(``alerts.services.year_to_date_ranking``: its vetoed schools, counted by ``scoring.summaries.status_counts``
as the county summary PDF counts them, and its campaign progress, as the ranking API shows them for
``from=<year>-01&to=<period>``), the period's fund anomalies
(``nutrition.services.county_period_anomalies``, the fund report's list) and the overdue major hazards of the
alerts. The city's 重大预警 are its counties' alerts, most serious kind first, then by county code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar, readcache
from district.alerts.services import (
    KIND_OVERDUE_MAJOR_HAZARD,
    KINDS,
    Alert,
    county_alerts,
    year_to_date_ranking,
)
from district.auth.models import User
from district.auth.services import can_see_county
from district.registry.models import City, County
from district.reports.completeness import county_completeness
from district.scoring.engine import STATUS_VETO
from district.scoring.summaries import status_counts
from houqin_standard.periods import period_add


@dataclass
class CityOverview:
    city_code: str
    name: str
    period: str
    counties: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[tuple[County, Alert]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"city_code": self.city_code, "name": self.name, "period": self.period, "counties": self.counties}


def default_period(counties: list[County]) -> str:
    """The latest period closed in every one of ``counties`` (their deadline days may differ), so that the
    counties are compared on the same month; the current month's previous one when there is no county."""
    if not counties:
        return period_add(calendar.current_period(), -1)
    return min(calendar.latest_closed_period(c) for c in counties)


def county_figures(session: Session, county: County, period: str) -> tuple[dict[str, Any], list[Alert]]:
    """One county's line of the city overview and its alerts."""
    done = county_completeness(session, county.code, period).to_dict()
    snapshot = year_to_date_ranking(session, county, period)
    anomalies = readcache.period_anomalies(session, county, period)
    alerts = county_alerts(session, county, period, snapshot=snapshot, anomalies=anomalies)
    campaign = None
    veto_schools = 0
    if snapshot is not None:
        veto_schools = status_counts(snapshot.results)[STATUS_VETO]  # as the county summary PDF counts them
        p = snapshot.campaign
        campaign = {"compliant": p["compliant"], "active": p["active"], "progress": p["rate"], "target": p["target"]}
    line = {
        "county_code": county.code,
        "name": county.name,
        "expected": done["expected"],
        "reported": done["reported"],
        "on_time": done["on_time"],
        "completeness": done["completeness"],
        "timeliness": done["timeliness"],
        "veto_schools": veto_schools,
        "overdue_major_hazards": sum(1 for a in alerts if a.kind == KIND_OVERDUE_MAJOR_HAZARD),
        "fund_anomalies": len(anomalies),
        "campaign": campaign,
    }
    return line, alerts


def city_overview(session: Session, city_code: str, name: str, counties: list[County], period: str) -> CityOverview:
    """``counties`` (those of the city the caller may see, by code) side by side for ``period``."""
    out = CityOverview(city_code, name, period)
    found: list[tuple[County, Alert]] = []
    for county in sorted(counties, key=lambda c: c.code):
        line, alerts = county_figures(session, county, period)
        out.counties.append(line)
        found.extend((county, a) for a in alerts)
    order = {kind: i for i, kind in enumerate(KINDS)}
    out.alerts = sorted(found, key=lambda ca: order[ca[1].kind])  # stable: county code, then the county's order
    return out


def counties_in_scope(session: Session, user: User, city_code: str) -> tuple[City, list[County]] | None:
    """The city and those of its counties ``user`` may see (a city_admin: all; a county's own users: their
    county); ``None`` when the city is unknown or the user sees none of it (answered as 404, like every
    object out of scope)."""
    city = session.get(City, city_code)
    if city is None or user.role == "township_admin":  # a township sees no county's aggregates (issue 18)
        return None
    counties = [
        c
        for c in session.scalars(select(County).where(County.city_code == city_code).order_by(County.code))
        if can_see_county(session, user, c.code)
    ]
    return (city, counties) if counties else None
