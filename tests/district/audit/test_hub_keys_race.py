"""The hub's signing key made on first use: gunicorn workers that start at once make exactly one key."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from district.audit.keys import HubKeys


def _load(directory: str, start: object, out: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    out.put(HubKeys.load(Path(directory)).current_id)  # type: ignore[attr-defined]


def test_workers_starting_together_make_one_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_load, args=(str(tmp_path / "keys"), start, out)) for _ in range(6)]
    for p in procs:
        p.start()
    start.set()
    ids = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(set(ids)) == 1
    assert [k.stem for k in (tmp_path / "keys").glob("*.key")] == ids[:1]
    assert not list((tmp_path / "keys").glob("*.tmp"))
