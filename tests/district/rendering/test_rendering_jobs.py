"""PDF jobs through the API (the test client: the test app runs the tasks in the request, since a test's rows are
uncommitted; a real hub runs them in its background thread, tests/district/rendering/test_rendering_background.py),
their scope, the per-user limit, the files and the zip, the public verification page, the idempotent per-school
task, and ``houqin pdf``."""

from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from district.cli import Context, main
from district.db import db
from district.rendering import jobs
from district.rendering.models import PdfDocument, PdfJob, PdfJobPart
from district.scoring.engine import Window
from tests.district.scoring.helpers_scoring_db import YEAR_FROM, YEAR_TO, bearer, seed_county

PDF_URL = "/api/v1/counties/610528/reports/pdf"
ZIP_NAME = "610528_2026_富平县_评估报告.zip"
SCHOOL_FILE = "610528_2026_庄里镇中心小学_评估报告.pdf"
SUMMARY_FILE = "610528_2026_富平县_评估汇总报告.pdf"


@pytest.fixture(autouse=True)
def pdf_dir(app: Any, tmp_path: Path) -> Any:
    """Each test its own PDF_DIR (job ids repeat once a test's rows are rolled back)."""
    saved = app.config["PDF_DIR"]
    app.config["PDF_DIR"] = str(tmp_path / "pdf")
    yield tmp_path / "pdf"
    app.config["PDF_DIR"] = saved


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    county.campaign_start_year = 2026
    return seed_county(session)


@pytest.fixture()
def admin(session: Any, county: Any) -> dict[str, str]:
    return bearer(session, "county_admin", "610528", "admin610528")


def other_county(session: Any) -> None:
    from district.registry.models import County, School, Township

    session.add(County(code="610526", city_code="610500", name="蒲城县"))
    session.flush()
    t = Township(county_code="610526", name="城关镇")
    session.add(t)
    session.flush()
    session.add(
        School(code="6105260001", name="蒲城县城关小学", county_code="610526", township_id=t.id, type="primary")
    )
    session.flush()


def post(client: Any, headers: dict[str, str], body: Any, url: str = PDF_URL) -> Any:
    return client.post(url, json=body, headers=headers)


def finished(client: Any, headers: dict[str, str], job: dict[str, Any], timeout_s: float = 120) -> dict[str, Any]:
    """The job once it is done or failed, polled as a client does (``GET /api/v1/jobs/<id>``), bounded."""
    deadline = time.monotonic() + timeout_s
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job {job['job_id']} still {job['state']} after {timeout_s} s"
        time.sleep(0.2)
        resp = client.get(f"/api/v1/jobs/{job['job_id']}", headers=headers)
        assert resp.status_code == 200, resp.get_json()
        job = resp.get_json()
    return job


def asked(client: Any, headers: dict[str, str], body: Any) -> dict[str, Any]:
    """POST a job (202) and wait for it."""
    resp = post(client, headers, body)
    assert resp.status_code == 202, resp.get_json()
    return finished(client, headers, resp.get_json())


def download(client: Any, url: str, headers: dict[str, str]) -> Any:
    """GET a file and close the response (send_file keeps the file open until then)."""
    resp = client.get(url, headers=headers)
    resp.get_data()
    resp.close()
    if resp.status_code == 200:
        resp.headers["Content-Disposition"].encode("ascii")  # a real server sends headers as latin-1
    return resp


