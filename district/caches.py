"""The hub's one cache module: every per-process cache is a named :class:`Cache` made here (or a pure function
memoised by :func:`memoize`), bounded, thread-safe, keyed by values (never ``id()``: an object's id is reused
once it is freed, so a key made of it can serve another object's value), counted, and emptied together.

Nothing here decides a figure: a cache keeps what a service returned while it cannot have changed, under a key
that names everything the value depends on (a revision id and its content hash, a snapshot's watermarks, a
county's revision watermark). ``clear()`` is never needed for correctness; the tests call it before each test
(rolled-back rows come back under the same ids). ``stats()`` gives each cache's bound, entries, hits and misses.

Each gunicorn worker and each Celery worker process has its own caches.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["Cache", "CacheStats", "cache", "clear", "memoize", "named", "stats"]


@dataclass(frozen=True)
class CacheStats:
    name: str
    size: int  # the bound
    entries: int
    hits: int
    misses: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "entries": self.entries, "hits": self.hits, "misses": self.misses}


_MISSING: Any = object()


class Cache(Generic[T]):
    """A bounded least-recently-used map with hit and miss counts. Keys are values (hashable, compared by
    equality); a value is made outside the lock, so two threads may make the same value once each."""

    def __init__(self, name: str, size: int) -> None:
        if size < 1:
            raise ValueError(f"cache {name}: size must be positive")
        self.name = name
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            found = self._data.get(key, _MISSING)
            if found is _MISSING:
                self.misses += 1
                return default
            self.hits += 1
            self._data.move_to_end(key)
            return found

    def put(self, key: Hashable, value: T) -> T:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        found = self.get(key, _MISSING)
        if found is not _MISSING:
            return found
        return self.put(key, make())

    def get_recent_or_make(self, key: Hashable, mark: Hashable, make: Callable[[], T], max_age: float = 0.0) -> T:
        """The value kept under ``key`` while it was made at watermark ``mark``, or made less than ``max_age``
        seconds ago (the read side's debounce while reports keep arriving); else made again."""
        now = time.monotonic()
        found = self.get(key, _MISSING)
        if found is not _MISSING:
            made_mark, made_at, value = found
            if made_mark == mark or now - made_at < max_age:
                return value
        value = make()
        self.put(key, (mark, now, value))  # type: ignore[arg-type]
        return value

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def stats(self) -> CacheStats:
        return CacheStats(self.name, self.size, len(self._data), self.hits, self.misses)


class _Memoized:
    """A pure function's ``functools.lru_cache``, registered so that ``stats()`` and ``clear()`` see it."""

    def __init__(self, name: str, size: int, fn: Any) -> None:
        self.name, self.size, self.fn = name, size, fn

    def clear(self) -> None:
        self.fn.cache_clear()

    def stats(self) -> CacheStats:
        info = self.fn.cache_info()
        return CacheStats(self.name, self.size, info.currsize, info.hits, info.misses)


_REGISTRY: dict[str, Cache[Any] | _Memoized] = {}
_REGISTRY_LOCK = threading.Lock()


def _register(name: str, entry: Cache[Any] | _Memoized) -> None:
    with _REGISTRY_LOCK:
        if name in _REGISTRY:
            raise ValueError(f"a cache named {name!r} exists already")
        _REGISTRY[name] = entry


def cache(name: str, size: int) -> Cache[Any]:
    """A new named cache, registered (a name is used once: ``module.what``)."""
    made: Cache[Any] = Cache(name, size)
    _register(name, made)
    return made


def memoize(name: str, size: int) -> Callable[[F], F]:
    """``functools.lru_cache(size)`` for a pure function of hashable values, registered under ``name``."""

    def wrap(fn: F) -> F:
        cached = functools.lru_cache(maxsize=size)(fn)
        _register(name, _Memoized(name, size, cached))
        return cached  # type: ignore[return-value]

    return wrap


def named(name: str) -> Cache[Any]:
    """The registered cache ``name`` (``KeyError`` when there is none, or it is a memoised function)."""
    entry = _REGISTRY[name]
    if not isinstance(entry, Cache):
        raise KeyError(name)
    return entry


def clear(*names: str) -> None:
    """Empty the named caches (a name ending in ``.`` names every cache under it: ``"dashboard."``), or all."""
    for name, entry in list(_REGISTRY.items()):
        if not names or any(name == n or (n.endswith(".") and name.startswith(n)) for n in names):
            entry.clear()


def stats() -> list[CacheStats]:
    """Every registered cache's size, entries, hits and misses, by name."""
    return [entry.stats() for _, entry in sorted(_REGISTRY.items())]
