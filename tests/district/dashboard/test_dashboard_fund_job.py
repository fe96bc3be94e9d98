"""The fund report's PDF from the fund page (issue 17, item 3): the page's button asks for a job (POST, CSRF,
202), the download centre lists it in words with its file, and the link downloads the PDF (the test app makes it
in the request; the embedded default's pool is tests/district/rendering/test_rendering_pool.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from district.rendering.models import PdfJob
from tests.district.dashboard.conftest import page_csrf, sign_in
from tests.district.dashboard.test_dashboard_downloads import face, rows
from tests.district.scoring.helpers_scoring_db import seed_county

LINK_RE = r'<a class="pdf-file" href="([^"]+)" download>([^<]+)</a>'


@pytest.fixture()
def seeded(session: Any, county: Any, users: dict[str, Any]) -> None:
    county.campaign_start_year = 2026
    seed_county(session)


def test_the_fund_pdf_from_the_page_is_a_job_in_the_download_centre(
    client: Any, session: Any, seeded: None, hub_clock: Any
) -> None:
    sign_in(client, "viewer")  # a reader of the county's fund report, not an admin
    page = client.get("/counties/610528/fund?from=2026-09&to=2026-10").get_data(as_text=True)
    assert 'data-url="/api/v1/counties/610528/nutrition/pdf"' in page and 'class="pdf-job"' in page
    token = page_csrf(client)
    refused = client.post("/api/v1/counties/610528/nutrition/pdf", json={"from": "2026-09", "to": "2026-10"})
    assert refused.status_code == 403, refused.get_json()  # a cookie without the CSRF header
    resp = client.post("/api/v1/counties/610528/nutrition/pdf", json={"from": "2026-09", "to": "2026-10"},
                       headers={"X-CSRF-Token": token})  # fmt: skip
    assert resp.status_code == 202, resp.get_json()
    job = resp.get_json()
    assert job["kind"] == "fund" and job["total"] == 1 and resp.headers["Location"] == f"/api/v1/jobs/{job['job_id']}"
    made = session.get(PdfJob, job["job_id"])
    assert made is not None and made.requested_by == "viewer" and made.school_code is None

    html = client.get("/downloads").get_data(as_text=True)
    [text] = rows(html)
    assert text.startswith("营养餐资金报告：富平县 各校补助资金对账 2026年9月—2026年10月")
    assert "已完成" in text
    [(url, label)] = re.findall(LINK_RE, html)
    assert label == "富平县营养餐资金报告"
    assert "610528_" not in face(html)
    got = client.get(url)
    assert got.status_code == 200 and got.data.startswith(b"%PDF-")
    assert "nutrition_fund_report" in got.headers["Content-Disposition"]
    got.close()
    # the job's own view, as the API shows it to a poller
    view = client.get(f"/api/v1/jobs/{job['job_id']}").get_json()
    assert view["state"] == "done" and view["files"][0]["kind"] == "fund_report" and view["seconds_left"] is None


def test_the_fund_pdf_job_counts_against_the_per_user_limit(
    client: Any, session: Any, seeded: None, app: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "PDF_JOBS_PER_USER", 1)  # the session's app: put back after the test
    sign_in(client, "viewer")
    token = page_csrf(client)
    from district.rendering import jobs
    from district.scoring.engine import Window

    jobs.create_job(session, "610528", Window("2026-09", "2026-10"), requested_by="viewer", school_code="6105280001")
    session.flush()
    resp = client.post("/api/v1/counties/610528/nutrition/pdf", json={}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 429 and resp.get_json()["error"]["code"] == "too_many_jobs"
    assert int(resp.headers["Retry-After"]) > 0


def test_a_bad_body_or_window_is_named(client: Any, session: Any, seeded: None) -> None:
    sign_in(client, "viewer")
    token = page_csrf(client)
    bad = client.post(
        "/api/v1/counties/610528/nutrition/pdf", json={"form": "2026-09"}, headers={"X-CSRF-Token": token}
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["details"][0]["path"] == "/form"
    bad = client.post("/api/v1/counties/610528/nutrition/pdf", json={"from": "2026-9"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 400, bad.get_json()
    other = client.post("/api/v1/counties/999999/nutrition/pdf", json={}, headers={"X-CSRF-Token": token})
    assert other.status_code == 404
