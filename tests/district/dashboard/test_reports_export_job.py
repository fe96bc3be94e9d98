"""A period's reports export as a job (issue 17 leftovers, ``district.exports.jobs``): the overview's buttons ask
for it (POST, CSRF, 202), the download centre lists the file in words, and the file is the synchronous GET's
(the CSV byte for byte, the xlsx row for row); the GET stays synchronous. A township_admin's file holds its own
schools, as its GET does. Bad input is a 4xx naming the field. The test app makes the job in the request; the
embedded default's pool runs it in tests/district/rendering/test_rendering_export_job.py."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import load_workbook

from district.rendering import jobs
from district.rendering.models import KIND_EXPORT, PdfDocument, PdfJob
from tests.district.dashboard.conftest import page_csrf, sign_in
from tests.district.dashboard.test_dashboard_downloads import face, rows
from tests.district.dashboard.test_search_exports import _november, auth, stored  # noqa: F401 - fixtures

LINK_RE = r'<a class="pdf-file" href="([^"]+)" download>([^<]+)</a>'
URL = "/api/v1/counties/610528/reports/export"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet(body: bytes) -> list[list[Any]]:
    return [list(r) for r in load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True)]


def test_the_overview_asks_for_the_export_as_a_job_listed_in_the_download_centre(
    client: Any,
    session: Any,
    users: dict[str, Any],
    stored: None,  # noqa: F811
) -> None:
    sign_in(client, "viewer")
    page = client.get("/counties/610528/").get_data(as_text=True)
    assert page.count(f'data-url="{URL}"') == 2 and '"format": "csv"' in page  # the buttons, with their body
    token = page_csrf(client)
    assert client.post(URL, json={"period": "2026-09"}).status_code == 403  # a cookie without the CSRF header
    resp = client.post(URL, json={"period": "2026-09", "format": "xlsx"}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 202, resp.get_json()
    job = resp.get_json()
    assert job["kind"] == "export" and job["total"] == 1 and resp.headers["Location"] == f"/api/v1/jobs/{job['job_id']}"
    assert job["window"] == {"from": "2026-09", "to": "2026-09"}
    made = session.get(PdfJob, job["job_id"])
    assert made is not None and made.requested_by == "viewer"

    html = client.get("/downloads").get_data(as_text=True)
    [text] = rows(html)
    assert text.startswith("月报：富平县") and "2026年9月" in text and "已完成" in text, text
    [(url, label)] = re.findall(LINK_RE, html)
    assert label == "富平县月报（Excel）"
    assert "610528_" not in face(html)
    got = client.get(url)
    assert (
        got.status_code == 200 and got.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "filename*=UTF-8''610528_" in got.headers["Content-Disposition"]
    sync = client.get("/api/v1/counties/610528/reports?period=2026-09&format=xlsx")  # the GET: synchronous, as before
    assert sync.status_code == 200
    assert _sheet(got.data) == _sheet(sync.data) and len(_sheet(got.data)) == 1 + 2 + 1  # header, 2 schools, totals
    got.close()
    view = client.get(f"/api/v1/jobs/{job['job_id']}").get_json()
    assert view["state"] == "done" and view["files"][0]["kind"] == KIND_EXPORT and view["seconds_left"] is None


def test_the_csv_job_is_the_get_s_file_and_the_same_bytes_are_registered_once(
    client: Any,
    session: Any,
    users: dict[str, Any],
    stored: None,  # noqa: F811
) -> None:
    headers = auth(session, users, "admin")
    sync = client.get("/api/v1/counties/610528/reports?period=2026-09&format=csv", headers=headers)
    files = []
    for _ in range(2):
        resp = client.post(URL, json={"period": "2026-09", "format": "csv"}, headers=headers)
        assert resp.status_code == 202, resp.get_json()
        [file] = resp.get_json()["files"]
        assert file["name"] == "610528_富平县_月报_2026-09.csv"
        got = client.get(file["url"], headers=headers)
        assert got.mimetype == "text/csv" and got.data == sync.data  # byte for byte
        got.close()
        files.append(file)
    assert files[0]["sha256"] == files[1]["sha256"]
    registered = session.query(PdfDocument).filter(PdfDocument.sha256 == files[0]["sha256"]).all()
    assert len(registered) == 1 and registered[0].kind == KIND_EXPORT  # one registration, both jobs point at it


def test_a_township_admin_s_file_holds_its_own_schools(
    client: Any,
    session: Any,
    users: dict[str, Any],
    stored: None,  # noqa: F811
) -> None:
    headers = auth(session, users, "township")
    data = client.get("/api/v1/counties/610528/reports?period=2026-09", headers=headers).get_json()
    resp = client.post(URL, json={"period": "2026-09", "format": "csv"}, headers=headers)
    assert resp.status_code == 202, resp.get_json()
    got = client.get(resp.get_json()["files"][0]["url"], headers=headers)
    lines = got.data.decode("utf-8-sig").splitlines()
    got.close()
    assert [line.split(",")[0] for line in lines[1:]] == [r["name"] for r in data["reports"]]


def test_bad_input_is_named_and_scope_is_404(
    client: Any,
    session: Any,
    users: dict[str, Any],
    stored: None,  # noqa: F811
    app: Any,
    monkeypatch: Any,
) -> None:
    headers = auth(session, users, "viewer")
    for body, status, code in (
        ({"format": "pdf"}, 400, "invalid_format"),
        ({"period": "2026-13"}, 400, "invalid_period"),
        ({"period": "2027-01"}, 400, "invalid_period"),
        ({"period": 202609}, 422, "validation_failed"),
        ({"periode": "2026-09"}, 422, "validation_failed"),
    ):
        resp = client.post(URL, json=body, headers=headers)
        assert resp.status_code == status and resp.get_json()["error"]["code"] == code, (body, resp.get_json())
    bad = client.post(URL, json={"period": 202609}, headers=headers).get_json()["error"]
    assert bad["details"][0]["path"] == "/period"
    assert client.post("/api/v1/counties/610526/reports/export", json={}, headers=headers).status_code == 404
    assert client.post(URL, json={}, headers=auth(session, users, "school")).status_code == 404
    assert client.post(URL, json={}).status_code == 401
    # no body: the latest closed period (2026-10), xlsx
    resp = client.post(URL, headers=headers)
    assert resp.status_code == 202 and resp.get_json()["window"]["from"] == "2026-10"
    assert resp.get_json()["files"][0]["name"].endswith("_月报_2026-10.xlsx")
    # the same per-user limit as the PDF jobs
    monkeypatch.setitem(app.config, "PDF_JOBS_PER_USER", 1)
    from district.scoring.engine import Window

    jobs.create_job(session, "610528", Window("2026-09", "2026-10"), requested_by="viewer", school_code="6105280001")
    session.flush()
    resp = client.post(URL, json={}, headers=headers)
    assert resp.status_code == 429 and resp.get_json()["error"]["code"] == "too_many_jobs"
