"""Which rubric a county scores with: the default rubric of SCORING.md, or the one it loaded (``houqin rubric
load``), and the rubric that made a stored snapshot. The rubric as data (its parser and checks) is
``district.scoring.rubric``."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import caches
from district.audit.services import record
from district.db import utcnow
from district.registry.models import County
from district.registry.models import Rubric as RubricRow
from district.scoring.models import RankingSnapshot
from district.scoring.rubric import Rubric, RubricError, load_default_rubric, load_rubric

__all__ = [
    "county_rubric",
    "default_rubric",
    "load_county_rubric",
    "parsed_rubric",
    "snapshot_rubric",
]


@caches.memoize("scoring.parsed_rubrics", 32)
def parsed_rubric(text: str, source: str) -> Rubric:
    """A loaded rubric's text, parsed (once per process)."""
    return load_rubric(text, source)


@caches.memoize("scoring.default_rubric", 1)
def default_rubric() -> Rubric:
    """The default rubric of SCORING.md (``rubrics/default-v1.toml``)."""
    return load_default_rubric()


def county_rubric(session: Session, county: County) -> Rubric:
    """The county's rubric (``County.rubric_id``), or the default rubric of SCORING.md."""
    if county.rubric_id is None:
        return default_rubric()
    row = session.get(RubricRow, county.rubric_id)
    if row is None:  # pragma: no cover - a foreign key prevents it
        raise LookupError(f"rubric {county.rubric_id}")
    return parsed_rubric(row.source, f"rubric {row.version}")


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


def snapshot_rubric(session: Session, snapshot: RankingSnapshot) -> Rubric:
    """The rubric that made the snapshot (its version: the default, or a loaded rubric kept verbatim)."""
    default = default_rubric()
    if snapshot.rubric_version == default.version:
        return default
    row = session.scalars(select(RubricRow).where(RubricRow.version == snapshot.rubric_version)).first()
    if row is None:  # pragma: no cover - a rubric version is never deleted
        raise LookupError(f"rubric {snapshot.rubric_version}")
    return parsed_rubric(row.source, f"rubric {row.version}")
