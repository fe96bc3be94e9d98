"""Smoke run of the ingest benchmark (bench/ingest/run.py --quick) on the PostgreSQL server of the test run.

It checks that the benchmark still works end to end (schema, schools, credentials, both gunicorn servers,
signed pushes, the table); it asserts nothing about the figures, which depend on the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_ingest_bench_quick_prints_the_table() -> None:
    url = os.environ.get("HOUQIN_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("HOUQIN_TEST_POSTGRES_URL is not set: the ingest benchmark needs PostgreSQL")
    env = {**os.environ, "HOUQIN_BENCH_POSTGRES_URL": url}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ingest" / "run.py"), "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "reports/s" in out and "p50 ms" in out and "p99 ms" in out, out
    rows = [line for line in out.splitlines() if line.startswith(("bare:", "hub:"))]
    assert len(rows) == 2, out
    # ... errors, then the CPU ms per report of the clients, the server and PostgreSQL
    assert all(line.split()[-4] == "0" for line in rows), out  # no failed request
    assert all(float(v) > 0 for line in rows for v in line.split()[-3:]), out
    assert "ratio hub/bare throughput:" in out, out
