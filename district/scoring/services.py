"""Scoring services: gather a county's inputs from the database, run the one engine, keep ranking snapshots.

The figures themselves are the engine's (``district.scoring.engine``); this module only reads what it needs,
hands it over, and stores what comes back. Services ``flush()``; the caller (request, CLI command, task)
commits once.

Where the spec is silent (see also docs/DECISIONS.md):

- Windows, expected months, deadlines and days late are the reporting calendar's (``district.calendar``).
- Campaign progress is computed from the statuses of the ranking's window, for the year of the window's last
  period. Active schools: those whose active range covers the window's last period (a school that closed
  during the year leaves numerator and denominator). For ``year=Y`` this is the campaign progress of Y.
- A city's campaign progress pools its counties' year rankings; its start year is the earliest start year
  configured among its counties, its targets the default rubric's.
- Snapshots: a ranking is stored with the watermarks of its inputs. It is *current* while no revision of a
  month up to W's end, no inspection dated in W and no change of the county's schools or settings has
  arrived since; ``latest_ranking`` recomputes (and stores a new snapshot) only when it is not. Older
  snapshots stay as they were, so a past ranking can be shown as it was after corrections arrived.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, NamedTuple, cast

import psycopg
from psycopg.adapt import Loader as PsycopgLoader
from sqlalchemy import ARRAY, Integer, any_, func, literal, or_, select, text
from sqlalchemy import cast as sa_cast
from sqlalchemy.orm import Session

from district import calendar
from district.audit.services import record
from district.calendar import Window, WindowError
from district.db import json_text, utcnow
from district.registry.models import City, County, School, Township
from district.registry.models import Rubric as RubricRow
from district.reminders.services import latest_reminders, reminder_period, reminders, store_reminders
from district.reports.feedback import feedback_part
from district.reports.figures import ReportFigures, load_figures
from district.reports.hazards import hazard_ledger
from district.reports.history import previous_participating_rows
from district.reports.models import InspectionFinding, ReportHead, ReportRevision
from district.scoring.engine import (
    STATUS_LABELS,
    HazardInput,
    InspectionInput,
    Medians,
    MonthInput,
    SchoolInput,
    SchoolPart,
    SchoolScore,
    _rank,  # the engine's own ranking rule (ties, by-type order): reused so ranks are computed in one place
    campaign_progress,
    check_rubric,
    county_medians,
    exact_figure,
    finish_part,
    indicator_figures,
    school_part,
    score_parts,
)
from district.scoring.models import Inspection, RankingSnapshot
from district.scoring.rubric import Rubric, RubricError, load_default_rubric, load_rubric
from houqin_standard import SHANGHAI, text_issue, visible_length

__all__ = [
    "InspectionError",
    "NotRanked",
    "SnapshotMismatch",
    "WindowError",
    "city_campaign_progress",
    "compute_ranking",
    "county_campaign_progress",
    "county_inputs",
    "county_ranking",
    "county_rubric",
    "explain",
    "is_current",
    "latest_ranking",
    "latest_reminders",
    "load_county_rubric",
    "ranking_view",
    "read_ranking",
    "record_inspection",
    "reminder_period",
    "reminders",
    "school_score",
    "school_view",
    "snapshot_by_id",
    "snapshot_rows",
    "snapshot_rubric",
    "store_reminders",
    "store_snapshot",
]


class NotRanked(LookupError):
    """The school has no expected month in the window, so the engine does not list it."""


# ------------------------------------------------------------------------------------------------ rubrics


@functools.lru_cache(maxsize=32)
def _parsed_rubric(text: str, source: str) -> Rubric:
    return load_rubric(text, source)


@functools.lru_cache(maxsize=1)
def _default_rubric() -> Rubric:
    return load_default_rubric()


def county_rubric(session: Session, county: County) -> Rubric:
    """The county's rubric (``County.rubric_id``), or the default rubric of SCORING.md."""
    if county.rubric_id is None:
        return _default_rubric()
    row = session.get(RubricRow, county.rubric_id)
    if row is None:  # pragma: no cover - a foreign key prevents it
        raise LookupError(f"rubric {county.rubric_id}")
    return _parsed_rubric(row.source, f"rubric {row.version}")


def load_county_rubric(session: Session, county_code: str, text: str, source: str, *, actor: str = "cli") -> RubricRow:
    """Validate a rubric file and make it the county's rubric; audited as ``rubric.load``.

    Raises ``RubricError`` (every message names ``source`` and the line) or ``LookupError`` (no such county).
    A version is loaded once: the same text again is reused, other text under a loaded version is refused
    (every ranking records the version, so one version must always mean one rubric).
    """
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    rubric = load_rubric(text, source)
    row = session.scalars(select(RubricRow).where(RubricRow.version == rubric.version)).first()
    if row is not None and row.source != text:
        match = re.search(r"(?m)^[ \t]*version[ \t]*=", text)
        line = text.count("\n", 0, match.start()) + 1 if match else 1
        raise RubricError(
            [
                f"{source}:{line}: version {rubric.version!r} is already loaded with other content; "
                "a changed rubric needs a new version / 该版本号已用于另一份评分细则，修改后请使用新的版本号"
            ]
        )
    if row is None:
        row = RubricRow(version=rubric.version, source=text, loaded_at=utcnow(), county_code=county_code)
        session.add(row)
        session.flush()
    previous = county.rubric_id
    county.rubric_id = row.id
    record(
        session,
        actor=actor,
        action="rubric.load",
        county_code=county_code,
        rubric_id=row.id,
        version=rubric.version,
        previous_rubric_id=previous,
        source=source,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        indicators=len(rubric.indicators),
    )
    session.flush()
    return row


