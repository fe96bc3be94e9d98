"""The verifier anyone can run (``houqin audit verify``): walks every chain and names the first broken link.

Checks, per school: every revision's content hashes to its ``content_sha256``; links recompute; ``chain_seq``
runs 1, 2, 3 … with no gap (a deleted row) and each ``prev_chain_hash`` is the previous link (a reordered or
inserted row); the effective-revision index points at existing rows; every ``report.accepted`` audit entry has
its revision. Per county: the administrative audit chain recomputes. Against the recorded chain heads: each
recorded head is still in the chain (nothing rewritten behind a printed report).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district.audit.chain import audit_link, genesis, revision_link
from district.audit.models import AuditEntry
from district.registry.models import School
from district.reports.models import ReportHead, ReportRevision


@dataclass
class Finding:
    chain: str  # "school:6105280001" or "county:610528"
    row: str  # "report_revisions.id=12 (report_id …, revision 2)"
    problem: str  # what differs

    def __str__(self) -> str:
        return f"{self.chain}: {self.row}: {self.problem}"


@dataclass
class VerifyResult:
    schools: int = 0
    revisions: int = 0
    audit_entries: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "schools": self.schools,
            "revisions": self.revisions,
            "audit_entries": self.audit_entries,
            "findings": [{"chain": f.chain, "row": f.row, "problem": f.problem} for f in self.findings],
        }


def _revisions_by_school(session: Session, county_code: str | None) -> Iterator[tuple[str, list[ReportRevision]]]:
    q = select(ReportRevision).order_by(ReportRevision.school_code, ReportRevision.chain_seq, ReportRevision.id)
    if county_code:
        q = q.join(School, School.code == ReportRevision.school_code).where(School.county_code == county_code)
    current: str | None = None
    batch: list[ReportRevision] = []
    for (rev,) in session.execute(q.execution_options(yield_per=2000)):
        if rev.school_code != current:
            if current is not None:
                yield current, batch
            current, batch = rev.school_code, []
        batch.append(rev)
    if current is not None:
        yield current, batch


def verify_school_chain(school_code: str, revisions: list[ReportRevision]) -> Finding | None:
    """The first broken link of one school's chain, or None."""
    chain = f"school:{school_code}"
    prev = genesis(school_code)
    for expected_seq, rev in enumerate(revisions, start=1):
        row = f"report_revisions.id={rev.id} (report_id {rev.report_id}, {rev.period} revision {rev.revision})"
        actual = hashlib.sha256(rev.content.encode("utf-8")).hexdigest()
        if actual != rev.content_sha256:
            return Finding(
                chain, row, f"content was changed: its SHA-256 is {actual}, the chain recorded {rev.content_sha256}"
            )
        if rev.chain_seq != expected_seq:
            what = "a row is missing (deleted)" if rev.chain_seq > expected_seq else "a row was inserted or duplicated"
            return Finding(chain, row, f"chain position {rev.chain_seq} where {expected_seq} was expected: {what}")
        if rev.prev_chain_hash != prev:
            return Finding(
                chain,
                row,
                f"previous link is {rev.prev_chain_hash}, the chain has {prev}: rows were reordered or replaced",
            )
        link = revision_link(prev, rev.content_sha256, rev.report_id, rev.period, rev.revision, rev.received_at)
        if link != rev.chain_hash:
            return Finding(
                chain,
                row,
                f"link recomputes to {link}, stored {rev.chain_hash}: one of content hash, "
                "report_id, period, revision or arrival time was changed",
            )
        prev = rev.chain_hash
    return None


