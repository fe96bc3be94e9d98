"""PDF jobs on the embedded default (issue 17): the fund report's PDF as a job over real HTTP (a real ``houqin
serve``), and the background runner's pool of processes — the parts are rendered by more than one process, none
of them the hub's own; a failed render fails its part and its job and the runner returns. SQLite, or PostgreSQL
with ``HOUQIN_TEST_POSTGRES_URL``."""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from district.app import create_app
from district.db import db
from district.rendering import jobs
from district.rendering.models import PdfJob, PdfJobPart
from district.scoring.engine import Window
from tests.district.rendering.test_rendering_background import call, report, wait_done
from tests.livehub import LiveHub
from workers import background

pytestmark = pytest.mark.slow

COUNTY = "610528"
SCHOOLS = [
    {"code": f"61052800{i:02d}", "name": name, "county_code": COUNTY, "township": "庄里镇", "type": "primary",
     "boarding": "true"}
    for i, name in enumerate(["庄里镇中心小学", "庄里镇第二小学", "庄里镇第三小学", "庄里镇第四小学"], start=1)
]  # fmt: skip
WINDOW = {"from": "2026-09", "to": "2026-10"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveHub, str]]:
    """A real hub (one ``houqin serve`` process) with four schools' reports of September and October."""
    live = LiveHub(tmp_path_factory.mktemp("pool"), schools=SCHOOLS)
    try:
        token = live.prepare().county_admin_token()
        live.start()
        for period in ("2026-09", "2026-10"):
            for s in SCHOOLS:
                status, body = live.post_report(report(s["code"], period))
                assert status == 201, body
        yield live, token
    finally:
        live.close()


