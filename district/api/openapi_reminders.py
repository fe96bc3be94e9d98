"""The OpenAPI operations and schemas of the reminders (issue 18): 一键催报, the delivery log and the settings'
``channels`` as shown (as set: ``district.api.schemas_settings``); merged into the one document by
``district.api.openapi.build`` (imported there at call time)."""

from __future__ import annotations

from typing import Any

from district.api.openapi import API, COUNTY, _bureau, error_response, json_response, query_param, ref
from district.reminders.models import CHANNELS, KINDS, STATUSES

Schema = dict[str, Any]


def channels_schema() -> Schema:
    """``channels`` as the settings API shows it: webhook tokens and the DingTalk secret masked (``…`` and their
    last 4 characters)."""
    return {
        "type": "object",
        "description": "Reminder channels: e-mail to school contacts, 企业微信/钉钉 group robots, a pause switch.",
        "required": ["email", "paused", "wecom", "dingtalk"],
        "properties": {
            "email": {"type": "boolean"},
            "paused": {"type": "boolean", "description": "true: nothing is sent (daily job and 一键催报)"},
            "wecom": {"type": ["object", "null"], "properties": {"url": {"type": "string"}}},
            "dingtalk": {"type": ["object", "null"], "properties": {"url": {"type": "string"},
                                                                    "secret": {"type": ["string", "null"]}}},
        },
    }  # fmt: skip


def schemas() -> dict[str, Schema]:
    count = {"type": "integer", "minimum": 0}
    return {
        "ReminderChannels": channels_schema(),
        "RemindersSent": {
            "type": "object",
            "required": ["sent", "failed", "queued", "skipped", "paused", "reminders"],
            "properties": {
                "sent": {**count, "description": "delivered by the time of the answer"},
                "failed": {**count, "description": "failed (logged; retried with backoff)"},
                "queued": {**count, "description": "not settled when the answer was due (see the log)"},
                "skipped": {**count, "description": "already sent today (one reminder of a kind a day)"},
                "paused": {"type": "boolean", "description": "the county paused its channels: nothing sent"},
                "reminders": {**count, "description": "reminders due today in the caller's scope"},
            },
        },
        "ReminderLog": {
            "type": "object",
            "required": ["county_code", "log"],
            "properties": {
                "county_code": {"type": "string"},
                "log": {"type": "array", "items": {
                    "type": "object",
                    "required": ["school_code", "channel", "to", "kind", "at", "status", "error", "attempt"],
                    "properties": {
                        "delivery_id": {"type": "integer"},
                        "school_code": {"type": ["string", "null"], "description": "null: a county digest"},
                        "school_name": {"type": ["string", "null"]},
                        "township": {"type": ["string", "null"]},
                        "channel": {"type": "string", "enum": list(CHANNELS)},
                        "to": {"type": "string", "description": "an e-mail address, or the robot (never its URL)"},
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "day": {"type": "string", "format": "date"},
                        "at": {"type": "string", "format": "date-time"},
                        "status": {"type": "string", "enum": list(STATUSES)},
                        "attempt": {"type": "integer", "minimum": 0},
                        "error": {"type": ["string", "null"]},
                        "subject": {"type": "string"},
                        "trigger": {"type": "string", "enum": ["daily", "manual", "cli"]},
                    },
                }},
            },
        },
    }  # fmt: skip


def paths() -> dict[str, Schema]:
    return {
        f"{API}/counties/{{county}}/reminders": {"post": _bureau(
            "一键催报: send today's reminders now (county_admin; township_admin for its township)",
            "Reserves today's reminders (schools that have not reported the latest closed period, hazards past "
            "their deadline, returned reports not yet corrected) as deliveries — one e-mail per school contact and "
            "kind, one digest per group robot — commits, and hands them to the senders (Celery with a broker; a "
            "background thread of the hub otherwise). It answers the counts after at most "
            "`HOUQIN_REMINDER_WAIT_SECONDS`; what is not settled by then is `queued` (the log shows the end). A "
            "delivery already sent today is skipped; one that failed today is tried again. No body.",
            {"200": json_response("The counts.", ref("RemindersSent")),
             "403": error_response(403, "A role that does not send reminders (`forbidden`)."),
             "404": error_response(404)},
            operationId="sendCountyReminders",
            parameters=[COUNTY],
        )},
        f"{API}/counties/{{county}}/reminders/log": {"get": _bureau(
            "Every reminder delivery attempt of a county, newest first",
            "One row per attempt (a delivery not yet tried shows once as `queued`); a township_admin sees its "
            "township's.",
            {"200": json_response("The log.", ref("ReminderLog")),
             "400": error_response(400, "`limit` is not 1–1000 (`invalid_limit`)."),
             "404": error_response(404)},
            operationId="getCountyReminderLog",
            parameters=[COUNTY, query_param("limit", {"type": "string", "pattern": "^[0-9]+$"},
                                            "rows, 1–1000 (default 200)", example="200")],
        )},
    }  # fmt: skip
