"""Unsigned refusals cost little (district/api/refusals.py): a source refused too often is answered 429 before
anything is read or written, and a flood is logged aggregated (a few rows, with their count)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from district.api.refusals import RefusalGuard
from district.audit.models import AuditEntry
from district.reports.models import Rejection
from tests.conftest import SignedClient, example_report


def test_the_limit_counts_refusals_per_address_and_per_claimed_school() -> None:
    guard = RefusalGuard(per_minute=3)
    t = 600.0  # the start of a minute
    for i in range(3):
        assert guard.blocked("10.0.0.1", "6105280001", now=t + i) is None
        guard.refused("10.0.0.1", "6105280001", 401, "bad_signature", school_code="6105280001", now=t + i)
    assert guard.blocked("10.0.0.1", None, now=t + 10) == 50  # the address, whatever school it claims
    assert guard.blocked("10.0.0.2", "6105280001", now=t + 10) == 50  # the school, from any address
    assert guard.blocked("10.0.0.2", "6105280002", now=t + 10) is None
    assert guard.blocked("10.0.0.1", "6105280001", now=t + 60) is None  # a new minute


def test_a_key_writes_its_first_row_at_once_and_the_rest_of_its_minute_once() -> None:
    guard = RefusalGuard(per_minute=1000)
    t = 600.0
    first = guard.refused("10.0.0.1", "x", 401, "bad_signature", school_code=None, now=t)
    assert [(p.key.code, p.count) for p in first] == [("bad_signature", 1)]
    for i in range(1, 50):
        assert guard.refused("10.0.0.1", "x", 401, "bad_signature", school_code=None, now=t + i * 0.5) == []
    later = guard.refused("10.0.0.1", "x", 401, "stale_timestamp", school_code=None, now=t + 61)
    assert sorted((p.key.code, p.key.minute, p.count) for p in later) == [
        ("bad_signature", 10, 49),  # the other 49 of that minute, in one row
        ("stale_timestamp", 11, 1),
    ]


def _counts(session: Any) -> tuple[int, int, int]:
    rows = session.scalar(select(func.count()).select_from(Rejection)) or 0
    total = session.scalar(select(func.coalesce(func.sum(Rejection.count), 0)))
    audit = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "report.rejected"))
    return int(rows), int(total or 0), int(audit or 0)


def test_a_flood_of_bad_signatures_is_refused_429_after_the_limit_and_writes_a_few_rows(
    app: Any, agent: SignedClient, credentials: dict[str, str], session: Any
) -> None:
    app.extensions["houqin_refusals"] = RefusalGuard(per_minute=5)
    try:
        before = _counts(session)
        wrong = credentials["6105280002"]
        statuses = [agent.post_report(example_report(), secret=wrong).status_code for _ in range(40)]
        assert statuses[:5] == [401] * 5
        assert set(statuses[5:]) == {429}
        refused = agent.post_report(example_report(), secret=wrong)
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json["error"]["code"] == "rate_limited"
        # the school's own valid requests are refused too while its claimed code is over the limit (from any
        # address): the agent keeps the report in its outbox and sends it after Retry-After
        assert agent.post_report(example_report()).status_code == 429
        rows, _total, audit = _counts(session)
        assert rows - before[0] <= 2  # one 401 bad_signature row, one 429 row: not 42
        assert audit - before[2] <= 2
        logged = session.scalars(select(Rejection).order_by(Rejection.id.desc()).limit(2)).all()
        assert {r.code for r in logged} == {"bad_signature", "rate_limited"}
    finally:
        app.extensions.pop("houqin_refusals")


def test_signed_refusals_are_still_logged_one_by_one(app: Any, agent: SignedClient, session: Any) -> None:
    app.extensions["houqin_refusals"] = RefusalGuard(per_minute=2)
    try:
        before = _counts(session)
        for _ in range(4):  # signed, valid signature, invalid report: the school's own, never counted as a source's
            resp = agent.post_report(example_report(period="2026-9"))
            assert resp.status_code == 422
        rows, total, _audit = _counts(session)
        assert (rows - before[0], total - before[1]) == (4, 4)
    finally:
        app.extensions.pop("houqin_refusals")
