"""Ranking tasks: thin, they take ids, re-read the database, and do no harm when run twice.

- ``recompute_county``: the debounced recompute after accepted revisions and inspections
  (``district.scoring.tasks.request_recompute`` enqueues it). It recomputes only when the stored snapshot is
  no longer current, so a second run (a redelivery after a lost worker) finds nothing to do.
- ``nightly_recompute`` (celery beat, 02:30 Asia/Shanghai): every county's current year window, under a lock
  so two runs never overlap; catches anything the event path missed (a lost task, a registry change).
- ``daily_reminders`` (celery beat, 07:00): stores each county's reminders of the day and sends what is due.

Their schedule is in ``workers.celery_app.make_celery`` (``beat_schedule``), with the hub's other periodic jobs.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import shared_task
from sqlalchemy import select

from district.db import db
from district.reports import windows

log = logging.getLogger(__name__)

NIGHTLY_LOCK_SECONDS = 3 * 3600  # longer than a city-wide recompute ever takes
REMINDERS_LOCK_SECONDS = 3600


def _test_slow_hook() -> None:
    """Test-only: HOUQIN_TEST_SLOW_RECOMPUTE=<seconds> makes the recompute slow enough to kill it mid-task."""
    seconds = os.environ.get("HOUQIN_TEST_SLOW_RECOMPUTE")
    if seconds:
        time.sleep(float(seconds))


@shared_task(name="workers.tasks.scoring.recompute_county", acks_late=True, reject_on_worker_lost=True)
def recompute_county(
    county_code: str, period_from: str | None = None, period_to: str | None = None, trigger: str = "debounced"
) -> int | None:
    """Bring the county's ranking for the window (default: the current year window) up to date.

    Returns the id of the current snapshot (a new one only when the stored one was stale).
    """
    from district.registry.models import County
    from district.scoring import ranking
    from district.scoring.engine import Window
    from district.scoring.tasks import clear_pending

    clear_pending(county_code)  # from now on a new change asks for a new run
    _test_slow_hook()
    with db.transaction() as s:
        county = s.get(County, county_code)
        if county is None:
            return None
        window: Window | None = (
            Window(period_from, period_to) if period_from and period_to else windows.default_window(s, county)
        )
        if window is None:  # the county has not started reporting: nothing to rank yet
            return None
        snapshot = ranking.latest_ranking(s, county_code, window, trigger=trigger)
        assert snapshot is not None
        return snapshot.id


@shared_task(name="workers.tasks.scoring.nightly_recompute", acks_late=True, reject_on_worker_lost=True)
def nightly_recompute(force: bool = False) -> dict[str, Any]:
    """Every county's current year window, recomputed when stale (``force``: always)."""
    from district.registry.models import County
    from district.scoring import ranking
    from district.scoring.tasks import periodic_lock

    with periodic_lock("nightly-recompute", NIGHTLY_LOCK_SECONDS) as held:
        if not held:
            log.info("nightly recompute already running; this run does nothing")
            return {"skipped": "locked"}
        done: dict[str, int] = {}
        with db.transaction() as s:
            codes = list(s.scalars(select(County.code).order_by(County.code)))
        for code in codes:
            with db.transaction() as s:  # one commit per county: a failure loses one county, not all
                county = s.get(County, code)
                assert county is not None
                window = windows.default_window(s, county)
                if window is None:
                    continue
                if force:
                    snapshot = ranking.compute_ranking(s, code, window, trigger="nightly")
                else:
                    found = ranking.latest_ranking(s, code, window, trigger="nightly")
                    assert found is not None
                    snapshot = found
                done[code] = snapshot.id
        return {"snapshots": done}


@shared_task(name="workers.tasks.scoring.daily_reminders", acks_late=True, reject_on_worker_lost=True)
def daily_reminders() -> dict[str, Any]:
    """Store today's reminders of every county (missing reports of the month, hazards past deadline) and send
    what is due through each county's channels (``district.reminders``): the deliveries are reserved in the
    county's transaction (once a day per school, kind and channel, whoever else runs) and handed to the
    senders after its commit."""
    from flask import current_app

    from district.registry.models import County
    from district.reminders import services as reminders
    from district.scoring.tasks import periodic_lock
    from workers.reminders import hand_over

    with periodic_lock("daily-reminders", REMINDERS_LOCK_SECONDS) as held:
        if not held:
            return {"skipped": "locked"}
        stored: dict[str, int] = {}
        queued: dict[str, int] = {}
        with db.transaction() as s:
            codes = list(s.scalars(select(County.code).order_by(County.code)))
        for code in codes:
            with db.transaction() as s:
                stored[code] = len(reminders.store_reminders(s, code).items)
                reservation = reminders.reserve(s, code, trigger="daily")
            queued[code] = len(reservation.to_send)
            hand_over(current_app._get_current_object(), reservation.to_send)  # type: ignore[attr-defined]
        return {"reminders": stored, "queued": queued}
