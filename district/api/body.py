"""Kept for the callers that still import it from here: the module is ``district.web.body`` (docs/ARCHITECTURE.md,
the layers). New code imports it from there."""

from district.web.body import (
    BUREAU_BODY_LIMIT,
    MAX_DEPTH,
    MAX_DETAILS,
    BodyError,
    check_content_type,
    parse_json,
    read_json,
)

__all__ = [
    "BUREAU_BODY_LIMIT",
    "MAX_DEPTH",
    "MAX_DETAILS",
    "BodyError",
    "check_content_type",
    "parse_json",
    "read_json",
]
