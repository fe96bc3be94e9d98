"""Bureau on-site inspections 督查 (B2): checked, recorded (appended, audited; a checklist visit's findings become
hazard-ledger entries, ``district.scoring.checklists``) and shown."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from district import calendar
from district.audit.services import record
from district.db import utcnow
from district.registry.models import County, School
from district.scoring.models import Inspection
from district.scoring.snapshots import iso
from houqin_standard import text_issue, visible_length

__all__ = ["InspectionError", "inspection_dict", "record_inspection", "validate_inspection"]


class InspectionError(ValueError):
    """An invalid inspection; ``issues``: ``{path, code, zh, en}`` for every problem."""

    def __init__(self, issues: list[dict[str, str]]) -> None:
        self.issues = issues
        super().__init__("；".join(i["zh"] for i in issues))

    def details(self, lang: str = "zh") -> list[dict[str, str]]:
        return [
            {"path": i["path"], "code": i["code"], "message": i["en" if lang == "en" else "zh"]} for i in self.issues
        ]


EARLIEST_INSPECTION = dt.date(2010, 1, 1)
INSPECTOR_MAX = 50
NOTES_MAX = 2000
_TENTH = Decimal("0.1")


def _issue(path: str, code: str, zh: str, en: str) -> dict[str, str]:
    return {"path": path, "code": code, "zh": zh, "en": en}


def validate_inspection(
    *,
    date: object,
    score: object,
    inspector: object,
    notes: object = None,
    items: object = None,
    findings: object = None,
    codes: frozenset[str] | None = None,
    today: dt.date | None = None,
) -> tuple[dt.date, Decimal | None, str, str | None]:
    """Check an inspection's fields; returns them parsed, or raises ``InspectionError`` listing every issue.

    With ``items`` (a checklist, ``district.scoring.checklists``) the score is made from them and a score given
    beside them is refused; ``codes`` are the county's checklist codes (None: codes not checked)."""
    return _validate_inspection(
        date=date, score=score, inspector=inspector, notes=notes, items=items, findings=findings, codes=codes,
        today=today,
    )[:4]  # fmt: skip


def _validate_inspection(
    *,
    date: object,
    score: object,
    inspector: object,
    notes: object,
    items: object,
    findings: object,
    codes: frozenset[str] | None,
    today: dt.date | None,
) -> tuple[dt.date, Decimal | None, str, str | None, list[dict[str, Any]] | None, list[dict[str, Any]]]:
    from district.scoring import checklists

    issues: list[dict[str, str]] = []
    today = today or calendar.today()
    day: dt.date | None = None
    if isinstance(date, dt.datetime):
        date = date.date()
    if isinstance(date, dt.date):
        day = date
    elif isinstance(date, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date):
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            pass
    if date is None:
        issues.append(_issue("/date", "required", "缺少督查日期", "date is required"))
    elif day is None:
        issues.append(_issue("/date", "invalid_date", "督查日期应为 YYYY-MM-DD", "date must be YYYY-MM-DD"))
    elif day > today:
        issues.append(_issue("/date", "date_in_future", "督查日期不能晚于今天", "the date is in the future"))
    elif day < EARLIEST_INSPECTION:
        issues.append(_issue("/date", "date_too_early", "督查日期不能早于 2010-01-01", "the date is before 2010-01-01"))

    value: Decimal | None = None
    parsed_items: list[dict[str, Any]] | None = None
    if items is not None:
        parsed_items = checklists.validate_items(issues, items, codes)
        if score is not None:
            issues.append(
                _issue(
                    "/score",
                    "score_with_items",
                    "按检查清单督查时得分由检查项目算出，不能另填得分",
                    "the score is made from the items: give no score beside them",
                )
            )
        score = None
    if isinstance(score, bool) or score is None:
        value = None
    elif isinstance(score, Decimal | int):
        value = Decimal(score)
    elif isinstance(score, float | str):
        try:
            value = Decimal(str(score).strip())
        except InvalidOperation:
            value = None
    if score is None:
        if items is None:
            issues.append(_issue("/score", "required", "缺少督查得分", "score is required"))
    elif value is None or not value.is_finite():
        issues.append(_issue("/score", "not_a_number", "督查得分应为 0–5 的数", "score must be a number from 0 to 5"))
    elif not Decimal(0) <= value <= Decimal(5):
        issues.append(_issue("/score", "score_out_of_range", "督查得分应在 0 到 5 之间", "score must be from 0 to 5"))
    elif value != value.quantize(_TENTH):
        issues.append(_issue("/score", "score_precision", "督查得分最多一位小数", "score has at most one decimal"))

    name = inspector.strip() if isinstance(inspector, str) else None
    bad = None if name is None else text_issue(name, "督查人（/inspector）", "inspector (/inspector)")
    if inspector is None:
        issues.append(_issue("/inspector", "required", "缺少督查人", "inspector is required"))
    elif bad is not None:  # control characters, bidi overrides (houqin_standard/text.py)
        issues.append(_issue("/inspector", *bad))
    elif name is None or not 1 <= visible_length(name) or len(name) > INSPECTOR_MAX:
        issues.append(
            _issue(
                "/inspector",
                "inspector_length",
                f"督查人应为 1–{INSPECTOR_MAX} 个字符",
                f"inspector must be 1–{INSPECTOR_MAX} characters",
            )
        )

    text: str | None = None
    if notes is not None:
        bad = text_issue(notes, "备注（/notes）", "notes (/notes)", multiline=True) if isinstance(notes, str) else None
        if not isinstance(notes, str):
            issues.append(_issue("/notes", "invalid_type", "备注应为文字", "notes must be text"))
        elif bad is not None:  # tab and line breaks are kept; other controls, NUL and bidi overrides are not
            issues.append(_issue("/notes", *bad))
        elif len(notes.strip()) > NOTES_MAX:
            issues.append(
                _issue(
                    "/notes",
                    "notes_too_long",
                    f"备注最多 {NOTES_MAX} 个字符",
                    f"notes are at most {NOTES_MAX} characters",
                )
            )
        else:
            text = notes.strip() or None
    parsed_findings = [] if findings is None else checklists.validate_findings(issues, findings, day)
    if issues:
        raise InspectionError(issues)
    assert day is not None and name is not None
    if parsed_items is not None:
        value = checklists.score_from_items(parsed_items)
    else:
        assert value is not None
        value = value.quantize(_TENTH)
    return day, value, name, text, parsed_items, parsed_findings


