"""The OpenAPI operations of search and exports (issue 17 item 4), merged into the one document by
``district.api.openapi.paths`` (imported there at call time: this module uses its helpers)."""

from __future__ import annotations

from typing import Any

from district.api.openapi import (
    API,
    BODY_400,
    BODY_413,
    BODY_415,
    COUNTY,
    JSON,
    PERIOD_QUERY,
    XLSX,
    _bureau,
    error_response,
    json_response,
    query_param,
    ref,
    text_pattern,
)
from district.exports.schemas import REPORTS_EXPORT
from district.exports.services import HAZARD_STATUSES, SEARCH_MAX_LENGTH, SEARCH_MAX_RESULTS

Schema = dict[str, Any]
CSV = "text/csv"
BINARY = {"type": "string", "format": "binary"}
_STR: Schema = {"type": "string"}
_NSTR: Schema = {"type": ["string", "null"]}
_INT: Schema = {"type": "integer"}

#: the school lists' filters (issue 17 item 6, ``district.registry.listing``): an export keeps its page's
LIST_FILTERS = [
    query_param(
        "township", {"type": "string", "maxLength": 100}, "only this township's schools (its name)", example="庄里镇"
    ),
    query_param(
        "type", {"type": "string", "maxLength": 30}, "only schools of this type (school_type enum)", example="primary"
    ),
]

XLSX_RULE = (
    "`format=xlsx`: the same rows as the JSON in one sheet (Chinese titles, header frozen, autofilter, "
    "landscape fit to width, header repeated when printed; codes and ids on a second sheet 审计信息)."
)


def _school_hit() -> Schema:
    return {
        "type": "object",
        "required": ["code", "name", "county_code", "township", "type"],
        "properties": {"code": _STR, "name": _STR, "county_code": _STR, "township": _STR, "type": _STR},
    }


def _hazard() -> Schema:
    props: Schema = {
        k: _STR
        for k in (
            "school_code",
            "name",
            "township",
            "ref",
            "period",
            "found_on",
            "category",
            "severity",
            "description",
            "deadline",
        )
    }
    props |= {"rectified_on": _NSTR, "open": {"type": "boolean"}, "days_overdue": {"type": "integer", "minimum": 0}}
    return {"type": "object", "required": sorted(props), "properties": props}


def _period_report() -> Schema:
    props: Schema = {k: _STR for k in ("school_code", "name", "township", "report_id", "content_sha256")}
    props |= {
        "revision": _INT,
        "revisions": _INT,
        "on_time": {"type": "boolean"},
        "content": {"type": "object", "description": "the revision's content as stored (a `Report`)"},
    }
    return {"type": "object", "required": sorted(props), "properties": props}