# ------------------------------------------------------------------------------------------------ inputs


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


def _registry_sha256(county: County, rows: Sequence[tuple[School, str]]) -> str:
    """A fingerprint of what the ranking depends on besides reports and inspections."""
    return _registry_digest(county, [(s.code, s.name, s.type, township, s.opened, s.closed) for s, township in rows])


def _registry_digest(county: County, schools: Sequence[Sequence[Any]]) -> str:
    """``_registry_sha256`` of (code, name, type, township, opened, closed) rows."""
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


def _current_registry_sha256(session: Session, county: County) -> str:
    """The county's registry fingerprint now, read as columns (a read checks it for every window it shows)."""
    rows = session.execute(
        select(School.code, School.name, School.type, Township.name, School.opened, School.closed)
        .join(Township, Township.id == School.township_id)
        .where(School.county_code == county.code)
        .order_by(School.code)
    ).all()
    return _registry_digest(county, rows)


def _watermarks(session: Session, county_code: str, window: Window) -> tuple[int, int]:
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
# and the same id in another database (the tests make many) with other content has another hash. Parsed reports
# are not kept: a county's query brings their text anyway, a recompute parses only the schools whose parts
# changed, and keeping thousands of parsed reports cost more (memory, the collector walking them) than parsing.
_PARTS_MAX = 1200  # the 4 most recently ranked counties of 300 schools (a miss costs ~0.1 s a county)
_parts: OrderedDict[tuple[Any, ...], tuple[Rubric, SchoolPart]] = OrderedDict()
cache_stats = {"reports_parsed": 0, "part_hits": 0, "part_misses": 0}


def clear_caches() -> None:
    """Forget every school part and transient ranking of this process (tests; never needed for correctness)."""
    _parts.clear()
    clear_transient_rankings()
    for k in cache_stats:
        cache_stats[k] = 0


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> None:
    cache[key] = value
    if len(cache) > limit:
        cache.popitem(last=False)


