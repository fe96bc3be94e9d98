"""The PDF pool's forkserver starts when a hub process begins to serve (issue 17 measure): a real ``houqin serve``
(one threaded process, and gunicorn with two workers) has, before any job was asked, a forkserver child per
serving process that preloads the app and WeasyPrint; a hub with a broker starts none."""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from district.app import create_app
from tests.livehub import LiveHub
from workers import background

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _forkservers(pid: int) -> list[int]:
    """The forkserver processes among ``pid``'s direct children."""
    return [c for c in _children(pid) if "multiprocessing.forkserver" in _cmdline(c)]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveHub]:
    hub = LiveHub(tmp_path)
    try:
        yield hub.prepare()
    finally:
        hub.close()


def _wait_for(check: object, timeout_s: float = 60) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()  # type: ignore[operator]
        if found:
            return found
        time.sleep(0.2)
    return check()  # type: ignore[operator]


def test_one_threaded_hub_process_starts_its_forkserver_before_any_job(live: LiveHub) -> None:
    live.start(serve_workers=1)
    assert live.proc is not None
    servers = _wait_for(lambda: _forkservers(live.proc.pid))
    assert servers and len(servers) == 1, _children(live.proc.pid)  # type: ignore[arg-type]
    command = _cmdline(servers[0])  # type: ignore[index]
    assert "workers.pdf_preload" in command and "district.app" in command  # the preload the pool's processes use
    with urllib.request.urlopen(live.url + "/api/v1/hub-keys", timeout=10) as resp:  # and it serves
        assert resp.status == 200


def test_every_gunicorn_worker_starts_its_own_forkserver(live: LiveHub) -> None:
    live.start(serve_workers=2)
    assert live.proc is not None

    def each_worker_has_one() -> list[int] | None:
        workers = [w for w in _children(live.proc.pid) if "multiprocessing" not in _cmdline(w)]  # type: ignore[union-attr]
        if len(workers) != 2:
            return None
        found = [_forkservers(w) for w in workers]
        return [s[0] for s in found] if all(len(s) == 1 for s in found) else None

    servers = _wait_for(each_worker_has_one)
    assert servers and len(set(servers)) == 2, {w: _children(w) for w in _children(live.proc.pid)}  # type: ignore[arg-type]


def test_a_hub_with_a_broker_starts_no_forkserver(tmp_path: Path) -> None:
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path}/hub.db", "INSTANCE_PATH": str(tmp_path), "BROKER_URL": "redis://x"}
    )
    before = set(_forkservers(os.getpid()))
    assert background.start_forkserver(app) is None
    time.sleep(0.5)
    assert set(_forkservers(os.getpid())) == before


def test_a_job_a_stopping_hub_process_cannot_finish_says_the_hub_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the forkserver warm, a hub stopped mid-job can reach the pool after its exit hook ran; the pool then
    refuses work ("cannot schedule new futures after shutdown") and the job says what the next start would."""
    import concurrent.futures.process as futures_process

    from district.rendering import jobs

    refused = RuntimeError("cannot schedule new futures after shutdown")
    assert background._why(refused) == "RuntimeError: cannot schedule new futures after shutdown"
    monkeypatch.setattr(futures_process, "_global_shutdown", True)
    assert background._why(refused) == jobs.INTERRUPTED and "the hub stopped" in jobs.INTERRUPTED
