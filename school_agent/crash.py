"""Test hook: ``HOUQIN_AGENT_CRASH_AT=point[:n]`` makes the agent kill itself (like ``kill -9``) at a point.

The never-lose tests use it to stop the agent at a precise stage of submit and sync. The points, in order:
``before_outbox_commit``, ``after_outbox_commit``, ``before_request`` (the attempt is recorded, nothing sent),
``after_request_sent`` (the hub has the whole request, no answer read), ``after_response_before_mark``
(the receipt was read, the outbox not yet updated), ``after_mark``. ``point:2`` dies the second time the
point is reached (the second report of a sync). Unset in normal use: then this is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "HOUQIN_AGENT_CRASH_AT"
POINTS = (
    "before_outbox_commit",
    "after_outbox_commit",
    "before_request",
    "after_request_sent",
    "after_response_before_mark",
    "after_mark",
)
_seen: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] != (int(nth) if nth.isdigit() else 1):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    if hasattr(signal, "SIGKILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(137)  # Windows: no SIGKILL; _exit skips every cleanup just the same