def test_a_batch_is_202_then_done_with_every_file_and_a_zip(
    client: Any, session: Any, seeded: dict[str, int], admin: dict[str, str], pdf_dir: Path
) -> None:
    resp = post(client, admin, {"year": 2026})
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["total"] == 5
    body = finished(client, admin, resp.get_json())
    # 0001–0003 have expected months in 2026-01..10 (0003 closed in June), 0004 opened in October: all four
    assert body["state"] == "done" and body["total"] == 5 and body["done"] == 5
    assert resp.headers["Location"] == f"/api/v1/jobs/{body['job_id']}"
    names = [f["name"] for f in body["files"]]
    assert names[0] == ZIP_NAME and names[1] == SUMMARY_FILE
    assert set(names[2:]) == {f"610528_2026_{n}_评估报告.pdf" for n in
                              ("庄里镇中心小学", "庄里镇初级中学", "城关第一小学", "城关新区小学")}  # fmt: skip
    job = client.get(f"/api/v1/jobs/{body['job_id']}", headers=admin).get_json()
    assert job == body
    # every file downloads with its UTF-8 name and the registered SHA-256
    for f in body["files"]:
        got = download(client, f["url"], admin)
        assert got.status_code == 200
        assert hashlib.sha256(got.data).hexdigest() == f["sha256"] and len(got.data) == f["size"]
        disposition = got.headers["Content-Disposition"]
        assert f"filename*=UTF-8''{quote(f['name'], safe='')}" in disposition
        assert re.search(r'filename="[\x20-\x7e]+"', disposition)
        assert unquote(disposition.split("''", 1)[1]) == f["name"]
    # the zip holds every PDF of the job and their checksums
    z = zipfile.ZipFile(io.BytesIO(download(client, body["files"][0]["url"], admin).data))
    pdfs = {f["name"]: f["sha256"] for f in body["files"][1:]}
    assert sorted(z.namelist()) == sorted([*pdfs, "SHA256SUMS.txt"])
    for name, digest in pdfs.items():
        assert hashlib.sha256(z.read(name)).hexdigest() == digest
        assert z.read(name).startswith(b"%PDF-")
    sums = z.read("SHA256SUMS.txt").decode("utf-8").splitlines()
    assert sorted(sums) == sorted(f"{d}  {n}" for n, d in pdfs.items())
    # the register: one row per PDF, with the job's pinned snapshot and chain digest
    docs = session.scalars(select(PdfDocument).where(PdfDocument.job_id == body["job_id"])).all()
    assert {d.sha256 for d in docs} == set(pdfs.values())
    assert {d.chain_digest for d in docs} == {body["chain_digest"]}
    assert {(d.period_from, d.period_to) for d in docs} == {(YEAR_FROM, YEAR_TO)}


def test_one_school_by_its_own_viewer(client: Any, session: Any, seeded: dict[str, int]) -> None:
    viewer = bearer(session, "school_viewer", "6105280001", "viewer0001")
    body = asked(client, viewer, {"school": "6105280001", "from": "2026-03", "to": "2026-10"})
    assert body["state"] == "done" and body["total"] == 1 and body["kind"] == "school"
    [f] = body["files"]
    assert f["name"] == "610528_2026-03至2026-10_庄里镇中心小学_评估报告.pdf"
    assert download(client, f["url"], viewer).status_code == 200
    # the dashboard's spelling of the field
    again = asked(client, viewer, {"school_code": "6105280001", "year": "2026"})
    assert again["files"][0]["name"] == SCHOOL_FILE
    # another school, the county batch, the other school's job: out of scope
    assert post(client, viewer, {"school": "6105280002", "year": 2026}).status_code == 404
    assert post(client, viewer, {"year": 2026}).status_code == 404
    admin = bearer(session, "county_admin", "610528", "admin2")
    other = asked(client, admin, {"school": "6105280002", "year": 2026})
    assert client.get(f"/api/v1/jobs/{other['job_id']}", headers=viewer).status_code == 404
    assert client.get(other["files"][0]["url"], headers=viewer).status_code == 404


