"""The OpenAPI operations of the 重大预警 (issue 17 item 2), merged into the one document by
``district.api.openapi.build`` (imported there at call time: this module uses its helpers)."""

from __future__ import annotations

from typing import Any

from district.alerts.services import KINDS
from district.api.openapi import (
    API,
    COUNTY,
    COUNTY_CODE_PATTERN,
    PERIOD_QUERY,
    SCHOOL_CODE_PATTERN,
    _bureau,
    error_response,
    json_response,
    path_param,
    query_param,
    ref,
)

Schema = dict[str, Any]

PERIOD = query_param(
    "period", PERIOD_QUERY, "YYYY-MM, up to the current month; default: the county's latest closed period",
    example="2026-10",
)  # fmt: skip


PERIOD_CITY = query_param(
    "period", PERIOD_QUERY, "YYYY-MM, up to the current month; default: the latest period closed in every county",
    example="2026-10",
)  # fmt: skip


def schemas() -> dict[str, Schema]:
    return {
        "CityCounty": _city_county(),
        "CityOverview": {
            "type": "object",
            "required": ["city_code", "name", "period", "counties"],
            "properties": {
                "city_code": {"type": "string"},
                "name": {"type": "string"},
                "period": {"type": "string", "pattern": PERIOD_QUERY["pattern"]},
                "counties": {"type": "array", "items": ref("CityCounty")},
            },
        },
        "Alert": {
            "type": "object",
            "description": "One thing a director must see (API.md: veto, overdue major hazard, misuse).",
            "required": ["kind", "school_code", "name", "period", "message", "figures"],
            "properties": {
                "kind": {"type": "string", "enum": list(KINDS)},
                "school_code": {"type": "string", "pattern": SCHOOL_CODE_PATTERN},
                "name": {"type": "string"},
                "period": {
                    "type": "string",
                    "pattern": PERIOD_QUERY["pattern"],
                    "description": "veto: the month the count was reported for; else the period asked",
                },
                "message": {"type": "string", "description": "one plain Chinese sentence"},
                "figures": {"type": "object", "description": "the figures the finding rests on"},
                "cause": {
                    "type": "string",
                    "description": "veto only: poisoning_incidents, major_accidents or "
                    "improper_fee_cases (or a county rubric's veto field)",
                },
            },
        },
        "Alerts": {
            "type": "object",
            "required": ["county_code", "period", "alerts"],
            "properties": {
                "county_code": {"type": "string"},
                "period": {"type": "string", "pattern": PERIOD_QUERY["pattern"]},
                "alerts": {"type": "array", "items": ref("Alert")},
            },
        },
    }


def _city_county() -> Schema:
    count = {"type": "integer", "minimum": 0}
    rate = {"type": ["string", "null"], "description": "4 places; null when nobody is expected"}
    return {
        "type": "object",
        "required": [
            "county_code",
            "name",
            "expected",
            "reported",
            "on_time",
            "completeness",
            "timeliness",
            "veto_schools",
            "overdue_major_hazards",
            "fund_anomalies",
            "campaign",
        ],
        "properties": {
            "county_code": {"type": "string"},
            "name": {"type": "string"},
            "expected": count,
            "reported": count,
            "on_time": count,
            "completeness": rate,
            "timeliness": rate,
            "veto_schools": {**count, "description": "vetoed over the year to date of the period"},
            "overdue_major_hazards": {**count, "description": "open and past the deadline on the period's last day"},
            "fund_anomalies": {**count, "description": "fund anomalies of the period"},
            "campaign": {
                "type": ["object", "null"],
                "description": "the year to date of the period, as the ranking shows it; null when no month of "
                "that year can be counted yet",
                "required": ["compliant", "active", "progress", "target"],
                "properties": {
                    "compliant": count,
                    "active": count,
                    "progress": rate,
                    "target": {"type": ["string", "null"]},
                },
            },
        },
    }


def paths() -> dict[str, Schema]:
    return {
        f"{API}/cities/{{city}}/overview": {"get": _bureau(
            "A city's counties side by side for a period",
            "Per county (those of the city the caller may see: a city_admin all, a county's own users their "
            "county): completeness and timeliness of `period`, schools vetoed over its year to date, overdue "
            "major hazards, fund anomalies of `period`, campaign progress of the year to date. Default period: "
            "the latest period closed in every county shown.",
            {"200": json_response("The city overview.", ref("CityOverview")),
             "400": error_response(400, "`period` is not YYYY-MM or is after the current month "
                                        "(`invalid_period`)."),
             "404": error_response(404, "No such city, or none of it in the caller's scope (`not_found`).")},
            operationId="getCityOverview",
            parameters=[path_param("city", COUNTY_CODE_PATTERN, "city code (市级行政区划代码, 6 digits)", "610500"),
                        PERIOD_CITY],
        )},
        f"{API}/counties/{{county}}/alerts": {"get": _bureau(
            "A county's 重大预警 for a period, most serious first",
            "`veto` (a school vetoed over the year to date of `period`, one alert per cause and month it was "
            "reported for), `overdue_major_hazard` (open and past its deadline on the period's last day, the "
            "ledger as it stood at the period), `misuse` (a `MISUSE` fund anomaly of the period).",
            {"200": json_response("The alerts.", ref("Alerts")),
             "400": error_response(400, "`period` is not YYYY-MM or is after the current month "
                                        "(`invalid_period`)."),
             "404": error_response(404)},
            operationId="getCountyAlerts",
            parameters=[COUNTY, PERIOD],
        )},
    }  # fmt: skip
