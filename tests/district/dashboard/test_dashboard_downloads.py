"""下载中心 (issue 17, item 3): the page lists the user's own PDF jobs in words (what, window, state, progress
with an estimate, files named for their content, the zip first), links that survive a reload, an empty state, a
refresh while a job is unfinished, and nothing technical on its face; the PDF buttons say where to follow the
job."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest

from district.rendering import jobs
from district.rendering.models import PdfDocument, PdfJob
from district.scoring.engine import Window
from tests.district.dashboard.conftest import page_csrf, sign_in
from tests.district.scoring.helpers_scoring_db import YEAR_FROM, YEAR_TO, seed_county

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}|T\d{2}:\d{2}")
HEX = re.compile(r"\b[0-9a-f]{16,}\b")


class _Face(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts, templates or <noscript>."""

    HIDDEN = frozenset({"script", "style", "template", "noscript", "title"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.HIDDEN:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.parts.append(data.strip())


def face(html: str) -> str:
    parser = _Face()
    parser.feed(html)
    return " ".join(parser.parts)


def rows(html: str) -> list[str]:
    """Each job row's visible text, in page order."""
    return [face(m) for m in re.findall(r'<tr class="job .*?</tr>', html, re.S)]


@pytest.fixture()
def seeded(session: Any, county: Any, users: dict[str, Any]) -> None:
    county.campaign_start_year = 2026
    seed_county(session)


def _finish(session: Any, job: PdfJob, at: dt.datetime, *, parts: int | None = None) -> None:
    """Mark ``parts`` of the job's parts made (all by default; the job ``done`` then, a batch with its zip), as
    the tasks would, without rendering: register rows with made-up digests."""
    job.state = "running"
    job.started_at = at
    todo = jobs.job_parts(session, job.id)
    for n, part in enumerate(todo[: len(todo) if parts is None else parts]):
        doc = PdfDocument(
            sha256=f"{job.id:032x}{n:032x}", document_no=f"HQ-T-{job.id}-{n}", kind=part.kind,
            county_code=job.county_code, school_code=part.school_code, period_from=job.period_from,
            period_to=job.period_to, made_at=at, job_id=job.id, chain_digest="0" * 64, filename=part.filename,
            size=300_000,
        )  # fmt: skip
        session.add(doc)
        session.flush()
        part.state, part.document_id = "done", doc.id
    if parts is None:
        job.state, job.finished_at = "done", at + dt.timedelta(minutes=4)
        if job.school_code is None:
            job.zip_name, job.zip_sha256, job.zip_size = "610528_2026_富平县_评估报告.zip", "f" * 64, 2_500_000
    session.flush()


def test_empty_state_and_the_nav_link_for_every_user(client: Any, users: dict[str, Any]) -> None:
    for name in ("admin", "school", "city"):
        sign_in(client, name)
        page = client.get("/downloads")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "您还没有申请过报告或导出文件" in html
        assert 'href="/downloads" aria-current="page">下载中心</a>' in html
        assert 'http-equiv="refresh"' not in html and 'data-refresh=""' in html
        # the link is in the top bar of every page, whatever the role
        assert '<a href="/downloads" >下载中心</a>' in client.get("/account/tokens").get_data(as_text=True)
        client.post("/logout", data={"csrf_token": page_csrf(client)})
    assert client.get("/downloads").status_code == 302  # signed out: to the sign-in page


def test_the_rows_in_words(client: Any, session: Any, seeded: None, hub_clock: Any) -> None:
    now = dt.datetime(2026, 12, 7, 11, 20, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    hub_clock.set(now)
    window = Window(YEAR_FROM, YEAR_TO)
    assert (YEAR_FROM, YEAR_TO) == ("2026-01", "2026-10")
    autumn = Window("2026-09", "2026-10")
    earlier = now - dt.timedelta(hours=2)
    done = jobs.create_job(session, "610528", window, requested_by="admin", year=2026, now=earlier)
    _finish(session, done, earlier)
    failed = jobs.create_job(session, "610528", autumn, requested_by="admin", school_code="6105280002",
                             now=earlier + dt.timedelta(minutes=5))  # fmt: skip
    jobs.job_failed(session, failed.id, "枢纽在生成期间停止，请重新申请 / the hub stopped while the job was being made")
    running = jobs.create_job(session, "610528", window, requested_by="admin", year=2026,
                              now=now - dt.timedelta(minutes=11))  # fmt: skip
    _finish(session, running, now - dt.timedelta(minutes=10), parts=2)  # 2 of 5 in 10 minutes: 15 to go
    queued = jobs.create_job(session, "610528", autumn, requested_by="admin", school_code="6105280001", now=now)
    jobs.create_job(session, "610528", window, requested_by="viewer", year=2026, now=now)  # someone else's
    session.flush()

    sign_in(client, "admin")
    html = client.get("/downloads").get_data(as_text=True)
    texts = rows(html)
    assert len(texts) == 4  # the user's own, newest first
    assert texts[0].startswith("庄里镇中心小学 学校评估报告 2026年9月—2026年10月 2026年12月7日 11:20 排队中 0/1")
    assert texts[1].startswith(
        "县汇总：富平县 汇总报告及各校评估报告 2026年1月—2026年10月 2026年12月7日 11:09 生成中 2/5"
    )
    assert "预计还需约 15 分钟" in texts[1]
    assert texts[2].startswith("庄里镇初级中学 学校评估报告 2026年9月—2026年10月 2026年12月7日 09:25 失败")
    assert "枢纽在生成期间停止，请重新申请" in texts[2] and "the hub stopped" not in texts[2]
    assert texts[3].startswith("县汇总：富平县 汇总报告及各校评估报告 2026年1月—2026年10月 2026年12月7日 09:20 已完成")
    assert "完成于 2026年12月7日 09:24" in texts[3]
    # the files of the finished batch: the zip first, then the summary, each school's report in a fold-out
    link_re = r'<a class="pdf-file" href="([^"]+)" download>([^<]+)</a>'
    done_row = re.findall(r'<tr class="job .*?</tr>', html, re.S)[3]
    links = re.findall(link_re, done_row)
    assert [label for _, label in links[:2]] == ["富平县全部报告（压缩包，5 份）", "富平县评估汇总报告"]
    assert links[0][0] == f"/api/v1/jobs/{done.id}/files/{quote(done.zip_name, safe='')}"
    schools = ("庄里镇中心小学", "庄里镇初级中学", "城关第一小学", "城关新区小学")
    assert {label for _, label in links[2:]} == {f"{n}评估报告" for n in schools}
    assert "各校评估报告（4 份）" in html and "2.4 MB" in face(html)
    # the running job's finished parts are already there; the queued one has none yet
    assert f"/api/v1/jobs/{running.id}/files/" in html and f"/api/v1/jobs/{queued.id}/files/" not in html
    # unfinished jobs: the page reads itself again (script), or refreshes (no script)
    assert 'data-refresh="5"' in html
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    # nothing technical on the face: no ISO time, no digest, no document number or job id
    visible = face(html)
    assert not ISO_TIME.search(visible), ISO_TIME.search(visible)
    assert not HEX.search(visible) and "HQ-" not in visible and "610528_" not in visible
    assert f">{done.id}<" not in html
    # a reload shows the same links; once every job is finished the page stops refreshing
    assert re.findall(link_re, client.get("/downloads").get_data(as_text=True)) == re.findall(link_re, html)
    for job in (running, queued):
        jobs.job_failed(session, job.id, "x")
    session.flush()
    again = client.get("/downloads").get_data(as_text=True)
    assert 'data-refresh=""' in again and "http-equiv" not in again
    assert "有报告未能生成，请重新申请" in again  # a technical reason is not shown: what to do is


def test_english_words(client: Any, session: Any, seeded: None, hub_clock: Any) -> None:
    hub_clock.set(dt.datetime(2026, 12, 7, 11, 20, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    jobs.create_job(session, "610528", Window("2026-09", "2026-10"), requested_by="admin", school_code="6105280001")
    session.flush()
    sign_in(client, "admin")
    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client), "next": "/downloads"})
    text = " ".join(rows(client.get("/downloads").get_data(as_text=True)))
    assert "Sep 2026—Oct 2026" in text and "7 Dec 2026 11:20" in text and "Queued" in text


def test_a_real_job_from_the_page_downloads(client: Any, session: Any, seeded: None) -> None:
    """Asked as the school page's button asks (session cookie, CSRF header), listed, and its link downloads the
    PDF (the test app makes it in the request)."""
    sign_in(client, "admin")
    token = page_csrf(client)
    resp = client.post("/api/v1/counties/610528/reports/pdf", json={"school_code": "6105280001", "year": 2026},
                       headers={"X-CSRF-Token": token})  # fmt: skip
    assert resp.status_code == 202, resp.get_json()
    html = client.get("/downloads").get_data(as_text=True)
    [(url, label)] = re.findall(r'<a class="pdf-file" href="([^"]+)" download>([^<]+)</a>', html)
    assert label == "庄里镇中心小学评估报告"
    got = client.get(url)
    assert got.status_code == 200 and got.data.startswith(b"%PDF-")
    got.close()


def test_the_pdf_buttons_point_to_the_download_centre(client: Any, session: Any, seeded: None) -> None:
    sign_in(client, "admin")
    for path in ("/schools/6105280001/", "/counties/610528/ranking"):
        html = client.get(path).get_data(as_text=True)
        assert 'class="pdf-job"' in html
        tpl = re.search(r'<template id="job-submitted">(.*?)</template>', html, re.S)
        assert tpl, path
        assert "已提交，可在下载中心查看进度" in tpl.group(1) and 'href="/downloads"' in tpl.group(1)
    js = client.get("/static/dashboard/app.js")
    script = js.get_data(as_text=True)
    js.close()
    # after the POST: the message from the page's template and the button free again, no polling for minutes
    assert 'getElementById("job-submitted")' in script and "button.disabled = false;" in script
    assert "function poll(" not in script
    assert 'getElementById("download-jobs")' in script  # the download centre's refresh
