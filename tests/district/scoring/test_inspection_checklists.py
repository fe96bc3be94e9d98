"""督查 with a checklist (issue 20 item 5; SCORING.md "On-site inspections with a checklist"): the score made
from the items (hand-computed), B2 reading it, every refused input naming its field, the API's answer and the
audit entry. The findings in the hazard ledger: tests/district/reports/test_inspection_findings.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from district.audit.models import AuditEntry
from district.reports.models import InspectionFinding
from district.scoring import checklists, inspections, ranking
from district.scoring.engine import Window
from district.scoring.models import Inspection
from tests.district.scoring.helpers_scoring_db import YEAR_FROM, YEAR_TO, bearer, seed_county

W = Window(YEAR_FROM, YEAR_TO)
URL = "/api/v1/schools/6105280002/inspections"


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    return seed_county(session)


def _items(*results: str) -> list[dict[str, Any]]:
    codes = ["A1", "A2", "B1", "C1", "CK1", "CK2", "D1", "D2", "E1"]
    return [{"code": codes[i], "result": r, "note": ""} for i, r in enumerate(results)]


def _finding(**overrides: Any) -> dict[str, Any]:
    return {"category": "fire", "severity": "major", "description": "灭火器过期", "deadline": "2026-10-31", **overrides}


def _indicator(session: Any, code: str, indicator_code: str, window: Window = W) -> dict[str, Any]:
    return next(i for i in ranking.school_score(session, code, window)["indicators"] if i["code"] == indicator_code)


# ------------------------------------------------------------------------------------------------ the score


@pytest.mark.parametrize(
    ("results", "score"),
    [
        (("pass", "pass", "pass", "fail", "not_applicable"), Decimal("3.8")),  # 15/4 = 3.75 → 3.8
        (("pass", "fail", "fail", "fail"), Decimal("1.3")),  # 5/4 = 1.25 → 1.3 (half up, not to even)
        (("pass", "fail", "fail"), Decimal("1.7")),  # 5/3 = 1.666… → 1.7
        (("pass", "pass", "pass", "pass", "pass", "pass", "pass", "fail"), Decimal("4.4")),  # 35/8 = 4.375
        (("pass", "not_applicable"), Decimal("5.0")),
        (("fail", "fail"), Decimal("0.0")),
        (("not_applicable", "not_applicable"), None),  # no applicable item: no score
    ],
)
def test_the_score_is_made_from_the_items(
    session: Any, seeded: dict[str, int], results: tuple[str, ...], score: Any
) -> None:
    insp = inspections.record_inspection(
        session, "6105280002", date="2026-10-15", score=None, inspector="后勤科", items=_items(*results), actor="t"
    )
    assert insp.score == score
    assert [i["result"] for i in insp.items] == list(results)


def test_b2_reads_a_checklist_score_and_ignores_a_visit_without_one(session: Any, seeded: dict[str, int]) -> None:
    inspections.record_inspection(
        session,
        "6105280002",
        date="2026-10-10",
        score=None,
        inspector="x",
        items=_items("pass", "fail", "pass", "pass"),
        actor="t",
    )  # 15/4 → 3.8
    b2 = _indicator(session, "6105280002", "B2")
    assert b2["earned"] == "3.80"
    # a later visit with no applicable item has no score: B2 still reads the 3.8 visit
    inspections.record_inspection(
        session, "6105280002", date="2026-10-20", score=None, inspector="x", items=_items("not_applicable"), actor="t"
    )
    assert _indicator(session, "6105280002", "B2")["earned"] == "3.80"
    only = inspections.record_inspection(
        session, "6105280001", date="2026-10-20", score=None, inspector="x", items=_items("not_applicable"), actor="t"
    )
    assert only.score is None
    assert "awaiting_inspection" in ranking.school_score(session, "6105280001", W)["flags"]


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"score": 4, "items": _items("pass")}, [("/score", "score_with_items")]),
        ({"items": [{"code": "Z9", "result": "pass"}]}, [("/items/0/code", "unknown_code")]),
        ({"items": [*_items("pass"), {"code": "XX", "result": "fail"}]}, [("/items/1/code", "unknown_code")]),
        ({"items": [{"code": "A1", "result": "ok"}]}, [("/items/0/result", "invalid_result")]),
        (
            {"items": [{"code": "A1", "result": "pass"}, {"code": "A1", "result": "fail"}]},
            [("/items/1/code", "duplicate")],
        ),
        ({"items": [{"code": "A1", "result": "pass", "score": 1}]}, [("/items/0/score", "unknown_field")]),
        ({"items": []}, [("/items", "empty")]),
        ({"items": {"A1": "pass"}}, [("/items", "invalid_type")]),
        (
            {"score": 4, "findings": [_finding(deadline="2026-10-14")]},
            [("/findings/0/deadline", "deadline_before_visit")],
        ),
        ({"score": 4, "findings": [_finding(), _finding(category="roof")]}, [("/findings/1/category", "invalid_enum")]),
        ({"score": 4, "findings": [_finding(severity="high")]}, [("/findings/0/severity", "invalid_enum")]),
        ({"score": 4, "findings": [_finding(description=" ")]}, [("/findings/0/description", "required")]),
        ({"score": 4, "findings": [_finding(deadline="2026-13-01")]}, [("/findings/0/deadline", "invalid_date")]),
        ({"score": 4, "findings": [{**_finding(), "ref": "DC-1-1"}]}, [("/findings/0/ref", "unknown_field")]),
        ({"findings": [_finding(deadline="2026-10-31")]}, [("/score", "required")]),
    ],
)
def test_bad_checklists_are_refused_naming_the_field(
    client: Any, session: Any, seeded: dict[str, int], body: dict[str, Any], details: list[tuple[str, str]]
) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    resp = client.post(URL, headers=admin, json={"date": "2026-10-15", "inspector": "后勤科", **body})
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["code"] == "validation_failed"
    assert [(d["path"], d["code"]) for d in resp.json["error"]["details"]] == details
    assert all(d["message"] for d in resp.json["error"]["details"])
    assert session.scalars(select(Inspection)).all() == []
    assert session.scalars(select(InspectionFinding)).all() == []


def test_the_refusals_are_in_chinese(client: Any, session: Any, seeded: dict[str, int]) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    resp = client.post(
        URL,
        headers=admin,
        json={"date": "2026-10-15", "inspector": "x", "score": 4, "findings": [_finding(deadline="2026-10-01")]},
    )
    assert resp.json["error"]["details"] == [
        {
            "path": "/findings/0/deadline",
            "code": "deadline_before_visit",
            "message": "整改期限（2026年10月1日）不能早于督查日期",
        }
    ]
    resp = client.post(
        URL, headers=admin, json={"date": "2026-10-15", "inspector": "x", "items": [{"code": "Q", "result": "pass"}]}
    )
    assert resp.json["error"]["details"][0]["message"] == "检查项目编号 Q 不在本县的检查清单中"


def test_a_checklist_over_the_api(client: Any, session: Any, seeded: dict[str, int]) -> None:
    admin = bearer(session, "county_admin", "610528", "admin")
    resp = client.post(
        URL,
        headers=admin,
        json={
            "date": "2026-10-15",
            "inspector": "教育局后勤科",
            "items": [*_items("pass", "pass", "pass", "fail", "not_applicable")],
            "findings": [
                _finding(deadline="2026-10-31"),
                _finding(category="food", severity="general", deadline="2026-11-15"),
            ],
        },
    )
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["score"] == 3.8 and len(body["items"]) == 5
    n = body["id"]
    assert [f["ref"] for f in body["findings"]] == [f"DC-{n}-1", f"DC-{n}-2"]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "inspection.add")).one()
    assert audit.details["score"] == "3.8" and audit.details["items"][3] == {"code": "C1", "result": "fail", "note": ""}
    assert [f["ref"] for f in audit.details["findings"]] == [f"DC-{n}-1", f"DC-{n}-2"]
    assert audit.details["findings"][1]["deadline"] == "2026-11-15" and audit.chain_key == "610528"


def test_the_checklist_is_the_rubric_and_the_county_list(session: Any, county: Any) -> None:
    codes = [i.code for i in checklists.checklist(session, county)]
    assert codes[:3] == ["A1", "A2", "A3"] and codes[-5:] == ["CK1", "CK2", "CK3", "CK4", "CK5"]
    assert "D1" in checklists.checklist_codes(session, county)
