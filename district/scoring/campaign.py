"""Campaign progress 创建进度: the share of a county's (or a city's) active schools at the campaign's standard.

Where the spec is silent (see also docs/DECISIONS.md): campaign progress is computed from the statuses of the
ranking's window, for the year of the window's last period. Active schools: those whose active range covers the
window's last period (a school that closed during the year leaves numerator and denominator). For ``year=Y`` this
is the campaign progress of Y. A city's campaign progress pools its counties' year rankings; its start year is
the earliest start year configured among its counties, its targets the default rubric's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from district.calendar import WindowError
from district.registry.models import City, County
from district.reports import windows
from district.scoring.county_rubrics import default_rubric
from district.scoring.engine import SchoolScore, campaign_progress
from district.scoring.ranking import read_ranking

__all__ = ["city_campaign_progress", "county_campaign_progress"]


def county_campaign_progress(
    session: Session, county_code: str, year: int, *, trigger: str = "read", now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """The county's campaign progress 创建进度 for ``year`` (from its year ranking); ``None`` before any period
    of that year has passed its deadline."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    try:
        window = windows.resolve_window(session, county, year=year, at=now)
    except WindowError:
        return None
    snapshot = read_ranking(session, county_code, window, trigger=trigger)
    return {
        "county_code": county_code,
        "window": {"from": window.period_from, "to": window.period_to},
        **snapshot.campaign,
    }


@dataclass(frozen=True)
class _Status:  # what campaign_progress reads of a SchoolScore
    code: str
    status: str


def city_campaign_progress(
    session: Session, city_code: str, year: int, *, trigger: str = "read", now: dt.datetime | None = None
) -> dict[str, Any]:
    """A city's campaign progress for ``year``: each county's, and the city's pooled over its counties."""
    if session.get(City, city_code) is None:
        raise LookupError(city_code)
    counties = list(session.scalars(select(County).where(County.city_code == city_code).order_by(County.code)))
    per_county = []
    statuses: list[_Status] = []
    active = 0
    for county in counties:
        try:
            window = windows.resolve_window(session, county, year=year, at=now)
        except WindowError:
            continue
        snapshot = read_ranking(session, county.code, window, trigger=trigger)
        per_county.append(
            {
                "county_code": county.code,
                "name": county.name,
                "window": {"from": window.period_from, "to": window.period_to},
                **snapshot.campaign,
            }
        )
        active += snapshot.campaign["active"]
        active_codes = set(snapshot.inputs["active_school_codes"])
        statuses += [
            _Status(r["school_code"], r["status"]) for r in snapshot.results if r["school_code"] in active_codes
        ]
    starts = [c.campaign_start_year for c in counties if c.campaign_start_year is not None]
    total = campaign_progress(
        cast(Sequence[SchoolScore], statuses), active, year, min(starts) if starts else None, default_rubric()
    )
    return {"city_code": city_code, **total, "counties": per_county}
