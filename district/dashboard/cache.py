"""Read-side caches of the dashboard: the same figures the services return, kept in the process while they
cannot have changed. Nothing here decides a figure.

- Rankings: a ranking snapshot is never updated (a recompute is a new snapshot), so its view is cached by the
  snapshot's identity. Finding the snapshot is still the scoring service's ``latest_ranking`` (see
  ``current_snapshot`` for when it recomputes); the dashboard only asks the ORM not to load the snapshot's
  large columns (``results``: every school's indicator rows, ~12 MB for 1,000 schools) until a view that needs
  them is not cached yet. Campaign progress reads only the snapshot's small ``campaign`` column; one school's
  explanation is read from that school's row alone once the snapshot has been decoded.
- A period's fund anomalies and the overdue hazards of a day are cached under the county's revision
  watermark: the newest effective revision of the county (its id and chain link, which no other revision
  shares) and the county's subsidy standard. Any accepted revision, of any month, moves the watermark;
  nothing else enters the fund rules or the hazard ledger. While reports keep arriving, a value made less than
  ``READ_MAX_AGE_SECONDS`` ago is shown as it is (the read side's debounce, as for rankings).

The caches are per process (each gunicorn worker has its own), bounded, and thread-safe.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Select, event
from sqlalchemy.orm import ORMExecuteState, Session, defer

from district import caches, calendar, readcache
from district.readcache import county_watermark, get_recent_or_make
from district.registry.models import County
from district.reports import windows
from district.scoring import snapshots
from district.scoring.engine import Window
from district.scoring.models import RankingSnapshot

T = TypeVar("T")


_rankings = caches.cache("dashboard.ranking_views", 32)
_hazards = caches.cache("dashboard.overdue_hazards", 32)
_fragments = caches.cache("dashboard.ranking_fragments", 16)
_school_views = caches.cache(
    "dashboard.school_views", 256
)  # (snapshot, school) → that school's explained view as JSON text (~12 KB each)

_LARGE_COLUMNS = (RankingSnapshot.results, RankingSnapshot.inputs, RankingSnapshot.type_ranking)


@contextmanager
def light_snapshots(session: Session) -> Iterator[None]:
    """Inside: ranking snapshots are loaded without their large JSON columns (loaded on first access)."""

    def _defer_large(state: ORMExecuteState) -> None:
        statement = state.statement
        if (
            state.is_select
            and isinstance(statement, Select)
            and any(d.get("expr") is RankingSnapshot for d in statement.column_descriptions)
        ):
            state.statement = statement.options(*(defer(c) for c in _LARGE_COLUMNS))

    event.listen(session, "do_orm_execute", _defer_large)
    try:
        yield
    finally:
        event.remove(session, "do_orm_execute", _defer_large)


def _snapshot_key(snapshot: RankingSnapshot) -> tuple[Any, ...]:
    # the id alone would do for a stored snapshot in production (never reused); computed_at also tells apart
    # rolled-back test data, and a transient (unstored) snapshot is told apart by its inputs' watermarks and rubric
    return (
        snapshot.id,
        snapshot.computed_at,
        snapshot.rubric_version,
        snapshot.max_revision_id,
        snapshot.max_inspection_id,
        snapshot.registry_sha256,
        snapshot.county_code,
        snapshot.period_from,
        snapshot.period_to,
    )


def current_snapshot(session: Session, county_code: str, period_from: str, period_to: str) -> RankingSnapshot:
    """The ranking snapshot a page shows for the window: the one every read shows
    (``district.scoring.tasks.ranking_for_read``: the stored snapshot while current, else computed without
    storing, kept in this process while its inputs are unchanged), without loading its large columns until a
    view that needs them is not cached yet."""
    from district.scoring.tasks import ranking_for_read

    with light_snapshots(session):
        return ranking_for_read(session, county_code, Window(period_from, period_to), trigger="dashboard")


def county_ranking(
    session: Session, county_code: str, period_from: str, period_to: str, *, by_type: bool = False
) -> dict[str, Any]:
    """``scoring.ranking.county_ranking``, with the view of an unchanged snapshot made once per process."""
    snapshot = current_snapshot(session, county_code, period_from, period_to)
    return _rankings.get_or_make(
        (*_snapshot_key(snapshot), by_type), lambda: snapshots.ranking_view(session, snapshot, by_type=by_type)
    )


def school_score(session: Session, school_code: str, county_code: str, period_from: str, period_to: str) -> Any:
    """``scoring.ranking.school_score``: one school's view of the current snapshot (``NotRanked`` when the
    school has no expected month in W), its indicator rows explained from the snapshot's pinned inputs once
    per process and kept as JSON text (each caller gets its own copy)."""
    snapshot = current_snapshot(session, county_code, period_from, period_to)
    text = _school_views.get_or_make(
        (*_snapshot_key(snapshot), school_code),
        lambda: json.dumps(snapshots.school_view(session, snapshot, school_code), ensure_ascii=False),
    )
    return json.loads(text)


def county_campaign_progress(session: Session, county: County, year: int) -> dict[str, Any] | None:
    """``scoring.campaign.county_campaign_progress`` — the year snapshot's ``campaign``, without its rows."""
    try:
        window = windows.resolve_window(session, county, year=year)
    except calendar.WindowError:
        return None
    snapshot = current_snapshot(session, county.code, window.period_from, window.period_to)
    return {
        "county_code": county.code,
        "window": {"from": window.period_from, "to": window.period_to},
        **snapshot.campaign,
    }


def overdue_hazards(session: Session, county: County, on: dt.date) -> list[Any]:
    """``reports.hazards.overdue_hazards`` on day ``on``, made once per watermark of the county and day: the
    ledger is the effective revisions' entries, and only a revision changes it."""
    from district.reports.hazards import overdue_hazards as overdue

    mark = county_watermark(session, county)
    return list(get_recent_or_make(_hazards, (county.code, on), mark, lambda: tuple(overdue(session, county.code, on))))


def ranking_fragments(view: dict[str, Any], variant: Hashable, make: Callable[[], T]) -> T:
    """Pieces of a page made from one ranking view (e.g. its rows' HTML in one language): made once per
    snapshot and ``variant``, like the view itself."""
    key = (view["county_code"], view["snapshot_id"], view["computed_at"], view["by_type"], variant)
    return _fragments.get_or_make(key, make)


def clear() -> None:
    readcache.clear()
