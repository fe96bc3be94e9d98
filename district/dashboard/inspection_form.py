"""The inspection page's checklist and findings (issue 20 item 5): what the form posts, made into the service's
``items`` and ``findings``, and the service's errors put back next to their fields. No JavaScript: the
checklist is one row per code with 合格/不合格/不适用 radios, the findings a few empty rows (``FINDING_ROWS``)."""

from __future__ import annotations

from typing import Any

from district.scoring.checklists import ChecklistItem

FINDING_ROWS = 3  # empty finding rows on a fresh form (more visits need a second record: rare)
FINDING_ROWS_MAX = 10


def form_items(form: Any, checklist: list[ChecklistItem]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """(every row as posted: ``{code: {result, note}}``, the codes answered in checklist order). A row without
    a result chosen is not part of the visit."""
    rows: dict[str, dict[str, str]] = {}
    answered: list[str] = []
    for item in checklist:
        result = (form.get(f"item_{item.code}") or "").strip()
        note = (form.get(f"note_{item.code}") or "").strip()
        rows[item.code] = {"result": result, "note": note}
        if result:
            answered.append(item.code)
    return rows, answered


def form_findings(form: Any) -> tuple[list[dict[str, str]], list[int]]:
    """(every finding row as posted, the indexes of the rows filled in). A row is filled when it has a category
    or a description; its deadline comes from the three choosers ``finding_<i>_deadline_y/m/d``."""
    count = min(FINDING_ROWS_MAX, max(FINDING_ROWS, _int(form.get("finding_rows"))))
    rows: list[dict[str, str]] = []
    filled: list[int] = []
    for i in range(count):
        y, m, d = ((form.get(f"finding_{i}_deadline_{p}") or "").strip() for p in "ymd")
        row = {
            "category": (form.get(f"finding_{i}_category") or "").strip(),
            "severity": (form.get(f"finding_{i}_severity") or "general").strip(),
            "description": (form.get(f"finding_{i}_description") or "").strip(),
            "deadline": f"{y}-{m.zfill(2)}-{d.zfill(2)}" if y and m and d else "",
        }
        rows.append(row)
        if row["category"] or row["description"]:
            filled.append(i)
    return rows, filled


def service_args(
    rows: dict[str, dict[str, str]], answered: list[str], findings: list[dict[str, str]], filled: list[int]
) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    items = [{"code": c, "result": rows[c]["result"], "note": rows[c]["note"] or None} for c in answered] or None
    found = [
        {
            "category": findings[i]["category"] or None,
            "severity": findings[i]["severity"] or None,
            "description": findings[i]["description"],
            "deadline": findings[i]["deadline"] or None,
        }
        for i in filled
    ] or None
    return items, found


def field_errors(details: list[dict[str, str]], answered: list[str], filled: list[int]) -> dict[str, list[str]]:
    """The service's errors by the page's field: ``date``, ``score``, ``inspector``, ``notes``, ``items``,
    ``item:<code>``, ``findings``, ``finding:<row>``."""
    out: dict[str, list[str]] = {}
    for d in details:
        parts = d["path"].strip("/").split("/")
        key = parts[0]
        if key == "items" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(answered):
            key = f"item:{answered[int(parts[1])]}"
        elif key == "findings" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(filled):
            key = f"finding:{filled[int(parts[1])]}"
        out.setdefault(key, []).append(d["message"])
    return out


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
