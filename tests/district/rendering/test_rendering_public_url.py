"""The verification URL printed on an official PDF is ``PUBLIC_URL``, never an address from the request (issue 16):
a school_viewer asking behind a trusted proxy (``HOUQIN_PROXY_HOPS=1``, which trusts X-Forwarded-Host) with
``Host: evil.example`` and ``X-Forwarded-Host: evil.example`` gets a PDF that names only ``PUBLIC_URL``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix

from district.rendering.models import PdfJob
from tests.district.scoring.helpers_scoring_db import bearer, seed_county

PUBLIC = "https://houqin.fuping.example.gov.cn/"
EVIL = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}


@pytest.fixture()
def behind_proxy(app: Any, tmp_path: Path) -> Iterator[Any]:
    """The test app as ``create_app`` makes it with HOUQIN_PROXY_HOPS=1 (ProxyFix trusting X-Forwarded-*), its
    own PDF folder and a PUBLIC_URL of ``public`` (set by the test)."""
    saved = app.wsgi_app, app.config["PDF_DIR"], app.config["PUBLIC_URL"]
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.config["PDF_DIR"] = str(tmp_path / "pdf")
    try:
        yield app
    finally:
        app.wsgi_app, app.config["PDF_DIR"], app.config["PUBLIC_URL"] = saved


def _pdf_text(client: Any, headers: dict[str, str], pdftotext: Callable[..., str]) -> tuple[str, dict[str, Any]]:
    resp = client.post("/api/v1/counties/610528/reports/pdf", json={"school": "6105280001", "year": 2026},
                       headers={**headers, **EVIL}, base_url="http://evil.example/")  # fmt: skip
    assert resp.status_code == 202, resp.get_json()
    job = resp.get_json()
    assert job["state"] == "done", job  # the test app runs the job in the request
    [f] = job["files"]
    got = client.get(f["url"], headers={**headers, **EVIL}, base_url="http://evil.example/")
    data = got.get_data()
    got.close()
    assert got.status_code == 200 and data.startswith(b"%PDF-")
    return pdftotext(data), job


def test_the_pdf_prints_public_url_whatever_the_host_headers_say(
    behind_proxy: Any, session: Any, county: Any, pdftotext: Callable[..., str]
) -> None:
    county.campaign_start_year = 2026
    seed_county(session)
    viewer = bearer(session, "school_viewer", "6105280001", "viewer0001")
    client = behind_proxy.test_client()
    behind_proxy.config["PUBLIC_URL"] = PUBLIC
    text, job = _pdf_text(client, viewer, pdftotext)
    assert f"{PUBLIC}verify/<本文件的 SHA-256>" in text
    assert "evil" not in text
    stored = session.scalars(select(PdfJob.verify_base).where(PdfJob.id == job["job_id"])).one()
    assert stored == PUBLIC
    # tests and debug have no PUBLIC_URL (a hub that serves must): then the path alone, still no host of the request
    behind_proxy.config["PUBLIC_URL"] = None
    text, _job = _pdf_text(client, viewer, pdftotext)
    assert "/verify/<本文件的 SHA-256>" in text and "evil" not in text and "http" not in text
