"""Daily record of every county's chain heads (docs/AUDIT.md)."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy import select

from district.db import db


@shared_task(name="workers.tasks.audit.record_all_chain_heads")
def record_all_chain_heads() -> int:
    from district.integrity.heads import record_heads
    from district.registry.models import County

    with db.transaction() as s:
        counties = list(s.scalars(select(County.code)))
        for code in counties:
            record_heads(s, code)
    return len(counties)
