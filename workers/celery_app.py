"""The Celery app, built from the Flask app factory (Flask's "Background Tasks with Celery" pattern).

``make_celery(flask_app)`` configures Celery from the hub's config: broker and result store Redis in production
(``HOUQIN_BROKER_URL``), JSON only, ``acks_late``, results ignored unless a task asks, a separate ``pdf`` queue.
Without a broker (the embedded default) tasks run in-process, eagerly, in the caller's thread — the same code.

Process entry points create the app: ``celery -A workers.worker worker -Q default`` (see workers/worker.py).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import worker_process_init
from flask import Flask

PDF_QUEUE = "pdf"
DEFAULT_QUEUE = "default"
# the longest task (a county's PDF batch part, a city-wide recompute) is far below this; the integration
# test shortens it (HOUQIN_VISIBILITY_TIMEOUT_SECONDS) to see a killed worker's task redelivered
VISIBILITY_TIMEOUT = int(os.environ.get("HOUQIN_VISIBILITY_TIMEOUT_SECONDS") or 2 * 3600)


def make_celery(flask_app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    broker = flask_app.config.get("BROKER_URL")
    celery = Celery(flask_app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker or "memory://",
        result_backend=flask_app.config.get("RESULT_BACKEND") or None,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        task_routes={"workers.tasks.pdf.*": {"queue": PDF_QUEUE}},
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        timezone="Asia/Shanghai",
        enable_utc=True,
        task_always_eager=not broker,
        task_eager_propagates=True,
        imports=("workers.tasks",),
        beat_schedule={
            "record-chain-heads-daily": {
                "task": "workers.tasks.audit.record_all_chain_heads",
                "schedule": crontab(hour=1, minute=0),
            },
            "prune-seen-signatures": {
                "task": "workers.tasks.maintenance.prune_seen_signatures",
                "schedule": 600.0,
            },
            # rankings: the nightly full recompute and the daily reminders (each takes a lock; see
            # workers/tasks/scoring.py)
            "scoring-nightly-recompute": {
                "task": "workers.tasks.scoring.nightly_recompute",
                "schedule": crontab(hour=2, minute=30),
            },
            "scoring-daily-reminders": {
                "task": "workers.tasks.scoring.daily_reminders",
                # test-only: HOUQIN_TEST_REMINDERS_EVERY=<seconds> fires it that often (two beats racing, issue 18)
                "schedule": float(os.environ["HOUQIN_TEST_REMINDERS_EVERY"])
                if os.environ.get("HOUQIN_TEST_REMINDERS_EVERY")
                else crontab(hour=7, minute=0),
            },
        },
    )
    celery.set_default()

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_kwargs: Any) -> None:
        # a forked pool process must not share the parent's database connections
        from district.db import db

        if db.engine is not None:
            db.engine.dispose(close=False)

    flask_app.extensions["celery"] = celery
    import workers.tasks  # noqa: F401  - registers the shared tasks on this app

    return celery


def celery_app() -> Celery:
    """The Celery app of the current Flask app (made on first use)."""
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions.get("celery") or make_celery(app)
