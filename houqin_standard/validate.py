"""Validation of one monthly report against ``houqin/monthly-report@1`` (STANDARD.md) or ``@2``
(STANDARD-v2.md): ``validate_report`` dispatches on the report's ``standard``; the rules @1 and @2 share are
written once, @2's four sections are checked after them.

``validate_report`` collects every violation (never stops at the first) and never raises, whatever JSON
value (or other Python object) it is given. Types and ranges come from the metadata in ``fields.py``;
the cross-field rules are written out below, one by one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import messages
from .fields import (
    CALENDAR_TASK_FIELDS,
    ENUM_LABELS,
    HAZARD_FIELDS,
    HAZARDS_LABEL,
    HEADER_FIELDS,
    SECTIONS,
    SECTIONS_BY_KEY,
    SECTIONS_V2,
    SECTIONS_V2_BY_KEY,
    STANDARD_ID_2,
    STANDARDS,
    TOP_LEVEL_KEYS,
    TOP_LEVEL_KEYS_V2,
    Field,
)
from .issues import Issue, ValidationResult
from .money import MAX_INTEGER_DIGITS, MONEY_RE, QUANTITY_RE, is_money, is_quantity
from .periods import EARLIEST_PERIOD, PERIOD_RE, current_period, period_add, period_of
from .text import text_problem, visible_length

__all__ = ["validate_report"]

_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)
_SCHOOL_CODE_RE = re.compile(r"[0-9]{10}", re.ASCII)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_ENERGY_JUMP_FACTOR = 3
_OLD_AFTER_MONTHS = 3

_INVALID = object()  # "the value was reported as an issue; no parsed value for cross-field rules"


def _ptr(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _show(v: object, limit: int = 40) -> str:
    """A short, safe rendering of a user-supplied value for a message (never huge, never raises)."""
    if isinstance(v, str):
        return v if len(v) <= limit else v[:limit] + "…"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) if -(10**limit) < v < 10**limit else ("-" if v < 0 else "") + "9…9"
    if isinstance(v, float):
        return repr(v)[:limit]
    if isinstance(v, list):
        return "[…]"
    if isinstance(v, dict):
        return "{…}"
    return type(v).__name__


def _enum_choices(f: Field) -> tuple[str, str]:
    labels = ENUM_LABELS.get(f.enum_name or "", {})
    values = f.enum or ()
    zh = "、".join(f"{labels[v][0]}（{v}）" if v in labels else v for v in values)
    en = ", ".join(values)
    return zh, en


@functools.cache
def _requirement(f: Field) -> tuple[str, str]:
    """What a field must be, in words (zh, en): the tail of most type and range messages."""
    if f.kind == "int":
        lo = f.minimum or 0
        if f.maximum is not None and f.maximum < 10_000:
            return (
                f"必须是 {lo} 到 {f.maximum} 之间的整数",
                f"must be a whole number from {lo} to {f.maximum}",
            )
        return (f"必须是不小于 {lo} 的整数", f"must be a whole number, {lo} or more")
    if f.kind == "money":
        return (
            f"必须是不小于 0、保留两位小数的金额，最多 {MAX_INTEGER_DIGITS} 位整数",
            f"must be a non-negative amount with 2 decimal places and at most {MAX_INTEGER_DIGITS} integer digits",
        )
    if f.kind == "quantity":
        return (
            f"必须是不小于 0、最多一位小数的数量，最多 {MAX_INTEGER_DIGITS} 位整数",
            f"must be a non-negative quantity with at most 1 decimal place and {MAX_INTEGER_DIGITS} integer digits",
        )
    if f.kind == "bool":
        return ("必须填写 true（是）或 false（否）", "must be true or false")
    if f.kind == "enum":
        zh, en = _enum_choices(f)
        return (f"应为以下之一：{zh}", f"must be one of: {en}")
    if f.kind == "list":
        zh, en = _enum_choices(f)
        return (
            f"必须是列表（数组），每项取自：{zh}，且每项只能出现一次",
            f"must be a JSON array of distinct values from: {en}",
        )
    if f.kind == "str" and f.maximum is not None:
        lo = f.minimum or 0
        return (f"必须是 {lo} 到 {f.maximum} 个字符的文字", f"must be text of {lo} to {f.maximum} characters")
    return ("必须是文字（字符串）", "must be text (a JSON string)")


class _Collector:
    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    @staticmethod
    def _issue(code: str, path: str, label: tuple[str, str] | None, f: Field | None, params: dict[str, Any]) -> Issue:
        if label is None:
            label = (f.label_zh, f.label_en) if f is not None else (path or "报表", path or "the report")
        shown = path or "/"
        params.setdefault("name_zh", f"{label[0]}（{shown}）")
        params.setdefault("name_en", f"{label[1]} ({shown})")
        params.setdefault("path", shown)
        if f is not None and "req_zh" not in params:
            params["req_zh"], params["req_en"] = _requirement(f)
        zh, en = messages.render(code, **params)
        return Issue(path=path, code=code, zh=zh, en=en)

    def error(
        self,
        code: str,
        path: str,
        f: Field | None = None,
        label: tuple[str, str] | None = None,
        **params: Any,
    ) -> None:
        self.errors.append(self._issue(code, path, label, f, params))

    def warning(
        self,
        code: str,
        path: str,
        f: Field | None = None,
        label: tuple[str, str] | None = None,
        **params: Any,
    ) -> None:
        self.warnings.append(self._issue(code, path, label, f, params))


# --------------------------------------------------------------------------------------------------- values


def _check_value(c: _Collector, f: Field, v: object, path: str, required: bool) -> Any:
    """Type/format/range check of one value against its metadata; the parsed value, or ``_INVALID``."""
    if v is None:
        if f.nullable:
            return None
        if required:
            c.error("required", path, f)
            return _INVALID
    kind = f.kind
    if kind == "int":
        if type(v) is not int:  # bool is a subclass of int, and 3.0 is a float: neither is a count
            c.error("expected_integer", path, f)
            return _INVALID
        if v < (f.minimum or 0):
            c.error("negative" if v < 0 else "out_of_range", path, f)
            return _INVALID
        if f.maximum is not None and v > f.maximum:
            c.error("out_of_range", path, f)
            return _INVALID
        return v
    if kind in ("money", "quantity"):
        return _check_decimal(c, f, v, path)
    if kind == "bool":
        if type(v) is not bool:
            c.error("expected_boolean", path, f)
            return _INVALID
        return v
    if kind == "enum":
        if not isinstance(v, str) or v not in (f.enum or ()):
            c.error("invalid_enum", path, f, value=_show(v))
            return _INVALID
        return v
    if kind == "str":
        return _check_str(c, f, v, path)
    if kind == "date":
        d = _parse_date(v)
        if d is None:
            c.error("invalid_date", path, f, value=_show(v))
            return _INVALID
        return d
    if kind == "datetime":
        dt = _parse_datetime(v)
        if dt is None:
            c.error("invalid_datetime", path, f, value=_show(v))
            return _INVALID
        return dt
    if kind == "list":
        return _check_enum_list(c, f, v, path)
    if kind == "tasks":
        return _check_tasks(c, f, v, path)
    raise AssertionError(f"unknown field kind {kind!r}")  # pragma: no cover - metadata bug, caught by tests


def _check_decimal(c: _Collector, f: Field, v: object, path: str) -> Any:
    money = f.kind == "money"
    if not isinstance(v, str):
        if money and isinstance(v, int | float) and not isinstance(v, bool):
            c.error("money_not_string", path, f)
        else:
            c.error("money_format" if money else "quantity_format", path, f, value=_show(v))
        return _INVALID
    pattern = MONEY_RE if money else QUANTITY_RE
    negative = v.startswith("-")
    digits = v[1:] if negative else v
    if pattern.fullmatch(digits) is None:
        c.error("money_format" if money else "quantity_format", path, f, value=_show(v))
        return _INVALID
    if negative:
        c.error("money_negative" if money else "quantity_negative", path, f)
        return _INVALID
    if len(digits.split(".", 1)[0]) > MAX_INTEGER_DIGITS:
        c.error("out_of_range", path, f)
        return _INVALID
    return Decimal(digits)


def _check_str(c: _Collector, f: Field, v: object, path: str) -> Any:
    fmt = f.fmt
    if fmt == "standard":
        if v not in STANDARDS:
            c.error("standard_mismatch", path, f, value=_show(v))
            return _INVALID
        return v
    if fmt in ("uuid", "school_code", "period"):
        pattern = {"uuid": _UUID_RE, "school_code": _SCHOOL_CODE_RE, "period": PERIOD_RE}[fmt]
        if not isinstance(v, str) or pattern.fullmatch(v) is None or (fmt == "period" and v.startswith("0000")):
            code = {"uuid": "invalid_uuid", "school_code": "invalid_school_code", "period": "invalid_period"}[fmt]
            c.error(code, path, f, value=_show(v))
            return _INVALID
        return v
    if not isinstance(v, str):
        c.error("expected_string", path, f)
        return _INVALID
    problem = text_problem(v, multiline=f.multiline)
    if problem is not None:
        code, index = problem
        c.error(code, path, f, position=index + 1, char=f"U+{ord(v[index]):04X}")
        return _INVALID
    if f.minimum and visible_length(v) < f.minimum:
        c.error("too_short", path, f)
        return _INVALID
    if f.maximum is not None and len(v) > f.maximum:
        c.error("too_long", path, f, max=f.maximum, length=len(v))
        return _INVALID
    return v


def _parse_date(v: object) -> date | None:
    if not isinstance(v, str) or _DATE_RE.fullmatch(v) is None:
        return None
    try:
        return date.fromisoformat(v)
    except ValueError:
        return None


def _parse_datetime(v: object) -> datetime | None:
    if not isinstance(v, str) or _DATETIME_RE.fullmatch(v) is None:
        return None
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    return dt if dt.tzinfo is not None and dt.utcoffset() is not None else None


def _check_enum_list(c: _Collector, f: Field, v: object, path: str) -> Any:
    if not isinstance(v, list):
        c.error("expected_array", path, f)
        return _INVALID
    allowed = f.enum or ()
    seen: set[str] = set()
    ok = True
    for i, item in enumerate(v):
        item_path = f"{path}/{i}"
        if not isinstance(item, str) or item not in allowed:
            c.error("invalid_enum", item_path, f, value=_show(item))
            ok = False
        elif item in seen:
            c.error("duplicate", item_path, f, value=_show(item))
            ok = False
        else:
            seen.add(item)
    return list(v) if ok else _INVALID


def _check_tasks(c: _Collector, f: Field, v: object, path: str) -> Any:
    """``calendar.tasks`` (@2): an array of ``{code, done_on, note}``; each code at most once. The codes are
    judged against the county's calendar, and the dates against the period, in ``_calendar_rules``."""
    if not isinstance(v, list):
        c.error(
            "expected_array",
            path,
            f,
            req_zh="必须是列表（数组），本月没有完成的任务时填 []",
            req_en="must be a JSON array ([] when no task was done)",
        )
        return _INVALID
    code_field = CALENDAR_TASK_FIELDS[0]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, entry in enumerate(v):
        base = f"{path}/{i}"
        if not isinstance(entry, Mapping):
            c.error("not_object", base, label=("行事历任务", "Calendar task"))
            continue
        task = _check_object(c, entry, CALENDAR_TASK_FIELDS, base)
        code = task.get("code")
        if code is not None:
            if code in seen:
                c.error("calendar_task_duplicate", f"{base}/code", code_field, value=_show(code))
                continue
            seen.add(code)
        task["_path"] = base
        out.append(task)
    return out


