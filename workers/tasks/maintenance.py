"""Housekeeping tasks."""

from __future__ import annotations

from celery import shared_task

from district.db import db


@shared_task(name="workers.tasks.maintenance.prune_seen_signatures")
def prune_seen_signatures() -> int:
    """Forget request signatures older than twice the replay window (they can no longer be replayed)."""
    from flask import current_app

    from district.reports.services import prune_seen_signatures as prune

    with db.transaction() as s:
        return prune(s, current_app.config["SIGNATURE_WINDOW_SECONDS"])
