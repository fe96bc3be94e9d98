"""Read-side caches shared by every surface (the dashboard's pages, the alerts and the city overview): the same
figures the services return, kept in the process while they cannot have changed. Nothing here decides a figure.

A period's fund anomalies and a county's hazard ledger at a period are kept under the county's revision
watermark (``county_watermark``): the newest effective revision of the county (its id and chain link, which no
other revision shares) and the county's subsidy standard. Any accepted revision, of any month, moves the
watermark; nothing else enters the fund rules or the hazard ledger. While reports keep arriving, a value made
less than ``READ_MAX_AGE_SECONDS`` ago is shown as it is (the read side's debounce, as for rankings).

The caches are ``district.caches``'s: per process (each gunicorn worker has its own), bounded, thread-safe,
keyed by values, and emptied together by ``clear()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from district import caches
from district.registry.models import County
from district.reports.models import ReportHead, ReportRevision

T = TypeVar("T")


def _max_age() -> float:
    try:
        from flask import current_app

        return float(current_app.config.get("READ_MAX_AGE_SECONDS") or 0)
    except RuntimeError:
        return 0.0


_anomalies = caches.cache("readcache.period_anomalies", 64)
_ledgers = caches.cache("readcache.overdue_major_hazards", 64)


def get_recent_or_make(cache: caches.Cache[Any], key: Hashable, mark: Hashable, make: Callable[[], T]) -> T:
    """``cache``'s value for ``key`` made at watermark ``mark``, or while reports keep arriving one made less than
    ``READ_MAX_AGE_SECONDS`` ago (the read side's debounce, as rankings have); else made again."""
    return cache.get_recent_or_make(key, mark, make, _max_age())


def county_watermark(session: Session, county: County) -> tuple[Any, ...]:
    """Changes whenever an effective revision of the county changes (revision ids only grow, and a new
    revision becomes its month's head), the county's subsidy standard does, or a bureau inspection adds a
    finding to the hazard ledger (``reports.models.InspectionFinding``: appended, ids only grow)."""
    from district.reports.models import InspectionFinding

    newest_id = session.scalar(select(func.max(ReportHead.revision_id)).where(ReportHead.county_code == county.code))
    link = (
        session.scalar(select(ReportRevision.chain_hash).where(ReportRevision.id == newest_id)) if newest_id else None
    )
    finding = session.scalar(select(func.max(InspectionFinding.id)).where(InspectionFinding.county_code == county.code))
    return (county.code, newest_id, link, str(county.subsidy_standard), finding)


def period_anomalies(session: Session, county: County, period: str) -> list[Any]:
    """``nutrition.services.county_period_anomalies``, made once per watermark of the county."""
    from district.nutrition import services as fund

    mark = county_watermark(session, county)
    return list(
        get_recent_or_make(
            _anomalies,
            (county.code, period),
            mark,
            lambda: tuple(fund.county_period_anomalies(session, county.code, period)),
        )
    )


def overdue_major_hazards(session: Session, county: County, period: str, on: dt.date) -> list[Any]:
    """The county's major hazards of the ledger as it stood at ``period``, open and past their deadline on
    ``on`` (``reports.hazards.hazard_ledger``), made once per watermark of the county."""
    from district.reports.hazards import hazard_ledger

    def make() -> tuple[Any, ...]:
        entries = hazard_ledger(session, county_code=county.code, as_of_period=period, overdue_on=on)
        return tuple(e for e in entries if e.severity == "major")

    mark = county_watermark(session, county)
    return list(get_recent_or_make(_ledgers, (county.code, period, on), mark, make))


def clear() -> None:
    """The read side's caches (these and the dashboard's, keyed by county watermarks and snapshots), as the tests
    do before each test: a rolled-back test's rows may come back in the next under the same ids. The other caches
    of ``district.caches`` are content-addressed or pure, never stale."""
    caches.clear("readcache.", "dashboard.")
