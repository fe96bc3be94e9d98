"""Scoring tables: bureau on-site inspections (B2) and ranking snapshots (the daily reminder lists are
``district.reminders.models.ReminderList``; an inspection's findings are hazard-ledger entries,
``district.reports.models.InspectionFinding``).

Everything here is appended, never updated: a corrected inspection is a new inspection (the engine takes the
latest dated inside W, on one date the highest id), a recomputed ranking is a new snapshot (so a past ranking
can be shown exactly as it was, with the revision ids it used), a new day's reminders are a new list.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from district.db import Base, period_str, utc_datetime


class Inspection(Base):
    """A bureau on-site inspection 现场督查 of one school: 三化 · 文化与美化 (indicator B2), score 0–5, one decimal."""

    __tablename__ = "inspections"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 5", name="score_range"),
        Index("ix_inspections_county_date", "county_code", "date"),
        Index("ix_inspections_school_date", "school_code", "date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"))
    # the school's county, kept so a county's inputs (and their newest id) are one indexed query
    county_code: Mapped[str] = mapped_column(String(6))
    date: Mapped[dt.date] = mapped_column(Date)
    # None only for a checklist visit with no applicable item (SCORING.md): no B2 score, B2 reads it not at all
    score: Mapped[decimal.Decimal | None] = mapped_column(Numeric(3, 1), nullable=True)
    inspector: Mapped[str] = mapped_column(String(50))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[utc_datetime]
    # the checklist 检查清单 ``[{code, result, note}]`` when the score was made from items (issue 20 item 5)
    items: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)


class RankingSnapshot(Base):
    """One computed ranking of a county over a window W, with the rubric version that made it.

    ``results``: one row per school in ranking order: the ranking fields of ``SchoolScore.to_dict(audit=True)``
    and ``type_rank``, ``earned`` (each indicator's exact earned points, ``"n/d"`` or ``None`` when not
    applicable) and ``pins`` (the revisions, inspections and ledger entries its score read); the indicator rows'
    explanation is made from them when shown (``snapshots.school_view``). ``type_ranking``: ``[school_code,
    type_rank]`` in the by-type order of the engine. ``inputs``: the ids of every revision and inspection used,
    the county's subsidy standard and F1 medians. ``max_revision_id``,
    ``max_inspection_id`` and ``registry_sha256`` are the watermarks that say whether the snapshot is still
    current: any new revision of a month ≤ W's end, any new inspection dated in W, or any change of the
    county's schools or settings moves one of them.
    """

    __tablename__ = "ranking_snapshots"
    __table_args__ = (
        Index("ix_ranking_snapshots_window", "county_code", "period_from", "period_to", "rubric_version", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"))
    period_from: Mapped[period_str]
    period_to: Mapped[period_str]
    rubric_version: Mapped[str] = mapped_column(String(80))
    computed_at: Mapped[utc_datetime]
    trigger: Mapped[str] = mapped_column(String(40))
    max_revision_id: Mapped[int] = mapped_column(Integer)  # 0 when the county has no report yet
    max_inspection_id: Mapped[int] = mapped_column(Integer)
    registry_sha256: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"revision_ids": [...], "inspection_ids": [...]}
    results: Mapped[list[Any]] = mapped_column(JSON)
    type_ranking: Mapped[list[Any]] = mapped_column(JSON)
    campaign: Mapped[dict[str, Any]] = mapped_column(JSON)
