"""Reminder tasks: thin, they take a delivery id and call ``district.reminders.services.deliver``.

``deliver`` claims the delivery first, so a redelivered task (a lost worker: ``acks_late``) or a second copy
finds it ``sending`` or ``sent`` and does nothing: never a second message after a success. A failed attempt is
retried by the task with exponential backoff (``HOUQIN_REMINDER_RETRY_SECONDS`` × 2^(n-1): 1, 2, 4, 8 minutes by
default) until ``MAX_ATTEMPTS``; each attempt is in the log.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from flask import current_app

from district.reminders.services import MAX_ATTEMPTS


def backoff_seconds(attempts: int) -> float:
    base = float(current_app.config.get("REMINDER_RETRY_SECONDS") or 60)
    return base * 2 ** max(0, attempts - 1)


@shared_task(
    name="workers.tasks.reminders.deliver",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_ATTEMPTS - 1,
)
def deliver(self: Any, delivery_id: int) -> str:
    from district.reminders import services

    outcome = services.deliver(delivery_id)
    if outcome.retry and not self.request.is_eager:  # eager (no broker): the caller's runner retries
        raise self.retry(countdown=backoff_seconds(outcome.attempts))
    return outcome.status
