"""Per-school request limits for the agent API (429 with Retry-After).

Fixed one-minute windows. With a broker configured the counters live in Redis, so every gunicorn worker
shares them; on the embedded default they live in the process.
"""

from __future__ import annotations

import threading
from typing import Any

from district import clock


class RateLimiter:
    def __init__(self, per_minute: int, redis_url: str | None = None) -> None:
        self.per_minute = per_minute
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}
        self._redis: Any = None
        if redis_url and redis_url.startswith("redis"):
            import redis

            self._redis = redis.Redis.from_url(redis_url)

    def hit(self, key: str, now: float | None = None) -> int | None:
        """Count one request; return None when allowed, else the seconds to wait."""
        now = clock.now().timestamp() if now is None else now
        window = int(now // 60)
        retry_after = 60 - int(now % 60)
        if self._redis is not None:
            rkey = f"houqin:rl:{key}:{window}"
            pipe = self._redis.pipeline()
            pipe.incr(rkey)
            pipe.expire(rkey, 120)
            count = int(pipe.execute()[0])
        else:
            with self._lock:
                count = self._counts.get((key, window), 0) + 1
                self._counts[(key, window)] = count
                if len(self._counts) > 10000:
                    self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
        return retry_after if count > self.per_minute else None


#: query arguments that ask for a window of one's own (a ranking computed for it unless it is the default one)
WINDOW_ARGS = ("from", "to", "year", "school_year")


def computing_read_limit(user_key: str, args: Any) -> int | None:
    """A per-user limit on reads that compute (issue 16): a ranking over a window of the user's choosing is
    computed when no stored or recent one fits, so at most ``COMPUTING_READS_PER_MINUTE`` such reads a minute
    per user (the default window is stored and shared, and does not count). Returns the seconds to wait, or
    ``None`` when allowed (or when the request names no window)."""
    from flask import current_app

    if not any(args.get(name) for name in WINDOW_ARGS):
        return None
    per_minute = int(current_app.config.get("COMPUTING_READS_PER_MINUTE") or 0)
    if per_minute <= 0:
        return None
    ext = current_app.extensions
    limiter = ext.get("houqin_computing_reads")
    if limiter is None:
        limiter = ext["houqin_computing_reads"] = RateLimiter(per_minute, current_app.config.get("BROKER_URL"))
    return limiter.hit(f"compute:{user_key}")
