"""A period's reports export as a job on the embedded default (issue 17 leftovers): the hub's runner
(``workers.background.run``) hands the one ``reports_export`` part to its pool of processes like a PDF part; the
file is written, registered and listed, and no zip is made. Real hub database (SQLite, or PostgreSQL with
``HOUQIN_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from typing import Any

import pytest

from district.db import db
from district.exports.jobs import create_export_job
from district.rendering import jobs
from district.rendering.models import KIND_EXPORT, PdfJob
from tests.district.rendering.test_rendering_pool import SCHOOLS, hub, runner_app  # noqa: F401 - fixtures
from workers import background

pytestmark = pytest.mark.slow


def test_the_export_part_runs_in_the_pool_and_lands_in_the_job(runner_app: Callable[..., Any]) -> None:  # noqa: F811
    app = runner_app(PDF_PROCESSES=1)
    with app.app_context():
        with db.transaction() as s:
            db.begin_write(s)
            job_id = create_export_job(s, "610528", "2026-10", "csv", requested_by="admin").id  # the hub's county admin
        db.session.remove()
    try:
        run = background.run(app, job_id)
    finally:
        background.shutdown_pool()
    assert run.finished and list(run.outcomes.values()) == ["done"], run
    assert os.getpid() not in run.pids.values()  # made in a pool process, not the hub's
    with app.app_context():
        s = db.session()
        job = s.get(PdfJob, job_id)
        assert job is not None and job.state == "done" and job.zip_name is None  # one file: no zip
        view = jobs.job_view(s, job, lambda j, n: n)
        [file] = view["files"]
        assert view["kind"] == "export" and file["kind"] == KIND_EXPORT
        found = jobs.job_file(s, job, file["name"], app.config["PDF_DIR"])
        assert found is not None and found[1].startswith("text/csv")
        body = found[0].read_bytes()
        db.session.remove()
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0][:2] == ["学校", "学区"]
    assert [row[0] for row in table[1:]] == [school["name"] for school in SCHOOLS]  # each school's October report
