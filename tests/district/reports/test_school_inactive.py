"""Closed (停办) and not-yet-opened schools (issue 16): a report of a month outside the school's active range is
refused 403 ``school_inactive`` naming its dates, logged as a rejection, and nothing of it is stored; closing a
school through the registry import revokes its credential (audited); the fund report (JSON, xlsx), completeness
and the ranking do not count a report of an inactive month stored before the dates were recorded."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from district.audit.models import AuditEntry
from district.nutrition import services as fund
from district.registry.crypto import SecretBox
from district.registry.models import Credential, School
from district.registry.services import import_schools, issue_credential
from district.reports.completeness import county_completeness
from district.reports.models import HazardEntry, Rejection, ReportHead, ReportRevision
from district.reports.services import submit_report
from tests.conftest import SignedClient, example_report

CLOSED = dt.date(2026, 8, 31)


def stored(session: Any) -> int:
    return sum(
        int(session.scalar(select(func.count()).select_from(m))) for m in (ReportRevision, ReportHead, HazardEntry)
    )


def last_rejection(session: Any) -> Rejection:
    return session.scalars(select(Rejection).order_by(Rejection.id.desc())).first()


def test_a_closed_schools_report_of_a_later_month_is_403_school_inactive(agent: SignedClient, session: Any) -> None:
    session.get(School, "6105280001").closed = CLOSED
    session.flush()
    resp = agent.post_report(example_report(period="2026-11"))
    assert resp.status_code == 403, resp.json
    error = resp.json["error"]
    assert error["code"] == "school_inactive"
    assert "2026-11" in error["message"] and "2026-08-31 停办" in error["message"]
    assert stored(session) == 0
    rej = last_rejection(session)
    assert (rej.status, rej.code, rej.school_code, rej.period) == (403, "school_inactive", "6105280001", "2026-11")
    # in English on request; its last active month is still accepted
    en = agent.post_report(example_report(period="2026-09"), lang="en")
    assert en.status_code == 403 and en.json["error"]["message"] == (
        "period 2026-09 is outside the school's active range (… .. 2026-08-31)"
    )
    assert agent.post_report(example_report(period="2026-08")).status_code == 201
    assert session.scalars(select(ReportHead.period)).all() == ["2026-08"]


def test_a_school_not_yet_opened_is_refused_until_its_first_month(
    client: Any, credentials: dict[str, str], session: Any
) -> None:
    late = SignedClient(client, "6105280004", credentials["6105280004"])  # opened 2026-10-01
    resp = late.post_report(example_report(school_code="6105280004", period="2026-09"))
    assert resp.status_code == 403 and resp.json["error"]["code"] == "school_inactive"
    assert "2026-10-01 开办" in resp.json["error"]["message"]
    assert stored(session) == 0
    assert last_rejection(session).code == "school_inactive"
    assert late.post_report(example_report(school_code="6105280004", period="2026-10")).status_code == 201


def test_the_agent_says_so_in_plain_chinese(capsys: Any) -> None:
    from types import SimpleNamespace

    from school_agent.cli import print_refusal

    item = SimpleNamespace(state="rejected", http_status=403, period="2026-11", report_id="0123456789abcdef",
                           source="r.xlsx", hub_error={"code": "school_inactive", "details": [],
                                                       "message": "2026-11 不在本校的办学期间内"})  # fmt: skip
    print_refusal(item)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "2026-11 报表没有送达：按教育局的学校名册，本校这个月不需要报送" in out
    assert "2026-11 不在本校的办学期间内" in out and "HTTP" not in out  # the code only with --verbose
    assert "不在办学期间（已停办或尚未开办）" in out and "houqin-agent retry 01234567" in out


# ---------------------------------------------------------------- the registry import closes a school


HEADER = "code,name,county_code,township,type,boarding,opened,closed\n"


def test_closing_a_school_by_import_revokes_its_credential_audited(
    app: Any, session: Any, credentials: dict[str, str], tmp_path: Path
) -> None:
    registry = tmp_path / "schools.csv"
    registry.write_text(
        HEADER + "6105280001,庄里镇中心小学,610528,庄里镇,primary,true,,2026-08-31\n"
        # closes at the end of November: its November report is due in December, the credential stays
        "6105280002,庄里镇初级中学,610528,庄里镇,junior,true,,2026-11-30\n",
        encoding="utf-8",
    )
    result = import_schools(session, registry, actor="admin")
    assert result.credentials_revoked == ["6105280001"]
    live = session.scalars(select(Credential.school_code).where(Credential.revoked_at.is_(None))).all()
    assert sorted(live) == ["6105280002", "6105280004"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "credential.revoke")).one()
    assert (entry.actor, entry.county_code, entry.school_code) == ("admin", "610528", "6105280001")
    assert entry.details["reason"] == "school_closed" and entry.details["closed"] == "2026-08-31"
    assert entry.chain_key is not None  # in the county's hash chain, as every credential act
    # the revoked credential no longer signs anything: 401, nothing stored
    agent = SignedClient(app.test_client(), "6105280001", credentials["6105280001"])
    resp = agent.post_report(example_report(period="2026-08"))
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unknown_school"
    assert stored(session) == 0
    # importing the same file again revokes nothing more
    assert import_schools(session, registry, actor="admin").credentials_revoked == []


# ---------------------------------------------------------------- reads count active months only


def _legacy_reports(app: Any, session: Any) -> None:
    """0001 and 0002 report 2026-09; then the registry learns that 0001 closed on 2026-08-31 (its report was
    stored before the dates were recorded)."""
    for code in ("6105280001", "6105280002"):
        school = session.get(School, code)
        submit_report(session, school, 1, example_report(school_code=code, period="2026-09"))
    session.get(School, "6105280001").closed = CLOSED
    session.flush()


def test_fund_report_xlsx_completeness_and_ranking_leave_an_inactive_month_out(
    app: Any, session: Any, county: Any
) -> None:
    from district.nutrition.xlsx import fund_report_xlsx
    from district.scoring.engine import Window
    from district.scoring.ranking import compute_ranking

    box = SecretBox(app.config["SERVER_KEY_FILE"])
    issue_credential(session, box, "6105280001")
    _legacy_reports(app, session)
    report = fund.fund_report(session, "610528", "2026-09", "2026-09")
    body = report.to_dict()
    assert [row["school_code"] for row in body["schools"]] == ["6105280002"]
    assert report.county.schools == 1 and report.county.totals == report.schools[0].totals  # 0002's alone
    assert all(a.school_code != "6105280001" for a in report.anomalies)
    book = load_workbook(io.BytesIO(fund_report_xlsx(report)), read_only=True)
    cells = {str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c}
    assert "6105280002" in cells and "6105280001" not in cells and "庄里镇中心小学" not in cells
    completeness = county_completeness(session, "610528", "2026-09")
    assert (completeness.expected, completeness.reported) == (1, 1)
    ranking = compute_ranking(session, "610528", Window("2026-09", "2026-09"), trigger="test", store=False)
    assert "6105280001" not in {r["school_code"] for r in ranking.results}
