"""One truth per figure: the same school and the same (default) window give the same score, grade, status, rank
and days late on every surface — the API, the dashboard, ``houqin rank`` and ``houqin completeness``, the agent's
feedback and what ``houqin-agent status`` prints of it, the evaluation and county PDFs (read back with
pdftotext). Runs on both databases (the suite runs on SQLite and again on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from district.cli import Context, main
from district.db import db
from houqin_standard import SHANGHAI
from tests.conftest import SignedClient
from tests.district.scoring.helpers_scoring_db import bearer, seed_county

SCHOOL = "6105280001"
LATE_SCHOOL = "6105280004"  # opened 2026-10-01, never reported: missing for 2026-10
#: 10:00 on 7 November in Shanghai: 2026-10 closed on the 5th, so the unreported school is 2 days late
NOW = dt.datetime(2026, 11, 7, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture()
def seeded(session: Any, county: Any, hub_clock: Any) -> dict[str, int]:
    county.campaign_start_year = 2026
    ids = seed_county(session)  # reporting start 2026-01
    hub_clock.set(NOW, ticking=True)
    return ids


def _cli(app: Any, *args: str) -> str:
    db.session().commit()  # into the test's outer transaction (rolled back after the test)
    ctx = Context()
    ctx._app = app
    result = CliRunner().invoke(main, list(args), obj=ctx)
    assert result.exit_code == 0, result.output
    return result.output


def _download(client: Any, url: str, headers: dict[str, str]) -> bytes:
    resp = client.get(url, headers=headers)
    try:
        assert resp.status_code == 200
        return bytes(resp.data)
    finally:
        resp.close()


def _pdftotext(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return re.sub(r"\s+", " ", out)


def test_one_school_reads_the_same_on_every_surface(
    app: Any, client: Any, session: Any, seeded: dict[str, int], credentials: dict[str, str], tmp_path: Path
) -> None:
    admin = bearer(session, "county_admin", "610528", "truth-admin")

    # ---- the API, the default window (the latest closed period's year, from the reporting start)
    ranking = client.get("/api/v1/counties/610528/rankings", headers=admin).get_json()
    assert ranking["window"] == {"from": "2026-01", "to": "2026-10"}
    row = next(r for r in ranking["schools"] if r["school_code"] == SCHOOL)
    truth = {k: row[k] for k in ("score", "grade", "status", "rank")}
    assert truth["score"] is not None and truth["rank"] is not None
    score_view = client.get(f"/api/v1/schools/{SCHOOL}/score", headers=admin).get_json()
    assert {k: score_view[k] for k in truth} == truth
    assert score_view["window"] == ranking["window"]

    # ---- houqin rank (stores the snapshot, as the debounced task would)
    cli = json.loads(_cli(app, "rank", "--county", "610528", "--json"))
    assert cli["window"] == ranking["window"]
    cli_row = next(r for r in cli["schools"] if r["school_code"] == SCHOOL)
    assert {k: cli_row[k] for k in truth} == truth
    assert cli["snapshot_id"] is not None
    # the API now answers from that stored snapshot, with the same figures
    again = client.get("/api/v1/counties/610528/rankings", headers=admin).get_json()
    assert again["snapshot_id"] == cli["snapshot_id"]
    assert {k: next(r for r in again["schools"] if r["school_code"] == SCHOOL)[k] for k in truth} == truth

    # ---- the dashboard's ranking page
    from district.auth.services import create_user
    from tests.district.dashboard.conftest import sign_in

    create_user(session, "truth-viewer", "correct horse battery", "county_viewer", scope="610528")
    browser = app.test_client()
    assert sign_in(browser, "truth-viewer", "correct horse battery").status_code in (302, 303)
    page = browser.get("/counties/610528/ranking").get_data(as_text=True)
    tr = re.search(rf'<tr data-school="{SCHOOL}">(.*?)</tr>', page, re.S)
    assert tr is not None
    tds = re.findall(r"<td[^>]*>(.*?)</td>", tr.group(1), re.S)
    cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in tds]
    assert cells[0] == str(truth["rank"]) and cells[4] == truth["score"] and cells[5] == truth["grade"]
    assert "2026-01" in page and "2026-10" in page

    # ---- the agent's feedback and what houqin-agent status prints of it
    agent = SignedClient(client, SCHOOL, credentials[SCHOOL])
    fb = agent.get("/api/v1/feedback?period=2026-11").get_json()
    assert (fb["score"], fb["rank"]) == (truth["score"], truth["rank"])
    assert (fb["ranking"]["grade"], fb["ranking"]["status"]) == (truth["grade"], truth["status"])
    assert fb["ranking"]["window"] == ranking["window"]
    from school_agent.cli import feedback_lines

    printed = "\n".join(feedback_lines(fb))
    assert f"得分：{truth['score']}" in printed and f"全县第 {truth['rank']} 名" in printed
    assert "2026-01 至 2026-10" in printed and "status" not in printed and "snapshot" not in printed

    # ---- days late of the school that has not reported 2026-10: completeness API, CLI, dashboard, agent
    comp = client.get("/api/v1/counties/610528/completeness?period=2026-10", headers=admin).get_json()
    assert {m["school_code"]: m["days_late"] for m in comp["missing"]} == {LATE_SCHOOL: 2}
    cli_comp = json.loads(_cli(app, "completeness", "--county", "610528", "--period", "2026-10", "--json"))
    assert {m["school_code"]: m["days_late"] for m in cli_comp["missing"]} == {LATE_SCHOOL: 2}
    overview = browser.get("/counties/610528/?period=2026-10").get_data(as_text=True)
    assert re.search(r"2\s*天", overview)
    late_agent = SignedClient(client, LATE_SCHOOL, credentials[LATE_SCHOOL])
    late_fb = late_agent.get("/api/v1/feedback?period=2026-11").get_json()
    [reminder] = [r for r in late_fb["reminders"] if r["kind"] == "report_missing"]
    assert (reminder["period"], reminder["days_late"]) == ("2026-10", 2)
    assert "已逾期 2 天" in reminder["message"]

    # ---- the evaluation PDFs (a real job on the embedded default), read back with pdftotext
    asked = client.post("/api/v1/counties/610528/reports/pdf", headers=admin, json={})
    assert asked.status_code == 202, asked.get_json()
    job = asked.get_json()
    for _ in range(600):  # polled, as a client does (the test app makes it in the request: done at once)
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.2)
        job = client.get(f"/api/v1/jobs/{job['job_id']}", headers=admin).get_json()
    assert job["state"] == "done", job
    files = {f["name"]: f for f in job["files"]}
    school_pdf = next(f for name, f in files.items() if "庄里镇中心小学" in name)
    text = _pdftotext(_download(client, school_pdf["url"], admin), tmp_path, "school.pdf")
    assert truth["score"] in text and truth["grade"] in text
    assert re.search(rf"第\s*{truth['rank']}\s*名|排名\s*{truth['rank']}\b", text), text[:800]
    late_pdf = next(f for name, f in files.items() if "城关新区小学" in name)
    late_text = _pdftotext(_download(client, late_pdf["url"], admin), tmp_path, "late.pdf")
    assert re.search(r"未报送（2 天）", late_text), late_text[:1500]
    county_pdf = next(f for name, f in files.items() if "汇总" in name)
    county_text = _pdftotext(_download(client, county_pdf["url"], admin), tmp_path, "county.pdf")
    assert "庄里镇中心小学" in county_text and truth["score"] in county_text
