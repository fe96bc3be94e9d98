"""The scoring part of the agent's feedback (``reports.feedback``): registered as a feedback part when this
module is imported (``district.api.feedback`` imports it), as the other domains' parts are."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from district.registry.models import County, School
from district.reminders.services import reminders
from district.reports import windows
from district.reports.feedback import feedback_part
from district.scoring import summaries
from district.scoring.county_rubrics import county_rubric
from district.scoring.engine import STATUS_LABELS
from district.scoring.snapshots import iso, newest_snapshot

__all__ = ["score_feedback"]


@feedback_part
def score_feedback(session: Session, school: School, period: str, lang: str) -> dict[str, Any]:
    """The agent's feedback: the school's latest score and rank over the default window (the newest stored
    ranking of that window; never computed on this request, so hundreds of agents asking at once cost nothing)
    and its reminders of today."""
    county = session.get(County, school.county_code)
    assert county is not None
    out: dict[str, Any] = {"score": None, "rank": None, "ranking": None}
    window = windows.default_window(session, county)
    snapshot = (
        None
        if window is None
        else newest_snapshot(session, county.code, window, county_rubric(session, county).version)
    )
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
                    "schools_ranked": summaries.schools_ranked(snapshot.results),
                    "rubric_version": snapshot.rubric_version,
                    "snapshot_id": snapshot.id,
                    "computed_at": iso(snapshot.computed_at),
                }
                break
    out["reminders"] = [
        {k: v for k, v in r.items() if k not in ("message_zh", "message_en")}
        for r in reminders(session, school.county_code, school_code=school.code, lang=lang)
    ]
    return out
