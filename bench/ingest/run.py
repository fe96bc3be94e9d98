#!/usr/bin/env python3
"""Ingest benchmark (issue 2, "Measure"): the hub's signed ``POST /api/v1/reports`` against a bare endpoint.

In one run, on one PostgreSQL server (a fresh database, created here and dropped at the end):

1. the schema is made with ``python3 -m district db upgrade``; N schools are imported and their credentials
   issued (in-process, through ``district``'s own services, against the same database);
2. the hub is started under ``gunicorn -w 2 'district.wsgi:app'`` and the bare endpoint (``bare.py``: parse the
   JSON, insert it into one table) under ``gunicorn -w 2`` as well;
3. the same distinct reports (school × month, from ``district.demo.generate``) are pushed to each by 8
   concurrent clients (threads, ``http.client`` connections kept alive when the server allows it); every
   hub request is signed right before it is sent;
4. a small table prints reports/s and p50/p99 latency of both, and the hub/bare throughput ratio
   (target ≥ 0.5).

    python3 bench/ingest/run.py                  # 5,000 reports (500 schools × 10 months), 8 clients
    python3 bench/ingest/run.py --quick          # 500 reports: the smoke test's run
    python3 bench/ingest/run.py --reports 2000 --clients 4
    python3 bench/ingest/run.py --standard 2     # the same with houqin/monthly-report@2 reports (issue 20)

PostgreSQL: ``--postgres URL`` or ``HOUQIN_BENCH_POSTGRES_URL`` or ``HOUQIN_TEST_POSTGRES_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` (any database of the server: only used to create
and drop the benchmark's own). Exit status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from houqin_standard import current_period, period_add, signed_headers  # noqa: E402 - after the path set-up

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
COUNTIES = ("610521", "610522", "610523", "610524", "610525")
TYPES = ("primary", "primary", "primary", "junior", "nine_year", "teaching_point", "kindergarten", "senior")
HUB_PATH = "/api/v1/reports"
BARE_PATH = "/bare/reports"
BARE_TABLE = (  # the bare endpoint's one table (bare.py)
    "CREATE TABLE bench_bare_reports ("
    " id BIGSERIAL PRIMARY KEY, body JSONB NOT NULL, received_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)


# ------------------------------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gunicorn:
    """``gunicorn -w 2 -b 127.0.0.1:PORT APP`` as a child process, stopped (TERM, then KILL) on exit."""

    def __init__(
        self, name: str, app: str, env: dict[str, str], log_dir: Path, *, chdir: Path = ROOT, workers: int = 2
    ) -> None:
        self.name, self.port = name, free_port()
        self.log = log_dir / f"{name}.log"
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(chdir),
            "--log-level",
            "warning",
            app,
        ]
        env = {**env, "HOUQIN_PUBLIC_URL": f"http://127.0.0.1:{self.port}/"}  # a hub that serves must know it
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, cwd=chdir, env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, method: str, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request(method, path)
                status = conn.getresponse().status
                conn.close()
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime + stime, and cutime + cstime: the CPU of children that exited (PostgreSQL backends that ended)
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def cpu_snapshot(server: Gunicorn) -> tuple[float, float, float]:
    """CPU seconds so far of (this process: the clients, the server: gunicorn and its workers, PostgreSQL: every
    ``postgres`` process of the machine) — Linux only; zeros elsewhere."""
    if not os.path.isdir("/proc/self"):
        return 0.0, 0.0, 0.0
    client = sum(os.times()[:2])
    pids = [server.proc.pid, *_children(server.proc.pid)]
    srv = sum(_proc_cpu(pid) for pid in pids)
    pg = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as fh:
                    if fh.read().strip() != "postgres":
                        continue
            except OSError:
                continue
            pg += _proc_cpu(int(entry))
    return client, srv, pg


@contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``base_url``; dropped (forcibly) afterwards."""
    from tests.scratch_db import throwaway_postgres

    with throwaway_postgres(base_url, "houqin_bench") as url:
        yield url


