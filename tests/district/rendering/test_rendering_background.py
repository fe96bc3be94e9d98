"""The embedded default (no broker) over real HTTP: a real ``houqin serve`` (two gunicorn processes, as on this
machine) answers a county batch with 202 at once and makes its PDFs in a background thread of the hub; the job
shows its progress, the per-user limit holds across processes, and a job left unfinished by a stopped hub is
marked failed at the next start (docs/DECISIONS.md "Hardening (issue 16)")."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.livehub import ROOT, LiveHub

pytestmark = pytest.mark.slow

COUNTY = "610528"
SCHOOLS = [
    {"code": f"61052800{i:02d}", "name": name, "county_code": COUNTY, "township": "庄里镇", "type": "primary",
     "boarding": "true"}
    for i, name in enumerate(["庄里镇中心小学", "庄里镇第二小学", "庄里镇第三小学", "庄里镇第四小学"], start=1)
]  # fmt: skip
EXAMPLE = ROOT / "tests" / "data" / "example-report.json"


def report(code: str, period: str) -> dict[str, Any]:
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data.update(report_id=str(uuid.uuid4()), school_code=code, period=period)
    return data


def call(hub: LiveHub, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any, dict[str, str]]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Authorization": f"Bearer {token}", **({"Content-Type": "application/json"} if data else {})}
    req = urllib.request.Request(hub.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        exc.close()
        return exc.code, json.loads(raw or b"{}"), dict(exc.headers)


def wait_done(hub: LiveHub, token: str, job_id: int, timeout_s: float = 300) -> tuple[dict[str, Any], list[int]]:
    """Poll ``GET /api/v1/jobs/<id>`` until the job is done or failed (bounded); the job and the ``done`` counts
    seen on the way."""
    deadline, seen = time.monotonic() + timeout_s, []
    while True:
        status, view, _ = call(hub, "GET", f"/api/v1/jobs/{job_id}", token)
        assert status == 200, view
        seen.append(view["done"])
        if view["state"] in ("done", "failed"):
            return view, seen
        assert time.monotonic() < deadline, f"job {job_id} still {view['state']} after {timeout_s} s"
        time.sleep(0.3)


def test_a_county_batch_runs_in_the_background_of_the_hub(tmp_path: Path) -> None:
    hub = LiveHub(tmp_path, schools=SCHOOLS, env={"HOUQIN_PDF_JOBS_PER_USER": "1"})
    try:
        token = hub.prepare().county_admin_token()
        hub.start(serve_workers=2)
        for period in ("2026-09", "2026-10"):
            for s in SCHOOLS:
                status, body = hub.post_report(report(s["code"], period))
                assert status == 201, body

        window = {"from": "2026-09", "to": "2026-10"}
        started = time.monotonic()
        status, job, headers = call(hub, "POST", f"/api/v1/counties/{COUNTY}/reports/pdf", token, window)
        elapsed = time.monotonic() - started
        assert status == 202, job
        assert elapsed < 1.0, f"the POST of a county batch took {elapsed:.2f} s"
        assert job["state"] in ("queued", "running") and job["done"] == 0 and job["total"] == len(SCHOOLS) + 1
        assert headers["Location"] == f"/api/v1/jobs/{job['job_id']}"

        # the asker's limit (1 here) holds while the job runs, whichever hub process answers
        status, refused, headers = call(hub, "POST", f"/api/v1/counties/{COUNTY}/reports/pdf", token,
                                        {"school": SCHOOLS[0]["code"], **window})  # fmt: skip
        assert status == 429 and refused["error"]["code"] == "too_many_jobs", refused
        assert int(headers["Retry-After"]) > 0

        view, seen = wait_done(hub, token, job["job_id"])
        assert view["state"] == "done", view
        assert view["done"] == view["total"] == len(SCHOOLS) + 1
        assert seen == sorted(seen)  # progress only goes forward
        assert view["files"][0]["kind"] == "zip"
        with urllib.request.urlopen(
            urllib.request.Request(hub.url + view["files"][0]["url"], headers={"Authorization": f"Bearer {token}"}),
            timeout=60,
        ) as r:
            assert r.status == 200 and r.read(2) == b"PK"

        # the place is free again; a job the hub is stopped in the middle of is failed at the next start
        status, second, _ = call(hub, "POST", f"/api/v1/counties/{COUNTY}/reports/pdf", token, window)
        assert status == 202 and second["state"] in ("queued", "running"), second
        hub.stop()
        hub.start(serve_workers=2)
        status, left, _ = call(hub, "GET", f"/api/v1/jobs/{second['job_id']}", token)
        assert status == 200 and left["state"] == "failed", left
        assert "the hub stopped" in left["error"]
        # and it no longer counts against the asker
        status, third, _ = call(hub, "POST", f"/api/v1/counties/{COUNTY}/reports/pdf", token,
                                {"school": SCHOOLS[1]["code"], **window})  # fmt: skip
        assert status == 202, third
        view, _ = wait_done(hub, token, third["job_id"])
        assert view["state"] == "done" and len(view["files"]) == 1, view
    finally:
        hub.close()
