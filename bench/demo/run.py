"""bench/demo: the main job with --schools N on the embedded default and on PostgreSQL + Redis, stage by stage,
in the same run.

    python3 bench/demo/run.py --schools 400

Needs this machine's PostgreSQL (127.0.0.1:5432, trust) and Redis (127.0.0.1:6379); creates and drops its own
database and uses Redis db 13.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["setup", "hub", "ingest", "rank", "fund", "pdf"]


def run(instance: Path, env: dict[str, str], schools: int, pdf_counties: int | None) -> dict[str, float]:
    timings = instance.parent / f"{instance.name}.json"
    args = [
        sys.executable,
        "-m",
        "district",
        "demo",
        "--schools",
        str(schools),
        "--no-serve",
        "--instance",
        str(instance),
        "--timings",
        str(timings),
    ]
    if pdf_counties is not None:
        args += ["--pdf-counties", str(pdf_counties)]
    started = time.perf_counter()
    subprocess.run(args, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    seconds = json.loads(timings.read_text())["seconds"]
    seconds["total"] = time.perf_counter() - started
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schools", type=int, default=400)
    ap.add_argument("--pdf-counties", type=int, default=4, help="evaluation PDFs for N counties (4: the whole city)")
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    opts = ap.parse_args()
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = {k: v for k, v in os.environ.items() if not k.startswith("HOUQIN_")}
    name = f"houqin_bench_demo_{uuid.uuid4().hex[:6]}"
    admin = create_engine(opts.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/13").flushdb()
        with tempfile.TemporaryDirectory() as tmp:
            embedded = run(Path(tmp) / "embedded", base, opts.schools, opts.pdf_counties)
            prod_env = {
                **base,
                "HOUQIN_DATABASE_URL": make_url(opts.postgres).set(database=name).render_as_string(hide_password=False),
                "HOUQIN_BROKER_URL": "redis://127.0.0.1:6379/13",
            }
            production = run(Path(tmp) / "production", prod_env, opts.schools, opts.pdf_counties)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"bench/demo: the main job with --schools {opts.schools} (machine: {os.cpu_count()} cores)")
    print(f"{'stage':<8} {'embedded (SQLite, in-process tasks)':>36} {'PostgreSQL + Redis + workers':>30} {'ratio':>7}")
    for stage in [*STAGES, "total"]:
        e, p = embedded[stage], production[stage]
        print(f"{stage:<8} {e:>34.1f} s {p:>28.1f} s {p / e if e else float('nan'):>7.2f}")


if __name__ == "__main__":
    main()
