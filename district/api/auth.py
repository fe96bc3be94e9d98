"""Kept for the callers that still import it from here: the module is ``district.web.auth`` (docs/ARCHITECTURE.md,
the layers). New code imports it from there."""

from district.web.auth import (
    F,
    bureau_required,
    config,
    current_user,
    not_found,
    require_county,
    require_county_admin,
    require_school,
)

__all__ = [
    "F",
    "bureau_required",
    "config",
    "current_user",
    "not_found",
    "require_county",
    "require_county_admin",
    "require_school",
]
