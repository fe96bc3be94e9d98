"""GET /api/v1/counties/<county>/alerts (API.md "Additions (v1, second wave)"): vetoes over the year to date,
overdue major hazards on the period's last day, misuse of the period; each figure is the ranking's, the hazard
ledger's or the fund report's, read back through their own endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from district.scoring.models import RankingSnapshot
from tests.district.scoring.helpers_scoring_db import bearer, report, seed_county, submit

URL = "/api/v1/counties/610528/alerts"


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    """seed_county (0001's September report states a major hazard due 2026-09-30, never rectified), then
    0002 reports a food poisoning for 2026-10 and 0001 spends 100.00 of the subsidy on other things in 2026-10."""
    from district.registry.models import County

    session.add(County(code="610526", city_code="610500", name="蒲城县"))
    session.flush()
    ids = seed_county(session)
    poisoned = report("6105280002", "2026-10")
    poisoned["food_safety"]["poisoning_incidents"] = 1
    submit(session, "6105280002", "2026-10", poisoned)
    misused = report("6105280001", "2026-10")
    misused["nutrition"]["other_spend"] = "100.00"
    misused["nutrition"]["closing_balance"] = "4815.65"
    submit(session, "6105280001", "2026-10", misused)
    return ids


def test_alerts_of_the_latest_closed_period_most_serious_first(client: Any, session: Any, seeded: Any) -> None:
    viewer = bearer(session, "county_viewer", "610528", "viewer")
    resp = client.get(URL, headers=viewer)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert (body["county_code"], body["period"]) == ("610528", "2026-10")  # default: the latest closed period
    alerts = body["alerts"]
    assert [(a["kind"], a["school_code"], a["period"]) for a in alerts] == [
        ("veto", "6105280002", "2026-10"),
        ("overdue_major_hazard", "6105280001", "2026-10"),
        ("misuse", "6105280001", "2026-10"),
    ]
    veto, hazard, misuse = alerts
    assert veto["cause"] == "poisoning_incidents"
    assert veto["figures"] == {"poisoning_incidents": 1}
    assert veto["message"] == "庄里镇初级中学：2026 年 10 月报告食物中毒事件 1 起，一票否决，不参加本年度排名"
    assert hazard["figures"] == {
        "ref": "H-2026-09-001", "category": "wiring", "found_on": "2026-09-04", "deadline": "2026-09-30",
        "days_overdue": 31, "reported_in": "2026-09",
    }  # fmt: skip
    assert hazard["message"] == (
        "庄里镇中心小学：重大隐患“二楼东侧教室插座松动，线路老化”整改期限 2026 年 9 月 30 日，"
        "至 2026 年 10 月 31 日仍未整改，已逾期 31 天"
    )
    assert "cause" not in hazard
    assert misuse["figures"]["other_spend"] == "100.00"
    assert misuse["message"] == (
        "庄里镇中心小学：2026 年 10 月营养餐补助资金用于食材以外的支出 100.00 元（挪用补助资金）"
    )
    for a in alerts:
        assert set(a) >= {"kind", "school_code", "name", "period", "message", "figures"}
        assert a["name"] and not any(c.isascii() and c.isalpha() for c in a["message"])  # plain Chinese
    assert session.scalars(select(RankingSnapshot)).all() == []  # reads never write


def test_an_explicit_period(client: Any, session: Any, seeded: Any) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    # September: nobody vetoed yet that year, the hazard is due on its last day (not past), no misuse
    body = client.get(f"{URL}?period=2026-09", headers=admin).json
    assert (body["period"], body["alerts"]) == ("2026-09", [])
    # the current month: the veto of the year to date (up to the latest closed period) is still shown
    body = client.get(f"{URL}?period=2026-11", headers=admin).json
    assert [(a["kind"], a["period"]) for a in body["alerts"]] == [
        ("veto", "2026-10"),
        ("overdue_major_hazard", "2026-11"),
    ]
    assert body["alerts"][1]["figures"]["days_overdue"] == 61  # on 2026-11-30


def test_the_figures_are_the_rankings_and_the_fund_reports(client: Any, session: Any, seeded: Any) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    alerts = client.get(URL, headers=admin).json["alerts"]
    ranking = client.get("/api/v1/counties/610528/rankings?from=2026-01&to=2026-10", headers=admin).json
    vetoed = {s["school_code"] for s in ranking["schools"] if s["status"] == "veto"}
    assert vetoed == {a["school_code"] for a in alerts if a["kind"] == "veto"} == {"6105280002"}
    row = next(s for s in ranking["schools"] if s["school_code"] == "6105280002")
    assert (row["rank"], row["grade"]) == (None, "不合格") and row["score"] is not None
    assert "veto:poisoning_incidents=1" in row["flags"]
    fund = client.get("/api/v1/counties/610528/nutrition?from=2026-10&to=2026-10", headers=admin).json
    misuse = [(a["school_code"], a["period"], a["figures"]) for a in fund["anomalies"] if a["code"] == "MISUSE"]
    assert misuse == [(a["school_code"], a["period"], a["figures"]) for a in alerts if a["kind"] == "misuse"]


def test_scope_auth_and_bad_periods(client: Any, session: Any, seeded: Any) -> None:
    other = bearer(session, "county_admin", "610526", "other")
    assert client.get(URL, headers=other).status_code == 404
    assert client.get(URL, headers=other).json["error"]["code"] == "not_found"
    assert client.get("/api/v1/counties/610599/alerts", headers=other).status_code == 404
    assert client.get(URL).status_code == 401
    admin = bearer(session, "county_admin", "610528", "admin")
    for bad in ("2026-13", "x", "2009-12", "2026-12"):  # 2026-12 is after the current month
        resp = client.get(f"{URL}?period={bad}", headers=admin)
        assert resp.status_code == 400, bad
        assert resp.json["error"]["code"] == "invalid_period"
    city = bearer(session, "city_admin", "610500", "city")
    assert client.get(URL, headers=city).status_code == 200
    assert client.get("/api/v1/counties/610526/alerts", headers=city).json["alerts"] == []
