"""How the hub hands work to the processes that do it, without importing them.

The work is done by ``workers/``: the Celery tasks (with a broker), or, on the embedded default, the hub process's
own background threads (PDF jobs: ``workers.background``; reminders: ``workers.reminders``). Those import the
domain packages, so the domain packages reach them only through the functions here, and the app factory plugs
the workers in once (``district.app.create_app``: ``plug(app, workers.dispatch.Workers())``). A domain package
never imports ``workers`` (``.importlinter``).

``enqueue_after_commit`` is the one rule for when a task may be sent: after the commit, never inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "houqin_dispatch"


class Dispatch(Protocol):
    def start_pdf_job(self, app: Flask, job_id: int) -> None:
        """Hand a committed PDF job to whoever makes it; returns at once."""

    def hand_over_reminders(self, app: Flask, delivery_ids: Iterable[int]) -> None:
        """Send committed reminder deliveries (enqueue, or the background sender)."""

    def send_reminders_now(self, app: Flask, delivery_ids: Iterable[int], *, retries: bool) -> None:
        """Send them in this thread (the CLI)."""

    def send_task(self, app: Flask, name: str, args: tuple[Any, ...], *, countdown: float) -> None:
        """Enqueue the task ``name`` on the broker."""


def plug(app: Flask, dispatch: Dispatch) -> None:
    app.extensions[_KEY] = dispatch


def _of(app: Flask) -> Dispatch:
    dispatch: Dispatch | None = app.extensions.get(_KEY)
    if dispatch is None:
        raise RuntimeError("no workers are plugged into this app (district.app.create_app plugs them)")
    return dispatch


def start_pdf_job(app: Flask, job_id: int) -> None:
    _of(app).start_pdf_job(app, job_id)


def hand_over_reminders(app: Flask, delivery_ids: Iterable[int]) -> None:
    _of(app).hand_over_reminders(app, delivery_ids)


def send_reminders_now(app: Flask, delivery_ids: Iterable[int], *, retries: bool) -> None:
    _of(app).send_reminders_now(app, delivery_ids, retries=retries)


def send_task(app: Flask, name: str, args: tuple[Any, ...], *, countdown: float) -> None:
    """On the app's Celery app when it has one (``app.extensions["celery"]``: anything with Celery's
    ``send_task``), else through the plugged workers, which make it."""
    celery = app.extensions.get("celery")
    if celery is not None:
        celery.send_task(name, args=args, countdown=countdown)
        return
    _of(app).send_task(app, name, args, countdown=countdown)


def enqueue_after_commit(session: Session, fn: Callable[[], Any]) -> None:
    """Run ``fn`` (which enqueues a task) only once the session's transaction has committed.

    Never inside an open transaction: a worker must not pick up a task for rows it cannot see yet
    (warehouse's ``WarehouseTask.apply_async``). A rollback drops the pending calls.
    """
    pending: list[Callable[[], Any]] = session.info.setdefault("houqin_after_commit", [])
    pending.append(fn)
    if session.info.get("houqin_after_commit_hooked"):
        return
    session.info["houqin_after_commit_hooked"] = True

    @event.listens_for(session, "after_commit")
    def _run(sess: Session) -> None:
        calls = list(sess.info.get("houqin_after_commit", []))
        sess.info["houqin_after_commit"] = []
        for call in calls:
            call()

    @event.listens_for(session, "after_rollback")
    def _drop(sess: Session) -> None:
        sess.info["houqin_after_commit"] = []
