"""Ranking snapshots: stored, found, shown (the API's ranking and school views), explained and summarised.

A snapshot stores, per school, the ranking fields, each indicator's exact earned points ("n/d") and the school's
pinned inputs (the revision of each month, the carry-over basis, the inspections, the hazard ledger as it was),
plus the county's F1 medians and subsidy standard. That is everything the one engine needs to give the same
indicator rows again, so the explanation of a score (inputs, revision ids, notes) is made when it is shown,
from exactly what the ranking used, and checked against the stored figures. A county's full recompute then
stores ~0.2 MB instead of ~3.6 MB of formatted rows (docs/DECISIONS.md, "Ranking snapshots").

Snapshots are computed by ``district.scoring.ranking``; older snapshots stay as they were, so a past ranking
can be shown as it was after corrections arrived.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import caches
from district.calendar import Window
from district.registry.models import County
from district.scoring import summaries
from district.scoring.county_rubrics import snapshot_rubric
from district.scoring.engine import (
    HazardInput,
    InspectionInput,
    Medians,
    MonthInput,
    SchoolInput,
    SchoolScore,
    exact_figure,
    finish_part,
    indicator_figures,
    school_part,
)
from district.scoring.inputs import SchoolMeta, calendar_due, read_figures
from district.scoring.models import Inspection, RankingSnapshot
from houqin_standard import SHANGHAI

__all__ = [
    "RANKING_FIELDS",
    "NotRanked",
    "SnapshotMismatch",
    "compact_row",
    "explain",
    "iso",
    "medians_doc",
    "newest_snapshot",
    "newest_statement",
    "ranking_view",
    "school_view",
    "snapshot_by_id",
    "snapshot_rows",
    "store_snapshot",
]


class NotRanked(LookupError):
    """The school has no expected month in the window, so the engine does not list it."""


class SnapshotMismatch(RuntimeError):
    """Explaining a stored score from its pinned inputs did not give the stored figures (never expected)."""


def newest_statement(county_code: str, period_from: str, period_to: str, rubric_version: str, *columns: Any) -> Any:
    """The query of the newest stored snapshot of a county for exactly that window under ``rubric_version``: the
    snapshot, or only ``columns`` of it (a caller that reads its watermarks before its results)."""
    return (
        select(*(columns or (RankingSnapshot,)))
        .where(
            RankingSnapshot.county_code == county_code,
            RankingSnapshot.period_from == period_from,
            RankingSnapshot.period_to == period_to,
            RankingSnapshot.rubric_version == rubric_version,
        )
        .order_by(RankingSnapshot.id.desc())
        .limit(1)
    )


def newest_snapshot(session: Session, county_code: str, window: Window, rubric_version: str) -> RankingSnapshot | None:
    """The newest stored snapshot of the county for exactly ``window`` under ``rubric_version`` (never computed)."""
    stmt = newest_statement(county_code, window.period_from, window.period_to, rubric_version)
    found: RankingSnapshot | None = session.scalars(stmt).first()
    return found


def store_snapshot(session: Session, snapshot: RankingSnapshot) -> RankingSnapshot:
    """Store a transient snapshot (``read_ranking``'s) in ``session`` unless a snapshot of the same inputs is
    stored already; returns the stored one. The caller commits."""
    if snapshot.id is not None:
        return snapshot
    stmt = newest_statement(snapshot.county_code, snapshot.period_from, snapshot.period_to, snapshot.rubric_version)
    same = session.scalars(
        stmt.where(
            RankingSnapshot.max_revision_id == snapshot.max_revision_id,
            RankingSnapshot.max_inspection_id == snapshot.max_inspection_id,
            RankingSnapshot.registry_sha256 == snapshot.registry_sha256,
        )
    ).first()
    if same is not None:
        return same
    session.add(snapshot)
    session.flush()
    return snapshot


def snapshot_by_id(session: Session, county_code: str, snapshot_id: int) -> RankingSnapshot | None:
    """A stored snapshot of that county, exactly as it was computed (never recomputed)."""
    snapshot = session.get(RankingSnapshot, snapshot_id)
    if snapshot is None or snapshot.county_code != county_code:
        return None
    return snapshot


RANKING_FIELDS = (
    "school_code",
    "name",
    "type",
    "township",
    "score",
    "grade",
    "status",
    "rank",
    "coverage",
    "flags",
    "rubric_version",
)


def iso(t: dt.datetime) -> str:
    return t.astimezone(SHANGHAI).isoformat()


def ranking_view(session: Session, snapshot: RankingSnapshot, *, by_type: bool = False) -> dict[str, Any]:
    """The ranking as API.md shapes it: per school the ranking fields, plus the campaign progress.

    ``by_type``: ranks within each school type, grouped by type (the engine's order).
    """
    county = session.get(County, snapshot.county_code)
    rows = {r["school_code"]: r for r in snapshot.results}
    if by_type:
        schools = []
        for code, type_rank in snapshot.type_ranking:
            row = {k: rows[code][k] for k in RANKING_FIELDS}
            row["county_rank"] = row["rank"]
            row["rank"] = type_rank
            schools.append(row)
    else:
        schools = [{k: r[k] for k in RANKING_FIELDS} for r in snapshot.results]
    return {
        "county_code": snapshot.county_code,
        "county_name": county.name if county else "",
        "window": {"from": snapshot.period_from, "to": snapshot.period_to},
        "rubric_version": snapshot.rubric_version,
        "snapshot_id": snapshot.id,
        "computed_at": iso(snapshot.computed_at),
        "trigger": snapshot.trigger,
        "by_type": by_type,
        "schools": schools,
        "campaign_progress": dict(snapshot.campaign),
    }


def school_view(session: Session, snapshot: RankingSnapshot, school_code: str) -> dict[str, Any]:
    """One school of a stored ranking with its indicator rows in full (earned, available, the inputs used, the
    revision ids, the note), explained from the snapshot's pinned inputs (``explain``)."""
    for row in snapshot.results:
        if row["school_code"] == school_code:
            out = _public_row(row)
            out["indicators"] = [r.to_dict() for r in explain(session, snapshot, row).indicators]
            out.update(
                {
                    "county_code": snapshot.county_code,
                    "window": {"from": snapshot.period_from, "to": snapshot.period_to},
                    "snapshot_id": snapshot.id,
                    "computed_at": iso(snapshot.computed_at),
                    "schools_ranked": summaries.schools_ranked(snapshot.results),
                }
            )
            return out
    raise NotRanked(school_code)


_PRIVATE_KEYS = frozenset({"earned", "pins"})


def _public_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in _PRIVATE_KEYS}


def _earned_doc(score: SchoolScore) -> list[str | None]:
    """Each indicator's exact earned points as ``"n/d"`` (text: a numerator or denominator may pass 64 bits)."""
    return [None if e is None else f"{e.numerator}/{e.denominator}" for e in score.earned]


def compact_row(score: SchoolScore, type_rank: int | None, meta: SchoolMeta) -> dict[str, Any]:
    """What a snapshot keeps of one school: the ranking fields, the exact earned points of each indicator
    (``None``: not applicable) and the inputs the engine read, pinned."""
    prev = meta.previous
    pins: dict[str, Any] = {"months": [[m.period, m.revision_id] for m in meta.months]}
    if prev is not None:
        pins["previous"] = [prev.period, prev.revision_id]
    if meta.previous_stock is not None:
        pins["previous_stock"] = [meta.previous_stock.period, meta.previous_stock.revision_id]
    if meta.inspections:
        pins["inspections"] = [i.id for i in meta.inspections]
    if meta.hazards:
        pins["hazards"] = [
            [h.ref, h.severity, h.deadline.isoformat(), h.rectified_on and h.rectified_on.isoformat(),
             h.found_on.isoformat(), h.revision_id]
            for h in meta.hazards
        ]  # fmt: skip
    row = score.to_dict(audit=True, indicators=False)
    row["type_rank"] = type_rank
    row["earned"] = _earned_doc(score)
    row["pins"] = pins
    return row


def medians_doc(medians: Medians) -> list[list[Any]]:
    return [
        [code, school_type, exact_figure(m_e), exact_figure(m_w), n]
        for (code, school_type), (m_e, m_w, n) in sorted(medians.items())
    ]


def _medians_from_doc(doc: Sequence[Sequence[Any]]) -> Medians:
    return {(code, t): (Fraction(m_e), Fraction(m_w), int(n)) for code, t, m_e, m_w, n in doc}


def explain(session: Session, snapshot: RankingSnapshot, row: dict[str, Any]) -> SchoolScore:
    """The school's score as the snapshot computed it, indicator rows in full: the one engine run again on the
    school's pinned inputs (the same revisions, inspections and ledger entries) with the snapshot's medians,
    rubric, window and subsidy standard. ``SnapshotMismatch`` unless it gives the stored figures exactly."""
    rubric = snapshot_rubric(session, snapshot)
    window = Window(snapshot.period_from, snapshot.period_to)
    pins = row["pins"]
    months = [(str(p), int(r)) for p, r in pins["months"]]
    previous = pins.get("previous")
    stock = pins.get("previous_stock")
    ids = [r for _p, r in months] + ([int(previous[1])] if previous else []) + ([int(stock[1])] if stock else [])
    reports = read_figures(session, ids)
    due = calendar_due(session, rubric, [(r, p) for p, r in months])
    inspections = []
    if pins.get("inspections"):
        for insp in session.scalars(
            select(Inspection).where(Inspection.id.in_(pins["inspections"])).order_by(Inspection.id)
        ):
            assert insp.score is not None  # only scored visits are pinned
            inspections.append(InspectionInput(insp.id, insp.date, insp.score))
    hazards = [
        HazardInput(ref, severity, dt.date.fromisoformat(deadline),
                    None if rectified is None else dt.date.fromisoformat(rectified),
                    dt.date.fromisoformat(found), None if rid is None else int(rid))
        for ref, severity, deadline, rectified, found, rid in pins.get("hazards", ())
    ]  # fmt: skip
    school = SchoolInput(
        code=row["school_code"],
        name=row["name"],
        type=row["type"],
        township=row["township"],
        months=[MonthInput(p, r, reports[r], due.get(r)) for p, r in months],
        expected_periods=list(row["expected_periods"]),
        inspections=inspections,
        hazards=hazards,
        previous_participating=(
            None if not previous else MonthInput(str(previous[0]), int(previous[1]), reports[int(previous[1])])
        ),
        previous_stock=None if not stock else MonthInput(str(stock[0]), int(stock[1]), reports[int(stock[1])]),
    )
    standard = Decimal(snapshot.inputs.get("standard_rate", "5.00"))
    part = school_part(school, window, rubric, standard_rate=standard)
    score = finish_part(part, rubric, _medians_from_doc(snapshot.inputs.get("medians", ())))
    raw = None if score.raw_score is None else exact_figure(score.raw_score)
    if raw != row["raw_score"] or _earned_doc(score) != row["earned"]:
        raise SnapshotMismatch(
            f"snapshot {snapshot.id}: school {row['school_code']} explained from its pinned inputs gives"
            f" {raw}, the snapshot holds {row['raw_score']}"
        )
    return score


# the summaries of the last few snapshots shown (snapshots never change; computed_at tells apart the same id
# in rolled-back test data)
_summaries = caches.cache("scoring.snapshot_summaries", 4)


def snapshot_rows(session: Session, snapshot: RankingSnapshot) -> list[dict[str, Any]]:
    """Every school of the snapshot in ranking order: the ranking fields and, per indicator, the figures
    (code, area, names, points, applicable, earned, earned_exact, available) without the explanation (that is
    ``school_view``'s). For the county-wide views: area means, failing indicators, summaries."""
    key = (snapshot.id, snapshot.computed_at, snapshot.county_code, snapshot.period_from, snapshot.period_to)
    hit = _summaries.get(key)
    if hit is not None:
        return hit
    rubric = snapshot_rubric(session, snapshot)
    rows = []
    for r in snapshot.results:
        out = _public_row(r)
        out["indicators"] = [
            indicator_figures(ind, rubric, None if earned is None else Fraction(earned))
            for ind, earned in zip(rubric.indicators, r["earned"], strict=False)
        ]
        rows.append(out)
    return _summaries.put(key, rows)
