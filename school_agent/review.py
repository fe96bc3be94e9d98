"""The bureau's review of a month in the clerk's words (issue 18): 已审核通过, or 被退回 with the reviewer's comment
and which cells of the template to look at.

The cells come from the template's own layout (``layout.cell_for_path``): the fields the comment names (by their
Chinese label, e.g. 本月结余, or their key), the fields each fund anomaly of the month reads, and the fields the
month's warnings point at. Kept apart from the rest of the status rendering on purpose (``wording._review``
calls :func:`review_lines`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from houqin_standard import SHANGHAI

from .layout import ALL_SLOTS, cell_for_path

_N = "/nutrition/"

#: The fields each fund anomaly reads (the hub's fund-rule engine; STANDARD.md's table), first the one to fix.
ANOMALY_PATHS: Mapping[str, tuple[str, ...]] = {
    "BALANCE_MISMATCH": tuple(
        _N + f for f in ("closing_balance", "opening_balance", "funds_received", "food_spend", "other_spend")
    ),
    "MISUSE": (_N + "other_spend",),
    "CARRY_OVER_MISMATCH": (_N + "opening_balance",),
    "MEALS_EXCEED_ENTITLEMENT": (_N + "meals_served", _N + "eligible_students", _N + "meal_days"),
    "SPEND_EXCEEDS_MEALS": (_N + "food_spend", _N + "meals_served", _N + "subsidy_rate"),
    "UNDERSPEND": (_N + "food_spend", _N + "meals_served", _N + "subsidy_rate"),
    "HIGH_BALANCE": (_N + "closing_balance", _N + "opening_balance", _N + "funds_received"),
    "NONSTANDARD_RATE": (_N + "subsidy_rate",),
    "ACCOMPANY_GAP": (_N + "accompany_meal_days", _N + "meal_days"),
    "SAMPLE_GAP": ("/food_safety/sample_retention_days", _N + "meal_days"),
}


def _time(iso: Any) -> str:
    if not isinstance(iso, str) or not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return ""


def _labelled_paths() -> list[tuple[str, str]]:
    """(label or key, JSON pointer) of every template field, longest label first (本月结余 before 结余)."""
    out: list[tuple[str, str]] = []
    for section, slots in ALL_SLOTS.items():
        for slot in slots:
            path = f"/{section}/{slot.field.key}"
            out.append((slot.field.label_zh, path))
            out.append((slot.field.key, path))
    out.sort(key=lambda p: -len(p[0]))
    return out


def paths_named_in(comment: str) -> list[str]:
    """The fields a comment names by their Chinese label or their key, in the order they appear in it."""
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for name, path in _labelled_paths():
        if len(name) < 2:
            continue
        start = comment.find(name)
        while start >= 0:
            end = start + len(name)
            if not any(s < end and start < e for s, e in taken):  # 本月结余 is not also 结余
                taken.append((start, end))
                found.append((start, path))
            start = comment.find(name, end)
    out: list[str] = []
    for _i, path in sorted(found):
        if path not in out:
            out.append(path)
    return out


def cells_to_check(fb: Mapping[str, Any]) -> list[str]:
    """``营养餐!C13（本月结余）`` for each field the comment names, then the fund anomalies' and the
    warnings' fields; each once, in that order."""
    review = fb.get("review")
    comment = review.get("comment") if isinstance(review, Mapping) else None
    paths = paths_named_in(str(comment or ""))
    for a in fb.get("fund_anomalies") or []:
        if isinstance(a, Mapping):
            paths += ANOMALY_PATHS.get(str(a.get("code")), ())
    for w in fb.get("warnings") or []:
        if isinstance(w, Mapping) and isinstance(w.get("path"), str):
            paths.append(w["path"])
    labels = {path: label for label, path in _labelled_paths() if not label.isascii()}
    out: list[str] = []
    for path in paths:
        cell = cell_for_path(path)
        if cell is None:
            continue
        text = f"{cell[0]}!{cell[1]}" + (f"（{labels[path]}）" if path in labels else "")
        if text not in out:
            out.append(text)
    return out


def review_lines(fb: Mapping[str, Any]) -> list[str]:
    """The review of the month: nothing while 待审核; 已审核通过; or 被退回 with the comment, who returned it
    and when, and the cells to look at before sending the corrected revision."""
    r = fb.get("review")
    if not isinstance(r, Mapping):
        return []
    decision = {"approved": "已审核通过", "returned": "被退回，请修改后更正"}.get(str(r.get("decision")))
    if decision is None:
        return []
    line = f"教育局审核：{decision}"
    if r.get("comment"):
        line += f"。意见：{r['comment']}"
    lines = [line]
    if r.get("decision") != "returned":
        return lines
    who = str(r.get("reviewer") or "")
    when = _time(r.get("at"))
    if who or when:
        lines.append("退回人：" + "，".join(x for x in (who, when) if x))
    cells = cells_to_check(fb)
    if cells:
        lines.append("请核对这些单元格：" + "、".join(cells))
    lines.append("改好后重新提交（houqin-agent submit），新版本送达后回到教育局待审核。")
    return lines
