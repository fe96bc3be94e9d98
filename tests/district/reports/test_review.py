"""Per-report review (issue 18): POST /api/v1/reports/<report_id>/review, its refusals, the audit chain, the
school's feedback, a later revision clearing a return, open_returns, the queue and the township_admin scope."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from district import clock
from district.audit.models import AuditEntry
from district.auth.services import create_token, create_user
from tests.conftest import SignedClient, example_report


def bearer(session: Any, role: str, scope: str, name: str) -> dict[str, str]:
    user = create_user(session, name, "correct horse battery", role, scope=scope)
    return {"Authorization": f"Bearer {create_token(session, user, 't')}"}


def _post(agent: SignedClient, offset: int = 0, **overrides: Any) -> str:
    report = example_report(**overrides)
    resp = agent.post_report(report, ts=int(clock.now().timestamp()) + offset)
    assert resp.status_code == 201, resp.json
    return str(report["report_id"])


_SEQ = iter(range(100, 10_000))


def _feedback(agent: SignedClient) -> Any:
    """The school's feedback for 2026-09 (each call signed at its own second: a repeated signature is a replay)."""
    resp = agent.get("/api/v1/feedback?period=2026-09", ts=int(clock.now().timestamp()) + next(_SEQ) % 200)
    assert resp.status_code == 200, resp.json
    return resp.json


def _review(client: Any, headers: dict[str, str], report_id: str, **body: Any) -> Any:
    return client.post(f"/api/v1/reports/{report_id}/review", headers=headers, json=body)


def test_approve_is_audited_in_the_county_chain_and_reaches_the_feedback(
    agent: SignedClient, client: Any, session: Any
) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    report_id = _post(agent)
    assert _feedback(agent)["review"] is None  # 待审核
    resp = _review(client, admin, report_id, decision="approved")
    assert resp.status_code == 200, resp.json
    assert resp.json["review"]["decision"] == "approved" and resp.json["review"]["reviewer"] == "admin"
    assert resp.json["review"]["at"].endswith("+08:00")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "review.approved")).one()
    assert entry.chain_key == "610528" and entry.chain_seq is not None and entry.school_code == "6105280001"
    assert entry.details["report_id"] == report_id
    review = _feedback(agent)["review"]
    assert review == {"decision": "approved", "comment": "", "reviewer": "admin", "at": resp.json["review"]["at"]}


def test_return_then_a_new_revision_clears_it_and_requeues(agent: SignedClient, client: Any, session: Any) -> None:
    from district.review.services import open_returns, review_queue

    admin = bearer(session, "county_admin", "610528", "admin")
    first = _post(agent)
    resp = _review(client, admin, first, decision="returned", comment="本月结余与上月结转不符，请核对")
    assert resp.status_code == 200, resp.json
    review = _feedback(agent)["review"]
    assert review["decision"] == "returned" and review["comment"] == "本月结余与上月结转不符，请核对"
    returns = open_returns(session, "610528")
    assert [(r.school_code, r.period, r.comment, r.reviewer) for r in returns] == [
        ("6105280001", "2026-09", "本月结余与上月结转不符，请核对", "admin")
    ]
    assert returns[0].school_name == "庄里镇中心小学" and returns[0].township == "庄里镇"
    assert open_returns(session, "610528", township="城关街道") == []
    assert [i.report_id for i in review_queue(session, "610528")] == []  # returned: not waiting for review
    second = _post(agent, offset=1)  # the clerk's correction
    assert _feedback(agent)["review"] is None
    assert open_returns(session, "610528") == []
    assert [i.report_id for i in review_queue(session, "610528")] == [second]  # back in the queue, 待审核
    # the old revision is superseded: 409 naming the current one
    stale = _review(client, admin, first, decision="approved")
    assert stale.status_code == 409 and stale.json["error"]["code"] == "superseded"
    assert second in stale.json["error"]["message"]
    assert stale.json["error"]["details"][0]["current_report_id"] == second


