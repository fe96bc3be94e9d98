"""Money (金额) and unit quantities (m², m³, kWh) as decimal strings — never floats.

Money: exactly two decimal places ("81900.00"). Quantities: digits with at most one decimal place
("412.0", "11771"). Leading zeros ("007.00") and signs are not accepted, so one amount has one spelling and
content hashes of equal reports are equal. Both fit the hub's ``Numeric(14, 2)`` columns: at most
12 integer digits.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeGuard

MAX_INTEGER_DIGITS = 12

MONEY_RE = re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]{2}", re.ASCII)
# the whole rule in one match: MONEY_RE with at most MAX_INTEGER_DIGITS integer digits
_MONEY_FULL_RE = re.compile(rf"(?:0|[1-9][0-9]{{0,{MAX_INTEGER_DIGITS - 1}}})\.[0-9]{{2}}", re.ASCII)
QUANTITY_RE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9])?", re.ASCII)
# the same for QUANTITY_RE
_QUANTITY_FULL_RE = re.compile(rf"(?:0|[1-9][0-9]{{0,{MAX_INTEGER_DIGITS - 1}}})(?:\.[0-9])?", re.ASCII)
_CENT = Decimal("0.01")


def is_money(s: object) -> TypeGuard[str]:
    return isinstance(s, str) and _MONEY_FULL_RE.fullmatch(s) is not None


def is_quantity(s: object) -> TypeGuard[str]:
    return isinstance(s, str) and _QUANTITY_FULL_RE.fullmatch(s) is not None


def parse_money(s: str) -> Decimal:
    """``"81900.00"`` → ``Decimal("81900.00")``; anything else raises ``ValueError``."""
    if not is_money(s):
        raise ValueError(f"not a money string with 2 decimal places: {str(s)[:40]!r}")
    return Decimal(s)


def format_money(d: Decimal | int | str) -> str:
    """Decimal → ``"81900.00"`` (rounded half up to the cent). Rejects floats: they are how cents get lost."""
    if isinstance(d, float):
        raise TypeError("money must not be a float")
    try:
        value = Decimal(d)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a decimal amount: {str(d)[:40]!r}") from exc
    if not value.is_finite():
        raise ValueError("money must be finite")
    return f"{value.quantize(_CENT, rounding=ROUND_HALF_UP):f}"


def parse_quantity(s: str) -> Decimal:
    """``"412.0"`` or ``"11771"`` → Decimal; anything else raises ``ValueError``."""
    if not is_quantity(s):
        raise ValueError(f"not a quantity with at most 1 decimal place: {str(s)[:40]!r}")
    return Decimal(s)


def format_quantity(d: Decimal | int | str) -> str:
    """Decimal → ``"412.0"`` (one decimal place, rounded half up)."""
    if isinstance(d, float):
        raise TypeError("quantities must not be floats")
    value = Decimal(d)
    if not value.is_finite():
        raise ValueError("quantity must be finite")
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):f}"
