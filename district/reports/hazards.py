"""The hazard ledger 隐患台账 (STANDARD.md): per school, the latest state of each hazard ``ref``.

One query shared by scoring (D1), the dashboard, the reminders and the PDFs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from district.registry.models import School, Township
from district.reports.models import HazardEntry, InspectionFinding, ReportHead


@dataclass(frozen=True)
class LedgerEntry:
    """The latest state of one hazard (school, ref), as the effective revision of its latest month states it."""

    school_code: str
    school_name: str
    township: str
    ref: str
    period: str  # the month whose effective revision last stated this entry (a finding: its visit's month)
    revision_id: int | None  # None: a bureau finding that no report of the school has restated yet
    found_on: dt.date
    category: str
    severity: str
    description: str
    deadline: dt.date
    rectified_on: dt.date | None

    def is_open(self, on: dt.date) -> bool:
        """Open on day ``on``: not rectified, or rectified only after that day."""
        return self.rectified_on is None or self.rectified_on > on

    def days_overdue(self, on: dt.date) -> int:
        """Whole days past the deadline while still open on ``on`` (0 when not overdue)."""
        if not self.is_open(on) or self.deadline >= on:
            return 0
        return (on - self.deadline).days


def hazard_ledger(
    session: Session,
    *,
    county_code: str | None = None,
    school_code: str | None = None,
    as_of_period: str | None = None,
    overdue_on: dt.date | None = None,
) -> list[LedgerEntry]:
    """The hazard ledger: for each (school, ref), the entry of the latest month among EFFECTIVE revisions.

    Only entries written by a revision that is its month's effective one (``ReportHead.revision_id``) count, so
    a corrected revision replaces what the superseded one said. Within the effective revisions, the latest
    period wins (the same ref in a later month updates the entry), then the highest entry id.
    With ``as_of_period`` only months up to and including it count (the ledger as it stood then); with
    ``overdue_on`` only entries still open on that day whose deadline is before it (filtered in the database,
    or here when the scope has bureau findings). The bureau's inspection findings ``DC-<inspection>-<n>`` are
    entries of the school from their visit's month on (``_with_findings``). Ordered by school code, then ref.
    """
    if county_code is None and school_code is None:
        raise ValueError("give a county or a school")
    ranked = select(
        HazardEntry.id.label("id"),
        func.row_number()
        .over(
            partition_by=(HazardEntry.school_code, HazardEntry.ref),
            order_by=(HazardEntry.period.desc(), HazardEntry.id.desc()),
        )
        .label("rn"),
    ).join(ReportHead, ReportHead.revision_id == HazardEntry.revision_id)
    if county_code is not None:
        ranked = ranked.where(ReportHead.county_code == county_code)
    if school_code is not None:
        ranked = ranked.where(ReportHead.school_code == school_code)
    if as_of_period is not None:
        ranked = ranked.where(HazardEntry.period <= as_of_period)
    latest = ranked.subquery()
    query = (
        select(HazardEntry, School.name, Township.name)
        .join(latest, latest.c.id == HazardEntry.id)
        .join(School, School.code == HazardEntry.school_code)
        .join(Township, Township.id == School.township_id)
        .where(latest.c.rn == 1)
        .order_by(HazardEntry.school_code, HazardEntry.ref)
    )
    findings = _findings(session, county_code, school_code, as_of_period)
    if overdue_on is not None and not findings:
        query = query.where(
            HazardEntry.deadline < overdue_on,
            or_(HazardEntry.rectified_on.is_(None), HazardEntry.rectified_on > overdue_on),
        )
    rows = session.execute(query).all()
    entries = [
        LedgerEntry(
            h.school_code,
            name,
            township,
            h.ref,
            h.period,
            h.revision_id,
            h.found_on,
            h.category,
            h.severity,
            h.description,
            h.deadline,
            h.rectified_on,
        )
        for h, name, township in rows
    ]
    if findings:
        entries = _with_findings(entries, findings)
        if overdue_on is not None:
            entries = [e for e in entries if e.deadline < overdue_on and e.is_open(overdue_on)]
    return entries


def _findings(
    session: Session, county_code: str | None, school_code: str | None, as_of_period: str | None
) -> list[tuple[InspectionFinding, str, str]]:
    """The bureau's inspection findings (``DC-<inspection>-<n>``) in scope, with school and township names."""
    query = (
        select(InspectionFinding, School.name, Township.name)
        .join(School, School.code == InspectionFinding.school_code)
        .join(Township, Township.id == School.township_id)
    )
    if county_code is not None:
        query = query.where(InspectionFinding.county_code == county_code)
    if school_code is not None:
        query = query.where(InspectionFinding.school_code == school_code)
    if as_of_period is not None:
        query = query.where(InspectionFinding.period <= as_of_period)
    return [(f, name, township) for f, name, township in session.execute(query).all()]


def _with_findings(entries: list[LedgerEntry], findings: list[tuple[InspectionFinding, str, str]]) -> list[LedgerEntry]:
    """The ledger with each bureau finding in it: what the bureau wrote (found on, category, severity,
    description, deadline) stays as written; only the school's latest statement of the ref from the visit's
    month on says whether and when it was rectified. A statement from before the visit's month is not read."""
    by_key = {(e.school_code, e.ref): e for e in entries}
    for f, name, township in findings:
        stated = by_key.get((f.school_code, f.ref))
        if stated is not None and stated.period < f.period:
            stated = None
        by_key[(f.school_code, f.ref)] = LedgerEntry(
            f.school_code,
            name,
            township,
            f.ref,
            f.period if stated is None else stated.period,
            None if stated is None else stated.revision_id,
            f.found_on,
            f.category,
            f.severity,
            f.description,
            f.deadline,
            None if stated is None else stated.rectified_on,
        )
    return [by_key[k] for k in sorted(by_key)]


def overdue_hazards(session: Session, county_code: str, on: dt.date) -> list[LedgerEntry]:
    """Ledger entries still open on ``on`` whose deadline is before that day: major first, then most overdue."""
    entries = hazard_ledger(session, county_code=county_code, overdue_on=on)
    return sorted(entries, key=lambda e: (e.severity != "major", -e.days_overdue(on), e.school_code, e.ref))