def fetch(hub: LiveHub, token: str, path: str) -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(hub.url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.status, resp.read(), dict(resp.headers)


def test_the_fund_pdf_is_a_job_whose_file_the_download_centre_lists(
    hub: tuple[LiveHub, str], pdftotext: Callable[..., str]
) -> None:
    live, token = hub
    started = time.monotonic()
    status, job, headers = call(live, "POST", f"/api/v1/counties/{COUNTY}/nutrition/pdf", token, WINDOW)
    assert status == 202, job
    assert time.monotonic() - started < 1.0  # never rendered in the request
    assert job["kind"] == "fund" and job["total"] == 1 and job["state"] in ("queued", "running"), job
    assert headers["Location"] == f"/api/v1/jobs/{job['job_id']}"

    view, seen = wait_done(live, token, job["job_id"], timeout_s=180)
    assert view["state"] == "done", view
    assert seen == sorted(seen) and view["done"] == view["total"] == 1
    assert view["seconds_left"] is None  # nothing left to estimate
    [file] = view["files"]
    assert file["kind"] == "fund_report" and file["name"].startswith(f"{COUNTY}_")
    assert file["name"].endswith("_营养餐资金报表_2026-09_2026-10.pdf")  # named as the synchronous download

    # the link survives a reload: the caller's job list (the download centre's rows) names the same file
    status, listed, _ = call(live, "GET", "/api/v1/jobs", token)
    assert status == 200
    [mine] = [j for j in listed["jobs"] if j["id"] == job["job_id"]]
    assert mine["files"][0]["url"] == file["url"]

    status, pdf, headers = fetch(live, token, file["url"])
    assert status == 200 and pdf[:5] == b"%PDF-" and headers["Content-Type"] == "application/pdf"
    assert "nutrition_fund_report" in headers["Content-Disposition"]
    text = pdftotext(pdf)
    assert "营养餐资金报告" in text.replace(" ", "")  # the report's Chinese title
    assert SCHOOLS[2]["name"] in text.replace(" ", "")

    # the synchronous GET stays for API clients (API.md: `format=pdf` gives the file)
    status, direct, _ = fetch(live, token, f"/api/v1/counties/{COUNTY}/nutrition?format=pdf&from=2026-09&to=2026-10")
    assert status == 200 and direct[:5] == b"%PDF-"


def test_the_fund_pdf_request_names_a_bad_field_and_a_bad_window(hub: tuple[LiveHub, str]) -> None:
    live, token = hub
    status, body, _ = call(live, "POST", f"/api/v1/counties/{COUNTY}/nutrition/pdf", token, {"school": "x"})
    assert status == 422 and body["error"]["details"][0]["path"] == "/school", body
    status, body, _ = call(live, "POST", f"/api/v1/counties/{COUNTY}/nutrition/pdf", token, {"from": "2026-13"})
    assert status == 400, body
    status, body, _ = call(live, "POST", "/api/v1/counties/610529/nutrition/pdf", token, WINDOW)
    assert status == 404, body


@pytest.fixture
def runner_app(hub: tuple[LiveHub, str], restore_db_state: None) -> Iterator[Callable[..., Any]]:
    """An app of this test process on the hub's database (committed rows, as the hub's background thread sees
    them), with the configuration given; its engine is closed after the test and the tests' ``db`` put back."""
    engines: list[Any] = []

    def make(**config: Any) -> Any:
        live, _ = hub
        made = create_app(
            {"DATABASE_URL": live.database_url, "INSTANCE_PATH": str(live.instance), "TESTING": False, **config}
        )
        engines.append(db.engine)
        return made

    yield make
    db.session.remove()
    for engine in engines:
        engine.dispose()


def batch(app: Any) -> int:
    """A county batch planned and committed, as the POST does: its job id."""
    with app.app_context():
        with db.transaction() as s:
            db.begin_write(s)
            job = jobs.create_job(s, COUNTY, Window(WINDOW["from"], WINDOW["to"]), requested_by=f"t-{uuid.uuid4()}")
            job_id = job.id
        db.session.remove()
    return job_id


def test_a_batch_is_rendered_by_a_pool_of_processes(runner_app: Callable[..., Any]) -> None:
    app = runner_app(PDF_PROCESSES=2)
    job_id = batch(app)
    try:
        run = background.run(app, job_id)
    finally:
        background.shutdown_pool()
    assert run.finished and set(run.outcomes.values()) == {"done"}, run
    assert len(run.outcomes) == len(SCHOOLS) + 1
    pids = set(run.pids.values())
    assert os.getpid() not in pids  # never rendered in the hub's own process
    assert len(pids) == 2, run.pids  # both processes of the pool took parts
    with app.app_context():
        s = db.session()
        job = s.get(PdfJob, job_id)
        assert job is not None and job.state == "done" and job.zip_name
        view = jobs.job_view(s, job, lambda j, n: n)
        assert view["done"] == view["total"] == len(SCHOOLS) + 1
        assert (jobs.job_dir(app.config["PDF_DIR"], job_id) / job.zip_name).is_file()
        db.session.remove()


def test_a_failed_render_fails_its_part_and_the_job_and_the_runner_returns(runner_app: Callable[..., Any]) -> None:
    app = runner_app(PDF_PROCESSES=2, PDF_RENDER_TIMEOUT_S=0.001)  # no render is done in a millisecond
    job_id = batch(app)
    started = time.monotonic()
    try:
        run = background.run(app, job_id)
    finally:
        background.shutdown_pool()
    assert time.monotonic() - started < 120
    assert "failed" in run.outcomes.values() and not run.finished, run
    with app.app_context():
        s = db.session()
        job = s.get(PdfJob, job_id)
        assert job is not None and job.state == "failed" and job.finished_at is not None
        failed = s.scalars(select(PdfJobPart).where(PdfJobPart.job_id == job_id, PdfJobPart.state == "failed")).all()
        assert failed and all("RenderTimeout" in (p.error or "") for p in failed)
        assert job.error and any(job.error.startswith(p.filename) for p in failed)  # the job names the file
        view = jobs.job_view(s, job, lambda j, n: n)
        assert view["errors"] and view["files"] == [] and view["state"] == "failed"
        assert jobs.unfinished_jobs(s, job.requested_by) == 0  # the asker's place is free again
        db.session.remove()


def test_the_pool_has_one_process_per_core_unless_configured() -> None:
    assert background.processes({}) == (os.cpu_count() or 1)
    assert background.processes({"PDF_PROCESSES": 0}) == (os.cpu_count() or 1)
    assert background.processes({"PDF_PROCESSES": 3}) == 3
