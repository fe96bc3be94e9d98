"""A real hub process on a loopback port, for tests that cross real HTTP (agents, races, browsers).

``LiveHub(tmp_path).start()`` makes a fresh instance (SQLite file, or a fresh PostgreSQL database when
``HOUQIN_TEST_POSTGRES_URL`` is set), runs the migrations, imports the given schools, issues credentials and
starts ``python -m district serve`` (or gunicorn) as a subprocess.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from houqin_standard import sign_request

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveHub:
    def __init__(
        self,
        tmp: Path,
        *,
        schools: list[dict[str, str]] | None = None,
        postgres: bool | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.tmp = tmp
        self.instance = tmp / "hub-instance"
        self.schools = schools or [
            {
                "code": "6105280001",
                "name": "庄里镇中心小学",
                "county_code": "610528",
                "township": "庄里镇",
                "type": "primary",
                "boarding": "true",
            },
        ]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HOUQIN_INSTANCE_PATH": str(self.instance),
            "PYTHONPATH": str(ROOT),
            "HOUQIN_RATE_LIMIT_PER_MINUTE": "100000",
            "HOUQIN_PUBLIC_URL": f"{self.url}/",  # gunicorn's hub refuses to start without it (issue 16)
            **(env or {}),
        }
        self.env.pop("HOUQIN_DATABASE_URL", None)
        self._drop: Any = None
        use_pg = bool(os.environ.get("HOUQIN_TEST_POSTGRES_URL")) if postgres is None else postgres
        if use_pg:
            from tests.conftest import _fresh_postgres_database

            url, self._drop = _fresh_postgres_database(os.environ["HOUQIN_TEST_POSTGRES_URL"])
            self.env["HOUQIN_DATABASE_URL"] = url
        self.database_url = self.env.get("HOUQIN_DATABASE_URL") or f"sqlite:///{self.instance / 'houqin.db'}"
        self.secrets: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "district", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"houqin {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def prepare(self) -> LiveHub:
        self.instance.mkdir(parents=True, exist_ok=True)
        self.cli("db", "upgrade")
        registry = self.tmp / "schools.csv"
        with registry.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(self.schools[0]))
            writer.writeheader()
            writer.writerows(self.schools)
        self.cli("schools", "import", str(registry))
        for s in self.schools:
            self.secrets[s["code"]] = json.loads(self.cli("schools", "credential", s["code"], "--json"))["secret"]
        return self

    def county_admin_token(self, county: str = "610528", username: str = "admin") -> str:
        """A county_admin of ``county`` and a personal API token of theirs (after ``prepare``)."""
        self.cli("users", "create", username, "--role", "county_admin", "--scope", county, "--password",
                 "correct horse battery")  # fmt: skip
        return self.cli("users", "token", username).strip().split()[-1]

    def start(self, *, gunicorn_workers: int = 0, serve_workers: int = 1) -> LiveHub:
        if not self.secrets:
            self.prepare()
        if gunicorn_workers:
            cmd = [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(gunicorn_workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "district.wsgi:app",
            ]
        else:
            cmd = [sys.executable, "-m", "district", "serve", "--port", str(self.port), "--workers", str(serve_workers)]
        self.log = self.tmp / "hub.log"
        with self.log.open("ab") as log:  # the hub's own output, for a failing test to show
            self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/api/v1/hub-keys", timeout=1):
                    return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError("the hub did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
        if self._drop:
            self._drop()
            self._drop = None

    def post_report(self, report: dict[str, Any], *, school: str | None = None) -> tuple[int, dict[str, Any]]:
        code = school or report["school_code"]
        body = json.dumps(report, ensure_ascii=False).encode("utf-8")
        ts = int(time.time())
        req = urllib.request.Request(
            self.url + "/api/v1/reports",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Houqin-School": code,
                "X-Houqin-Timestamp": str(ts),
                "X-Houqin-Signature": sign_request(self.secrets[code], ts, "POST", "/api/v1/reports", body),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            exc.close()
            return exc.code, json.loads(payload or b"{}")
