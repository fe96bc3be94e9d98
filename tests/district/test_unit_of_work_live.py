"""The embedded default under concurrent use: a real ``houqin serve`` (two threaded processes, SQLite) with agents
writing, bureau users reading and locking, and a client posting bad signatures, all at once — and no answer ≥ 500.
(The same at scale, and on PostgreSQL + gunicorn: bench/concurrency/run.py.)"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from houqin_standard import sign_request
from tests.conftest import EXAMPLE_REPORT
from tests.livehub import LiveHub

SECONDS = 4.0
SCHOOLS = [f"610528{i:04d}" for i in range(1, 7)]


def _request(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        exc.close()
        return int(exc.code)


@pytest.mark.slow
def test_serve_on_sqlite_answers_no_5xx_under_concurrent_writers_and_readers(tmp_path: Path) -> None:
    schools = [
        {"code": code, "name": f"学校{code[-2:]}", "county_code": "610528", "township": "庄里镇", "type": "primary",
         "boarding": "true"}
        for code in SCHOOLS
    ]  # fmt: skip
    env = {"HOUQIN_REFUSED_PER_MINUTE": "5", "HOUQIN_PROXY_HOPS": "1"}
    hub = LiveHub(tmp_path, schools=schools, postgres=False, env=env)
    try:
        token = hub.prepare().county_admin_token()
        hub.start(serve_workers=2)  # as houqin serve runs by default on this machine: two processes, one file
        template = json.loads(EXAMPLE_REPORT.read_text(encoding="utf-8"))
        statuses: list[tuple[str, int]] = []
        lock = threading.Lock()
        stop = time.monotonic() + SECONDS

        def note(kind: str, status: int) -> None:
            with lock:
                statuses.append((kind, status))

        # behind one trusted proxy (HOUQIN_PROXY_HOPS=1), as in production: each client has its own address, so
        # the forger's refusals limit the forger, not the schools
        def agent(code: str) -> None:
            while time.monotonic() < stop:
                report = {**template, "report_id": str(uuid.uuid4()), "school_code": code}
                body = json.dumps(report, ensure_ascii=False).encode("utf-8")
                ts = int(time.time())
                headers = {"Content-Type": "application/json", "X-Houqin-School": code, "X-Houqin-Timestamp": str(ts),
                           "X-Houqin-Signature": sign_request(hub.secrets[code], ts, "POST", "/api/v1/reports", body),
                           "X-Forwarded-For": f"10.1.0.{int(code[-2:])}"}  # fmt: skip
                note("agent", _request(hub.url + "/api/v1/reports", "POST", body, headers))

        def reader() -> None:
            auth = {"Authorization": f"Bearer {token}"}
            paths = ["/api/v1/counties/610528/completeness?period=2026-09",
                     "/api/v1/counties/610528/rankings?from=2026-09&to=2026-10", f"/schools/{SCHOOLS[0]}/"]  # fmt: skip
            i = 0
            while time.monotonic() < stop:
                note("reader", _request(hub.url + paths[i % len(paths)], headers=auth))
                i += 1

        def locker() -> None:
            auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            i = 0
            while time.monotonic() < stop:
                action = "lock" if i % 2 == 0 else "unlock"
                note("lock", _request(hub.url + f"/api/v1/periods/610528/2026-10/{action}", "POST", b"{}", auth))
                i += 1
                time.sleep(0.05)

        def forger() -> None:
            # on past the others' SECONDS until refused 429 (bounded): on a slow machine a forged request waits
            # its turn behind the writers, and the limit needs more refusals than 4 s may give it
            limited = False
            while (time.monotonic() < stop or not limited) and time.monotonic() < stop + 60:
                body = b'{"period": "2026-09"}'
                headers = {"Content-Type": "application/json", "X-Houqin-School": "6105289999",
                           "X-Houqin-Timestamp": str(int(time.time())), "X-Houqin-Signature": "00" * 32,
                           "X-Forwarded-For": "10.9.9.9"}  # fmt: skip
                status = _request(hub.url + "/api/v1/reports", "POST", body, headers)
                limited = limited or status == 429
                note("forger", status)

        threads = [threading.Thread(target=agent, args=(code,)) for code in SCHOOLS]
        threads += [threading.Thread(target=reader) for _ in range(3)]
        threads += [threading.Thread(target=locker), threading.Thread(target=forger)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        errors = [(kind, status) for kind, status in statuses if status >= 500]
        log: Any = hub.log.read_text(errors="replace")[-3000:] if errors else ""
        assert not errors, f"{len(errors)} answers ≥ 500 of {len(statuses)}: {errors[:10]}\n{log}"
        by_kind = {kind: [s for k, s in statuses if k == kind] for kind in ("agent", "reader", "lock", "forger")}
        assert set(by_kind["agent"]) == {201}, sorted(set(by_kind["agent"]))  # every writer got through
        assert all(s == 200 for s in by_kind["reader"]), set(by_kind["reader"])
        assert set(by_kind["lock"]) <= {200, 409}
        assert 429 in by_kind["forger"] and set(by_kind["forger"]) <= {401, 429}, by_kind["forger"]
    finally:
        hub.close()
