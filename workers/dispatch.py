"""The workers as the hub hands them work (``district.dispatch.Dispatch``), plugged in by ``create_app``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from celery import Celery


def _celery(app: Flask) -> Celery:
    from workers.celery_app import make_celery

    celery: Celery = app.extensions.get("celery") or make_celery(app)
    return celery


class Workers:
    def start_pdf_job(self, app: Flask, job_id: int) -> None:
        """The ``pdf`` queue (broker), the process's background thread (embedded default), or this request's
        thread (the test app only: Celery runs the task eagerly)."""
        if app.config.get("BROKER_URL") or app.testing:
            _celery(app).tasks["workers.tasks.pdf.start_job"].apply_async(args=(job_id,))
            return
        from workers.background import submit

        submit(app, job_id)

    def hand_over_reminders(self, app: Flask, delivery_ids: Iterable[int]) -> None:
        from workers.reminders import hand_over

        hand_over(app, delivery_ids)

    def send_reminders_now(self, app: Flask, delivery_ids: Iterable[int], *, retries: bool) -> None:
        from workers.reminders import send_now

        send_now(app, delivery_ids, retries=retries)

    def send_task(self, app: Flask, name: str, args: tuple[Any, ...], *, countdown: float) -> None:
        _celery(app).send_task(name, args=args, countdown=countdown)
