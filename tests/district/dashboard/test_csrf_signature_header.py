"""Issue 16, item 8: an ``X-Houqin-Signature`` header does not exempt a cookie-authenticated request from CSRF."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from district.reports.models import PeriodApproval
from tests.district.dashboard.conftest import page_csrf, sign_in


def _approvals(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(PeriodApproval)))


def test_a_bogus_signature_header_does_not_skip_csrf_for_a_signed_in_browser(
    client: Any, session: Any, users: Any
) -> None:
    sign_in(client, "admin")
    forged = {"X-Houqin-Signature": "0" * 64, "X-Houqin-School": "6105280001", "X-Houqin-Timestamp": "1"}
    for headers in (forged, {"X-Houqin-Signature": "x"}):
        resp = client.post("/api/v1/periods/610528/2026-09/lock", json={}, headers=headers)
        assert resp.status_code == 403 and resp.json["error"]["code"] == "csrf_failed"
    resp = client.post("/counties/610528/approval/2026-09/lock", data={}, headers=forged)  # a dashboard form
    assert resp.status_code == 400
    assert _approvals(session) == 0
    # the same request with the page's token is the bureau's own
    with_token = {**forged, "X-CSRF-Token": page_csrf(client)}
    resp = client.post("/api/v1/periods/610528/2026-09/lock", json={}, headers=with_token)
    assert resp.status_code == 200 and _approvals(session) == 1


def test_an_agent_request_without_a_session_is_still_exempt(client: Any, session: Any, users: Any) -> None:
    """No cookie: the API's own authentication answers (here 401 for the bad signature), not CSRF's 403."""
    resp = client.post(
        "/api/v1/reports",
        data=b"{}",
        headers={
            "Content-Type": "application/json",
            "X-Houqin-School": "6105280001",
            "X-Houqin-Timestamp": "1",
            "X-Houqin-Signature": "0" * 64,
        },
    )
    assert resp.status_code == 401