def _figures(
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
        _figures_from_database(session, unread, out)
    cache_stats["reports_parsed"] += len(out)
    return out


def _figures_from_database(session: Session, ids: Sequence[int], out: dict[int, ReportFigures]) -> None:
    """The figures of revisions ``ids``: their heads' while they are effective (through the revision's school and
    period: the heads' key), else made from their content."""
    conn = session.connection()
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        for rid, text_ in conn.execute(
            select(ReportHead.revision_id, ReportHead.figures)
            .join(
                ReportRevision,
                (ReportRevision.school_code == ReportHead.school_code)
                & (ReportRevision.period == ReportHead.period)
                & (ReportRevision.id == ReportHead.revision_id),
            )
            .where(_id_in(session, ReportRevision.id, chunk), ReportHead.figures.is_not(None))
        ):
            values = ReportFigures.from_stored(text_)
            if values is not None:
                out[rid] = values
        left = [rid for rid in chunk if rid not in out]
        if left:
            for rid, content in conn.execute(
                select(ReportRevision.id, ReportRevision.content).where(_id_in(session, ReportRevision.id, left))
            ):
                out[rid] = load_figures(None, content)


def _calendar_due(session: Session, rubric: Rubric, months: Sequence[tuple[int, str]]) -> dict[int, tuple[str, ...]]:
    """Per revision id of ``months`` ((revision id, period) pairs): the 后勤行事历 tasks due in its month by the
    calendar that judged it (``district.reports.calendar_tasks.due_codes``), for H1 (``calendar_tasks``); read only
    when the rubric has such an indicator. A revision's calendar never changes, so a cached school part (keyed
    by its revisions) stays right."""
    if not any(ind.kind == "calendar_tasks" for ind in rubric.indicators):
        return {}
    from district.reports.calendar_tasks import due_codes

    return due_codes(session, months)


class _Utf8Bytes(PsycopgLoader):
    """A ``text`` column as the UTF-8 bytes PostgreSQL sent: what the JSON parser reads anyway."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


def _rows_with_utf8_text(session: Session, stmt: Any) -> Sequence[Sequence[Any]]:
    """The rows of ``stmt`` on the session's connection; on PostgreSQL as plain tuples straight from psycopg
    with ``text`` columns as UTF-8 bytes (a county's 3,000 reports: no decoding to ``str`` and encoding back
    for the parser, no result-row objects; measured ~a third less CPU for the query and the parsing)."""
    bind = session.get_bind()
    connection = session.connection()
    if bind.dialect.name != "postgresql":
        return connection.execute(stmt).all()
    compiled = stmt.compile(dialect=bind.dialect)
    dbapi = connection.connection.driver_connection
    assert isinstance(dbapi, psycopg.Connection)  # the only PostgreSQL driver the hub runs on (pyproject.toml)
    with dbapi.cursor() as cur:
        cur.adapters.register_loader("text", _Utf8Bytes)
        cur.execute(str(compiled), compiled.params)
        return cur.fetchall()


def _id_in(session: Session, column: Any, ids: Sequence[int]) -> Any:
    """``column IN ids``; on PostgreSQL as ``= ANY(array)``, one parameter instead of thousands (a county's
    reports: the statement is not rebuilt, re-sent and re-planned for each list)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(sa_cast(literal(list(ids), ARRAY(Integer)), ARRAY(Integer)))
    return column.in_(ids)


class _Month(NamedTuple):  # a reported month before its figures are parsed: enough to know whether a school changed
    period: str
    revision_id: int
    figures: Any  # the stored figures' JSON (what the engine reads); without any, a new object (never equal)


@dataclass
class _SchoolMeta:
    school: School
    township: str
    expected: list[str]
    months: list[_Month]
    inspections: tuple[InspectionInput, ...]
    hazards: tuple[HazardInput, ...]
    previous: _Month | None
    previous_stock: _Month | None = None  # the stock carry-over basis (read when the rubric counts it)

    def key(self, window: Window, rubric: Rubric, standard_rate: Decimal) -> tuple[Any, ...]:
        s = self.school
        return (
            window.period_from,
            window.period_to,
            id(rubric),  # checked against the entry's own rubric (which it keeps alive), see _part
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
class _CountyMeta:
    county: County
    rubric: Rubric
    rows: list[tuple[School, str]]
    schools: list[_SchoolMeta]
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
    meta = _county_meta(session, county_code, window)
    reports = _figures(session, [rid for m in meta.schools for rid in m.revision_ids()], meta.figures)
    due = _calendar_due(session, meta.rubric, [(m.revision_id, m.period) for s in meta.schools for m in s.months])
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
        registry_sha256=_registry_sha256(meta.county, meta.rows),
        school_rows=meta.rows,
    )


def _county_meta(session: Session, county_code: str, window: Window) -> _CountyMeta:
    """What ``county_inputs`` reads, with the reports' figures as their JSON, not parsed yet."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    rubric = county_rubric(session, county)
    rows = _school_rows(session, county_code)
    max_rev, max_insp = _watermarks(session, county_code, window)

    # every effective revision of the county in W, with its figures (``district.reports.figures``, stored on
    # its head at ingestion: what the engine reads of a report, a fifth of its text and no nested objects): one
    # query of the derived head index alone, as plain rows on the session's connection (the ORM's result
    # processing cost more than the query for a county's 3,000 rows). A revision without stored figures
    # (loaded by other means) gets them from its content when parsed, and its school is not reused from the
    # part cache.
    months: dict[str, list[_Month]] = {}
    revision_ids: set[int] = set()
    figures: dict[int, str | bytes | None] = {}
    for school_code, period, revision_id, stored in _rows_with_utf8_text(
        session,
        select(ReportHead.school_code, ReportHead.period, ReportHead.revision_id, ReportHead.figures).where(
            ReportHead.county_code == county_code,
            ReportHead.period >= window.period_from,
            ReportHead.period <= window.period_to,
        ),
    ):
        months.setdefault(school_code, []).append(_Month(period, revision_id, _identity(stored)))
        revision_ids.add(revision_id)
        figures[revision_id] = stored

    # each school's most recent participating effective report before W (the carry-over basis of C4)
    ranked = previous_participating_rows(window.period_from, county_code=county_code)
    previous: dict[str, _Month] = {}
    for school_code, period, revision_id, stored in _rows_with_utf8_text(
        session,
        ranked,
    ):
        previous[school_code] = _Month(period, revision_id, _identity(stored))
        revision_ids.add(revision_id)
        figures[revision_id] = stored

    # each school's most recent participating effective report sent in @2 before W (the stock carry-over basis of
    # C4), read only when the rubric counts STOCK_CARRY_OVER_MISMATCH (default-2)
    previous_stock: dict[str, _Month] = {}
    if _counts_stock_carry_over(rubric):
        for school_code, period, revision_id, stored in _rows_with_utf8_text(
            session, previous_participating_rows(window.period_from, county_code=county_code, stock=True)
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

    start = calendar.reporting_start(session, county)
    schools: list[_SchoolMeta] = []
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
            _SchoolMeta(
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
    return _CountyMeta(
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


def _county_scores(session: Session, meta: _CountyMeta, window: Window) -> tuple[list[SchoolScore], Medians]:
    """``score_county`` of the county, reusing the school parts of schools whose inputs did not change: a
    part depends only on the key (the revisions by id and content hash, the inspections, the ledger entries,
    the registry fields, W, the rubric and the subsidy standard), so a reused part is the part that
    recomputing would give. Only F1 (against the county's medians), totals and ranks are always recomputed."""
    rubric, standard = meta.rubric, Decimal(meta.county.subsidy_standard)
    check_rubric(rubric)
    scored = [m for m in meta.schools if m.expected]
    keys = [m.key(window, rubric, standard) for m in scored]
    parts: list[SchoolPart | None] = []
    todo: list[int] = []
    for i, key in enumerate(keys):
        hit = _parts.get(key)
        if hit is not None and hit[0] is rubric:
            _parts.move_to_end(key)
            parts.append(hit[1])
        else:
            parts.append(None)
            todo.append(i)
    cache_stats["part_hits"] += len(scored) - len(todo)
    cache_stats["part_misses"] += len(todo)
    if todo:
        reports = _figures(session, [rid for i in todo for rid in scored[i].revision_ids()], meta.figures)
        due = _calendar_due(session, rubric, [(m.revision_id, m.period) for i in todo for m in scored[i].months])
        for i in todo:
            part = school_part(scored[i].school_input(reports, due), window, rubric, standard_rate=standard)
            _remember(_parts, keys[i], (rubric, part), _PARTS_MAX)
            parts[i] = part
    medians = county_medians(cast(list[SchoolPart], parts), rubric)
    return score_parts(cast(list[SchoolPart], parts), rubric, medians=medians), medians


# ------------------------------------------------------------------------------------------------ rankings


_gc_pauses = 0  # nested or concurrent (threads) pauses: the collector comes back when the last one ends
_gc_was_enabled = True
_gc_lock = threading.Lock()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a county is scored. Scoring makes hundreds of thousands of
    short-lived, acyclic objects (fractions, rows), and every collection they trigger walks the long-lived
    objects too (the part cache, the session): measured, a third of a full recompute's time when it was
    not paused. Reference counting frees those objects as usual; the collector runs again when the outermost
    pause ends. What the pause leaves alive (new cache entries, the stored rows) then joins the oldest
    generation (``gc.freeze`` then ``gc.unfreeze``: two list splices) instead of being walked by the young
    collection the next allocation would start: a young collection over a county's survivors cost about a tenth
    of a recompute. Cycles among them are still collected, by the next full collection. (Skipped when the
    process froze objects of its own: ``unfreeze`` would release those too.)"""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                if gc.get_freeze_count() == 0:
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()


def compute_ranking(
    session: Session, county_code: str, window: Window, *, trigger: str, store: bool = True
) -> RankingSnapshot:
    """Score and rank the county over W with its rubric now; stored as a new snapshot (``store``), or returned
    unstored (a transient snapshot: ``id`` is ``None``) for a read."""
    with _gc_paused():
        return _compute_ranking(session, county_code, window, trigger=trigger, store=store)


def _compute_ranking(
    session: Session, county_code: str, window: Window, *, trigger: str, store: bool = True
) -> RankingSnapshot:
    if session.get_bind().dialect.name == "postgresql":
        # a county's reads are small indexed queries, several workers run them at once: a parallel plan only
        # adds a helper process's start and its share of the work (the reports query took ~16 ms of CPU a
        # county with one, ~6 ms without). For this transaction only.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    inputs = _county_meta(session, county_code, window)
    county = inputs.county
    scores, medians = _county_scores(session, inputs, window)
    by_type = _rank(scores, True)
    type_rank = {s.code: s.rank for s in by_type}
    metas = {m.school.code: m for m in inputs.schools}
    results = [_compact_row(s, type_rank[s.code], metas[s.code]) for s in scores]
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
        registry_sha256=_registry_sha256(county, inputs.rows),
        inputs={
            "revision_ids": inputs.revision_ids,
            "inspection_ids": inputs.inspection_ids,
            "active_school_codes": sorted(inputs.active),
            "standard_rate": f"{Decimal(county.subsidy_standard):f}",
            "medians": _medians_doc(medians),
        },
        results=results,
        type_ranking=[[s.code, s.rank] for s in by_type],
        campaign=progress,
    )
    if store:
        session.add(snapshot)
        session.flush()
    return snapshot


def _newest_snapshot(session: Session, county_code: str, window: Window, rubric_version: str) -> RankingSnapshot | None:
    return session.scalars(
        select(RankingSnapshot)
        .where(
            RankingSnapshot.county_code == county_code,
            RankingSnapshot.period_from == window.period_from,
            RankingSnapshot.period_to == window.period_to,
            RankingSnapshot.rubric_version == rubric_version,
        )
        .order_by(RankingSnapshot.id.desc())
        .limit(1)
    ).first()


def _is_current(
    session: Session,
    county: County,
    window: Window,
    max_revision_id: int,
    max_inspection_id: int,
    registry_sha256: str,
) -> bool:
    if _watermarks(session, county.code, window) != (max_revision_id, max_inspection_id):
        return False
    return _current_registry_sha256(session, county) == registry_sha256


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
        return _newest_snapshot(session, county_code, window, version)
    # the watermarks first: a stale snapshot's results (megabytes of JSON) are never loaded
    newest = session.execute(
        select(
            RankingSnapshot.id,
            RankingSnapshot.max_revision_id,
            RankingSnapshot.max_inspection_id,
            RankingSnapshot.registry_sha256,
        )
        .where(
            RankingSnapshot.county_code == county_code,
            RankingSnapshot.period_from == window.period_from,
            RankingSnapshot.period_to == window.period_to,
            RankingSnapshot.rubric_version == version,
        )
        .order_by(RankingSnapshot.id.desc())
        .limit(1)
    ).first()
    marks = _watermarks(session, county_code, window)
    sha = _current_registry_sha256(session, county)
    if newest is not None and (newest[1], newest[2]) == marks and newest[3] == sha:
        return session.get(RankingSnapshot, newest[0])
    if store:
        return compute_ranking(session, county_code, window, trigger=trigger)
    key = (county_code, window, version, marks, sha, county.reporting_start, str(county.subsidy_standard))
    recent_key = (county_code, window, version)
    with _TRANSIENT_LOCK:
        cached = _TRANSIENT.get(key)
        if cached is not None:
            _TRANSIENT.move_to_end(key)
            return cached
        recent = _RECENT.get(recent_key)
    if max_age > 0:
        fresh_after = utcnow() - dt.timedelta(seconds=max_age)
        if recent is not None and recent.computed_at >= fresh_after:
            return recent
        if newest is not None:
            stored = session.get(RankingSnapshot, newest[0])
            if stored is not None and stored.computed_at >= fresh_after:
                return stored
    snapshot = compute_ranking(session, county_code, window, trigger=trigger, store=False)
    with _TRANSIENT_LOCK:
        _remember(_TRANSIENT, key, snapshot, TRANSIENT_RANKINGS)
        _remember(_RECENT, recent_key, snapshot, TRANSIENT_RANKINGS)
    return snapshot


#: Rankings computed for reads and not stored, per process, by their inputs' fingerprint (bounded).
TRANSIENT_RANKINGS = 16
_TRANSIENT: OrderedDict[Any, RankingSnapshot] = OrderedDict()
_RECENT: OrderedDict[Any, RankingSnapshot] = OrderedDict()  # (county, window, rubric) → newest computed for a read
_TRANSIENT_LOCK = threading.Lock()


def clear_transient_rankings() -> None:
    """Forget the rankings computed for reads (tests: a rolled-back test's ids are used again by the next)."""
    with _TRANSIENT_LOCK:
        _TRANSIENT.clear()
        _RECENT.clear()


def read_ranking(
    session: Session, county_code: str, window: Window, *, trigger: str = "read", max_age: float = 0
) -> RankingSnapshot:
    """The ranking every read shows (pages, API GETs, PDFs of a read): the stored snapshot while it is current,
    else the ranking computed now and not stored (reads never write). The debounced task, ``houqin rank``, the
    nightly run and, on the embedded default, ``district.scoring.tasks.store_after_read`` store snapshots."""
    snapshot = latest_ranking(session, county_code, window, trigger=trigger, store=False, max_age=max_age)
    assert snapshot is not None
    return snapshot


def store_snapshot(session: Session, snapshot: RankingSnapshot) -> RankingSnapshot:
    """Store a transient snapshot (``read_ranking``'s) in ``session`` unless a snapshot of the same inputs is
    stored already; returns the stored one. The caller commits."""
    if snapshot.id is not None:
        return snapshot
    same = session.scalars(
        select(RankingSnapshot)
        .where(
            RankingSnapshot.county_code == snapshot.county_code,
            RankingSnapshot.period_from == snapshot.period_from,
            RankingSnapshot.period_to == snapshot.period_to,
            RankingSnapshot.rubric_version == snapshot.rubric_version,
            RankingSnapshot.max_revision_id == snapshot.max_revision_id,
            RankingSnapshot.max_inspection_id == snapshot.max_inspection_id,
            RankingSnapshot.registry_sha256 == snapshot.registry_sha256,
        )
        .order_by(RankingSnapshot.id.desc())
        .limit(1)
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


def _iso(t: dt.datetime) -> str:
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
        "computed_at": _iso(snapshot.computed_at),
        "trigger": snapshot.trigger,
        "by_type": by_type,
        "schools": schools,
        "campaign_progress": dict(snapshot.campaign),
    }


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
                    "computed_at": _iso(snapshot.computed_at),
                    "schools_ranked": sum(1 for r in snapshot.results if r["rank"] is not None),
                }
            )
            return out
    raise NotRanked(school_code)


# ------------------------------------------------------------------------------------------------ snapshots
#
# A snapshot stores, per school, the ranking fields, each indicator's exact earned points ("n/d") and the school's
# pinned inputs (the revision of each month, the carry-over basis, the inspections, the hazard ledger as it was),
# plus the county's F1 medians and subsidy standard. That is everything the one engine needs to give the same
# indicator rows again, so the explanation of a score (inputs, revision ids, notes) is made when it is shown,
# from exactly what the ranking used, and checked against the stored figures. A county's full recompute then
# stores ~0.2 MB instead of ~3.6 MB of formatted rows (docs/DECISIONS.md, "Ranking snapshots").


class SnapshotMismatch(RuntimeError):
    """Explaining a stored score from its pinned inputs did not give the stored figures (never expected)."""


_PRIVATE_KEYS = frozenset({"earned", "pins"})


def _public_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in _PRIVATE_KEYS}


