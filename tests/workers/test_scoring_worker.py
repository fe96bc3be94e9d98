"""Integration: a real ``celery -A workers.worker worker`` on the real Redis keeps the rankings current.

The hub runs as ``python3 -m district serve`` on a loopback port and the worker as a process of its own, both on
one database (a temp SQLite file, or a fresh PostgreSQL database when HOUQIN_TEST_POSTGRES_URL is set) and on
Redis db 5 (flushed first). Reports arrive through the signed API; the ranking snapshot changes with no manual
call. Then the worker is killed (SIGKILL, its whole process group) in the middle of a recompute made slow by the
test-only hook HOUQIN_TEST_SLOW_RECOMPUTE; a new worker gets the unacknowledged task back once the (shortened)
visibility timeout has passed (acks_late), and the final ranking equals a fresh computation.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from houqin_standard import signed_headers
from tests.school_agent.hubproc import Hub, example_report, free_port
from tests.scratch_db import throwaway_postgres
from tests.workers.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/5"
COUNTY = "610528"
SCHOOLS = ("6105280001", "6105280002", "6105280003")
SLOW = 5  # seconds each recompute sleeps (test hook)
VISIBILITY = 8  # seconds before Redis hands an unacknowledged task to another worker
SCHOOLS_CSV = (
    "code,name,county_code,township,type,boarding\n"
    "6105280001,庄里镇中心小学,610528,庄里镇,primary,true\n"
    "6105280002,庄里镇初级中学,610528,庄里镇,junior,true\n"
    "6105280003,城关第一小学,610528,城关街道,primary,true\n"
)
PREPARE = """
import sys
from tests.scratch_db import throwaway_postgres
from district.cli import Context, main
ctx = Context()
for args in sys.argv[1:]:
    main(args.split("\\t"), standalone_mode=False, obj=ctx)
