"""A school's history of effective reports: the one "previous participating report" (the carry-over basis of
营养餐 funds) that scoring (C4), the county fund report and the agent's feedback all use, and the one "previous
participating report sent in @2" (the basis of the stock carry-over, ``STOCK_CARRY_OVER_MISMATCH``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from district.reports.models import ReportHead, ReportRevision

__all__ = ["PARTICIPATING_MARK", "STOCK_MARK", "previous_participating_rows"]

#: How ``nutrition.participating = true`` reads inside a stored revision. ``report_revisions.content`` is the
#: canonical JSON of the report (``houqin_standard.canonical_json``: sorted keys, separators ``,`` and ``:``
#: without spaces), and ``participating`` is a key of the standard only inside ``nutrition`` (unknown fields
#: are rejected at ingestion). Inside a JSON string every ``"`` is escaped, so these characters can only be
#: that key followed by the literal ``true``: a plain ``LIKE`` finds participating revisions on SQLite and
#: PostgreSQL alike, without parsing JSON in the database.
PARTICIPATING_MARK = '"participating":true'

#: How a ``canteen_stock`` section reads inside a stored revision (the same reasoning: ``canteen_stock`` is a key of
#: the standard only at the top of a @2 report, whose sections are objects). A participating month has it exactly
#: when it was sent in @2 (STANDARD-v2.md makes it required there; @1 rejects it as an unknown field).
STOCK_MARK = '"canteen_stock":{'


def previous_participating_rows(
    before: str,
    *,
    county_code: str | None = None,
    school_code: str | None = None,
    content: bool = False,
    stock: bool = False,
) -> Select[Any]:
    """The statement that finds, per school, its most recent *effective* participating report of a period
    before ``before``: rows ``(school_code, period, revision_id, figures[, content])``, one per school.

    Effective revisions (``report_heads``) of the county (or the one school) whose content holds
    :data:`PARTICIPATING_MARK`, ranked per school by period descending (``ROW_NUMBER``), rank 1 kept. There is
    no look-back bound: the spec's carry-over runs to the most recent earlier participating report however old,
    and the ``LIKE`` keeps the scan in the database.

    ``stock``: the most recent effective participating report *sent in @2* (its content also holds
    :data:`STOCK_MARK`): the stock carry-over's basis, across any @1 month in between.
    """
    if county_code is None and school_code is None:
        raise ValueError("give a county or a school")
    columns: list[Any] = [
        ReportHead.school_code.label("school_code"),
        ReportHead.period.label("period"),
        ReportRevision.id.label("revision_id"),
        ReportHead.figures.label("figures"),
    ]
    if content:
        columns.append(ReportRevision.content.label("content"))
    rank = func.row_number().over(partition_by=ReportHead.school_code, order_by=ReportHead.period.desc())
    ranked = (
        select(*columns, rank.label("rn"))
        .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
        .where(ReportHead.period < before, ReportRevision.content.contains(PARTICIPATING_MARK, autoescape=True))
    )
    if stock:
        ranked = ranked.where(ReportRevision.content.contains(STOCK_MARK, autoescape=True))
    if county_code is not None:
        ranked = ranked.where(ReportHead.county_code == county_code)
    if school_code is not None:
        ranked = ranked.where(ReportHead.school_code == school_code)
    sub = ranked.subquery()
    out = [sub.c.school_code, sub.c.period, sub.c.revision_id, sub.c.figures]
    if content:
        out.append(sub.c.content)
    return select(*out).where(sub.c.rn == 1)
