"""The hub tests' factories, one of each: the spec's example report (``example_report``), the same shaped for a
school as the registry records it (``school_report``), and a revision stored through the reports service as the
API would store it (``submit``). The domain fixtures (scoring's PERFECT month, 营养餐's fund figures) start
from ``EXAMPLE`` too; the example exists once in the repository, tests/data/example-report.json (a copy of
../shared/spec/example-report.json)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from district.registry.models import School
    from district.reports.figures import ReportFigures
    from district.reports.services import Receipt

EXAMPLE_REPORT = Path(__file__).resolve().parent / "data" / "example-report.json"
#: The spec's example, parsed once (read only: every factory hands out a deep copy).
EXAMPLE: dict[str, Any] = json.loads(EXAMPLE_REPORT.read_text(encoding="utf-8"))

#: A boarding school's dormitory in ``school_report`` (the example's beds, two of the unified items).
BOARDING_DORMITORY: dict[str, Any] = {"beds": 206, "unified_items": ["rules", "mirror"]}


def example_report(**overrides: Any) -> dict[str, Any]:
    """The spec's example report with a fresh report_id for school 6105280001; ``section__field=value``
    overrides nested fields, ``field=value`` top-level ones."""
    data = copy.deepcopy(EXAMPLE)
    data["report_id"] = str(uuid.uuid4())
    data["school_code"] = "6105280001"
    for key, value in overrides.items():
        if "__" in key:
            section, field = key.split("__", 1)
            data[section][field] = value
        else:
            data[key] = value
    return data


def school_report(school: School, period: str, **overrides: Any) -> dict[str, Any]:
    """``example_report`` for ``school`` and ``period``, shaped as the registry records the school: a
    boarding school's with ``BOARDING_DORMITORY``, a day school's with no boarders and no dormitory."""
    report = example_report(school_code=school.code, period=period, **overrides)
    if school.boarding:
        report["dormitory"] = copy.deepcopy(BOARDING_DORMITORY)
    else:
        report["enrollment"]["boarders"] = 0
        report.pop("dormitory", None)
    return report


def on_time(period: str) -> dt.datetime:
    """Two days before ``period``'s deadline (houqin_standard.period_deadline): an on-time submission."""
    from houqin_standard import period_deadline

    return period_deadline(period) - dt.timedelta(days=2)


def submit(
    session: Any, code: str, period: str, at: dt.datetime | None = None, *, data: dict[str, Any] | None = None,
    **overrides: Any,
) -> Receipt:  # fmt: skip
    """Store a new revision of school ``code`` for ``period`` through ``reports.services.submit_report``, as
    the API does, received at ``at`` (default ``on_time``); the report is ``data``, else
    ``school_report(school, period, **overrides)``. Returns the receipt; the session is flushed."""
    from district.registry.models import School
    from district.reports.services import submit_report

    school = session.get(School, code)
    assert school is not None, f"school {code} is not in the registry"
    report = data if data is not None else school_report(school, period, **overrides)
    receipt, created = submit_report(session, school, 1, report, now=on_time(period) if at is None else at)
    assert created, f"{code} {period}: an identical report was stored before"
    session.flush()
    return receipt


def effective_revision_id(session: Any, code: str, period: str) -> int:
    """The id of school ``code``'s effective revision for ``period`` (its report head's)."""
    from district.reports.models import ReportHead

    head = session.get(ReportHead, (code, period))
    assert head is not None, f"{code} {period}: no report stored"
    return int(head.revision_id)


def report_figures(report: Mapping[str, Any] | None) -> ReportFigures | None:
    """What a loader hands the engines for a parsed ``report`` (``ReportFigures.from_content``); ``None`` for
    ``None`` (no carry-over basis)."""
    from district.reports.figures import ReportFigures

    return None if report is None else ReportFigures.from_content(report)
