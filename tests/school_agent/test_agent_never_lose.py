"""Never lose a report: real hub, real processes, real kills.

The agent is killed with SIGKILL at every stage of submit and of sync (``HOUQIN_AGENT_CRASH_AT`` makes it kill
itself at a precise point; one test also kills it from outside at a random moment); the hub is stopped
mid-request; the connection is dropped after the hub committed but before the agent read the answer; the hub is
down for the whole submit and started later. Each case ends, once the hub is reachable, with exactly one
revision on the hub for the report and the outbox showing it sent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from school_agent.client import HubClient
from school_agent.crash import ENV as CRASH_ENV
from school_agent.crash import POINTS
from school_agent.lock import FileLock
from school_agent.outbox import Outbox, OutboxItem
from school_agent.template import build_template
from tests.school_agent.hubproc import (
    ROOT,
    SCHOOL,
    Hub,
    agent_env,
    example_report,
    fill_template,
    run_agent,
    setup_agent,
    write_json,
)
from tests.school_agent.proxy import DropProxy

pytestmark = pytest.mark.slow

KILLED = -signal.SIGKILL
FAST = ("--backoff-base", "0.2", "--max-attempts", "2")


def items(home: Path) -> list[OutboxItem]:
    path = home / "outbox.sqlite3"
    if not path.exists():
        return []
    with Outbox(path) as ob:
        return ob.items()


def filled_template(tmp_path: Path, period: str) -> Path:
    path = tmp_path / f"后勤月报_{period}.xlsx"
    build_template(path, school_code=SCHOOL, period=period)
    return fill_template(path, example_report(period))


def assert_delivered_once(hub: Hub, home: Path, period: str) -> OutboxItem:
    """Exactly one revision on the hub for the period's report, and the outbox shows it sent with its receipt."""
    (item,) = [i for i in items(home) if i.period == period]
    assert item.state == "sent", (item.state, item.last_error)
    assert hub.revisions_for(period) == [(item.report_id, 1)]
    assert hub.revisions_of(item.report_id) == 1
    cred = json.loads(hub.credential_file().read_text())
    resp = HubClient(hub.url, SCHOOL, cred["secret"]).receipt(item.report_id)  # GET /api/v1/reports/<id>
    assert resp.status == 200, resp.body
    assert resp.json["revision"] == 1 and resp.json["content_sha256"] == item.content_sha256
    assert item.receipt is not None and item.receipt["report_id"] == item.report_id
    return item


