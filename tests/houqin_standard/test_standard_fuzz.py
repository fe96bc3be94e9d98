"""validate_report never raises, whatever it is given, and only ever emits documented codes."""

from __future__ import annotations

import copy
from typing import Any

from helpers_standard import EXAMPLE, TODAY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from houqin_standard import ALL_CODES, ValidationResult, validate_report

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=60)
    | st.sampled_from(["", "0", "0.00", "-1.00", "2026-09", "2026-02-30", "5.00", "compliant", "1e999"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


def _pointers(doc: Any, prefix: str = "") -> list[str]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _pointers(v, f"{prefix}/{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _pointers(v, f"{prefix}/{i}")
    return out


POINTERS = _pointers(EXAMPLE)


def _set(doc: Any, pointer: str, value: Any) -> None:
    *parents, last = pointer.split("/")[1:]
    node = doc
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _assert_sane(result: ValidationResult) -> None:
    assert isinstance(result, ValidationResult)
    for issue in result.errors + result.warnings:
        assert issue.code in ALL_CODES
        assert issue.path == "" or issue.path.startswith("/")
        assert issue.zh and issue.en


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value(value: Any) -> None:
    _assert_sane(validate_report(value, today=TODAY))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(POINTERS), json_values), min_size=1, max_size=6), json_values)
def test_mutated_example(changes: list[tuple[str, Any]], previous: Any) -> None:
    doc = copy.deepcopy(EXAMPLE)
    for pointer, value in changes:
        try:
            _set(doc, pointer, value)
        except (KeyError, IndexError, TypeError, ValueError):
            continue  # an earlier change replaced a parent of this pointer
    _assert_sane(validate_report(doc, today=TODAY, previous=previous))
    _assert_sane(validate_report(doc, previous=doc))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(list(EXAMPLE)) | st.text(max_size=8), json_values, max_size=20))
def test_objects_with_report_keys(doc: dict[str, Any]) -> None:
    _assert_sane(validate_report(doc, today=TODAY))
