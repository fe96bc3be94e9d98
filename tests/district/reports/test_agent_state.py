"""The signed agent endpoints of issue 19: ``GET /api/v1/period-state`` (what ``houqin-agent template`` asks before
anything is filled) and ``GET /api/v1/last-report`` (``houqin-agent restore``); and the one fund rule code: what
the agent's pre-check says of a report is what the hub's feedback finds in it.

The hub clock is 2026-11-21 12:00 Asia/Shanghai (tests/conftest.py); the county's deadline is the 5th."""

from __future__ import annotations

import itertools
from typing import Any

from district.reports.approval import set_lock
from houqin_standard.prechecks import precheck
from tests.conftest import SignedClient, example_report

_seconds = itertools.count(1)


def get(agent: SignedClient, path: str) -> Any:
    """A signed GET, each with its own timestamp (the hub's clock stands still here: the same request twice in
    one second would be a replay)."""
    from district import clock

    return agent.get(path, ts=int(clock.now().timestamp()) + next(_seconds) % 200)


def state(agent: SignedClient, period: str) -> dict[str, Any]:
    resp = get(agent, f"/api/v1/period-state?period={period}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()  # type: ignore[no-any-return]


def test_period_state_days_per_the_calendar_reported_and_locked(agent: SignedClient, session: Any) -> None:
    october = state(agent, "2026-10")
    assert october == {
        "school_code": "6105280001",
        "period": "2026-10",
        "deadline": "2026-11-05T23:59:59+08:00",
        "locked": False,
        "reported": False,
        "revisions": 0,
        "on_time": None,
        "days_left": None,
        "days_late": 16,  # 2026-11-05 → 2026-11-21
        "expected": True,
        "subsidy_standard": "5.00",
        "standard": "houqin/monthly-report@1",
    }
    november = state(agent, "2026-11")
    assert (november["days_left"], november["days_late"]) == (14, 0)  # 2026-11-21 → 2026-12-05

    assert agent.post_report(example_report(period="2026-10")).status_code == 201
    october = state(agent, "2026-10")
    assert (october["reported"], october["revisions"], october["on_time"]) == (True, 1, False)
    assert (october["days_late"], october["days_left"]) == (16, None)  # the day it arrived

    set_lock(session, "610528", "2026-09", lock=True, actor="admin", note=None)
    session.flush()
    assert state(agent, "2026-09")["locked"] is True
    assert state(agent, "2026-10")["locked"] is False


def test_period_state_refuses_a_bad_period_and_an_unsigned_request(agent: SignedClient, client: Any) -> None:
    resp = get(agent, "/api/v1/period-state?period=2026-13")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_period"
    assert client.get("/api/v1/period-state?period=2026-10").status_code == 401


def test_last_report_is_the_school_s_newest_accepted_one_and_only_its_own(
    agent: SignedClient, client: Any, credentials: dict[str, str]
) -> None:
    resp = get(agent, "/api/v1/last-report")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    for period in ("2026-09", "2026-10"):
        assert agent.post_report(example_report(period=period)).status_code == 201
    fixed = example_report(period="2026-09", nutrition__meals_served=13100)
    assert agent.post_report(fixed).status_code == 201  # a correction: revision 2 is the one in effect

    newest = get(agent, "/api/v1/last-report").get_json()
    assert (newest["school_code"], newest["period"], newest["content"]["period"]) == (
        "6105280001",
        "2026-10",
        "2026-10",
    )
    earlier = get(agent, "/api/v1/last-report?before=2026-10").get_json()
    assert earlier["period"] == "2026-09" and earlier["content"]["report_id"] == fixed["report_id"]
    assert earlier["content"]["nutrition"]["meals_served"] == 13100

    other = SignedClient(client, "6105280002", credentials["6105280002"])
    assert get(other, "/api/v1/last-report").status_code == 404  # another school's reports are not its own
    bad = get(agent, "/api/v1/last-report?before=2026-9")
    assert bad.status_code == 400 and "before" in bad.get_json()["error"]["message"]
    assert client.get("/api/v1/last-report").status_code == 401


def test_the_agent_s_precheck_says_what_the_hub_s_fund_engine_finds(agent: SignedClient) -> None:
    report = example_report(period="2026-10")
    n = report["nutrition"]
    n["closing_balance"] = "5115.65"  # 200.00 more than the sum gives
    n["meals_served"] = 13500  # > 791 × 17 = 13447
    n["subsidy_rate"] = "4.00"  # ≠ the county's 5.00
    report["food_safety"]["sample_retention_days"] = 15
    checked = precheck(report, standard_rate=state(agent, "2026-10")["subsidy_standard"])
    assert agent.post_report(report).status_code == 201
    feedback = get(agent, "/api/v1/feedback?period=2026-10").get_json()
    assert [(a["code"], a["message"]) for a in feedback["fund_anomalies"]] == [
        (f["code"], f["message"]) for f in checked
    ]
    assert [f["code"] for f in checked] == [
        "BALANCE_MISMATCH",
        "MEALS_EXCEED_ENTITLEMENT",
        "SPEND_EXCEEDS_MEALS",
        "NONSTANDARD_RATE",
        "SAMPLE_GAP",
    ]
