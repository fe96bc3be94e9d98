"""A report's figures: every value the engines can read of one report, as one flat tuple (``ReportFigures``).

The scoring engine and the fund rules read a report only through its ``section.field`` values (SCORING.md's
indicators name them, a county's rubric may name any field of the standard) and its ``school_code`` and
``period``. ``ReportFigures`` holds exactly those, in the fixed order ``FIELDS``, after a layout tag: ::

    ("<layout>", "<school_code>", "<period>", <enrollment.students>, ..., <dormitory.unified_items>, ...)

It is the one report type past the loaders: a loader makes it from a parsed report
(``ReportFigures.from_content``) or from the figures stored on the report's head (``ReportFigures.from_stored``,
or ``load_figures``: stored, else from the content), and the engines take nothing else.

A field the report does not have is ``None`` (no field of a report's sections may be null: STANDARD.md), so
"absent" is never confused with a value. Values are kept as the report has them (money and quantities as
their decimal strings, counts as integers, flags as booleans, lists as lists): the engine reads and checks
them exactly as it would read the report.

Ingestion stores each accepted revision's figures as JSON on its head (``report_heads.figures``, written in
the same statement as the revision; ``houqin db figures`` fills any that are missing). A ranking then reads the
heads alone and parses a fifth of the text per report, and no nested objects: parsing and freeing a county's
reports was the largest single cost of a recompute (docs/PERFORMANCE.md). The layout tag changes whenever
``FIELDS`` does (a new standard version): stored figures of another layout are not read, the revision's content
is, through ``from_content`` (``load_figures``).

Two standard versions live side by side (STANDARD-v2.md). ``FIELDS`` is @1's fields followed by the fields only
@2 has, so every @1 field keeps its position. A @1 report's figures are stored as before, under @1's layout tag
``LAYOUT_1`` and @1's fields only (the rows stored before @2 existed stay valid, byte for byte); a @2 report's
under ``LAYOUT`` with every field. Read back (``from_content``, ``from_stored``), a @1 report is padded with
``None`` for @2's fields: a field only @2 has is *not reported* in a @1 month, never 0 or false.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, cast

import orjson

from houqin_standard.fields import SECTIONS, SECTIONS_V2_ONLY, STANDARD_ID, STANDARD_ID_2

#: The fields of a @1 report's figures, after its layout tag: the header fields the engine checks, then every
#: field of every section of @1, in the standard's order.
FIELDS_1: tuple[str, ...] = (
    "school_code",
    "period",
    *(f"{section.key}.{f.key}" for section in SECTIONS for f in section.fields),
)

#: The fields of a figures list: @1's, then those only @2 has, in @2's order.
FIELDS: tuple[str, ...] = (
    *FIELDS_1,
    *(f"{section.key}.{f.key}" for section in SECTIONS_V2_ONLY for f in section.fields),
)


def _layout(fields: tuple[str, ...]) -> str:
    return "f1:" + hashlib.sha256("\n".join(fields).encode()).hexdigest()[:12]


#: The tag of a @1 report's figures (unchanged since before @2: stored rows stay valid).
LAYOUT_1: str = _layout(FIELDS_1)
#: The tag of a @2 report's figures; changes whenever ``FIELDS`` does.
LAYOUT: str = _layout(FIELDS)
LAYOUTS: frozenset[str] = frozenset({LAYOUT_1, LAYOUT})

#: How stored figures of each current layout begin (their JSON text), for a query to tell them apart.
STORED_PREFIXES: tuple[str, ...] = tuple(orjson.dumps([tag]).decode("utf-8")[:-1] for tag in (LAYOUT_1, LAYOUT))
STORED_PREFIX: str = STORED_PREFIXES[0]

_LEN_1 = len(FIELDS_1) + 1
_PAD: list[Any] = [None] * (len(FIELDS) - len(FIELDS_1))

#: ``section.field`` (or ``school_code``/``period``) → its position in a figures list.
INDEX: dict[str, int] = {name: i for i, name in enumerate(FIELDS, start=1)}

_SECTION_FIELDS = tuple(
    (section.key, tuple(f.key for f in section.fields)) for section in (*SECTIONS, *SECTIONS_V2_ONLY)
)
_SECTION_FIELDS_1 = _SECTION_FIELDS[: len(SECTIONS)]
_NONE_SECTION: dict[str, Any] = {}


def _figures(report: Mapping[str, Any]) -> list[Any]:
    """The figures as stored: @1's layout and fields for anything but a @2 report, else every field."""
    v2 = report.get("standard") == STANDARD_ID_2
    out: list[Any] = [LAYOUT if v2 else LAYOUT_1, report.get("school_code"), report.get("period")]
    for key, fields in _SECTION_FIELDS if v2 else _SECTION_FIELDS_1:
        section = report.get(key, _NONE_SECTION)
        if not isinstance(section, Mapping):
            section = _NONE_SECTION
        out.extend([section.get(f) for f in fields])
    return out


