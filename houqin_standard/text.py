"""What a free-text field may hold (names, ``prepared_by``, hazard refs and descriptions, inspectors, notes).

Text typed by people is printed on the bureau's pages, in xlsx cells and on signed PDFs, and stored in text
columns. Three kinds of character are refused there (docs/DECISIONS.md, "Hardening (issue 16)"):

- control characters (Unicode category Cc: C0, DEL and C1, NUL included, which PostgreSQL refuses in text
  columns), except tab, line feed and carriage return in multi-line text (notes);
- bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make a printed name read other
  than it is stored ("Trojan Source");
- lone surrogates (Cs), which no UTF-8 text can hold.

And a required text must have *visible* content: spaces, zero-width and other format characters (U+200B,
U+FEFF, ...) and blank letters (U+3164 HANGUL FILLER, ...) do not count towards its minimum length.

Stdlib only: the school agent checks the same rules before it sends.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MULTILINE_CONTROLS = frozenset("\t\n\r")
# letters (category Lo) and a symbol that print as nothing
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def text_problem(value: str, *, multiline: bool = False) -> tuple[str, int] | None:
    """The first refused character of ``value``, as (code, index): ``control_character`` (a control character
    or a lone surrogate) or ``bidi_control``; None when every character may stay."""
    for i, ch in enumerate(value):
        if ch in BIDI_CONTROLS:
            return "bidi_control", i
        if ch.isprintable() or ch == " ":
            continue
        category = unicodedata.category(ch)
        if category == "Cs" or (category == "Cc" and not (multiline and ch in MULTILINE_CONTROLS)):
            return "control_character", i
    return None


def visible_length(value: str) -> int:
    """How many characters of ``value`` show: not white space, not a control or format character
    (zero-width space, BOM, soft hyphen, ...), not unassigned or private use, not a blank letter."""
    n = 0
    for ch in value:
        if ch.isspace() or ch in _BLANK_LETTERS:
            continue
        if unicodedata.category(ch)[0] in "CZ":  # Cc Cf Cs Co Cn, and separators isspace() does not cover
            continue
        n += 1
    return n


def text_issue(value: str, name_zh: str, name_en: str, *, multiline: bool = False) -> tuple[str, str, str] | None:
    """(code, zh, en) of the first refused character of ``value`` in the standard's words
    (``messages.MESSAGES``), for text fields outside the report (an inspection's inspector and notes, a lock
    note); None when the text may stay."""
    from . import messages

    problem = text_problem(value, multiline=multiline)
    if problem is None:
        return None
    code, index = problem
    zh, en = messages.render(
        code, name_zh=name_zh, name_en=name_en, position=index + 1, char=f"U+{ord(value[index]):04X}"
    )
    return code, zh, en


# The same rules as one JSON-Schema regular expression (the OpenAPI document's ``pattern``, the hub's search
# box): no control characters (tab and line breaks in multi-line text), no bidi overrides or isolates, and, where
# a minimum length is set, at least one visible character
_CONTROLS = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069"
_INVISIBLE = "\\s\\u00ad\\u200b-\\u200f\\u2060-\\u2064\\ufeff\\u115f\\u1160\\u3164\\uffa0\\u2800"


def text_pattern(*, multiline: bool = False, visible: bool = False) -> str:
    allowed = f"[^{_CONTROLS}]" if multiline else f"[^{_CONTROLS}\\t\\n\\r]"
    if not visible:
        return f"^{allowed}*$"
    shown = f"[^{_CONTROLS}\\t\\n\\r{_INVISIBLE}]"
    return f"^{allowed}*{shown}{allowed}*$"
