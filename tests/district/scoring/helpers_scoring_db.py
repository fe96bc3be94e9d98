"""Helpers for the scoring tests that use the database: submit reports, add users with tokens."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from tests import factories
from tests.factories import example_report

UTC = dt.UTC
# the hub's clock in these tests is tests.conftest.HUB_NOW (2026-11-21): 2026-10 is the latest closed period;
# seed_county sets the county's reporting start to 2026-01, so January and February are expected and missing
YEAR_FROM, YEAR_TO = "2026-01", "2026-10"


def report(code: str, period: str, **overrides: Any) -> dict[str, Any]:
    """The spec's example for ``code``/``period``; without hazards unless asked (their dates are September's)."""
    overrides.setdefault("hazards", [])
    return example_report(school_code=code, period=period, **overrides)


def submit(session: Any, code: str, period: str, data: dict[str, Any] | None = None, **overrides: Any) -> int:
    """``tests.factories.submit`` on time of ``data`` (default: ``report``, the example as it is, whatever the
    school's boarding); returns the revision id."""
    factories.submit(session, code, period, data=data or report(code, period, **overrides))
    return factories.effective_revision_id(session, code, period)


def bearer(session: Any, role: str, scope: str, name: str) -> dict[str, str]:
    from district.auth.services import create_token, create_user

    user = create_user(session, name, "correct horse battery", role, scope=scope)
    return {"Authorization": f"Bearer {create_token(session, user, 't')}"}


def seed_county(session: Any) -> dict[str, int]:
    """Reports for the fixture county: 0001 and 0002 every expected month 2026-03..2026-10 (0001 with the
    September hazards), 0003 (closed in June) March–June, 0004 (opened in October) none."""
    from district.registry.models import County

    session.get(County, "610528").reporting_start = YEAR_FROM
    ids: dict[str, int] = {}
    for period in ("2026-03", "2026-04", "2026-05", "2026-06", "2026-09", "2026-10"):
        for code in ("6105280001", "6105280002"):
            extra: dict[str, Any] = {}
            if code == "6105280001" and period == "2026-09":
                extra["hazards"] = example_report()["hazards"]
            ids[f"{code}:{period}"] = submit(session, code, period, **extra)
    for period in ("2026-03", "2026-04", "2026-05", "2026-06"):
        ids[f"6105280003:{period}"] = submit(session, "6105280003", period)
    return ids


_VIEW_ONLY = ("county_code", "window", "snapshot_id", "computed_at", "schools_ranked", "type_rank")


def explained(session: Any, snapshot: Any) -> list[dict[str, Any]]:
    """Every school of a stored ranking as ``SchoolScore.to_dict(audit=True)`` gives it: the service's view of
    each school, its indicator rows explained from the snapshot's pinned inputs."""
    from district.scoring import snapshots

    out = []
    for row in snapshot.results:
        view = snapshots.school_view(session, snapshot, row["school_code"])
        out.append({k: v for k, v in view.items() if k not in _VIEW_ONLY})
    return out


def indicator(session: Any, snapshot: Any, code: str, indicator_code: str) -> dict[str, Any]:
    """One explained indicator row of one school of a stored ranking."""
    from district.scoring import snapshots

    view = snapshots.school_view(session, snapshot, code)
    return next(i for i in view["indicators"] if i["code"] == indicator_code)


def ranked_from_contents(
    session: Any, county_code: str, window: Any, shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The county's ranking (each school as ``SchoolScore.to_dict(audit=True)``) made by the engine from the
    revisions' parsed contents (``ReportFigures.from_content``, what a loader reading the content hands it)
    instead of the figures stored on the heads at ingestion: the same inputs otherwise. ``shape``: applied to a
    copy of each content first (e.g. a @2 report as if sent in @1). Compare it with ``explained`` of the
    stored ranking: reading the stored figures must rank exactly as reading the reports."""
    from district.reports.figures import ReportFigures
    from district.reports.models import ReportRevision
    from district.scoring.engine import score_county
    from district.scoring.inputs import county_inputs

    inputs = county_inputs(session, county_code, window)
    contents = {rid: json.loads(c) for rid, c in session.execute(select(ReportRevision.id, ReportRevision.content))}

    def parsed(m: Any) -> Any:
        if m is None:
            return None
        content = contents[m.revision_id]
        figures = ReportFigures.from_content(content if shape is None else shape(copy.deepcopy(content)))
        if shape is None:  # what ingestion stored is what the content gives
            assert figures == m.figures, m.revision_id
        return m._replace(figures=figures)

    schools = [
        dataclasses.replace(
            s,
            months=[parsed(m) for m in s.months],
            previous_participating=parsed(s.previous_participating),
            previous_stock=parsed(s.previous_stock),
        )
        for s in inputs.schools
    ]
    return [s.to_dict(audit=True) for s in score_county(schools, window, inputs.rubric)]
