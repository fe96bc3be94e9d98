"""The hash chains (docs/AUDIT.md): one per school over its accepted revisions, one per county over the
administrative audit entries. Pure functions: the same code writes and verifies a link.

Revision link:
    chain_hash = SHA-256( prev_chain_hash ‖ content_sha256 ‖ report_id ‖ period ‖ revision ‖ received_at )
with ``‖`` a newline, ``revision`` in decimal, ``received_at`` as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; the first
revision of a school links to ``genesis(school_code)``.

Audit link:
    entry_hash = SHA-256( prev_hash ‖ at ‖ actor ‖ action ‖ county_code ‖ school_code ‖ canonical JSON of details )
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

GENESIS_PREFIX = "houqin/chain-genesis@1:"
CHAINED_ACTIONS = ("period.", "credential.", "inspection.", "rubric.", "review.")


def genesis(key: str) -> str:
    """The fixed first link of a school's (or a county's) chain."""
    return hashlib.sha256((GENESIS_PREFIX + key).encode("utf-8")).hexdigest()


def utc_stamp(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def revision_link(
    prev: str, content_sha256: str, report_id: str, period: str, revision: int, received_at: dt.datetime
) -> str:
    parts = [prev, content_sha256, report_id, period, str(revision), utc_stamp(received_at)]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def audit_link(
    prev: str,
    at: dt.datetime,
    actor: str,
    action: str,
    county_code: str | None,
    school_code: str | None,
    details: dict[str, Any],
) -> str:
    body = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    parts = [prev, utc_stamp(at), actor, action, county_code or "", school_code or "", body]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def is_chained(action: str) -> bool:
    return action.startswith(CHAINED_ACTIONS)