def verify_audit_chain(key: str, entries: list[AuditEntry]) -> Finding | None:
    chain = f"county:{key}"
    prev = genesis(f"county:{key}")
    for expected_seq, e in enumerate(entries, start=1):
        row = f"audit_log.id={e.id} ({e.action} by {e.actor})"
        if e.chain_seq != expected_seq:
            return Finding(
                chain,
                row,
                f"chain position {e.chain_seq} where {expected_seq} was expected: an entry is missing or was inserted",
            )
        if e.prev_hash != prev:
            return Finding(chain, row, "previous link differs: entries were reordered or replaced")
        link = audit_link(prev, e.at, e.actor, e.action, e.county_code, e.school_code, e.details)
        if link != e.entry_hash:
            return Finding(chain, row, f"entry recomputes to {link}, stored {e.entry_hash}: the entry was changed")
        prev = e.entry_hash or ""
    return None


def verify(session: Session, county_code: str | None = None) -> VerifyResult:
    """Walk every chain (of one county, or all). Reports the first broken link of each chain."""
    result = VerifyResult()
    heads_by_school: dict[str, set[int]] = {}
    for school_code, revs in _revisions_by_school(session, county_code):
        result.schools += 1
        result.revisions += len(revs)
        heads_by_school[school_code] = {r.id for r in revs}
        finding = verify_school_chain(school_code, revs)
        if finding:
            result.findings.append(finding)
    # the effective-revision index and the acceptance log must point at rows that exist
    hq = select(ReportHead)
    if county_code:
        hq = hq.where(ReportHead.county_code == county_code)
    for head in session.scalars(hq):
        if head.revision_id not in heads_by_school.get(head.school_code, set()):
            result.findings.append(
                Finding(
                    f"school:{head.school_code}",
                    f"report_heads ({head.period})",
                    f"the effective revision id {head.revision_id} is missing (deleted)",
                )
            )
    aq = select(AuditEntry).where(AuditEntry.action == "report.accepted")
    if county_code:
        aq = aq.where(AuditEntry.county_code == county_code)
    known = {rid for ids in heads_by_school.values() for rid in ids}
    report_ids = (
        set(session.scalars(select(ReportRevision.report_id).where(ReportRevision.id.in_(known))))
        if len(known) < 50000
        else set(session.scalars(select(ReportRevision.report_id)))
    )
    for entry in session.scalars(aq):
        rid = (entry.details or {}).get("report_id")
        if rid and rid not in report_ids:
            result.findings.append(
                Finding(
                    f"school:{entry.school_code}",
                    f"audit_log.id={entry.id}",
                    f"accepted report {rid} has no revision row (deleted)",
                )
            )
    cq = (
        select(AuditEntry).where(AuditEntry.chain_key.is_not(None)).order_by(AuditEntry.chain_key, AuditEntry.chain_seq)
    )
    if county_code:
        cq = cq.where(AuditEntry.chain_key == county_code)
    by_key: dict[str, list[AuditEntry]] = {}
    for e in session.scalars(cq):
        by_key.setdefault(e.chain_key or "", []).append(e)
    for key, entries in by_key.items():
        result.audit_entries += len(entries)
        finding = verify_audit_chain(key, entries)
        if finding:
            result.findings.append(finding)
    _verify_recorded_heads(session, county_code, result)
    return result


def _verify_recorded_heads(session: Session, county_code: str | None, result: VerifyResult) -> None:
    """Every recorded head must still be the link at that position of its school's chain."""
    from district.audit.models import ChainHeadRecord

    q = select(ChainHeadRecord).order_by(ChainHeadRecord.id)
    if county_code:
        q = q.where(ChainHeadRecord.county_code == county_code)
    links = {
        (code, seq): h
        for code, seq, h in session.execute(
            select(ReportRevision.school_code, ReportRevision.chain_seq, ReportRevision.chain_hash)
        )
    }
    for rec in session.scalars(q):
        for code, (seq, h) in sorted(rec.heads.items()):
            if links.get((code, seq)) != h:
                result.findings.append(
                    Finding(
                        f"school:{code}",
                        f"chain_head_records.id={rec.id} ({rec.digest[:12]}…)",
                        f"the head recorded at position {seq} ({h[:12]}…) is no longer in the chain",
                    )
                )
                break
