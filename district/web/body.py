"""The one reader of JSON request bodies, for every endpoint that takes JSON (docs/DECISIONS.md, "Hardening
(issue 16)").

A body is accepted only when it is what API.md says ("JSON in and out, UTF-8") and what the database can
store; every other body is a 4xx in the API's error format, never a 500 and never silently read otherwise:

=====  ======================  =====================================================================
413    ``payload_too_large``   over the endpoint's limit (read no further than the limit)
415    ``unsupported_media_type``  ``Content-Type`` is not ``application/json``
415    ``unsupported_charset``  a ``charset`` other than ``utf-8`` (JSON is UTF-8; latin-1 is not read as it)
400    ``invalid_encoding``    the bytes are not UTF-8
400    ``nesting_too_deep``    arrays and objects nested deeper than ``MAX_DEPTH``
415    ``malformed_json``      not JSON (syntax; ``NaN``/``Infinity``; a number Python will not read)
400    ``duplicate_key``       an object names a key twice (which one counts is not defined by JSON)
400    ``lone_surrogate``      a ``\\ud800``-style escape that is not half of a pair: no UTF-8 text holds it
400    ``nul_character``       ``\\u0000`` in a string or key: PostgreSQL's text columns refuse it
=====  ======================  =====================================================================

``details`` name where: ``[{"path", "code", "zh", "en"}]`` with ``path`` a JSON pointer (``/hazards/0/ref``),
at most ``MAX_DETAILS`` of them. :func:`parse_json` is pure (bytes in, value or :class:`BodyError` out), so
the report endpoint parses the bytes its signature covers after verifying it, as before; :func:`read_json`
reads the request's own body for the bureau's endpoints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 64
MAX_DETAILS = 20
BUREAU_BODY_LIMIT = 64 * 1024  # inspections, PDF jobs, lock notes, settings: a few hundred bytes each

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]*)\"?", re.IGNORECASE)


class BodyError(Exception):
    """A refused body: status, stable code, the messages (zh, en) and ``details`` (``{path, code, zh, en}``)."""

    def __init__(self, status: int, code: str, zh: str, en: str, details: list[dict[str, str]] | None = None):
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.details = details or []

    def message(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def api_details(self, lang: str) -> list[dict[str, str]]:
        key = "en" if lang == "en" else "zh"
        return [{"path": d["path"], "code": d["code"], "message": d[key]} for d in self.details]


def check_content_type(content_type: str | None) -> None:
    """``application/json``, with no charset or ``utf-8`` (any case, quoted or not)."""
    raw = content_type or ""
    mime = raw.split(";")[0].strip().lower()
    if mime != "application/json":
        raise BodyError(
            415,
            "unsupported_media_type",
            "请求体必须是 JSON（Content-Type: application/json）",
            "the body must be JSON (Content-Type: application/json)",
        )
    for match in _CHARSET.finditer(raw):
        if match.group(1).lower() not in ("utf-8", "utf8"):
            raise BodyError(
                415,
                "unsupported_charset",
                f"请求体必须是 UTF-8 编码的 JSON（不支持 charset={match.group(1)[:40]}）",
                f"the body must be UTF-8 JSON (charset={match.group(1)[:40]} is not supported)",
            )


def parse_json(
    raw: bytes,
    content_type: str | None,
    *,
    parse_float: Callable[[str], Any] | None = None,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """The JSON value of ``raw`` under the rules above, or :class:`BodyError`. The size limit is the reader's
    (the caller read at most that many bytes)."""
    check_content_type(content_type)
    try:
        text = raw.decode("utf-8")  # strict: an encoded surrogate or an overlong form is not UTF-8 either
    except UnicodeDecodeError as exc:
        raise BodyError(
            400,
            "invalid_encoding",
            f"请求体不是有效的 UTF-8 文本（第 {exc.start} 字节）",
            f"the body is not valid UTF-8 (byte {exc.start})",
        ) from None
    if _too_deep(text, max_depth):
        raise BodyError(
            400,
            "nesting_too_deep",
            f"请求体的数组/对象嵌套超过 {max_depth} 层",
            f"arrays and objects are nested more than {max_depth} deep",
        )
    duplicates: list[int] = []
    try:
        value = json.loads(
            text, object_pairs_hook=_pairs_hook(duplicates), parse_float=parse_float, parse_constant=_no_constant
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, NaN/Infinity, a 5000-digit integer
        reason = str(exc)[:200]
        raise BodyError(
            415, "malformed_json", f"请求体不是有效的 JSON：{reason}", f"the body is not valid JSON: {reason}"
        ) from None
    # the walk only when the text holds a key twice or an escape that may be a NUL or a lone surrogate
    if duplicates or _SUSPECT_ESCAPE.search(text):
        problems = _problems(value)
        if problems:
            first = problems[0]
            raise BodyError(400, first["code"], first["zh"], first["en"], problems[:MAX_DETAILS])
    return value


def read_json(
    *,
    limit: int = BUREAU_BODY_LIMIT,
    parse_float: Callable[[str], Any] | None = None,
    optional: bool = False,
) -> Any:
    """The current request's JSON body (Flask), read at most ``limit`` bytes; ``optional``: an empty body is
    ``None``. Raises :class:`district.web.errors.ApiError` in the API's error format."""
    from flask import request

    from district.web.errors import ApiError, lang

    try:
        length = request.content_length
        if length is not None and length > limit:
            raise _too_large(limit)
        raw = request.stream.read(limit + 1)
        if len(raw) > limit:
            raise _too_large(limit)
        if optional and not raw.strip():
            return None
        return parse_json(raw, request.headers.get("Content-Type"), parse_float=parse_float)
    except BodyError as err:
        raise ApiError(err.status, err.code, err.message(lang()), err.api_details(lang())) from None


