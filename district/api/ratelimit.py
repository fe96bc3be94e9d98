"""Kept for the callers that still import it from here: the module is ``district.ratelimit`` (docs/ARCHITECTURE.md,
the layers). New code imports it from there."""

from district.ratelimit import (
    WINDOW_ARGS,
    RateLimiter,
    computing_read_limit,
)

__all__ = [
    "WINDOW_ARGS",
    "RateLimiter",
    "computing_read_limit",
]
