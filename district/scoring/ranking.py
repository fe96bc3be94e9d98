"""Rankings: a county's scores and ranks over a window, computed by the one engine and kept as snapshots.

A ranking is stored with the watermarks of its inputs. It is *current* while no revision of a month up to W's
end, no inspection dated in W and no change of the county's schools or settings has arrived since;
``latest_ranking`` recomputes (and stores a new snapshot) only when it is not, and ``read_ranking`` (every read)
computes a stale one without storing it. Services ``flush()``; the caller (request, CLI command, task) commits
once.

A county's scoring runs inside its score loader's ``computing`` (``district.scoring.loader``: on PostgreSQL, no
parallel plans and the garbage collector paused), and reuses the school parts of schools whose inputs did not
change (the part cache below).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from sqlalchemy.orm import Session

from district import caches
from district.calendar import Window
from district.db import utcnow
from district.registry.models import County, School
from district.scoring.county_rubrics import county_rubric
from district.scoring.engine import (
    Medians,
    SchoolPart,
    SchoolScore,
    _rank,  # the engine's own ranking rule (ties, by-type order): reused so ranks are computed in one place
    campaign_progress,
    check_rubric,
    county_medians,
    school_part,
    score_parts,
)
from district.scoring.inputs import (
    CountyMeta,
    calendar_due,
    county_meta,
    current_registry_sha256,
    read_figures,
    registry_sha256,
    watermarks,
)
from district.scoring.loader import loader_of
from district.scoring.models import RankingSnapshot
from district.scoring.snapshots import (
    compact_row,
    medians_doc,
    newest_snapshot,
    newest_statement,
    ranking_view,
    school_view,
)

__all__ = [
    "TRANSIENT_RANKINGS",
    "clear_transient_rankings",
    "compute_ranking",
    "county_ranking",
    "is_current",
    "latest_ranking",
    "read_ranking",
    "school_score",
]

# The per-process cache of school parts. It is content-addressed (a revision's id AND its stored figures are in
# the key, and the rubric by value), so it can never serve stale or foreign data: a correction is a new revision
# (new id, new figures), and the same id in another database (the tests make many) with other content has other
# figures. Parsed reports are not kept: a county's query brings their text anyway, a recompute parses only the
# schools whose parts changed, and keeping thousands of parsed reports cost more (memory, the collector walking
# them) than parsing. Its hits and misses are the cache's (``district.caches.stats()``, "scoring.school_parts").
_parts = caches.cache("scoring.school_parts", 1200)  # the 4 most recently ranked counties of 300 schools

#: Rankings computed for reads and not stored, per process, by their inputs' fingerprint (bounded).
TRANSIENT_RANKINGS = 16
_transient = caches.cache("scoring.transient_rankings", TRANSIENT_RANKINGS)
_recent = caches.cache("scoring.recent_rankings", TRANSIENT_RANKINGS)  # (county, window, rubric) → newest for a read


def clear_transient_rankings() -> None:
    """Forget the rankings computed for reads (tests: a rolled-back test's ids are used again by the next)."""
    caches.clear(_transient.name, _recent.name)


def _county_scores(session: Session, meta: CountyMeta, window: Window) -> tuple[list[SchoolScore], Medians]:
    """``score_county`` of the county, reusing the school parts of schools whose inputs did not change: a
    part depends only on the key (the revisions by id and content hash, the inspections, the ledger entries,
    the registry fields, W, the rubric and the subsidy standard), so a reused part is the part that
    recomputing would give. Only F1 (against the county's medians), totals and ranks are always recomputed."""
    rubric, standard = meta.rubric, Decimal(meta.county.subsidy_standard)
    check_rubric(rubric)
    scored = [m for m in meta.schools if m.expected]
    rubric_key = rubric.fingerprint
    keys = [m.key(window, rubric_key, standard) for m in scored]
    parts: list[SchoolPart | None] = []
    todo: list[int] = []
    for i, key in enumerate(keys):
        hit = _parts.get(key)
        parts.append(hit)
        if hit is None:
            todo.append(i)
    if todo:
        reports = read_figures(session, [rid for i in todo for rid in scored[i].revision_ids()], meta.figures)
        due = calendar_due(session, rubric, [(m.revision_id, m.period) for i in todo for m in scored[i].months])
        for i in todo:
            part = school_part(scored[i].school_input(reports, due), window, rubric, standard_rate=standard)
            parts[i] = _parts.put(keys[i], part)
    medians = county_medians(cast(list[SchoolPart], parts), rubric)
    return score_parts(cast(list[SchoolPart], parts), rubric, medians=medians), medians


def compute_ranking(
    session: Session, county_code: str, window: Window, *, trigger: str, store: bool = True
) -> RankingSnapshot:
    """Score and rank the county over W with its rubric now; stored as a new snapshot (``store``), or returned
    unstored (a transient snapshot: ``id`` is ``None``) for a read."""
    with loader_of(session).computing(session):
        return _compute_ranking(session, county_code, window, trigger=trigger, store=store)


def _compute_ranking(
    session: Session, county_code: str, window: Window, *, trigger: str, store: bool = True
) -> RankingSnapshot:
    inputs = county_meta(session, county_code, window)
    county = inputs.county
    scores, medians = _county_scores(session, inputs, window)
    by_type = _rank(scores, True)
    type_rank = {s.code: s.rank for s in by_type}
    metas = {m.school.code: m for m in inputs.schools}
    results = [compact_row(s, type_rank[s.code], metas[s.code]) for s in scores]
    progress = campaign_progress(
        scores,
        len(inputs.active),
        int(window.period_to[:4]),
        county.campaign_start_year,
        inputs.rubric,
        active_codes=inputs.active,
    )
    snapshot = RankingSnapshot(
        county_code=county_code,
        period_from=window.period_from,
        period_to=window.period_to,
        rubric_version=inputs.rubric.version,
        computed_at=utcnow(),
        trigger=trigger[:40],
        max_revision_id=inputs.max_revision_id,
        max_inspection_id=inputs.max_inspection_id,
        registry_sha256=registry_sha256(county, inputs.rows),
        inputs={
            "revision_ids": inputs.revision_ids,
            "inspection_ids": inputs.inspection_ids,
            "active_school_codes": sorted(inputs.active),
            "standard_rate": f"{Decimal(county.subsidy_standard):f}",
            "medians": medians_doc(medians),
        },
        results=results,
        type_ranking=[[s.code, s.rank] for s in by_type],
        campaign=progress,
    )
    if store:
        session.add(snapshot)
        session.flush()
    return snapshot


def _is_current(
    session: Session,
    county: County,
    window: Window,
    max_revision_id: int,
    max_inspection_id: int,
    registry_sha256: str,
) -> bool:
    if watermarks(session, county.code, window) != (max_revision_id, max_inspection_id):
        return False
    return current_registry_sha256(session, county) == registry_sha256


def is_current(session: Session, snapshot: RankingSnapshot) -> bool:
    """True while nothing the snapshot was computed from has changed (three small queries)."""
    county = session.get(County, snapshot.county_code)
    if county is None:  # pragma: no cover - a foreign key prevents it
        return False
    if county_rubric(session, county).version != snapshot.rubric_version:
        return False
    return _is_current(
        session,
        county,
        Window(snapshot.period_from, snapshot.period_to),
        snapshot.max_revision_id,
        snapshot.max_inspection_id,
        snapshot.registry_sha256,
    )


def latest_ranking(
    session: Session,
    county_code: str,
    window: Window,
    *,
    trigger: str = "read",
    recompute: bool = True,
    store: bool = True,
    max_age: float = 0,
) -> RankingSnapshot | None:
    """The newest snapshot of the county for W under its current rubric, recomputed first when not current.

    With ``recompute=False`` the newest snapshot is returned as it is (``None`` when there is none). With
    ``store=False`` (a read: ``read_ranking``) a stale ranking is computed but not stored: the answer is a
    transient snapshot, kept in this process while its inputs are unchanged. ``max_age`` (seconds, reads only):
    a ranking of the same window computed that recently is shown as it is (with its ``computed_at``) instead of
    computing again — the read side's debounce, as the workers' debounce is the write side's.
    """
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    version = county_rubric(session, county).version
    if not recompute:
        return newest_snapshot(session, county_code, window, version)
    # the watermarks first: a stale snapshot's results (megabytes of JSON) are never loaded
    newest = session.execute(
        newest_statement(
            county_code,
            window.period_from,
            window.period_to,
            version,
            RankingSnapshot.id,
            RankingSnapshot.max_revision_id,
            RankingSnapshot.max_inspection_id,
            RankingSnapshot.registry_sha256,
        )
    ).first()
    marks = watermarks(session, county_code, window)
    sha = current_registry_sha256(session, county)
    if newest is not None and (newest[1], newest[2]) == marks and newest[3] == sha:
        return session.get(RankingSnapshot, newest[0])
    if store:
        return compute_ranking(session, county_code, window, trigger=trigger)
    key = (county_code, window, version, marks, sha, county.reporting_start, str(county.subsidy_standard))
    recent_key = (county_code, window, version)
    cached = _transient.get(key)
    if cached is not None:
        return cast(RankingSnapshot, cached)
    recent = _recent.get(recent_key)
    if max_age > 0:
        fresh_after = utcnow() - dt.timedelta(seconds=max_age)
        # a ranking another request computed from inputs this request cannot see yet (its transaction began before
        # they were committed) is not shown: explaining it would read revisions this request cannot read. Ids
        # are given in commit order where writers queue (SQLite), so watermarks at or below this request's
        # mean inputs it sees.
        if recent is not None and recent.computed_at >= fresh_after and _sees_all_of(marks, recent):
            return recent
        if newest is not None:
            stored = session.get(RankingSnapshot, newest[0])
            if stored is not None and stored.computed_at >= fresh_after:
                return stored
    snapshot = compute_ranking(session, county_code, window, trigger=trigger, store=False)
    _transient.put(key, snapshot)
    _recent.put(recent_key, snapshot)
    return snapshot


def _sees_all_of(marks: tuple[int, int], snapshot: RankingSnapshot) -> bool:
    """Whether a request whose inputs reach ``marks`` (``watermarks``) sees every input ``snapshot`` was computed
    from: its newest revision and inspection are no newer than the request's."""
    return snapshot.max_revision_id <= marks[0] and snapshot.max_inspection_id <= marks[1]


def read_ranking(
    session: Session, county_code: str, window: Window, *, trigger: str = "read", max_age: float = 0
) -> RankingSnapshot:
    """The ranking every read shows (pages, API GETs, PDFs of a read): the stored snapshot while it is current,
    else the ranking computed now and not stored (reads never write). The debounced task, ``houqin rank``, the
    nightly run and, on the embedded default, ``district.scoring.tasks.store_after_read`` store snapshots."""
    snapshot = latest_ranking(session, county_code, window, trigger=trigger, store=False, max_age=max_age)
    assert snapshot is not None
    return snapshot


def county_ranking(
    session: Session,
    county_code: str,
    period_from: str,
    period_to: str,
    *,
    by_type: bool = False,
    trigger: str = "read",
) -> dict[str, Any]:
    """The county's ranking for ``period_from .. period_to`` as a read shows it (``read_ranking``), as a dict."""
    snapshot = read_ranking(session, county_code, Window(period_from, period_to), trigger=trigger)
    return ranking_view(session, snapshot, by_type=by_type)


def school_score(
    session: Session,
    school_code: str,
    window: Window | str,
    period_to: str | None = None,
    *,
    trigger: str = "read",
) -> dict[str, Any]:
    """One school's score over W with its indicator rows (earned, available, inputs, revision ids) and flags.

    F1 compares the school with the medians of its county, and the rank is the county's, so the whole
    county is scored (``read_ranking``: the current snapshot, else computed and not stored) and the school
    picked from it.
    Raises ``LookupError`` for an unknown school, ``NotRanked`` when it has no expected month in W.
    """
    if not isinstance(window, Window):
        window = Window(window, period_to or window)
    school = session.get(School, school_code)
    if school is None:
        raise LookupError(school_code)
    snapshot = read_ranking(session, school.county_code, window, trigger=trigger)
    return school_view(session, snapshot, school_code)
