"""Recording audit entries. Administrative acts are chained per county (district/audit/chain.py). Callers commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from district.audit.chain import audit_link, genesis, is_chained
from district.audit.models import AuditEntry
from district.db import utcnow

# the county's row, named as its foreign keys name it ("counties.code"): the log sits below the registry, which
# records its own acts here, so it locks the row by its table rather than by importing the registry's model
_COUNTIES = table("counties", column("code"))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    county_code: str | None = None,
    school_code: str | None = None,
    **details: Any,
) -> AuditEntry:
    entry = AuditEntry(
        at=utcnow(), actor=actor, action=action, county_code=county_code, school_code=school_code, details=details
    )
    if is_chained(action):
        _link(session, entry)
    session.add(entry)
    if entry.chain_key is not None:
        session.flush()  # the unique (chain_key, chain_seq) refuses a fork here, not at commit
    return entry


def _link(session: Session, entry: AuditEntry) -> None:
    key = entry.county_code or "hub"
    if entry.county_code:
        # one writer per county chain at a time (PostgreSQL row lock; SQLite serialises writers)
        session.execute(select(_COUNTIES.c.code).where(_COUNTIES.c.code == entry.county_code).with_for_update())
    last = session.execute(
        select(AuditEntry.chain_seq, AuditEntry.entry_hash)
        .where(AuditEntry.chain_key == key)
        .order_by(AuditEntry.chain_seq.desc())
        .limit(1)
    ).first()
    entry.chain_key = key
    entry.chain_seq = (last[0] + 1) if last else 1
    entry.prev_hash = last[1] if last else genesis(f"county:{key}")
    entry.entry_hash = audit_link(
        entry.prev_hash, entry.at, entry.actor, entry.action, entry.county_code, entry.school_code, entry.details
    )
