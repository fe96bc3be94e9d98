"""A report's figures: every value the scoring engine can read of one report, as one flat list.

The engine reads a report only through its ``section.field`` values (SCORING.md's indicators name them, a
county's rubric may name any field of the standard) and its ``school_code`` and ``period``. ``figures_of``
takes exactly those from a parsed report, in the fixed order ``FIELDS``, after a layout tag: ::

    ["<layout>", "<school_code>", "<period>", <enrollment.students>, ..., <dormitory.unified_items>]

A field the report does not have is ``None`` (no field of a report's sections may be null: STANDARD.md), so
"absent" is never confused with a value. Values are kept as the report has them (money and quantities as
their decimal strings, counts as integers, flags as booleans, lists as lists): the engine reads and checks
them exactly as it would read the report.

Ingestion stores each accepted revision's figures as JSON on its head (``report_heads.figures``, written in
the same statement as the revision; ``houqin db figures`` fills any that are missing). A ranking then reads the
heads alone and parses a fifth of the text per report, and no nested objects: parsing and freeing a county's
reports was the largest single cost of a recompute (docs/PERFORMANCE.md). The layout tag changes whenever
``FIELDS`` does (a new standard version): stored figures of another layout are not read, the revision's content
is, through this same function (``load_figures``).

Two standard versions live side by side (STANDARD-v2.md). ``FIELDS`` is @1's fields followed by the fields only
@2 has, so every @1 field keeps its position. A @1 report's figures are stored as before, under @1's layout tag
``LAYOUT_1`` and @1's fields only (the rows stored before @2 existed stay valid, byte for byte); a @2 report's
under ``LAYOUT`` with every field. Read back (``figures_of``, ``stored_figures``), a @1 list is padded with
``None`` for @2's fields: a field only @2 has is *not reported* in a @1 month, never 0 or false.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from houqin_standard.fields import SECTIONS, SECTIONS_V2_ONLY, STANDARD_ID_2

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


def figures_of(report: Mapping[str, Any]) -> list[Any]:
    """The figures of a parsed report (any mapping; a section that is missing or not an object gives ``None``
    for each of its fields, and so does every field only @2 has in a report of @1)."""
    out = _figures(report)
    if len(out) == _LEN_1:
        out.extend(_PAD)
    return out


def figures_json(report: Mapping[str, Any]) -> str:
    """The JSON text a report's head stores: ``figures_of(report)`` without @1's padding."""
    return orjson.dumps(_figures(report)).decode("utf-8")


def stored_figures(text: str | bytes | None) -> list[Any] | None:
    """The figures stored as ``text``; ``None`` when there are none or they are of another layout."""
    if text is None:
        return None
    values = orjson.loads(text)
    if type(values) is not list or not values or values[0] not in LAYOUTS:
        return None
    if len(values) == _LEN_1:
        values.extend(_PAD)
    return values


def load_figures(text: str | bytes | None, content: str | bytes | None = None) -> list[Any]:
    """The figures stored as ``text``; when there are none (``None``) or they are of another layout, those of
    the report ``content`` (its JSON). ``ValueError`` when neither is given."""
    values = stored_figures(text)
    if values is not None:
        return values
    if content is None:
        raise ValueError("no figures of this layout stored, and no report content to take them from")
    return figures_of(orjson.loads(content))


def is_figures(value: object) -> bool:
    """Whether ``value`` is a figures list (rather than a parsed report)."""
    return type(value) is list and bool(value) and value[0] in LAYOUTS