def schemas() -> dict[str, Schema]:
    return {
        "SchoolSearch": {
            "type": "object",
            "required": ["q", "schools"],
            "properties": {
                "q": _STR,
                "schools": {"type": "array", "maxItems": SEARCH_MAX_RESULTS, "items": _school_hit()},
            },
        },
        "HazardLedger": {
            "type": "object",
            "required": ["county_code", "status", "as_of", "hazards"],
            "properties": {
                "county_code": _STR,
                "status": {"type": "string", "enum": list(HAZARD_STATUSES)},
                "as_of": {"type": "string", "format": "date"},
                "hazards": {"type": "array", "items": _hazard()},
            },
        },
        "PeriodReports": {
            "type": "object",
            "required": ["county_code", "period", "fields", "reports"],
            "properties": {
                "county_code": _STR,
                "period": _STR,
                "standard": {
                    "type": "string",
                    "description": "the newest report standard among the month's reports; `fields` are its "
                    "fields (a @1 report has none of @2's: not reported)",
                },
                "standards": {"type": "array", "items": _STR, "description": "the standards of the month's reports"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "label", "unit", "title"],
                        "properties": {"path": _STR, "label": _STR, "unit": _STR, "title": _STR},
                    },
                },
                "reports": {"type": "array", "items": _period_report()},
            },
        },
    }


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def paths() -> dict[str, Schema]:
    return {
        f"{API}/schools": {
            "get": _bureau(
                "Find schools in the caller's scope",
                f"Schools whose code or name contains `q` (trimmed), by code, at most {SEARCH_MAX_RESULTS}: "
                "`code, name, county_code, township, type`. A school_viewer finds only its own school.",
                {
                    "200": {"description": "The matches.", "content": {JSON: {"schema": _ref("SchoolSearch")}}},
                    "400": error_response(
                        400,
                        f"`q` missing, longer than {SEARCH_MAX_LENGTH} characters, without a "
                        "visible character or with a control character (`invalid_query`).",
                    ),
                },
                operationId="searchSchools",
                parameters=[
                    query_param(
                        "q",
                        {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": SEARCH_MAX_LENGTH,
                            "pattern": text_pattern(visible=True),
                        },
                        "part of a school's name or code",
                        required=True,
                        example="庄里",
                    )
                ],
            )
        },
        f"{API}/counties/{{county}}/hazards": {
            "get": _bureau(
                "A county's hazard ledger (隐患台账)",
                "The latest state of each hazard on the hub's today: `status=open` (default: not rectified), "
                "`overdue` (open and past its deadline) or `all`; overdue first (most days first), then open, then "
                "by school and ref. " + XLSX_RULE,
                {
                    "200": {
                        "description": "The ledger.",
                        "content": {JSON: {"schema": _ref("HazardLedger")}, XLSX: {"schema": BINARY}},
                    },
                    "400": error_response(400, "Bad `status` (`invalid_status`) or `format` (`invalid_format`)."),
                    "404": error_response(404),
                },
                operationId="getHazards",
                parameters=[
                    COUNTY,
                    query_param(
                        "status",
                        {"type": "string", "enum": list(HAZARD_STATUSES), "default": "open"},
                        "which entries",
                        example="all",
                    ),
                    query_param(
                        "format", {"type": "string", "enum": ["json", "xlsx"], "default": "json"}, "the representation"
                    ),
                    *LIST_FILTERS,
                ],
            )
        },
        f"{API}/counties/{{county}}/reports": {
            "get": _bureau(
                "Every effective report of a county's period",
                "One entry per school that reported (its newest accepted revision), by township then school code, "
                "with the full content; `fields` lists every field of the standard a row shows with its Chinese "
                "title. `format=xlsx` or `csv`: one row per school, school and township first, then every field under "
                "its Chinese title (enums and yes/no in words; a totals row in the xlsx for counts, money and "
                "quantities); report ids and hashes on the xlsx's 审计信息 sheet. Default period: the latest closed "
                "one.",
                {
                    "200": {
                        "description": "The reports.",
                        "content": {
                            JSON: {"schema": _ref("PeriodReports")},
                            XLSX: {"schema": BINARY},
                            CSV: {"schema": BINARY},
                        },
                    },
                    "400": error_response(
                        400,
                        "Bad `period` (`invalid_period`, also a month after the current one) or "
                        "`format` (`invalid_format`).",
                    ),
                    "404": error_response(404),
                },
                operationId="getPeriodReports",
                parameters=[
                    COUNTY,
                    query_param("period", PERIOD_QUERY, "YYYY-MM", example="2026-09"),
                    query_param(
                        "format",
                        {"type": "string", "enum": ["json", "xlsx", "csv"], "default": "json"},
                        "the representation",
                    ),
                ],
            )
        },
        f"{API}/counties/{{county}}/reports/export": {
            "post": _bureau(
                "Ask for a period's reports export as a job (xlsx or csv)",
                "The file `GET …/reports?period=&format=` sends, made beside the hub as a job (`kind` `export`, one "
                "part) for a large county: returns at once with the job; the file is listed in the caller's jobs "
                "(`GET /api/v1/jobs`, the download centre) and served by `GET /api/v1/jobs/{job_id}/files/{name}`. "
                "The GET stays synchronous for API clients. Body `{period, format}`, both optional (the latest "
                "closed period, xlsx). Same scope and rows as the GET (a township_admin: its township's schools); "
                "the same per-user job limit as the PDFs. Check order: 401 → 415 → 422 (body) → 404 (scope) → "
                "400 (format, period) → 429 (limit).",
                {
                    "202": json_response(
                        "The job was accepted.",
                        ref("Job"),
                        {"Location": {"description": "the job's URL", "schema": {"type": "string"}}},
                    ),
                    "400": error_response(
                        400, "Bad `format` (`invalid_format`) or `period` (`invalid_period`), or " + BODY_400
                    ),
                    "404": error_response(404),
                    "413": error_response(413, BODY_413),
                    "415": error_response(415, BODY_415),
                    "422": error_response(422, "Invalid request (`validation_failed`)."),
                    "429": error_response(
                        429,
                        "The caller already has `HOUQIN_PDF_JOBS_PER_USER` (default 3) jobs queued or running "
                        "(`too_many_jobs`); ask again after `Retry-After` seconds.",
                    ),
                },
                operationId="requestPeriodReportsExport",
                parameters=[COUNTY],
                requestBody=REPORTS_EXPORT.request_body(
                    required=False, example={"period": "2026-10", "format": "xlsx"}
                ),
            )
        },
    }


def with_xlsx(operation: Schema) -> Schema:
    """An existing JSON read (rankings, completeness) given ``format=json|xlsx`` and the xlsx answer."""
    op = operation["get"]
    op["description"] += " " + XLSX_RULE
    op["responses"]["200"]["content"][XLSX] = {"schema": BINARY}
    op["responses"]["400"]["description"] += " Bad `format` (`invalid_format`)."
    op["parameters"].append(
        query_param("format", {"type": "string", "enum": ["json", "xlsx"], "default": "json"}, "the representation")
    )
    return operation
