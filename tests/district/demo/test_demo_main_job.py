"""The main job end to end (README command 1) on the embedded default and on PostgreSQL + Redis with real
gunicorn, Celery workers per queue and beat: the files it leaves are read back and checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from district.reports.models import ReportHead, ReportRevision

ROOT = Path(__file__).resolve().parents[3]


def run_demo(instance: Path, env: dict[str, str]) -> dict[str, object]:
    timings = instance.parent / f"{instance.name}-timings.json"
    res = subprocess.run([sys.executable, "-m", "district", "demo", "--schools", "12", "--no-serve",
                          "--pdf-counties", "1", "--instance", str(instance), "--timings", str(timings)],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "仪表盘 / dashboard" in res.stdout and "admin / houqin-demo-2026" in res.stdout
    assert "correction refused" in res.stdout
    return {"stdout": res.stdout, "timings": json.loads(timings.read_text())}


def check_outputs(instance: Path, database_url: str, result: dict[str, object]) -> None:
    reports = instance / "reports"
    xlsx = sorted(reports.glob("610528_富平县_营养餐资金报表_*.xlsx"))
    assert xlsx, list(reports.iterdir())
    wb = load_workbook(xlsx[0], read_only=True)
    assert {"汇总", "学校明细", "异常清单"} <= set(wb.sheetnames)
    wb.close()
    pdf = sorted(reports.glob("610528_富平县_营养餐资金报表_*.pdf"))[0]
    text_out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
    assert "富平县" in text_out
    assert sorted(reports.glob("610528_*_评估报告.zip"))
    engine = create_engine(database_url)
    with Session(engine) as s:
        heads = s.scalar(select(func.count()).select_from(ReportHead))
        revisions = s.scalar(select(func.count()).select_from(ReportRevision))
        assert heads and revisions and revisions > heads  # corrections made new revisions
        on_time = s.scalar(select(func.count()).select_from(ReportHead).where(ReportHead.on_time.is_(True)))
        assert 0 < on_time <= heads
    engine.dispose()
    seconds = result["timings"]["seconds"]  # type: ignore[index]
    assert set(seconds) == {"setup", "hub", "ingest", "rank", "fund", "pdf"}


@pytest.mark.slow
def test_main_job_on_the_embedded_default(tmp_path: Path) -> None:
    instance = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUQIN_")}
    result = run_demo(instance, env)
    assert result["timings"]["stack"] == "embedded"  # type: ignore[index]
    check_outputs(instance, f"sqlite:///{instance / 'houqin.db'}", result)


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
def test_main_job_on_postgres_and_redis(tmp_path: Path) -> None:
    base = os.environ.get("HOUQIN_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("HOUQIN_TEST_POSTGRES_URL is not set (scripts/test.sh sets it for the PostgreSQL pass)")
    name = f"houqin_demo_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/12").flushdb()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOUQIN_")}
        env.update(HOUQIN_DATABASE_URL=url, HOUQIN_BROKER_URL="redis://127.0.0.1:6379/12")
        instance = tmp_path / "demo-pg"
        result = run_demo(instance, env)
        assert result["timings"]["stack"] == "production"  # type: ignore[index]
        assert "gunicorn ×2 + celery default/pdf + beat" in str(result["stdout"])
        check_outputs(instance, url, result)
        worker_log = (instance / "logs" / "worker.log").read_text(errors="replace")
        pdf_log = (instance / "logs" / "worker-pdf.log").read_text(errors="replace")
        assert "workers.tasks.scoring.recompute_county" in worker_log
        assert "workers.tasks.pdf.render_part" in pdf_log and "succeeded" in pdf_log
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
