"""Request body of a county's settings (``PUT /api/v1/counties/<county>/settings``), which sets what four
packages keep: the reporting start (the registry, checked by the reporting calendar), the reminder channels
(``reminders.services.set_channels``), the township order (``registry.services.parse_township_order``) and the
required standard (``reports.standards.parse_requirement``). Those services check each value, for the CLI too,
with their own codes; the schema refuses unknown settings and a reporting start that is not text.

It lives beside the settings' view (``district/api``) because it spans those packages, none of which may import
another's edge. The endpoint answers as it always has (API.md): 400, ``invalid_body`` for a body that is not an
object, ``invalid_field`` naming each unknown setting, paths without the leading ``/`` (``township_order[1]``,
``require_standard.version``)."""

from __future__ import annotations

from collections.abc import Sequence

from district.web.errors import ApiError, lang
from district.web.schemas import Problem, Raw, Schema, String

_URL = {"type": "string", "pattern": "^https?://", "maxLength": 1000}

#: ``channels`` in a settings PUT: keys given replace theirs, a robot ``null`` is removed.
CHANNELS_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "email": {"type": "boolean"},
        "paused": {"type": "boolean"},
        "wecom": {"type": ["object", "null"], "additionalProperties": False, "required": ["url"],
                  "properties": {"url": _URL}},
        "dingtalk": {"type": ["object", "null"], "additionalProperties": False, "required": ["url"],
                     "properties": {"url": _URL, "secret": {"type": "string", "minLength": 1, "maxLength": 200,
                                                            "pattern": "^[^\\n]*$"}}},
    },
}  # fmt: skip

#: A county's ``require_standard`` setting (``district.reports.standards``), as set and as shown.
REQUIRE_STANDARD = {
    "type": ["object", "null"],
    "description": "houqin/monthly-report@<version> required from period `from` on; null: @1 or @2 accepted",
    "properties": {
        "version": {"type": "integer", "enum": [1, 2]},
        "from": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
    },
    "additionalProperties": False,
}

COUNTY_SETTINGS = Schema(
    {
        "reporting_start": String(
            nullable=True,
            rule={"pattern": "^[0-9]{4}-[0-9]{2}$"},  # which months: the reporting calendar's rule
            code="invalid_period",
            expected=("应为 YYYY-MM 或 null", "must be YYYY-MM or null"),
        ),
        "channels": Raw(CHANNELS_REQUEST, checked_by="district.reminders.services.set_channels"),
        "township_order": Raw(
            {"type": ["array", "null"], "items": {"type": "string"}},
            checked_by="district.registry.services.parse_township_order",
        ),
        "require_standard": Raw(REQUIRE_STANDARD, checked_by="district.reports.standards.parse_requirement"),
    },
    not_object="invalid_body",
)


def settings_refusal(problems: Sequence[Problem]) -> ApiError:
    """The settings endpoint's 400 for the schema's ``problems`` (its own format, kept: see above)."""
    language = lang()
    unknown = [p.path.lstrip("/") for p in problems if p.code == "unknown_field"]
    if problems[0].path == "":  # not an object
        return COUNTY_SETTINGS.refusal(problems)
    if unknown:
        return ApiError(
            400,
            "invalid_field",
            f"不支持的设置项：{'、'.join(unknown)[:200]} / unsupported settings",
            [{"path": k, "code": "unsupported", "message": "不支持的设置项"} for k in unknown],
        )
    first = problems[0]
    return ApiError(
        400,
        first.code,
        first.en if language == "en" else first.zh,
        [{**p.detail(language), "path": p.path.lstrip("/")} for p in problems],
    )
