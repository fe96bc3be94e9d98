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
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from houqin_standard.fields import SECTIONS

#: The fields of a figures list, after its layout tag: the header fields the engine checks, then every field
#: of every section of the standard, in the standard's order.
FIELDS: tuple[str, ...] = (
    "school_code",
    "period",
    *(f"{section.key}.{f.key}" for section in SECTIONS for f in section.fields),
)

#: Changes whenever ``FIELDS`` does.
LAYOUT: str = "f1:" + hashlib.sha256("\n".join(FIELDS).encode()).hexdigest()[:12]

#: How stored figures of this layout begin (their JSON text), for a query to tell them apart.
STORED_PREFIX: str = orjson.dumps([LAYOUT]).decode("utf-8")[:-1]

#: ``section.field`` (or ``school_code``/``period``) → its position in a figures list.
INDEX: dict[str, int] = {name: i for i, name in enumerate(FIELDS, start=1)}

_SECTION_FIELDS = tuple((section.key, tuple(f.key for f in section.fields)) for section in SECTIONS)
_NONE_SECTION: dict[str, Any] = {}


def figures_of(report: Mapping[str, Any]) -> list[Any]:
    """The figures of a parsed report (any mapping; a section that is missing or not an object gives ``None``
    for each of its fields)."""
    out: list[Any] = [LAYOUT, report.get("school_code"), report.get("period")]
    for key, fields in _SECTION_FIELDS:
        section = report.get(key, _NONE_SECTION)
        if not isinstance(section, Mapping):
            section = _NONE_SECTION
        out.extend([section.get(f) for f in fields])
    return out


def figures_json(report: Mapping[str, Any]) -> str:
    """``figures_of(report)`` as the JSON text a report's head stores."""
    return orjson.dumps(figures_of(report)).decode("utf-8")


def stored_figures(text: str | bytes | None) -> list[Any] | None:
    """The figures stored as ``text``; ``None`` when there are none or they are of another layout."""
    if text is None:
        return None
    values = orjson.loads(text)
    return values if is_figures(values) else None


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
    return type(value) is list and bool(value) and value[0] == LAYOUT
