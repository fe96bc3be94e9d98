"""The inspection page with the checklist and the findings (issue 20 item 5): radios per checklist code,
empty finding rows, the score made by the service, and each error in Chinese next to its field."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from district.reports.models import InspectionFinding
from district.scoring.models import Inspection
from tests.district.dashboard.conftest import page_csrf, sign_in

URL = "/schools/6105280001/inspection"


def _post(client: Any, **extra: str) -> Any:
    data = {
        "date_y": "2026",
        "date_m": "10",
        "date_d": "12",
        "score": "",
        "inspector": "县局督导 张",
        "csrf_token": page_csrf(client),
        **extra,
    }
    return client.post(URL, data=data)


def _field_error(html: str, anchor: str) -> str:
    """The error messages shown in the table row or cell that contains ``anchor``."""
    row = next(r for r in re.findall(r"<tr.*?</tr>", html, re.S) if anchor in r)
    return " ".join(re.findall(r'<span class="field-error"[^>]*>(.*?)</span>', row))


def test_the_form_lists_the_checklist_and_empty_finding_rows(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    html = client.get(URL).get_data(as_text=True)
    assert 'name="item_B2"' in html and 'name="item_CK1"' in html and "食堂从业人员晨检记录" in html
    for label in ("合格", "不合格", "不适用", "发现的问题", "整改期限"):
        assert label in html
    assert html.count('name="finding_0_category"') == 1 and 'name="finding_2_description"' in html
    assert 'name="finding_3_description"' not in html  # three empty rows
    assert "消防" in html and "重大" in html  # categories and severities in words


def test_a_checklist_visit_from_the_form(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    resp = _post(
        client,
        item_A1="pass",
        item_A2="pass",
        item_B2="pass",
        item_CK1="fail",
        note_CK1="晨检记录缺 3 天",
        item_CK2="not_applicable",
        finding_0_category="food",
        finding_0_severity="major",
        finding_0_description="晨检记录不全",
        finding_0_deadline_y="2026",
        finding_0_deadline_m="11",
        finding_0_deadline_d="30",
        finding_1_category="",
        finding_1_description="",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    insp = session.scalars(select(Inspection)).one()
    assert insp.score == Decimal("3.8")  # 3 passed, 1 failed: 15/4 = 3.75 → 3.8
    assert {"code": "CK1", "result": "fail", "note": "晨检记录缺 3 天"} in insp.items
    [finding] = session.scalars(select(InspectionFinding)).all()
    assert (finding.ref, finding.category, finding.severity, finding.deadline.isoformat()) == (
        f"DC-{insp.id}-1",
        "food",
        "major",
        "2026-11-30",
    )


def test_errors_are_shown_in_chinese_next_to_their_field(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    resp = _post(
        client,
        score="4",
        item_A1="pass",
        finding_1_category="fire",
        finding_1_severity="major",
        finding_1_description="灭火器过期",
        finding_1_deadline_y="2026",
        finding_1_deadline_m="10",
        finding_1_deadline_d="1",
        finding_2_description="没有选类别",
    )
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "按检查清单督查时得分由检查项目算出，不能另填得分" in html
    assert "整改期限（2026年10月1日）不能早于督查日期" in _field_error(html, "finding_1_description")
    assert "隐患类别应为" in _field_error(html, "finding_2_description")
    assert _field_error(html, "finding_0_description") == ""
    assert "灭火器过期" in html and 'value="pass" aria-label' in html  # what was entered stays
    assert session.scalars(select(Inspection)).all() == []


def _pdf_text(pdf: bytes, tmp_path: Any) -> str:
    import subprocess

    path = tmp_path / "inspections.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_the_inspection_report_pdf_has_a_page_per_visit(client: Any, session: Any, users: Any, tmp_path: Any) -> None:
    from district.scoring import inspections

    sign_in(client, "admin")
    assert client.get("/schools/6105280001/inspections.pdf").status_code == 404  # no visit yet
    html = client.get("/schools/6105280001/").get_data(as_text=True)
    assert "inspections.pdf" not in html
    first = inspections.record_inspection(
        session, "6105280001", date="2026-09-03", score="4.5", inspector="县局督导 李", actor="t"
    )
    second = inspections.record_inspection(
        session,
        "6105280001",
        date="2026-10-12",
        score=None,
        inspector="县局督导 张",
        items=[
            {"code": "B2", "result": "pass", "note": "文化墙完整"},
            {"code": "CK1", "result": "fail", "note": "晨检记录缺 3 天"},
            {"code": "CK5", "result": "not_applicable", "note": None},
        ],
        findings=[{"category": "food", "severity": "major", "description": "晨检记录不全", "deadline": "2026-11-30"}],
        actor="t",
    )
    session.flush()
    html = client.get("/schools/6105280001/").get_data(as_text=True)
    assert "/schools/6105280001/inspections.pdf" in html and "督查记录（PDF，每次督查一页）" in html
    resp = client.get("/schools/6105280001/inspections.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "private, no-store" and "attachment" in resp.headers["Content-Disposition"]
    text = _pdf_text(resp.data, tmp_path)
    pages = text.split("\f")
    assert "2026年10月12日" in pages[0] and "2026年9月3日" in pages[1]  # newest first, one page each
    visit = pages[0]
    for words in ("庄里镇中心小学", "县局督导 张", "2.5", "合格 1 项，不合格 1 项", "食堂从业人员晨检记录", "不合格",
                  "晨检记录缺 3 天", "不适用", f"DC-{second.id}-1", "食品", "重大", "晨检记录不全", "2026年11月30日",
                  "检查人（签字）", "学校负责人（签字）"):  # fmt: skip
        assert words in visit, words
    assert "4.5" in pages[1] and "未发现问题" in pages[1] and "检查人（签字）" in pages[1]
    one = client.get(f"/schools/6105280001/inspections.pdf?visit={first.id}")
    assert one.status_code == 200 and "2026年10月12日" not in _pdf_text(one.data, tmp_path)
    assert client.get("/schools/6105280001/inspections.pdf?visit=abc").status_code == 404
    assert client.get(f"/schools/6105280002/inspections.pdf?visit={first.id}").status_code == 404


def test_the_form_is_in_chinese_words_only(client: Any, session: Any, users: Any) -> None:
    sign_in(client, "admin")
    html = client.get(URL).get_data(as_text=True)
    body = html.split("<body", 1)[1].split(">", 1)[1]
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", body, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)
    assert not {w for w in re.findall(r"[A-Za-z]{4,}", text)} - {"English"}  # the language switch
    assert "检查清单" in text and "不适用" in text and "未检查" in text
