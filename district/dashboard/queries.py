"""Read-only queries behind the dashboard pages. No rule is decided here: figures come from the services
(completeness, approval, the hazard ledger of ``district.reports.hazards``, the fund-rule engine, the scoring
service); this module only fetches rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district.registry.models import School, Township

# the hazard ledger lives in the reports domain
from district.reports.hazards import LedgerEntry, hazard_ledger, overdue_hazards  # noqa: F401
from district.reports.models import ReportHead, ReportRevision
from houqin_standard import HAZARD_FIELDS, HEADER_FIELDS, SECTIONS_V2, Field

# ---------------------------------------------------------------- revisions of one school


@dataclass(frozen=True)
class RevisionInfo:
    id: int
    revision: int
    report_id: str
    received_at: dt.datetime
    signer: str
    content_sha256: str
    on_time: bool
    warnings: list[dict[str, str]]
    effective: bool


@dataclass
class MonthReports:
    """Every accepted revision of one school-month, oldest first; the last one is effective."""

    period: str
    first_received_at: dt.datetime
    on_time: bool
    revisions: list[RevisionInfo] = field(default_factory=list)

    @property
    def effective(self) -> RevisionInfo:
        return next(r for r in self.revisions if r.effective)


def school_months(session: Session, school_code: str) -> list[MonthReports]:
    """All months the school reported, newest month first, each with all its revisions (content not loaded)."""
    heads = {h.period: h for h in session.scalars(select(ReportHead).where(ReportHead.school_code == school_code))}
    rows = session.execute(
        select(
            ReportRevision.id,
            ReportRevision.period,
            ReportRevision.revision,
            ReportRevision.report_id,
            ReportRevision.received_at,
            ReportRevision.signer,
            ReportRevision.content_sha256,
            ReportRevision.on_time,
            ReportRevision.warnings,
        )
        .where(ReportRevision.school_code == school_code)
        .order_by(ReportRevision.period.desc(), ReportRevision.revision)
    ).all()
    months: dict[str, MonthReports] = {}
    for r in rows:
        head = heads.get(r.period)
        if head is None:  # cannot happen while heads are consistent; never show a month without its head
            continue
        month = months.setdefault(r.period, MonthReports(r.period, head.first_received_at, head.on_time))
        month.revisions.append(
            RevisionInfo(
                r.id,
                r.revision,
                r.report_id,
                r.received_at,
                r.signer,
                r.content_sha256,
                r.on_time,
                list(r.warnings or []),
                r.id == head.revision_id,
            )
        )
    return list(months.values())


def revision_content(session: Session, school_code: str, revision_id: int) -> tuple[ReportRevision, dict[str, Any]]:
    """One of the school's revisions and its parsed content; LookupError when it is not that school's."""
    rev = session.get(ReportRevision, revision_id)
    if rev is None or rev.school_code != school_code:
        raise LookupError(revision_id)
    return rev, json.loads(rev.content)


# ---------------------------------------------------------------- field-by-field diff


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two revisions. ``path`` is a JSON pointer (hazards keyed by ref)."""

    path: str
    section: str  # the standard's section key, "header" or "hazards"
    field: Field | None
    ref: str | None  # hazard ref for ledger rows
    before: Any
    after: Any

    @property
    def kind(self) -> str:
        if self.before is _ABSENT:
            return "added"
        if self.after is _ABSENT:
            return "removed"
        return "changed"


class _Absent:
    def __repr__(self) -> str:
        return "—"

    def __bool__(self) -> bool:
        return False


_ABSENT: Any = _Absent()
_NOT_DIFFED = frozenset({"report_id"})  # differs between every two revisions; shown in the revision headers


def is_absent(value: Any) -> bool:
    return value is _ABSENT


def _value(data: Mapping[str, Any] | None, key: str) -> Any:
    if not isinstance(data, Mapping) or key not in data:
        return _ABSENT
    return data[key]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))  # unified_items: a set, order is not a change
    return bool(type(a) is type(b) and a == b)


def revision_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """Every field whose value differs, in the standard's order of sections and fields.

    Hazard-ledger entries are matched by ``ref`` (not by position), so reordering the list is not a change.
    Fields outside the standard (there are none in accepted reports) are ignored.
    """
    changes: list[FieldChange] = []
    for f in HEADER_FIELDS:
        if f.key in _NOT_DIFFED:
            continue
        a, b = _value(before, f.key), _value(after, f.key)
        if not _same(a, b):
            changes.append(FieldChange(f"/{f.key}", "header", f, None, a, b))
    for section in SECTIONS_V2:  # @2's sections too: a @1 revision has none of them (a @1 → @2 correction adds them)
        sa, sb = _value(before, section.key), _value(after, section.key)
        sa = sa if isinstance(sa, Mapping) else {}
        sb = sb if isinstance(sb, Mapping) else {}
        for f in section.fields:
            a, b = _value(sa, f.key), _value(sb, f.key)
            if not _same(a, b):
                changes.append(FieldChange(f"/{section.key}/{f.key}", section.key, f, None, a, b))
    ha = _by_ref(_value(before, "hazards"))
    hb = _by_ref(_value(after, "hazards"))
    for ref in sorted(set(ha) | set(hb)):
        for f in HAZARD_FIELDS:
            if f.key == "ref":
                continue
            a, b = _value(ha.get(ref), f.key), _value(hb.get(ref), f.key)
            if not _same(a, b):
                path = "/hazards/" + ref.replace("~", "~0").replace("/", "~1") + "/" + f.key
                changes.append(FieldChange(path, "hazards", f, ref, a, b))
    return changes


def _by_ref(items: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(h["ref"]): h for h in items if isinstance(h, Mapping) and "ref" in h}


# ---------------------------------------------------------------- registry helpers


def school_names(session: Session, codes: set[str]) -> dict[str, tuple[str, str]]:
    """code → (name, township name) of the given schools."""
    if not codes:
        return {}
    rows = session.execute(
        select(School.code, School.name, Township.name)
        .join(Township, Township.id == School.township_id)
        .where(School.code.in_(sorted(codes)))
    )
    return {code: (name, township) for code, name, township in rows}


def townships(session: Session, county_code: str) -> list[str]:
    """The county's townships in its order (``registry.services.townships_in_order``)."""
    from district.registry.services import townships_in_order

    return townships_in_order(session, county_code)


# ---------------------------------------------------------------- approval


@dataclass(frozen=True)
class ArrivedRevision:
    id: int
    school_code: str
    school_name: str
    revision: int
    received_at: dt.datetime


def revisions_since(session: Session, county_code: str, period: str, history: Sequence[Any]) -> list[ArrivedRevision]:
    """The revisions of the county's period that arrived after its first approval (the count
    ``period_state.revisions_since_approval`` gives), newest first."""
    first_lock = next((a for a in history if a.action == "lock"), None)
    if first_lock is None:
        return []
    rows = session.execute(
        select(
            ReportRevision.id,
            ReportRevision.school_code,
            School.name,
            ReportRevision.revision,
            ReportRevision.received_at,
        )
        .join(School, School.code == ReportRevision.school_code)
        .where(
            School.county_code == county_code,
            ReportRevision.period == period,
            ReportRevision.received_at > first_lock.at,
        )
        .order_by(ReportRevision.received_at.desc(), ReportRevision.id.desc())
    ).all()
    return [ArrivedRevision(*r) for r in rows]