"""


@pytest.fixture()
def database(tmp_path: Path) -> Iterator[str]:
    base = os.environ.get("HOUQIN_TEST_POSTGRES_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    with throwaway_postgres(base, "houqin_worker") as url:
        yield url


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    "celery",
                    "-A",
                    "workers.worker",
                    "worker",
                    "-Q",
                    "default",
                    "-c",
                    "1",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"scoring-test-{uuid.uuid4().hex[:6]}@%h",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for("the worker to be ready", lambda: "ready." in self.log.read_text(errors="replace"), 60)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no cleanup, no ack, no requeue."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def _post(hub: Hub, school: str, secret: str, report: dict[str, Any]) -> int:
    body = json.dumps(report, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", **signed_headers(school, secret, "POST", "/api/v1/reports", body)}
    req = urllib.request.Request(f"{hub.url}/api/v1/reports", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return int(resp.status)


def _snapshots(engine: Engine) -> list[tuple[int, int, str]]:
    from district.scoring.models import RankingSnapshot

    with Session(engine) as s:
        return [
            tuple(r)
            for r in s.execute(  # type: ignore[misc]
                select(RankingSnapshot.id, RankingSnapshot.max_revision_id, RankingSnapshot.trigger).order_by(
                    RankingSnapshot.id
                )
            )
        ]


def _max_revision(engine: Engine) -> int:
    from district.reports.models import ReportHead

    with Session(engine) as s:
        return int(s.scalar(select(func.max(ReportHead.revision_id))) or 0)


def _results(engine: Engine, snapshot_id: int) -> list[dict[str, Any]]:
    from district.scoring.models import RankingSnapshot

    with Session(engine) as s:
        snap = s.get(RankingSnapshot, snapshot_id)
        assert snap is not None
        return list(snap.results)


def _fresh(engine: Engine, period_from: str, period_to: str) -> list[dict[str, Any]]:
    """What the one engine says now, from the same database (computed here, not stored)."""
    from district.scoring import ranking
    from district.scoring.engine import Window
    from district.scoring.models import RankingSnapshot

    with Session(engine) as s:
        snap = ranking.compute_ranking(s, COUNTY, Window(period_from, period_to), trigger="test")
        assert isinstance(snap, RankingSnapshot)
        results = list(snap.results)
        s.rollback()
    return results


def test_worker_keeps_the_ranking_current_and_survives_a_kill(tmp_path: Path, redis_db: Any, database: str) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    extra = {
        "HOUQIN_DATABASE_URL": database,
        "HOUQIN_BROKER_URL": REDIS_URL,
        "HOUQIN_RANKING_DEBOUNCE_SECONDS": "1",
        "HOUQIN_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY),
    }
    hub = Hub(instance, port=free_port(), **extra)
    # the registry and the credentials, with the hub's own commands (one process)
    (instance / "schools.csv").write_text(SCHOOLS_CSV, encoding="utf-8")
    commands = ["db\tupgrade", f"schools\timport\t{instance / 'schools.csv'}"]
    commands += [f"schools\tcredential\t{code}\t-o\t{instance / f'cred-{code}.json'}" for code in SCHOOLS]
    subprocess.run(
        [sys.executable, "-c", PREPARE, *commands], cwd=ROOT, env=hub.env, check=True, capture_output=True, timeout=180
    )
    secrets = {c: json.loads((instance / f"cred-{c}.json").read_text())["secret"] for c in SCHOOLS}
    engine = create_engine(database)
    worker = Worker({**hub.env, "HOUQIN_TEST_SLOW_RECOMPUTE": str(SLOW)}, tmp_path / "worker.log")
    hub.start()
    try:
        worker.start()
        # 1. reports arrive through the signed API: the worker recomputes the county with no manual call
        for period in ("2026-09", "2026-10"):
            for code in SCHOOLS:
                assert _post(hub, code, secrets[code], example_report(period, code)) == 201
        target = _max_revision(engine)
        first = wait_for("the first ranking", lambda: [s for s in _snapshots(engine) if s[1] == target], 60)[-1]
        assert first[2] == "debounced"
        assert len(_snapshots(engine)) == 1  # six reports within the debounce interval: one recompute
        results = _results(engine, first[0])
        assert [r["school_code"] for r in results if r["score"] is not None]
        window = _window(engine, first[0])
        assert results == _fresh(engine, *window)

        # 2. a correction arrives; the worker is killed in the middle of the recompute it causes
        corrected = example_report("2026-10", "6105280002")
        corrected["campus"]["toilets"] = "noncompliant"
        assert _post(hub, "6105280002", secrets["6105280002"], corrected) == 201
        key = f"houqin:rank:pending:{COUNTY}"
        assert redis_db.exists(key)
        wait_for("the recompute to start", lambda: not redis_db.exists(key), 30)  # the task clears it first
        time.sleep(1)
        worker.kill()
        time.sleep(SLOW)
        assert len(_snapshots(engine)) == 1  # the killed run stored nothing

        # 3. a new worker gets the unacknowledged task back and the ranking is right
        worker.start()
        target = _max_revision(engine)
        latest = wait_for(
            "the recomputed ranking",
            lambda: [s for s in _snapshots(engine) if s[1] == target],
            VISIBILITY + 10 + 3 * SLOW + 30,
        )[-1]
        assert latest[0] != first[0]
        after = _results(engine, latest[0])
        assert after == _fresh(engine, *window)
        before = {r["school_code"]: r["score"] for r in results}
        now = {r["school_code"]: r["score"] for r in after}
        assert now["6105280002"] != before["6105280002"]
        assert _results(engine, first[0]) == results  # the earlier snapshot is kept as it was
        # the same task (one id) was received by the killed worker and again by the new one: redelivered
        received = re.findall(r"recompute_county\[([0-9a-f-]+)\] received", worker.log.read_text(errors="replace"))
        assert len(received) == 3 and received[1] == received[2], received
    finally:
        worker.stop()
        hub.stop()
        engine.dispose()


def _window(engine: Engine, snapshot_id: int) -> tuple[str, str]:
    from district.scoring.models import RankingSnapshot

    with Session(engine) as s:
        snap = s.get(RankingSnapshot, snapshot_id)
        assert snap is not None
        return snap.period_from, snap.period_to