def _earned_doc(score: SchoolScore) -> list[str | None]:
    """Each indicator's exact earned points as ``"n/d"`` (text: a numerator or denominator may pass 64 bits)."""
    return [None if e is None else f"{e.numerator}/{e.denominator}" for e in score.earned]


def _compact_row(score: SchoolScore, type_rank: int | None, meta: _SchoolMeta) -> dict[str, Any]:
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


def _medians_doc(medians: Medians) -> list[list[Any]]:
    return [
        [code, school_type, exact_figure(m_e), exact_figure(m_w), n]
        for (code, school_type), (m_e, m_w, n) in sorted(medians.items())
    ]


def _medians_from_doc(doc: Sequence[Sequence[Any]]) -> Medians:
    return {(code, t): (Fraction(m_e), Fraction(m_w), int(n)) for code, t, m_e, m_w, n in doc}


def snapshot_rubric(session: Session, snapshot: RankingSnapshot) -> Rubric:
    """The rubric that made the snapshot (its version: the default, or a loaded rubric kept verbatim)."""
    default = _default_rubric()
    if snapshot.rubric_version == default.version:
        return default
    row = session.scalars(select(RubricRow).where(RubricRow.version == snapshot.rubric_version)).first()
    if row is None:  # pragma: no cover - a rubric version is never deleted
        raise LookupError(f"rubric {snapshot.rubric_version}")
    return _parsed_rubric(row.source, f"rubric {row.version}")


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
    reports = _figures(session, ids)
    due = _calendar_due(session, rubric, [(r, p) for p, r in months])
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
_SUMMARIES: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()