def libpq_url(sqlalchemy_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


# ------------------------------------------------------------------------------------------ data


@dataclass
class Workload:
    credentials: dict[str, str]
    items: list[tuple[str, bytes]]  # (school code, body): distinct school-period pairs
    warmup: list[tuple[str, bytes]]
    schools: int
    periods: list[str]


def set_up_hub(
    url: str,
    instance: Path,
    env: dict[str, str],
    n_reports: int,
    months: int,
    seed: int,
    warmup: int,
    standard: int = 1,
) -> Workload:
    """Schema (the CLI), schools and credentials (district's services, in-process), the reports to send."""
    subprocess.run(
        [sys.executable, "-m", "district", "db", "upgrade"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )

    from district.app import create_app
    from district.db import db
    from district.demo.generate import SchoolProfile, monthly_report
    from district.registry.crypto import SecretBox
    from district.registry.services import import_schools, issue_credential

    n_schools = math.ceil(n_reports / months)
    rng = random.Random(seed)
    rows = []
    for i in range(n_schools):
        county = COUNTIES[i % len(COUNTIES)]
        code = f"{county}{i // len(COUNTIES) + 1:04d}"
        stype = rng.choice(TYPES)
        rows.append(
            {
                "code": code,
                "name": f"基准测试学校{i + 1:04d}",
                "county_code": county,
                "township": f"第{i % 7 + 1}学区",
                "type": stype,
                "boarding": str(rng.random() < 0.4).lower(),
            }
        )
    registry = instance / "schools.csv"
    with registry.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(instance)})
    credentials: dict[str, str] = {}
    with app.app_context():
        session = db.session()
        import_schools(session, registry, actor="bench")
        box = SecretBox(app.config["SERVER_KEY_FILE"])
        for row in rows:
            credentials[row["code"]] = issue_credential(session, box, row["code"], actor="bench")
        session.commit()
        db.session.remove()
    assert db.engine is not None
    db.engine.dispose()

    # the `months` closed periods before the current one; the month before them warms the servers up
    last = period_add(current_period(), -1)
    periods = [period_add(last, -k) for k in range(months - 1, -1, -1)]
    profiles = [SchoolProfile.make(r["code"], r["type"], r["boarding"] == "true", seed) for r in rows]

    def body(profile: SchoolProfile, period: str) -> bytes:
        # --standard 2: houqin/monthly-report@2 with its four sections (issue 20), the 行事历 tasks of the
        # calendar shipped with the hub, which the hub checks each report's tasks against
        report = monthly_report(profile, period, standard=standard)
        if "dormitory" in report:
            # the demo generator can draw a negative bed count for a school with under 5 boarders (a 422);
            # the benchmark measures accepted reports
            report["dormitory"]["beds"] = max(0, report["dormitory"]["beds"])
        return json.dumps(report, ensure_ascii=False).encode("utf-8")

    warm = [(p.code, body(p, period_add(periods[0], -1))) for p in profiles[:warmup]]
    items = [(p.code, body(p, period)) for period in periods for p in profiles][:n_reports]
    return Workload(credentials, items, warm, n_schools, periods)


# ------------------------------------------------------------------------------------------ load


@dataclass
class Result:
    name: str
    sent: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    cpu: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # client, server, PostgreSQL seconds

    def merge(self, other: Result) -> None:
        self.sent += other.sent
        self.wall += other.wall
        self.cpu = [a + b for a, b in zip(self.cpu, other.cpu, strict=True)]
        self.latencies.extend(other.latencies)
        self.statuses.update(other.statuses)
        self.failures.extend(other.failures)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def rate(self) -> float:
        return self.ok / self.wall if self.wall else 0.0

    def percentile(self, q: float) -> float:
        data = sorted(self.latencies)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, max(0, math.ceil(q * len(data)) - 1))] * 1000.0


