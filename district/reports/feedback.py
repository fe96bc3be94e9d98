"""The parts of the agent feedback (API.md feedback) that the packages above add (``feedback_part``: the review,
score and rank, reminders, inspection findings) and the one "previous participating report" of a school. The
feedback itself is put together above them all, ``district.api.feedback.school_feedback``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from district.registry.models import School
from district.reports.history import previous_participating_rows

# Other domains add their part of the feedback (fund anomalies, score and rank, reminders) here.
FeedbackPart = Callable[[Session, School, str, str], dict[str, Any]]
_parts: list[FeedbackPart] = []


def feedback_part(fn: FeedbackPart) -> FeedbackPart:
    _parts.append(fn)
    return fn


def feedback_parts() -> tuple[FeedbackPart, ...]:
    """The parts registered so far, in registration order."""
    return tuple(_parts)


def previous_participating(
    session: Session, school_code: str, before_period: str, *, stock: bool = False
) -> dict[str, Any] | None:
    """The school's most recent effective participating report before ``before_period`` (for carry-over;
    ``stock``: the most recent one sent in @2, for the stock carry-over):
    ``district.reports.history.previous_participating_rows``, the query scoring and the fund report use."""
    row = session.execute(
        previous_participating_rows(before_period, school_code=school_code, content=True, stock=stock)
    ).first()
    return None if row is None else json.loads(row.content)
