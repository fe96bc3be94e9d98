"""The scoring API (API.md) through the test client with bearer tokens: rankings, one school's score,
inspections; scope (404), role (403), errors in the ``{"error": ...}`` format."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from district.audit.models import AuditEntry
from district.calendar import Window
from district.scoring import ranking
from district.scoring.models import Inspection, RankingSnapshot
from tests.district.scoring.helpers_scoring_db import YEAR_FROM, YEAR_TO, bearer, report, seed_county, submit


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    from district.registry.models import County

    session.add(County(code="610526", city_code="610500", name="蒲城县"))
    session.flush()
    return seed_county(session)


def test_ranking_of_a_year(client: Any, session: Any, seeded: dict[str, int]) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    resp = client.get("/api/v1/counties/610528/rankings?year=2026", headers=admin)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["window"] == {"from": YEAR_FROM, "to": YEAR_TO}
    assert body["rubric_version"] == "default-1"
    first = body["schools"][0]
    assert set(first) == {
        "school_code",
        "name",
        "type",
        "township",
        "score",
        "grade",
        "status",
        "rank",
        "coverage",
        "flags",
        "rubric_version",
    }
    assert [s["school_code"] for s in body["schools"]][-1] == "6105280004"  # no report: last
    ranks = [s["rank"] for s in body["schools"] if s["rank"] is not None]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert set(body["campaign_progress"]) >= {"year", "compliant", "active", "rate", "target", "met"}
    # reads never write: the ranking was computed for the read and nothing was stored
    assert body["snapshot_id"] is None
    assert session.scalars(select(RankingSnapshot)).all() == []
    # no params is the default window (the latest closed period's year), i.e. the same window and figures
    again = client.get("/api/v1/counties/610528/rankings", headers=admin).json
    explicit = client.get(f"/api/v1/counties/610528/rankings?from={YEAR_FROM}&to={YEAR_TO}", headers=admin).json
    assert again["schools"] == explicit["schools"] == body["schools"]
    # once stored (the debounced task, houqin rank), reads show the stored snapshot with the same figures
    stored = ranking.latest_ranking(session, "610528", Window(YEAR_FROM, YEAR_TO), trigger="debounced")
    assert stored is not None and stored.id is not None
    after = client.get("/api/v1/counties/610528/rankings?year=2026", headers=admin).json
    assert after["snapshot_id"] == stored.id and after["schools"] == body["schools"]


def test_ranking_by_type_and_a_past_snapshot(client: Any, session: Any, seeded: dict[str, int]) -> None:
    viewer = bearer(session, "county_viewer", "610528", "viewer")
    ranking.latest_ranking(session, "610528", Window(YEAR_FROM, YEAR_TO), trigger="debounced")  # stored
    body = client.get("/api/v1/counties/610528/rankings?year=2026&by_type=1", headers=viewer).json
    assert body["snapshot_id"] is not None
    assert body["by_type"] is True
    assert [(s["type"], s["rank"]) for s in body["schools"]] == [
        ("primary", 1),
        ("primary", 2),
        ("primary", None),
        ("junior", 1),
    ]
    # a correction arrives: the current ranking changes, the old snapshot is still there as it was
    corrected = report("6105280002", "2026-10")
    corrected["campus"]["toilets"] = "noncompliant"
    submit(session, "6105280002", "2026-10", corrected)
    now = client.get("/api/v1/counties/610528/rankings?year=2026", headers=viewer).json
    assert now["snapshot_id"] is None  # computed for the read: the stored one is no longer current
    past = client.get(f"/api/v1/counties/610528/rankings?snapshot={body['snapshot_id']}", headers=viewer).json
    old = {
        s["school_code"]: s["score"]
        for s in client.get(
            f"/api/v1/counties/610528/rankings?snapshot={body['snapshot_id']}&by_type=1", headers=viewer
        ).json["schools"]
    }
    assert {s["school_code"]: s["score"] for s in past["schools"]} == old
    assert Decimal(old["6105280002"]) > Decimal(
        next(s["score"] for s in now["schools"] if s["school_code"] == "6105280002")
    )
    assert client.get("/api/v1/counties/610528/rankings?snapshot=999999", headers=viewer).status_code == 404
    assert (
        client.get("/api/v1/counties/610528/rankings?snapshot=x", headers=viewer).json["error"]["code"]
        == "invalid_snapshot"
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=2026-1&to=2026-09", "invalid_period"),
        ("from=2026-09&to=2026-01", "invalid_window"),
        ("year=2099", "empty_window"),
        ("year=abc", "invalid_window"),
        ("from=9999-12&to=9999-12", "empty_window"),
        ("from=2009-12&to=2010-01", "invalid_period"),
        ("from=2020-01&to=2026-10", "window_too_long"),
        ("year=2026&school_year=2026", "invalid_window"),
    ],
)
def test_bad_windows_are_400(client: Any, session: Any, county: Any, query: str, code: str) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    resp = client.get(f"/api/v1/counties/610528/rankings?{query}", headers=admin)
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == code and resp.json["error"]["message"]


def test_scope_is_404_and_no_token_is_401(client: Any, session: Any, seeded: dict[str, int]) -> None:
    other = bearer(session, "county_admin", "610526", "other")
    school = bearer(session, "school_viewer", "6105280002", "school")
    assert client.get("/api/v1/counties/610528/rankings?year=2026", headers=other).status_code == 404
    assert client.get("/api/v1/counties/610528/rankings?year=2026", headers=school).status_code == 404
    assert client.get("/api/v1/counties/999999/rankings?year=2026", headers=other).status_code == 404
    assert client.get("/api/v1/schools/6105280001/score?year=2026", headers=other).status_code == 404
    assert client.get("/api/v1/schools/6105280001/score?year=2026", headers=school).status_code == 404
    resp = client.get("/api/v1/counties/610528/rankings?year=2026")
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthenticated"
    # a school viewer sees its own school's score
    own = client.get("/api/v1/schools/6105280002/score?year=2026", headers=school)
    assert own.status_code == 200 and own.json["school_code"] == "6105280002"


def test_school_score_has_the_indicator_rows(client: Any, session: Any, seeded: dict[str, int]) -> None:
    city = bearer(session, "city_admin", "610500", "city")
    resp = client.get(f"/api/v1/schools/6105280001/score?from={YEAR_FROM}&to={YEAR_TO}", headers=city)
    assert resp.status_code == 200
    body = resp.json
    assert body["window"] == {"from": YEAR_FROM, "to": YEAR_TO}
    assert body["flags"] == ["missing:2026-01", "missing:2026-02", "awaiting_inspection"]
    rows = {r["code"]: r for r in body["indicators"]}
    assert len(rows) == 21  # A1–A5, B1–B2, C1–C5, D1–D4, E1–E3, F1, G1
    d1 = rows["D1"]
    assert d1["inputs"]["overdue open major hazards"] == "1"
    assert seeded["6105280001:2026-09"] in d1["revision_ids"]
    assert rows["A3"]["applicable"] is False and rows["A3"]["earned"] is None  # hygiene: not_applicable
    assert Decimal(body["available_total"]) == 94  # 100 − A3's 6 points
    assert client.get("/api/v1/schools/6105280004/score?from=2026-03&to=2026-09", headers=city).status_code == 404


def test_inspection_is_recorded_by_a_county_admin(client: Any, session: Any, seeded: dict[str, int]) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    before = client.get("/api/v1/schools/6105280002/score?year=2026", headers=admin).json
    resp = client.post(
        "/api/v1/schools/6105280002/inspections",
        headers=admin,
        json={"date": "2026-10-15", "score": 4.5, "inspector": "教育局后勤科", "notes": "文化墙完成"},
    )
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["score"] == 4.5 and body["date"] == "2026-10-15" and body["school_code"] == "6105280002"
    insp = session.get(Inspection, body["id"])
    assert insp.score == Decimal("4.5") and insp.recorded_by == "admin"
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "inspection.add")).one()
    assert audit.actor == "admin" and audit.details["inspection_id"] == body["id"]
    after = client.get("/api/v1/schools/6105280002/score?year=2026", headers=admin).json
    assert after["computed_at"] != before["computed_at"]  # the inspection changed the inputs: computed again
    b2 = next(r for r in after["indicators"] if r["code"] == "B2")
    assert b2["earned"] == "4.50" and "awaiting_inspection" not in after["flags"]
    assert Decimal(after["score"]) > Decimal(before["score"])


def test_inspection_errors(client: Any, session: Any, seeded: dict[str, int]) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    viewer = bearer(session, "county_viewer", "610528", "viewer")
    other = bearer(session, "county_admin", "610526", "other")
    url = "/api/v1/schools/6105280002/inspections"
    good = {"date": "2026-10-15", "score": 4, "inspector": "x"}
    school = bearer(session, "school_viewer", "6105280002", "school")
    assert client.post(url, headers=viewer, json=good).status_code == 403
    assert client.post(url, headers=school, json=good).status_code == 403  # its own school: in scope, no role
    assert client.post("/api/v1/schools/6105280001/inspections", headers=school, json=good).status_code == 404
    assert client.post(url, headers=other, json=good).status_code == 404
    assert client.post(url, json=good).status_code == 401
    resp = client.post(url, headers=admin, data="date=2026-10-15", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415 and resp.json["error"]["code"] == "unsupported_media_type"
    resp = client.post(url, headers=admin, data="{", content_type="application/json")
    assert resp.status_code == 415 and resp.json["error"]["code"] == "malformed_json"
    resp = client.post(url, headers=admin, json=[1])
    assert resp.status_code == 422 and resp.json["error"]["details"][0]["code"] == "invalid_type"
    resp = client.post(
        url,
        headers={**admin, "Accept-Language": "en"},
        json={"date": "2026-02-30", "score": 4.55, "inspector": "", "extra": 1},
    )
    assert resp.status_code == 422
    err = resp.json["error"]
    assert err["code"] == "validation_failed"
    assert [(d["path"], d["code"]) for d in err["details"]] == [
        ("/extra", "unknown_field"),
        ("/date", "invalid_date"),
        ("/score", "score_precision"),
        ("/inspector", "inspector_length"),
    ]
    assert err["details"][2]["message"] == "score has at most one decimal"
    resp = client.post(url, headers=admin, json={"date": "2026-10-15", "score": "5.5", "inspector": "x"})
    assert resp.json["error"]["details"] == [
        {"path": "/score", "code": "score_out_of_range", "message": "督查得分应在 0 到 5 之间"}
    ]
    assert session.scalars(select(Inspection)).all() == []


def test_rankings_over_windows_of_ones_own_are_limited_per_user(
    app: Any, client: Any, session: Any, seeded: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "COMPUTING_READS_PER_MINUTE", 3)
    monkeypatch.delitem(app.extensions, "houqin_computing_reads", raising=False)
    admin = bearer(session, "county_admin", "610528", "limited")
    other = bearer(session, "county_admin", "610528", "limited2")
    windows = ["from=2026-03&to=2026-06", "year=2026", "school_year=2025"]
    for query in windows:
        assert client.get(f"/api/v1/counties/610528/rankings?{query}", headers=admin).status_code == 200
    refused = client.get("/api/v1/counties/610528/rankings?from=2026-04&to=2026-05", headers=admin)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # the default window is stored and shared: never limited; another user has a limit of their own
    assert client.get("/api/v1/counties/610528/rankings", headers=admin).status_code == 200
    assert client.get("/api/v1/counties/610528/rankings?year=2026", headers=other).status_code == 200
    app.extensions.pop("houqin_computing_reads", None)
