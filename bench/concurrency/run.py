#!/usr/bin/env python3
"""Concurrency benchmark (issue 15, "Measure"): the hub under mixed use, on the embedded default (SQLite,
``houqin serve`` as the demo runs it) and on PostgreSQL + gunicorn, each for ``--seconds`` (default 60).

For each set-up, on a fresh database (SQLite file; a PostgreSQL database created here and dropped at the end),
schema by the migrations, data as bench/dashboard builds it (one county of ``--schools`` schools, default 300,
with 10 months of reports, bulk-inserted), the hub started as a process of its own on 127.0.0.1, then at once:

- 20 agents (one school each) submit signed reports (``houqin_standard.signed_headers``) of the month after the
  data, each a new revision, pausing ``--agent-pause`` s (default 0.5) between two;
- 5 bureau users (county_admin, personal API tokens) read the overview page, the ranking (a random window
  ``?from=&to=`` within the data), school pages, record on-site inspections and lock/unlock a period;
- one client posts bad signatures as fast as it is answered.

The hub runs behind one trusted proxy hop (``HOUQIN_PROXY_HOPS=1``): every client sends its own address in
``X-Forwarded-For``, as a real proxy would. The per-school request limit is lifted (no agent reaches it); the
refusal limit per source is 60 a minute. Prints, per set-up and kind of request: requests, answers ≥ 500, the
other statuses, p50 and p95 latency (request sent → whole answer read). Exit status 1 if any answer was ≥ 500.
Target: none ≥ 500 on both; the overview's p95 ≤ 1 s on SQLite.

    python3 bench/concurrency/run.py                    # both set-ups, 60 s each
    python3 bench/concurrency/run.py --seconds 20 --only sqlite
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import http.client
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.dashboard.run import COUNTY, PERIODS, TYPE_MIX, percentile, populate  # noqa: E402
from district.db import make_engine  # noqa: E402
from district.migrate import upgrade  # noqa: E402
from houqin_standard import period_add, signed_headers  # noqa: E402
from tests.scratch_db import throwaway_postgres  # noqa: E402

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
AGENTS, USERS = 20, 5
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway user of a throwaway database
NEXT_PERIOD = period_add(PERIODS[-1], 1)  # what the agents report (the month after the data)
LOCKED_PERIOD = PERIODS[-2]  # what the users lock and unlock (no agent reports it: no 409 by design)
KINDS = ("agent: POST report", "forger: bad signature", "overview page", "ranking (random window)", "school page",
         "inspection", "lock / unlock")  # fmt: skip


def postgres_server() -> str:
    return os.environ.get("HOUQIN_BENCH_POSTGRES_URL") or os.environ.get("HOUQIN_TEST_POSTGRES_URL") or POSTGRES_SERVER


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="houqin-bench-concurrency-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    with throwaway_postgres(postgres_server(), "houqin_bench_concurrency") as url:
        yield url


def prepare(url: str, instance: str, schools: int, seed: int) -> tuple[dict[str, str], list[str], dict[str, Any]]:
    """Schema, data, the agents' credentials and the users' tokens."""
    engine = make_engine(url)
    upgrade(engine)
    counts = populate(engine, schools, seed)
    engine.dispose()

    from district.app import create_app
    from district.auth.services import create_token, create_user
    from district.db import db
    from district.registry.crypto import SecretBox
    from district.registry.services import issue_credential

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance})
    with app.app_context():
        box = SecretBox(app.config["SERVER_KEY_FILE"])
        with db.transaction() as s:
            secrets = {f"{COUNTY}{i + 1:04d}": "" for i in range(AGENTS)}
            for code in secrets:
                secrets[code] = issue_credential(s, box, code)
            tokens = []
            for i in range(USERS):
                user = create_user(s, f"bench{i}", PASSWORD, "county_admin", scope=COUNTY)
                tokens.append(create_token(s, user, "bench"))
        db.session.remove()
        assert db.engine is not None
        db.engine.dispose()
    return secrets, tokens, counts


@contextmanager
def hub(kind: str, url: str, instance: str, workers: int) -> Iterator[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "HOUQIN_INSTANCE_PATH": instance, "HOUQIN_DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           "HOUQIN_PROXY_HOPS": "1", "HOUQIN_RATE_LIMIT_PER_MINUTE": "100000",
           "HOUQIN_REFUSED_PER_MINUTE": "60", "HOUQIN_PUBLIC_URL": f"http://127.0.0.1:{port}/"}  # fmt: skip
    env.pop("HOUQIN_BROKER_URL", None)
    if kind == "sqlite":
        cmd = [sys.executable, "-m", "district", "serve", "--host", "127.0.0.1", "--port", str(port)]
    else:
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "120",
               "district.wsgi:app"]  # fmt: skip
    log = Path(instance) / "hub.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/hub-keys", timeout=2):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the hub did not start: {log.read_text(errors='replace')[-2000:]}") from None
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[str, list[tuple[int, float]]] = collections.defaultdict(list)

    def call(self, port: int, kind: str, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            status = 599  # no answer at all counts as a server failure
        finally:
            conn.close()
        with self.lock:
            self.rows[kind].append((status, time.perf_counter() - started))
        return status


def load(port: int, secrets: dict[str, str], tokens: list[str], seconds: float, pause: float, seed: int,
         schools: int) -> Recorder:  # fmt: skip
    from district.demo.generate import SchoolProfile, monthly_report

    rec = Recorder()
    stop = time.monotonic() + seconds

    def agent(i: int, code: str) -> None:
        stype = TYPE_MIX[(int(code[-4:]) - 1) % len(TYPE_MIX)]
        profile = SchoolProfile.make(code, stype, stype in ("junior", "nine_year"), seed)
        report = monthly_report(profile, NEXT_PERIOD)
        while time.monotonic() < stop:
            report["report_id"] = str(uuid.uuid4())
            body = json.dumps(report, ensure_ascii=False).encode("utf-8")
            headers = signed_headers(code, secrets[code], "POST", "/api/v1/reports", body)
            headers.update({"Content-Type": "application/json", "X-Forwarded-For": f"10.1.0.{i + 1}"})
            rec.call(port, KINDS[0], "POST", "/api/v1/reports", body, headers)
            time.sleep(pause)

    def forger() -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            body = json.dumps({"report_id": str(uuid.uuid4()), "period": NEXT_PERIOD}).encode()
            headers = {"Content-Type": "application/json", "X-Forwarded-For": "10.9.9.9",
                       "X-Houqin-School": f"{COUNTY}{rng.randint(1, schools):04d}",
                       "X-Houqin-Timestamp": str(int(time.time())),
                       "X-Houqin-Signature": f"{rng.getrandbits(256):064x}"}  # fmt: skip
            rec.call(port, KINDS[1], "POST", "/api/v1/reports", body, headers)

    def user(i: int, token: str) -> None:
        rng = random.Random(seed + i)
        auth = {"Authorization": f"Bearer {token}", "X-Forwarded-For": f"10.2.0.{i + 1}"}
        locked = False
        actions: list[tuple[str, Callable[[], tuple[str, str, bytes | None]]]] = [
            (KINDS[2], lambda: ("GET", f"/counties/{COUNTY}/?period={PERIODS[-1]}", None)),
            (KINDS[3], lambda: ("GET", ranking_path(rng), None)),
            (KINDS[4], lambda: ("GET", school_path(rng), None)),
        ]
        while time.monotonic() < stop:
            roll = rng.random()
            if roll < 0.08:
                code = f"{COUNTY}{rng.randint(1, schools):04d}"
                body = json.dumps({"date": "2026-10-15", "score": rng.choice([3, 3.5, 4, 4.5, 5]),
                                   "inspector": f"督查组{i + 1}"}).encode()  # fmt: skip
                rec.call(port, KINDS[5], "POST", f"/api/v1/schools/{code}/inspections", body,
                         {**auth, "Content-Type": "application/json"})  # fmt: skip
            elif roll < 0.12:
                action = "unlock" if locked else "lock"
                status = rec.call(port, KINDS[6], "POST", f"/api/v1/periods/{COUNTY}/{LOCKED_PERIOD}/{action}",
                                  b"{}", {**auth, "Content-Type": "application/json"})  # fmt: skip
                if status == 200:
                    locked = not locked
                elif status == 409:  # another user got there first
                    locked = action == "lock"
            else:
                kind, make = actions[int((roll - 0.12) / 0.88 * len(actions))]
                method, path, body = make()
                rec.call(port, kind, method, path, body, auth)
            time.sleep(0.05)

    def ranking_path(rng: random.Random) -> str:
        a, b = sorted(rng.sample(range(len(PERIODS)), 2))
        return f"/api/v1/counties/{COUNTY}/rankings?from={PERIODS[a]}&to={PERIODS[b]}"

    def school_path(rng: random.Random) -> str:
        a, b = sorted(rng.sample(range(len(PERIODS)), 2))
        return f"/schools/{COUNTY}{rng.randint(1, schools):04d}/?from={PERIODS[a]}&to={PERIODS[b]}"

    threads = [threading.Thread(target=agent, args=(i, code)) for i, code in enumerate(secrets)]
    threads += [threading.Thread(target=user, args=(i, token)) for i, token in enumerate(tokens)]
    threads.append(threading.Thread(target=forger))
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 300)
    return rec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load per set-up")
    parser.add_argument("--schools", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--agent-pause", type=float, default=0.5, help="seconds an agent waits between reports")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers on PostgreSQL")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    args = parser.parse_args()
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    setups = [args.only] if args.only else ["sqlite", "postgres"]
    failures = 0
    print(f"concurrency bench — Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
          f"{args.schools} schools × {len(PERIODS)} months; {AGENTS} agents (pause {args.agent_pause} s), {USERS} "
          f"users, 1 forger; {args.seconds:.0f} s per set-up; {dt.date.today()}")  # fmt: skip
    for setup in setups:
        with database(setup) as url, tempfile.TemporaryDirectory(prefix="houqin-bench-inst-") as instance:
            secrets, tokens, counts = prepare(url, instance, args.schools, args.seed)
            with hub(setup, url, instance, args.workers) as port:
                load_before = os.getloadavg()[0]
                rec = load(port, secrets, tokens, args.seconds, args.agent_pause, args.seed, args.schools)
                load_after = os.getloadavg()[0]
        label = "SQLite, houqin serve" if setup == "sqlite" else f"PostgreSQL, gunicorn -w {args.workers}"
        print()
        print(f"{label}: {counts['reports']} reports in the data; load average {load_before:.1f} → {load_after:.1f}")
        head = f"{'kind':<26}{'requests':>9}{'≥ 500':>7}{'p50 ms':>9}{'p95 ms':>9}  statuses"
        print(head)
        print("-" * (len(head) + 20))
        for kind in KINDS:
            rows = rec.rows.get(kind, [])
            if not rows:
                continue
            ms = [r[1] * 1000 for r in rows]
            bad = sum(1 for r in rows if r[0] >= 500)
            failures += bad
            statuses = collections.Counter(r[0] for r in rows)
            shown = " ".join(f"{k}:{v}" for k, v in sorted(statuses.items()))
            print(f"{kind:<26}{len(rows):>9}{bad:>7}{percentile(ms, 0.5):>9.0f}{percentile(ms, 0.95):>9.0f}  {shown}")
        if setup == "sqlite" and rec.rows.get(KINDS[2]):
            p95 = percentile([r[1] for r in rec.rows[KINDS[2]]], 0.95)
            print(f"overview p95 {p95 * 1000:.0f} ms (target ≤ 1000 ms): {'met' if p95 <= 1.0 else 'MISSED'}")
    print()
    print(f"answers ≥ 500: {failures}" + (" (target: 0)" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
