"""PDF tasks (评估报告): thin, on their own ``pdf`` queue (``task_routes`` sends ``workers.tasks.pdf.*`` there), so
a county's batch never delays the rankings on the default queue.

- ``start_job(job_id)``: pins the job's ranking snapshot and chain heads, then enqueues one ``render_part`` per
  part still to do (a batch of 300 schools is 301 tasks that any number of pdf workers share);
- ``render_part(job_id, part_id)``: builds the part's HTML, renders it with ``render_pdf_bounded`` (a forked
  child limited in time and address space), stores the file and registers its SHA-256. A part that already
  has its file is skipped, so a redelivered task does nothing. The last part to finish enqueues
- ``finish_job(job_id)``: the batch's zip, and the job ``done`` (idempotent: it finishes a job once).

The work itself is in ``district.rendering.jobs`` (``run_start`` / ``run_part`` / ``run_finish``, one commit per
phase); tasks take ids and re-read everything.

Bounds, three deep: the render child (``PDF_RENDER_TIMEOUT_S``, default 120 s; ``PDF_RENDER_MAX_MB``, default
1024 MiB of address space beyond the worker's), the task (``soft_time_limit`` / ``time_limit`` below, above the
render's own timeout), and the worker process (``--max-memory-per-child``, KiB, which recycles a pool process
whose resident memory grew past it after its current task). The pdf worker's command line:

    celery -A workers.worker worker -Q pdf --concurrency 2 --max-memory-per-child 400000 \\
        --max-tasks-per-child 500 --prefetch-multiplier 1 -n pdf@%h
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from flask import current_app

from district.rendering import jobs

log = logging.getLogger(__name__)

#: Above the render's own default timeout (120 s) plus building the HTML; a soft limit marks the part failed,
#: the hard limit kills the pool process (the message is redelivered: acks_late, reject_on_worker_lost).
SOFT_TIME_LIMIT = 240
TIME_LIMIT = 300
_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": SOFT_TIME_LIMIT,
    "time_limit": TIME_LIMIT,
}


def _pdf_dir() -> str:
    return str(current_app.config["PDF_DIR"])


@shared_task(name="workers.tasks.pdf.start_job", **_OPTIONS)
def start_job(job_id: int) -> int:
    """Pin the snapshot and fan the job out; returns the number of parts enqueued."""
    part_ids = jobs.run_start(job_id)  # committed before any part is enqueued
    if part_ids is None:  # could not start: the job says why
        return 0
    if not part_ids:
        # nothing left to render: a redelivered start of a job whose parts are all done still needs its finish
        finish_job.apply_async(args=(job_id,))
        return 0
    for part_id in part_ids:
        render_part.apply_async(args=(job_id, part_id))
    return len(part_ids)


@shared_task(name="workers.tasks.pdf.render_part", **_OPTIONS)
def render_part(job_id: int, part_id: int) -> str:
    """Render one part; ``"done"``, ``"skipped"`` or ``"failed"``."""
    outcome = jobs.run_part(part_id, _pdf_dir(), jobs.RenderLimits.from_config(current_app.config))
    if outcome != "failed":
        from district.db import db

        with db.transaction() as s:
            ready = jobs.all_parts_done(s, job_id)
        if ready:
            finish_job.apply_async(args=(job_id,))
    return outcome


@shared_task(name="workers.tasks.pdf.finish_job", **_OPTIONS)
def finish_job(job_id: int) -> bool:
    """Zip a finished batch and mark the job done (once)."""
    return jobs.run_finish(job_id, _pdf_dir())
