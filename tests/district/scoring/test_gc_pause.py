"""Scoring on PostgreSQL pauses Python's cyclic garbage collector (the fast score loader's ``computing``, through
``district.scoring.gcpause.paused``) and always gives it back as it found it; the portable loader leaves it
alone."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

from district.scoring.gcpause import paused
from district.scoring.loader import PostgresScoreLoader, SqlScoreLoader, loader_for


def test_nested_pauses_restore_the_collector_once_and_only_if_it_was_on() -> None:
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause is still on
    assert gc.isenabled()
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_an_error_inside_still_restores_it_and_threads_share_one_pause() -> None:
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("scoring failed")
    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with paused():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(10)
    with paused():
        pass
    assert not gc.isenabled()  # the other thread's pause still holds
    release.set()
    t.join(10)
    assert gc.isenabled()


def test_what_a_pause_leaves_alive_joins_the_oldest_generation_and_cycles_are_still_collected() -> None:
    import weakref

    class Node:
        pass

    with paused():
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


class _Session:
    """What ``computing`` asks of a session: the statements it runs in the county's transaction."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, stmt: Any) -> None:
        self.statements.append(str(stmt))


def test_the_postgresql_loader_scores_a_county_with_the_collector_paused_and_no_parallel_plans() -> None:
    session = _Session()
    with PostgresScoreLoader().computing(session):  # type: ignore[arg-type]
        assert not gc.isenabled()
        with PostgresScoreLoader().computing(session):  # type: ignore[arg-type]  # a read inside a recompute
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    assert session.statements == ["SET LOCAL max_parallel_workers_per_gather = 0"] * 2
    with pytest.raises(RuntimeError), PostgresScoreLoader().computing(session):  # type: ignore[arg-type]
        raise RuntimeError("scoring failed")
    assert gc.isenabled()


def test_the_portable_loader_leaves_the_collector_alone(engine: Any) -> None:
    session = _Session()
    with SqlScoreLoader().computing(session):  # type: ignore[arg-type]
        assert gc.isenabled()
    assert session.statements == []
    # the backend is the database's, one per dialect and process
    assert loader_for(engine) is loader_for(engine)
    expected = PostgresScoreLoader if engine.dialect.name == "postgresql" else SqlScoreLoader
    assert type(loader_for(engine)) is expected