def _check_object(
    c: _Collector,
    obj: Mapping[Any, Any],
    fields: tuple[Field, ...],
    path: str,
    *,
    required: bool = True,
    always_required: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """Unknown keys, then every field in standard order. Returns the fields that passed, parsed."""
    known = {f.key for f in fields}
    for key in obj:
        if key not in known:
            c.error("unknown_field", f"{path}/{_ptr(key)}", key=_show(str(key), 60))
    parsed: dict[str, Any] = {}
    for f in fields:
        key = f.key
        field_required = f.required and (required or key in always_required)
        if key not in obj:
            if field_required:
                c.error("required", f"{path}/{key}", f)
            continue
        v = obj[key]
        value = _plainly_valid(f, v)
        if value is _INVALID:  # not plainly valid: the full check judges it and words its errors
            value = _check_value(c, f, v, f"{path}/{key}", field_required)
            if value is _INVALID:
                continue
        parsed[key] = value
    return parsed


def _plainly_valid(f: Field, v: object) -> Any:
    """The parsed value of a value that passes its field's check at a glance, the common case (a count in range,
    an amount or quantity in the standard's form, a boolean, a known code); ``_INVALID`` when it needs the full
    check (``_check_value``), which then accepts or words the error. Never accepts what ``_check_value`` would
    refuse, and parses to the same value."""
    kind = f.kind
    if kind == "int":
        if type(v) is int and v >= (f.minimum or 0) and (f.maximum is None or v <= f.maximum):
            return v
    elif kind == "money":
        if is_money(v):
            return Decimal(v)
    elif kind == "quantity":
        if is_quantity(v):
            return Decimal(v)
    elif kind == "bool":
        if type(v) is bool:
            return v
    elif kind == "enum":
        if type(v) is str and v in (f.enum or ()):
            return v
    return _INVALID


# --------------------------------------------------------------------------------------------------- report


def _field(section: str, key: str) -> Field:
    return SECTIONS_BY_KEY[section].field(key)


def _not_more_than(
    c: _Collector, parsed: dict[str, dict[str, Any]], left: tuple[str, str], right: tuple[str, str]
) -> None:
    """The cross-field rule ``left ≤ right``; silent when either side is missing or already invalid."""
    a = parsed.get(left[0], {}).get(left[1])
    b = parsed.get(right[0], {}).get(right[1])
    if a is None or b is None or a <= b:
        return
    lf, rf = _field(*left), _field(*right)
    c.error(
        "exceeds",
        f"/{left[0]}/{left[1]}",
        lf,
        value=str(a),
        other_zh=rf.label_zh,
        other_en=rf.label_en,
        other_value=str(b),
    )


def validate_report(
    data: object,
    *,
    today: date | None = None,
    previous: Mapping[str, Any] | None = None,
    calendar_codes: Collection[str] | None = None,
) -> ValidationResult:
    """Check one report against its standard (``houqin/monthly-report@1`` or ``@2``, by its ``standard``;
    a report whose ``standard`` is missing or unknown is checked as @1 and gets that error); every error and
    warning, each once.

    ``today`` is the current date in Asia/Shanghai (default: now) — it decides "future" and "old" periods.
    ``previous`` is the same school's report for the previous month (or None); it is only read for the
    energy-jump warning and may itself be malformed. ``calendar_codes`` (@2 only) are the codes of the
    tasks of the report's month in the county's 后勤行事历; ``None`` when the caller has no calendar, and
    then task codes are not checked against it.
    """
    c = _Collector()
    if not isinstance(data, Mapping):
        c.error("not_object", "", label=("报表", "The report"))
        return ValidationResult(c.errors, c.warnings)

    v2 = data.get("standard") == STANDARD_ID_2
    known_top = set(TOP_LEVEL_KEYS_V2 if v2 else TOP_LEVEL_KEYS)
    for key in data:
        if key not in known_top:
            c.error("unknown_field", f"/{_ptr(key)}", key=_show(str(key), 60))

    header = _check_header(c, data, today)

    parsed: dict[str, dict[str, Any]] = {}
    for section in SECTIONS_V2 if v2 else SECTIONS:
        path = f"/{section.key}"
        if section.key not in data or data[section.key] is None:
            if section.required:
                c.error("required", path, label=(section.label_zh, section.label_en))
            continue
        obj = data[section.key]
        if not isinstance(obj, Mapping):
            c.error("not_object", path, label=(section.label_zh, section.label_en))
            continue
        if section.key == "nutrition":
            parsed[section.key] = _check_nutrition(c, obj, section.fields)
        else:
            parsed[section.key] = _check_object(c, obj, section.fields, path)

    _check_hazards(c, data)
    _cross_field_rules(c, data, parsed)
    if v2:
        _v2_rules(c, data, parsed, header, calendar_codes)
    _warnings(c, parsed, header, today, previous)
    return ValidationResult(c.errors, c.warnings)


def _check_header(c: _Collector, data: Mapping[Any, Any], today: date | None) -> dict[str, Any]:
    header = _check_object(c, {k: data[k] for k in (f.key for f in HEADER_FIELDS) if k in data}, HEADER_FIELDS, "")
    period = header.get("period")
    if period is not None:
        current = period_of(today) if today is not None else current_period()
        p = next(f for f in HEADER_FIELDS if f.key == "period")
        if period > current:
            c.error("period_in_future", "/period", p, value=period, current=current)
            del header["period"]
        elif period < EARLIEST_PERIOD:
            c.error("period_too_early", "/period", p, value=period)
            del header["period"]
    return header


def _check_nutrition(c: _Collector, obj: Mapping[Any, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    # When not participating (or when participating is itself missing or invalid, which is reported), the
    # other fields may be omitted; those present are still checked.
    participating = obj.get("participating") is True
    return _check_object(c, obj, fields, "/nutrition", required=participating, always_required={"participating"})


def _check_hazards(c: _Collector, data: Mapping[Any, Any]) -> None:
    if "hazards" not in data or data["hazards"] is None:
        c.error("required", "/hazards", label=HAZARDS_LABEL)
        return
    hazards = data["hazards"]
    if not isinstance(hazards, list):
        c.error(
            "expected_array",
            "/hazards",
            label=HAZARDS_LABEL,
            req_zh="必须是列表（数组），没有隐患时填 []",
            req_en="must be a JSON array ([] when there are none)",
        )
        return
    ref_field = HAZARD_FIELDS[0]
    found_field = next(f for f in HAZARD_FIELDS if f.key == "found_on")
    fields_by_key = {f.key: f for f in HAZARD_FIELDS}
    seen_refs: set[str] = set()
    for i, entry in enumerate(hazards):
        base = f"/hazards/{i}"
        if not isinstance(entry, Mapping):
            c.error("not_object", base, label=("隐患台账条目", "Hazard entry"))
            continue
        h = _check_object(c, entry, HAZARD_FIELDS, base)
        ref = h.get("ref")
        if ref is not None:
            if ref in seen_refs:
                c.error("duplicate", f"{base}/ref", ref_field, value=_show(ref))
            else:
                seen_refs.add(ref)
        found_on = h.get("found_on")
        if found_on is None:
            continue
        for key in ("deadline", "rectified_on"):
            d = h.get(key)
            if d is not None and d < found_on:
                c.error(
                    "date_order",
                    f"{base}/{key}",
                    fields_by_key[key],
                    value=d.isoformat(),
                    other_zh=found_field.label_zh,
                    other_en=found_field.label_en,
                    other_value=found_on.isoformat(),
                )


def _cross_field_rules(c: _Collector, data: Mapping[Any, Any], parsed: dict[str, dict[str, Any]]) -> None:
    enrollment = parsed.get("enrollment", {})
    boarders = enrollment.get("boarders")
    if boarders is not None and boarders > 0 and data.get("dormitory") is None:
        c.error(
            "required",
            "/dormitory",
            label=("学生公寓", "Student dormitory"),
            reason_zh=f"（住宿生数为 {boarders}，有住宿生的学校必须填写学生公寓情况）",
            reason_en=f" when there are boarders (enrollment.boarders is {boarders})",
        )

    _not_more_than(c, parsed, ("enrollment", "boarders"), ("enrollment", "students"))
    _not_more_than(c, parsed, ("enrollment", "logistics_staff"), ("enrollment", "staff"))
    _not_more_than(c, parsed, ("nutrition", "eligible_students"), ("enrollment", "students"))
    _not_more_than(c, parsed, ("nutrition", "accompany_meal_days"), ("nutrition", "meal_days"))
    _not_more_than(c, parsed, ("food_safety", "health_certified_staff"), ("food_safety", "canteen_staff"))
    if parsed.get("nutrition", {}).get("participating") is True:
        _not_more_than(c, parsed, ("food_safety", "sample_retention_days"), ("nutrition", "meal_days"))
    _not_more_than(c, parsed, ("finance", "invoices_fully_signed"), ("finance", "invoices"))
    _not_more_than(c, parsed, ("assets", "disposals_approved"), ("assets", "disposals"))

    campus = parsed.get("campus", {})
    area = campus.get("campus_area_m2")
    if area is not None and area <= 0:
        c.error("not_positive", "/campus/campus_area_m2", _field("campus", "campus_area_m2"))
        campus.pop("campus_area_m2")
    _not_more_than(c, parsed, ("campus", "green_area_m2"), ("campus", "campus_area_m2"))


def _v2_rules(
    c: _Collector,
    data: Mapping[Any, Any],
    parsed: dict[str, dict[str, Any]],
    header: dict[str, Any],
    calendar_codes: Collection[str] | None,
) -> None:
    """The rules of @2's four sections (STANDARD-v2.md)."""
    canteen_staff = parsed.get("food_safety", {}).get("canteen_staff")
    if canteen_staff is not None and canteen_staff > 0 and data.get("kitchen") is None:
        c.error(
            "required",
            "/kitchen",
            label=("食堂日常管控", "Kitchen daily controls"),
            reason_zh=f"（食堂从业人员数为 {canteen_staff}，有食堂的学校必须填写食堂日常管控情况）",
            reason_en=f" when there is canteen staff (food_safety.canteen_staff is {canteen_staff})",
        )
    nutrition = parsed.get("nutrition", {})
    participating = nutrition.get("participating") is True
    if participating and data.get("canteen_stock") is None:
        c.error(
            "required",
            "/canteen_stock",
            label=("食堂食材库存与月底盘存", "Canteen food stock"),
            reason_zh="（参加营养改善计划的学校必须填写食堂食材库存与月底盘存）",
            reason_en=" when the school takes part in the nutrition programme (nutrition.participating)",
        )

    meal_days = nutrition.get("meal_days")
    if participating and meal_days is not None:
        for key, days in parsed.get("kitchen", {}).items():
            if days > meal_days:
                c.error(
                    "kitchen_days_exceed_meal_days",
                    f"/kitchen/{key}",
                    SECTIONS_V2_BY_KEY["kitchen"].field(key),
                    value=str(days),
                    other_value=str(meal_days),
                )

    stock = parsed.get("canteen_stock", {})
    opening, purchases, closing = (
        stock.get("opening_stock_value"),
        stock.get("purchases"),
        stock.get("closing_stock_value"),
    )
    if opening is not None and purchases is not None and closing is not None:
        consumed = opening + purchases - closing
        if consumed < 0:
            c.error(
                "stock_negative_consumption",
                "/canteen_stock/closing_stock_value",
                SECTIONS_V2_BY_KEY["canteen_stock"].field("closing_stock_value"),
                value=f"{consumed:f}",
                opening=f"{opening:f}",
                purchases=f"{purchases:f}",
                closing=f"{closing:f}",
            )

    fb = parsed.get("feedback_box", {})
    received, answered = fb.get("received"), fb.get("answered")
    if received is not None and answered is not None and answered > received:
        rf = SECTIONS_V2_BY_KEY["feedback_box"].field("received")
        c.error(
            "exceeds",
            "/feedback_box/answered",
            SECTIONS_V2_BY_KEY["feedback_box"].field("answered"),
            value=str(answered),
            other_zh=rf.label_zh,
            other_en=rf.label_en,
            other_value=str(received),
        )

    _calendar_rules(c, parsed.get("calendar", {}).get("tasks") or [], header.get("period"), calendar_codes)


def _calendar_rules(
    c: _Collector, tasks: list[dict[str, Any]], period: str | None, calendar_codes: Collection[str] | None
) -> None:
    if period is None:
        return
    year, month = int(period[:4]), int(period[5:7])
    first = date(year, month, 1)
    window_start = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    window_end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    code_field, done_field = CALENDAR_TASK_FIELDS[0], CALENDAR_TASK_FIELDS[1]
    for task in tasks:
        base = task["_path"]
        code = task.get("code")
        if code is not None and calendar_codes is not None and code not in calendar_codes:
            c.error("calendar_task_unknown", f"{base}/code", code_field, value=_show(code), month=month)
        done_on = task.get("done_on")
        if done_on is not None and not (window_start <= done_on < window_end):
            c.error(
                "out_of_range",
                f"{base}/done_on",
                done_field,
                req_zh=f"必须在本月或上月之内（{window_start.isoformat()} 至 {first.isoformat()[:7]} 月底）",
                req_en=f"must be in this month or the previous one (from {window_start.isoformat()})",
            )


def _previous_quantity(previous: object, key: str) -> Decimal | None:
    if not isinstance(previous, Mapping):
        return None
    energy = previous.get("energy")
    if not isinstance(energy, Mapping):
        return None
    v = energy.get(key)
    if isinstance(v, str) and QUANTITY_RE.fullmatch(v) and len(v.split(".", 1)[0]) <= MAX_INTEGER_DIGITS:
        return Decimal(v)
    return None


def _warnings(
    c: _Collector,
    parsed: dict[str, dict[str, Any]],
    header: dict[str, Any],
    today: date | None,
    previous: object,
) -> None:
    beds = parsed.get("dormitory", {}).get("beds")
    boarders = parsed.get("enrollment", {}).get("boarders")
    if beds is not None and boarders is not None and beds < boarders:
        bf = _field("enrollment", "boarders")
        c.warning(
            "beds_below_boarders",
            "/dormitory/beds",
            _field("dormitory", "beds"),
            value=str(beds),
            other_zh=bf.label_zh,
            other_en=bf.label_en,
            other_value=str(boarders),
        )

    energy = parsed.get("energy", {})
    for key in ("water_m3", "electricity_kwh"):
        now_value = energy.get(key)
        before = _previous_quantity(previous, key)
        # A previous month of 0 (a new meter, the summer break) gives no ratio to judge by.
        if now_value is None or before is None or before <= 0:
            continue
        if now_value > before * _ENERGY_JUMP_FACTOR:
            f = _field("energy", key)
            c.warning("energy_jump", f"/energy/{key}", f, value=str(now_value), other_value=str(before), unit=f.unit)

    period = header.get("period")
    if period is not None:
        current = period_of(today) if today is not None else current_period()
        if period < period_add(current, -_OLD_AFTER_MONTHS):
            p = next(f for f in HEADER_FIELDS if f.key == "period")
            c.warning("period_old", "/period", p, value=period, current=current)

    # Deliberate: other_spend > 0 is the MISUSE fund anomaly the fund engine reports; rejecting it would
    # make misuse unreportable, so the report is accepted with a warning.
    other_spend = parsed.get("nutrition", {}).get("other_spend")
    if other_spend is not None and other_spend > 0:
        c.warning(
            "other_spend_nonzero",
            "/nutrition/other_spend",
            _field("nutrition", "other_spend"),
            value=f"{other_spend:f}",
        )
