"""GET /api/v1/cities/<city>/overview (API.md "Additions (v1, second wave)"): each county's figures are exactly
what the county endpoints answer for the same period (completeness, ranking over the year to date, fund report,
alerts); scope: a city_admin sees its counties, a county's own users their county alone, anyone else 404."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from district.scoring.models import RankingSnapshot
from tests.district.alerts.test_alerts_api import seeded  # noqa: F401  - the fixture
from tests.district.scoring.helpers_scoring_db import bearer

URL = "/api/v1/cities/610500/overview"


@pytest.fixture()
def other_city(session: Any, seeded: Any) -> None:  # noqa: F811
    from district.registry.models import City, County

    session.add(City(code="610300", name="宝鸡市"))
    session.add(County(code="610303", city_code="610300", name="金台区"))
    session.flush()


def test_each_countys_figures_are_the_county_endpoints(client: Any, session: Any, other_city: Any) -> None:
    city = bearer(session, "city_admin", "610500", "city")
    resp = client.get(URL, headers=city)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert (body["city_code"], body["name"], body["period"]) == ("610500", "渭南市", "2026-10")
    assert [c["county_code"] for c in body["counties"]] == ["610526", "610528"]
    line = body["counties"][1]
    assert line["name"] == "富平县"
    done = client.get("/api/v1/counties/610528/completeness?period=2026-10", headers=city).json
    for key in ("expected", "reported", "on_time", "completeness", "timeliness"):
        assert line[key] == done[key], key
    ranking = client.get("/api/v1/counties/610528/rankings?from=2026-01&to=2026-10", headers=city).json
    assert line["veto_schools"] == sum(1 for s in ranking["schools"] if s["status"] == "veto") == 1
    p = ranking["campaign_progress"]
    assert line["campaign"] == {
        "compliant": p["compliant"],
        "active": p["active"],
        "progress": p["rate"],
        "target": p["target"],
    }
    fund = client.get("/api/v1/counties/610528/nutrition?from=2026-10&to=2026-10", headers=city).json
    assert line["fund_anomalies"] == len(fund["anomalies"]) > 0
    alerts = client.get("/api/v1/counties/610528/alerts?period=2026-10", headers=city).json["alerts"]
    assert line["overdue_major_hazards"] == sum(1 for a in alerts if a["kind"] == "overdue_major_hazard") == 1
    empty = body["counties"][0]
    assert (empty["expected"], empty["veto_schools"], empty["fund_anomalies"], empty["overdue_major_hazards"]) == (
        0,
        0,
        0,
        0,
    )
    assert session.scalars(select(RankingSnapshot)).all() == []  # reads never write


def test_an_explicit_period(client: Any, session: Any, other_city: Any) -> None:
    city = bearer(session, "city_admin", "610500", "city")
    line = client.get(f"{URL}?period=2026-09", headers=city).json["counties"][1]
    done = client.get("/api/v1/counties/610528/completeness?period=2026-09", headers=city).json
    assert (line["expected"], line["reported"], line["on_time"]) == (
        done["expected"],
        done["reported"],
        done["on_time"],
    )
    fund = client.get("/api/v1/counties/610528/nutrition?from=2026-09&to=2026-09", headers=city).json
    assert (line["veto_schools"], line["overdue_major_hazards"], line["fund_anomalies"]) == (
        0,
        0,
        len(fund["anomalies"]),
    )


def test_scope(client: Any, session: Any, other_city: Any) -> None:
    own = bearer(session, "county_viewer", "610528", "viewer")
    body = client.get(URL, headers=own).json
    assert [c["county_code"] for c in body["counties"]] == ["610528"]  # a county's own users: their county
    assert client.get("/api/v1/cities/610300/overview", headers=own).status_code == 404
    other = bearer(session, "county_admin", "610303", "other")
    resp = client.get(URL, headers=other)
    assert (resp.status_code, resp.json["error"]["code"]) == (404, "not_found")
    assert client.get("/api/v1/cities/610300/overview", headers=other).status_code == 200
    school = bearer(session, "school_viewer", "6105280001", "school")
    assert client.get(URL, headers=school).status_code == 404
    city = bearer(session, "city_admin", "610500", "city")
    assert client.get("/api/v1/cities/610300/overview", headers=city).status_code == 404
    assert client.get("/api/v1/cities/619900/overview", headers=city).status_code == 404
    assert client.get(URL).status_code == 401
    for bad in ("2026-13", "2026-12", "x"):
        resp = client.get(f"{URL}?period={bad}", headers=city)
        assert (resp.status_code, resp.json["error"]["code"]) == (400, "invalid_period"), bad
