"""The scoring tasks called as plain functions (STYLE.md): they re-read, do no harm when run twice, and the
periodic ones do nothing while another run holds their lock."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from district.reminders.models import ReminderList
from district.reports import windows
from district.scoring.models import RankingSnapshot
from district.scoring.tasks import periodic_lock
from tests.district.scoring.helpers_scoring_db import seed_county, submit
from workers.tasks import scoring as scoring_tasks


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    return seed_county(session)


def test_recompute_county_twice_stores_one_snapshot(session: Any, seeded: dict[str, int], county: Any) -> None:
    first = scoring_tasks.recompute_county.run("610528")
    assert scoring_tasks.recompute_county.run("610528") == first  # nothing changed: nothing recomputed
    snapshot = session.get(RankingSnapshot, first)
    window = windows.resolve_window(session, county)
    assert (snapshot.period_from, snapshot.period_to) == (window.period_from, window.period_to)
    assert snapshot.trigger == "debounced"
    submit(session, "6105280002", "2026-10")
    assert scoring_tasks.recompute_county.run("610528") != first
    explicit = scoring_tasks.recompute_county.run("610528", "2026-09", "2026-10", "manual")
    assert session.get(RankingSnapshot, explicit).period_from == "2026-09"
    assert scoring_tasks.recompute_county.run("999999") is None  # a county that is gone: nothing to do


def test_nightly_recompute_takes_a_lock(session: Any, seeded: dict[str, int]) -> None:
    with periodic_lock("nightly-recompute", 60) as held:
        assert held
        assert scoring_tasks.nightly_recompute.run() == {"skipped": "locked"}
    done = scoring_tasks.nightly_recompute.run()
    assert set(done["snapshots"]) == {"610528"}
    assert scoring_tasks.nightly_recompute.run() == done  # current: reused
    forced = scoring_tasks.nightly_recompute.run(force=True)
    assert forced["snapshots"]["610528"] > done["snapshots"]["610528"]
    assert session.get(RankingSnapshot, forced["snapshots"]["610528"]).trigger == "nightly"


def test_daily_reminders_are_stored(session: Any, seeded: dict[str, int]) -> None:
    result = scoring_tasks.daily_reminders.run()
    stored = session.scalars(select(ReminderList)).one()
    assert result == {"reminders": {"610528": len(stored.items)}, "queued": {"610528": 0}}  # no contacts, no robots
    assert any(i["kind"] == "hazard_overdue" and i["ref"] == "H-2026-09-001" for i in stored.items)
    with periodic_lock("daily-reminders", 60) as held:
        assert held and scoring_tasks.daily_reminders.run() == {"skipped": "locked"}
