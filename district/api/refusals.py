"""Refused agent requests that no valid signature vouches for (bad or missing signature, replay, stale timestamp,
unknown school, a body over the limit): what they may cost the hub.

- **A limit per source**, in memory, checked before anything is read or written: once a source has been refused
  ``per_minute`` times in the current minute, its further requests are answered 429 with ``Retry-After`` at once.
  A source is the client's address (as resolved with ``HOUQIN_PROXY_HOPS``) and, separately, the school code it
  claims; either one over the limit refuses the request.
- **An aggregated log**: the first refusal of each (minute, address, claimed school, status, code) in this process
  writes its ``rejections`` row (and ``report.rejected`` audit entry) with ``count`` 1 at once; the others of that
  minute are only counted, and their number is written as one more row (``count`` = n - 1) by the first
  refusal this process handles after the minute has passed. A flood so writes at most two rows per key and minute.

Counters live in the process (each gunicorn worker has its own): a flood spread over W workers is refused after
at most W × ``per_minute`` requests a minute, and the rows are per worker. A count still held when a process
exits is lost; its key's first row was written.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from district import clock


@dataclass(frozen=True)
class RefusalKey:
    minute: int
    remote_addr: str | None
    school_code: str | None
    status: int
    code: str


@dataclass
class _Tally:
    count: int = 0
    last_at: float = 0.0


@dataclass
class Pending:
    """Rows to write now: ``count`` refusals of ``key``, the last at ``at`` (unix seconds)."""

    key: RefusalKey
    count: int
    at: float


@dataclass
class RefusalGuard:
    per_minute: int
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _by_source: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, value) -> refusals this minute
    _source_minute: int = -1
    _tallies: dict[RefusalKey, _Tally] = field(default_factory=dict)

    def _roll(self, minute: int) -> None:
        if minute != self._source_minute:
            self._by_source.clear()
            self._source_minute = minute

    @staticmethod
    def _sources(remote_addr: str | None, school_code: str | None) -> list[tuple[str, str]]:
        out = [("addr", remote_addr or "-")]
        if school_code:
            out.append(("school", school_code[:16]))
        return out

    def blocked(self, remote_addr: str | None, school_code: str | None, now: float | None = None) -> int | None:
        """None when the request may be looked at; else the seconds until its source's limit resets."""
        now = clock.now().timestamp() if now is None else now
        minute = int(now // 60)
        with self._lock:
            self._roll(minute)
            if any(self._by_source.get(s, 0) >= self.per_minute for s in self._sources(remote_addr, school_code)):
                return 60 - int(now % 60)
        return None

    def refused(
        self,
        remote_addr: str | None,
        claimed_school: str | None,
        status: int,
        code: str,
        *,
        school_code: str | None,
        counts_against_source: bool = True,
        now: float | None = None,
    ) -> list[Pending]:
        """Count one refusal of a request from ``remote_addr`` claiming ``claimed_school`` (its header), logged
        under ``school_code`` (the refusal's, None when the school is unknown); returns the rows to write now:
        this key's first of the minute, and the remainder of every key whose minute has passed."""
        now = clock.now().timestamp() if now is None else now
        minute = int(now // 60)
        key = RefusalKey(minute, remote_addr, school_code[:10] if school_code else None, status, code)
        out: list[Pending] = []
        with self._lock:
            self._roll(minute)
            if counts_against_source:
                for source in self._sources(remote_addr, claimed_school):
                    self._by_source[source] = self._by_source.get(source, 0) + 1
            for old in [k for k in self._tallies if k.minute < minute]:
                stale = self._tallies.pop(old)
                if stale.count > 1:
                    out.append(Pending(old, stale.count - 1, stale.last_at))
            tally = self._tallies.get(key)
            if tally is None:
                tally = self._tallies[key] = _Tally()
                out.append(Pending(key, 1, now))
            tally.count += 1
            tally.last_at = now
        return out