# ------------------------------------------------------------------------------------------ kill -9 of submit


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_at_each_stage_of_submit_then_sync(
    point: str, tmp_path: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    home = tmp_path / "agent"
    setup_agent(home, shared_hub)
    period = next_period()
    path = filled_template(tmp_path, period)
    r = run_agent(home, "submit", str(path), env={CRASH_ENV: point})
    assert r.returncode == KILLED, r.stdout + r.stderr
    queued = items(home)
    if point == "before_outbox_commit":
        # nothing was accepted (no "已保存" was printed): the clerk submits the same file again
        assert queued == [] and "已保存到发件箱" not in r.stdout
        assert shared_hub.revisions_for(period) == []
        r = run_agent(home, "submit", str(path))
    else:
        assert len(queued) == 1
        assert ("已保存到发件箱" in r.stdout) is (point != "after_outbox_commit")  # said only once it is durable
        assert queued[0].state == ("sent" if point == "after_mark" else "pending")
        r = run_agent(home, "sync")
    assert r.returncode == 0, r.stdout + r.stderr
    item = assert_delivered_once(shared_hub, home, period)
    if point == "after_response_before_mark":
        assert item.http_status == 200  # the hub had it: the re-send got the original receipt back


@pytest.mark.parametrize("point", ["after_outbox_commit", "after_request_sent", "after_response_before_mark"])
def test_kill_9_during_submit_then_the_clerk_submits_the_same_file_again(
    point: str, tmp_path: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    home = tmp_path / "agent"
    setup_agent(home, shared_hub)
    period = next_period()
    path = filled_template(tmp_path, period)
    assert run_agent(home, "submit", str(path), env={CRASH_ENV: point}).returncode == KILLED
    r = run_agent(home, "submit", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "已在发件箱中" in r.stdout  # recognised: the outbox's report_id is reused, no second report
    assert len(items(home)) == 1
    assert_delivered_once(shared_hub, home, period)


# ------------------------------------------------------------------------------------------ kill -9 of sync


@pytest.mark.parametrize("point", ["before_request", "after_request_sent", "after_response_before_mark", "after_mark"])
def test_kill_9_at_each_stage_of_sync(
    point: str, tmp_path: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    home = tmp_path / "agent"
    setup_agent(home, shared_hub)
    periods = [next_period() for _ in range(3)]
    for p in periods:
        r = run_agent(home, "submit", "--no-push", str(write_json(tmp_path / f"{p}.json", example_report(p))))
        assert r.returncode == 0, r.stderr
    r = run_agent(home, "sync", env={CRASH_ENV: f"{point}:2"})  # dies on the second report
    assert r.returncode == KILLED
    states = [i.state for i in items(home)]
    assert states == ["sent", "sent" if point == "after_mark" else "pending", "pending"]
    r = run_agent(home, "sync")
    assert r.returncode == 0, r.stdout + r.stderr
    for p in periods:
        assert_delivered_once(shared_hub, home, p)


def test_kill_9_from_outside_in_the_middle_of_a_long_sync(
    tmp_path: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    home = tmp_path / "agent"
    setup_agent(home, shared_hub)
    periods = [next_period() for _ in range(12)]
    with Outbox(home / "outbox.sqlite3") as ob:
        for p in periods:
            ob.add(example_report(p))
    proc = subprocess.Popen(
        [sys.executable, "-m", "school_agent", "sync"],
        cwd=ROOT,
        env=agent_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(i.state == "sent" for i in items(home)) < 3:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        assert proc.wait(timeout=30) in (KILLED, 0)
    assert sum(i.state == "sent" for i in items(home)) < len(periods)
    r = run_agent(home, "sync")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "进度" in r.stdout  # more than a few pending: progress is shown
    for p in periods:
        assert_delivered_once(shared_hub, home, p)


# ------------------------------------------------------------------------------------------ the hub's side


def test_hub_down_for_the_whole_submit_and_started_later(
    tmp_path: Path, hub_factory: Callable[..., Hub], next_period: Callable[[], str]
) -> None:
    hub = hub_factory()  # not started: nothing listens on its port
    home = tmp_path / "agent"
    setup_agent(home, hub)
    period = next_period()
    r = run_agent(home, "submit", str(filled_template(tmp_path, period)), *FAST)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "暂时未能送达" in r.stdout and "连接被拒绝" in r.stdout and "不会丢失" in r.stdout
    (item,) = items(home)
    assert item.state == "pending" and item.attempts == 2
    r = run_agent(home, "sync", *FAST)
    assert r.returncode == 3 and item.report_id == items(home)[0].report_id  # still down: still pending
    hub.start()
    r = run_agent(home, "sync")
    assert r.returncode == 0, r.stdout + r.stderr
    assert_delivered_once(hub, home, period)


def test_hub_stopped_mid_request(
    tmp_path: Path, hub_factory: Callable[..., Hub], next_period: Callable[[], str]
) -> None:
    hub = hub_factory().start()
    home = tmp_path / "agent"
    setup_agent(home, hub)
    period = next_period()
    path = filled_template(tmp_path, period)
    hub.pause()  # SIGSTOP: the kernel still takes the connection and the request, the hub never answers
    proc = subprocess.Popen(
        [sys.executable, "-m", "school_agent", "submit", str(path), *FAST, "--timeout", "60"],
        cwd=ROOT,
        env=agent_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(i.attempts for i in items(home)):
            time.sleep(0.05)
        time.sleep(0.5)  # the request is on its way / in the hub's socket
        assert proc.poll() is None  # the agent is waiting for the answer
        hub.kill()  # the hub dies with the request in hand
        out, errs = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, out + errs
    assert "暂时未能送达" in out
    (item,) = items(home)
    assert item.state == "pending"
    hub.start()  # same database, same port
    r = run_agent(home, "sync")
    assert r.returncode == 0, r.stdout + r.stderr
    assert_delivered_once(hub, home, period)


def test_connection_dropped_after_the_hub_committed(
    tmp_path: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    proxy = DropProxy(shared_hub.port, drop=1)
    try:
        home = tmp_path / "agent"
        setup_agent(home, shared_hub)
        cfg = json.loads((home / "config.json").read_text())
        cfg["hub_url"] = proxy.url
        (home / "config.json").write_text(json.dumps(cfg))
        period = next_period()
        r = run_agent(home, "submit", str(filled_template(tmp_path, period)))
        assert r.returncode == 0, r.stdout + r.stderr
        assert proxy.dropped == 1 and proxy.relayed == 1
        assert "连接中断" in r.stdout  # the first try's fate was shown, then retried
        item = assert_delivered_once(shared_hub, home, period)
        assert item.attempts == 2 and item.http_status == 200  # the hub knew it: same receipt, no revision 2
    finally:
        proxy.close()


def test_every_answer_lost_during_submit_then_sync_later(
    tmp_path: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    proxy = DropProxy(shared_hub.port, drop=1000)
    try:
        home = tmp_path / "agent"
        setup_agent(home, shared_hub)
        cfg = json.loads((home / "config.json").read_text())
        cfg["hub_url"] = proxy.url
        (home / "config.json").write_text(json.dumps(cfg))
        period = next_period()
        r = run_agent(home, "submit", str(filled_template(tmp_path, period)), *FAST)
        assert r.returncode == 3, r.stdout + r.stderr
        (item,) = items(home)
        assert item.state == "pending"
        assert shared_hub.revisions_for(period) == [(item.report_id, 1)]  # committed, but the agent cannot know
        proxy.drop = 0
        r = run_agent(home, "sync")
        assert r.returncode == 0, r.stdout + r.stderr
        assert assert_delivered_once(shared_hub, home, period).http_status == 200
    finally:
        proxy.close()


# ------------------------------------------------------------------------------------------ two syncs at once


def test_two_syncs_at_once_send_each_report_once(
    tmp_path: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    home = tmp_path / "agent"
    setup_agent(home, shared_hub)
    periods = [next_period() for _ in range(8)]
    with Outbox(home / "outbox.sqlite3") as ob:
        for p in periods:
            ob.add(example_report(p))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "school_agent", "sync"],
            cwd=ROOT,
            env=agent_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sum(i.attempts for i in items(home)) == len(periods)  # one POST per report, not two
    for p in periods:
        assert_delivered_once(shared_hub, home, p)


def test_the_sync_lock_is_exclusive_and_dies_with_its_holder(tmp_path: Path) -> None:
    lock_path = tmp_path / "sync.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from school_agent.lock import FileLock; "
            "lock = FileLock(Path(sys.argv[1])); assert lock.acquire(); print('held', flush=True); time.sleep(60)",
            str(lock_path),
        ],
        cwd=ROOT,
        env=agent_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        lock = FileLock(lock_path)
        assert not lock.acquire(timeout=0.3)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        assert lock.acquire(timeout=5)  # the kernel released it: no stale lock after kill -9
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
