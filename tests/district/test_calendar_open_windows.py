"""Open-ended windows (issue 16): ``from`` alone runs to the latest closed period, ``to`` alone from January of its
year; both are then clipped, capped and limited to 36 months like any window."""

from __future__ import annotations

from typing import Any

import pytest

from district import calendar
from district.scoring.engine import Window


def test_from_alone_runs_to_the_latest_closed_period(session: Any, county: Any) -> None:
    # the hub's clock: 2026-11-21, so 2026-10 is the latest closed period
    assert calendar.resolve_window(session, county, period_from="2026-03") == Window("2026-03", "2026-10")
    assert calendar.window_from_args(session, county, {"from": "2026-03", "to": ""}) == Window("2026-03", "2026-10")


def test_to_alone_is_its_year_to_date(session: Any, county: Any) -> None:
    assert calendar.resolve_window(session, county, period_to="2026-06") == Window("2026-01", "2026-06")
    assert calendar.window_from_args(session, county, {"to": "2025-09"}) == Window("2025-01", "2025-09")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"from": "2026-11"}, "empty_window"),  # after the latest closed period
        ({"from": "2020-01"}, "window_too_long"),  # 2020-01..2026-10 is 82 months as asked
        ({"from": "2026-13"}, "invalid_period"),
        ({"to": "20x6-01"}, "invalid_period"),
    ],
)
def test_open_windows_keep_every_rule(session: Any, county: Any, args: dict[str, str], code: str) -> None:
    with pytest.raises(calendar.WindowError) as err:
        calendar.window_from_args(session, county, args)
    assert err.value.code == code
