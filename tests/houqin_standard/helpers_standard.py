"""Helpers shared by the standard's test modules (imported by file name; tests/ has no packages)."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

from houqin_standard import ValidationResult, validate_report

# the repository's one copy of the spec's example (tests/factories.py reads it too)
EXAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "example-report.json"
TODAY = date(2026, 11, 21)
EXAMPLE: dict[str, Any] = json.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))
DELETE = object()


def example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


def _parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def set_ptr(doc: Any, pointer: str, value: Any) -> Any:
    """Set (or with ``DELETE`` remove) the value at a JSON pointer; returns ``doc``."""
    *parents, last = _parts(pointer)
    node = doc
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        if value is DELETE:
            del node[int(last)]
        else:
            node[int(last)] = value
    elif value is DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


def mutated(*changes: tuple[str, Any]) -> dict[str, Any]:
    doc = example()
    for pointer, value in changes:
        set_ptr(doc, pointer, value)
    return doc


def check(doc: Any, **kwargs: Any) -> ValidationResult:
    kwargs.setdefault("today", TODAY)
    return validate_report(doc, **kwargs)


def error_pairs(doc: Any, **kwargs: Any) -> list[tuple[str, str]]:
    return [(i.path, i.code) for i in check(doc, **kwargs).errors]


def warning_pairs(doc: Any, **kwargs: Any) -> list[tuple[str, str]]:
    return [(i.path, i.code) for i in check(doc, **kwargs).warnings]
