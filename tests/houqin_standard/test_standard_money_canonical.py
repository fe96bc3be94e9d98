"""Money and quantity strings; canonical JSON and hashes."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from helpers_standard import example

from houqin_standard import (
    body_sha256,
    canonical_json,
    content_sha256,
    format_money,
    format_quantity,
    is_money,
    is_quantity,
    parse_money,
    parse_quantity,
)


def test_money() -> None:
    assert parse_money("81900.00") == Decimal("81900.00")
    assert parse_money("0.05") == Decimal("0.05")
    for bad in ["1.5", "1.505", "abc", "-1.00", "01.00", "1e3", "", " 1.00", "1234567890123.00"]:
        assert not is_money(bad)
        with pytest.raises(ValueError):
            parse_money(bad)
    assert format_money(Decimal("4915.655")) == "4915.66"
    assert format_money(Decimal("5")) == "5.00"
    assert format_money(12) == "12.00"
    assert format_money("0.1") == "0.10"
    with pytest.raises(TypeError):
        format_money(1.5)  # type: ignore[arg-type]


def test_quantity() -> None:
    assert parse_quantity("412.0") == Decimal("412.0")
    assert parse_quantity("11771") == Decimal("11771")
    assert is_quantity("0")
    for bad in ["412.05", "-1", "412.", ".5", "abc", "0412"]:
        assert not is_quantity(bad)
        with pytest.raises(ValueError):
            parse_quantity(bad)
    assert format_quantity(Decimal("916.25")) == "916.3"
    assert format_quantity(7) == "7.0"


def test_canonical_json_is_key_order_and_space_independent() -> None:
    a = example()
    b = json.loads(json.dumps(a, indent=4))
    b = dict(reversed(list(b.items())))
    assert canonical_json(a) == canonical_json(b)
    assert content_sha256(a) == content_sha256(b)
    raw = canonical_json(a)
    assert raw == json.dumps(a, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert "李总务".encode() in raw
    assert b", " not in raw and b": " not in raw  # no separator spaces (the example's texts have none)
    assert content_sha256(a) == hashlib.sha256(raw).hexdigest()


def test_content_hash_changes_with_content() -> None:
    a = example()
    b = example()
    b["nutrition"]["food_spend"] = "65305.36"
    assert content_sha256(a) != content_sha256(b)


def test_body_sha256() -> None:
    assert body_sha256(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize(
    "text",
    ["0.00", "0.05", "10.10", "999999999999.99", "1000000000000.00", "007.00", "00.00", "01.50", "+1.00",
     "-1.00", " 1.00", "1.00 ", "1.0", "1.000", ".50", "1,00", "١٢.00", "1٢.00", "12.٠٠", "1e2.00", "12.-1",
     "1_0.00", "", "..00", "1.0.0"],
)  # fmt: skip
def test_parse_money_accepts_exactly_what_is_money_accepts(text: str) -> None:
    """``parse_money``'s fast path (no regular expression) and ``MONEY_RE`` agree on every spelling."""
    if is_money(text):
        assert parse_money(text) == Decimal(text)
    else:
        with pytest.raises(ValueError):
            parse_money(text)
