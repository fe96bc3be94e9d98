"""What a county's ranking reads: its schools and their registry fingerprint, the watermarks of its inputs, every
effective revision of the window with its stored figures, the carry-over bases, inspections and the hazard
ledger, gathered per school (``county_meta``) and, parsed, as the engine's inputs (``county_inputs``).

The database is read through the score loader (``district.scoring.loader``), whichever backend the database
has; nothing here asks which one it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from district import calendar
from district.calendar import Window
from district.db import json_text
from district.registry.models import County, School, Township
from district.reports import windows
from district.reports.figures import ReportFigures
from district.reports.hazards import hazard_ledger
from district.reports.models import InspectionFinding, ReportHead
from district.scoring.county_rubrics import county_rubric
from district.scoring.engine import HazardInput, InspectionInput, MonthInput, SchoolInput
from district.scoring.loader import loader_of
from district.scoring.models import Inspection
from district.scoring.rubric import Rubric

__all__ = [
    "CountyInputs",
    "CountyMeta",
    "SchoolMeta",
    "calendar_due",
    "county_inputs",
    "county_meta",
    "current_registry_sha256",
    "read_figures",
    "registry_sha256",
    "stats",
    "watermarks",
]

#: How many reports' figures this process has read for scoring (a test checks that a recompute after one
#: correction reads only that school's).
stats = {"reports_parsed": 0}


@dataclass
class CountyInputs:
    """Everything the engine needs about one county for one window, and what it was read from."""

    county: County
    window: Window
    rubric: Rubric
    schools: list[SchoolInput]
    active_codes: set[str]  # active at the window's last period (campaign progress)
    revision_ids: list[int]
    inspection_ids: list[int]
    max_revision_id: int
    max_inspection_id: int
    registry_sha256: str
    school_rows: list[tuple[School, str]] = field(default_factory=list)


def _school_rows(session: Session, county_code: str) -> list[tuple[School, str]]:
    rows = session.execute(
        select(School, Township.name)
        .join(Township, Township.id == School.township_id)
        .where(School.county_code == county_code)
        .order_by(School.code)
    ).all()
    return [(school, township) for school, township in rows]


def registry_sha256(county: County, rows: Sequence[tuple[School, str]]) -> str:
    """A fingerprint of what the ranking depends on besides reports and inspections."""
    return _registry_digest(county, [(s.code, s.name, s.type, township, s.opened, s.closed) for s, township in rows])


def _registry_digest(county: County, schools: Sequence[Sequence[Any]]) -> str:
    """``registry_sha256`` of (code, name, type, township, opened, closed) rows."""
    doc = {
        "break_months": sorted(county.break_month_set),
        "subsidy_standard": str(county.subsidy_standard),
        "campaign_start_year": county.campaign_start_year,
        "reporting_start": county.reporting_start,
        "schools": [
            [code, name, stype, township, str(opened or ""), str(closed or "")]
            for code, name, stype, township, opened, closed in schools
        ],
    }
    return hashlib.sha256(json_text(doc).encode("utf-8")).hexdigest()  # keys in a fixed order above


def current_registry_sha256(session: Session, county: County) -> str:
    """The county's registry fingerprint now, read as columns (a read checks it for every window it shows)."""
    rows = session.execute(
        select(School.code, School.name, School.type, Township.name, School.opened, School.closed)
        .join(Township, Township.id == School.township_id)
        .where(School.county_code == county.code)
        .order_by(School.code)
    ).all()
    return _registry_digest(county, rows)


def watermarks(session: Session, county_code: str, window: Window) -> tuple[int, int]:
    max_rev = session.scalar(
        select(func.coalesce(func.max(ReportHead.revision_id), 0)).where(
            ReportHead.county_code == county_code, ReportHead.period <= window.period_to
        )
    )
    # an inspection dated in W (B2), or one before W with findings (its ledger entries count in D1 at W's end)
    max_insp = session.scalar(
        select(func.coalesce(func.max(Inspection.id), 0)).where(
            Inspection.county_code == county_code,
            Inspection.date <= window.last_day,
            or_(
                Inspection.date >= window.first_day,
                Inspection.id.in_(
                    select(InspectionFinding.inspection_id).where(InspectionFinding.county_code == county_code)
                ),
            ),
        )
    )
    return int(max_rev or 0), int(max_insp or 0)


# The per-process cache of school parts. It is content-addressed (a revision's id AND its content's SHA-256 are
# in the key), so it can never serve stale or foreign data: a correction is a new revision (new id, new hash),


def read_figures(
    session: Session, ids: Sequence[int], stored: dict[int, str | bytes | None] | None = None
) -> dict[int, ReportFigures]:
    """The figures (``district.reports.figures``) of the revisions ``ids``, as the engine reads them: those in
    ``stored`` (their JSON, already read with the county's heads), the others' read in one query; a revision
    without stored figures of the current layout gets them from its content (``ReportFigures.from_content``, as at
    ingestion)."""
    out: dict[int, ReportFigures] = {}
    unread: list[int] = []
    for rid in ids:
        values = None if stored is None else ReportFigures.from_stored(stored.get(rid))
        if values is None:  # none stored, or of another layout
            unread.append(rid)
        else:
            out[rid] = values
    if unread:
        loader_of(session).figures(session, unread, out)
    stats["reports_parsed"] += len(out)
    return out


