"""Period approval: lock refuses new revisions (409), unlock reopens; both audited; scope and role enforced."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from district import clock
from district.audit.models import AuditEntry
from district.auth.services import create_token, create_user
from tests.conftest import SignedClient, example_report


def bearer(session: Any, role: str, scope: str, name: str) -> dict[str, str]:
    user = create_user(session, name, "correct horse battery", role, scope=scope)
    return {"Authorization": f"Bearer {create_token(session, user, 't')}"}


def test_lock_then_revision_refused_then_unlock_accepts(agent: SignedClient, client: Any, session: Any) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    assert agent.post_report(example_report()).status_code == 201
    resp = client.post("/api/v1/periods/610528/2026-09/lock", headers=admin, json={"note": "审核通过"})
    assert resp.status_code == 200 and resp.json["locked"] is True
    refused = agent.post_report(example_report(), ts=int(clock.now().timestamp()) + 1)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "period_locked"
    assert client.post("/api/v1/periods/610528/2026-09/lock", headers=admin).status_code == 409
    resp = client.post("/api/v1/periods/610528/2026-09/unlock", headers=admin)
    assert resp.status_code == 200 and resp.json["locked"] is False
    assert agent.post_report(example_report(), ts=int(clock.now().timestamp()) + 2).status_code == 201
    state = client.get("/api/v1/periods/610528/2026-09", headers=admin).json
    assert [h["action"] for h in state["history"]] == ["lock", "unlock"]
    assert state["revisions_since_approval"] == 1
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("period.%"))).all()
    assert actions == ["period.lock", "period.unlock"]


def test_viewer_cannot_lock_and_other_county_is_404(client: Any, session: Any, county: Any) -> None:
    from district.registry.models import County

    session.add(County(code="610526", city_code="610500", name="蒲城县"))
    session.flush()
    viewer = bearer(session, "county_viewer", "610528", "viewer")
    other = bearer(session, "county_admin", "610526", "other")
    assert client.post("/api/v1/periods/610528/2026-09/lock", headers=viewer).status_code == 403
    assert client.post("/api/v1/periods/610528/2026-09/lock", headers=other).status_code == 404
    assert client.post("/api/v1/periods/610528/2026-09/lock").status_code == 401


def test_lock_with_a_non_object_body_and_old_periods(client: Any, session: Any, county: Any) -> None:
    admin = bearer(session, "county_admin", "610528", "admin2")
    resp = client.post("/api/v1/periods/610528/2026-09/lock", headers=admin, json=[1])
    assert resp.status_code == 200 and resp.json["history"][-1]["note"] is None
    assert client.get("/api/v1/counties/610528/completeness?period=1028-10", headers=admin).status_code == 400
    assert client.post("/api/v1/periods/610528/2009-12/lock", headers=admin).json["error"]["code"] == "invalid_period"


def test_a_city_admin_reads_a_period_but_locks_none(client: Any, session: Any, county: Any) -> None:
    city = bearer(session, "city_admin", "610500", "city-reader")
    assert client.get("/api/v1/periods/610528/2026-09", headers=city).status_code == 200
    resp = client.post("/api/v1/periods/610528/2026-09/lock", headers=city, json={})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/periods/610528/2026-09", headers=city).get_json()["locked"] is False
