"""Integration: a county's evaluation reports made by a real ``celery -A workers.worker worker -Q pdf`` on Redis.

A real hub (``tests.livehub.LiveHub``: ``python -m district serve`` on a loopback port) and a pdf worker share one
instance directory (so one database and one ``PDF_DIR``) and Redis db 7 (flushed first). Reports arrive through
the signed API; a county admin asks for the county's batch over HTTP; the hub answers 202 at once (the job
queued: no task runs in the hub), the worker renders every part with the bounded renderer, the last part
enqueues the zip, and the job reaches ``done`` with its files on disk, downloadable and verifiable.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.livehub import ROOT, LiveHub
from tests.workers.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.redis]

REDIS_URL = "redis://127.0.0.1:6379/7"
COUNTY = "610528"
SCHOOLS = [
    {"code": "6105280001", "name": "庄里镇中心小学", "county_code": COUNTY, "township": "庄里镇", "type": "primary",
     "boarding": "true"},
    {"code": "6105280002", "name": "庄里镇初级中学", "county_code": COUNTY, "township": "庄里镇", "type": "junior",
     "boarding": "true"},
    {"code": "6105280003", "name": "城关第一小学", "county_code": COUNTY, "township": "城关街道", "type": "primary",
     "boarding": "true"},
]  # fmt: skip
EXAMPLE = ROOT / "tests" / "data" / "example-report.json"


def report(code: str, period: str) -> dict[str, Any]:
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data.update(report_id=str(uuid.uuid4()), school_code=code, period=period)
    return data


def call(hub: LiveHub, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any, bytes]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Authorization": f"Bearer {token}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(hub.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
            ctype = resp.headers.get("Content-Type", "")
            return resp.status, (json.loads(raw) if ctype.startswith("application/json") else None), raw
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        exc.close()
        return exc.code, json.loads(raw or b"{}"), raw


class PdfWorker:
    """``celery -A workers.worker worker -Q pdf`` with the production bounds, in its own process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                ["celery", "-A", "workers.worker", "worker", "-Q", "pdf", "--concurrency", "2",
                 "--max-memory-per-child", "400000", "--max-tasks-per-child", "200", "--loglevel", "INFO",
                 "--without-gossip", "--without-mingle", "-n", f"pdf-test-{uuid.uuid4().hex[:6]}@%h"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for("the pdf worker to be ready", lambda: "ready." in self.log.read_text(errors="replace"), 90)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def test_a_county_batch_is_made_by_the_pdf_worker(tmp_path: Path, redis_db: Any) -> None:
    hub = LiveHub(tmp_path, schools=SCHOOLS, env={"HOUQIN_BROKER_URL": REDIS_URL})
    worker = PdfWorker(hub.env, tmp_path / "worker.log")
    try:
        hub.prepare()
        hub.cli("users", "create", "admin610528", "--role", "county_admin", "--scope", COUNTY,
                "--password", "correct horse battery")  # fmt: skip
        token = hub.cli("users", "token", "admin610528").strip()
        hub.start()
        worker.start()
        for period in ("2026-09", "2026-10"):
            for s in SCHOOLS:
                status, body = hub.post_report(report(s["code"], period))
                assert status == 201, body

        status, job, _ = call(hub, "POST", f"/api/v1/counties/{COUNTY}/reports/pdf", token,
                              {"from": "2026-09", "to": "2026-10"})  # fmt: skip
        assert status == 202, job
        assert job["total"] == len(SCHOOLS) + 1
        assert job["state"] in ("queued", "running")  # the hub only enqueued: the worker does the work
        path = f"/api/v1/jobs/{job['job_id']}"

        # progress is read from the shared database, not over HTTP: on SQLite a bearer-token request (which
        # records the token's last use) can meet the worker's writes; the API is asked once the work is done
        engine = create_engine(hub.database_url)

        def finished() -> Any:
            with engine.connect() as conn:
                state, error = conn.execute(
                    text("SELECT state, error FROM pdf_jobs WHERE id = :id"), {"id": job["job_id"]}
                ).one()
            assert state != "failed", error
            return state == "done"

        wait_for("the job to be done", finished, 300)
        engine.dispose()
        status, view, _raw = call(hub, "GET", path, token)
        assert status == 200, view
        assert view["done"] == view["total"] == len(SCHOOLS) + 1
        zip_file, *pdfs = view["files"]
        # (the registry import names a new county by its code)
        assert zip_file["name"] == "610528_2026-09至2026-10_610528_评估报告.zip"
        assert {f["name"] for f in pdfs} >= {f"610528_2026-09至2026-10_{s['name']}_评估报告.pdf" for s in SCHOOLS}
        folder = hub.instance / "pdf" / "jobs" / str(job["job_id"])
        on_disk = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        assert on_disk == sorted(f["name"] for f in view["files"])
        for f in pdfs:
            data = (folder / f["name"]).read_bytes()
            assert data.startswith(b"%PDF-") and hashlib.sha256(data).hexdigest() == f["sha256"]
        status, _none, raw = call(hub, "GET", zip_file["url"], token)
        assert status == 200 and hashlib.sha256(raw).hexdigest() == zip_file["sha256"]
        z = zipfile.ZipFile(io.BytesIO(raw))
        assert sorted(z.namelist()) == sorted([*(f["name"] for f in pdfs), "SHA256SUMS.txt"])
        # the public page knows every PDF the worker made
        with urllib.request.urlopen(f"{hub.url}/verify/{pdfs[1]['sha256']}", timeout=30) as resp:
            assert resp.status == 200 and "本平台生成" in resp.read().decode("utf-8")
        log = (tmp_path / "worker.log").read_text(errors="replace")
        assert "workers.tasks.pdf.render_part" in log and "workers.tasks.pdf.finish_job" in log
        assert "workers.tasks.pdf" not in hub.log.read_text(errors="replace")  # nothing ran in the hub
    finally:
        worker.stop()
        hub.close()