def calendar_due(session: Session, rubric: Rubric, months: Sequence[tuple[int, str]]) -> dict[int, tuple[str, ...]]:
    """Per revision id of ``months`` ((revision id, period) pairs): the 后勤行事历 tasks due in its month by the
    calendar that judged it (``district.reports.calendar_tasks.due_codes``), for H1 (``calendar_tasks``); read only
    when the rubric has such an indicator. A revision's calendar never changes, so a cached school part (keyed
    by its revisions) stays right."""
    if not any(ind.kind == "calendar_tasks" for ind in rubric.indicators):
        return {}
    from district.reports.calendar_tasks import due_codes

    recorded = loader_of(session).calendar_versions(session, [rid for rid, _period in months])
    return due_codes(session, months, recorded)


class _Month(NamedTuple):  # a reported month before its figures are parsed: enough to know whether a school changed
    period: str
    revision_id: int
    figures: Any  # the stored figures' JSON (what the engine reads); without any, a new object (never equal)


@dataclass
class SchoolMeta:
    school: School
    township: str
    expected: list[str]
    months: list[_Month]
    inspections: tuple[InspectionInput, ...]
    hazards: tuple[HazardInput, ...]
    previous: _Month | None
    previous_stock: _Month | None = None  # the stock carry-over basis (read when the rubric counts it)

    def key(self, window: Window, rubric_key: str, standard_rate: Decimal) -> tuple[Any, ...]:
        """The school part's key in the part cache (``district.scoring.ranking``): everything the part depends
        on, by value (``rubric_key``: ``Rubric.fingerprint``)."""
        s = self.school
        return (
            window.period_from,
            window.period_to,
            rubric_key,
            str(standard_rate),
            s.code,
            s.name,
            s.type,
            self.township,
            tuple(self.expected),
            tuple(self.months),
            self.inspections,
            self.hazards,
            self.previous,
            self.previous_stock,
        )

    def school_input(
        self, reports: dict[int, ReportFigures], due: Mapping[int, tuple[str, ...]] | None = None
    ) -> SchoolInput:
        prev, stock = self.previous, self.previous_stock
        due = due or {}
        return SchoolInput(
            code=self.school.code,
            name=self.school.name,
            type=self.school.type,
            township=self.township,
            months=[
                MonthInput(m.period, m.revision_id, reports[m.revision_id], due.get(m.revision_id)) for m in self.months
            ],
            expected_periods=self.expected,
            inspections=self.inspections,
            hazards=self.hazards,
            previous_participating=(
                None if prev is None else MonthInput(prev.period, prev.revision_id, reports[prev.revision_id])
            ),
            previous_stock=(
                None if stock is None else MonthInput(stock.period, stock.revision_id, reports[stock.revision_id])
            ),
        )

    def revision_ids(self) -> list[int]:
        out = [m.revision_id for m in self.months]
        if self.previous is not None:
            out.append(self.previous.revision_id)
        if self.previous_stock is not None:
            out.append(self.previous_stock.revision_id)
        return out


@dataclass
class CountyMeta:
    county: County
    rubric: Rubric
    rows: list[tuple[School, str]]
    schools: list[SchoolMeta]
    active: set[str]
    revision_ids: list[int]
    inspection_ids: list[int]
    max_revision_id: int
    max_inspection_id: int
    figures: dict[int, str | bytes | None] = field(default_factory=dict)  # stored figures' JSON, by revision id


def _counts_stock_carry_over(rubric: Rubric) -> bool:
    """Whether a ``fund_compliance`` indicator of the rubric counts the stock carry-over (its basis is read)."""
    return any(
        ind.kind == "fund_compliance" and "STOCK_CARRY_OVER_MISMATCH" in ind.params["codes"]
        for ind in rubric.indicators
    )


def county_inputs(session: Session, county_code: str, window: Window) -> CountyInputs:
    """Read one county's inputs for W: schools, effective revisions, carry-over bases, inspections, ledger."""
    meta = county_meta(session, county_code, window)
    reports = read_figures(session, [rid for m in meta.schools for rid in m.revision_ids()], meta.figures)
    due = calendar_due(session, meta.rubric, [(m.revision_id, m.period) for s in meta.schools for m in s.months])
    return CountyInputs(
        county=meta.county,
        window=window,
        rubric=meta.rubric,
        schools=[m.school_input(reports, due) for m in meta.schools],
        active_codes=meta.active,
        revision_ids=meta.revision_ids,
        inspection_ids=meta.inspection_ids,
        max_revision_id=meta.max_revision_id,
        max_inspection_id=meta.max_inspection_id,
        registry_sha256=registry_sha256(meta.county, meta.rows),
        school_rows=meta.rows,
    )


