"""Request schemas: the shape of each JSON request body, declared once, checked by the view and shown in the
OpenAPI document (``district.api.openapi`` takes every ``requestBody`` schema from :meth:`Kind.openapi`).

A schema checks **shape** only: an object, its known keys (an unknown key is refused), which are required, each
value's JSON type, lengths, ranges, patterns and enums. The rules of the domain (a finding's deadline after the
visit, a score beside checklist items, a period not in the future) stay in the services, once; where a service
already checks a value (and answers with its own codes), the field says so with :class:`Raw` and its ``rule``: the
document states the rule, the service enforces it, and nothing is checked twice.

A refused body is ``422 validation_failed`` whose ``details`` name every problem by JSON pointer
(``/findings/0/deadline``) with a stable code and the message in the caller's language (API.md), at most
``body.MAX_DETAILS`` of them. :meth:`Schema.check` is pure (a value in, the cleaned value and the problems out),
so a view can add a service's problems to the same answer; :meth:`Schema.validate` raises
:class:`district.web.errors.ApiError` at once.

Domain packages declare their bodies in their own ``schemas.py`` and may import this module: it imports nothing
of the hub but the error format (docs/ARCHITECTURE.md; ``.importlinter``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from district.web.body import MAX_DETAILS
from district.web.errors import ApiError
from houqin_standard.periods import EARLIEST_PERIOD, PERIOD_RE
from houqin_standard.validate import _DATE_RE, _SCHOOL_CODE_RE

JSONSchema = dict[str, Any]

# The patterns request bodies and the OpenAPI document share (anchored, as JSON Schema reads them)
PERIOD_PATTERN = f"^{PERIOD_RE.pattern}$"
# A period a report can be for: YYYY-MM from EARLIEST_PERIOD on (earlier ones are refused).
assert EARLIEST_PERIOD == "2010-01", "update REPORTABLE_PERIOD_PATTERN"
REPORTABLE_PERIOD_PATTERN = "^(?:20[1-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})-(?:0[1-9]|1[0-2])$"
SCHOOL_CODE_PATTERN = f"^{_SCHOOL_CODE_RE.pattern}$"
DATE_PATTERN = f"^{_DATE_RE.pattern}$"


@dataclass(frozen=True)
class Problem:
    """One refused value: where (a JSON pointer), a stable code, and the message in Chinese and English."""

    path: str
    code: str
    zh: str
    en: str

    def detail(self, lang: str) -> dict[str, str]:
        """As ``details[]`` of the API's error format (API.md)."""
        return {"path": self.path, "code": self.code, "message": self.en if lang == "en" else self.zh}


def pointer(path: str, key: object) -> str:
    """``path`` + ``/key`` with the key escaped as RFC 6901 says (``~`` → ``~0``, ``/`` → ``~1``)."""
    return f"{path}/{str(key)[:100].replace('~', '~0').replace('/', '~1')}"


class Kind:
    """The shape of one value. ``nullable``: JSON null is accepted (and cleaned to None). ``rule``: JSON Schema
    keywords of a rule a service checks (with its own codes), shown in the document only. ``code`` and
    ``expected`` (zh, en) replace the refusal's code and message where an endpoint has kept its own."""

    json_type: str | tuple[str, ...] = "string"
    default_expected = ("格式不正确", "has the wrong type")

    def __init__(
        self,
        *,
        nullable: bool = False,
        description: str | None = None,
        rule: JSONSchema | None = None,
        code: str | None = None,
        expected: tuple[str, str] | None = None,
    ) -> None:
        self.nullable = nullable
        self.description = description
        self.rule = dict(rule or {})
        self.code = code
        self.expected = expected or self.default_expected

    # -- checking
    def check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if value is None and self.nullable:
            return None
        return self._check(value, path, out)

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:  # pragma: no cover - every kind has one
        raise NotImplementedError

    def refuse(self, out: list[Problem], path: str, code: str, zh: str, en: str) -> None:
        if len(out) < MAX_DETAILS:
            out.append(Problem(path, self.code or code, f"{path or '请求体'}：{zh}", f"{path or 'the body'}: {en}"))

    def wrong_type(self, out: list[Problem], path: str) -> None:
        zh, en = self.expected
        self.refuse(out, path, "invalid_type", zh, en)

    # -- the document
    def openapi(self) -> JSONSchema:
        kind = self.json_type
        schema: JSONSchema = {"type": list(kind) if isinstance(kind, tuple) else kind, **self._keywords()}
        if self.nullable:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            schema["type"] = [*types, "null"]
        schema.update(self.rule)
        if self.nullable and "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        if self.description:
            schema["description"] = self.description
        return schema

    def _keywords(self) -> JSONSchema:
        return {}


