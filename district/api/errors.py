"""Kept for the callers that still import it from here: the module is ``district.web.errors`` (docs/ARCHITECTURE.md,
the layers). New code imports it from there."""

from district.web.errors import (
    ApiError,
    error_response,
    lang,
    period_param,
    register_error_handlers,
    wants_english,
)

__all__ = [
    "ApiError",
    "error_response",
    "lang",
    "period_param",
    "register_error_handlers",
    "wants_english",
]
