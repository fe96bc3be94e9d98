"""``reports.latest.last_accepted``: the effective revision of the school's newest reported period (the web
template's prefill and ``houqin-agent restore``)."""

from __future__ import annotations

from typing import Any

from district.registry.models import School
from district.reports.latest import last_accepted
from district.reports.services import submit_report
from tests.conftest import example_report


def _report(period: str, **top: Any) -> dict[str, Any]:
    report = example_report(school_code="6105280001", period=period, **top)
    report["dormitory"] = {"beds": 206, "unified_items": ["rules", "mirror"]}
    return report


def _stored(session: Any, school: str, period: str) -> dict[str, Any]:
    import json

    from district.reports.models import ReportHead, ReportRevision

    head = session.get(ReportHead, (school, period))
    return json.loads(session.get(ReportRevision, head.revision_id).content)  # type: ignore[no-any-return]


def test_none_without_a_report_then_the_newest_periods_effective_revision(session: Any, county: Any) -> None:
    school = session.get(School, "6105280001")
    assert last_accepted(session, school.code) is None
    submit_report(session, school, 1, _report("2026-09"))
    submit_report(session, school, 1, _report("2026-10", prepared_by="第一版"))
    submit_report(session, school, 1, _report("2026-10", prepared_by="更正版"))  # a correction: revision 2
    submit_report(session, session.get(School, "6105280002"), 1, dict(_report("2026-11"), school_code="6105280002"))
    assert last_accepted(session, school.code) == ("2026-10", _stored(session, school.code, "2026-10"))
    newest = last_accepted(session, school.code)
    assert newest is not None and newest[1]["prepared_by"] == "更正版"
    earlier = last_accepted(session, school.code, before="2026-10")
    assert earlier is not None and earlier[0] == "2026-09" and earlier[1]["period"] == "2026-09"
    assert last_accepted(session, school.code, before="2026-09") is None
