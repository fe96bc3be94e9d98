"""The 美丽新校园 rubric as data: load, validate and describe a rubric file (TOML).

SCORING.md: "The rubric is data, not code: the project ships this default as a versioned rubric file, a county
may load its own (different weights, thresholds, veto items), and every ranking records which rubric version
made it." The default is ``rubrics/default-v1.toml`` (``version = "default-1"``).

A rubric file holds:

- ``version`` (required; recorded with every ranking), ``title_zh``/``title_en`` (optional),
  ``break_months`` (the county's summer break; default ``[7, 8]``);
- ``[status]``: ``compliant_score`` (达标 when the rounded score ≥ it) and ``min_coverage``
  (数据不全 below it);
- ``[veto]``: ``fields``, the integer report fields whose sum over W > 0 is a 一票否决;
- ``[campaign.targets]``: campaign year (1 = the campaign's first year) → target share of compliant schools;
- ``[[grades]]``: ``code``, ``zh``, ``en``, ``min_score``, highest band first, the last starting at 0;
- ``[[areas]]``: ``code`` (one of ``AREA_CODES``: the seven areas and default-2's 后勤行事历), ``zh``, ``en``;
- ``[[indicators]]``: ``code``, ``area``, ``name_zh``, ``name_en``, ``points``, ``kind`` (one of ``KINDS``,
  each implemented by ``district.scoring.engine``) and that kind's parameters, listed in ``KINDS``.

Numbers are read as exact decimals (``0.35`` is 35/100, never a binary float) and kept as ``Fraction``.
Report field names are ``"section.field"`` and are checked against ``houqin_standard.fields`` (the one
definition of the report standard), including the field's kind (a ratio needs counts, a flag a bool ...).

Validation collects every problem and raises one ``RubricError`` whose ``messages`` each read
``"<source>:<line>: ..."``: the line of the offending key, or of the indicator/table that lacks a key. Line
numbers come from the text itself (TOML parsers do not report them for values), so the file can be fixed
from the message alone. A TOML syntax error reports the parser's own line.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

from district.nutrition.anomalies import ANOMALY_CODES
from houqin_standard.fields import SECTIONS_BY_KEY, SECTIONS_V2_BY_KEY

__all__ = [
    "AREA_CODES",
    "DEFAULT_RUBRIC_PATH",
    "KINDS",
    "Area",
    "GradeBand",
    "Indicator",
    "Rubric",
    "RubricError",
    "load_default_rubric",
    "load_rubric",
    "load_rubric_file",
]

DEFAULT_RUBRIC_PATH = Path(__file__).resolve().parent / "rubrics" / "default-v1.toml"

#: The seven areas of the 美丽新校园 campaign and the 后勤行事历 (default-2); a rubric labels the ones it uses.
AREA_CODES: tuple[str, ...] = (
    "campus_five",  # 五项整治
    "campus_three",  # 三化
    "food_nutrition",  # 食品安全与营养餐
    "safety",  # 安全
    "finance_assets",  # 财务与资产
    "energy",  # 节约
    "dormitory",  # 学生公寓
    "logistics",  # 后勤行事历 (default-2's H1)
)

_CAMPUS_STATUSES = ("compliant", "rectifying", "noncompliant")


class RubricError(ValueError):
    """A rubric that cannot be used. ``messages``: every problem, each naming the file and line."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages: list[str] = list(messages)
        super().__init__("\n".join(self.messages))


@dataclass(frozen=True)
class Area:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class GradeBand:
    """A grade 等级: scores ≥ ``min_score`` (and below the band above) get it."""

    code: str  # excellent / good / pass / fail
    zh: str  # 优秀 / 良好 / 合格 / 不合格
    en: str
    min_score: Fraction


@dataclass(frozen=True)
class Indicator:
    """One indicator row of the rubric. ``params`` holds the kind's parameters, numbers as ``Fraction``."""

    code: str
    area: str
    name_zh: str
    name_en: str
    points: Fraction
    kind: str
    params: Mapping[str, Any]
    line: int = 0  # where it is defined in the rubric file


