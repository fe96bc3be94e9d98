"""The reporting calendar (STANDARD.md "The reporting calendar"): the one clock, deadlines, reporting start,
expected months, days late and windows."""

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


def test_windows_are_clipped_to_the_reporting_start_and_capped_at_the_latest_closed_period(
    session: Any, county: Any
) -> None:
    at = cst(2026, 12, 7, 9, 0)  # 2026-11 closed on 5 December
    assert calendar.resolve_window(session, county, at=at) == Window("2026-01", "2026-11")  # nothing reported yet
    county.reporting_start = "2026-09"
    assert calendar.resolve_window(session, county, at=at) == Window("2026-09", "2026-11")  # the default window
    assert calendar.resolve_window(session, county, year="2026", at=at) == Window("2026-09", "2026-11")
    assert calendar.resolve_window(session, county, school_year=2026, at=at) == Window("2026-09", "2026-11")
    assert calendar.resolve_window(session, county, period_from="2026-01", period_to="2027-06", at=at) == Window(
        "2026-09", "2026-11"
    )
    assert calendar.resolve_window(session, county, year=2027, at=cst(2027, 3, 6)) == Window("2027-01", "2027-02")
    with pytest.raises(WindowError) as err:  # 2025-09..2026-08 lies wholly before the reporting start
        calendar.resolve_window(session, county, school_year=2025, at=at)
    assert "2026-09 起" in err.value.zh


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        ({"period_from": "2026-13", "period_to": "2026-09"}, "invalid_period", "YYYY-MM"),
        ({"period_from": "9999-12", "period_to": "9999-12"}, "empty_window", "2026-11"),
        ({"period_from": "2009-12", "period_to": "2026-09"}, "invalid_period", "2010"),
        ({"period_from": "2026-09"}, "invalid_window", "from 与 to"),
        ({"period_from": "2026-09", "period_to": "2026-03"}, "invalid_window", "晚于"),
        ({"period_from": "2020-01", "period_to": "2026-09"}, "window_too_long", "最长 36 个月"),
        ({"period_from": "2026-01", "period_to": "2026-06"}, "empty_window", "2026-09 起"),
        ({"year": "twenty"}, "invalid_window", "四位年份"),
        ({"year": "２０２６"}, "invalid_window", "四位年份"),
        ({"year": "9999"}, "invalid_window", "无效"),
        ({"year": "2027"}, "empty_window", "2026-11"),
        ({"year": "2026", "period_from": "2026-01"}, "invalid_window", "其中一种"),
    ],
)
def test_bad_or_empty_windows_are_refused_naming_the_limit(
    session: Any, county: Any, kwargs: dict[str, str], code: str, words: str
) -> None:
    county.reporting_start = "2026-09"
    with pytest.raises(WindowError) as err:
        calendar.resolve_window(session, county, at=cst(2026, 12, 7, 9, 0), **kwargs)
    assert err.value.code == code
    assert words in err.value.zh


def test_expected_months_start_at_the_reporting_start(session: Any, county: Any) -> None:
    school = session.get(School, "6105280004")  # opened 2026-10-01
    closed = session.get(School, "6105280003")  # closed 2026-06-30
    open_all_along = session.get(School, "6105280001")
    periods = [f"2026-{m:02d}" for m in range(1, 13)]
    assert calendar.expected_periods(county, open_all_along, periods, None) == [
        p for p in periods if p not in ("2026-07", "2026-08")
    ]
    assert calendar.expected_periods(county, open_all_along, periods, "2026-09") == [
        "2026-09", "2026-10", "2026-11", "2026-12"
    ]
    assert calendar.expected_periods(county, school, periods, "2026-09") == ["2026-10", "2026-11", "2026-12"]
    assert calendar.expected_periods(county, closed, periods, "2026-09") == []


def test_reporting_start_defaults_to_the_first_accepted_report_and_is_validated(
    session: Any, county: Any, agent: Any
) -> None:
    from tests.conftest import example_report

    assert calendar.reporting_start(session, county) is None
    assert agent.post_report(example_report(period="2026-10")).status_code == 201
    assert calendar.reporting_start(session, county) == "2026-10"
    assert calendar.validate_reporting_start(session, county, "2026-09") == "2026-09"
    with pytest.raises(WindowError, match="after the county's first accepted report") as err:
        calendar.validate_reporting_start(session, county, "2026-11")
    assert "2026-10" in err.value.zh
    with pytest.raises(WindowError, match="future"):
        calendar.validate_reporting_start(session, county, "2027-01")
    county.reporting_start = "2026-09"
    assert calendar.reporting_start(session, county) == "2026-09"
