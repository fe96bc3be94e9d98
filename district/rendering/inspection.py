"""The inspection report 督查记录 (issue 20 item 5) as a PDF, through the one rendering pipeline.

One page per visit (``templates/pdf/inspection_report.html``): the school, the date, the inspector, the score
(given, or made from the checklist), each checklist item with its result, each problem found with its hazard
ref, severity and deadline, and the signature lines 检查人 / 学校负责人. Words only on the face, save the hazard
refs ``DC-<inspection>-<n>`` the school writes back into its 隐患台账; ids and who recorded the visit are in
the 审计信息 appendix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district.printing import render_html, render_pdf, render_pdf_bounded
from district.registry.models import County, School, Township
from district.scoring.checklists import RESULTS, checklist, findings_of
from district.scoring.models import Inspection
from houqin_standard import ENUM_LABELS, SHANGHAI

TEMPLATE = "inspection_report.html"


def _day(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def school_inspections(session: Session, school_code: str, inspection_id: int | None = None) -> list[Inspection]:
    """The school's visits, newest first (on one date the latest recorded first); one visit with its id."""
    query = select(Inspection).where(Inspection.school_code == school_code)
    if inspection_id is not None:
        query = query.where(Inspection.id == inspection_id)
    return list(session.scalars(query.order_by(Inspection.date.desc(), Inspection.id.desc())))


def has_inspections(session: Session, school_code: str) -> bool:
    return session.scalar(select(Inspection.id).where(Inspection.school_code == school_code).limit(1)) is not None


def inspection_report_html(session: Session, school: School, visits: Sequence[Inspection]) -> str:
    county = session.get(County, school.county_code)
    township = session.get(Township, school.township_id)
    assert county is not None and township is not None
    titles = {i.code: i.title_zh for i in checklist(session, county)}
    categories = {k: zh for k, (zh, _en) in ENUM_LABELS["hazard_category"].items()}
    severities = {k: zh for k, (zh, _en) in ENUM_LABELS["severity"].items()}
    pages: list[dict[str, Any]] = []
    audit: list[tuple[str, str]] = [("学校代码", school.code)]
    for insp in visits:
        items = insp.items or []
        pages.append(
            {
                "date": _day(insp.date),
                "inspector": insp.inspector,
                "score": "无（没有适用的检查项目）" if insp.score is None else f"{insp.score:f}",
                "from_items": insp.items is not None,
                "passed": sum(1 for i in items if i["result"] == "pass"),
                "failed": sum(1 for i in items if i["result"] == "fail"),
                "notes": insp.notes or "",
                "checks": [
                    {"title": titles.get(i["code"], i["code"]), "result": RESULTS[i["result"]][0], "note": i["note"]}
                    for i in items
                ],
                "findings": [
                    {
                        "ref": f.ref,
                        "category": categories.get(f.category, f.category),
                        "severity": severities.get(f.severity, f.severity),
                        "description": f.description,
                        "deadline": _day(f.deadline),
                    }
                    for f in findings_of(session, insp.id)
                ],
            }
        )
        recorded = insp.recorded_at.astimezone(SHANGHAI).isoformat(timespec="seconds")
        audit.append((f"督查记录 {_day(insp.date)}", f"编号 {insp.id}，{insp.recorded_by} 录入于 {recorded}"))
    return render_html(
        TEMPLATE,
        county=county.name,
        school_name=school.name,
        township=township.name,
        pages=pages,
        audit=audit,
    )


def inspection_report_pdf(
    session: Session,
    school: School,
    visits: Sequence[Inspection],
    *,
    bounded: bool = False,
    timeout_s: float = 60,
    max_rss_mb: int = 1024,
) -> bytes:
    """The PDF bytes; ``bounded`` renders in a forked child limited in time and memory (web requests)."""
    html = inspection_report_html(session, school, visits)
    if bounded:
        return render_pdf_bounded(html, timeout_s=timeout_s, max_rss_mb=max_rss_mb)
    return render_pdf(html)
