"""The review queue page and the review forms (issue 18): 待审核 by township, oldest first, with anomalies and
warnings; 通过 at once, 退回 after a confirmation; a flash message in Chinese; the school page's 审核 section; the
township_admin's scope; the approval page's review counts and the extra confirmation to lock with returns."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select

from district.audit.models import AuditEntry
from tests.district.dashboard.conftest import PASSWORD, page_csrf, sign_in, submit

UTC = dt.UTC


def text(resp: Any) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


def section(resp: Any, ident: str) -> str:
    html = resp.get_data(as_text=True)
    start = html.index(f'id="{ident}"')
    return re.sub(r"\s+", " ", html[start : html.index("</section>", start)])


@pytest.fixture()
def reports(session: Any, users: Any) -> dict[str, str]:
    """2026-10 reports of three schools of two townships, received in this order: 0002, 0004, 0001."""
    out = {}
    for i, code in enumerate(("6105280002", "6105280004", "6105280001")):
        out[code] = submit(session, code, "2026-10", dt.datetime(2026, 11, 2, 1, i, tzinfo=UTC)).report_id
    return out


@pytest.fixture()
def township_user(session: Any, county: Any) -> Any:
    from district.auth.services import create_user

    return create_user(session, "zhuangli", PASSWORD, "township_admin", scope="610528/庄里镇", display_name="庄里学区")


def _rows(resp: Any) -> list[str]:
    return re.findall(r'<tr data-school="(\d+)"', resp.get_data(as_text=True))


def test_queue_by_township_oldest_first_with_anomalies_and_warnings(
    client: Any, session: Any, users: Any, reports: dict[str, str]
) -> None:
    sign_in(client, "admin")
    page = client.get("/counties/610528/review?period=2026-10")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _rows(page) == ["6105280004", "6105280002", "6105280001"]  # 城关街道, then 庄里镇 oldest first
    assert html.index('data-township="城关街道"') < html.index('data-township="庄里镇"')
    assert "待审核：3 份" in text(page) and "资金异常" in text(page)
    assert html.count('name="csrf_token"') >= 6  # each row: 通过 and 退回 forms, CSRF-protected


def test_approve_from_the_queue_flashes_and_leaves_the_queue(
    client: Any, session: Any, users: Any, reports: dict[str, str]
) -> None:
    sign_in(client, "admin")
    back = "/counties/610528/review?period=2026-10"
    resp = client.post(
        f"/reports/{reports['6105280001']}/review",
        data={"decision": "approved", "next": back, "csrf_token": page_csrf(client)},
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(back)
    page = client.get(back)
    assert "已通过：庄里镇中心小学" in text(page)
    assert _rows(page) == ["6105280004", "6105280002"]
    assert session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("review.%"))).all() == [
        "review.approved"
    ]
    # without the CSRF token: refused, nothing stored
    refused = client.post(f"/reports/{reports['6105280002']}/review", data={"decision": "approved"})
    assert refused.status_code in (400, 403)
    assert len(session.scalars(select(AuditEntry).where(AuditEntry.action.like("review.%"))).all()) == 1


def test_return_asks_to_confirm_then_the_school_page_shows_it(
    client: Any, session: Any, users: Any, reports: dict[str, str]
) -> None:
    sign_in(client, "admin")
    report_id = reports["6105280001"]
    data = {"decision": "returned", "comment": "本月结余与上月结转不符", "csrf_token": page_csrf(client)}
    ask = client.post(f"/reports/{report_id}/review", data=data)
    assert ask.status_code == 200 and 'id="confirm-form"' in ask.get_data(as_text=True)
    assert "确认退回" in text(ask) and "本月结余与上月结转不符" in text(ask)
    assert not session.scalars(select(AuditEntry).where(AuditEntry.action.like("review.%"))).all()
    done = client.post(f"/reports/{report_id}/review", data={**data, "confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/schools/6105280001/#review")
    page = client.get(done.headers["Location"])
    assert "已退回：庄里镇中心小学" in text(page)
    review = section(page, "review")
    assert "本月结余与上月结转不符" in review and "富平县管理员" in review  # the reviewer by name, not by username
    # a correction puts it back to 待审核
    submit(session, "6105280001", "2026-10", dt.datetime(2026, 11, 21, 3, 0, tzinfo=UTC))
    assert "待审核" in section(client.get("/schools/6105280001/"), "review")


def test_return_without_a_comment_is_400_naming_it(
    client: Any, session: Any, users: Any, reports: dict[str, str]
) -> None:
    sign_in(client, "admin")
    resp = client.post(
        f"/reports/{reports['6105280001']}/review",
        data={"decision": "returned", "comment": " ", "confirm": "yes", "csrf_token": page_csrf(client)},
    )
    assert resp.status_code == 400 and "审核意见" in text(resp)
    bad = client.post(
        f"/reports/{reports['6105280001']}/review", data={"decision": "maybe", "csrf_token": page_csrf(client)}
    )
    assert bad.status_code == 400 and "通过或退回" in text(bad)
    assert client.post("/reports/nope/review", data={"csrf_token": page_csrf(client)}).status_code == 404


def test_viewer_sees_the_queue_without_forms_and_cannot_decide(
    client: Any, session: Any, users: Any, reports: dict[str, str]
) -> None:
    sign_in(client, "viewer")
    page = client.get("/counties/610528/review?period=2026-10")
    assert page.status_code == 200 and "review-approve" not in page.get_data(as_text=True)
    resp = client.post(
        f"/reports/{reports['6105280001']}/review", data={"decision": "approved", "csrf_token": page_csrf(client)}
    )
    assert resp.status_code == 403


def test_township_admin_sees_and_reviews_its_township_only(
    client: Any, session: Any, users: Any, reports: dict[str, str], township_user: Any
) -> None:
    assert sign_in(client, "zhuangli").status_code == 302
    page = client.get("/counties/610528/review?period=2026-10")
    assert _rows(page) == ["6105280002", "6105280001"] and "城关新区小学" not in text(page)
    assert client.get("/schools/6105280004/").status_code == 404  # 城关街道
    assert client.get("/schools/6105280001/").status_code == 200
    other = client.post(
        f"/reports/{reports['6105280004']}/review", data={"decision": "approved", "csrf_token": page_csrf(client)}
    )
    assert other.status_code == 404
    own = client.post(
        f"/reports/{reports['6105280002']}/review", data={"decision": "approved", "csrf_token": page_csrf(client)}
    )
    assert own.status_code == 302
    # its rows only on the county pages: overview's completeness, ranking, fund
    overview = text(client.get("/counties/610528/?period=2026-10"))
    assert "城关新区小学" not in overview
    ranking = client.get("/counties/610528/ranking?from=2026-10&to=2026-10")
    assert ranking.status_code == 200 and "城关新区小学" not in text(ranking) and "庄里镇中心小学" in text(ranking)
    fund = client.get("/counties/610528/fund?from=2026-10&to=2026-10")
    assert fund.status_code == 200 and "城关新区小学" not in text(fund)
    # cannot lock: read-only approval page, 403 on the act
    approval = client.get("/counties/610528/approval?period=2026-10")
    assert approval.status_code == 200 and 'id="lock-form"' not in approval.get_data(as_text=True)
    lock = client.post(
        "/counties/610528/approval/2026-10/lock", data={"confirm": "yes", "csrf_token": page_csrf(client)}
    )
    assert lock.status_code == 403
    assert client.get("/counties/610526/").status_code == 404


def test_township_admin_api_rows_are_its_township(
    client: Any, session: Any, users: Any, reports: dict[str, str], township_user: Any
) -> None:
    from district.auth.services import create_token

    headers = {"Authorization": f"Bearer {create_token(session, township_user, 't')}"}
    comp = client.get("/api/v1/counties/610528/completeness?period=2026-10", headers=headers).json
    assert comp["expected"] == 2 and comp["reported"] == 2
    assert [t["township"] for t in comp["by_township"]] == ["庄里镇"]
    ranking = client.get("/api/v1/counties/610528/rankings?from=2026-10&to=2026-10", headers=headers).json
    assert {r["school_code"] for r in ranking["schools"]} == {"6105280001", "6105280002"}
    fund = client.get("/api/v1/counties/610528/nutrition?from=2026-10&to=2026-10", headers=headers)
    assert fund.status_code == 200 and "6105280004" not in fund.get_data(as_text=True)
    rows = client.get("/api/v1/counties/610528/reports?period=2026-10", headers=headers).json["reports"]
    assert {r["school_code"] for r in rows} == {"6105280001", "6105280002"}
    for path, key in (("/api/v1/counties/610528/hazards?status=all", "hazards"),
                      ("/api/v1/counties/610528/alerts?period=2026-10", "alerts")):  # fmt: skip
        resp = client.get(path, headers=headers)
        assert resp.status_code == 200 and {r["school_code"] for r in resp.json[key]} <= {"6105280001", "6105280002"}
    admin = {"Authorization": f"Bearer {create_token(session, users['admin'], 't')}"}
    all_hazards = client.get("/api/v1/counties/610528/hazards?status=all", headers=admin).json["hazards"]
    assert "6105280004" in {r["school_code"] for r in all_hazards}  # the filter above removed something
    found = client.get("/api/v1/schools?q=小学", headers=headers).json["schools"]
    assert [s["code"] for s in found] == ["6105280001"]
    assert client.get("/api/v1/cities/610500/overview", headers=headers).status_code == 404


def test_approval_page_counts_and_locking_with_returns_asks_again(
    client: Any, session: Any, users: Any, reports: dict[str, str]
) -> None:
    sign_in(client, "admin")
    csrf = page_csrf(client)
    client.post(f"/reports/{reports['6105280004']}/review", data={"decision": "approved", "csrf_token": csrf})
    client.post(
        f"/reports/{reports['6105280001']}/review",
        data={"decision": "returned", "comment": "请核对", "confirm": "yes", "csrf_token": csrf},
    )
    page = client.get("/counties/610528/approval?period=2026-10")
    assert "待审核报表：1 份；已退回尚未更正：1 份" in section(page, "scope")
    ask = client.post("/counties/610528/approval/2026-10/lock", data={"csrf_token": csrf})
    assert 'id="returned-warning"' in ask.get_data(as_text=True) and 'name="returned_ok"' in ask.get_data(as_text=True)
    refused = client.post("/counties/610528/approval/2026-10/lock", data={"confirm": "yes", "csrf_token": csrf})
    assert refused.status_code == 409 and "请勾选确认" in text(refused)
    assert not session.scalars(select(AuditEntry).where(AuditEntry.action == "period.lock")).all()
    done = client.post(
        "/counties/610528/approval/2026-10/lock", data={"confirm": "yes", "returned_ok": "yes", "csrf_token": csrf}
    )
    assert done.status_code == 302 and "done=lock" in done.headers["Location"]