def snapshot_rows(session: Session, snapshot: RankingSnapshot) -> list[dict[str, Any]]:
    """Every school of the snapshot in ranking order: the ranking fields and, per indicator, the figures
    (code, area, names, points, applicable, earned, earned_exact, available) without the explanation (that is
    ``school_view``'s). For the county-wide views: area means, failing indicators, summaries."""
    key = (snapshot.id, snapshot.computed_at, snapshot.county_code, snapshot.period_from, snapshot.period_to)
    hit = _SUMMARIES.get(key)
    if hit is not None:
        _SUMMARIES.move_to_end(key)
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
    _SUMMARIES[key] = rows
    while len(_SUMMARIES) > 4:
        _SUMMARIES.popitem(last=False)
    return rows


# ------------------------------------------------------------------------------------------------ campaign


def county_campaign_progress(
    session: Session, county_code: str, year: int, *, trigger: str = "read", now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """The county's campaign progress 创建进度 for ``year`` (from its year ranking); ``None`` before any period
    of that year has passed its deadline."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    try:
        window = calendar.resolve_window(session, county, year=year, at=now)
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
            window = calendar.resolve_window(session, county, year=year, at=now)
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
        cast(Sequence[SchoolScore], statuses), active, year, min(starts) if starts else None, _default_rubric()
    )
    return {"city_code": city_code, **total, "counties": per_county}


# ------------------------------------------------------------------------------------------------ inspections


class InspectionError(ValueError):
    """An invalid inspection; ``issues``: ``{path, code, zh, en}`` for every problem."""

    def __init__(self, issues: list[dict[str, str]]) -> None:
        self.issues = issues
        super().__init__("；".join(i["zh"] for i in issues))

    def details(self, lang: str = "zh") -> list[dict[str, str]]:
        return [
            {"path": i["path"], "code": i["code"], "message": i["en" if lang == "en" else "zh"]} for i in self.issues
        ]


EARLIEST_INSPECTION = dt.date(2010, 1, 1)
INSPECTOR_MAX = 50
NOTES_MAX = 2000
_TENTH = Decimal("0.1")


def _issue(path: str, code: str, zh: str, en: str) -> dict[str, str]:
    return {"path": path, "code": code, "zh": zh, "en": en}


def validate_inspection(
    *,
    date: object,
    score: object,
    inspector: object,
    notes: object = None,
    items: object = None,
    findings: object = None,
    codes: frozenset[str] | None = None,
    today: dt.date | None = None,
) -> tuple[dt.date, Decimal | None, str, str | None]:
    """Check an inspection's fields; returns them parsed, or raises ``InspectionError`` listing every issue.

    With ``items`` (a checklist, ``district.scoring.checklists``) the score is made from them and a score given
    beside them is refused; ``codes`` are the county's checklist codes (None: codes not checked)."""
    return _validate_inspection(
        date=date, score=score, inspector=inspector, notes=notes, items=items, findings=findings, codes=codes,
        today=today,
    )[:4]  # fmt: skip


def _validate_inspection(
    *,
    date: object,
    score: object,
    inspector: object,
    notes: object,
    items: object,
    findings: object,
    codes: frozenset[str] | None,
    today: dt.date | None,
) -> tuple[dt.date, Decimal | None, str, str | None, list[dict[str, Any]] | None, list[dict[str, Any]]]:
    from district.scoring import checklists

    issues: list[dict[str, str]] = []
    today = today or calendar.today()
    day: dt.date | None = None
    if isinstance(date, dt.datetime):
        date = date.date()
    if isinstance(date, dt.date):
        day = date
    elif isinstance(date, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date):
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            pass
    if date is None:
        issues.append(_issue("/date", "required", "缺少督查日期", "date is required"))
    elif day is None:
        issues.append(_issue("/date", "invalid_date", "督查日期应为 YYYY-MM-DD", "date must be YYYY-MM-DD"))
    elif day > today:
        issues.append(_issue("/date", "date_in_future", "督查日期不能晚于今天", "the date is in the future"))
    elif day < EARLIEST_INSPECTION:
        issues.append(_issue("/date", "date_too_early", "督查日期不能早于 2010-01-01", "the date is before 2010-01-01"))

    value: Decimal | None = None
    parsed_items: list[dict[str, Any]] | None = None
    if items is not None:
        parsed_items = checklists.validate_items(issues, items, codes)
        if score is not None:
            issues.append(
                _issue(
                    "/score",
                    "score_with_items",
                    "按检查清单督查时得分由检查项目算出，不能另填得分",
                    "the score is made from the items: give no score beside them",
                )
            )
        score = None
    if isinstance(score, bool) or score is None:
        value = None
    elif isinstance(score, Decimal | int):
        value = Decimal(score)
    elif isinstance(score, float | str):
        try:
            value = Decimal(str(score).strip())
        except InvalidOperation:
            value = None
    if score is None:
        if items is None:
            issues.append(_issue("/score", "required", "缺少督查得分", "score is required"))
    elif value is None or not value.is_finite():
        issues.append(_issue("/score", "not_a_number", "督查得分应为 0–5 的数", "score must be a number from 0 to 5"))
    elif not Decimal(0) <= value <= Decimal(5):
        issues.append(_issue("/score", "score_out_of_range", "督查得分应在 0 到 5 之间", "score must be from 0 to 5"))
    elif value != value.quantize(_TENTH):
        issues.append(_issue("/score", "score_precision", "督查得分最多一位小数", "score has at most one decimal"))

    name = inspector.strip() if isinstance(inspector, str) else None
    bad = None if name is None else text_issue(name, "督查人（/inspector）", "inspector (/inspector)")
    if inspector is None:
        issues.append(_issue("/inspector", "required", "缺少督查人", "inspector is required"))
    elif bad is not None:  # control characters, bidi overrides (houqin_standard/text.py)
        issues.append(_issue("/inspector", *bad))
    elif name is None or not 1 <= visible_length(name) or len(name) > INSPECTOR_MAX:
        issues.append(
            _issue(
                "/inspector",
                "inspector_length",
                f"督查人应为 1–{INSPECTOR_MAX} 个字符",
                f"inspector must be 1–{INSPECTOR_MAX} characters",
            )
        )

    text: str | None = None
    if notes is not None:
        bad = text_issue(notes, "备注（/notes）", "notes (/notes)", multiline=True) if isinstance(notes, str) else None
        if not isinstance(notes, str):
            issues.append(_issue("/notes", "invalid_type", "备注应为文字", "notes must be text"))
        elif bad is not None:  # tab and line breaks are kept; other controls, NUL and bidi overrides are not
            issues.append(_issue("/notes", *bad))
        elif len(notes.strip()) > NOTES_MAX:
            issues.append(
                _issue(
                    "/notes",
                    "notes_too_long",
                    f"备注最多 {NOTES_MAX} 个字符",
                    f"notes are at most {NOTES_MAX} characters",
                )
            )
        else:
            text = notes.strip() or None
    parsed_findings = [] if findings is None else checklists.validate_findings(issues, findings, day)
    if issues:
        raise InspectionError(issues)
    assert day is not None and name is not None
    if parsed_items is not None:
        value = checklists.score_from_items(parsed_items)
    else:
        assert value is not None
        value = value.quantize(_TENTH)
    return day, value, name, text, parsed_items, parsed_findings


def record_inspection(
    session: Session,
    school_code: str,
    *,
    date: object,
    score: object,
    inspector: object,
    notes: object = None,
    items: object = None,
    findings: object = None,
    actor: str,
) -> Inspection:
    """Record a bureau on-site inspection (B2), audited as ``inspection.add``.

    Appended, never updated: a correction is a new inspection. With a checklist (``items``) the score is made
    from the items (``checklists.score_from_items``; none applicable → no score); each of ``findings`` becomes
    a hazard-ledger entry ``DC-<id>-<n>`` of the school (``checklists.add_findings``). Raises ``LookupError``
    (unknown school) or ``InspectionError``. After the caller commits, the county's ranking recompute is
    requested (debounced).
    """
    from district.scoring import checklists

    school = session.get(School, school_code)
    if school is None:
        raise LookupError(school_code)
    county = session.get(County, school.county_code)
    assert county is not None
    day, value, name, text, parsed_items, parsed_findings = _validate_inspection(
        date=date, score=score, inspector=inspector, notes=notes, items=items, findings=findings,
        codes=None if items is None else checklists.checklist_codes(session, county), today=None,
    )  # fmt: skip
    insp = Inspection(
        school_code=school.code,
        county_code=school.county_code,
        date=day,
        score=value,
        inspector=name,
        notes=text,
        recorded_by=actor[:100],
        recorded_at=utcnow(),
        items=parsed_items,
    )
    session.add(insp)
    session.flush()
    rows = checklists.add_findings(session, insp, parsed_findings)
    extra: dict[str, Any] = {}
    if parsed_items is not None:
        extra["items"] = parsed_items
    if rows:
        extra["findings"] = [checklists.finding_dict(f) for f in rows]
    record(
        session,
        actor=actor,
        action="inspection.add",
        county_code=school.county_code,
        school_code=school.code,
        inspection_id=insp.id,
        date=day.isoformat(),
        score=None if value is None else f"{value:f}",
        inspector=name,
        notes=text,
        **extra,
    )
    from district.scoring.tasks import recompute_after_commit

    recompute_after_commit(session, school.county_code, reason=f"inspection:{insp.id}")
    return insp


def inspection_dict(insp: Inspection, session: Session | None = None) -> dict[str, Any]:
    """An inspection as the API shows it; with a session, a checklist visit's ``items`` and ``findings``."""
    out: dict[str, Any] = {
        "id": insp.id,
        "school_code": insp.school_code,
        "date": insp.date.isoformat(),
        # one decimal, 0–5: exact as a JSON number (OpenAPI: number); null: a checklist with no applicable item
        "score": None if insp.score is None else float(insp.score),
        "inspector": insp.inspector,
        "notes": insp.notes or "",
        "recorded_by": insp.recorded_by,
        "recorded_at": _iso(insp.recorded_at),
    }
    if session is not None:
        from district.scoring import checklists

        found = checklists.findings_of(session, insp.id)
        if insp.items is not None:
            out["items"] = insp.items
        if insp.items is not None or found:
            out["findings"] = [checklists.finding_dict(f) for f in found]
    return out


# ------------------------------------------------------------------------------------------------ reminders
# The one list of reminders lives in ``district.reminders.services`` (with their channels and deliveries);
# ``reminders``, ``store_reminders``, ``latest_reminders`` and ``reminder_period`` stay importable from here.


# ------------------------------------------------------------------------------------------------ feedback


def _stored_snapshot(session: Session, county: County, window: Window) -> RankingSnapshot | None:
    """The newest stored ranking of the county for exactly ``window`` under its rubric (never computed here)."""
    return session.scalars(
        select(RankingSnapshot)
        .where(
            RankingSnapshot.county_code == county.code,
            RankingSnapshot.period_from == window.period_from,
            RankingSnapshot.period_to == window.period_to,
            RankingSnapshot.rubric_version == county_rubric(session, county).version,
        )
        .order_by(RankingSnapshot.id.desc())
        .limit(1)
    ).first()


@feedback_part
def score_feedback(session: Session, school: School, period: str, lang: str) -> dict[str, Any]:
    """The agent's feedback: the school's latest score and rank over the default window (the newest stored
    ranking of that window; never computed on this request, so hundreds of agents asking at once cost nothing)
    and its reminders of today."""
    county = session.get(County, school.county_code)
    assert county is not None
    out: dict[str, Any] = {"score": None, "rank": None, "ranking": None}
    window = calendar.default_window(session, county)
    snapshot = None if window is None else _stored_snapshot(session, county, window)
    if snapshot is not None:
        for row in snapshot.results:
            if row["school_code"] == school.code:
                out["score"], out["rank"] = row["score"], row["rank"]
                out["ranking"] = {
                    "window": {"from": snapshot.period_from, "to": snapshot.period_to},
                    "grade": row["grade"],
                    "status": row["status"],
                    "status_label": STATUS_LABELS[row["status"]][1 if lang == "en" else 0],
                    "coverage": row["coverage"],
                    "flags": row["flags"],
                    "schools_ranked": sum(1 for r in snapshot.results if r["rank"] is not None),
                    "rubric_version": snapshot.rubric_version,
                    "snapshot_id": snapshot.id,
                    "computed_at": _iso(snapshot.computed_at),
                }
                break
    out["reminders"] = [
        {k: v for k, v in r.items() if k not in ("message_zh", "message_en")}
        for r in reminders(session, school.county_code, school_code=school.code, lang=lang)
    ]
    return out
