"""POST /api/v1/reports exactly as API.md: every refusal's status and code, and that nothing was stored."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from district import clock
from district.reports.models import HazardEntry, PeriodApproval, Rejection, ReportHead, ReportRevision
from tests.conftest import SignedClient, example_report


def count(session: Any, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)))


def assert_nothing_stored(session: Any) -> None:
    assert count(session, ReportRevision) == 0
    assert count(session, ReportHead) == 0
    assert count(session, HazardEntry) == 0


def last_rejection(session: Any) -> Rejection:
    return session.scalars(select(Rejection).order_by(Rejection.id.desc())).first()


def test_accepts_the_example_report_and_returns_a_receipt(agent: SignedClient, session: Any) -> None:
    report = example_report()
    resp = agent.post_report(report)
    assert resp.status_code == 201, resp.json
    receipt = resp.json
    assert set(receipt) == {
        "report_id",
        "school_code",
        "period",
        "revision",
        "received_at",
        "on_time",
        "content_sha256",
        "warnings",
        "chain_hash",
        "hub_key_id",
        "signature",
    }
    assert receipt["report_id"] == report["report_id"]
    assert receipt["school_code"] == "6105280001"
    assert receipt["period"] == "2026-09"
    assert receipt["revision"] == 1
    assert receipt["received_at"].endswith("+08:00")
    rev = session.scalars(select(ReportRevision)).one()
    assert rev.content_sha256 == receipt["content_sha256"]
    assert json.loads(rev.content) == report
    assert rev.signer.startswith("credential:")
    assert count(session, HazardEntry) == 2


def test_same_report_again_returns_the_same_receipt_and_stores_nothing(agent: SignedClient, session: Any) -> None:
    report = example_report()
    first = agent.post_report(report)
    time.sleep(0.001)
    again = agent.post_report(report, ts=int(clock.now().timestamp()) + 1)  # a re-send carries a new timestamp
    assert first.status_code == 201 and again.status_code == 200
    assert again.json == first.json
    assert count(session, ReportRevision) == 1


def test_one_digit_changed_under_the_same_report_id_is_409(agent: SignedClient, session: Any) -> None:
    report = example_report()
    assert agent.post_report(report).status_code == 201
    report["nutrition"]["meals_served"] += 1
    resp = agent.post_report(report, ts=int(clock.now().timestamp()) + 1)
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "report_id_conflict"
    assert count(session, ReportRevision) == 1


def test_a_new_report_id_for_the_same_period_is_a_new_revision(agent: SignedClient, session: Any) -> None:
    first = agent.post_report(example_report())
    second = agent.post_report(example_report(prepared_by="王会计"), ts=int(clock.now().timestamp()) + 1)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json["revision"] == 2
    head = session.get(ReportHead, ("6105280001", "2026-09"))
    assert head.revisions == 2
    assert session.get(ReportRevision, head.revision_id).report_id == second.json["report_id"]
    # both revisions kept, each with its own hash and arrival time
    revs = session.scalars(select(ReportRevision).order_by(ReportRevision.revision)).all()
    assert [r.revision for r in revs] == [1, 2]
    assert revs[0].content_sha256 != revs[1].content_sha256


def test_locked_period_refuses_new_revisions_with_409(agent: SignedClient, session: Any) -> None:
    from district.db import utcnow

    session.add(PeriodApproval(county_code="610528", period="2026-09", action="lock", actor="t", at=utcnow()))
    session.flush()
    resp = agent.post_report(example_report())
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "period_locked"
    assert_nothing_stored(session)
    assert last_rejection(session).code == "period_locked"


def test_malformed_json_is_415_and_logged_without_body(agent: SignedClient, session: Any) -> None:
    resp = agent.post_report(None, body=b'{"standard": "houqin/monthly-report@1",')
    assert resp.status_code == 415
    assert resp.json["error"]["code"] == "malformed_json"
    assert_nothing_stored(session)
    rej = last_rejection(session)
    assert (rej.status, rej.code, rej.school_code) == (415, "malformed_json", "6105280001")


def test_the_raw_hint_of_period_and_report_id_is_only_a_hint(agent: SignedClient, session: Any) -> None:
    """The authentication reads the report's context for the (period, report_id) the raw body seems to state; a
    body that would say otherwise once parsed (here a duplicate key) is refused whole by the body reader
    (issue 16: which of two equal keys counts is not defined by JSON), and the hint never decides anything."""
    from district.reports.services import claimed_report

    report = example_report()
    raw = json.dumps(report, ensure_ascii=False)
    assert claimed_report(raw.encode()) == (report["period"], report["report_id"])
    assert claimed_report(b'{"period" :  "2026-09", "report_id":"ABC-1"}') == ("2026-09", "ABC-1")
    assert claimed_report(b'{"hazards": [{"description": "\\"period\\": \\"2020-01\\""}]}') is None
    first = agent.post_report(example_report(period="2026-08"))
    assert first.status_code == 201
    # the same report_id's first revision exists for 2026-08: a body that starts by claiming 2026-08 and that
    # report_id, and then says 2026-09 with a new report_id, is a new report of 2026-09
    body = ('{"period": "2026-08", "report_id": "' + first.json["report_id"] + '", ' + raw[1:]).encode("utf-8")
    resp = agent.post_report(None, body=body)
    assert resp.status_code == 400, resp.json
    assert resp.json["error"]["code"] == "duplicate_key"
    assert {d["path"] for d in resp.json["error"]["details"]} == {"/period", "/report_id"}
    assert count(session, ReportRevision) == 1


def test_json_nested_too_deep_is_400_not_a_crash(agent: SignedClient, session: Any) -> None:
    resp = agent.post_report(None, body=b"[" * 200_000)
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "nesting_too_deep"
    assert_nothing_stored(session)
    assert last_rejection(session).code == "nesting_too_deep"


def test_wrong_content_type_is_415(agent: SignedClient, session: Any) -> None:
    resp = agent.post_report(example_report(), content_type="text/plain")
    assert resp.status_code == 415
    assert resp.json["error"]["code"] == "unsupported_media_type"
    assert_nothing_stored(session)


def test_body_of_one_mib_plus_one_byte_is_413(agent: SignedClient, session: Any) -> None:
    body = b"{" + b" " * (1024 * 1024 - 1) + b"}"
    assert len(body) == 1024 * 1024 + 1
    resp = agent.post_report(None, body=body)
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "payload_too_large"
    assert_nothing_stored(session)


def test_exactly_one_mib_is_not_413(agent: SignedClient, session: Any) -> None:
    raw = json.dumps(example_report()).encode()
    body = raw[:-1] + b" " * (1024 * 1024 - len(raw)) + b"}"
    assert len(body) == 1024 * 1024
    assert agent.post_report(None, body=body).status_code == 201


@pytest.mark.parametrize(
    ("mutate", "path", "code"),
    [
        (lambda r: r.update(extra=1), "/extra", "unknown_field"),
        (lambda r: r["nutrition"].update(mealz=1), "/nutrition/mealz", "unknown_field"),
        (lambda r: r["hazards"][0].update(owner="x"), "/hazards/0/owner", "unknown_field"),
        (lambda r: r["dormitory"].update(floors=3), "/dormitory/floors", "unknown_field"),
        (lambda r: r.pop("finance"), "/finance", "required"),
        (lambda r: r["enrollment"].update(staff=-1), "/enrollment/staff", "negative"),
        (lambda r: r["nutrition"].update(food_spend=65305.35), "/nutrition/food_spend", "money_not_string"),
        (lambda r: r["nutrition"].update(food_spend="65305.355"), "/nutrition/food_spend", "money_format"),
        (lambda r: r["finance"].update(fees_collected="-1.00"), "/finance/fees_collected", "money_negative"),
        (lambda r: r.update(period="2099-01"), "/period", "period_in_future"),
        (lambda r: r.update(period="2009-12"), "/period", "period_too_early"),
        (lambda r: r.update(period="2026-9"), "/period", "invalid_period"),
        (lambda r: r["enrollment"].update(boarders=900), "/enrollment/boarders", "exceeds"),
    ],
)
def test_rule_violations_are_422_naming_the_field(
    agent: SignedClient, session: Any, mutate: Any, path: str, code: str
) -> None:
    report = example_report()
    mutate(report)
    resp = agent.post_report(report)
    assert resp.status_code == 422, resp.json
    err = resp.json["error"]
    assert err["code"] == "validation_failed"
    assert {"path": path, "code": code} in [{"path": d["path"], "code": d["code"]} for d in err["details"]]
    assert all(d["message"] for d in err["details"])
    assert_nothing_stored(session)
    rej = last_rejection(session)
    assert rej.status == 422 and {"path": path, "code": code} in rej.details


def test_every_violation_is_listed_and_english_on_request(agent: SignedClient, session: Any) -> None:
    report = example_report()
    report["enrollment"]["staff"] = -1
    report["nutrition"]["food_spend"] = 1.5
    report["extra"] = True
    resp = agent.post_report(report, lang="en")
    assert resp.status_code == 422
    details = resp.json["error"]["details"]
    assert {d["path"] for d in details} >= {"/enrollment/staff", "/nutrition/food_spend", "/extra"}
    assert all(d["message"].isascii() for d in details)


def test_nine_digit_school_code_in_the_body_is_refused(agent: SignedClient, session: Any) -> None:
    resp = agent.post_report(example_report(school_code="610528000"))
    assert resp.status_code == 403  # it is not the signer's school, whatever else is wrong with it
    assert_nothing_stored(session)


def test_nine_digit_school_code_header_is_401(agent: SignedClient, session: Any) -> None:
    resp = agent.post_report(example_report(), school="610528000")
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "unknown_school"


def test_meals_above_entitlement_is_accepted_and_the_anomaly_kept(agent: SignedClient, session: Any) -> None:
    report = example_report(nutrition__meals_served=791 * 17 + 1)
    resp = agent.post_report(report)
    assert resp.status_code == 201
    fb = agent.get("/api/v1/feedback?period=2026-09")
    assert fb.status_code == 200
    codes = [a["code"] for a in fb.json["fund_anomalies"]]
    assert "MEALS_EXCEED_ENTITLEMENT" in codes


def test_stale_timestamp_301_seconds_is_401(agent: SignedClient, session: Any) -> None:
    resp = agent.post_report(example_report(), ts=int(clock.now().timestamp()) - 301)
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "stale_timestamp"
    assert abs(int(resp.headers["X-Houqin-Time"]) - clock.now().timestamp()) < 5  # the hub's clock, to correct by
    assert_nothing_stored(session)


def test_signature_made_with_another_schools_secret_is_401(
    agent: SignedClient, credentials: dict[str, str], session: Any
) -> None:
    resp = agent.post_report(example_report(), secret=credentials["6105280002"])
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "bad_signature"
    assert_nothing_stored(session)


def test_the_same_signed_request_twice_is_a_replay(agent: SignedClient, client: Any, session: Any) -> None:
    body = json.dumps(example_report()).encode()
    headers = agent.headers("POST", "/api/v1/reports", body)
    headers["Content-Type"] = "application/json"
    assert client.post("/api/v1/reports", data=body, headers=headers).status_code == 201
    again = client.post("/api/v1/reports", data=body, headers=headers)
    assert again.status_code == 401
    assert again.json["error"]["code"] == "replay"
    assert count(session, ReportRevision) == 1


def test_a_report_for_another_school_is_403(agent: SignedClient, session: Any) -> None:
    resp = agent.post_report(example_report(school_code="6105280002"))
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "school_mismatch"
    assert_nothing_stored(session)


def test_rotated_credential_stops_working(app: Any, agent: SignedClient, session: Any) -> None:
    from district.registry.crypto import SecretBox
    from district.registry.services import issue_credential

    new_secret = issue_credential(session, SecretBox(app.config["SERVER_KEY_FILE"]), "6105280001")
    assert agent.post_report(example_report()).status_code == 401
    assert agent.post_report(example_report(), secret=new_secret).status_code == 201


def test_html_and_sql_in_free_text_are_stored_verbatim(agent: SignedClient, session: Any) -> None:
    evil = "<script>alert(1)</script>'; DROP TABLE schools; --"
    report = example_report(prepared_by=evil[:50])
    report["hazards"][0]["description"] = evil
    assert agent.post_report(report).status_code == 201
    rev = session.scalars(select(ReportRevision)).one()
    assert json.loads(rev.content)["hazards"][0]["description"] == evil
    assert session.scalars(select(HazardEntry.description).where(HazardEntry.ref == "H-2026-09-001")).one() == evil


def test_five_thousand_hazards_answer_within_a_second(agent: SignedClient, session: Any) -> None:
    report = example_report()
    report["hazards"] = [
        {
            "ref": f"H-{i:05d}",
            "found_on": "2026-09-01",
            "category": "other",
            "severity": "general",
            "description": "门窗损坏",
            "deadline": "2026-09-30",
            "rectified_on": None,
        }
        for i in range(5000)
    ]
    started = time.perf_counter()
    resp = agent.post_report(report)
    elapsed = time.perf_counter() - started
    assert resp.status_code in (201, 413, 422)
    assert elapsed < 5  # generous for slow CI disks; the bench measures the real figure


def test_rate_limit_answers_429_with_retry_after(app: Any, agent: SignedClient, session: Any) -> None:
    from district.web.ratelimit import RateLimiter

    app.extensions["houqin_limiter"] = RateLimiter(2)
    try:
        codes = [agent.post_report(example_report(), ts=int(clock.now().timestamp()) + i).status_code for i in range(3)]
        assert codes[:2] == [201, 201]
        assert codes[2] == 429
        resp = agent.post_report(example_report(), ts=int(clock.now().timestamp()) + 5)
        assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    finally:
        app.extensions.pop("houqin_limiter")


def test_receipt_endpoint_is_limited_to_the_signers_reports(
    agent: SignedClient, client: Any, credentials: dict[str, str], session: Any
) -> None:
    report = example_report()
    agent.post_report(report)
    mine = agent.get(f"/api/v1/reports/{report['report_id']}")
    assert mine.status_code == 200 and mine.json["report_id"] == report["report_id"]
    other = SignedClient(client, "6105280002", credentials["6105280002"])
    assert other.get(f"/api/v1/reports/{report['report_id']}").status_code == 404
