"""The one cache module (district/caches.py): bounded, counted, value-keyed, emptied together."""

from __future__ import annotations

import pytest

from district import caches


def test_a_cache_is_bounded_least_recently_used_and_counted() -> None:
    c = caches.Cache("test.lru", 2)
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        return key.upper()

    assert c.get_or_make("a", lambda: make("a")) == "A"
    assert c.get_or_make("b", lambda: make("b")) == "B"
    assert c.get_or_make("a", lambda: make("a")) == "A"  # a hit: "a" is now the most recently used
    assert c.get_or_make("c", lambda: make("c")) == "C"  # "b" goes
    assert "b" not in c and "a" in c and len(c) == 2
    assert made == ["a", "b", "c"]
    stats = c.stats()
    assert (stats.name, stats.size, stats.entries, stats.hits, stats.misses) == ("test.lru", 2, 2, 1, 3)


def test_keys_are_values_not_identities() -> None:
    c = caches.Cache("test.values", 4)
    c.put((1, "2026-09"), "x")
    assert c.get((1, "2026-" + "09")) == "x"  # an equal key made anew finds it


def test_a_value_made_at_another_watermark_is_made_again_unless_recent() -> None:
    c = caches.Cache("test.recent", 4)
    assert c.get_recent_or_make("k", 1, lambda: "first") == "first"
    assert c.get_recent_or_make("k", 1, lambda: "second") == "first"  # same watermark
    assert c.get_recent_or_make("k", 2, lambda: "third", max_age=3600) == "first"  # moved, but made just now
    assert c.get_recent_or_make("k", 2, lambda: "fourth") == "fourth"  # moved, no debounce


def test_every_cache_is_registered_by_a_unique_name_and_cleared_together() -> None:
    named = caches.cache("test.registered", 3)
    calls: list[int] = []

    @caches.memoize("test.memoized", 8)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    import district.dashboard.cache
    import district.duties.services
    import district.readcache  # noqa: F401 - their caches are registered when the modules load

    named.put("k", 1)
    assert square(3) == 9 and square(3) == 9 and calls == [3]
    by_name = {s.name: s for s in caches.stats()}
    assert by_name["test.registered"].entries == 1
    assert (by_name["test.memoized"].hits, by_name["test.memoized"].misses) == (1, 1)
    assert {"readcache.period_anomalies", "dashboard.ranking_views", "duties.calendar_versions"} <= set(by_name)
    caches.clear("test.")  # every cache under the prefix
    assert len(named) == 0 and square(3) == 9 and calls == [3, 3]
    from district import readcache

    anomalies = caches.named("readcache.period_anomalies")
    named.put("k", 1)
    anomalies.put("k", 1)
    readcache.clear()  # the read side's only (a test's rolled-back rows may come back under the same ids)
    assert len(named) == 1 and len(anomalies) == 0
    with pytest.raises(ValueError, match="exists already"):
        caches.cache("test.registered", 3)
