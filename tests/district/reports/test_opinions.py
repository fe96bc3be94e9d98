"""意见箱 (issue 20 item 4, STANDARD-v2.md ``feedback_box``): the school page lists each month's counts, the county
page sums them by township; a month sent in @1 has not reported the box (never 0), a school with no report is
neither."""

from __future__ import annotations

import copy
from typing import Any

from district.reports import opinions
from houqin_standard import STANDARD_ID_2
from tests.district.reports.test_reports_standard_v2 import V2_SECTIONS
from tests.factories import school_report, submit


def _v2(session: Any, code: str, period: str, received: int, answered: int) -> dict[str, Any]:
    from district.registry.models import School

    report = school_report(session.get(School, code), period)
    report.update(copy.deepcopy(V2_SECTIONS), standard=STANDARD_ID_2)
    report["calendar"] = {"tasks": []}  # no task claimed: valid under any county calendar
    report["feedback_box"] = {"received": received, "answered": answered}
    return report


def plant(session: Any) -> None:
    # 庄里镇: 0001 in @2 for September (3/2) and October (5/5), 0002 in @1 for October;
    # 城关街道: 0004 (opened 2026-10) has not reported October; 0003 closed in June and is not expected.
    submit(session, "6105280001", "2026-09", data=_v2(session, "6105280001", "2026-09", 3, 2))
    submit(session, "6105280001", "2026-10", data=_v2(session, "6105280001", "2026-10", 5, 5))
    submit(session, "6105280002", "2026-10")


def test_the_school_months_read_each_effective_revision(session: Any, county: Any) -> None:
    plant(session)
    submit(session, "6105280001", "2026-09", data=_v2(session, "6105280001", "2026-09", 4, 1))  # a correction
    months = opinions.school_months(session, "6105280001", "2026-09", "2026-12")
    assert [(m.period, m.received, m.answered) for m in months] == [("2026-09", 4, 1), ("2026-10", 5, 5)]
    totals = opinions.school_totals(months)
    assert (totals.received, totals.answered, totals.unanswered, totals.reporting) == (9, 6, 3, 2)
    v1 = opinions.school_months(session, "6105280002", "2026-09", "2026-12")
    assert [(m.period, m.reported, m.received) for m in v1] == [("2026-10", False, None)]  # not reported, not 0
    assert opinions.school_totals(v1).not_reporting == 1


def test_the_county_sums_by_township_in_its_order(session: Any, county: Any) -> None:
    plant(session)
    box = opinions.county_month(session, "610528", "2026-10")
    assert box.total.to_dict() == {
        "received": 5, "answered": 5, "unanswered": 0, "reporting": 1, "not_reporting": 1, "unreported": 1,
    }  # fmt: skip
    by = dict(box.by_township)
    assert (by["庄里镇"].reporting, by["庄里镇"].not_reporting, by["庄里镇"].received) == (1, 1, 5)
    assert (by["城关街道"].reporting, by["城关街道"].unreported) == (0, 1)  # 0003 closed: not counted at all
    assert sum(v.reporting + v.not_reporting + v.unreported for v in by.values()) == 3
    assert opinions.county_month(session, "610528", "2026-08").total.to_dict()["unreported"] == 0  # break month
