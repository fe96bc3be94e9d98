"""What the pages show: each figure is the service's, shown in Shanghai time and yuan with 2 decimals; clear
empty states; approval and inspections through the forms; the field-by-field diff."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from district.audit.models import AuditEntry
from tests.district.dashboard.conftest import page_csrf, sign_in, submit

UTC = dt.UTC
OCT3 = dt.datetime(2026, 10, 3, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai, before the deadline of 2026-09


def text(resp: Any) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


def section(resp: Any, ident: str) -> str:
    html = resp.get_data(as_text=True)
    start = html.index(f'id="{ident}"')
    return re.sub(r"\s+", " ", html[start : html.index("</section>", start)])


# ---------------------------------------------------------------- overview


def test_overview_empty_period_says_so(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    resp = client.get("/counties/610528/?period=2026-09")
    assert resp.status_code == 200
    body = text(resp)
    assert "本期尚无学校报送" in body
    assert "没有逾期未整改的隐患" in body and "本期报表没有资金异常" in body
    missing = section(resp, "missing")
    assert "庄里镇中心小学" in missing and "庄里镇初级中学" in missing
    assert "城关第一小学" not in missing  # closed in June: not expected


def test_overview_break_month(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    body = text(client.get("/counties/610528/?period=2026-07"))
    assert "2026-07 为假期月份，不要求学校报送。" in body


def test_overview_figures_come_from_the_services(client: Any, session: Any, users: Any) -> None:
    from district.nutrition.services import county_period_anomalies
    from district.reports.completeness import county_completeness

    submit(
        session,
        "6105280001",
        "2026-09",
        OCT3,
        nutrition__other_spend="1200.00",
        nutrition__closing_balance="3715.65",
        hazards=[
            {
                "ref": "YH-01",
                "found_on": "2026-09-02",
                "category": "fire",
                "severity": "major",
                "description": "消防通道堵塞",
                "deadline": "2026-09-10",
                "rectified_on": None,
            }
        ],
    )
    sign_in(client, "admin")
    resp = client.get("/counties/610528/?period=2026-09")
    c = county_completeness(session, "610528", "2026-09")
    kpis = re.findall(r'class="kpi-value[^"]*"[^>]*>([^<]+)<', resp.get_data(as_text=True))
    assert kpis[:5] == [str(c.expected), str(c.reported), str(c.on_time), "50.0%", "50.0%"]
    assert c.completeness == "0.5000"
    assert "2026-10-05 23:59" in text(resp)  # the deadline, in Beijing time
    missing = section(resp, "missing")
    assert "庄里镇初级中学" in missing and "庄里镇中心小学" not in missing
    hazards = section(resp, "overdue-hazards")
    assert "YH-01" in hazards and "消防" in hazards and "重大" in hazards
    anomalies = section(resp, "fund-anomalies")
    codes = re.findall(r'data-code="(\w+)"', anomalies)
    expected = [a.code for a in county_period_anomalies(session, "610528", "2026-09")]
    assert sorted(codes) == sorted(expected) and "MISUSE" in codes
    assert "挪用补助资金" in anomalies


def test_overview_lists_how_late_the_missing_schools_are(client: Any, session: Any, users: Any) -> None:
    from district.reports.completeness import county_completeness

    sign_in(client, "admin")
    c = county_completeness(session, "610528", "2026-09")
    late = {m.code: m.days_late for m in c.missing}
    missing = section(client.get("/counties/610528/?period=2026-09"), "missing")
    for code, days in late.items():
        assert code in missing
        assert f"{days} 天" in missing


def test_overview_of_an_unknown_period_is_400(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    assert client.get("/counties/610528/?period=2026-13").status_code == 400


# ---------------------------------------------------------------- ranking


def test_ranking_rows_are_the_scoring_services(client: Any, session: Any, users: Any) -> None:
    from district.scoring.ranking import county_ranking

    submit(session, "6105280001", "2026-09", OCT3)
    submit(session, "6105280002", "2026-09", OCT3, nutrition__participating=False)
    sign_in(client, "admin")
    resp = client.get("/counties/610528/ranking?from=2026-09&to=2026-09")
    assert resp.status_code == 200
    ranking = county_ranking(session, "610528", "2026-09", "2026-09")
    html = resp.get_data(as_text=True)
    shown = re.findall(r'<tr data-school="(\d+)">', html)
    assert shown == [r["school_code"] for r in ranking["schools"]]
    for r in ranking["schools"]:
        if r["score"] is not None:
            assert f">{r['score']}</a>" in html


def test_ranking_sorts_and_filters(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-09", OCT3)
    submit(session, "6105280002", "2026-09", OCT3)
    sign_in(client, "admin")
    html = client.get("/counties/610528/ranking?from=2026-09&to=2026-09&sort=school_code&order=desc").get_data(
        as_text=True
    )
    assert re.findall(r'<tr data-school="(\d+)">', html)[:2] == ["6105280002", "6105280001"]
    html = client.get("/counties/610528/ranking?from=2026-09&to=2026-09&type=junior").get_data(as_text=True)
    assert re.findall(r'<tr data-school="(\d+)">', html) == ["6105280002"]
    html = client.get("/counties/610528/ranking?from=2026-09&to=2026-09&township=城关街道").get_data(as_text=True)
    assert "没有符合筛选条件的学校" in html or re.findall(r'<tr data-school="(\d+)">', html) == []


def test_sort_rows_keeps_ties_by_code_and_unscored_last() -> None:
    from district.dashboard.views import sort_rows

    table = [
        ("3", "80.00", "junior"),
        ("1", None, "primary"),
        ("2", "80.00", "kindergarten"),
        ("4", "91.50", "primary"),
    ]
    rows = [{"school_code": c, "score": s, "type": t} for c, s, t in table]
    assert [r["school_code"] for r in sort_rows(rows, "score", "desc")] == ["4", "2", "3", "1"]
    assert [r["school_code"] for r in sort_rows(rows, "score", "asc")] == ["2", "3", "4", "1"]
    assert [r["school_code"] for r in sort_rows(rows, "type", "asc")] == ["2", "1", "4", "3"]


def test_score_explanation_shows_the_indicator_rows(client: Any, session: Any, users: Any) -> None:
    from district.scoring.ranking import school_score

    submit(session, "6105280001", "2026-09", OCT3)
    sign_in(client, "admin")
    resp = client.get("/schools/6105280001/explain?from=2026-09&to=2026-09&fragment=1")
    assert resp.status_code == 200
    score = school_score(session, "6105280001", "2026-09", "2026-09")
    html = resp.get_data(as_text=True)
    assert "<html" not in html  # a fragment for the ranking page
    for row in score["indicators"]:
        assert f'<td class="code">{row["code"]}</td>' in html
    assert "待县局现场督查" in html  # the awaiting_inspection flag, in words (the one catalog of explanations)
    # each row leads with the catalog's plain sentence, its formula and figures in a 计算明细 fold-out
    assert "Σ sample_retention_days" not in html and "participating months" not in html
    from district.scoring.explain_text import render_row

    c1 = next(r for r in score["indicators"] if r["code"] == "C1")
    text = render_row(c1, "zh")
    assert f'<p class="sentence">{text.sentence}</p>' in html
    assert html.count("<summary>计算明细</summary>") == len(score["indicators"])
    for name_zh, value in text.inputs:
        assert f"<dt>{name_zh}</dt><dd>{value}</dd>" in html and not name_zh.isascii()


def test_bad_window_is_400_with_the_reason(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    resp = client.get("/counties/610528/ranking?from=2026-10&to=2026-09")
    assert resp.status_code == 400 and "晚于" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- school page and diff


def test_school_page_lists_every_revision_in_shanghai_time(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-09", OCT3)
    submit(session, "6105280001", "2026-09", OCT3 + dt.timedelta(days=3), safety__drills=3)
    sign_in(client, "school")
    resp = client.get("/schools/6105280001/?from=2026-09&to=2026-09")
    assert resp.status_code == 200
    reports = section(resp, "reports")
    assert "2026-10-03 10:30:00" in reports and "2026-10-06 10:30:00" in reports
    assert reports.count('data-period="2026-09"') == 2
    assert "生效中" in reports and "已被取代" in reports
    assert "录入实地检查" not in text(resp)  # a school viewer records no inspections
    assert 'href="/counties/610528/"' not in text(resp)  # … nor sees the county pages


def test_school_fund_history_shows_money_with_two_decimals(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-09", OCT3, nutrition__funds_received="67235.00")
    sign_in(client, "admin")
    fund = section(client.get("/schools/6105280001/?from=2026-09&to=2026-09"), "fund")
    assert "67,235.00" in fund and "65,305.35" in fund and "2,986.00" in fund
    assert "资金使用率" in fund


def test_diff_lists_the_changed_fields_with_the_standards_labels(client: Any, session: Any, users: Any) -> None:
    first = submit(session, "6105280001", "2026-09", OCT3)
    second = submit(
        session,
        "6105280001",
        "2026-09",
        OCT3 + dt.timedelta(days=1),
        safety__drills=4,
        nutrition__supply_mode="canteen",
        hazards=[
            {
                "ref": "YH-9",
                "found_on": "2026-09-02",
                "category": "fire",
                "severity": "general",
                "description": "灭火器过期",
                "deadline": "2026-09-30",
                "rectified_on": None,
            }
        ],
    )
    from district.reports.models import ReportRevision

    ids = {r.report_id: r.id for r in session.scalars(select(ReportRevision))}
    sign_in(client, "admin")
    resp = client.get(f"/schools/6105280001/diff?a={ids[second.report_id]}&b={ids[first.report_id]}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    paths = re.findall(r'data-path="([^"]+)"', html)
    assert "/safety/drills" in paths and "/nutrition/supply_mode" in paths
    assert "/hazards/YH-9/description" in paths and "/report_id" not in paths
    changes = section(resp, "changes")
    assert "应急疏散演练次数" in changes and "企业(单位)供餐" in changes and "学校食堂供餐" in changes
    assert changes.index("企业(单位)供餐") < changes.index("学校食堂供餐")  # older revision on the left


def test_diff_of_another_schools_revision_is_404(client: Any, session: Any, users: Any) -> None:
    submit(session, "6105280001", "2026-09", OCT3)
    submit(session, "6105280002", "2026-09", OCT3)
    from district.reports.models import ReportRevision

    revs = {r.school_code: r.id for r in session.scalars(select(ReportRevision))}
    sign_in(client, "admin")
    resp = client.get(f"/schools/6105280001/diff?a={revs['6105280001']}&b={revs['6105280002']}")
    assert resp.status_code == 404
    assert client.get("/schools/6105280001/diff?a=x&b=1").status_code == 400


def test_revision_diff_rules() -> None:
    from district.dashboard.queries import is_absent, revision_diff
    from tests.conftest import example_report

    a = example_report()
    b = example_report()
    b["dormitory"]["unified_items"] = list(reversed(a["dormitory"]["unified_items"]))  # order is not a change
    b["hazards"] = list(reversed(a["hazards"]))
    assert revision_diff(a, b) == []
    b["nutrition"] = {"participating": False}
    changes = {c.path: c for c in revision_diff(a, b)}
    assert changes["/nutrition/participating"].kind == "changed"
    assert changes["/nutrition/meals_served"].kind == "removed" and is_absent(changes["/nutrition/meals_served"].after)
    assert next(c.path for c in revision_diff(b, a)) == "/nutrition/participating"


# ---------------------------------------------------------------- fund report page


def test_fund_page_shows_the_fund_report_and_its_downloads(client: Any, session: Any, users: Any) -> None:
    from district.nutrition.services import fund_report

    submit(session, "6105280001", "2026-09", OCT3)
    sign_in(client, "viewer")
    resp = client.get("/counties/610528/fund?from=2026-09&to=2026-09")
    assert resp.status_code == 200
    report = fund_report(session, "610528", "2026-09", "2026-09").to_dict()
    totals = section(resp, "county-totals")
    received = Decimal(report["county"]["funds_received"])
    assert f"{received:,.2f}" in totals
    downloads = section(resp, "downloads")
    assert "/api/v1/counties/610528/nutrition?format=xlsx&amp;from=2026-09&amp;to=2026-09" in downloads
    # the PDF is asked for as a job (the download centre has it), not a link that blocks while it renders
    assert 'data-url="/api/v1/counties/610528/nutrition/pdf"' in downloads
    assert """data-body='{"from": "2026-09", "to": "2026-09"}'""" in downloads
    assert "庄里镇初级中学" in section(resp, "non-reporting")


def test_fund_window_too_long_is_refused(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    resp = client.get("/counties/610528/fund?from=2020-01&to=2026-09")
    assert resp.status_code == 400 and "最长 36 个月" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- approval


def test_lock_and_unlock_through_the_page_with_the_audit_trail(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    page = client.get("/counties/610528/approval?period=2026-09")
    assert "本期尚未审核锁定过" in text(page)
    # the state in words of its own (not the hazard ledger's 未整改) and what the lock approves
    assert "未锁定" in section(page, "state") and "未整改" not in text(page)
    scope = section(page, "scope")
    assert "未报送学校" in scope and "本月资金异常" in scope
    # the first POST only asks to confirm: nothing is locked yet
    ask = client.post(
        "/counties/610528/approval/2026-09/lock", data={"note": "已核对", "csrf_token": page_csrf(client)}
    )
    assert ask.status_code == 200 and 'id="confirm-form"' in ask.get_data(as_text=True)
    assert "确认审核锁定 2026-09" in text(ask) and "未锁定" in section(ask, "state")
    assert not session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("period.%"))).all()
    resp = client.post(
        "/counties/610528/approval/2026-09/lock",
        data={"note": "已核对", "confirm": "yes", "csrf_token": page_csrf(client)},
    )
    assert resp.status_code == 302 and "done=lock" in resp.headers["Location"]
    result = client.get(resp.headers["Location"])
    assert "2026-09 已审核锁定：学校不能再报送该月的修订。" in text(result)
    again = client.post(
        "/counties/610528/approval/2026-09/lock", data={"confirm": "yes", "csrf_token": page_csrf(client)}
    )
    assert again.status_code == 409 and "本期已审核锁定" in text(again)
    page = client.get("/counties/610528/approval?period=2026-09")
    assert "已审核锁定" in section(page, "state") and "已核对" in section(page, "history")
    assert "bureau" not in section(page, "history") and "富平县管理员" in section(page, "history")  # the actor by name
    # a revision arriving after approval (e.g. after an unlock) is listed
    done = client.post(
        "/counties/610528/approval/2026-09/unlock", data={"confirm": "yes", "csrf_token": page_csrf(client)}
    )
    assert "已解除锁定" in text(client.get(done.headers["Location"]))
    submit(session, "6105280001", "2026-09", dt.datetime.now(UTC))
    since = section(client.get("/counties/610528/approval?period=2026-09"), "since")
    assert "庄里镇中心小学" in since and "第 1 版" in since
    acts = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("period.%"))).all()
    assert acts == ["period.lock", "period.unlock"]


def test_approval_page_in_english_says_the_state(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    client.post("/language", data={"lang": "en", "csrf_token": page_csrf(client)})
    page = client.get("/counties/610528/approval?period=2026-09")
    assert "Not locked" in section(page, "state")


@pytest.mark.parametrize("username", ["viewer", "city"])
def test_viewer_and_city_see_approval_but_cannot_lock(client: Any, session: Any, users: Any, username: str) -> None:
    sign_in(client, username)
    page = client.get("/counties/610528/approval?period=2026-09")
    assert page.status_code == 200 and 'id="lock-form"' not in page.get_data(as_text=True)
    assert "未锁定" in section(page, "state") and "只能查看本页" in text(page)
    for data in ({}, {"confirm": "yes"}):
        resp = client.post("/counties/610528/approval/2026-09/lock", data={**data, "csrf_token": page_csrf(client)})
        assert resp.status_code == 403
    assert not session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("period.%"))).all()


# ---------------------------------------------------------------- inspections


def test_inspection_form_records_through_the_scoring_service(client: Any, session: Any, users: Any) -> None:
    from district.scoring.models import Inspection

    sign_in(client, "admin")
    form = client.get("/schools/6105280001/inspection")
    assert form.status_code == 200 and "富平县管理员" in form.get_data(as_text=True)  # inspector prefilled
    resp = client.post(
        "/schools/6105280001/inspection",
        data={
            "date": "2026-10-12",
            "score": "4.5",
            "inspector": "县局督导 张",
            "notes": "校园文化墙完整",
            "csrf_token": page_csrf(client),
        },
    )
    assert resp.status_code == 302 and "saved=inspection" in resp.headers["Location"]
    insp = session.scalars(select(Inspection)).one()
    assert (insp.date.isoformat(), insp.score, insp.recorded_by) == ("2026-10-12", Decimal("4.5"), "admin")


@pytest.mark.parametrize(
    "score,message",
    [("5.5", "督查得分应在 0 到 5 之间"), ("4.25", "督查得分最多一位小数"), ("abc", "督查得分应为 0–5 的数")],
)
def test_inspection_form_shows_the_services_errors(
    client: Any, session: Any, users: Any, score: str, message: str
) -> None:
    sign_in(client, "admin")
    resp = client.post(
        "/schools/6105280001/inspection",
        data={"date": "2026-10-12", "score": score, "inspector": "张", "csrf_token": page_csrf(client)},
    )
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert f'value="{score}"' in resp.get_data(as_text=True)  # what was typed stays in the form


def test_viewer_gets_403_on_the_inspection_form(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "viewer")
    assert client.get("/schools/6105280001/inspection").status_code == 403


# ---------------------------------------------------------------- display rules


def test_money_and_time_filters() -> None:
    from district.dashboard.i18n import format_money_display, format_rate, format_shanghai

    assert format_money_display(Decimal("81900")) == "81,900.00"
    assert format_money_display("0.005") == "0.01"  # half up
    assert format_money_display(None) == "—"
    with pytest.raises(TypeError):
        format_money_display(1.5)
    assert format_shanghai(dt.datetime(2026, 10, 5, 15, 59, tzinfo=UTC)) == "2026-10-05 23:59"
    with pytest.raises(ValueError, match="naive"):
        format_shanghai(dt.datetime(2026, 10, 5, 15, 59))
    assert format_rate("0.9500") == "95.0%" and format_rate(None) == "—"


def test_pages_send_security_headers(client: Any, session: Any, users: Any) -> None:
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_echarts_is_served_from_our_own_static_files(client: Any, session: Any, users: Any) -> None:
    resp = client.get("/static/vendor/echarts.min.js")
    assert resp.status_code == 200 and len(resp.data) > 500_000
    resp.close()
    sign_in(client, "admin")
    html = client.get("/counties/610528/?period=2026-09").get_data(as_text=True)
    assert '<script src="/static/vendor/echarts.min.js"' in html
    assert "http://" not in html.split("<body")[0] and "https://" not in html


def test_cached_views_equal_the_scoring_services(session: Any, users: Any) -> None:
    from district import readcache
    from district.dashboard import cache
    from district.registry.models import County
    from district.scoring import campaign, ranking, snapshots

    submit(session, "6105280001", "2026-09", OCT3)
    submit(session, "6105280002", "2026-09", OCT3, safety__drills=2)
    county = session.get(County, "610528")
    for _ in range(2):  # made, then read back
        assert cache.school_score(session, "6105280001", "610528", "2026-09", "2026-09") == ranking.school_score(
            session, "6105280001", "2026-09", "2026-09"
        )
        assert cache.county_ranking(session, "610528", "2026-09", "2026-09", by_type=True) == ranking.county_ranking(
            session, "610528", "2026-09", "2026-09", by_type=True
        )
        assert cache.county_campaign_progress(session, county, 2026) == campaign.county_campaign_progress(
            session, "610528", 2026
        )
        assert readcache.period_anomalies(session, county, "2026-09") == list(
            __import__("district.nutrition.services", fromlist=["x"]).county_period_anomalies(
                session, "610528", "2026-09"
            )
        )
    with pytest.raises(snapshots.NotRanked):
        cache.school_score(session, "6105280004", "610528", "2026-09", "2026-09")  # opened in October


def test_a_new_revision_moves_the_watermark(session: Any, users: Any) -> None:
    from district import readcache
    from district.registry.models import County

    county = session.get(County, "610528")
    submit(session, "6105280001", "2026-09", OCT3)
    before = readcache.period_anomalies(session, county, "2026-09")
    mark = readcache.county_watermark(session, county)
    submit(session, "6105280001", "2026-09", OCT3 + dt.timedelta(hours=1), nutrition__other_spend="10.00")
    assert readcache.county_watermark(session, county) != mark
    after = readcache.period_anomalies(session, county, "2026-09")
    assert "MISUSE" in {a.code for a in after} and "MISUSE" not in {a.code for a in before}


def test_pages_show_what_the_api_shows_with_or_without_a_broker_and_store_nothing(
    client: Any, session: Any, users: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import func, select

    from district.scoring import tasks
    from district.scoring.models import RankingSnapshot

    submit(session, "6105280001", "2026-09", OCT3)
    sign_in(client, "admin")
    url = "/counties/610528/ranking?from=2026-09&to=2026-09"
    first = re.findall(r">(\d+\.\d\d)</a>", client.get(url).get_data(as_text=True))
    assert first
    with monkeypatch.context() as m:
        m.setattr(tasks, "redis_client", lambda app: object())  # a broker is configured
        submit(session, "6105280001", "2026-09", OCT3 + dt.timedelta(days=1), safety__drills=0, safety__inspections=0)
        shown = re.findall(r">(\d+\.\d\d)</a>", client.get(url).get_data(as_text=True))
    assert shown != first  # the page shows the current figures, as the API does: one truth
    bearer = {"Authorization": "Bearer " + _token(session)}
    api = client.get("/api/v1/counties/610528/rankings?from=2026-09&to=2026-09", headers=bearer).get_json()
    assert [s["score"] for s in api["schools"] if s["score"] is not None] == shown
    assert session.scalar(select(func.count()).select_from(RankingSnapshot)) == 0  # reads never write


def _token(session: Any) -> str:
    from sqlalchemy import select

    from district.auth.models import User
    from district.auth.services import create_token

    admin = session.scalars(select(User).where(User.username == "admin")).one()
    return create_token(session, admin, "t")
