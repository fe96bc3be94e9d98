"""督查 with a checklist (SCORING.md "On-site inspections with a checklist"; issue 20 item 5).

An inspection may carry ``items`` (``{code, result, note}``) and ``findings`` (``{category, severity,
description, deadline}``). The score of a checklist visit is made from its items here, once:
5 × passed / (passed + failed), rounded half up to one decimal (``calendar.round_half_up``); no applicable item
→ no score (B2 reads only scored visits). Each finding is stored as an ``InspectionFinding`` with ref
``DC-<inspection id>-<n>``, which the hazard ledger (``district.reports.hazards``) lists as the school's entry.

The codes a checklist item may name: the indicator codes of the county's rubric, and the county checklist
``COUNTY_CHECKLIST`` (a constant default list: the bureau's usual 督查 points that no indicator covers).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar
from district.registry.models import County, School
from district.reports.feedback import feedback_part
from district.reports.models import InspectionFinding
from district.scoring.models import Inspection
from houqin_standard import text_issue, visible_length
from houqin_standard.fields import ENUM_LABELS
from houqin_standard.periods import period_of

#: The county checklist: codes a bureau may check besides the rubric's indicators (the seeds' 督查 points).
COUNTY_CHECKLIST: tuple[tuple[str, str, str], ...] = (
    ("CK1", "食堂从业人员晨检记录", "Canteen staff morning checks recorded"),
    ("CK2", "餐具清洗消毒", "Tableware cleaned and disinfected"),
    ("CK3", "食品留样与陪餐试尝", "Food samples kept and meals tasted"),
    ("CK4", "校舍与消防设施完好", "Buildings and fire equipment sound"),
    ("CK5", "营养改善计划公示", "Nutrition programme posted publicly"),
)

RESULTS: dict[str, tuple[str, str]] = {
    "pass": ("合格", "Pass"),
    "fail": ("不合格", "Fail"),
    "not_applicable": ("不适用", "Not applicable"),
}
CATEGORIES: dict[str, tuple[str, str]] = ENUM_LABELS["hazard_category"]
SEVERITIES: dict[str, tuple[str, str]] = ENUM_LABELS["severity"]
ITEMS_MAX = 60
FINDINGS_MAX = 30
NOTE_MAX = 500
DESCRIPTION_MAX = 500  # the standard's hazard description (houqin_standard.fields.HAZARD_FIELDS)
REF_PREFIX = "DC-"
_REF = re.compile(r"DC-([0-9]+)-([0-9]+)")


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    title_zh: str
    title_en: str


def checklist(session: Session, county: County) -> list[ChecklistItem]:
    """The county's checklist: its rubric's indicators in rubric order, then ``COUNTY_CHECKLIST``."""
    from district.scoring.county_rubrics import county_rubric

    rubric = county_rubric(session, county)
    return [ChecklistItem(i.code, i.name_zh, i.name_en) for i in rubric.indicators] + [
        ChecklistItem(*row) for row in COUNTY_CHECKLIST
    ]


def checklist_codes(session: Session, county: County) -> frozenset[str]:
    return frozenset(i.code for i in checklist(session, county))


def finding_ref(inspection_id: int, n: int) -> str:
    return f"{REF_PREFIX}{inspection_id}-{n}"


def score_from_items(items: list[dict[str, Any]]) -> Decimal | None:
    """5 × passed / (passed + failed), half up to one decimal; None when no item is applicable."""
    passed = sum(1 for i in items if i["result"] == "pass")
    failed = sum(1 for i in items if i["result"] == "fail")
    if passed + failed == 0:
        return None
    return calendar.round_half_up(Fraction(5 * passed, passed + failed), 1)


def _issue(path: str, code: str, zh: str, en: str) -> dict[str, str]:
    return {"path": path, "code": code, "zh": zh, "en": en}


def _text(
    issues: list[dict[str, str]], value: object, path: str, zh: str, en: str, limit: int, *, required: bool
) -> str | None:
    """A free-text field: refused characters, length; ``None`` when absent (and not required)."""
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            issues.append(_issue(path, "required", f"缺少{zh}", f"{en} is required"))
        return None
    if not isinstance(value, str):
        issues.append(_issue(path, "invalid_type", f"{zh}应为文字", f"{en} must be text"))
        return None
    bad = text_issue(value, f"{zh}（{path}）", f"{en} ({path})", multiline=True)
    if bad is not None:
        issues.append(_issue(path, *bad))
        return None
    text = value.strip()
    if required and visible_length(text) < 1:
        issues.append(_issue(path, "required", f"缺少{zh}", f"{en} is required"))
        return None
    if len(text) > limit:
        issues.append(_issue(path, "too_long", f"{zh}最多 {limit} 个字符", f"{en} is at most {limit} characters"))
        return None
    return text


def _objects(
    issues: list[dict[str, str]], value: object, path: str, zh: str, en: str, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        issues.append(_issue(path, "invalid_type", f"{zh}应为列表", f"{en} must be an array"))
        return []
    if not value:
        issues.append(_issue(path, "empty", f"{zh}不能为空列表", f"{en} must not be empty"))
        return []
    if len(value) > limit:
        issues.append(_issue(path, "too_many", f"{zh}最多 {limit} 条", f"{en} has at most {limit} entries"))
        return []
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            issues.append(_issue(f"{path}/{i}", "invalid_type", f"{zh}第 {i + 1} 条应为对象", "expected an object"))
            continue
        out.append((i, entry))
    return out


def validate_items(issues: list[dict[str, str]], items: object, codes: frozenset[str] | None) -> list[dict[str, Any]]:
    """The checklist items, parsed; every problem appended to ``issues`` (paths ``/items/<i>/<key>``).
    ``codes``: the codes the county's checklist knows (None: not checked here, the service checks them)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, entry in _objects(issues, items, "/items", "检查项目", "items", ITEMS_MAX):
        base = f"/items/{i}"
        for key in sorted(set(entry) - {"code", "result", "note"}):
            issues.append(_issue(f"{base}/{key}", "unknown_field", f"未知字段 {key}", f"unknown field {key}"))
        code, result = entry.get("code"), entry.get("result")
        ok = True
        if not isinstance(code, str) or not code.strip():
            issues.append(_issue(f"{base}/code", "required", "缺少检查项目编号", "the item code is required"))
            ok = False
        elif codes is not None and code.strip() not in codes:
            issues.append(
                _issue(
                    f"{base}/code",
                    "unknown_code",
                    f"检查项目编号 {code.strip()[:20]} 不在本县的检查清单中",
                    f"item code {code.strip()[:20]} is not on the county's checklist",
                )
            )
            ok = False
        elif code.strip() in seen:
            issues.append(
                _issue(f"{base}/code", "duplicate", f"检查项目 {code.strip()} 重复", f"item {code.strip()} twice")
            )
            ok = False
        if result not in RESULTS:
            issues.append(
                _issue(
                    f"{base}/result",
                    "invalid_result" if result is not None else "required",
                    "检查结果应为 合格、不合格 或 不适用",
                    "result must be pass, fail or not_applicable",
                )
            )
            ok = False
        note = _text(issues, entry.get("note"), f"{base}/note", "检查说明", "note", NOTE_MAX, required=False)
        if ok:
            assert isinstance(code, str)
            seen.add(code.strip())
            out.append({"code": code.strip(), "result": result, "note": note or ""})
    return out