def push(
    name: str,
    port: int,
    path: str,
    items: list[tuple[str, bytes]],
    clients: int,
    sign: Callable[[str, bytes], dict[str, str]] | None,
) -> Result:
    """Send every item once from ``clients`` threads, each with its own connection."""
    result = Result(name, sent=len(items))
    lock = threading.Lock()
    cursor = iter(range(len(items)))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        failures: list[str] = []
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                break
            school, body = items[i]
            headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
            if sign is not None:
                headers.update(sign(school, body))
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                answer = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                failures.append(f"{school}: {type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - started)
            statuses[resp.status] += 1
            if resp.status >= 300 and len(failures) < 5:
                failures.append(f"{school}: {resp.status} {answer[:300].decode('utf-8', 'replace')}")
            if resp.will_close:
                conn.close()  # http.client reopens it for the next request
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)
            result.failures.extend(failures)

    threads = [threading.Thread(target=client, name=f"{name}-client-{k}") for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.wall = time.perf_counter() - started
    return result


# ------------------------------------------------------------------------------------------ report


def table(results: list[Result]) -> str:
    head = (
        f"{'endpoint':<34} {'reports':>7} {'reports/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
        f"  CPU ms/report: {'clients':>7} {'server':>6} {'PostgreSQL':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        per = [1000.0 * c / r.ok if r.ok else float("nan") for c in r.cpu]
        lines.append(
            f"{r.name:<34} {r.ok:>7} {r.rate:>10.1f} {r.percentile(0.50):>8.1f} "
            f"{r.percentile(0.99):>8.1f} {r.sent - r.ok:>6}  {'':>14} {per[0]:>7.2f} {per[1]:>6.2f} "
            f"{per[2]:>10.2f}"
        )
    return "\n".join(lines)


def postgres_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=5000, help="distinct reports to push (default 5000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--months", type=int, default=10, help="months per school (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default 2)")
    parser.add_argument("--quick", action="store_true", help="500 reports: a smoke run")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("HOUQIN_BENCH_POSTGRES_URL")
        or os.environ.get("HOUQIN_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES,
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating bare/hub rounds (default 5)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--standard",
        type=int,
        choices=(1, 2),
        default=1,
        help="the reports' standard: 1 (houqin/monthly-report@1) or 2 (@2, issue 20)",
    )
    parser.add_argument("--verbose", action="store_true", help="print each round's figures on stderr")
    parser.add_argument("--keep-logs", action="store_true", help="print where the servers' logs are kept")
    args = parser.parse_args(argv)
    if args.quick:
        args.reports = 500
    if min(args.reports, args.clients, args.months, args.rounds) < 1:
        parser.error("--reports, --clients, --months and --rounds must be positive")

    servers: list[Gunicorn] = []
    tmp = Path(tempfile.mkdtemp(prefix="houqin-bench-ingest-"))
    try:
        with fresh_database(args.postgres) as url:
            instance = tmp / "instance"
            instance.mkdir()
            env = {
                **os.environ,
                "HOUQIN_DATABASE_URL": url,
                "HOUQIN_INSTANCE_PATH": str(instance),
                "HOUQIN_RATE_LIMIT_PER_MINUTE": str(10**9),
                "PYTHONPATH": str(ROOT),
            }
            for name in ("HOUQIN_BROKER_URL", "HOUQIN_RESULT_BACKEND", "HOUQIN_SERVER_KEY_FILE"):
                env.pop(name, None)  # the embedded configuration: in-process limiter, key in the instance
            t0 = time.perf_counter()
            work = set_up_hub(
                url,
                instance,
                env,
                args.reports,
                args.months,
                args.seed,
                warmup=2 * args.clients,
                standard=args.standard,
            )
            setup_s = time.perf_counter() - t0

            import psycopg

            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                conn.execute(BARE_TABLE)
                conn.execute("VACUUM ANALYZE")

            load_before = os.getloadavg()[0]
            hub = Gunicorn("hub", "district.wsgi:app", env, tmp, workers=args.workers)
            servers.append(hub)
            bare = Gunicorn(
                "bare", "bare:app", {**env, "BENCH_BARE_DSN": libpq_url(url)}, tmp, chdir=HERE, workers=args.workers
            )
            servers.append(bare)
            hub.wait_ready("GET", "/api/v1/openapi.json")
            bare.wait_ready("GET", "/bare/ready")

            def sign(school: str, body: bytes) -> dict[str, str]:
                return signed_headers(school, work.credentials[school], "POST", HUB_PATH, body)

            # warm both (imports, connection pools, first-use caches); not counted
            push("warm-up", bare.port, BARE_PATH, work.warmup, args.clients, None)
            warm = push("warm-up", hub.port, HUB_PATH, work.warmup, args.clients, sign)
            if warm.ok != len(work.warmup):
                print("hub warm-up failed:", *warm.failures[:5], hub.tail(), sep="\n", file=sys.stderr)
                return 1

            # Alternate the two in rounds (bare first, then hub first, ...) so that a change in the machine's
            # background load hits both alike; each round sends the next slice of the same reports to both.
            bare_result = Result("bare: parse JSON + INSERT")
            hub_result = Result("hub: POST /api/v1/reports (signed)")
            size = math.ceil(len(work.items) / args.rounds)
            for k in range(args.rounds):
                # This machine's PostgreSQL runs with autovacuum off (its CI configuration); on a production server
                # autovacuum analyzes the growing tables, which also re-plans the statements the servers' connections
                # keep prepared. Do its part between rounds, untimed, for both: without it a plan made when a table
                # was empty (a sequential scan) would be kept for the whole run (docs/PERFORMANCE.md).
                with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                    conn.execute("ANALYZE")
                chunk = work.items[k * size : (k + 1) * size]
                runs = [(bare_result, bare, BARE_PATH, None), (hub_result, hub, HUB_PATH, sign)]
                for total, server, path, signer in runs if k % 2 == 0 else runs[::-1]:
                    before = cpu_snapshot(server)
                    part = push(total.name, server.port, path, chunk, args.clients, signer)
                    part.cpu = [b - a for a, b in zip(before, cpu_snapshot(server), strict=True)]
                    if args.verbose:
                        print(
                            f"  round {k + 1}: {part.name:<34} {part.rate:8.1f}/s  p50 {part.percentile(0.5):6.1f} ms"
                            f"  load {os.getloadavg()[0]:.1f}",
                            file=sys.stderr,
                        )
                    total.merge(part)
            pg = postgres_version(url)
    finally:
        for server in servers:
            server.stop()

    ratio = hub_result.rate / bare_result.rate if bare_result.rate else float("nan")
    print(
        f"ingest bench: {len(work.items)} distinct @{args.standard} reports ({work.schools} schools × up to "
        f"{args.months} months, {work.periods[0]}..{work.periods[-1]}), {args.clients} clients, "
        f"gunicorn -w {args.workers}, "
        f"PostgreSQL {pg}, Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load_before:.1f} → {os.getloadavg()[0]:.1f}; {args.rounds} alternating rounds; set-up {setup_s:.1f} s"
    )
    print(table([bare_result, hub_result]))
    print(f"ratio hub/bare throughput: {ratio:.2f} (target ≥ 0.5)")
    failed = False
    for r in (bare_result, hub_result):
        if r.ok != r.sent:
            failed = True
            print(
                f"{r.name}: {r.sent - r.ok} of {r.sent} failed; statuses {dict(r.statuses)}",
                *r.failures[:5],
                sep="\n  ",
                file=sys.stderr,
            )
    if args.keep_logs or failed:
        print(f"server logs: {tmp}", file=sys.stderr)
    else:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
