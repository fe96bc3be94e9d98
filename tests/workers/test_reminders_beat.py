"""Integration: two real ``celery beat`` processes and a real worker on Redis send the daily reminders once.

The test-only hook ``HOUQIN_TEST_REMINDERS_EVERY`` makes the 07:00 job fire every second from each beat, so the
job runs many times, sometimes at once (a worker of concurrency 2); a real SMTP server (aiosmtpd) on a loopback
port receives the mails. Each school contact gets exactly one mail for the day: the periodic lock keeps runs
apart and the delivery's unique reservation keeps later runs from sending again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from district.demo.sinks import SmtpSink
from tests.scratch_db import throwaway_postgres
from tests.workers.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/9"
SCHOOLS_CSV = (
    "code,name,county_code,township,type,boarding,contact_name,contact_phone,contact_email\n"
    "6105280001,庄里镇中心小学,610528,庄里镇,primary,true,王老师,13912345678,zl1@school.example.cn\n"
    "6105280002,庄里镇初级中学,610528,庄里镇,junior,true,李老师,0913-1234567,zl2@school.example.cn\n"
    "6105280003,城关第一小学,610528,城关街道,primary,true,,,\n"
)
PREPARE = """
import sys
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
    with throwaway_postgres(base, "houqin_beat") as url:
        yield url


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_two_beats_and_a_worker_send_each_reminder_once(tmp_path: Path, redis_db: Any, database: str) -> None:
    from district.reminders.models import ReminderAttempt, ReminderDelivery

    sink = SmtpSink().start()
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {
        **os.environ,
        "HOUQIN_INSTANCE_PATH": str(instance),
        "HOUQIN_DATABASE_URL": database,
        "HOUQIN_BROKER_URL": REDIS_URL,
        "HOUQIN_NOW": "2026-11-21T07:00:00+08:00",  # 2026-10 closed on 2026-11-05: 16 days late
        "HOUQIN_SMTP_URL": sink.url,
        "HOUQIN_MAIL_FROM": "houqin@jyj.example.cn",
        "HOUQIN_TEST_REMINDERS_EVERY": "1",
        "PYTHONPATH": str(ROOT),
    }
    (instance / "schools.csv").write_text(SCHOOLS_CSV, encoding="utf-8")
    subprocess.run(
        [sys.executable, "-c", PREPARE, "db\tupgrade", f"schools\timport\t{instance / 'schools.csv'}"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    worker_log = tmp_path / "worker.log"
    procs = [
        _start(["celery", "-A", "workers.worker", "worker", "-Q", "default", "-c", "2", "--loglevel", "INFO",
                "--without-gossip", "--without-mingle", "-n", f"remind-{uuid.uuid4().hex[:6]}@%h"], env, worker_log)
    ]  # fmt: skip
    try:
        wait_for("the worker", lambda: "ready." in worker_log.read_text(errors="replace"), 60)
        for i in (1, 2):
            procs.append(
                _start(["celery", "-A", "workers.worker", "beat", "--loglevel", "INFO",
                        "-s", str(tmp_path / f"beat{i}-schedule"), "--pidfile="], env, tmp_path / f"beat{i}.log")
            )  # fmt: skip

        def runs() -> int:
            return worker_log.read_text(errors="replace").count("workers.tasks.scoring.daily_reminders[")

        wait_for("two mails", lambda: len(sink.mails) >= 2, 90)
        wait_for("the job to run again and again", lambda: runs() >= 16, 60)  # received + succeeded lines
    finally:
        for proc in reversed(procs):
            _stop(proc)
        sink.stop()
    assert sorted(m.to[0] for m in sink.mails) == ["zl1@school.example.cn", "zl2@school.example.cn"]
    mail = next(m for m in sink.mails if m.to == ["zl1@school.example.cn"])
    assert mail.subject == "【610528教育局】庄里镇中心小学：月报未报送提醒"
    assert "2026年10月的月报尚未报送，已逾期 16 天" in mail.body
    engine = create_engine(database)
    with Session(engine) as s:
        rows = s.scalars(select(ReminderDelivery)).all()
        assert sorted((r.school_code, r.kind, r.status, r.attempts) for r in rows) == [
            ("6105280001", "report_missing", "sent", 1), ("6105280002", "report_missing", "sent", 1)
        ]  # fmt: skip
        assert len(s.scalars(select(ReminderAttempt)).all()) == 2
    engine.dispose()