def test_scope_and_bad_requests(client: Any, session: Any, seeded: dict[str, int], admin: dict[str, str]) -> None:
    other_county(session)
    viewer = bearer(session, "county_viewer", "610528", "cviewer")
    elsewhere = bearer(session, "county_admin", "610526", "admin610526")
    assert client.post(PDF_URL, json={"year": 2026}).status_code == 401
    assert post(client, viewer, {"year": 2026}).status_code == 403  # a batch is an admin act
    assert post(client, viewer, {"school": "6105280001", "year": 2026}).status_code == 202  # one school: any viewer
    assert post(client, elsewhere, {"year": 2026}).status_code == 404
    assert post(client, elsewhere, {"school": "6105280001", "year": 2026}).status_code == 404
    assert post(client, admin, {"school": "6105260001", "year": 2026}).status_code == 404  # not of this county
    assert post(client, admin, {"year": 2026}, url="/api/v1/counties/999999/reports/pdf").status_code == 404
    bad = post(client, admin, {"year": 2026, "format": "pdf", "school": 6105280001})
    assert bad.status_code == 422
    assert {(d["path"], d["code"]) for d in bad.get_json()["error"]["details"]} == {
        ("/format", "unknown_field"),
        ("/school", "invalid_type"),
    }
    assert post(client, admin, {"from": "2026-13", "to": "2026-10"}).get_json()["error"]["code"] == "invalid_period"
    assert post(client, admin, {"from": "2026-10", "to": "2026-03"}).status_code == 400
    assert post(client, admin, {"year": 2026, "from": "2026-01", "to": "2026-02"}).status_code == 400
    resp = client.post(
        PDF_URL, data="year=2026", headers={**admin, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 415
    # 0004 opened in October: nothing expected of it in the first half of the year
    nothing = post(client, admin, {"school": "6105280004", "from": "2026-01", "to": "2026-06"})
    assert nothing.status_code == 422 and nothing.get_json()["error"]["code"] == "no_expected_month"
    done = asked(client, admin, {"school": "6105280001", "year": 2026})
    assert client.get(f"/api/v1/jobs/{done['job_id']}", headers=elsewhere).status_code == 404
    assert client.get("/api/v1/jobs/999999", headers=admin).status_code == 404
    assert client.get(f"/api/v1/jobs/{done['job_id']}/files/..%2F..%2Fetc%2Fpasswd", headers=admin).status_code == 404
    assert client.get(f"/api/v1/jobs/{done['job_id']}/files/{quote(SUMMARY_FILE)}", headers=admin).status_code == 404


def test_verify_page(client: Any, session: Any, seeded: dict[str, int], admin: dict[str, str]) -> None:
    body = asked(client, admin, {"school": "6105280001", "year": 2026})
    [f] = body["files"]
    page = client.get(f"/verify/{f['sha256']}")  # no sign-in
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "本平台生成" in html and "Made by this hub" in html
    assert "庄里镇中心小学" in html and "6105280001" in html and f"{YEAR_FROM} 至 {YEAR_TO}" in html
    assert f["document_no"] in html and body["chain_digest"] in html
    assert client.get(f"/verify/{f['sha256'].upper()}").status_code == 200
    for wrong in (hashlib.sha256(b"not ours").hexdigest(), "abc", "'\"><script>"):
        miss = client.get(f"/verify/{quote(wrong)}")
        assert miss.status_code == 404
        assert "不是本平台生成" in miss.get_data(as_text=True) and "Not made by this hub" in miss.get_data(as_text=True)
        assert "<script>" not in miss.get_data(as_text=True)
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def test_a_part_run_twice_does_nothing_the_second_time(session: Any, seeded: dict[str, int], pdf_dir: Path) -> None:
    from workers.tasks.pdf import render_part

    job = jobs.create_job(session, "610528", Window(YEAR_FROM, YEAR_TO), requested_by="test", year=2026)
    part_ids = jobs.start_job(session, job.id)
    session.commit()
    first = part_ids[1]  # a school (seq 1); seq 0 is the county summary
    assert render_part.run(job.id, first) == "done"
    part = session.get(PdfJobPart, first, populate_existing=True)
    path = jobs.job_dir(pdf_dir, job.id) / part.filename
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    documents = session.scalar(select(func.count()).select_from(PdfDocument))
    assert render_part.run(job.id, first) == "skipped"
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert session.scalar(select(func.count()).select_from(PdfDocument)) == documents
    assert session.get(PdfJob, job.id, populate_existing=True).state == "running"
    for part_id in part_ids[:1] + part_ids[2:]:
        assert render_part.run(job.id, part_id) == "done"  # the last one finishes the job (eager)
    done = session.get(PdfJob, job.id, populate_existing=True)
    assert done.state == "done" and done.zip_name == ZIP_NAME
    assert (jobs.job_dir(pdf_dir, job.id) / ZIP_NAME).is_file()
    # a redelivered start of a finished job changes nothing
    from workers.tasks.pdf import start_job

    assert start_job.run(job.id) == 0


def test_a_failed_render_fails_the_job(session: Any, seeded: dict[str, int], pdf_dir: Path, monkeypatch: Any) -> None:
    from district.printing import RenderTimeout

    def too_slow(html: str, **kw: Any) -> bytes:
        raise RenderTimeout("PDF render exceeded 120 s")

    monkeypatch.setattr(jobs, "render_pdf_bounded", too_slow)
    job = jobs.create_job(session, "610528", Window(YEAR_FROM, YEAR_TO), requested_by="t", school_code="6105280001")
    [part_id] = jobs.start_job(session, job.id)
    session.commit()
    assert jobs.run_part(part_id, pdf_dir) == "failed"
    failed = session.get(PdfJob, job.id, populate_existing=True)
    assert failed.state == "failed" and "RenderTimeout" in failed.error
    view = jobs.job_view(session, failed, lambda j, n: n)
    assert view["files"] == [] and view["errors"][0]["message"].startswith("RenderTimeout")


def test_cli_pdf_school_and_county(
    app: Any, session: Any, seeded: dict[str, int], tmp_path: Path, restore_db_state: Any
) -> None:
    db.session().commit()
    out = tmp_path / "out"

    def invoke(*args: str) -> Any:
        ctx = Context()
        ctx._app = app
        return CliRunner().invoke(main, list(args), obj=ctx)

    result = invoke("pdf", "school", "6105280002", "--year", "2026", "-o", str(out))
    assert result.exit_code == 0, result.output
    target = out / "610528_2026_庄里镇初级中学_评估报告.pdf"
    assert target.is_file()
    assert f"{hashlib.sha256(target.read_bytes()).hexdigest()}  {target}" in result.output
    result = invoke("pdf", "county", "610528", "--from", "2026-09", "--to", "2026-10", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "610528_2026-09至2026-10_富平县_评估报告.zip").is_file()
    assert (out / "610528_2026-09至2026-10_富平县_评估汇总报告.pdf").is_file()
    assert "rendering" in result.output  # the progress bar (stderr is mixed in by CliRunner)
    assert invoke("pdf", "school", "6105280002").exit_code == 2  # no window
    assert invoke("pdf", "school", "0000000000", "--year", "2026").exit_code == 2


def test_a_job_that_cannot_be_enqueued_says_so(
    client: Any, session: Any, seeded: dict[str, int], admin: dict[str, str], monkeypatch: Any
) -> None:
    from district.rendering import api

    def broker_down(job_id: int) -> None:
        raise ConnectionError("redis://127.0.0.1:6379: connection refused")

    monkeypatch.setattr(api, "_enqueue_start", broker_down)
    resp = post(client, admin, {"school": "6105280001", "year": 2026})
    assert resp.status_code == 202
    body = resp.get_json()
    assert body["state"] == "failed" and "the job queue is unavailable" in body["error"] and body["files"] == []


def test_a_user_has_at_most_n_unfinished_jobs(
    app: Any, client: Any, session: Any, seeded: dict[str, int], admin: dict[str, str]
) -> None:
    """``PDF_JOBS_PER_USER`` (3) jobs queued or running: the next is 429 ``too_many_jobs`` with Retry-After and a
    Chinese message, nothing stored; other users, and the same user once a job finished, are not held up."""
    window = Window(YEAR_FROM, YEAR_TO)
    assert app.config["PDF_JOBS_PER_USER"] == 3
    waiting = [jobs.create_job(session, "610528", window, requested_by="admin610528", year=2026).id for _ in range(3)]
    jobs.create_job(session, "610528", window, requested_by="someone_else", year=2026)
    session.flush()
    before = session.scalar(select(func.count()).select_from(PdfJob))
    for body in ({"year": 2026}, {"school": "6105280001", "year": 2026}):
        resp = post(client, admin, body)
        assert resp.status_code == 429, resp.get_json()
        error = resp.get_json()["error"]
        assert error["code"] == "too_many_jobs" and "3 个 PDF 任务" in error["message"]
        assert int(resp.headers["Retry-After"]) > 0
    english = client.post(PDF_URL, json={"year": 2026}, headers={**admin, "Accept-Language": "en"})
    assert english.get_json()["error"]["message"].startswith("you already have 3 PDF jobs")
    assert session.scalar(select(func.count()).select_from(PdfJob)) == before  # nothing stored
    # another county admin is not held up by this one's jobs
    other = bearer(session, "county_admin", "610528", "admin2")
    assert post(client, other, {"school": "6105280001", "year": 2026}).status_code == 202
    # a finished (or failed) job frees a place
    for job_id, state in zip(waiting[:2], ("done", "failed"), strict=True):
        db.session().execute(update(PdfJob).where(PdfJob.id == job_id).values(state=state))
    assert post(client, admin, {"school": "6105280001", "year": 2026}).status_code == 202
    # the check comes after the body, scope and window checks
    assert post(client, admin, {"year": 2026, "colour": "red"}).status_code == 422
    assert post(client, admin, {"from": "2026-13", "to": "2026-10"}).status_code == 400


def test_no_limit_when_set_to_zero(
    app: Any, client: Any, session: Any, seeded: dict[str, int], admin: dict[str, str], monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "PDF_JOBS_PER_USER", 0)
    for _ in range(4):
        jobs.create_job(session, "610528", Window(YEAR_FROM, YEAR_TO), requested_by="admin610528", year=2026)
    session.flush()
    assert post(client, admin, {"school": "6105280001", "year": 2026}).status_code == 202


def test_jobs_left_by_a_stopped_hub_are_failed_at_the_next_start(session: Any, seeded: dict[str, int]) -> None:
    window = Window(YEAR_FROM, YEAR_TO)
    queued = jobs.create_job(session, "610528", window, requested_by="a", school_code="6105280001")
    running = jobs.create_job(session, "610528", window, requested_by="a", year=2026)
    jobs.start_job(session, running.id)
    done = jobs.create_job(session, "610528", window, requested_by="a", school_code="6105280002")
    done.state = "done"
    session.flush()
    assert jobs.fail_interrupted(session) == [queued.id, running.id]
    for job in (queued, running):
        session.refresh(job)
        assert job.state == "failed" and "the hub stopped" in job.error and job.finished_at is not None
    assert session.get(PdfJob, done.id).state == "done"
    assert jobs.unfinished_jobs(session, "a") == 0


def test_the_callers_jobs_newest_first(
    client: Any, session: Any, seeded: dict[str, int], admin: dict[str, str], hub_clock: Any
) -> None:
    """``GET /api/v1/jobs``: only the caller's own jobs (not a colleague's of the same county, not another
    county's), newest first, each as ``GET /api/v1/jobs/<id>`` shows it plus ``id`` and ``seconds_left``;
    ``limit`` 1–50, anything else 400; 401 without a sign-in."""
    import datetime as dt

    other_county(session)
    colleague = bearer(session, "county_admin", "610528", "admin2")
    elsewhere = bearer(session, "county_admin", "610526", "admin610526")
    made = asked(client, admin, {"school": "6105280001", "year": 2026})  # a real one, done, with its file
    now = hub_clock.now()
    window = Window(YEAR_FROM, YEAR_TO)
    running = jobs.create_job(session, "610528", window, requested_by="admin610528", year=2026,
                              now=now + dt.timedelta(minutes=1))  # fmt: skip
    jobs.start_job(session, running.id, now=now + dt.timedelta(minutes=1))
    queued = jobs.create_job(session, "610528", window, requested_by="admin610528", school_code="6105280002",
                             now=now + dt.timedelta(minutes=2))  # fmt: skip
    theirs = jobs.create_job(session, "610528", window, requested_by="admin2", school_code="6105280002",
                             now=now + dt.timedelta(minutes=3))  # fmt: skip
    far = jobs.create_job(session, "610526", window, requested_by="admin610526", school_code="6105260001",
                          now=now + dt.timedelta(minutes=3))  # fmt: skip
    # two of the batch's five parts made in ten minutes: three to go, about fifteen minutes
    parts = jobs.job_parts(session, running.id)
    for part in parts[:2]:
        part.state = "done"
    session.flush()
    hub_clock.set(now + dt.timedelta(minutes=11))

    resp = client.get("/api/v1/jobs", headers=admin)
    assert resp.status_code == 200
    listed = resp.get_json()["jobs"]
    assert [j["id"] for j in listed] == [queued.id, running.id, made["job_id"]]
    assert all(j["id"] == j["job_id"] for j in listed)
    first, batch, done = listed
    assert (first["state"], first["done"], first["total"], first["files"]) == ("queued", 0, 1, [])
    assert (batch["state"], batch["done"], batch["total"], batch["seconds_left"]) == ("running", 2, 5, 900)
    single = client.get(f"/api/v1/jobs/{made['job_id']}", headers=admin).get_json()
    assert done == {"id": made["job_id"], **single, "seconds_left": None}
    assert done["files"][0]["url"] == made["files"][0]["url"] and done["created_at"] == made["created_at"]
    # a colleague's and another county's jobs are not the caller's: not listed
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=colleague).get_json()["jobs"]] == [theirs.id]
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=elsewhere).get_json()["jobs"]] == [far.id]
    assert client.get(f"/api/v1/jobs/{far.id}", headers=admin).status_code == 404
    assert client.get(f"/api/v1/jobs/{made['job_id']}", headers=elsewhere).status_code == 404
    # limit
    assert [j["id"] for j in client.get("/api/v1/jobs?limit=2", headers=admin).get_json()["jobs"]] == [
        queued.id, running.id
    ]  # fmt: skip
    assert len(client.get("/api/v1/jobs?limit=50", headers=admin).get_json()["jobs"]) == 3
    for bad in ("0", "51", "abc", "1.5", "", "+2", "２", "2&limit=3"):
        resp = client.get(f"/api/v1/jobs?limit={bad}", headers=admin)
        assert resp.status_code == 400, bad
        assert resp.get_json()["error"]["code"] == "invalid_limit"
    # not signed in
    resp = client.get("/api/v1/jobs")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"


def test_the_list_is_at_most_fifty(client: Any, session: Any, seeded: dict[str, int], admin: dict[str, str]) -> None:
    window = Window(YEAR_FROM, YEAR_TO)
    for _ in range(52):
        jobs.create_job(session, "610528", window, requested_by="admin610528", school_code="6105280001")
    session.flush()
    listed = client.get("/api/v1/jobs", headers=admin).get_json()["jobs"]
    assert len(listed) == 50 and listed[0]["id"] > listed[-1]["id"]
