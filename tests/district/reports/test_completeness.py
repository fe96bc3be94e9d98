"""Completeness and timeliness (DHIS2-style) with the active-school history: no rate ever above 100 %."""

from __future__ import annotations

import datetime as dt
from typing import Any

from district.reports.completeness import county_completeness
from tests.factories import submit

UTC = dt.UTC


def test_rates_count_only_active_schools(session: Any, county: Any) -> None:
    # 2026-09: schools 0001, 0002 active; 0003 closed in June; 0004 opens in October
    on_time = dt.datetime(2026, 10, 5, 15, 59, 59, tzinfo=UTC)  # 23:59:59 Asia/Shanghai on the 5th
    late = dt.datetime(2026, 10, 5, 16, 0, 0, tzinfo=UTC)
    submit(session, "6105280001", "2026-09", on_time)
    submit(session, "6105280002", "2026-09", late)
    c = county_completeness(session, "610528", "2026-09", now=dt.datetime(2026, 10, 20, tzinfo=UTC))
    assert (c.expected, c.reported, c.on_time) == (2, 2, 1)
    assert c.completeness == "1.0000" and c.timeliness == "0.5000"
    assert c.missing == []


def test_closed_school_reporting_never_pushes_a_rate_over_100(session: Any, county: Any) -> None:
    from district.registry.models import School

    at = dt.datetime(2026, 10, 1, tzinfo=UTC)
    # 0004 opens in October: a report from it for September (refused today, ``school_inactive``; this one was
    # stored before its opening date was recorded) is not counted in September
    late = session.get(School, "6105280004")
    opened, late.opened = late.opened, None
    submit(session, "6105280004", "2026-09", at)
    late.opened = opened
    submit(session, "6105280001", "2026-09", at)
    c = county_completeness(session, "610528", "2026-09", now=at)
    assert (c.expected, c.reported) == (2, 1)
    assert [m.code for m in c.missing] == ["6105280002"]
    assert c.completeness == "0.5000"


def test_missing_schools_show_days_late_and_townships(session: Any, county: Any) -> None:
    # 00:00 on 16 November in Shanghai: 11 calendar days after the deadline's date, 5 November (STANDARD.md)
    c = county_completeness(session, "610528", "2026-10", now=dt.datetime(2026, 11, 15, 16, 0, tzinfo=UTC))
    assert c.expected == 3  # 0001, 0002 and the newly opened 0004
    assert {m.code: m.days_late for m in c.missing} == {"6105280001": 11, "6105280002": 11, "6105280004": 11}
    towns = {t["township"]: t for t in c.to_dict()["by_township"]}
    assert towns["庄里镇"]["expected"] == 2 and towns["城关街道"]["expected"] == 1


def test_break_month_expects_nobody(session: Any, county: Any) -> None:
    c = county_completeness(session, "610528", "2026-07")
    assert c.break_month and c.expected == 0 and c.completeness is None


def test_deadline_day_is_per_county(session: Any, county: Any) -> None:
    county.deadline_day = 10
    submit(session, "6105280001", "2026-09", dt.datetime(2026, 10, 9, tzinfo=UTC))
    c = county_completeness(session, "610528", "2026-09")
    assert c.on_time == 1


def test_completeness_api_requires_a_bureau_user_in_scope(client: Any, session: Any, county: Any) -> None:
    from district.auth.services import create_token, create_user

    user = create_user(session, "viewer", "correct horse battery", "county_viewer", scope="610528")
    token = create_token(session, user, "t")
    assert client.get("/api/v1/counties/610528/completeness?period=2026-09").status_code == 401
    resp = client.get(
        "/api/v1/counties/610528/completeness?period=2026-09", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 200 and resp.json["expected"] == 2
    assert (
        client.get(
            "/api/v1/counties/610526/completeness?period=2026-09", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/api/v1/counties/610528/completeness?period=bad", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 400
    )
