"""Request body of an on-site inspection (``POST /api/v1/schools/<code>/inspections``).

The schema refuses what is not an object and every unknown key; each field's value (its type, the date, the
score's range and precision, the checklist and the findings) is checked by
``scoring.inspections.validate_inspection``, which the dashboard's inspection form goes through as well, so those
rules stay there, once, and are stated here for the document only (:class:`~district.web.schemas.Raw`)."""

from __future__ import annotations

from typing import Any

from district.web.schemas import DATE_PATTERN, JSONSchema, Raw, Schema
from houqin_standard.fields import ENUM_LABELS
from houqin_standard.text import text_pattern

_BY = "district.scoring.inspections.validate_inspection"


def finding_schema(*, ref_: bool) -> JSONSchema:
    """A finding of an inspection as asked (``ref_=False``) and as recorded (with its ledger ``ref``)."""
    props: dict[str, Any] = {
        "category": {"type": "string", "enum": list(ENUM_LABELS["hazard_category"])},
        "severity": {"type": "string", "enum": list(ENUM_LABELS["severity"])},
        "description": {
            "type": "string",
            "minLength": 1,
            "maxLength": 500,
            "pattern": text_pattern(multiline=True, visible=True),
        },
        "deadline": {"type": "string", "format": "date", "pattern": DATE_PATTERN},
    }
    if ref_:
        props = {"ref": {"type": "string", "pattern": "^DC-[0-9]+-[0-9]+$"}, **props}
    return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}


INSPECTION = Schema(
    {
        "date": Raw({"type": "string", "format": "date", "pattern": DATE_PATTERN}, checked_by=_BY),
        "score": Raw(
            {
                "type": "number",
                "minimum": 0,
                "maximum": 5,
                "description": "0–5 with at most one decimal (4.5); more decimals are 422",
            },
            checked_by=_BY,
        ),
        "inspector": Raw({"type": "string", "minLength": 1, "pattern": text_pattern(visible=True)}, checked_by=_BY),
        "notes": Raw(
            {
                "type": ["string", "null"],
                "pattern": text_pattern(multiline=True),
                "description": "null or absent: no notes",
            },
            checked_by=_BY,
        ),
        "items": Raw(
            {
                "type": "array",
                "minItems": 1,
                "maxItems": 60,
                "description": "the checklist (SCORING.md 督查): the score is then 5 × passed / (passed + "
                "failed), half up to one decimal; `score` beside `items` is 422; codes: the "
                "rubric's indicator codes and the county checklist CK1–CK5",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["code", "result"],
                    "properties": {
                        "code": {"type": "string", "minLength": 1, "maxLength": 20},
                        "result": {"type": "string", "enum": ["pass", "fail", "not_applicable"]},
                        "note": {"type": ["string", "null"], "maxLength": 500, "pattern": text_pattern(multiline=True)},
                    },
                },
            },
            checked_by=_BY,
        ),
        "findings": Raw(
            {
                "type": "array",
                "minItems": 1,
                "maxItems": 30,
                "description": "problems found: each becomes the school's hazard-ledger entry "
                "`DC-<inspection id>-<n>`, found on the visit's date; a deadline before "
                "the visit is 422",
                "items": finding_schema(ref_=False),
            },
            checked_by=_BY,
        ),
    },
    what=("督查记录", "the inspection"),
    # required by validate_inspection (its codes): stated for the document
    rule={"required": ["date", "inspector"]},
    description="An on-site inspection by the bureau (indicator B2): `score`, or `items` to make it from.",
)
