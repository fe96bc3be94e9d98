#!/usr/bin/env python3
"""Agent benchmark (issue 3, "Measure"): ``houqin-agent submit`` memory and time, and ``sync`` throughput.

In one run, against real hubs (``python3 -m district serve`` on loopback ports, fresh SQLite instances):

1. ``houqin-agent template`` and ``houqin-agent submit`` of a filled template (pushed to the hub), each a child
   process: wall time and peak RSS (the child's own ``ru_maxrss`` from ``os.wait4``); target ≤ 80 MB.
2. N reports (default 500) queued in the outbox with the hub down (``Outbox.add``: one fsynced commit each,
   exactly what ``submit --no-push`` does), then a hub started and ``houqin-agent sync`` run: reports/s.
3. The same N reports POSTed to another fresh hub by one plain signed client (a new connection per report,
   like the agent) — the hub's own ingestion ceiling for one client on this set-up — and the ratio.
   ``--with-ingest`` also runs ``bench/ingest/run.py --quick`` (PostgreSQL + gunicorn) and prints its table.

    python3 bench/agent/run.py                 # 500 reports
    python3 bench/agent/run.py --reports 100 --repeat 1

Exit status 1 when the RSS target is missed or a report did not arrive exactly once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from houqin_standard import canonical_json, period_add, signed_headers  # noqa: E402 - after the path set-up
from school_agent.outbox import Outbox  # noqa: E402
from tests.school_agent.hubproc import (  # noqa: E402
    SCHOOL,
    Hub,
    agent_env,
    example_report,
    fill_template,
    prepare_instance,
    setup_agent,
)

RSS_TARGET_MB = 80.0


def run_child(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak RSS in MB, output) of one agent child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "school_agent", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode("utf-8", "replace")
    proc.stdout.close()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in bytes on macOS, KiB on Linux
    mb = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return proc.returncode, wall, mb, output


def reports_for(n: int) -> list[dict[str, Any]]:
    """n distinct reports of one school: up to 100 months from 2015-01, then revisions of the same months."""
    months = [period_add("2014-12", i + 1) for i in range(min(n, 100))]
    return [example_report(months[i % len(months)]) for i in range(n)]


def raw_client(hub: Hub, reports: list[dict[str, Any]]) -> float:
    """Seconds for one plain signed client to POST every report (a new connection each, like the agent)."""
    secret = json.loads(hub.credential_file().read_text())["secret"]
    started = time.perf_counter()
    last_ts = 0
    for report in reports:
        body = canonical_json(report)
        ts = max(int(time.time()), last_ts)
        last_ts = ts
        headers = signed_headers(SCHOOL, secret, "POST", "/api/v1/reports", body, now=ts)
        headers["Content-Type"] = "application/json"
        headers["Connection"] = "close"
        conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=60)
        try:
            conn.request("POST", "/api/v1/reports", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 201:
                raise RuntimeError(f"hub answered {resp.status}")
        finally:
            conn.close()
    return time.perf_counter() - started


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reports", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3, help="submit runs (median wall time, max RSS)")
    p.add_argument("--with-ingest", action="store_true", help="also run bench/ingest/run.py --quick")
    args = p.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="houqin-agent-bench-") as tmp_s:
        tmp = Path(tmp_s)
        template = tmp / "hub-template"
        print("preparing a hub instance (migrations, schools, credentials) …", flush=True)
        prepare_instance(template)

        # ------------------------------------------------------------------ 1. submit
        hub = Hub.from_template(template, tmp / "hub-submit").start()
        try:
            home = tmp / "agent-submit"
            setup_agent(home, hub)
            env = agent_env(home)
            walls, rss, t_walls, t_rss = [], [], [], []
            for i in range(args.repeat):
                period = period_add("2026-01", -i)
                path = tmp / f"filled-{period}.xlsx"
                code, wall, mb, out = run_child(["template", period, "-o", str(path)], env, tmp)
                assert code == 0, out
                t_walls.append(wall)
                t_rss.append(mb)
                fill_template(path, example_report(period))
                code, wall, mb, out = run_child(["submit", str(path)], env, tmp)
                if code != 0 or "已送达教育局" not in out:
                    print(out)
                    ok = False
                walls.append(wall)
                rss.append(mb)
                revisions = hub.revisions_for(period)
                if len(revisions) != 1 or revisions[0][1] != 1:
                    ok = False
        finally:
            hub.stop()

        # ------------------------------------------------------------------ 2. sync of N queued reports
        reports = reports_for(args.reports)
        home = tmp / "agent-sync"
        hub = Hub.from_template(template, tmp / "hub-sync")  # not started: the hub is down while queueing
        setup_agent(home, hub)
        started = time.perf_counter()
        with Outbox(home / "outbox.sqlite3") as ob:
            for report in reports:
                ob.add(report, source="bench")
        queue_s = time.perf_counter() - started
        hub.start()
        try:
            code, sync_s, sync_mb, out = run_child(["sync"], agent_env(home), tmp)
            with Outbox(home / "outbox.sqlite3") as ob:
                sent = ob.count("sent")
            stored = int(hub.query("SELECT count(*) FROM report_revisions")[0][0])
            distinct = int(hub.query("SELECT count(DISTINCT report_id) FROM report_revisions")[0][0])
            if code != 0 or sent != len(reports) or stored != len(reports) or distinct != len(reports):
                print(out[-2000:])
                ok = False
        finally:
            hub.stop()

        # ------------------------------------------------------------------ 3. the hub alone, one client
        hub = Hub.from_template(template, tmp / "hub-raw").start()
        try:
            raw_s = raw_client(hub, reports_for(args.reports))
        finally:
            hub.stop()

    n = args.reports
    print()
    print(
        f"houqin-agent bench — Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs; hub: python3 -m district serve (SQLite)"
    )
    print(f"{'what':<58} {'wall':>9} {'peak RSS':>10} {'rate':>16}")
    print(f"{'template PERIOD (child process)':<58} {statistics.median(t_walls):>8.2f}s {max(t_rss):>8.1f}MB")
    verdict = "ok" if max(rss) <= RSS_TARGET_MB else "OVER TARGET"
    print(
        f"{'submit FILLED.xlsx, pushed to the hub (child process)':<58} {statistics.median(walls):>8.2f}s "
        f"{max(rss):>8.1f}MB   target ≤ {RSS_TARGET_MB:.0f} MB: {verdict}"
    )
    print(
        f"{f'queue {n} reports in the outbox, hub down (fsync each)':<58} {queue_s:>8.2f}s {'':>10} "
        f"{n / queue_s:>10.1f} rep/s"
    )
    print(
        f"{f'sync {n} queued reports to a local hub (child process)':<58} {sync_s:>8.2f}s {sync_mb:>8.1f}MB "
        f"{n / sync_s:>10.1f} rep/s"
    )
    print(
        f"{f'the hub alone: {n} signed POSTs from one plain client':<58} {raw_s:>8.2f}s {'':>10} "
        f"{n / raw_s:>10.1f} rep/s"
    )
    print(f"agent sync / hub alone: {raw_s / sync_s:.2f}")
    if max(rss) > RSS_TARGET_MB:
        ok = False
    if args.with_ingest:
        print()
        print("bench/ingest/run.py --quick (the hub's own ingestion figure: PostgreSQL, gunicorn -w 2, 8 clients):")
        r = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "ingest" / "run.py"), "--quick"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        print(r.stdout[-3000:] if r.returncode == 0 else f"  not available (exit {r.returncode}): {r.stderr[-500:]}")
    print("all reports arrived exactly once" if ok else "FAILED: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
