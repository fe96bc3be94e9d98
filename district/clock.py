"""The hub's one clock. Nothing else in the hub reads the machine's date or time of day.

``now()`` is, in order of precedence:

1. a fixed instant set by ``set_now`` / ``frozen`` (tests; ``HOUQIN_NOW`` for a process started by a test);
2. the real time shifted by the demo clock (``HOUQIN_DEMO_CLOCK_FILE``: a file holding the seconds the hub
   runs ahead or behind; ``houqin demo`` replays a school year in minutes by moving it);
3. the real time, UTC.

Stored times are UTC; ``today()`` is the date in Asia/Shanghai, the date every reporting rule speaks of.
Deliberately stdlib and Flask only, so that ``district.db`` and every model can import it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from houqin_standard import SHANGHAI

__all__ = ["frozen", "now", "parse_instant", "set_now", "today"]

_fixed: dt.datetime | None = None
_ticking_since: float | None = None  # time.monotonic() when a ticking clock was set


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 instant; one without an offset is read in Asia/Shanghai."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(dt.UTC)


def _from_environment() -> dt.datetime | None:
    text = os.environ.get("HOUQIN_NOW")
    return parse_instant(text) if text else None


def set_now(at: dt.datetime | None, *, ticking: bool = False) -> None:
    """Set the hub's clock to ``at`` (aware): fixed there, or (``ticking``) running on from there as real time
    passes; ``None`` gives it back to the real time."""
    global _fixed, _ticking_since
    if at is not None and at.tzinfo is None:
        raise ValueError("the hub's clock takes an aware datetime")
    _fixed = None if at is None else at.astimezone(dt.UTC)
    _ticking_since = time.monotonic() if (at is not None and ticking) else None


@contextmanager
def frozen(at: dt.datetime, *, ticking: bool = False) -> Iterator[dt.datetime]:
    """``with frozen(t):`` the hub's clock reads ``t`` (or runs on from it); the previous clock is restored."""
    global _fixed, _ticking_since
    saved = _fixed, _ticking_since
    set_now(at, ticking=ticking)
    try:
        yield at.astimezone(dt.UTC)
    finally:
        _fixed, _ticking_since = saved


def _demo_clock_file() -> str | None:
    try:
        from flask import current_app

        return current_app.config.get("DEMO_CLOCK_FILE") or None
    except RuntimeError:  # outside an app context (pure functions) the demo clock does not apply
        return None


def now() -> dt.datetime:
    """The hub's clock: an aware UTC datetime."""
    if _fixed is not None:
        if _ticking_since is None:
            return _fixed
        return _fixed + dt.timedelta(seconds=time.monotonic() - _ticking_since)
    env = _from_environment()
    if env is not None:
        return env
    real = dt.datetime.now(dt.UTC)
    path = _demo_clock_file()
    if path is None:
        return real
    try:
        offset = float(Path(path).read_text().strip() or 0)
    except (OSError, ValueError):
        return real
    return real + dt.timedelta(seconds=offset)


def today() -> dt.date:
    """Today's date in Asia/Shanghai by the hub's clock."""
    return now().astimezone(SHANGHAI).date()
