"""Handing reserved reminder deliveries to whoever sends them, after the commit that reserved them.

- With a broker (``HOUQIN_BROKER_URL``): one ``workers.tasks.reminders.deliver`` task per delivery on the default
  queue; the task retries a failure with backoff.
- The embedded default (no broker): one daemon thread per hub process (like ``workers.background`` for PDFs)
  sends them one after another and retries a failure after the same backoff, so a request never waits for an
  SMTP server or a robot. A hub that stops leaves unsent deliveries ``queued`` or ``failed``: the next
  一键催报 (or ``houqin reminders --send``) of the day tries them again.
- The test app (``TESTING``) and the CLI: in the caller's thread (``send_now``), retried there if asked.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext

from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

_cond = threading.Condition()
_heap: list[tuple[float, int, Flask, int]] = []
_seq = itertools.count()
_thread: threading.Thread | None = None


def hand_over(app: Flask, delivery_ids: Iterable[int]) -> None:
    """Send the (committed) deliveries: enqueue, or the background thread, or at once in the test app."""
    ids = list(delivery_ids)
    if not ids:
        return
    if app.config.get("BROKER_URL"):
        from workers.celery_app import celery_app

        with app.app_context():
            task = celery_app().tasks["workers.tasks.reminders.deliver"]
            for delivery_id in ids:
                task.apply_async(args=(delivery_id,))
        return
    if app.testing:
        send_now(app, ids, retries=False)
        return
    for delivery_id in ids:
        _schedule(app, delivery_id, 0.0)


def _context(app: Flask) -> AbstractContextManager[object]:
    """The app's context, unless this thread is already in it (a test, a CLI command): its session is kept."""
    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        return nullcontext()
    return app.app_context()


def send_now(app: Flask, delivery_ids: Iterable[int], *, retries: bool) -> None:
    """Send in this thread; with ``retries``, wait out the backoff and try failures again (the CLI)."""
    from district.reminders import services
    from workers.tasks.reminders import backoff_seconds

    with _context(app):
        pending = list(delivery_ids)
        while pending:
            waiting: list[tuple[int, float]] = []
            for delivery_id in pending:
                outcome = services.deliver(delivery_id)
                if retries and outcome.retry:
                    waiting.append((delivery_id, backoff_seconds(outcome.attempts)))
            if not waiting:
                return
            time.sleep(max(delay for _, delay in waiting))
            pending = [delivery_id for delivery_id, _ in waiting]


def _schedule(app: Flask, delivery_id: int, delay: float) -> None:
    global _thread
    with _cond:
        heapq.heappush(_heap, (time.monotonic() + delay, next(_seq), app, delivery_id))
        _cond.notify()
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="houqin-reminders", daemon=True)
            _thread.start()


def pending() -> int:
    """Deliveries handed to this process's thread and not yet settled (tests and diagnostics)."""
    with _cond:
        return len(_heap)


def _work() -> None:
    from district.db import db
    from district.reminders import services
    from workers.tasks.reminders import backoff_seconds

    while True:
        with _cond:
            while not _heap or _heap[0][0] > time.monotonic():
                _cond.wait(timeout=None if not _heap else max(0.0, _heap[0][0] - time.monotonic()))
            _due, _n, app, delivery_id = heapq.heappop(_heap)
        try:
            with app.app_context():
                outcome = services.deliver(delivery_id)
                if outcome.retry:
                    _schedule(app, delivery_id, backoff_seconds(outcome.attempts))
        except Exception:  # the database is away: the delivery stays queued/failed for the next run
            log.exception("reminder delivery %s failed in the background", delivery_id)
        finally:
            db.session.remove()
