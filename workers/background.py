"""The embedded default's PDF worker (no broker): one background thread per hub process.

Without ``HOUQIN_BROKER_URL`` there is no ``celery worker`` to take the ``pdf`` queue, and a county's batch (a
hundred PDFs and more) rendered inside the request held a gunicorn thread for minutes (issue 16). So the request
commits the job and hands its id to :func:`submit`, which answers at once; a single daemon thread of the
process, started lazily on the first job, runs the jobs one after another by the very task functions the pdf
workers run (``workers.tasks.pdf``: ``start_job`` → ``render_part`` per part → ``finish_job``), called eagerly
in that thread: each task in its own app context, each phase its own short transaction (``district.rendering.
jobs.run_*``). One thread, so a process renders one PDF at a time (each in a bounded child) and requests keep
the other threads; a hub of several processes runs at most one job per process.

The thread is a daemon: a hub that stops leaves its job queued or running, and the next ``houqin serve`` marks
such jobs failed (``jobs.fail_interrupted``; docs/DECISIONS.md "Hardening (issue 16)").
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

_lock = threading.Lock()
_jobs: queue.Queue[tuple[Flask, int]] = queue.Queue()
_thread: threading.Thread | None = None


def submit(app: Flask, job_id: int) -> None:
    """Run the (committed) job in this process's background thread; returns at once."""
    global _thread
    from workers.celery_app import celery_app

    with app.app_context():
        celery_app()  # made here, in the request's thread, never by two threads at once
    _jobs.put((app, job_id))
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="houqin-pdf", daemon=True)
            _thread.start()


def pending() -> int:
    """Jobs handed over and not yet taken up by the thread (for tests and diagnostics)."""
    return _jobs.qsize()


def _work() -> None:
    while True:
        app, job_id = _jobs.get()
        try:
            run(app, job_id)
        finally:
            _jobs.task_done()


def run(app: Flask, job_id: int) -> None:
    """One job, end to end, by the pdf tasks run eagerly in this thread; a failure is recorded on the job."""
    from district.db import db
    from district.rendering import jobs
    from workers.celery_app import celery_app

    with app.app_context():
        try:
            task: Any = celery_app().tasks["workers.tasks.pdf.start_job"]
            task.apply_async(args=(job_id,))  # eager (no broker): start, every part, finish, in this thread
        except Exception as exc:  # the tasks record their own failures; this is anything they let through
            log.exception("PDF job %s failed in the background", job_id)
            db.session.remove()
            with db.transaction() as s:
                jobs.job_failed(s, job_id, f"{type(exc).__name__}: {exc}")
        finally:
            db.session.remove()


def fail_interrupted(app: Flask) -> list[int]:
    """At ``houqin serve`` (before any hub process serves): the jobs a stopped hub left queued or running are
    marked failed (``jobs.fail_interrupted``); their ids, each logged."""
    from district.db import db
    from district.rendering import jobs

    with app.app_context():
        with db.transaction() as s:
            ids = jobs.fail_interrupted(s)
    for job_id in ids:
        log.warning("PDF job %s was left unfinished by a stopped hub: marked failed", job_id)
    return ids
