"""The demo's review round (issue 18), after ingest: 富平县's bureau returns two reports of the latest month with
comments through the review API, the two schools' real agents send corrected revisions (``houqin-agent
correct``), the list of returned reports not yet corrected empties, and the bureau approves the corrections.
Every count printed is the hub's (its review service), never the demo's own bookkeeping."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

COUNTY = "610528"
COMMENTS = (
    "本月结余与上月结转对不上，请核对本月结余后更正",
    "供餐人次与就餐天数不符，请核对供餐人次",
)


class ReviewRoundFailed(Exception):
    pass


def _count(job: Any, picked: list[tuple[str, str, str]]) -> tuple[int, int]:
    """(returned reports of the county not yet corrected, picked school-months approved), from the hub's review
    service."""
    from district.db import db
    from district.review.services import current_review, open_returns

    with job.app.app_context():
        s = db.session()
        try:
            approved = 0
            for code, period, _report_id in picked:
                review = current_review(s, code, period)
                approved += review is not None and review.decision == "approved"
            return len(open_returns(s, COUNTY)), approved
        finally:
            db.session.remove()


def _agent_reported(job: Any, periods: list[str]) -> list[tuple[str, str, str]]:
    """(school code, period, report_id) of effective revisions the schools' agents signed (not the web clerks'),
    newest month first, then by school code."""
    from sqlalchemy import select

    from district.db import db
    from district.reports.models import ReportHead, ReportRevision

    with job.app.app_context():
        s = db.session()
        try:
            rows = s.execute(
                select(ReportHead.school_code, ReportHead.period, ReportRevision.report_id, ReportRevision.signer)
                .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
                .where(ReportHead.county_code == COUNTY, ReportHead.period.in_(periods))
                .order_by(ReportHead.period.desc(), ReportHead.school_code)
            ).all()
        finally:
            db.session.remove()
    return [(code, period, report_id) for code, period, report_id, signer in rows if signer.startswith("credential:")]


def review_round(job: Any) -> dict[str, int]:
    """Return two reports, correct them with the schools' agents, approve the corrections; the counts."""
    from school_agent.cli import main as agent

    periods = job.summary["periods"][1:]  # the first month is locked by the ingest stage
    token = job.county_tokens[COUNTY]
    picked = _agent_reported(job, periods)[:2]
    if len(picked) < 2:
        raise ReviewRoundFailed(f"富平县 {'、'.join(periods)} 由学校客户端报送的月报不足两份，无法演示退回")
    for (code, period, report_id), comment in zip(picked, COMMENTS, strict=True):
        status, _body, raw = job.api(
            "POST", f"/api/v1/reports/{report_id}/review", {"decision": "returned", "comment": comment}, token=token
        )
        if status != 200:
            raise ReviewRoundFailed(f"{code} {period} 未能退回（HTTP {status}：{raw[:200].decode(errors='replace')}）")
    returned, _approved = _count(job, picked)
    if returned != 2:
        raise ReviewRoundFailed(f"退回 2 份后，服务器上退回待更正的月报有 {returned} 份")
    agents = job.instance / "agents"
    sink = io.StringIO()
    for code, period, _report_id in picked:
        original = job.bodies.get((code, period, "correct")) or job.bodies[(code, period, "submit")]
        fixed = dict(original, prepared_by=original["prepared_by"] + "（复核）")
        path = agents / code / f"月报_{period}_review.json"
        path.write_text(json.dumps(fixed, ensure_ascii=False), encoding="utf-8")
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            exit_code = agent(["--home", str(agents / code), "correct", "--yes", period, str(path)])
        if exit_code != 0:
            raise ReviewRoundFailed(f"{code} 的客户端未能报送更正（退出码 {exit_code}）：{sink.getvalue()[-300:]}")
    open_after, _approved = _count(job, picked)
    if open_after != 0:
        raise ReviewRoundFailed(f"两校更正后，服务器上仍有 {open_after} 份退回待更正的月报")
    # the corrections are back in the queue (待审核): the bureau approves them
    for code, period, old in picked:
        _st, rows, _raw = job.api("GET", f"/api/v1/counties/{COUNTY}/reports?period={period}", token=token)
        current = {r["school_code"]: r["report_id"] for r in (rows or {}).get("reports", [])}
        if current.get(code) in (None, old):
            raise ReviewRoundFailed(f"{code} {period} 的更正没有成为生效版本")
        job.api("POST", f"/api/v1/reports/{current[code]}/review", {"decision": "approved"}, token=token)
    _open, approved = _count(job, picked)
    if approved != 2:
        raise ReviewRoundFailed(f"两份更正送审后，服务器上审核通过的有 {approved} 份")
    job.echo(
        f"  审核 / review: 富平县退回 2 份（附意见）→ 两校客户端报送更正 → 退回待更正 {open_after} 份"
        f"（清空 / emptied）→ 更正通过 {approved} 份"
    )
    return {"returned": 2, "returned_open": open_after, "approved": approved}
