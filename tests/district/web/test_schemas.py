"""The request schemas (``district.web.schemas``): each field kind accepts what it should and refuses the rest
naming the field; each domain's body refused over HTTP is a 4xx naming the field (never a 500); the OpenAPI
document's request bodies are the schemas' own."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from district.api.openapi import OPENAPI_PATH
from district.api.schemas_settings import COUNTY_SETTINGS
from district.exports.schemas import REPORTS_EXPORT
from district.rendering.schemas import FUND_PDF_JOB, PDF_JOB
from district.reports.schemas import PERIOD_NOTE
from district.review.schemas import REVIEW
from district.scoring.schemas import INSPECTION
from district.web.errors import ApiError
from district.web.schemas import (
    Bool,
    Date,
    Enum,
    Integer,
    Kind,
    ListOf,
    Money,
    Object,
    Period,
    Raw,
    Schema,
    String,
    Year,
)
from tests.district.scoring.helpers_scoring_db import bearer

DOC = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


def problems(kind: Kind, value: Any) -> tuple[Any, list[tuple[str, str]]]:
    """What ``kind`` makes of ``value`` under the key ``v``: the cleaned value and (path, code) of each problem."""
    cleaned, found = Schema({"v": kind}).problems({"v": value})
    return cleaned.get("v"), [(p.path, p.code) for p in found]


# ------------------------------------------------------------------------------------------ each field kind


@pytest.mark.parametrize(
    ("kind", "good", "cleaned", "bad", "code"),
    [
        (String(max_length=3), "abc", "abc", "abcd", "too_long"),
        (String(min_length=2), "ab", "ab", "a", "too_short"),
        (String(pattern="[0-9]{6}"), "610528", "610528", "61052", "invalid_format"),
        (String(), "x", "x", 5, "invalid_type"),
        (String(text="line"), "一行", "一行", "两\n行", "control_character"),
        (String(text="multiline"), "两\n行", "两\n行", "审核\u2067通过", "bidi_control"),
        (Integer(minimum=0, maximum=5), 5, 5, 6, "out_of_range"),
        (Integer(), 3, 3, True, "invalid_type"),
        (Integer(), 3, 3, "3", "invalid_type"),
        (Money(), "1234.50", Decimal("1234.50"), 1234.5, "invalid_type"),
        (Money(), "0.1", Decimal("0.1"), "1.234", "invalid_money"),
        (Money(), "0", Decimal(0), "-1.00", "out_of_range"),
        (Date(), "2026-02-28", dt.date(2026, 2, 28), "2026-02-30", "invalid_date"),
        (Date(), "2026-10-15", dt.date(2026, 10, 15), 20261015, "invalid_type"),
        (Period(), "2026-09", "2026-09", "2026-13", "invalid_period"),
        (Period(), "2026-12", "2026-12", "2026-9", "invalid_period"),
        (Enum(["approved", "returned"]), "returned", "returned", "rejected", "invalid_value"),
        (Enum([1, 2]), 2, 2, "2", "invalid_value"),
        (Bool(), False, False, "false", "invalid_type"),
        (Year(), 2026, 2026, True, "invalid_type"),
        (Year(), "2026", "2026", [2026], "invalid_type"),
        (ListOf(Integer(), max_items=2), [1, 2], [1, 2], [1, 2, 3], "too_many"),
        (ListOf(Integer(), min_items=1), [1], [1], [], "too_few"),
        (ListOf(Integer()), [], [], {"0": 1}, "invalid_type"),
        (Object({"a": Bool()}, required=("a",)), {"a": True}, {"a": True}, {}, "required"),
        (Object({"a": Bool()}), {}, {}, {"b": 1}, "unknown_field"),
        (Object({"a": Bool()}), {"a": True}, {"a": True}, [True], "invalid_type"),
    ],
)
def test_each_kind_accepts_and_refuses_naming_the_field(
    kind: Kind, good: Any, cleaned: Any, bad: Any, code: str
) -> None:
    assert problems(kind, good) == (cleaned, [])
    _, found = problems(kind, bad)
    assert [c for _, c in found] == [code], found
    assert found[0][0].startswith("/v"), found


def test_null_only_where_nullable() -> None:
    assert problems(String(nullable=True), None) == (None, [])
    assert problems(String(), None)[1] == [("/v", "invalid_type")]


def test_nested_lists_of_objects_are_named_by_json_pointer() -> None:
    finding = Object({"deadline": Date(), "severity": Enum(["low", "medium"])}, required=("deadline",))
    schema = Schema({"findings": ListOf(finding), "a/b": Object({"c~d": Integer()})})
    body = {
        "findings": [{"deadline": "2026-10-31", "severity": "low"}, {"severity": "high", "ref": "x"}],
        "a/b": {"c~d": "1"},
    }
    cleaned, found = schema.problems(body)
    assert [(p.path, p.code) for p in found] == [
        ("/findings/1/ref", "unknown_field"),
        ("/findings/1/deadline", "required"),
        ("/findings/1/severity", "invalid_value"),
        ("/a~1b/c~0d", "invalid_type"),
    ]
    assert cleaned["findings"][0] == {"deadline": dt.date(2026, 10, 31), "severity": "low"}
    assert all(p.zh and p.en and p.path in p.zh for p in found)


def test_raw_passes_the_value_to_its_service_and_documents_the_rule() -> None:
    rule = {"type": "array", "items": {"type": "string"}}
    kind = Raw(rule, checked_by="a service")
    assert problems(kind, 5) == (5, [])
    assert kind.openapi() == rule


def test_validate_raises_the_api_error_format() -> None:
    schema = Schema({"n": Integer(maximum=3), "s": String()}, required=("s",), what=("督查记录", "the inspection"))
    assert schema.validate({"s": "x", "n": 3}) == {"s": "x", "n": 3}
    with pytest.raises(ApiError) as raised:
        schema.validate({"n": 4, "x": 1})
    err = raised.value
    assert (err.status, err.code) == (422, "validation_failed")
    assert err.message == "督查记录有 3 处错误"
    assert [(d["path"], d["code"]) for d in err.details] == [
        ("/x", "unknown_field"),
        ("/s", "required"),
        ("/n", "out_of_range"),
    ]
    assert all(set(d) == {"path", "code", "message"} for d in err.details)
    with pytest.raises(ApiError) as raised:
        schema.validate([1])
    assert raised.value.status == 422 and raised.value.details[0] == {
        "path": "",
        "code": "invalid_type",
        "message": "请求体：应为 JSON 对象",
    }
    with pytest.raises(ApiError) as raised:
        Schema({}, not_object="invalid_body").validate("x")
    assert (raised.value.status, raised.value.code) == (400, "invalid_body")


def test_the_messages_follow_the_callers_language(app: Any) -> None:
    schema = Schema({"n": Integer()})
    with app.test_request_context(headers={"Accept-Language": "en"}), pytest.raises(ApiError) as raised:
        schema.validate({"n": "1"})
    assert raised.value.message == "/n: expected an integer"


def test_openapi_of_the_kinds() -> None:
    schema = Schema(
        {
            "note": String(nullable=True, max_length=10),
            "at": Date(),
            "fmt": Enum(["xlsx", "csv"], nullable=True),
            "rows": ListOf(Object({"n": Integer(minimum=1)}, required=("n",)), max_items=2),
        },
        required=("at",),
    )
    assert schema.openapi() == {
        "type": "object",
        "properties": {
            "note": {"type": ["string", "null"], "maxLength": 10},
            "at": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
            "fmt": {"type": ["string", "null"], "enum": ["xlsx", "csv", None]},
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"n": {"type": "integer", "minimum": 1}},
                    "required": ["n"],
                    "additionalProperties": False,
                },
                "maxItems": 2,
            },
        },
        "required": ["at"],
        "additionalProperties": False,
    }


# ------------------------------------------------------------------------------------------ the document


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return DOC["components"]["schemas"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("path", "method", "schema"),
    [
        ("/api/v1/counties/{county}/settings", "put", COUNTY_SETTINGS),
        ("/api/v1/periods/{county}/{period}/lock", "post", PERIOD_NOTE),
        ("/api/v1/periods/{county}/{period}/unlock", "post", PERIOD_NOTE),
        ("/api/v1/reports/{report_id}/review", "post", REVIEW),
        ("/api/v1/schools/{code}/inspections", "post", INSPECTION),
        ("/api/v1/counties/{county}/reports/pdf", "post", PDF_JOB),
        ("/api/v1/counties/{county}/nutrition/pdf", "post", FUND_PDF_JOB),
        ("/api/v1/counties/{county}/reports/export", "post", REPORTS_EXPORT),
    ],
)
def test_the_documented_request_body_is_the_schemas(path: str, method: str, schema: Schema) -> None:
    body = DOC["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    assert _resolve(body) == json.loads(json.dumps(schema.openapi()))


# ------------------------------------------------------------------------------------------ over HTTP


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "code", "path"),
    [
        (
            "put",
            "/api/v1/counties/610528/settings",
            {"reporting_start": 202609},
            400,
            "invalid_period",
            "reporting_start",
        ),
        ("put", "/api/v1/counties/610528/settings", {"colour": "red"}, 400, "invalid_field", "colour"),
        ("post", "/api/v1/periods/610528/2026-09/lock", {"note": 5}, 422, "validation_failed", "/note"),
        ("post", "/api/v1/periods/610528/2026-09/unlock", {"notes": "x"}, 422, "validation_failed", "/notes"),
        ("post", "/api/v1/reports/no-such-report/review", {"decision": 1}, 422, "validation_failed", "/decision"),
        ("post", "/api/v1/reports/no-such-report/review", {"comment": "x"}, 422, "validation_failed", "/decision"),
        ("post", "/api/v1/schools/6105280002/inspections", {"extra": 1}, 422, "validation_failed", "/extra"),
        ("post", "/api/v1/counties/610528/reports/pdf", {"year": True}, 422, "validation_failed", "/year"),
        (
            "post",
            "/api/v1/counties/610528/nutrition/pdf",
            {"school_year": 2026},
            422,
            "validation_failed",
            "/school_year",
        ),
        ("post", "/api/v1/counties/610528/reports/export", {"format": ["xlsx"]}, 422, "validation_failed", "/format"),
    ],
)
def test_a_bad_body_of_each_domain_is_refused_naming_the_field(
    client: Any, session: Any, county: Any, method: str, url: str, body: Any, status: int, code: str, path: str
) -> None:
    admin = bearer(session, "county_admin", "610528", "schema-admin")
    resp = getattr(client, method)(url, headers=admin, json=body)
    assert resp.status_code == status, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == code and error["message"], error
    assert path in [d["path"] for d in error["details"]], error
