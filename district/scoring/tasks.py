"""How a change of a county's inputs reaches its ranking: a debounced recompute on the Celery workers.

With a broker (Redis): an accepted revision or an inspection, once committed, sets the key
``<prefix>:rank:pending:<county>`` (``SET NX`` with a TTL) and, only when it was newly set, enqueues
``workers.tasks.scoring.recompute_county`` with ``countdown=RANKING_DEBOUNCE_SECONDS``. The task deletes the key
when it starts, so everything that arrives while it is pending is covered by that one run, and anything that
arrives after it started sets the key again and gets its own run: 300 reports in the last hour before the
deadline cause at most one recompute per debounce interval, never one per report, and none is lost.

Without a broker (the embedded default) nothing is enqueued: each snapshot carries the watermarks of its inputs,
so the next read of the ranking sees that it is stale and computes it without storing (``ranking.read_ranking``;
reads never write); a read of the default window then stores it in a short transaction of its own
(``store_after_read``), as the debounced task would have.

``periodic_lock`` keeps two runs of a periodic job (nightly recompute, daily reminders) from overlapping.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

RECOMPUTE_TASK = "workers.tasks.scoring.recompute_county"


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _broker(app: Flask) -> str | None:
    url = app.config.get("BROKER_URL")
    return url if isinstance(url, str) and url.startswith(("redis://", "rediss://", "unix://")) else None


def redis_client(app: Flask) -> Any | None:
    """The app's Redis client (the broker's), or ``None`` on the embedded default."""
    url = _broker(app)
    if url is None:
        return None
    client = app.extensions.get("houqin_scoring_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(url)
        app.extensions["houqin_scoring_redis"] = client
    return client


def _prefix(app: Flask) -> str:
    return str(app.config.get("RANKING_KEY_PREFIX") or "houqin")


def pending_key(app: Flask, county_code: str) -> str:
    return f"{_prefix(app)}:rank:pending:{county_code}"


def request_recompute(county_code: str, *, reason: str, app: Flask | None = None) -> bool:
    """Ask for a debounced recompute of the county's ranking. Call it only after the commit.

    Returns True when a task was enqueued, False when one is already pending or there is no broker (then the
    next read recomputes). Never raises: the change it follows is already committed, and a lost request is
    made good by the next read, the next change or the nightly run.
    """
    app = app or _app()
    client = redis_client(app)
    if client is None:
        return False
    delay = max(0, int(app.config.get("RANKING_DEBOUNCE_SECONDS") or 0))
    key = pending_key(app, county_code)
    try:
        # the TTL only frees the key if the task was lost; a normal run deletes it when it starts
        if not client.set(key, reason[:200], nx=True, ex=max(2 * delay, delay + 60)):
            return False
    except Exception:
        log.exception("ranking recompute of county %s not requested (Redis)", county_code)
        return False
    try:
        from district import dispatch

        dispatch.send_task(app, RECOMPUTE_TASK, (county_code, None, None, "debounced"), countdown=delay)
    except Exception:
        client.delete(key)
        log.exception("ranking recompute of county %s not enqueued", county_code)
        return False
    return True


def clear_pending(county_code: str, app: Flask | None = None) -> None:
    """Called by the recompute task when it starts: later changes will ask for a new run."""
    app = app or _app()
    client = redis_client(app)
    if client is not None:
        client.delete(pending_key(app, county_code))


def recompute_after_commit(session: Session, county_code: str, *, reason: str) -> None:
    """Request the recompute once ``session`` commits (never for a rolled-back change)."""
    try:
        app = _app()
    except RuntimeError:  # no app context: a bare script; the next read recomputes
        return
    if _broker(app) is None:
        return
    from district.dispatch import enqueue_after_commit

    enqueue_after_commit(session, lambda: request_recompute(county_code, reason=reason, app=app))


def store_after_read(county_code: str, snapshot: Any) -> Any:
    """The embedded default's stand-in for the debounced task: a read that had to compute the county's ranking
    of the *default* window (``ranking.read_ranking``: not stored) stores it here, in a short write transaction
    of its own on another connection, after the read's data was read, so the next reader and the agents'
    feedback find it stored. With a broker, or for any other window, or when the app says not to
    (``RANKING_STORE_ON_READ``), nothing is stored. Best effort: a busy database skips it (the next read tries
    again). Returns the stored snapshot, or the transient one."""
    if snapshot.id is not None:
        return snapshot
    try:
        app = _app()
    except RuntimeError:
        return snapshot
    if _broker(app) is not None or not app.config.get("RANKING_STORE_ON_READ", True):
        return snapshot
    from sqlalchemy.exc import OperationalError

    from district.db import db
    from district.registry.models import County
    from district.reports import windows
    from district.scoring import snapshots

    engine = db.engine
    if engine is None:
        return snapshot
    with Session(bind=engine, expire_on_commit=False) as own:
        try:
            db.begin_write(own, sqlite_busy_ms=2000)
            county = own.get(County, county_code)
            window = None if county is None else windows.default_window(own, county)
            if window is None or (window.period_from, window.period_to) != (snapshot.period_from, snapshot.period_to):
                own.rollback()
                return snapshot
            stored = snapshots.store_snapshot(own, snapshot)
            own.commit()
            return stored
        except OperationalError:
            own.rollback()
            log.info("ranking of county %s not stored after a read (database busy)", county_code)
            return snapshot


def ranking_for_read(session: Session, county_code: str, window: Any, *, trigger: str = "read") -> Any:
    """The ranking a read shows (API GETs, dashboard pages): ``ranking.read_ranking``, kept by
    ``store_after_read`` when it is the default window's on the embedded default."""
    from district.scoring import ranking

    try:
        max_age = float(_app().config.get("READ_MAX_AGE_SECONDS") or 0)
    except RuntimeError:
        max_age = 0
    snapshot = ranking.read_ranking(session, county_code, window, trigger=trigger, max_age=max_age)
    return store_after_read(county_code, snapshot)


def revision_accepted(county_code: str, school_code: str, period: str) -> None:
    """The listener ``create_app`` registers with ``reports.services.on_revision_accepted``."""
    request_recompute(county_code, reason=f"revision:{school_code}:{period}")


# ------------------------------------------------------------------------------------------------ locks

_local_locks: dict[str, threading.Lock] = {}
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


@contextmanager
def periodic_lock(name: str, ttl_seconds: int, app: Flask | None = None) -> Iterator[bool]:
    """Yield True when this run holds the lock ``name``, False when another run does (then do nothing).

    Redis ``SET NX`` with a TTL (longer than the job; a crashed run's lock expires) and a token, released only
    by its holder. Without Redis the lock is the process's own (the embedded default runs one process).
    """
    app = app or _app()
    client = redis_client(app)
    if client is None:
        lock = _local_locks.setdefault(name, threading.Lock())
        got = lock.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                lock.release()
        return
    key = f"{_prefix(app)}:lock:{name}"
    token = secrets.token_hex(16)
    got = bool(client.set(key, token, nx=True, ex=ttl_seconds))
    try:
        yield got
    finally:
        if got:
            client.eval(_RELEASE, 1, key, token)