def validate_findings(issues: list[dict[str, str]], findings: object, visit: dt.date | None) -> list[dict[str, Any]]:
    """The findings, parsed; a deadline before the visit (``visit``) is refused, naming its path."""
    out: list[dict[str, Any]] = []
    for i, entry in _objects(issues, findings, "/findings", "发现的问题", "findings", FINDINGS_MAX):
        base = f"/findings/{i}"
        for key in sorted(set(entry) - {"category", "severity", "description", "deadline"}):
            issues.append(_issue(f"{base}/{key}", "unknown_field", f"未知字段 {key}", f"unknown field {key}"))
        ok = True
        category, severity = entry.get("category"), entry.get("severity")
        if category not in CATEGORIES:
            names = "、".join(zh for zh, _en in CATEGORIES.values())
            issues.append(
                _issue(
                    f"{base}/category",
                    "invalid_enum" if category is not None else "required",
                    f"隐患类别应为：{names}",
                    "category must be one of " + ", ".join(CATEGORIES),
                )
            )
            ok = False
        if severity not in SEVERITIES:
            issues.append(
                _issue(
                    f"{base}/severity",
                    "invalid_enum" if severity is not None else "required",
                    "隐患等级应为 一般 或 重大",
                    "severity must be general or major",
                )
            )
            ok = False
        description = _text(
            issues, entry.get("description"), f"{base}/description", "问题描述", "description", DESCRIPTION_MAX,
            required=True,
        )  # fmt: skip
        ok = ok and description is not None
        raw = entry.get("deadline")
        deadline: dt.date | None = None
        if isinstance(raw, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            try:
                deadline = dt.date.fromisoformat(raw)
            except ValueError:
                deadline = None
        if raw is None:
            issues.append(_issue(f"{base}/deadline", "required", "缺少整改期限", "the deadline is required"))
        elif deadline is None:
            issues.append(
                _issue(f"{base}/deadline", "invalid_date", "整改期限应为 YYYY-MM-DD", "deadline must be YYYY-MM-DD")
            )
        elif visit is not None and deadline < visit:
            issues.append(
                _issue(
                    f"{base}/deadline",
                    "deadline_before_visit",
                    f"整改期限（{deadline.year}年{deadline.month}月{deadline.day}日）不能早于督查日期",
                    f"the deadline {deadline.isoformat()} is before the visit {visit.isoformat()}",
                )
            )
            deadline = None
        if ok and deadline is not None:
            out.append({"category": category, "severity": severity, "description": description, "deadline": deadline})
    return out


def add_findings(session: Session, insp: Inspection, findings: list[dict[str, Any]]) -> list[InspectionFinding]:
    """Store the visit's findings as ledger entries ``DC-<id>-<n>`` (the inspection is flushed: it has its id)."""
    rows = [
        InspectionFinding(
            inspection_id=insp.id,
            school_code=insp.school_code,
            county_code=insp.county_code,
            n=n,
            ref=finding_ref(insp.id, n),
            period=period_of(insp.date),
            found_on=insp.date,
            category=f["category"],
            severity=f["severity"],
            description=f["description"],
            deadline=f["deadline"],
        )
        for n, f in enumerate(findings, start=1)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def findings_of(session: Session, inspection_id: int) -> list[InspectionFinding]:
    return list(
        session.scalars(
            select(InspectionFinding)
            .where(InspectionFinding.inspection_id == inspection_id)
            .order_by(InspectionFinding.n)
        )
    )


def finding_dict(f: InspectionFinding) -> dict[str, Any]:
    return {
        "ref": f.ref,
        "category": f.category,
        "severity": f.severity,
        "description": f.description,
        "deadline": f.deadline.isoformat(),
    }


@feedback_part
def findings_feedback(session: Session, school: School, period: str, lang: str) -> dict[str, Any]:
    """The agent's feedback: the bureau's findings still open in the school's hazard ledger (as report entries
    with ``rectified_on: null``, so the agent copies them into its template's 隐患台账 and the school closes
    them there by their ref)."""
    from district.reports.hazards import hazard_ledger

    out = [
        {
            "ref": e.ref,
            "found_on": e.found_on.isoformat(),
            "category": e.category,
            "severity": e.severity,
            "description": e.description,
            "deadline": e.deadline.isoformat(),
            "rectified_on": None,
        }
        for e in hazard_ledger(session, school_code=school.code)
        if e.ref.startswith(REF_PREFIX) and e.rectified_on is None
    ]
    return {"inspection_findings": out}