@pytest.mark.parametrize(
    ("body", "status", "path"),
    [
        ({"decision": "returned"}, 422, "/comment"),
        ({"decision": "returned", "comment": "   "}, 422, "/comment"),
        ({"decision": "returned", "comment": 5}, 422, "/comment"),
        ({"decision": "rejected", "comment": "x"}, 422, "/decision"),
        ({}, 422, "/decision"),
        ({"decision": "approved", "comment": "a\x00b"}, 400, "/comment"),  # the body reader refuses NUL
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    agent: SignedClient, client: Any, session: Any, body: dict[str, Any], status: int, path: str
) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    report_id = _post(agent)
    resp = _review(client, admin, report_id, **body)
    assert resp.status_code == status, resp.json
    assert resp.json["error"]["details"][0]["path"] == path
    assert session.scalars(select(AuditEntry).where(AuditEntry.action.like("review.%"))).all() == []


def test_not_an_object_and_unknown_report(agent: SignedClient, client: Any, session: Any) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    report_id = _post(agent)
    resp = client.post(f"/api/v1/reports/{report_id}/review", headers=admin, json=["approved"])
    assert resp.status_code == 400
    assert _review(client, admin, "no-such-report", decision="approved").status_code == 404
    assert client.post(f"/api/v1/reports/{report_id}/review", json={"decision": "approved"}).status_code == 401


def test_scope_out_of_scope_404_and_roles_that_do_not_review_403(
    agent: SignedClient, client: Any, session: Any, credentials: dict[str, str]
) -> None:
    from district.registry.models import County

    session.add(County(code="610526", city_code="610500", name="蒲城县"))
    session.flush()
    report_id = _post(agent)  # 6105280001, 庄里镇
    other_county = bearer(session, "county_admin", "610526", "other")
    other_township = bearer(session, "township_admin", "610528/城关街道", "chengguan")
    viewer = bearer(session, "county_viewer", "610528", "viewer")
    city = bearer(session, "city_admin", "610500", "city")
    assert _review(client, other_county, report_id, decision="approved").status_code == 404
    assert _review(client, other_township, report_id, decision="approved").status_code == 404
    assert _review(client, viewer, report_id, decision="approved").status_code == 403
    assert _review(client, city, report_id, decision="approved").status_code == 403
    zhuangli = bearer(session, "township_admin", "610528/庄里镇", "zhuangli")
    resp = _review(client, zhuangli, report_id, decision="returned", comment="请补填晨检记录")
    assert resp.status_code == 200 and resp.json["review"]["reviewer"] == "zhuangli"


def test_a_locked_period_is_not_returned(agent: SignedClient, client: Any, session: Any) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    report_id = _post(agent)
    assert client.post("/api/v1/periods/610528/2026-09/lock", headers=admin).status_code == 200
    resp = _review(client, admin, report_id, decision="returned", comment="请核对")
    assert resp.status_code == 409 and resp.json["error"]["code"] == "period_locked"
    assert _review(client, admin, report_id, decision="approved").status_code == 200


def test_queue_grouped_by_township_oldest_first_and_counts(
    client: Any, session: Any, credentials: dict[str, str]
) -> None:
    from district.review.services import period_review_counts, review_queue

    a = SignedClient(client, "6105280001", credentials["6105280001"])
    b = SignedClient(client, "6105280002", credentials["6105280002"])
    c = SignedClient(client, "6105280004", credentials["6105280004"])
    now = int(clock.now().timestamp())
    ids = {}
    for offset, (agent, code) in enumerate(((b, "6105280002"), (c, "6105280004"), (a, "6105280001"))):
        report = example_report(school_code=code, period="2026-10")
        if code == "6105280004":
            report["enrollment"]["boarders"] = 0
            report.pop("dormitory", None)
        resp = agent.post_report(report, ts=now + offset)
        assert resp.status_code == 201, resp.json
        ids[code] = report["report_id"]
    queue = review_queue(session, "610528")
    # 城关街道 before 庄里镇 (by name), each oldest first: 0002 arrived before 0001
    assert [(i.township, i.school_code) for i in queue] == [
        ("城关街道", "6105280004"),
        ("庄里镇", "6105280002"),
        ("庄里镇", "6105280001"),
    ]
    assert all(isinstance(i.fund_anomalies, list) and isinstance(i.warnings, list) for i in queue)
    assert [i.school_code for i in review_queue(session, "610528", township="庄里镇")] == ["6105280002", "6105280001"]
    admin = bearer(session, "county_admin", "610528", "admin")
    assert _review(client, admin, ids["6105280002"], decision="returned", comment="请核对").status_code == 200
    assert _review(client, admin, ids["6105280004"], decision="approved").status_code == 200
    counts = period_review_counts(session, "610528", "2026-10")
    assert (counts.reported, counts.unreviewed, counts.approved, counts.returned) == (3, 1, 1, 1)
    assert period_review_counts(session, "610528", "2026-10", township="庄里镇").returned == 1


def test_township_admin_scope_filter_and_lock_refused(client: Any, session: Any, county: Any) -> None:
    from district.auth.services import can_lock_period, can_see_county, can_see_school, school_codes_in_scope

    user = create_user(session, "zl", "correct horse battery", "township_admin", scope="610528/庄里镇")
    assert (user.county_code, user.city_code, user.township) == ("610528", "610500", "庄里镇")
    assert can_see_county(session, user, "610528")
    assert can_see_school(session, user, "6105280001") and not can_see_school(session, user, "6105280003")
    assert school_codes_in_scope(session, user, "610528") == {"6105280001", "6105280002"}
    assert not can_lock_period(session, user, "610528")
    headers = {"Authorization": f"Bearer {create_token(session, user, 't')}"}
    assert client.post("/api/v1/periods/610528/2026-09/lock", headers=headers).status_code == 403
    assert client.get("/api/v1/schools/6105280003/score", headers=headers).status_code == 404


@pytest.mark.parametrize("scope", ["610528", "610528/", "610528/不存在镇", "999999/庄里镇", ""])
def test_township_admin_scope_is_validated(session: Any, county: Any, scope: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        create_user(session, "bad", "correct horse battery", "township_admin", scope=scope)
