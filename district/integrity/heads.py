"""County chain heads: the latest link of every school's chain, and the one digest that pins them all.

A printed fund report or county PDF shows the digest it was built on; ``houqin audit verify`` checks that each
recorded head is still in its chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from district.audit.models import ChainHeadRecord
from district.db import utcnow
from district.registry.models import School
from district.reports.models import ReportRevision


@dataclass(frozen=True)
class CountyHeads:
    county_code: str
    heads: dict[str, tuple[int, str]]

    @property
    def digest(self) -> str:
        lines = "\n".join(f"{code}:{seq}:{h}" for code, (seq, h) in sorted(self.heads.items()))
        return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def county_heads(session: Session, county_code: str) -> CountyHeads:
    last = (
        select(ReportRevision.school_code, func.max(ReportRevision.chain_seq).label("seq"))
        .join(School, School.code == ReportRevision.school_code)
        .where(School.county_code == county_code)
        .group_by(ReportRevision.school_code)
        .subquery()
    )
    rows = session.execute(
        select(ReportRevision.school_code, ReportRevision.chain_seq, ReportRevision.chain_hash).join(
            last, (last.c.school_code == ReportRevision.school_code) & (last.c.seq == ReportRevision.chain_seq)
        )
    ).all()
    return CountyHeads(county_code, {code: (seq, h) for code, seq, h in rows})


def record_heads(session: Session, county_code: str) -> ChainHeadRecord:
    heads = county_heads(session, county_code)
    rec = ChainHeadRecord(
        county_code=county_code,
        recorded_at=utcnow(),
        digest=heads.digest,
        heads={k: [v[0], v[1]] for k, v in heads.heads.items()},
    )
    session.add(rec)
    session.flush()
    return rec