def _too_large(limit: int) -> BodyError:
    return BodyError(413, "payload_too_large", f"请求体超过 {limit} 字节", f"body over {limit} bytes")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_deep(text: str, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than ``max_depth``, found without parsing (strings removed
    first), so json.loads never recurses into a body nested 100,000 deep."""
    if text.count("[") + text.count("{") <= max_depth:  # the usual body: too few brackets to nest that deep
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


class _Object(dict):
    """A parsed object that named a key more than once (the last value is kept); only such objects are made,
    and a body holding one is refused, so no caller ever sees this class."""

    duplicates: tuple[str, ...] = ()


def _pairs_hook(found: list[int]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        twice: dict[str, None] = {}
        for key, _ in pairs:
            if key in seen:
                twice[key] = None
            seen.add(key)
        marked = _Object(obj)
        marked.duplicates = tuple(twice)
        found.append(1)
        return marked

    return hook


def _ptr(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _shown_path(path: str) -> str:
    # a path that holds the offending character shows it escaped (the answer and the rejection log store it)
    return _BAD_CHARS.sub(lambda m: f"\\u{ord(m.group()):04x}", path)[:200] or "/"


def _problems(value: Any) -> list[dict[str, str]]:
    """Duplicate keys, lone surrogates and NULs, in document order, each with its JSON pointer."""
    out: list[dict[str, str]] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack and len(out) < MAX_DETAILS:
        path, node = stack.pop()
        if isinstance(node, str):
            _check_text(out, path, node, key=False)
        elif isinstance(node, dict):
            for key in getattr(node, "duplicates", ()):
                where = _shown_path(f"{path}/{_ptr(key)}")
                out.append(
                    _detail(
                        where,
                        "duplicate_key",
                        f"键“{where}”在同一个对象中出现了不止一次",
                        f"the key {where} appears more than once",
                    )
                )
            children = []
            for key, child in node.items():
                child_path = f"{path}/{_ptr(key)}"
                _check_text(out, child_path, key, key=True)
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([(f"{path}/{i}", child) for i, child in enumerate(node)]))
    return out


def _check_text(out: list[dict[str, str]], path: str, text: str, *, key: bool) -> None:
    bad = _BAD_CHARS.search(text)
    if bad is None:
        return
    where, what = _shown_path(path), ("键名" if key else "文字")
    if bad.group() == "\x00":
        out.append(
            _detail(
                where,
                "nul_character",
                f"{where} 的{what}含有 NUL 字符（\\u0000）",
                f"{where} holds a NUL character (\\u0000)",
            )
        )
    else:
        out.append(
            _detail(
                where,
                "lone_surrogate",
                f"{where} 的{what}含有不成对的代理项（如 \\ud800），不是有效的 Unicode 文字",
                f"{where} holds a lone surrogate (such as \\ud800), which is not Unicode text",
            )
        )


def _detail(path: str, code: str, zh: str, en: str) -> dict[str, str]:
    return {"path": path, "code": code, "zh": zh, "en": en}