class ReportFigures(tuple[Any, ...]):
    """One report as the engines read it (the one report type past the loaders): its figures, in the order
    ``FIELDS`` after the layout tag, a @1 report's padded with ``None`` for the fields only @2 has.

    Made only by the loaders, from a parsed report (``from_content``) or from the figures stored on its head
    (``from_stored``); the scoring engine and the fund rules take nothing else. An immutable tuple of plain
    values (no object per field): a county's recompute makes one per school-month, ~100,000 for a city, and
    reads them by position (``INDEX``) in its inner loops; ``value(field)`` is the same read by name. A value
    is as the report has it (a money string, a count, a flag, a list), ``None`` when the report has no such
    field (no field of a report's sections may be null: STANDARD.md).
    """

    __slots__ = ()

    @classmethod
    def from_content(cls, report: Mapping[str, Any]) -> ReportFigures:
        """The figures of a parsed report (any mapping; a section that is missing or not an object gives
        ``None`` for each of its fields, and so does every field only @2 has in a report of @1)."""
        values = _figures(report)
        if len(values) == _LEN_1:
            values.extend(_PAD)
        return _make(cls, values)

    @classmethod
    def from_stored(cls, text: str | bytes | None) -> ReportFigures | None:
        """The figures stored as ``text`` (``figures_json``); ``None`` when there are none or they are of
        another layout (then the loader reads the revision's content: ``load_figures``)."""
        if text is None:
            return None
        values = orjson.loads(text)
        if type(values) is not list or not values or values[0] not in LAYOUTS:
            return None
        if len(values) == _LEN_1:
            values.extend(_PAD)
        return _make(cls, values)

    @property
    def layout(self) -> str:
        """The layout tag: ``LAYOUT_1`` for a report sent in @1, ``LAYOUT`` for one sent in @2."""
        return cast(str, self[0])

    @property
    def standard(self) -> str:
        """The standard the report was sent in (``houqin/monthly-report@1`` or ``@2``)."""
        return STANDARD_ID_2 if self[0] == LAYOUT else STANDARD_ID

    @property
    def school_code(self) -> str:
        """The report's school code (a loader's report is valid: a string)."""
        return cast(str, self[_SCHOOL_CODE])

    @property
    def period(self) -> str:
        """The report's period, ``YYYY-MM`` (a loader's report is valid: a string)."""
        return cast(str, self[_PERIOD])

    @property
    def participating(self) -> bool:
        """``nutrition.participating`` is true (exactly ``True``: anything else is not participating)."""
        return self[_PARTICIPATING] is True

    def value(self, field: str) -> Any:
        """The value of ``field`` (``section.field``, ``school_code`` or ``period``); ``None``: the report has
        none. ``KeyError`` for a name that is not a field of the standard."""
        return self[INDEX[field]]

    def section(self, key: str) -> dict[str, Any] | None:
        """The section ``key`` as the report has it (its fields that are present, in the standard's order);
        ``None`` when the report has no field of it (a @2 section in a @1 report)."""
        out = {f: v for f, i in _SECTION_INDEX[key] if (v := self[i]) is not None}
        return out or None

    def __repr__(self) -> str:
        return f"ReportFigures({list(self)!r})"


_make = tuple.__new__
_SCHOOL_CODE = INDEX["school_code"]
_PERIOD = INDEX["period"]
_PARTICIPATING = INDEX["nutrition.participating"]
_SECTION_INDEX: dict[str, tuple[tuple[str, int], ...]] = {
    key: tuple((f, INDEX[f"{key}.{f}"]) for f in fields) for key, fields in _SECTION_FIELDS
}


def figures_json(report: Mapping[str, Any]) -> str:
    """The JSON text a report's head stores: ``ReportFigures.from_content(report)`` without @1's padding."""
    return orjson.dumps(_figures(report)).decode("utf-8")


def load_figures(text: str | bytes | None, content: str | bytes | None = None) -> ReportFigures:
    """The figures stored as ``text``; when there are none (``None``) or they are of another layout, those of
    the report ``content`` (its JSON). ``ValueError`` when neither is given."""
    values = ReportFigures.from_stored(text)
    if values is not None:
        return values
    if content is None:
        raise ValueError("no figures of this layout stored, and no report content to take them from")
    return ReportFigures.from_content(orjson.loads(content))
