"""Recording audit entries. Callers commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from district.audit.models import AuditEntry
from district.db import utcnow


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
    session.add(entry)
    return entry
