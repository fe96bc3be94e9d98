"""The reporting calendar (STANDARD.md "The reporting calendar"): the one clock, deadlines, the reporting start's
rule, expected months, days late and windows, as pure rules (no session). A county's windows, which read its reports
for the start, are tested in tests/district/reports/test_windows.py."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from typing import Any

import pytest

from district import calendar, clock
from district.calendar import Window, WindowError
from district.registry.models import School
from houqin_standard import SHANGHAI


def cst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_the_clock_is_the_hubs_and_tests_set_it(hub_clock: Any) -> None:
    hub_clock.set(cst(2028, 2, 29, 12, 0))
    assert calendar.now() == cst(2028, 2, 29, 12, 0)
    assert calendar.today() == dt.date(2028, 2, 29)
    with clock.frozen(cst(2026, 12, 1, 0, 30)):  # 16:30 UTC on 30 November: already December in Shanghai
        assert calendar.today() == dt.date(2026, 12, 1)
        assert calendar.current_period() == "2026-12"
    assert calendar.today() == dt.date(2028, 2, 29)


def test_latest_closed_period_turns_at_the_deadline(county: Any) -> None:
    at = dt.datetime(2026, 11, 5, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on 5 November in Shanghai: October is open
    assert calendar.latest_closed_period(county, at) == "2026-09"
    assert calendar.latest_closed_period(county, at + dt.timedelta(seconds=1)) == "2026-10"
    county.deadline_day = 10  # the county's own deadline day moves it
    assert calendar.latest_closed_period(county, at + dt.timedelta(days=3)) == "2026-09"


def test_days_late_counts_calendar_days_in_shanghai(county: Any) -> None:
    due = calendar.deadline_date(5, "2026-11")
    assert due == dt.date(2026, 12, 5)
    # the spec's example: unreported, 1 day late on 6 December and 2 on the 7th
    assert calendar.days_late(due, on=dt.date(2026, 12, 5)) == 0
    assert calendar.days_late(due, on=dt.date(2026, 12, 6)) == 1
    assert calendar.days_late(due, on=dt.date(2026, 12, 7)) == 2
    # a report that arrives on the 7th (even one second after midnight, Shanghai) was 2 days late
    assert calendar.days_late(due, first_received_at=cst(2026, 12, 7, 0, 0, 1)) == 2
    assert calendar.days_late(due, first_received_at=cst(2026, 12, 5, 23, 59, 59)) == 0
    with clock.frozen(cst(2026, 12, 7, 0, 5)):  # today is the hub clock's Shanghai date
        assert calendar.days_late(due) == 2


def test_a_window_is_clipped_to_the_start_given_and_capped_at_the_latest_closed_period(county: Any) -> None:
    at = cst(2026, 12, 7, 9, 0)  # 2026-11 closed on 5 December
    assert calendar.window_for(county, None, at=at) == Window("2026-01", "2026-11")
    assert calendar.window_for(county, "2026-09", at=at) == Window("2026-09", "2026-11")
    assert calendar.window_for(county, "2026-09", school_year=2026, at=at) == Window("2026-09", "2026-11")
    assert calendar.window_for(county, None, period_from="2026-03", at=at) == Window("2026-03", "2026-11")
    assert calendar.window_for(county, None, period_to="2026-06", at=at) == Window("2026-01", "2026-06")
    with pytest.raises(WindowError) as err:
        calendar.window_for(county, "2026-09", year="2026", school_year="2026", at=at)
    assert (err.value.code, err.value.field) == ("invalid_window", "school_year")
    with pytest.raises(WindowError) as err:
        calendar.window_for(county, "2026-09", period_from="2026-01", period_to="2026-06", at=at)
    assert err.value.code == "empty_window" and "2026-09 起" in err.value.zh


def test_a_reporting_start_is_judged_against_the_first_report_given(hub_clock: Any) -> None:
    hub_clock.set(cst(2026, 11, 21, 12, 0))
    assert calendar.check_reporting_start("2026-09", None) == "2026-09"
    assert calendar.check_reporting_start("2026-09", "2026-10") == "2026-09"
    assert calendar.check_reporting_start("2026-10", "2026-10") == "2026-10"
    with pytest.raises(WindowError, match="after the county's first accepted report") as err:
        calendar.check_reporting_start("2026-11", "2026-10")
    assert "晚于本县已收到的第一份月报（2026-10）" in err.value.zh and err.value.field == "reporting_start"
    with pytest.raises(WindowError, match="future"):
        calendar.check_reporting_start("2026-12", None)
    with pytest.raises(WindowError) as err:
        calendar.check_reporting_start(202609, None)
    assert err.value.code == "invalid_period" and "YYYY-MM" in err.value.zh


def test_expected_months_start_at_the_reporting_start(session: Any, county: Any) -> None:
    school = session.get(School, "6105280004")  # opened 2026-10-01
    closed = session.get(School, "6105280003")  # closed 2026-06-30
    open_all_along = session.get(School, "6105280001")
    periods = [f"2026-{m:02d}" for m in range(1, 13)]
    assert calendar.expected_periods(county, open_all_along, periods, None) == [
        p for p in periods if p not in ("2026-07", "2026-08")
    ]
    assert calendar.expected_periods(county, open_all_along, periods, "2026-09") == [
        "2026-09",
        "2026-10",
        "2026-11",
        "2026-12",
    ]
    assert calendar.expected_periods(county, school, periods, "2026-09") == ["2026-10", "2026-11", "2026-12"]
    assert calendar.expected_periods(county, closed, periods, "2026-09") == []


# ------------------------------------------------------------------------------------------------ surfaces


@pytest.mark.parametrize("period", ["9999-12", "2009-12", "2026-13", "2026-1", "x"])
def test_a_period_the_hub_cannot_speak_of_is_400_on_every_endpoint(
    client: Any, session: Any, county: Any, agent: Any, period: str
) -> None:
    from tests.district.scoring.helpers_scoring_db import bearer

    admin = bearer(session, "county_admin", "610528", "period-admin")
    for path in (f"/api/v1/counties/610528/completeness?period={period}", f"/api/v1/periods/610528/{period}"):
        resp = client.get(path, headers=admin)
        assert resp.status_code == 400, (path, resp.status_code)
        assert resp.get_json()["error"]["code"] == "invalid_period"
    feedback = agent.get(f"/api/v1/feedback?period={period}")
    assert feedback.status_code == 400 and feedback.get_json()["error"]["code"] == "invalid_period"
