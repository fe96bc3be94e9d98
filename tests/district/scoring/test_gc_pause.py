"""Scoring pauses Python's cyclic garbage collector and always gives it back as it found it."""

from __future__ import annotations

import gc
import threading

import pytest

from district.scoring.services import _gc_paused


def test_nested_pauses_restore_the_collector_once_and_only_if_it_was_on() -> None:
    assert gc.isenabled()
    with _gc_paused():
        assert not gc.isenabled()
        with _gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause is still on
    assert gc.isenabled()
    gc.disable()
    try:
        with _gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_an_error_inside_still_restores_it_and_threads_share_one_pause() -> None:
    with pytest.raises(RuntimeError), _gc_paused():
        raise RuntimeError("scoring failed")
    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with _gc_paused():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(10)
    with _gc_paused():
        pass
    assert not gc.isenabled()  # the other thread's pause still holds
    release.set()
    t.join(10)
    assert gc.isenabled()


def test_what_a_pause_leaves_alive_joins_the_oldest_generation_and_cycles_are_still_collected() -> None:
    import weakref

    class Node:
        pass

    with _gc_paused():
        kept = [[i] for i in range(1000)]  # survivors: a county's new cache entries
        cycle = Node()
        cycle.self = cycle  # type: ignore[attr-defined]
        gone = weakref.ref(cycle)
        del cycle  # garbage only the collector can free
    assert gc.isenabled() and gc.get_freeze_count() == 0
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert id(kept) in oldest and all(id(d) in oldest for d in kept[:10])
    gc.collect()
    assert gone() is None  # a full collection frees it as usual
