"""The one parser of object ids in paths and queries (``/api/v1/jobs/<id>``, ``?snapshot=``, ``diff?a=&b=``).

An id is what the database holds: ASCII digits only (no sign, ``_``, white space, superscript or full-width
digits, which Python's ``int()`` and ``str.isdigit()`` take), from 1 to 2^31 − 1 (the 32-bit ``integer`` the
primary keys are). A well-formed number past that range is "no such thing" (404), as a number that is not
anyone's id is; something that is not a number at all is 400 where a query names it, 404 in a path (no route
matches). docs/DECISIONS.md, "Hardening (issue 16)".
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.routing import BaseConverter, ValidationError

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,20}", re.ASCII)


class NotAnId(ValueError):
    """Not a number at all (as opposed to a number no object has)."""


def parse_id(raw: object) -> int | None:
    """The id ``raw`` spells, None when no object can have it (0, or past 2^31 − 1); :class:`NotAnId` when
    ``raw`` is not ASCII digits."""
    if not isinstance(raw, str) or _DIGITS.fullmatch(raw) is None:
        raise NotAnId(raw)
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


class IdConverter(BaseConverter):
    """``<int:name>`` in every route of the hub (it replaces Werkzeug's, which takes any Unicode digit and any
    size): ASCII digits, and a number no id can be does not match, so the answer is 404."""

    regex = r"[0-9]+"
    weight = 50

    def to_python(self, value: str) -> Any:
        try:
            parsed = parse_id(value)
        except NotAnId:
            raise ValidationError() from None
        if parsed is None:
            raise ValidationError()
        return parsed

    def to_url(self, value: Any) -> str:
        return str(int(value))