def county_meta(session: Session, county_code: str, window: Window) -> CountyMeta:
    """What ``county_inputs`` reads, with the reports' figures as their JSON, not parsed yet."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    rubric = county_rubric(session, county)
    rows = _school_rows(session, county_code)
    max_rev, max_insp = watermarks(session, county_code, window)

    # every effective revision of the county in W, with its figures (``district.reports.figures``, stored on
    # its head at ingestion: what the engine reads of a report, a fifth of its text and no nested objects): one
    # query of the derived head index alone, as plain rows on the session's connection (the ORM's result
    # processing cost more than the query for a county's 3,000 rows). A revision without stored figures
    # (loaded by other means) gets them from its content when parsed, and its school is not reused from the
    # part cache.
    months: dict[str, list[_Month]] = {}
    revision_ids: set[int] = set()
    figures: dict[int, str | bytes | None] = {}
    loader = loader_of(session)
    for school_code, period, revision_id, stored in loader.reported_months(session, county_code, window):
        months.setdefault(school_code, []).append(_Month(period, revision_id, _identity(stored)))
        revision_ids.add(revision_id)
        figures[revision_id] = stored

    # each school's most recent participating effective report before W (the carry-over basis of C4)
    previous: dict[str, _Month] = {}
    for school_code, period, revision_id, stored in loader.previous_reports(session, county_code, window.period_from):
        previous[school_code] = _Month(period, revision_id, _identity(stored))
        revision_ids.add(revision_id)
        figures[revision_id] = stored

    # each school's most recent participating effective report sent in @2 before W (the stock carry-over basis of
    # C4), read only when the rubric counts STOCK_CARRY_OVER_MISMATCH (default-2)
    previous_stock: dict[str, _Month] = {}
    if _counts_stock_carry_over(rubric):
        for school_code, period, revision_id, stored in loader.previous_reports(
            session, county_code, window.period_from, stock=True
        ):
            previous_stock[school_code] = _Month(period, revision_id, _identity(stored))
            revision_ids.add(revision_id)
            figures[revision_id] = stored

    inspections: dict[str, list[InspectionInput]] = {}
    inspection_ids: list[int] = []
    for insp in session.scalars(
        select(Inspection)
        .where(
            Inspection.county_code == county_code,
            Inspection.date >= window.first_day,
            Inspection.date <= window.last_day,
        )
        .order_by(Inspection.id)
    ):
        if insp.score is None:  # a checklist visit with no applicable item: no score for B2 to read
            continue
        inspections.setdefault(insp.school_code, []).append(InspectionInput(insp.id, insp.date, insp.score))
        inspection_ids.append(insp.id)

    hazards: dict[str, list[HazardInput]] = {}
    for entry in hazard_ledger(session, county_code=county_code, as_of_period=window.period_to):
        hazards.setdefault(entry.school_code, []).append(
            HazardInput(
                entry.ref, entry.severity, entry.deadline, entry.rectified_on, entry.found_on, entry.revision_id
            )
        )
        if entry.revision_id is not None:  # None: a bureau finding no report has restated
            revision_ids.add(entry.revision_id)

    start = windows.reporting_start(session, county)
    schools: list[SchoolMeta] = []
    active: set[str] = set()
    always: list[str] | None = None  # the expected months of a school open all along, computed once
    for school, township in rows:
        if school.active_in(window.period_to):
            active.add(school.code)
        if school.opened is None and school.closed is None:
            if always is None:
                always = calendar.expected_periods(county, school, window.periods, start)
            expected = list(always)
        else:
            expected = calendar.expected_periods(county, school, window.periods, start)
        # a month outside the school's active range (a report stored before its dates were recorded) is not an
        # input at all, as in the fund report: not scored, and no carry-over basis of C4 inside W either
        school_months = sorted(
            (m for m in months.get(school.code, ()) if calendar.is_active(school, m.period)), key=lambda m: m.period
        )
        if not expected and not school_months:
            continue
        schools.append(
            SchoolMeta(
                school=school,
                township=township,
                expected=expected,
                months=school_months,
                inspections=tuple(inspections.get(school.code, ())),
                hazards=tuple(hazards.get(school.code, ())),
                previous=previous.get(school.code),
                previous_stock=previous_stock.get(school.code),
            )
        )
    return CountyMeta(
        county=county,
        rubric=rubric,
        rows=rows,
        schools=schools,
        active=active,
        revision_ids=sorted(revision_ids),
        inspection_ids=inspection_ids,
        max_revision_id=max_rev,
        max_inspection_id=max_insp,
        figures=figures,
    )


def _identity(stored: str | bytes | None) -> Any:
    """What tells a cached school part that a month is the same: its stored figures, which are everything the
    engine reads of it (a revision never changes); without them a new object, so that the school is
    recomputed."""
    return object() if stored is None else stored