class String(Kind):
    """Text: ``min_length``/``max_length`` (characters), ``pattern`` (a regular expression the whole text must
    match), ``text``: ``"line"`` or ``"multiline"`` refuses what the standard refuses in free text (control
    characters, bidi overrides: ``houqin_standard.text_issue``), ``label`` (zh, en) names it in those messages."""

    default_expected = ("应为文字", "expected a string")

    def __init__(
        self,
        *,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        text: str | None = None,
        label: tuple[str, str] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.min_length, self.max_length = min_length, max_length
        self.pattern = pattern
        self._re = re.compile(pattern) if pattern else None
        assert text in (None, "line", "multiline"), text
        self.text, self.label = text, label

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if not isinstance(value, str):
            self.wrong_type(out, path)
            return value
        if self.min_length is not None and len(value) < self.min_length:
            n = self.min_length
            self.refuse(out, path, "too_short", f"至少 {n} 个字", f"at least {n} characters")
        elif self.max_length is not None and len(value) > self.max_length:
            n = self.max_length
            self.refuse(out, path, "too_long", f"不超过 {n} 个字", f"at most {n} characters")
        elif self._re is not None and not self._re.fullmatch(value):
            self.refuse(out, path, "invalid_format", "格式不正确", f"does not match {self.pattern}")
        elif self.text is not None:
            from houqin_standard import text_issue

            zh, en = self.label or (path, path)
            bad = text_issue(value, f"{zh}（{path}）", f"{en} ({path})", multiline=self.text == "multiline")
            if bad is not None and len(out) < MAX_DETAILS:  # the standard's own words name the field already
                out.append(Problem(path, self.code or bad[0], bad[1], bad[2]))
        return value

    def _keywords(self) -> JSONSchema:
        from houqin_standard.text import text_pattern

        kw: JSONSchema = {}
        if self.min_length is not None:
            kw["minLength"] = self.min_length
        if self.max_length is not None:
            kw["maxLength"] = self.max_length
        if self.pattern is not None:
            kw["pattern"] = f"^(?:{self.pattern})$"
        elif self.text is not None:
            kw["pattern"] = text_pattern(multiline=self.text == "multiline")
        return kw


class Integer(Kind):
    """A whole number (``true`` is not 1), ``minimum``/``maximum`` inclusive."""

    json_type = "integer"
    default_expected = ("应为整数", "expected an integer")

    def __init__(self, *, minimum: int | None = None, maximum: int | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.minimum, self.maximum = minimum, maximum

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(out, path)
        elif (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            lo, hi = "" if self.minimum is None else self.minimum, "" if self.maximum is None else self.maximum
            self.refuse(out, path, "out_of_range", f"应在 {lo}–{hi} 之间", f"must be within {lo}–{hi}")
        return value

    def _keywords(self) -> JSONSchema:
        kw: JSONSchema = {}
        if self.minimum is not None:
            kw["minimum"] = self.minimum
        if self.maximum is not None:
            kw["maximum"] = self.maximum
        return kw


class Money(Kind):
    """An amount of money as a decimal string (``"1234.50"``: never a JSON number, which a client may have
    rounded through a float), at most two decimals, cleaned to :class:`~decimal.Decimal`; ``minimum`` inclusive."""

    default_expected = ('应为金额字符串（如 "1234.50"）', 'expected an amount as a string ("1234.50")')
    PATTERN = r"-?(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,2})?"

    def __init__(self, *, minimum: Decimal | None = Decimal(0), **kw: Any) -> None:
        super().__init__(**kw)
        self.minimum = minimum
        self._re = re.compile(self.PATTERN)

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if not isinstance(value, str):
            self.wrong_type(out, path)
            return value
        if not self._re.fullmatch(value):
            zh, en = self.default_expected
            self.refuse(out, path, "invalid_money", zh, en)
            return value
        try:
            amount = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            self.wrong_type(out, path)
            return value
        if self.minimum is not None and amount < self.minimum:
            self.refuse(out, path, "out_of_range", f"不应小于 {self.minimum}", f"must not be below {self.minimum}")
        return amount

    def _keywords(self) -> JSONSchema:
        return {"pattern": f"^{self.PATTERN}$"}


class Date(Kind):
    """A calendar date ``YYYY-MM-DD`` that exists, cleaned to :class:`datetime.date`."""

    default_expected = ("应为日期 YYYY-MM-DD", "expected a date YYYY-MM-DD")
    _RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if not isinstance(value, str):
            self.wrong_type(out, path)
            return value
        try:
            if not self._RE.fullmatch(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            zh, en = self.default_expected
            self.refuse(out, path, "invalid_date", zh, en)
            return value

    def _keywords(self) -> JSONSchema:
        return {"format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


class Period(Kind):
    """A month ``YYYY-MM`` (01–12). Its shape only: which periods the hub holds (from 2010-01, not in the future)
    is the reporting calendar's rule (``district.calendar.check_period``)."""

    default_expected = ("应为月份 YYYY-MM", "expected a period YYYY-MM")
    PATTERN = r"[0-9]{4}-(?:0[1-9]|1[0-2])"

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if not isinstance(value, str):
            self.wrong_type(out, path)
        elif not re.fullmatch(self.PATTERN, value, re.ASCII):
            zh, en = self.default_expected
            self.refuse(out, path, "invalid_period", zh, en)
        return value

    def _keywords(self) -> JSONSchema:
        return {"pattern": f"^{self.PATTERN}$"}


class Enum(Kind):
    """One of ``values`` (strings or integers, compared by type too: ``"2"`` is not ``2``)."""

    def __init__(self, values: Sequence[str | int], **kw: Any) -> None:
        super().__init__(**kw)
        self.values = tuple(values)
        self.json_type = "integer" if all(isinstance(v, int) for v in self.values) else "string"

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if not any(type(value) is type(v) and value == v for v in self.values):
            shown = [str(v) for v in self.values]
            zh, en = f"应为 {'、'.join(shown)} 之一", f"must be one of {', '.join(shown)}"
            self.refuse(out, path, "invalid_value", zh, en)
        return value

    def _keywords(self) -> JSONSchema:
        return {"enum": list(self.values)}


class Bool(Kind):
    json_type = "boolean"
    default_expected = ("应为 true 或 false", "expected true or false")

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if not isinstance(value, bool):
            self.wrong_type(out, path)
        return value


class Year(Kind):
    """A calendar year as a number or a string (``2026``, ``"2026"``): its shape; which years make a window is
    the reporting calendar's rule (``calendar.window_from_args``)."""

    json_type = ("integer", "string")
    default_expected = ("应为年份", "expected a year")

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.wrong_type(out, path)
        return value


class Raw(Kind):
    """Any JSON value, passed as is to the service that checks it (``checked_by``, for the reader): the
    document shows ``rule`` (its whole JSON Schema), the service answers with its own codes."""

    def __init__(self, rule: JSONSchema, *, checked_by: str, **kw: Any) -> None:
        super().__init__(rule=rule, **kw)
        self.checked_by = checked_by

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        return value

    def openapi(self) -> JSONSchema:
        schema = dict(self.rule)
        if self.description:
            schema["description"] = self.description
        return schema


class ListOf(Kind):
    """A JSON array of ``items`` (any kind, typically an :class:`Object`), ``min_items``/``max_items``."""

    json_type = "array"
    default_expected = ("应为数组", "expected an array")

    def __init__(self, items: Kind, *, min_items: int | None = None, max_items: int | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.items, self.min_items, self.max_items = items, min_items, max_items

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if not isinstance(value, list):
            self.wrong_type(out, path)
            return value
        if self.min_items is not None and len(value) < self.min_items:
            self.refuse(out, path, "too_few", f"至少 {self.min_items} 项", f"at least {self.min_items} items")
            return value
        if self.max_items is not None and len(value) > self.max_items:
            self.refuse(out, path, "too_many", f"不超过 {self.max_items} 项", f"at most {self.max_items} items")
            return value
        return [self.items.check(item, f"{path}/{i}", out) for i, item in enumerate(value)]

    def _keywords(self) -> JSONSchema:
        kw: JSONSchema = {"items": self.items.openapi()}
        if self.min_items is not None:
            kw["minItems"] = self.min_items
        if self.max_items is not None:
            kw["maxItems"] = self.max_items
        return kw


class Object(Kind):
    """A JSON object of ``fields`` (name → kind); ``required`` names must be there; any other key is refused
    (``unknown_field``). Cleaned: the known keys given, each value cleaned by its kind."""

    json_type = "object"
    default_expected = ("应为 JSON 对象", "expected an object")

    def __init__(self, fields: Mapping[str, Kind], *, required: Iterable[str] = (), **kw: Any) -> None:
        super().__init__(**kw)
        self.fields = dict(fields)
        self.required = tuple(required)
        assert set(self.required) <= set(self.fields), self.required

    def _check(self, value: Any, path: str, out: list[Problem]) -> Any:
        if not isinstance(value, dict):
            self.wrong_type(out, path)
            return value
        for key in sorted(k for k in value if k not in self.fields):
            where = pointer(path, key)
            self.refuse(out, where, "unknown_field", f"未知字段 {key[:100]}", f"unknown field {key[:100]}")
        for key in self.required:
            if key not in value:
                self.refuse(out, pointer(path, key), "required", "必填", "is required")
        given = [(key, kind) for key, kind in self.fields.items() if key in value]
        return {key: kind.check(value[key], pointer(path, key), out) for key, kind in given}

    def openapi(self) -> JSONSchema:
        schema: JSONSchema = {"type": "object"}
        if self.nullable:
            schema["type"] = ["object", "null"]
        if self.description:
            schema["description"] = self.description
        schema["properties"] = {key: kind.openapi() for key, kind in self.fields.items()}
        if self.required:
            schema["required"] = list(self.required)
        schema["additionalProperties"] = False
        schema.update(self.rule)
        return schema


class Schema(Object):
    """A request body: an :class:`Object` with the answer a refusal gets. ``what`` (zh, en) names the body in the
    refusal's message ("督查记录有 2 处错误"); ``not_object="invalid_body"`` keeps the 400 an endpoint has always
    given a body that is not an object (otherwise: 422 naming the path ``""``)."""

    def __init__(
        self,
        fields: Mapping[str, Kind],
        *,
        what: tuple[str, str] = ("请求", "the request"),
        not_object: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(fields, **kw)
        self.what = what
        self.not_object = not_object

    def check(self, body: Any, path: str = "", out: list[Problem] | None = None) -> Any:
        """The cleaned body and, in ``out``, every problem (pure: no request needed)."""
        return super().check(body, path, out if out is not None else [])

    def problems(self, body: Any) -> tuple[dict[str, Any], list[Problem]]:
        """``(cleaned, problems)``: the cleaned body (an empty dict when it is not an object) and its problems."""
        out: list[Problem] = []
        cleaned = self.check(body, "", out)
        return (cleaned if isinstance(cleaned, dict) else {}), out

    def validate(self, body: Any) -> dict[str, Any]:
        """The cleaned body, or :class:`ApiError` (422 ``validation_failed`` naming every problem; a body that is
        not an object: 400 ``invalid_body`` where the schema says so)."""
        cleaned, problems = self.problems(body)
        if problems:
            raise self.refusal(problems)
        return cleaned

    def refusal(self, problems: Sequence[Problem], extra: Sequence[dict[str, Any]] = ()) -> ApiError:
        """The 422 for ``problems`` (and ``extra``: details a service gave, already in the caller's language)."""
        lang = _lang()
        if self.not_object and problems and problems[0].path == "" and problems[0].code == "invalid_type":
            return ApiError(400, self.not_object, "请求体应为 JSON 对象 / the body must be a JSON object")
        details = [p.detail(lang) for p in problems] + list(extra)
        if len(details) == 1 and problems and problems[0].path == "":  # not an object at all
            message = "the body must be a JSON object" if lang == "en" else "请求体应为 JSON 对象"
        elif len(details) == 1:
            message = details[0]["message"]
        elif lang == "en":
            message = f"{self.what[1]} has {len(details)} errors"
        else:
            message = f"{self.what[0]}有 {len(details)} 处错误"
        return ApiError(422, "validation_failed", message, details[:MAX_DETAILS])

    def request_body(
        self, *, required: bool = True, example: Any = None, schema: JSONSchema | None = None
    ) -> JSONSchema:
        """The OpenAPI ``requestBody`` of this body (``schema``: a ``$ref`` to the component made of it)."""
        content: JSONSchema = {"schema": schema if schema is not None else self.openapi()}
        if example is not None:
            content["example"] = example
        return {"required": required, "content": {"application/json": content}}


def _lang() -> str:
    from flask import has_request_context

    from district.web.errors import lang

    return lang() if has_request_context() else "zh"