def record_inspection(
    session: Session,
    school_code: str,
    *,
    date: object,
    score: object,
    inspector: object,
    notes: object = None,
    items: object = None,
    findings: object = None,
    actor: str,
) -> Inspection:
    """Record a bureau on-site inspection (B2), audited as ``inspection.add``.

    Appended, never updated: a correction is a new inspection. With a checklist (``items``) the score is made
    from the items (``checklists.score_from_items``; none applicable → no score); each of ``findings`` becomes
    a hazard-ledger entry ``DC-<id>-<n>`` of the school (``checklists.add_findings``). Raises ``LookupError``
    (unknown school) or ``InspectionError``. After the caller commits, the county's ranking recompute is
    requested (debounced).
    """
    from district.scoring import checklists

    school = session.get(School, school_code)
    if school is None:
        raise LookupError(school_code)
    county = session.get(County, school.county_code)
    assert county is not None
    day, value, name, text, parsed_items, parsed_findings = _validate_inspection(
        date=date, score=score, inspector=inspector, notes=notes, items=items, findings=findings,
        codes=None if items is None else checklists.checklist_codes(session, county), today=None,
    )  # fmt: skip
    insp = Inspection(
        school_code=school.code,
        county_code=school.county_code,
        date=day,
        score=value,
        inspector=name,
        notes=text,
        recorded_by=actor[:100],
        recorded_at=utcnow(),
        items=parsed_items,
    )
    session.add(insp)
    session.flush()
    rows = checklists.add_findings(session, insp, parsed_findings)
    extra: dict[str, Any] = {}
    if parsed_items is not None:
        extra["items"] = parsed_items
    if rows:
        extra["findings"] = [checklists.finding_dict(f) for f in rows]
    record(
        session,
        actor=actor,
        action="inspection.add",
        county_code=school.county_code,
        school_code=school.code,
        inspection_id=insp.id,
        date=day.isoformat(),
        score=None if value is None else f"{value:f}",
        inspector=name,
        notes=text,
        **extra,
    )
    from district.scoring.tasks import recompute_after_commit

    recompute_after_commit(session, school.county_code, reason=f"inspection:{insp.id}")
    return insp


def inspection_dict(insp: Inspection, session: Session | None = None) -> dict[str, Any]:
    """An inspection as the API shows it; with a session, a checklist visit's ``items`` and ``findings``."""
    out: dict[str, Any] = {
        "id": insp.id,
        "school_code": insp.school_code,
        "date": insp.date.isoformat(),
        # one decimal, 0–5: exact as a JSON number (OpenAPI: number); null: a checklist with no applicable item
        "score": None if insp.score is None else float(insp.score),
        "inspector": insp.inspector,
        "notes": insp.notes or "",
        "recorded_by": insp.recorded_by,
        "recorded_at": iso(insp.recorded_at),
    }
    if session is not None:
        from district.scoring import checklists

        found = checklists.findings_of(session, insp.id)
        if insp.items is not None:
            out["items"] = insp.items
        if insp.items is not None or found:
            out["findings"] = [checklists.finding_dict(f) for f in found]
    return out