@dataclass(frozen=True)
class Rubric:
    version: str
    areas: tuple[Area, ...]
    indicators: tuple[Indicator, ...]
    grades: tuple[GradeBand, ...]  # highest band first
    compliant_score: Fraction
    min_coverage: Fraction
    veto_fields: tuple[str, ...]
    campaign_targets: Mapping[int, Fraction]
    break_months: tuple[int, ...] = (7, 8)
    title_zh: str = ""
    title_en: str = ""
    source: str = "<rubric>"
    _areas_by_code: Mapping[str, Area] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_areas_by_code", MappingProxyType({a.code: a for a in self.areas}))

    def area(self, code: str) -> Area:
        return self._areas_by_code[code]

    def indicator(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)

    def grade_for(self, score: Decimal | Fraction) -> GradeBand:
        """The band of a (rounded) score: the first band, from the top, whose ``min_score`` it reaches."""
        value = Fraction(score)
        for band in self.grades:
            if value >= band.min_score:
                return band
        return self.grades[-1]  # a negative score cannot happen; the lowest band starts at 0

    def target_for(self, campaign_year: int) -> Fraction | None:
        """The target for a campaign year; years past the last listed keep the last target; before 1: none."""
        if campaign_year < 1 or not self.campaign_targets:
            return None
        listed = [y for y in self.campaign_targets if y <= campaign_year]
        return self.campaign_targets[max(listed)] if listed else None

    @property
    def total_points(self) -> Fraction:
        return sum((i.points for i in self.indicators), Fraction(0))

    @functools.cached_property
    def fingerprint(self) -> str:
        """What tells two rubrics apart by value (every field: version, indicators and their parameters, grades,
        targets), made once per rubric object: the scoring part cache's key holds it, so a part scored under one
        rubric is never served to another, even one loaded under the same version in another database."""
        return hashlib.sha256(repr(self).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------------
# Parameter checks. Each takes the raw TOML value and returns the converted one, or raises _Bad.


class _Bad(Exception):
    """One problem with one value; the loader adds the file and line."""


def _num(value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Bad(f"must be a number, got {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise _Bad(f"must be a finite number, got {value}")
    return Fraction(value)


def _show(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else str(Decimal(x.numerator) / Decimal(x.denominator))


def _number(
    lo: Fraction | int | None = None,
    hi: Fraction | int | None = None,
    *,
    lo_open: bool = False,
) -> Callable[[object], Fraction]:
    def check(value: object) -> Fraction:
        x = _num(value)
        lo_ok = lo is None or (x > lo if lo_open else x >= lo)
        hi_ok = hi is None or x <= hi
        if not (lo_ok and hi_ok):
            left = "any" if lo is None else ("(" if lo_open else "[") + _show(Fraction(lo))
            right = "any" if hi is None else _show(Fraction(hi)) + "]"
            raise _Bad(f"{_show(x)} is out of range {left}, {right}")
        return x

    return check


def _ratio_open(value: object) -> Fraction:
    """A share in (0, 1]: a target of 0 would divide by zero, above 1 could never be met."""
    return _number(0, 1, lo_open=True)(value)


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"must be a whole number, got {value!r}")
    if value < 1:
        raise _Bad(f"must be at least 1, got {value}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"must be a non-empty string, got {value!r}")
    return value


def _report_field(
    *kinds: str, enum_name: str | None = None, sections: Mapping[str, Any] = SECTIONS_BY_KEY
) -> Callable[[object], str]:
    """A ``section.field`` of the report standard of these kinds; ``sections``: @1's (a field every report
    has) unless the kind reads fields only @2 has (``SECTIONS_V2_BY_KEY``: a @1 month has none of them)."""

    def check(value: object) -> str:
        if not isinstance(value, str) or value.count(".") != 1:
            raise _Bad(f"must be a report field written 'section.field', got {value!r}")
        section_key, field_key = value.split(".")
        section = sections.get(section_key)
        meta = next((f for f in section.fields if f.key == field_key), None) if section else None
        if meta is None:
            raise _Bad(f"{value!r} is not a field of the report standard")
        if meta.kind not in kinds or (enum_name is not None and meta.enum_name != enum_name):
            wanted = " or ".join(kinds) + (f" ({enum_name})" if enum_name else "")
            raise _Bad(f"{value} is of kind {meta.kind}; this parameter needs kind {wanted}")
        return value

    return check


def _report_fields(*kinds: str, sections: Mapping[str, Any] = SECTIONS_BY_KEY) -> Callable[[object], tuple[str, ...]]:
    one = _report_field(*kinds, sections=sections)

    def check(value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise _Bad(f"must be a non-empty list of report fields, got {value!r}")
        fields = tuple(one(v) for v in value)
        if len(set(fields)) != len(fields):
            raise _Bad("lists a field twice")
        return fields

    return check


def _status_points(value: object) -> Mapping[str, Fraction]:
    if not isinstance(value, dict):
        raise _Bad(f"must be a table {{compliant, rectifying, noncompliant}}, got {value!r}")
    keys = set(value)
    if keys != set(_CAMPUS_STATUSES):
        missing = sorted(set(_CAMPUS_STATUSES) - keys)
        unknown = sorted(keys - set(_CAMPUS_STATUSES))
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unknown {', '.join(unknown)}"] if unknown else []
        )
        raise _Bad("; ".join(parts) + " (needs exactly compliant, rectifying, noncompliant)")
    out = {}
    for status in _CAMPUS_STATUSES:
        try:
            out[status] = _number(0)(value[status])
        except _Bad as exc:
            raise _Bad(f"{status}: {exc}") from None
    return MappingProxyType(out)


def _anomaly_codes(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _Bad(f"must be a non-empty list of fund anomaly codes, got {value!r}")
    unknown = [v for v in value if v not in ANOMALY_CODES]
    if unknown:
        raise _Bad(f"unknown fund anomaly code(s) {', '.join(map(repr, unknown))}")
    if len(set(value)) != len(value):
        raise _Bad("lists a code twice")
    return tuple(value)


def _thresholds(value: object) -> tuple[Fraction, Fraction]:
    if not isinstance(value, list) or len(value) != 2:
        raise _Bad(f"must be two numbers [full_up_to, zero_from], got {value!r}")
    lo, hi = (_num(v) for v in value)
    if lo < 0:
        raise _Bad(f"{_show(lo)} is out of range: ratios are ≥ 0")
    if not lo < hi:
        raise _Bad(f"must ascend: {_show(lo)} is not below {_show(hi)}")
    return lo, hi


_COUNT = _report_field("int")


def _same_section(check: Callable[[object], tuple[str, ...]]) -> Callable[[object], tuple[str, ...]]:
    """Fields of one section (a month has them all or none: the kind counts the months that have it)."""

    def same(value: object) -> tuple[str, ...]:
        fields = check(value)
        if len({f.split(".")[0] for f in fields}) != 1:
            raise _Bad(f"must all be fields of one section, got {', '.join(fields)}")
        return fields

    return same


_SUMMABLE = _report_field("int", "quantity")
_FLAG = _report_field("bool")


@dataclass(frozen=True)
class KindSpec:
    """A kind the engine implements: its parameters and what it computes (for the docs and the UI)."""

    summary: str
    params: Mapping[str, Callable[[object], Any]]


#: The known indicator kinds. ``district.scoring.engine`` implements exactly these.
KINDS: Mapping[str, KindSpec] = MappingProxyType(
    {
        "campaign_status": KindSpec(
            "latest report: status_points[field]; not_applicable → not applicable",
            {"field": _report_field("enum", enum_name="campus_status"), "status_points": _status_points},
        ),
        "green_ratio": KindSpec(
            "latest report: points × min(1, (green_field / area_field) / target)",
            {"green_field": _SUMMABLE, "area_field": _SUMMABLE, "target": _ratio_open},
        ),
        "inspection_score": KindSpec(
            "latest bureau inspection inside W: points × score / max_score; none → 0, awaiting_inspection",
            {"max_score": _number(0, lo_open=True)},
        ),
        "participating_ratio": KindSpec(
            "points × Σ numerator / Σ denominator over participating months; none participating → n/a",
            {"numerator": _SUMMABLE, "denominator": _SUMMABLE},
        ),
        "staff_ratio": KindSpec(
            "points × Σ numerator / Σ denominator over reported months; Σ denominator = 0 → n/a",
            {"numerator": _SUMMABLE, "denominator": _SUMMABLE},
        ),
        "sum_ratio": KindSpec(
            "points × Σ numerator / Σ denominator over reported months; Σ denominator = 0 → full",
            {"numerator": _SUMMABLE, "denominator": _SUMMABLE},
        ),
        "fund_compliance": KindSpec(
            "points × participating months without any of codes / participating months; none → n/a",
            {"codes": _anomaly_codes},
        ),
        "kitchen_controls": KindSpec(
            "points × Σ (fields) / (number of fields × Σ denominator) over the participating months that have the"
            " fields' section (sent in @2); none → n/a; Σ denominator = 0 → full",
            {"fields": _same_section(_report_fields("int", sections=SECTIONS_V2_BY_KEY)), "denominator": _COUNT},
        ),
        "months_all_true": KindSpec(
            "points × months with every one of fields true / reported months",
            {"fields": _report_fields("bool")},
        ),
        "months_flag": KindSpec(
            "points × months with field true / reported months",
            {"field": _FLAG},
        ),
        "hazard_rectification": KindSpec(
            "points × min(1, Σ rectified / Σ found) − major_overdue_penalty × overdue open major hazards, floor 0",
            {"found": _COUNT, "rectified": _COUNT, "major_overdue_penalty": _number(0)},
        ),
        "patrols": KindSpec(
            "points × min(1, Σ field / (per_month × reported months))",
            {"field": _COUNT, "per_month": _positive_int},
        ),
        "drills": KindSpec(
            "points × min(1, Σ field / ceil(expected months / every_months))",
            {"field": _COUNT, "every_months": _positive_int},
        ),
        "assets": KindSpec(
            "mismatch_points × months with mismatches = 0 / reported months"
            " + repairs_points × min(1, Σ repairs_completed / Σ repairs_requested)",
            {
                "mismatches": _COUNT,
                "mismatch_points": _number(0),
                "repairs_completed": _COUNT,
                "repairs_requested": _COUNT,
                "repairs_points": _number(0),
            },
        ),
        "energy_median": KindSpec(
            "points/2 × f(e / median e) + points/2 × f(w / median w), per student, medians over the county's"
            " schools of the same type; f = 1 up to thresholds[0], 0 from thresholds[1], linear between",
            {
                "electricity": _SUMMABLE,
                "water": _SUMMABLE,
                "students": _COUNT,
                "thresholds": _thresholds,
            },
        ),
        "dormitory_items": KindSpec(
            "latest report: points × distinct items in field / out_of; no boarders → n/a",
            {"field": _report_field("list"), "boarders": _COUNT, "out_of": _positive_int},
        ),
        "calendar_tasks": KindSpec(
            "points × 后勤行事历 tasks done / tasks due over the reported months sent in @2 (due: the calendar in"
            " force when the month's report arrived); none due → n/a",
            {},
        ),
    }
)

_INDICATOR_KEYS = ("code", "area", "name_zh", "name_en", "points", "kind")
_TOP_KEYS = (
    "version",
    "title_zh",
    "title_en",
    "break_months",
    "status",
    "veto",
    "campaign",
    "grades",
    "areas",
    "indicators",
)


# --------------------------------------------------------------------------------------------------------
# Line numbers. tomllib gives values, not positions, so we find the lines in the text: table headers split
# the file into regions, and a key is the first line of its region that assigns it.

_HEADER_RE = re.compile(r"""^\s*(\[\[?)\s*([A-Za-z0-9_\-."' ]+?)\s*(\]\]?)\s*(?:#.*)?$""")


class _Locator:
    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        # (line number, dotted name, array element index or None)
        self._headers: list[tuple[int, tuple[str, ...], int | None]] = []
        counters: dict[tuple[str, ...], int] = {}
        for number, line in enumerate(self._lines, 1):
            m = _HEADER_RE.match(line)
            if m is None or len(m.group(1)) != len(m.group(3)):
                continue
            name = tuple(part.strip().strip("\"'") for part in m.group(2).split("."))
            index = None
            if m.group(1) == "[[":
                index = counters.get(name, 0)
                counters[name] = index + 1
            self._headers.append((number, name, index))

    def _region(self, table: tuple[str, ...], index: int | None) -> tuple[int, int] | None:
        """First and last line of a table (with its sub-tables); ``()`` is the part before any header."""
        if not table:
            end = self._headers[0][0] - 1 if self._headers else len(self._lines)
            return 1, end
        for pos, (number, name, idx) in enumerate(self._headers):
            if name == table and idx == index:
                end = len(self._lines)
                for later_number, later_name, _ in self._headers[pos + 1 :]:
                    if not (len(later_name) > len(table) and later_name[: len(table)] == table):
                        end = later_number - 1
                        break
                return number, end
        return None

    def line(self, table: tuple[str, ...] = (), index: int | None = None, key: str | None = None) -> int:
        region = self._region(table, index)
        if region is None:
            # e.g. an inline array of tables: the key that holds the table is the best we can name
            return (self._assignment(table[0], 1, len(self._lines)) or 1) if table else 1
        start, end = region
        if key is None:
            return start
        found = self._assignment(key, start, end)
        if found:
            return found
        for number, name, _ in self._headers:
            if start <= number <= end and name[: len(table) + 1] == (*table, key):
                return number
        return start

    def code_line(self, code: str) -> int | None:
        pattern = re.compile(r"""^\s*code\s*=\s*["']""" + re.escape(code) + r"""["']""")
        for number, line in enumerate(self._lines, 1):
            if pattern.match(line):
                return number
        return None

    def _assignment(self, key: str, start: int, end: int) -> int | None:
        pattern = re.compile(r"""^\s*["']?""" + re.escape(key) + r"""["']?\s*[=.]""")
        for number in range(start, min(end, len(self._lines)) + 1):
            if pattern.match(self._lines[number - 1]):
                return number
        return None


# --------------------------------------------------------------------------------------------------------
# Loading.


def load_rubric_file(path: str | Path) -> Rubric:
    """Load and validate a rubric file (UTF-8 TOML). Errors name ``path`` and the line."""
    path = Path(path)
    return load_rubric(path.read_text(encoding="utf-8"), source=str(path))


def load_default_rubric() -> Rubric:
    """The project's default rubric (SCORING.md), ``version = "default-1"``."""
    return load_rubric_file(DEFAULT_RUBRIC_PATH)


def load_rubric(text: str, source: str = "<rubric>") -> Rubric:
    """Parse and validate a rubric; raise ``RubricError`` listing every problem with its line."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise RubricError([f"{source}:{m.group(1) if m else 1}: TOML syntax error: {exc}"]) from None
    return _Loader(text, source).load(data)


class _Loader:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.where = _Locator(text)
        self.errors: list[str] = []

    def error(self, line: int, message: str) -> None:
        self.errors.append(f"{self.source}:{line}: {message}")

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        check: Callable[[object], Any],
        path: tuple[str, ...],
        index: int | None = None,
        label: str = "",
        *,
        required: bool = True,
        default: Any = None,
    ) -> Any:
        """``check(table[key])``, or record the problem at the key's line (the table's when it is missing)."""
        prefix = f"{label}: " if label else ""
        dotted = ".".join((*path, key)) if not label else key
        if key not in table:
            if required:
                self.error(self.where.line(path, index), f"{prefix}missing {dotted}")
            return default
        try:
            return check(table[key])
        except _Bad as exc:
            self.error(self.where.line(path, index, key), f"{prefix}{dotted}: {exc}")
            return default

    def unknown_keys(
        self,
        table: Mapping[str, Any],
        allowed: Sequence[str],
        path: tuple[str, ...],
        index: int | None,
        label: str,
    ) -> None:
        prefix = f"{label}: " if label else ""
        for key in table:
            if key not in allowed:
                self.error(
                    self.where.line(path, index, key),
                    f"{prefix}unknown key {key!r} (allowed: {', '.join(allowed)})",
                )

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key)
        if isinstance(value, dict):
            return value
        if value is None:
            self.error(1, f"missing table [{key}]")
        else:
            self.error(self.where.line((), None, key), f"{key} must be a table")
        return {}

    def array_of_tables(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = data.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            line = self.where.line((), None, key) if key in data else 1
            self.error(line, f"needs at least one [[{key}]] table")
            return []
        return value

    # ----------------------------------------------------------------------------------------------------

    def load(self, data: Mapping[str, Any]) -> Rubric:
        self.unknown_keys(data, _TOP_KEYS, (), None, "")
        version = self.get(data, "version", _text, ())
        title_zh = self.get(data, "title_zh", _text, (), required=False, default="")
        title_en = self.get(data, "title_en", _text, (), required=False, default="")
        break_months = self.get(data, "break_months", _break_months, (), required=False, default=(7, 8))

        status = self.table(data, "status")
        self.unknown_keys(status, ("compliant_score", "min_coverage"), ("status",), None, "")
        compliant_score = self.get(status, "compliant_score", _number(0, 100), ("status",))
        min_coverage = self.get(status, "min_coverage", _number(0, 1), ("status",))

        veto = self.table(data, "veto")
        self.unknown_keys(veto, ("fields",), ("veto",), None, "")
        veto_fields = self.get(veto, "fields", _veto_fields, ("veto",), default=())

        campaign = self.table(data, "campaign")
        self.unknown_keys(campaign, ("targets",), ("campaign",), None, "")
        targets = self._targets(campaign)

        grades = self._grades(data)
        areas = self._areas(data)
        indicators = self._indicators(data, {a.code for a in areas})

        if self.errors:
            raise RubricError(self.errors)
        return Rubric(
            version=version,
            title_zh=title_zh,
            title_en=title_en,
            areas=tuple(areas),
            indicators=tuple(indicators),
            grades=tuple(grades),
            compliant_score=compliant_score,
            min_coverage=min_coverage,
            veto_fields=veto_fields,
            campaign_targets=MappingProxyType(targets),
            break_months=break_months,
            source=self.source,
        )

    def _targets(self, campaign: Mapping[str, Any]) -> dict[int, Fraction]:
        path = ("campaign", "targets")
        raw = campaign.get("targets")
        if not isinstance(raw, dict) or not raw:
            line = self.where.line(path) if "targets" in campaign else self.where.line(("campaign",))
            self.error(line, "campaign.targets must be a table of campaign year = target share, e.g. 1 = 0.50")
            return {}
        targets: dict[int, Fraction] = {}
        for key, value in raw.items():
            line = self.where.line(path, None, key)
            if not key.isdigit() or int(key) < 1:
                self.error(line, f"campaign.targets: {key!r} is not a campaign year (1, 2, 3 ...)")
                continue
            try:
                targets[int(key)] = _number(0, 1)(value)
            except _Bad as exc:
                self.error(line, f"campaign.targets.{key}: {exc}")
        return dict(sorted(targets.items()))

    def _grades(self, data: Mapping[str, Any]) -> list[GradeBand]:
        grades: list[GradeBand] = []
        for i, raw in enumerate(self.array_of_tables(data, "grades")):
            path = ("grades",)
            label = f"grade {raw.get('code', i + 1)}"
            self.unknown_keys(raw, ("code", "zh", "en", "min_score"), path, i, label)
            code = self.get(raw, "code", _text, path, i, label)
            zh = self.get(raw, "zh", _text, path, i, label)
            en = self.get(raw, "en", _text, path, i, label)
            min_score = self.get(raw, "min_score", _number(0, 100), path, i, label)
            if None in (code, zh, en, min_score):
                continue
            if any(g.code == code for g in grades):
                self.error(self.where.line(path, i, "code"), f"{label}: code {code!r} is used twice")
            if grades and not min_score < grades[-1].min_score:
                self.error(
                    self.where.line(path, i, "min_score"),
                    f"{label}: min_score {_show(min_score)} must be below the band above"
                    f" ({_show(grades[-1].min_score)}): list grades highest first",
                )
            grades.append(GradeBand(code, zh, en, min_score))
        if grades and grades[-1].min_score != 0:
            self.error(
                self.where.line(("grades",), len(grades) - 1, "min_score"),
                f"the lowest grade must start at 0, not {_show(grades[-1].min_score)}: every score needs a grade",
            )
        return grades

    def _areas(self, data: Mapping[str, Any]) -> list[Area]:
        areas: list[Area] = []
        for i, raw in enumerate(self.array_of_tables(data, "areas")):
            path = ("areas",)
            label = f"area {raw.get('code', i + 1)}"
            self.unknown_keys(raw, ("code", "zh", "en"), path, i, label)
            code = self.get(raw, "code", _text, path, i, label)
            zh = self.get(raw, "zh", _text, path, i, label)
            en = self.get(raw, "en", _text, path, i, label)
            if code is not None and code not in AREA_CODES:
                self.error(
                    self.where.line(path, i, "code"),
                    f"{label}: unknown area {code!r} (known: {', '.join(AREA_CODES)})",
                )
                continue
            if code is not None and any(a.code == code for a in areas):
                self.error(self.where.line(path, i, "code"), f"{label}: area {code!r} is listed twice")
                continue
            if None not in (code, zh, en):
                areas.append(Area(code, zh, en))
        return areas

    def _indicators(self, data: Mapping[str, Any], area_codes: set[str]) -> list[Indicator]:
        indicators: list[Indicator] = []
        raws = self.array_of_tables(data, "indicators")
        seen: dict[str, int] = {}
        total = Fraction(0)
        points_ok = True
        for i, raw in enumerate(raws):
            path = ("indicators",)
            code = raw.get("code")
            header = self.where.line(path, i)
            if header == 1 and isinstance(code, str):
                header = self.where.code_line(code) or 1
            label = f"indicator {code}" if isinstance(code, str) else f"indicator #{i + 1}"
            code = self.get(raw, "code", _text, path, i, label)
            if code is not None:
                if code in seen:
                    self.error(
                        self.where.line(path, i, "code"),
                        f"{label}: code {code!r} is used twice (first at line {seen[code]})",
                    )
                else:
                    seen[code] = self.where.line(path, i, "code")
            area = self.get(raw, "area", _text, path, i, label)
            if area is not None and area not in area_codes:
                self.error(
                    self.where.line(path, i, "area"),
                    f"{label}: area {area!r} is not one of the [[areas]] ({', '.join(sorted(area_codes))})",
                )
            name_zh = self.get(raw, "name_zh", _text, path, i, label)
            name_en = self.get(raw, "name_en", _text, path, i, label)
            points = self.get(raw, "points", _number(0, 100, lo_open=True), path, i, label)
            if points is None:
                points_ok = False
            else:
                total += points
            raw_kind = raw.get("kind")
            kind = raw_kind if isinstance(raw_kind, str) else ""
            spec = KINDS.get(kind)
            if "kind" not in raw:
                self.error(header, f"{label}: missing kind")
            elif spec is None:
                self.error(
                    self.where.line(path, i, "kind"),
                    f"{label}: unknown kind {raw_kind!r} (known: {', '.join(KINDS)})",
                )
            allowed = _INDICATOR_KEYS + tuple(spec.params if spec else ())
            if spec is not None:
                self.unknown_keys(raw, allowed, path, i, label)
            params: dict[str, Any] = {}
            if spec is not None:
                for name, check in spec.params.items():
                    value = self.get(raw, name, check, path, i, label)
                    if value is not None:
                        params[name] = value
                if points is not None and len(params) == len(spec.params):
                    self._cross_check(kind, params, points, path, i, label)
            complete = spec is not None and len(params) == len(spec.params)
            if None not in (code, area, name_zh, name_en, points) and complete:
                indicators.append(
                    Indicator(code, area, name_zh, name_en, points, kind, MappingProxyType(params), header)
                )
        if raws and points_ok and total != 100:
            listed = ", ".join(f"{r.get('code')}={r.get('points')}" for r in raws)
            self.error(
                self.where.line(("indicators",), 0),
                f"the indicators' points sum to {_show(total)}, they must sum to exactly 100 (points: {listed})",
            )
        return indicators

    def _cross_check(
        self,
        kind: str,
        params: Mapping[str, Any],
        points: Fraction,
        path: tuple[str, ...],
        i: int,
        label: str,
    ) -> None:
        if kind == "campaign_status":
            for status, value in params["status_points"].items():
                if value > points:
                    self.error(
                        self.where.line(path, i, "status_points"),
                        f"{label}: status_points.{status} = {_show(value)} exceeds the indicator's points"
                        f" ({_show(points)})",
                    )
        elif kind == "assets":
            parts = params["mismatch_points"] + params["repairs_points"]
            if parts != points:
                self.error(
                    self.where.line(path, i, "repairs_points"),
                    f"{label}: mismatch_points + repairs_points = {_show(parts)}, must equal points ({_show(points)})",
                )


def _break_months(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _Bad(f"must be a list of months 1–12, got {value!r}")
    months = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 12:
            raise _Bad(f"{v!r} is not a month 1–12")
        months.append(v)
    if len(set(months)) != len(months):
        raise _Bad("lists a month twice")
    return tuple(sorted(months))


def _veto_fields(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Bad(f"must be a list of integer report fields, got {value!r}")
    return _report_fields("int")(value) if value else ()
