"""The hub's OpenAPI 3.1 document (API.md v1), built from code so it cannot drift from the standard.

``OPENAPI_PATH`` is the committed ``openapi.json`` that ``GET /api/v1/openapi.json`` serves as is. The report
schema is generated from the field metadata of ``houqin_standard.fields`` (sections, kinds, ranges, enums,
labels), so a new field of the standard changes the document the next time it is regenerated. The bureau's
request bodies are the request schemas the views validate with (``<domain>/schemas.py``, ``schema.openapi()``)::

    python3 -m district.api.openapi          # rewrite district/api/openapi.json
    python3 -m district.api.openapi --check  # exit 1 when the committed file is stale

``tests/district/api/test_openapi.py`` asserts that the committed file equals :func:`render`, that every
``/api/v1`` route of the app is documented, and runs schemathesis against the app with it.

What JSON Schema cannot say (cross-field rules such as ``boarders ≤ students``, "not in the future",
idempotency, the period lock) the hub checks itself and answers with the documented 4xx error bodies.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from district.api.schemas_settings import COUNTY_SETTINGS, REQUIRE_STANDARD
from district.nutrition.anomalies import ANOMALY_CODES
from district.rendering.schemas import FUND_PDF_JOB, PDF_JOB
from district.reports.schemas import PERIOD_NOTE
from district.review.schemas import REVIEW
from district.scoring.schemas import INSPECTION, finding_schema
from district.scoring.snapshots import RANKING_FIELDS
from district.web.schemas import DATE_PATTERN, PERIOD_PATTERN, REPORTABLE_PERIOD_PATTERN, SCHOOL_CODE_PATTERN
from houqin_standard import ERROR_CODES, HAZARD_FIELDS, HEADER_FIELDS, SECTIONS, STANDARD_ID, WARNING_CODES
from houqin_standard.fields import CALENDAR_TASK_FIELDS, ENUM_LABELS, MAX_COUNT, SECTIONS_V2_ONLY, STANDARD_ID_2, Field
from houqin_standard.money import MAX_INTEGER_DIGITS, MONEY_RE, QUANTITY_RE
from houqin_standard.periods import EARLIEST_PERIOD
from houqin_standard.receipts import SIGNED_FIELDS
from houqin_standard.text import text_pattern
from houqin_standard.validate import _DATETIME_RE, _UUID_RE

OPENAPI_PATH = Path(__file__).resolve().with_name("openapi.json")

Schema = dict[str, Any]

API = "/api/v1"
JSON = "application/json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """``schema`` or JSON null (OpenAPI 3.1 has no ``nullable``)."""
    if set(schema) == {"$ref"}:
        return {"anyOf": [schema, {"type": "null"}]}
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    return out


def anchored(pattern: str) -> str:
    return f"^{pattern}$"


def _bounded_digits(pattern: str) -> str:
    """The standard's money/quantity regex with its integer part capped at ``MAX_INTEGER_DIGITS`` digits
    (the validator checks the cap separately; a schema has to say it in the pattern)."""
    unbounded = "[1-9][0-9]*"
    assert unbounded in pattern, pattern
    return pattern.replace(unbounded, f"[1-9][0-9]{{0,{MAX_INTEGER_DIGITS - 1}}}")


MONEY_PATTERN = anchored(_bounded_digits(MONEY_RE.pattern))
QUANTITY_PATTERN = anchored(_bounded_digits(QUANTITY_RE.pattern))
COUNTY_CODE_PATTERN = "^[0-9]{6}$"
UUID_PATTERN = anchored(_UUID_RE.pattern)
DATETIME_PATTERN = anchored(_DATETIME_RE.pattern)
SHA256_PATTERN = "^[0-9a-f]{64}$"
RATE_PATTERN = r"^[0-9]+\.[0-9]{4}$"  # ratios as strings with 4 decimals ("0.9500")
SCORE_PATTERN = r"^[0-9]+\.[0-9]{2}$"


# ------------------------------------------------------------------------------------------ the report

#: The report standard the county requires for a period (issue 20 item 1): the agent writes and validates in it.
STANDARD_REQUIRED: Schema = {
    "type": "string",
    "enum": [STANDARD_ID, STANDARD_ID_2],
    "description": "the report standard the county requires for the period (write the template in it)",
}


def field_schema(f: Field) -> Schema:
    """JSON Schema of one field of ``houqin/monthly-report@1`` or ``@2`` from its metadata (kind, range, enum)."""
    s: Schema
    if f.kind == "int":
        s = {"type": "integer", "minimum": f.minimum or 0, "maximum": f.maximum if f.maximum is not None else MAX_COUNT}
    elif f.kind == "money":
        s = {"type": "string", "pattern": MONEY_PATTERN}
    elif f.kind == "quantity":
        s = {"type": "string", "pattern": QUANTITY_PATTERN}
    elif f.kind == "bool":
        s = {"type": "boolean"}
    elif f.kind == "enum":
        s = {"type": "string", "enum": list(f.enum or ())}
    elif f.kind == "list":
        s = {
            "type": "array",
            "items": {"type": "string", "enum": list(f.enum or ())},
            "uniqueItems": True,
            "maxItems": len(f.enum or ()),
        }
    elif f.kind == "tasks":
        s = {"type": "array", "items": ref("ReportCalendarTask")}
    elif f.kind == "date":
        s = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    elif f.kind == "datetime":
        s = {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}
    elif f.kind == "str" and f.fmt == "standard":
        s = {"type": "string", "const": STANDARD_ID}
    elif f.kind == "str" and f.fmt == "uuid":
        s = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
    elif f.kind == "str" and f.fmt == "school_code":
        s = {"type": "string", "pattern": SCHOOL_CODE_PATTERN}
    elif f.kind == "str" and f.fmt == "period":
        s = {"type": "string", "pattern": REPORTABLE_PERIOD_PATTERN}
    elif f.kind == "str":
        s = {"type": "string", "pattern": text_pattern(multiline=f.multiline, visible=bool(f.minimum))}
        if f.minimum:
            s["minLength"] = f.minimum
        if f.maximum is not None:
            s["maxLength"] = f.maximum
    else:  # pragma: no cover - a new kind must be mapped here; the test that regenerates the file fails
        raise AssertionError(f"no JSON Schema for field kind {f.kind!r}")
    if f.nullable:
        s = nullable(s)
    s["title"] = f.label_en
    s["description"] = f.label_zh + (f"（单位：{f.unit}）" if f.unit else "")
    if f.unit:
        s["x-unit"] = f.unit
    if f.enum_name:
        s["x-enum-labels"] = {value: list(ENUM_LABELS[f.enum_name][value]) for value in f.enum or ()}
    return s


def object_schema(fields: tuple[Field, ...], required: list[str] | None = None, **extra: Any) -> Schema:
    return {
        "type": "object",
        **extra,
        "properties": {f.key: field_schema(f) for f in fields},
        "required": [f.key for f in fields if f.required] if required is None else required,
        "additionalProperties": False,
    }


def report_schemas() -> dict[str, Schema]:
    """``Report`` and one schema per section and for a hazard entry, from ``houqin_standard.fields``."""
    schemas: dict[str, Schema] = {}
    for section in SECTIONS:
        name = "Report" + "".join(part.title() for part in section.key.split("_"))
        extra: dict[str, Any] = {"title": section.label_en, "description": section.label_zh}
        required = None
        if section.key == "nutrition":
            # STANDARD.md: the other fields are required only while the school takes part in the programme.
            required = ["participating"]
            extra["description"] += "。participating 为 true 时其余字段均为必填。"
            extra["if"] = {"properties": {"participating": {"const": True}}, "required": ["participating"]}
            extra["then"] = {"required": [f.key for f in section.fields if f.required]}
        schemas[name] = object_schema(section.fields, required, **extra)
    schemas["ReportHazard"] = object_schema(HAZARD_FIELDS, title="Hazard ledger entry", description="隐患台账条目")
    for section in SECTIONS_V2_ONLY:
        name = "Report" + "".join(part.title() for part in section.key.split("_"))
        schemas[name] = object_schema(
            section.fields, None, title=section.label_en, description=section.label_zh + "（@2）"
        )
    schemas["ReportCalendarTask"] = object_schema(
        CALENDAR_TASK_FIELDS, title="Calendar task done", description="本月完成的后勤行事历任务（@2）"
    )
    section_refs = {s.key: ref("Report" + "".join(p.title() for p in s.key.split("_"))) for s in SECTIONS}
    schemas["Report"] = {
        "type": "object",
        "title": f"Monthly report {STANDARD_ID}",
        "description": (
            "学校后勤月报（STANDARD.md）。Money is a string with exactly 2 decimals, quantities a string with at "
            f"most 1 decimal; periods from {EARLIEST_PERIOD} up to the current month (Asia/Shanghai). The "
            "cross-field rules of STANDARD.md (e.g. boarders ≤ students, green area ≤ campus area, a hazard's "
            "deadline not before it was found) are checked by the hub and answered with 422 listing every "
            "violation. `dormitory` is required when `enrollment.boarders` > 0."
        ),
        "properties": {
            **{f.key: field_schema(f) for f in HEADER_FIELDS},
            **section_refs,
            "hazards": {
                "type": "array",
                "items": ref("ReportHazard"),
                "title": "Hazard ledger",
                "description": "隐患台账（没有隐患时为 []）",
            },
        },
        "required": [
            *(f.key for f in HEADER_FIELDS if f.required),
            *(s.key for s in SECTIONS if s.required),
            "hazards",
        ],
        "additionalProperties": False,
        "if": {
            "properties": {
                "enrollment": {"properties": {"boarders": {"type": "integer", "minimum": 1}}, "required": ["boarders"]}
            },
            "required": ["enrollment"],
        },
        "then": {"required": ["dormitory"]},
    }
    v1 = schemas["Report"]
    v2_refs = {s.key: ref("Report" + "".join(p.title() for p in s.key.split("_"))) for s in SECTIONS_V2_ONLY}
    schemas["ReportV2"] = {
        **v1,
        "title": f"Monthly report {STANDARD_ID_2}",
        "description": (
            "学校后勤月报第 2 版（STANDARD-v2.md）：第 1 版的全部内容，加上后勤行事历 `calendar`、食堂日常管控 "
            "`kitchen`（`food_safety.canteen_staff` > 0 时必填）、食堂食材库存 `canteen_stock`（参加营养改善计划时"
            "必填）和意见箱 `feedback_box`。Rule violations are 422 with the codes of STANDARD-v2.md "
            "(`calendar_task_unknown`, `calendar_task_duplicate`, `kitchen_days_exceed_meal_days`, "
            "`stock_negative_consumption`)."
        ),
        "properties": {
            **v1["properties"],
            "standard": {**v1["properties"]["standard"], "const": STANDARD_ID_2},
            **v2_refs,
        },
        "required": [*v1["required"], "calendar", "feedback_box"],
        "if": None,
        "then": None,
        "allOf": [
            {"if": v1["if"], "then": v1["then"]},
            {
                "if": {
                    "properties": {
                        "food_safety": {
                            "properties": {"canteen_staff": {"type": "integer", "minimum": 1}},
                            "required": ["canteen_staff"],
                        }
                    },
                    "required": ["food_safety"],
                },
                "then": {"required": ["kitchen"]},
            },
            {
                "if": {
                    "properties": {
                        "nutrition": {"properties": {"participating": {"const": True}}, "required": ["participating"]}
                    },
                    "required": ["nutrition"],
                },
                "then": {"required": ["canteen_stock"]},
            },
        ],
    }
    del schemas["ReportV2"]["if"], schemas["ReportV2"]["then"]
    return schemas


# ------------------------------------------------------------------------------------------ other schemas


def _issue() -> Schema:
    return {
        "type": "object",
        "description": "One error or warning about a report: JSON pointer, stable code, message (zh, or en with "
        "`Accept-Language: en`).",
        "properties": {
            "path": {"type": "string", "description": 'JSON pointer into the report ("" is the whole report)'},
            "code": {"type": "string"},
            "message": {"type": "string"},
        },
        "required": ["path", "code", "message"],
        "additionalProperties": False,
    }


def _error(details: Schema, description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "stable machine code, e.g. `bad_signature`"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": details},
                },
                "required": ["code", "message", "details"],
                "additionalProperties": False,
            }
        },
        "required": ["error"],
        "additionalProperties": False,
    }


def _receipt() -> Schema:
    """The receipt of API.md plus what the hub signs (``houqin_standard.receipts.SIGNED_FIELDS``)."""
    fields: dict[str, Schema] = {
        "report_id": {"type": "string", "pattern": UUID_PATTERN},
        "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
        "period": {"type": "string", "pattern": PERIOD_PATTERN},
        "revision": {"type": "integer", "minimum": 1, "description": "1 for the school-period's first revision"},
        "received_at": {"type": "string", "format": "date-time", "description": "Asia/Shanghai (+08:00)"},
        "on_time": {
            "type": "boolean",
            "description": "the school's timeliness for the period (its first accepted revision before the deadline)",
        },
        "content_sha256": {
            "type": "string",
            "pattern": SHA256_PATTERN,
            "description": "SHA-256 of the canonical JSON of the report",
        },
        "chain_hash": {
            "type": "string",
            "pattern": SHA256_PATTERN,
            "description": "this revision's link in the school's hash chain (docs/AUDIT.md)",
        },
        "hub_key_id": {"type": ["string", "null"], "description": "the hub key that signed the receipt"},
    }
    if set(fields) != set(SIGNED_FIELDS):  # the signed receipt changed: describe its fields here
        raise AssertionError(f"receipt fields {sorted(fields)} != SIGNED_FIELDS {sorted(SIGNED_FIELDS)}")
    return {
        "type": "object",
        "description": "回执: the hub's acknowledgement of one accepted revision, signed by the hub (Ed25519 over "
        "the canonical JSON of every field but `warnings` and `signature`; keys at "
        "`GET /api/v1/hub-keys`).",
        "properties": {
            **{k: fields[k] for k in SIGNED_FIELDS},
            "warnings": {"type": "array", "items": ref("Issue")},
            "signature": {"type": ["string", "null"], "pattern": "^[0-9a-f]+$", "description": "hex Ed25519 signature"},
        },
        "required": [*SIGNED_FIELDS, "warnings", "signature"],
        "additionalProperties": False,
    }


def _hub_keys() -> Schema:
    return {
        "type": "object",
        "description": "The hub's public receipt-signing keys, current and retired.",
        "properties": {
            "algorithm": {"type": "string", "const": "Ed25519"},
            "keys": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "key_id": {"type": "string"},
                        "algorithm": {"type": "string"},
                        "public_key": {"type": "string", "description": "raw public key, base64"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "current": {"type": "boolean"},
                    },
                    "required": ["key_id", "public_key", "current"],
                },
            },
        },
        "required": ["algorithm", "keys"],
    }


def _anomaly() -> Schema:
    return {
        "type": "object",
        "description": "营养餐 fund anomaly of one school-month (SCORING.md).",
        "properties": {
            "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
            "period": {"type": "string", "pattern": PERIOD_PATTERN},
            "code": {
                "type": "string",
                "enum": list(ANOMALY_CODES),
                "x-enum-labels": {k: [v.zh, v.en] for k, v in ANOMALY_CODES.items()},
            },
            "message": {"type": "string", "description": "the rule with the month's figures (wording fixed)"},
            "figures": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "the anomaly's structured form with `code`: its inputs and computed values",
            },
            "sentence": {
                "type": "string",
                "description": "one plain sentence of the same figures "
                "(houqin_standard.fund_text; numbers with separators, months in words)",
            },
        },
        "required": ["school_code", "period", "code", "message", "figures", "sentence"],
    }


CALENDAR_TASK: Schema = {
    "type": "object",
    "description": "One task of the county's 后勤行事历 (STANDARD-v2.md `calendar`).",
    "properties": {
        "code": {"type": "string", "minLength": 1, "maxLength": 20},
        "title": {"type": "string"},
        "category": {"type": "string", "enum": list(ENUM_LABELS["calendar_category"])},
    },
    "required": ["code", "title", "category"],
}
CALENDAR_TASKS: Schema = {
    "type": "array",
    "items": CALENDAR_TASK,
    "description": "@2 only (the county requires houqin/monthly-report@2 for the period): the tasks of the period's "
    "month in the county's 后勤行事历 in force, the codes `calendar.tasks` may name",
}


def _duty_calendar_month() -> Schema:
    """``GET /api/v1/counties/<c>/calendar`` (district/duties/services.py ``month_status``)."""
    count = {"type": "integer", "minimum": 0}
    codes = {"type": "array", "items": {"type": "string"}}
    return {
        "type": "object",
        "properties": {
            "county_code": {"type": "string"},
            "period": {"type": "string", "pattern": PERIOD_PATTERN},
            "calendar": {
                "type": "object",
                "description": "the calendar in force: the county's version, or the one shipped with the hub",
                "properties": {
                    "version": {"type": ["integer", "null"]},
                    "default": {"type": "boolean"},
                    "source": {"type": "string"},
                },
                "required": ["version", "default", "source"],
            },
            "tasks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        **CALENDAR_TASK["properties"],
                        "months": {"type": "array", "items": count},
                        "category_zh": {"type": "string"},
                        "due": count,
                        "done": count,
                        "by_township": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"township": {"type": "string"}, "due": count, "done": count},
                                "required": ["township", "due", "done"],
                            },
                        },
                    },
                    "required": ["code", "title", "category", "months", "due", "done", "by_township"],
                },
            },
            "townships": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "township": {"type": "string"},
                        "schools": count,
                        "reported_v2": count,
                        "reported_v1": count,
                        "not_reported": count,
                        "tasks_due": count,
                        "tasks_done": count,
                    },
                    "required": [
                        "township",
                        "schools",
                        "reported_v2",
                        "reported_v1",
                        "not_reported",
                        "tasks_due",
                        "tasks_done",
                    ],
                },
            },
            "schools": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "school_code": {"type": "string"},
                        "name": {"type": "string"},
                        "township": {"type": "string"},
                        "status": {"type": "string", "enum": ["reported_v2", "reported_v1", "not_reported"]},
                        "due": codes,
                        "done": codes,
                    },
                    "required": ["school_code", "name", "township", "status", "due", "done"],
                },
            },
        },
        "required": ["county_code", "period", "calendar", "tasks", "townships", "schools"],
    }


def _feedback() -> Schema:
    return {
        "type": "object",
        "description": "What the bureau sees of the signer's school for one period.",
        "properties": {
            "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
            "period": {"type": "string", "pattern": PERIOD_PATTERN},
            "deadline": {"type": "string", "format": "date-time"},
            "locked": {"type": "boolean"},
            "revision": {**nullable(ref("Receipt")), "description": "the receipt of the revision in effect"},
            "revisions": {"type": "integer", "minimum": 0},
            "warnings": {"type": "array", "items": ref("Issue")},
            "fund_anomalies": {"type": "array", "items": ref("FundAnomaly")},
            "score": {
                "type": ["string", "number", "null"],
                "description": "latest score (null before the first ranking)",
            },
            "rank": {"type": ["integer", "null"], "minimum": 1, "description": "latest rank in the county"},
            "ranking": {"type": ["object", "null"], "description": "the ranking the score comes from"},
            "reminders": {"type": "array", "items": {"type": "object"}},
            "standard": STANDARD_REQUIRED,
            "review": {
                **nullable(ref("Review")),
                "description": "the review of the revision in effect (issue 18); null while 待审核 or nothing reported",
            },
            "inspection_findings": {
                "type": "array",
                "items": {"type": "object"},
                "description": "the bureau's inspection findings (`DC-…`) still open in the "
                "school's hazard ledger, as report hazard entries (issue 20)",
            },
            "calendar_tasks": CALENDAR_TASKS,
        },
        "required": [
            "school_code",
            "period",
            "deadline",
            "locked",
            "revision",
            "revisions",
            "warnings",
            "fund_anomalies",
            "score",
            "rank",
            "reminders",
        ],
    }


def _agent_period_state() -> Schema:
    """``GET /api/v1/period-state`` (issue 19; district/reports/agent_state.py)."""
    days = {"type": ["integer", "null"], "minimum": 0}
    return {
        "type": "object",
        "description": "The signer's school's state for one period, asked before a template is filled.",
        "properties": {
            "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
            "period": {"type": "string", "pattern": PERIOD_PATTERN},
            "deadline": {"type": "string", "format": "date-time"},
            "locked": {"type": "boolean", "description": "approved and locked by the county: no report taken"},
            "reported": {"type": "boolean", "description": "the hub holds an accepted report of the period"},
            "revisions": {"type": "integer", "minimum": 0},
            "on_time": {"type": ["boolean", "null"]},
            "days_left": {**days, "description": "days to the deadline (not reported, not yet late)"},
            "days_late": {
                "type": "integer",
                "minimum": 0,
                "description": "the reporting calendar's days late (first arrival, or today)",
            },
            "expected": {"type": "boolean", "description": "the school is expected to report the period"},
            "subsidy_standard": {
                "type": "string",
                "pattern": MONEY_PATTERN,
                "description": "the county's 营养餐 standard (元/生/天)",
            },
            "standard": STANDARD_REQUIRED,
            "calendar_tasks": CALENDAR_TASKS,
        },
        "required": [
            "school_code",
            "period",
            "deadline",
            "locked",
            "reported",
            "revisions",
            "on_time",
            "days_left",
            "days_late",
            "expected",
            "subsidy_standard",
            "standard",
        ],
    }


def _last_report() -> Schema:
    return {
        "type": "object",
        "description": "The signer's school's last accepted report (its effective revision).",
        "properties": {
            "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
            "period": {"type": "string", "pattern": PERIOD_PATTERN},
            "content": {"type": "object", "description": "the report as stored (houqin/monthly-report@1)"},
        },
        "required": ["school_code", "period", "content"],
    }


def _rate(description: str) -> Schema:
    return {"type": ["string", "null"], "pattern": RATE_PATTERN, "description": description}


def _completeness() -> Schema:
    counts = {
        "expected": {"type": "integer", "minimum": 0},
        "reported": {"type": "integer", "minimum": 0},
        "on_time": {"type": "integer", "minimum": 0},
    }
    return {
        "type": "object",
        "description": "Completeness and timeliness of a county's period; never above 100 %.",
        "properties": {
            "county_code": {"type": "string", "pattern": COUNTY_CODE_PATTERN},
            "period": {"type": "string", "pattern": PERIOD_PATTERN},
            "break_month": {"type": "boolean", "description": "no school is expected (e.g. July, August)"},
            "deadline": {"type": "string", "format": "date-time"},
            **counts,
            "completeness": _rate("reported / expected; null when no school is expected"),
            "timeliness": _rate("on_time / expected; null when no school is expected"),
            "missing": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
                        "name": {"type": "string"},
                        "township": {"type": "string"},
                        "days_late": {"type": "integer", "minimum": 0},
                    },
                    "required": ["school_code", "name", "township", "days_late"],
                    "additionalProperties": False,
                },
            },
            "by_township": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "township": {"type": "string"},
                        **counts,
                        "completeness": _rate("reported / expected"),
                        "timeliness": _rate("on_time / expected"),
                    },
                    "required": ["township", "expected", "reported", "on_time", "completeness", "timeliness"],
                    "additionalProperties": False,
                },
            },
        },
        "required": [
            "county_code",
            "period",
            "break_month",
            "deadline",
            "expected",
            "reported",
            "on_time",
            "completeness",
            "timeliness",
            "missing",
            "by_township",
        ],
        "additionalProperties": False,
    }


def _period_state() -> Schema:
    return {
        "type": "object",
        "description": "Approval state of a county's period; the latest act (lock or unlock) is the state.",
        "properties": {
            "county_code": {"type": "string", "pattern": COUNTY_CODE_PATTERN},
            "period": {"type": "string", "pattern": PERIOD_PATTERN},
            "locked": {"type": "boolean"},
            "revisions_since_approval": {
                "type": "integer",
                "minimum": 0,
                "description": "revisions that arrived after the first lock",
            },
            "history": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "action": {"type": "string", "enum": ["lock", "unlock"]},
                        "actor": {"type": "string"},
                        "at": {"type": "string", "format": "date-time"},
                        "note": {"type": ["string", "null"]},
                    },
                    "required": ["action", "actor", "at", "note"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["county_code", "period", "locked", "revisions_since_approval", "history"],
        "additionalProperties": False,
    }


def _ranking_row() -> Schema:
    return {
        "type": "object",
        "description": "One school's line of the ranking (SCORING.md: score, grade, status, rank).",
        "properties": {
            "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
            "name": {"type": "string"},
            "type": {"type": "string", "enum": list(ENUM_LABELS["school_type"])},
            "township": {"type": "string"},
            "score": {
                "type": ["string", "null"],
                "pattern": SCORE_PATTERN,
                "description": "0–100, 2 decimals; null without a report in the window",
            },
            "grade": {"type": ["string", "null"], "description": "优秀 / 良好 / 合格 / 不合格"},
            "status": {"type": "string", "enum": ["compliant", "not_compliant", "insufficient_data", "veto"]},
            "rank": {"type": ["integer", "null"], "minimum": 1},
            "coverage": {"type": "string", "pattern": RATE_PATTERN},
            "flags": {"type": "array", "items": {"type": "string"}},
            "rubric_version": {"type": "string"},
        },
        "required": list(RANKING_FIELDS),  # the stored row's fields (scoring.snapshots), in one place
    }


def _indicator_row() -> Schema:
    return {
        "type": "object",
        "description": "One indicator of SCORING.md: earned of available, with the inputs and revisions used.",
        "properties": {
            "code": {"type": "string"},
            "points": {"type": "string"},
            "applicable": {"type": "boolean"},
            "earned": {"type": ["string", "null"]},
            "available": {"type": "string"},
            "inputs": {"type": "object", "description": "every figure used, exactly, by the engine's own names"},
            "revision_ids": {"type": "array", "items": {"type": "integer"}},
            "note": {"type": "string", "description": "the engine's formula, in English (audit data)"},
            "explanation": {
                "type": "object",
                "description": "the row explained as data (district/scoring/explanation.py): a code, its "
                "parameters (fields as section.field, figures exact) and every figure used as {key, params, value}",
                "properties": {
                    "code": {"type": "string"},
                    "params": {"type": "object"},
                    "inputs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"key": {"type": "string"}, "params": {"type": "object"}, "value": {}},
                            "required": ["key", "params", "value"],
                        },
                    },
                },
                "required": ["code", "params", "inputs"],
            },
        },
        "required": ["code", "applicable", "earned", "available", "inputs", "revision_ids"],
    }


def _window() -> Schema:
    return {
        "type": "object",
        "description": "the window of periods, both included",
        "properties": {
            "from": {"type": "string", "pattern": PERIOD_PATTERN},
            "to": {"type": "string", "pattern": PERIOD_PATTERN},
        },
        "required": ["from", "to"],
    }


SNAPSHOT_ID = {
    "type": ["integer", "null"],
    "description": "the stored snapshot's id (`?snapshot=` shows it again "
    "as it was); null when the ranking was computed for this read and is not stored yet",
}


def _school_score() -> Schema:
    return {
        "allOf": [ref("RankingRow")],
        "type": "object",
        "description": "One school's line of the ranking with its indicator rows, from the ranking snapshot.",
        "properties": {
            "indicators": {"type": "array", "items": ref("IndicatorRow")},
            "county_code": {"type": "string", "pattern": COUNTY_CODE_PATTERN},
            "window": ref("Window"),
            "snapshot_id": SNAPSHOT_ID,
            "computed_at": {"type": "string", "format": "date-time"},
            "schools_ranked": {"type": "integer", "minimum": 0},
        },
        "required": ["indicators", "county_code", "window"],
    }


def _campaign() -> Schema:
    return {
        "type": "object",
        "description": "Campaign progress (创建进度): compliant / active schools against the year's target.",
        "properties": {
            "year": {"type": "integer"},
            "campaign_year": {"type": ["integer", "null"]},
            "compliant": {"type": "integer", "minimum": 0},
            "active": {"type": "integer", "minimum": 0},
            "rate": _rate("compliant / active"),
            "target": _rate("the year's target"),
            "met": {"type": "boolean"},
        },
        "required": ["year", "compliant", "active", "rate", "target", "met"],
    }


def _rankings() -> Schema:
    return {
        "type": "object",
        "description": "A county's ranking for a window, with its campaign progress: the stored snapshot while "
        "its inputs are unchanged, else computed for this read and not stored (reads never write).",
        "properties": {
            "county_code": {"type": "string", "pattern": COUNTY_CODE_PATTERN},
            "county_name": {"type": "string"},
            "window": ref("Window"),
            "rubric_version": {"type": "string"},
            "snapshot_id": SNAPSHOT_ID,
            "computed_at": {"type": "string", "format": "date-time"},
            "trigger": {"type": "string"},
            "by_type": {"type": "boolean", "description": "ranks are within each school type"},
            "schools": {"type": "array", "items": ref("RankingRow")},
            "campaign_progress": ref("CampaignProgress"),
        },
        "required": ["county_code", "window", "rubric_version", "schools", "campaign_progress"],
    }


def _fund_report() -> Schema:
    money = {"type": "string", "pattern": MONEY_PATTERN}
    return {
        "type": "object",
        "description": "The county fund report of SCORING.md (营养餐); the xlsx and PDF show the same figures.",
        "properties": {
            "standard": {
                "type": "string",
                "enum": [STANDARD_ID, STANDARD_ID_2],
                "description": "@2 when a participating month of the window was sent in @2 (then `stock`)",
            },
            "stock": {
                "type": "boolean",
                "description": "true: every school row and total also has `stock_months`, "
                "`opening_stock_value` (the first @2 month's), `stock_purchases` (Σ), "
                "`closing_stock_value` (the last @2 month's) and `stock_consumed` (Σ opening + "
                "purchases − closing), null for a school with no month sent in @2; false: "
                "no stock keys at all (stock not reported)",
            },
            "county_code": {"type": "string", "pattern": COUNTY_CODE_PATTERN},
            "county_name": {"type": "string"},
            "window_from": {"type": "string", "pattern": PERIOD_PATTERN},
            "window_to": {"type": "string", "pattern": PERIOD_PATTERN},
            "standard_rate": money,
            "generated_at": {"type": "string", "format": "date-time"},
            "schools": {"type": "array", "items": {"type": "object"}},
            "townships": {"type": "array", "items": {"type": "object"}},
            "supply_modes": {"type": "array", "items": {"type": "object"}},
            "county": {"type": "object"},
            "non_reporting": {"type": "array", "items": {"type": "object"}},
            "anomalies": {"type": "array", "items": ref("FundAnomaly")},
            "anomaly_counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "chain_head": {
                "type": ["string", "null"],
                "description": "the county's chain-head digest the report was built on (docs/AUDIT.md)",
            },
        },
        "required": ["county_code", "window_from", "window_to", "schools", "county", "non_reporting", "anomalies"],
    }


def _review_schemas() -> dict[str, Schema]:
    """Per-report review (issue 18): the request and a decision as the API and the feedback show it."""
    decision = {"type": "string", "enum": ["approved", "returned"]}
    review = {
        "type": "object",
        "description": "A reviewer's decision on one revision: 已通过 (`approved`) or 退回 (`returned`).",
        "properties": {
            "decision": decision,
            "comment": {"type": "string", "description": "what to correct (required to return)"},
            "reviewer": {"type": "string", "description": "the reviewer's username"},
            "at": {"type": "string", "format": "date-time", "description": "Beijing time"},
        },
        "required": ["decision", "comment", "reviewer", "at"],
    }
    return {
        "Review": review,
        "ReviewRequest": REVIEW.openapi(),
        "ReviewResult": {
            "type": "object",
            "properties": {
                "report_id": {"type": "string"},
                "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
                "period": {"type": "string", "pattern": PERIOD_PATTERN},
                "revision": {"type": "integer", "minimum": 1},
                "review": ref("Review"),
            },
            "required": ["report_id", "school_code", "period", "revision", "review"],
        },
    }


def _inspection() -> Schema:
    request = INSPECTION.openapi()
    return {
        "type": "object",
        "description": "A recorded inspection.",
        "properties": {
            **request["properties"],
            "id": {"type": "integer"},
            "score": {
                "type": ["number", "null"],
                "minimum": 0,
                "maximum": 5,
                "description": "null: a checklist with no applicable item (no B2 score)",
            },
            "findings": {"type": "array", "items": finding_schema(ref_=True)},
            "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
            "recorded_by": {"type": "string"},
            "recorded_at": {"type": "string", "format": "date-time"},
        },
        "required": ["id", "school_code", "score", *request["required"]],
    }


def _job() -> Schema:
    return {
        "type": "object",
        "description": "A PDF job: its state (`queued` → `running` → `done` or `failed`), progress (`done` of "
        "`total` parts) and, when done, its files (the zip first). A job a stopped hub left "
        "unfinished on the embedded default is `failed` at its next start (ask again).",
        "properties": {
            "job_id": {"type": "integer"},
            "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
            "done": {"type": "integer", "minimum": 0},
            "total": {"type": "integer", "minimum": 0},
            "files": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "url": {"type": "string"},
                        "sha256": {"type": "string", "pattern": SHA256_PATTERN},
                        "size": {"type": "integer", "minimum": 0},
                        "kind": {"type": "string"},
                    },
                    "required": ["name", "url", "sha256", "size"],
                },
            },
            "kind": {
                "type": "string",
                "enum": ["school", "batch", "fund", "export"],
                "description": "one school's report, a county batch, the county's fund report, or a period's "
                "reports export (xlsx/csv, `POST …/reports/export`)",
            },
            "seconds_left": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "an estimate of the time left (running jobs, once a part is done)",
            },
            "county_code": {"type": "string", "pattern": COUNTY_CODE_PATTERN},
            "school_code": {"type": ["string", "null"]},
            "window": ref("Window"),
            "errors": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["job_id", "state", "done", "total", "files"],
    }


def components_schemas() -> dict[str, Schema]:
    detail = {
        "type": "object",
        "properties": {"path": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}},
    }
    return {
        "Error": _error(detail, "Every error body of the API: a stable `code`, a message, and details."),
        "ValidationError": _error(ref("Issue"), "422: every violation of the standard, each once."),
        "Issue": _issue(),
        "Receipt": _receipt(),
        "HubKeys": _hub_keys(),
        **report_schemas(),
        "FundAnomaly": _anomaly(),
        "Feedback": _feedback(),
        "AgentPeriodState": _agent_period_state(),
        "LastReport": _last_report(),
        "Completeness": _completeness(),
        "DutyCalendarMonth": _duty_calendar_month(),
        "CountySettings": {
            "type": "object",
            "required": ["county_code", "reporting_start", "reporting_start_in_effect", "deadline_day", "break_months"],
            "properties": {
                "county_code": {"type": "string"},
                "reporting_start": {"type": ["string", "null"]},
                "reporting_start_in_effect": {"type": ["string", "null"]},
                "deadline_day": {"type": "integer"},
                "break_months": {"type": "array", "items": {"type": "integer"}},
                "channels": ref("ReminderChannels"),
                "township_order": {"type": ["array", "null"], "items": {"type": "string"}},
                "township_order_in_effect": {"type": "array", "items": {"type": "string"}},
                "require_standard": REQUIRE_STANDARD,
            },
        },
        "PeriodState": _period_state(),
        **_review_schemas(),
        "PeriodNote": PERIOD_NOTE.openapi(),
        "RankingRow": _ranking_row(),
        "IndicatorRow": _indicator_row(),
        "SchoolScore": _school_score(),
        "CampaignProgress": _campaign(),
        "Rankings": _rankings(),
        "Window": _window(),
        "FundReport": _fund_report(),
        "InspectionRequest": INSPECTION.openapi(),
        "Inspection": _inspection(),
        "PdfJobRequest": PDF_JOB.openapi(),
        "Job": _job(),
        "FundPdfRequest": FUND_PDF_JOB.openapi(),
    }


# ------------------------------------------------------------------------------------------ operations

AGENT_SECURITY: list[dict[str, list[str]]] = [{"houqinSchool": [], "houqinTimestamp": [], "houqinSignature": []}]
BUREAU_SECURITY: list[dict[str, list[str]]] = [{"bearerToken": []}, {"bureauSession": []}]

# Why each status happens; the `code` values listed are the stable error codes the hub answers with.
WHY: dict[int, str] = {
    400: "Bad query or path parameter (`invalid_period`, ...).",
    401: "Agent: unknown school or no active credential (`unknown_school`), missing or bad signature headers "
    "(`missing_signature`, `bad_timestamp`, `bad_signature`), timestamp more than 300 s from the hub's "
    "clock (`stale_timestamp`), replayed request (`replay`). Bureau: no valid token or session "
    "(`unauthenticated`).",
    403: "Not allowed (`forbidden`: county_admin required).",
    404: "No such object, or it is outside the caller's scope (`not_found`) — never its data.",
    409: "Conflict.",
    413: "Body over 1 MiB (`payload_too_large`).",
    415: "Not JSON: wrong Content-Type (`unsupported_media_type`), a charset other than UTF-8 "
    "(`unsupported_charset`) or malformed JSON (`malformed_json`).",
    422: "Invalid input.",
    429: "Too many requests from this school (`rate_limited`); retry after `Retry-After` seconds.",
}


# what the one JSON body reader refuses (district/web/body.py), on every operation that takes a JSON body
BODY_400 = (
    "A body the hub cannot take as text (`invalid_encoding`: not UTF-8; `nesting_too_deep`: more than 64 "
    "levels; `duplicate_key`; `lone_surrogate`; `nul_character`); `details[].path` names where."
)
BODY_415 = "Not JSON (`unsupported_media_type`, `unsupported_charset`, `malformed_json`)."
BODY_413 = "Body over 64 KiB (`payload_too_large`)."


def error_response(status: int, description: str | None = None, schema: str = "Error") -> Schema:
    resp: Schema = {"description": description or WHY[status], "content": {JSON: {"schema": ref(schema)}}}
    if status == 429:
        resp["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
    return resp


def json_response(description: str, schema: Schema, headers: Schema | None = None) -> Schema:
    resp: Schema = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        resp["headers"] = headers
    return resp


def path_param(name: str, pattern: str | None, description: str, example: str) -> Schema:
    schema: Schema = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
        "example": example,
    }


def query_param(name: str, schema: Schema, description: str, *, required: bool = False, example: Any = None) -> Schema:
    p: Schema = {"name": name, "in": "query", "required": required, "description": description, "schema": schema}
    if example is not None:
        p["example"] = example
    return p


COUNTY = path_param("county", COUNTY_CODE_PATTERN, "county code (县级行政区划代码, 6 digits)", "610528")
SCHOOL = path_param("code", SCHOOL_CODE_PATTERN, "school code (学校标识码, 10 digits)", "6105280001")
PERIOD_PATH = path_param(
    "period",
    REPORTABLE_PERIOD_PATTERN,
    "period YYYY-MM from 2010-01 (anything else, or a month after the current one, is 400 `invalid_period`)",
    "2026-09",
)
ACCEPT_LANGUAGE = {"$ref": "#/components/parameters/AcceptLanguage"}
JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "description": "the job id from the 202 answer",
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    "example": 1,
}
SNAPSHOT = query_param(
    "snapshot",
    {"type": "string", "pattern": "^[0-9]{1,9}$"},
    "a stored ranking snapshot's id: the ranking exactly as it was computed",
)
PERIOD_QUERY = {"type": "string", "pattern": REPORTABLE_PERIOD_PATTERN}
# A window's bounds may be sent empty (an HTML form's blank field): empty is "not given", as the hub reads them.
WINDOW_PERIOD = {"type": "string", "pattern": f"^(?:{REPORTABLE_PERIOD_PATTERN[1:-1]})?$"}
WINDOW_YEAR = {"anyOf": [{"type": "integer", "minimum": 2010, "maximum": 9998}, {"type": "string", "maxLength": 0}]}
WINDOW = [
    query_param(
        "from",
        WINDOW_PERIOD,
        "first period of the window (YYYY-MM); alone: up to the latest closed period; empty: not given",
        example="2026-03",
    ),
    query_param(
        "to",
        WINDOW_PERIOD,
        "last period of the window (YYYY-MM); alone: from January of its year; empty: not given",
        example="2026-09",
    ),
    query_param("year", WINDOW_YEAR, "the calendar year instead of from/to (empty: not given)"),
    query_param(
        "school_year", WINDOW_YEAR, "the school year (学年) Y-09..(Y+1)-08 instead of from/to (empty: not given)"
    ),
]
WINDOW_RULE = (
    "Every window is clipped to the county's reporting start (上线月份) and capped at its latest closed "
    "period (STANDARD.md, the reporting calendar); the answer's `window` is the one used. Without "
    "one: `year=` the latest closed period's year. What a schema cannot say, answered 400: one of "
    "from/to, year, school_year at most; `from` not after `to`; at most 36 months as asked "
    "(`window_too_long`); something left after clipping (`empty_window`). "
)
WINDOW_400 = (
    "Bad window or snapshot (`invalid_period`, `invalid_window`, `window_too_long` past 36 months, "
    "`empty_window` when nothing is left after clipping, `invalid_snapshot`)."
)


def _agent(summary: str, description: str, responses: dict[str, Schema], **extra: Any) -> Schema:
    return {
        "tags": ["school agents"],
        "summary": summary,
        "description": description,
        "security": AGENT_SECURITY,
        **extra,
        "responses": responses,
    }


def _bureau(summary: str, description: str, responses: dict[str, Schema], **extra: Any) -> Schema:
    return {
        "tags": ["bureau"],
        "summary": summary,
        "description": description,
        "security": BUREAU_SECURITY,
        **extra,
        "responses": {"401": error_response(401, "No valid bearer token or session (`unauthenticated`)."), **responses},
    }


def _example_report() -> dict[str, Any]:
    """The spec's example report (shared/spec/example-report.json) as the request example."""
    path = Path(__file__).resolve().parents[2] / "tests" / "data" / "example-report.json"
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def paths() -> dict[str, Schema]:
    receipt_headers = {"Location": {"description": "the receipt's URL", "schema": {"type": "string"}}}
    lock_responses = {
        "200": json_response("The period's new approval state.", ref("PeriodState")),
        "400": error_response(400, "Not a period YYYY-MM (`invalid_period`), or " + BODY_400),
        "403": error_response(
            403, "Only a county_admin of the county may lock or unlock (a city_admin reads) (`forbidden`)."
        ),
        "404": error_response(404),
        "409": error_response(
            409, "Locking a locked period (`already_locked`) or unlocking an open one (`not_locked`)."
        ),
        "413": error_response(413, BODY_413),
        "415": error_response(415, BODY_415),
        "422": error_response(
            422, "A `note` that is not text or holds a control character or a bidi override (`validation_failed`)."
        ),
    }
    lock_body = {"required": False, "content": {JSON: {"schema": ref("PeriodNote")}}}
    return {
        f"{API}/reports": {
            "post": _agent(
                "Submit one monthly report",
                "Signed by the school's credential (API.md). Checks, in this order: 413 → 401 → 429 → 415/400 (body) → "
                "403 → 422 → idempotency (200 / 409) → period lock (409) → 201 (docs/DECISIONS.md). Every refusal is "
                "logged (who, when, why — never the body) and stores nothing else.",
                {
                    "201": json_response("A new revision was stored; its receipt.", ref("Receipt"), receipt_headers),
                    "200": json_response(
                        "The same `report_id` with the same content again: the same receipt, nothing stored.",
                        ref("Receipt"),
                        receipt_headers,
                    ),
                    "400": error_response(400, BODY_400),
                    "401": error_response(401),
                    "403": error_response(403, "`school_code` in the body is not the signer's (`school_mismatch`)."),
                    "409": error_response(
                        409,
                        "The `report_id` was already used with other content "
                        "(`report_id_conflict`), or the period is locked by the bureau "
                        "(`period_locked`).",
                    ),
                    "413": error_response(413),
                    "415": error_response(415),
                    "422": error_response(
                        422,
                        "Rule violations of the standard (`validation_failed`); `details` "
                        "lists every one as {path, code, message}. Or a @1 report for a "
                        "period the county requires @2 for (`standard_version_required`, "
                        "naming the version and the period).",
                        "ValidationError",
                    ),
                    "429": error_response(429),
                },
                operationId="submitReport",
                parameters=[ACCEPT_LANGUAGE],
                requestBody={
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": {
                                "oneOf": [ref("Report"), ref("ReportV2")],
                                "description": "A report of houqin/monthly-report@1 or @2 "
                                "(its `standard` tells which).",
                            },
                            "example": _example_report(),
                        }
                    },
                },
            )
        },
        f"{API}/reports/{{report_id}}": {
            "get": _agent(
                "The receipt of one of the signer's own reports",
                "Another school's report is 404, like an unknown one.",
                {
                    "200": json_response("The receipt.", ref("Receipt")),
                    "401": error_response(401),
                    "404": error_response(404, "No such report of the signer's school (`not_found`)."),
                },
                operationId="getReceipt",
                parameters=[
                    path_param(
                        "report_id", UUID_PATTERN, "the report's `report_id`", "aeafb905-dc8a-40bb-a35b-4c41d283eb3a"
                    ),
                    ACCEPT_LANGUAGE,
                ],
            )
        },
        f"{API}/feedback": {
            "get": _agent(
                "What the bureau sees of the signer's school for a period",
                "Revision in effect, warnings, fund anomalies, latest score and rank, reminders.",
                {
                    "200": json_response("The school's feedback.", ref("Feedback")),
                    "400": error_response(400, "`period` is not YYYY-MM (`invalid_period`)."),
                    "401": error_response(401),
                },
                operationId="getFeedback",
                parameters=[
                    query_param("period", PERIOD_QUERY, "YYYY-MM", required=True, example="2026-09"),
                    ACCEPT_LANGUAGE,
                ],
            )
        },
        f"{API}/period-state": {
            "get": _agent(
                "The signer's school's state for a period",
                "Asked by `houqin-agent template` before anything is filled: locked, already reported, the "
                "reporting calendar's days left or late, the county's subsidy standard (issue 19).",
                {
                    "200": json_response("The period's state for the school.", ref("AgentPeriodState")),
                    "400": error_response(400, "`period` is not YYYY-MM (`invalid_period`)."),
                    "401": error_response(401),
                },
                operationId="getAgentPeriodState",
                parameters=[
                    query_param("period", PERIOD_QUERY, "YYYY-MM", required=True, example="2026-09"),
                    ACCEPT_LANGUAGE,
                ],
            )
        },
        f"{API}/last-report": {
            "get": _agent(
                "The signer's school's last accepted report",
                "`houqin-agent restore` on a new PC: the effective revision of the school's newest reported period "
                "(strictly before `before` when given).",
                {
                    "200": json_response("The report.", ref("LastReport")),
                    "400": error_response(400, "`before` is not YYYY-MM (`invalid_period`)."),
                    "401": error_response(401),
                    "404": error_response(404, "The hub holds no accepted report of the school (`not_found`)."),
                },
                operationId="getLastReport",
                parameters=[query_param("before", PERIOD_QUERY, "YYYY-MM", example="2026-10"), ACCEPT_LANGUAGE],
            )
        },
        f"{API}/counties/{{county}}/rankings": {
            "get": _bureau(
                "A county's ranking",
                "Per school {school_code, name, type, township, score, grade, status, rank, coverage, flags, "
                "rubric_version}, plus the county's campaign progress. " + WINDOW_RULE,
                {
                    "200": json_response("The ranking.", ref("Rankings")),
                    "400": error_response(400, WINDOW_400),
                    "404": error_response(404),
                },
                operationId="getRankings",
                parameters=[
                    COUNTY,
                    *WINDOW,
                    query_param(
                        "by_type",
                        {"type": "string", "enum": ["0", "1", "true", "false"]},
                        "`1`: rank within each school type",
                    ),
                    SNAPSHOT,
                    query_param(
                        "township",
                        {"type": "string", "maxLength": 100},
                        "only this township's rows (its name; ranks stay the county's; issue 17 item 6)",
                    ),
                    query_param(
                        "type", {"type": "string", "maxLength": 30}, "only rows of this school type (school_type enum)"
                    ),
                ],
            )
        },
        f"{API}/schools/{{code}}/score": {
            "get": _bureau(
                "One school's score with its indicator rows",
                "The indicator rows of SCORING.md (earned, available, inputs, revision ids) and the flags.",
                {
                    "200": json_response("The school's score.", ref("SchoolScore")),
                    "400": error_response(400, WINDOW_400),
                    "404": error_response(
                        404,
                        "No such school in the caller's scope, or the school has no expected "
                        "month in the window (`not_found`).",
                    ),
                },
                operationId="getSchoolScore",
                parameters=[SCHOOL, *WINDOW, SNAPSHOT],
            )
        },
        f"{API}/counties/{{county}}/completeness": {
            "get": _bureau(
                "Completeness and timeliness of a county's period",
                "Expected, reported, on time and missing schools, in total and by township.",
                {
                    "200": json_response("Completeness of the period.", ref("Completeness")),
                    "400": error_response(400, "`period` is not YYYY-MM (`invalid_period`)."),
                    "404": error_response(404),
                },
                operationId="getCompleteness",
                parameters=[
                    COUNTY,
                    query_param("period", PERIOD_QUERY, "YYYY-MM", required=True, example="2026-09"),
                    query_param(
                        "township",
                        {"type": "string", "maxLength": 100},
                        "count only this township's schools (its name; issue 17 item 6)",
                    ),
                    query_param(
                        "type",
                        {"type": "string", "maxLength": 30},
                        "count only schools of this type (school_type enum)",
                    ),
                ],
            )
        },
        f"{API}/counties/{{county}}/calendar": {
            "get": _bureau(
                "The county's 后勤行事历 for one month",
                "The month's tasks of the county's logistics calendar in force, and per school whether each task due "
                "was done (`reported_v2`), or that the month was sent in @1 (`reported_v1`) or not at all "
                "(`not_reported`); a school's due tasks are those of the calendar that judged its report.",
                {
                    "200": json_response("The month's calendar, school by school.", ref("DutyCalendarMonth")),
                    "400": error_response(400, "`period` is not YYYY-MM (`invalid_period`)."),
                    "404": error_response(404),
                },
                operationId="getCountyDutyCalendar",
                parameters=[COUNTY, query_param("period", PERIOD_QUERY, "YYYY-MM", required=True, example="2026-09")],
            )
        },
        f"{API}/counties/{{county}}/nutrition": {
            "get": _bureau(
                "The county's 营养餐 fund report",
                "JSON by default; `format=xlsx` or `format=pdf` for the files auditors take (same figures). "
                "`format=pdf` renders in the request (bounded); `POST …/nutrition/pdf` makes the same PDF as a job. "
                + WINDOW_RULE,
                {
                    "200": {
                        "description": "The fund report.",
                        "content": {
                            JSON: {"schema": ref("FundReport")},
                            XLSX: {"schema": {"type": "string", "format": "binary"}},
                            PDF: {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    "400": error_response(
                        400,
                        "Bad window or format (`invalid_period`, `invalid_window`, "
                        "`window_too_long`, `empty_window`, `invalid_format`).",
                    ),
                    "404": error_response(404),
                    "503": error_response(
                        503,
                        "The PDF went past its render bounds (`pdf_timeout`, `pdf_too_large`): "
                        "ask for a shorter window.",
                    ),
                },
                operationId="getFundReport",
                parameters=[
                    COUNTY,
                    *WINDOW,
                    query_param(
                        "format",
                        {"type": "string", "enum": ["json", "xlsx", "pdf"], "default": "json"},
                        "the representation",
                    ),
                ],
            )
        },
        f"{API}/schools/{{code}}/inspections": {
            "post": _bureau(
                "Record an on-site inspection (county_admin)",
                "The bureau's on-site inspection score (0–5, indicator B2), given or made from a checklist (`items`), "
                "with its `findings` entered in the school's hazard ledger; audited; the county's ranking is "
                "recomputed after the commit.",
                {
                    "201": json_response("The inspection was recorded.", ref("Inspection")),
                    "400": error_response(400, BODY_400),
                    "403": error_response(403),
                    "404": error_response(404),
                    "413": error_response(413, BODY_413),
                    "415": error_response(415, BODY_415),
                    "422": error_response(422, "Invalid inspection (`validation_failed`): details name each field."),
                },
                operationId="recordInspection",
                parameters=[SCHOOL],
                requestBody={
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": ref("InspectionRequest"),
                            "example": {
                                "date": "2026-10-15",
                                "score": 4.5,
                                "inspector": "教育局后勤科",
                                "notes": "文化墙完成",
                            },
                        }
                    },
                },
            )
        },
        f"{API}/counties/{{county}}/settings": {
            "get": _bureau(
                "A county's settings",
                "`reporting_start` (上线月份, YYYY-MM or null) as set, and the one in force (unset: the month of the "
                "county's earliest accepted report).",
                {"200": json_response("The settings.", ref("CountySettings")), "404": error_response(404)},
                operationId="getCountySettings",
                parameters=[COUNTY],
            ),
            "put": _bureau(
                "Set a county's settings (county_admin)",
                "A reporting start in the future, or after the county's first accepted report, is refused (400) "
                "with the reason; unknown settings are refused (400 `invalid_field`). `township_order`: the official "
                "order of the county's townships (names, each a township of the county, once; the rest follow in "
                "pinyin order; null or [] clears it), refused with 422 `invalid_township_order` whose details name "
                'each bad entry (`township_order[i]`). `require_standard`: `{version: 2, from: "YYYY-MM"}` requires '
                "houqin/monthly-report@2 from that period on (a @1 report for it is then 422 "
                "`standard_version_required`); null or version 1 clears it; a bad value is 400 naming "
                "`require_standard.version` or `require_standard.from`. Audited.",
                {
                    "200": json_response("The settings now.", ref("CountySettings")),
                    "400": error_response(400, "A bad value; `details` name the field. Or " + BODY_400),
                    "403": error_response(403),
                    "404": error_response(404),
                    "413": error_response(413, BODY_413),
                    "415": error_response(415, BODY_415),
                    "422": error_response(422, "A bad `township_order` (`invalid_township_order`)."),
                },
                operationId="putCountySettings",
                parameters=[COUNTY],
                requestBody=COUNTY_SETTINGS.request_body(example={"reporting_start": "2026-09"}),
            ),
        },
        f"{API}/periods/{{county}}/{{period}}": {
            "get": _bureau(
                "A county's period: approval state and history",
                "Locked or not, every lock and unlock act, and the revisions that arrived after the first lock.",
                {
                    "200": json_response("The period's approval state.", ref("PeriodState")),
                    "400": error_response(400, "Not a period YYYY-MM (`invalid_period`)."),
                    "404": error_response(404),
                },
                operationId="getPeriodState",
                parameters=[COUNTY, PERIOD_PATH],
            )
        },
        f"{API}/periods/{{county}}/{{period}}/lock": {
            "post": _bureau(
                "Approve (lock) a period (county_admin)",
                "While locked, new revisions of the county's schools for the period are refused (409).",
                lock_responses,
                operationId="lockPeriod",
                parameters=[COUNTY, PERIOD_PATH],
                requestBody=lock_body,
            )
        },
        f"{API}/periods/{{county}}/{{period}}/unlock": {
            "post": _bureau(
                "Reopen (unlock) a period (county_admin)",
                "New revisions are accepted again.",
                lock_responses,
                operationId="unlockPeriod",
                parameters=[COUNTY, PERIOD_PATH],
                requestBody=lock_body,
            )
        },
        f"{API}/reports/{{report_id}}/review": {
            "post": _bureau(
                "Review one report: approve it, or return it with a comment (county_admin, township_admin)",
                "The decision applies to the revision `report_id`; audited in the county's hash chain (`review.*`). "
                "The school's feedback for the period then carries `review`; a later revision of the period is 待审核 "
                "again. Check order: 401 → 413/415 → 400 (not an object) → 404 (unknown, or its school outside the "
                "caller's scope) → 403 (a role that does not review) → 422 (`decision`; `comment` missing to return, "
                "not text or too long: `details` name the field) → 409 (`superseded`: naming the revision in effect; "
                "`period_locked`: a locked period is not returned).",
                {
                    "200": json_response("The decision as recorded.", ref("ReviewResult")),
                    "400": error_response(400, "The body is not a JSON object (`invalid_body`), or " + BODY_400),
                    "403": error_response(403, "Only a county_admin or a township_admin reviews (`forbidden`)."),
                    "404": error_response(404),
                    "409": error_response(
                        409,
                        "A superseded revision (`superseded`; `details[0].current_report_id`) "
                        "or a locked period returned (`period_locked`).",
                    ),
                    "413": error_response(413, BODY_413),
                    "415": error_response(415, BODY_415),
                    "422": error_response(422, "A bad `decision` or `comment` (`validation_failed`)."),
                },
                operationId="reviewReport",
                parameters=[
                    path_param(
                        "report_id", "^[^/]{1,64}$", "the revision's report_id", "6f1c0a52-3b9e-4c41-9a57-2f0d8c7e1b34"
                    )
                ],
                requestBody={
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": ref("ReviewRequest"),
                            "example": {"decision": "returned", "comment": "本月结余与上月结转不符，请核对"},
                        }
                    },
                },
            )
        },
        f"{API}/counties/{{county}}/reports/pdf": {
            "post": _bureau(
                "Ask for PDF evaluation reports (one school or all)",
                "Returns at once with the job (`queued` or `running`, `done`/`total` parts); never made in the "
                "request: the PDFs are made on the workers' `pdf` queue, or, on the embedded default (no broker), in "
                "a background thread of the hub. Follow `GET /api/v1/jobs/{job_id}`. A user has at most "
                "`HOUQIN_PDF_JOBS_PER_USER` (default 3) jobs queued or running; the next is 429 `too_many_jobs` "
                "with `Retry-After`. `school` and `school_code` (its alias) must agree (422). Check order: "
                "401 → 415 → 422 (body) → 404 (scope) → 403 → 400 (window) → 429 (limit) → 422 (nothing to print).",
                {
                    "202": json_response(
                        "The job was accepted.",
                        ref("Job"),
                        {"Location": {"description": "the job's URL", "schema": {"type": "string"}}},
                    ),
                    "400": error_response(400, "Bad window (`invalid_period`, `invalid_window`), or " + BODY_400),
                    "403": error_response(
                        403, "A batch for the whole county needs a county or city admin (`forbidden`)."
                    ),
                    "404": error_response(404),
                    "413": error_response(413, BODY_413),
                    "415": error_response(415, BODY_415),
                    "429": error_response(
                        429,
                        "The caller already has `HOUQIN_PDF_JOBS_PER_USER` (default 3) PDF jobs "
                        "queued or running (`too_many_jobs`); ask again after `Retry-After` "
                        "seconds.",
                    ),
                    "422": error_response(
                        422,
                        "Invalid request (`validation_failed`), or nothing to print: the school "
                        "(`no_expected_month`) or the county (`no_schools`) has no expected month "
                        "in the window.",
                    ),
                },
                operationId="requestPdfReports",
                parameters=[COUNTY],
                requestBody={
                    "required": False,
                    "content": {
                        JSON: {"schema": ref("PdfJobRequest"), "example": {"school": "6105280001", "year": 2026}}
                    },
                },
            )
        },
        f"{API}/counties/{{county}}/nutrition/pdf": {
            "post": _bureau(
                "Ask for the county's fund report as a PDF (a job)",
                "Returns at once with the job (`kind` `fund`, one part); the PDF is made like the evaluation reports "
                "(the `pdf` queue, or on the embedded default the hub's pool of render processes) and listed in the "
                "caller's jobs (`GET /api/v1/jobs`, the download centre). `GET …/nutrition?format=pdf` still answers "
                "the PDF itself. Anyone who may read the county's fund report; the same per-user limit as "
                "`reports/pdf`. Check order: 401 → 415 → 422 (body) → 404 (scope) → 400 (window) → 429 (limit).",
                {
                    "202": json_response(
                        "The job was accepted.",
                        ref("Job"),
                        {"Location": {"description": "the job's URL", "schema": {"type": "string"}}},
                    ),
                    "400": error_response(
                        400,
                        "Bad window (`invalid_period`, `invalid_window`, `window_too_long`, "
                        "`empty_window`), or " + BODY_400,
                    ),
                    "404": error_response(404),
                    "413": error_response(413, BODY_413),
                    "415": error_response(415, BODY_415),
                    "422": error_response(422, "Invalid request (`validation_failed`)."),
                    "429": error_response(
                        429,
                        "The caller already has `HOUQIN_PDF_JOBS_PER_USER` (default 3) PDF jobs "
                        "queued or running (`too_many_jobs`); ask again after `Retry-After` "
                        "seconds.",
                    ),
                },
                operationId="requestFundReportPdf",
                parameters=[COUNTY],
                requestBody={
                    "required": False,
                    "content": {
                        JSON: {"schema": ref("FundPdfRequest"), "example": {"from": "2026-09", "to": "2026-11"}}
                    },
                },
            )
        },
        f"{API}/jobs": {
            "get": _bureau(
                "The caller's own PDF jobs, newest first",
                "Only the jobs the caller asked for (not a colleague's, though its scope may let the caller open one "
                "by id), newest first, each as `GET /api/v1/jobs/{job_id}` shows it plus `id` and `seconds_left` (an "
                "estimate from the parts done so far; running jobs only). The download centre (`/downloads`) shows "
                "the same list.",
                {
                    "200": json_response(
                        "The jobs.",
                        {
                            "type": "object",
                            "required": ["jobs"],
                            "properties": {
                                "jobs": {
                                    "type": "array",
                                    "maxItems": 50,
                                    "items": {
                                        "allOf": [
                                            ref("Job"),
                                            {
                                                "type": "object",
                                                "required": ["id", "created_at"],
                                                "properties": {
                                                    "id": {"type": "integer", "minimum": 1},
                                                    "created_at": {"type": "string", "format": "date-time"},
                                                    "seconds_left": {"type": ["integer", "null"], "minimum": 0},
                                                },
                                            },
                                        ]
                                    },
                                }
                            },
                        },
                    ),
                    "400": error_response(
                        400, "`limit` is not a whole number from 1 to 50, or is given twice (`invalid_limit`)."
                    ),
                },
                operationId="listJobs",
                parameters=[
                    query_param(
                        "limit",
                        {"type": "string", "pattern": "^(?:[1-9]|[1-4][0-9]|50)$"},
                        "how many of the newest jobs, 1 to 50 (default 50)",
                        example="20",
                    )
                ],
            )
        },
        f"{API}/jobs/{{job_id}}": {
            "get": _bureau(
                "A PDF job's state and, when done, its files",
                "Progress while running; the files (a zip for a county batch) when done.",
                {"200": json_response("The job.", ref("Job")), "404": error_response(404)},
                operationId="getJob",
                parameters=[JOB_ID],
            )
        },
        f"{API}/jobs/{{job_id}}/files/{{name}}": {
            "get": _bureau(
                "One finished file of a PDF job",
                "Sent as an attachment named for its content (RFC 5987 `filename*` with an ASCII fallback).",
                {
                    "200": {
                        "description": "The file.",
                        "content": {
                            PDF: {"schema": {"type": "string", "format": "binary"}},
                            "application/zip": {"schema": {"type": "string", "format": "binary"}},
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                                "schema": {"type": "string", "format": "binary"}
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "404": error_response(404, "No such job in the caller's scope, or no such finished file."),
                },
                operationId="getJobFile",
                parameters=[
                    JOB_ID,
                    path_param(
                        "name", None, "the file's name as the job lists it", "610528_2026_county_evaluation.zip"
                    ),
                ],
            )
        },
        f"{API}/hub-keys": {
            "get": {
                "tags": ["school agents"],
                "summary": "The hub's public receipt-signing keys",
                "description": "For agents to pin and auditors to verify receipts; public.",
                "operationId": "getHubKeys",
                "security": [],
                "responses": {"200": json_response("The keys.", ref("HubKeys"))},
            }
        },
        f"{API}/openapi.json": {
            "get": {
                "tags": ["meta"],
                "summary": "This document",
                "operationId": "getOpenApi",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document of the hub.",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def _with_exports(ops: dict[str, Schema]) -> dict[str, Schema]:
    """Search and exports (district/api/openapi_exports.py, issue 17): its operations, and ``format=xlsx`` on the
    rankings and completeness reads."""
    from district.api import openapi_exports as exports

    for name in ("rankings", "completeness"):
        exports.with_xlsx(ops[f"{API}/counties/{{county}}/{name}"])
    return {**ops, **exports.paths()}


def _export_schemas() -> dict[str, Schema]:
    from district.api import openapi_exports as exports

    return exports.schemas()


def _alerts_openapi() -> Any:
    """The 重大预警 and city overview operations (district/api/openapi_alerts.py, issue 17)."""
    from district.api import openapi_alerts

    return openapi_alerts


def _reminders_openapi() -> Any:
    """一键催报, the reminder log and the settings' channels (district/api/openapi_reminders.py, issue 18)."""
    from district.api import openapi_reminders

    return openapi_reminders


def build() -> dict[str, Any]:
    """The whole OpenAPI document as a dict (deterministic: same code, same bytes)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Houqin 后勤 hub API",
            "version": "1",
            "description": (
                "The hub's HTTP contract v1 (shared/spec/API.md). JSON in and out, UTF-8. Every error body is "
                '`{"error": {"code", "message", "details"}}` with a stable `code`; messages are Chinese, '
                "English with `Accept-Language: en`. Times are ISO 8601 in Asia/Shanghai (+08:00).\n\n"
                "School agents sign every request: `X-Houqin-Signature` is the hex HMAC-SHA256, keyed with the "
                'school\'s secret (UTF-8), of `timestamp + "\\n" + METHOD + "\\n" + path_with_query + "\\n" '
                "+ hex(SHA-256(body))`. A timestamp more than 300 s from the hub's clock, or an exact signature "
                "already seen inside that window (a replay), is refused with 401. Bureau users send "
                "`Authorization: Bearer <personal token>` or their signed-in session cookie; anything outside "
                "their scope is 404."
            ),
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [
            {"name": "school agents", "description": "Signed requests of a school's `houqin-agent`."},
            {"name": "bureau", "description": "Bureau users: city_admin, county_admin, county_viewer, school_viewer."},
            {"name": "meta"},
        ],
        "paths": {**_with_exports(paths()), **_alerts_openapi().paths(), **_reminders_openapi().paths()},
        "components": {
            "schemas": {
                **components_schemas(),
                **_export_schemas(),
                **_alerts_openapi().schemas(),
                **_reminders_openapi().schemas(),
            },
            "parameters": {
                "AcceptLanguage": {
                    "name": "Accept-Language",
                    "in": "header",
                    "required": False,
                    "description": "`en` for English messages; any other value (or none) gives Chinese, as HTTP "
                    "language negotiation does: an unknown language is not an error",
                    "schema": {"type": "string"},
                }
            },
            "securitySchemes": {
                "houqinSchool": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Houqin-School",
                    "description": "the signing school's code (10 digits)",
                },
                "houqinTimestamp": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Houqin-Timestamp",
                    "description": "unix seconds; refused when more than 300 s from the hub's clock",
                },
                "houqinSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Houqin-Signature",
                    "description": "hex HMAC-SHA256(secret, timestamp \\n METHOD \\n "
                    "path_with_query \\n hex SHA-256(body))",
                },
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a bureau user's personal API token (revocable)",
                },
                "bureauSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "a bureau user signed in on the web pages",
                },
            },
        },
        "x-report-issue-codes": {"errors": list(ERROR_CODES), "warnings": list(WARNING_CODES)},
    }


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m district.api.openapi", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed document is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OPENAPI_PATH.exists() or OPENAPI_PATH.read_text(encoding="utf-8") != text:
            print(f"{OPENAPI_PATH} is stale: run python3 -m district.api.openapi", file=sys.stderr)
            return 1
        return 0
    OPENAPI_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
