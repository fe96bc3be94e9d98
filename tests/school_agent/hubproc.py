"""A real hub in a subprocess on a loopback port, the agent as a subprocess, and a filled template.

Used by the agent's tests (tests/school_agent/conftest.py) and by ``bench/agent/run.py``. Only the hub's
command line and its SQLite file are touched: the agent under test never imports the hub.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_REPORT = ROOT / "tests" / "data" / "example-report.json"
SCHOOL = "6105280001"
OTHER_SCHOOL = "6105280002"
SCHOOLS_CSV = (
    "code,name,county_code,township,type,boarding\n"
    f"{SCHOOL},庄里镇中心小学,610528,庄里镇,primary,true\n"
    f"{OTHER_SCHOOL},庄里镇初级中学,610528,庄里镇,junior,true\n"
)


def free_port() -> int:
    """A free loopback port below Linux's ephemeral range (32768–60999), so that a hub restarted on it later
    does not find it taken by some client's outgoing connection in the meantime."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUQIN_")}
    env.update(
        {
            "HOUQIN_INSTANCE_PATH": str(instance),
            "HOUQIN_RATE_LIMIT_PER_MINUTE": "1000000",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


_PREPARE = """
import sys
from district.cli import Context, main
ctx = Context()  # one app for all the commands (the hub's create_app() is not meant to run twice)
for args in sys.argv[1:]:
    main(args.split("\\t"), standalone_mode=False, obj=ctx)
"""


def prepare_instance(instance: Path) -> dict[str, str]:
    """Migrate a fresh hub database, import two schools, issue credentials; returns {school: cred file}.

    The hub's own commands (``houqin db upgrade``, ``schools import``, ``schools credential -o``), run in one
    process to pay the hub's import time once.
    """
    instance.mkdir(parents=True, exist_ok=True)
    csv = instance / "schools.csv"
    csv.write_text(SCHOOLS_CSV, encoding="utf-8")
    creds = {code: str(instance / f"cred-{code}.json") for code in (SCHOOL, OTHER_SCHOOL)}
    commands = ["db\tupgrade", f"schools\timport\t{csv}"]
    commands += [f"schools\tcredential\t{code}\t-o\t{path}" for code, path in creds.items()]
    subprocess.run(
        [sys.executable, "-c", _PREPARE, *commands],
        cwd=ROOT,
        env=hub_env(instance),
        check=True,
        capture_output=True,
        timeout=180,
    )
    return creds


class Hub:
    """``python3 -m district serve`` on a loopback port, started, killed and restarted at will."""

    def __init__(self, instance: Path, port: int | None = None, **env: str) -> None:
        self.instance = instance
        self.port = port or free_port()
        self.env = hub_env(instance, **env)
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @classmethod
    def from_template(cls, template: Path, target: Path, **kw: Any) -> Hub:
        shutil.copytree(template, target)
        return cls(target, **kw)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.instance / "houqin.db"

    def credential_file(self, school: str = SCHOOL) -> Path:
        return self.instance / f"cred-{school}.json"

    def start(self, timeout: float = 30.0) -> Hub:
        assert self.proc is None
        self._log = open(self.instance / "serve.log", "ab")
        self.proc = subprocess.Popen(
            # one process: a test stops it with SIGKILL too, which a gunicorn master would not pass on
            [sys.executable, "-m", "district", "serve", "--port", str(self.port), "--workers", "1"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited: {(self.instance / 'serve.log').read_text()[-2000:]}")
            try:  # any HTTP answer (a 404 here) proves the server is up
                with urllib.request.urlopen(f"{self.url}/api/v1/__ping__", timeout=1):
                    pass
                return self
            except urllib.error.HTTPError as exc:
                exc.close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("hub did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    # ---------------------------------------------------------------- what the hub stored

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()

    def revisions_of(self, report_id: str) -> int:
        return int(self.query("SELECT count(*) FROM report_revisions WHERE report_id = ?", report_id.lower())[0][0])

    def revisions_for(self, period: str, school: str = SCHOOL) -> list[tuple[str, int]]:
        return [
            (r[0], int(r[1]))
            for r in self.query(
                "SELECT report_id, revision FROM report_revisions"
                " WHERE school_code = ? AND period = ? ORDER BY revision",
                school,
                period,
            )
        ]

    def lock_period(self, period: str, county: str = "610528") -> None:
        conn = sqlite3.connect(self.db_path, timeout=30)
        try:
            conn.execute(
                "INSERT INTO period_approvals (county_code, period, action, actor, at) "
                "VALUES (?, ?, 'lock', 'test', '2026-01-01 00:00:00.000000')",
                (county, period),
            )
            conn.commit()
        finally:
            conn.close()


# -------------------------------------------------------------------------------------------- the agent


def agent_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUQIN_")}
    env.update({"HOUQIN_AGENT_HOME": str(home), "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"})
    env.update(extra)
    return env


def run_agent(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "school_agent", *args],
        cwd=cwd or ROOT,
        env={**agent_env(home), **(env or {})},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def setup_agent(home: Path, hub: Hub, school: str = SCHOOL, *, check: bool = False) -> None:
    """Configure an agent home for ``hub`` (the same files ``houqin-agent setup`` writes): with the hub's
    receipt keys pinned when it is up, none (the first sync pins them) when it is down."""
    from school_agent.trust import first_pins, published_keys

    cred = json.loads(hub.credential_file(school).read_text(encoding="utf-8"))
    home.mkdir(parents=True, exist_ok=True)
    cfg: dict[str, Any] = {
        "hub_url": hub.url,
        "school_code": school,
        "secret": cred["secret"],
        "school_name": "庄里镇中心小学",
        "clerk": "李总务",
    }
    try:
        with urllib.request.urlopen(f"{hub.url}/api/v1/hub-keys", timeout=10) as resp:
            cfg["hub_keys"] = first_pins(published_keys(json.loads(resp.read())), "setup")
    except OSError:
        pass  # the hub is down: as an offline setup, nothing pinned
    path = home / "config.json"
    path.write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)


def example_report(period: str, school: str = SCHOOL, **top: Any) -> dict[str, Any]:
    """The spec's example report for ``school`` and ``period`` with a fresh report_id (passes the hub)."""
    data = json.loads(EXAMPLE_REPORT.read_text(encoding="utf-8"))
    data["report_id"] = str(uuid.uuid4())
    data["school_code"] = school
    data["period"] = period
    # every fund rule of the pre-check satisfied (the spec's example keeps samples on 15 of 17 days), so that
    # submit asks nothing; tests of the "请核对" question plant their own mistakes
    data["food_safety"]["sample_retention_days"] = data["nutrition"]["meal_days"]
    data.update(top)
    return data


def write_json(path: Path, report: dict[str, Any]) -> Path:
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def fill_template(template: Path, report: dict[str, Any], target: Path | None = None) -> Path:
    """Type ``report``'s values into a generated template, as a clerk would, and save it."""
    from openpyxl import load_workbook

    from houqin_standard import HAZARD_FIELDS
    from school_agent.layout import (
        CALENDAR_COLUMNS,
        CALENDAR_SHEET,
        COVER_PREPARED_BY,
        COVER_SHEET,
        FIRST_ROW,
        HAZARD_COLUMNS,
        HAZARD_SHEET,
        SHEET_NAMES,
        section_slots,
    )
    from school_agent.template import excel_value

    wb = load_workbook(template)
    try:
        wb[COVER_SHEET][COVER_PREPARED_BY] = report.get("prepared_by")
        for section, sheet in SHEET_NAMES.items():
            if sheet not in wb.sheetnames:  # @2's sheets in a @1 template
                continue
            ws = wb[sheet]
            data = report.get(section) or {}
            for slot in section_slots(section):
                value = data.get(slot.field.key)
                if slot.item is not None:
                    ws[slot.cell] = None if value is None else ("是" if slot.item in value else "否")
                else:
                    ws[slot.cell] = excel_value(slot.field, value)
        if CALENDAR_SHEET in wb.sheetnames:  # @2: one task done per row
            from houqin_standard.fields import CALENDAR_TASK_FIELDS

            ws = wb[CALENDAR_SHEET]
            tasks = (report.get("calendar") or {}).get("tasks") or []
            for i, task in enumerate(tasks):
                for col, f in zip(CALENDAR_COLUMNS, CALENDAR_TASK_FIELDS, strict=True):
                    ws[f"{col}{FIRST_ROW + i}"] = excel_value(f, task.get(f.key))
        ws = wb[HAZARD_SHEET]
        for row in range(FIRST_ROW, ws.max_row + 1):
            for col in HAZARD_COLUMNS:
                ws[f"{col}{row}"] = None
        for i, h in enumerate(report.get("hazards") or []):
            for col, f in zip(HAZARD_COLUMNS, HAZARD_FIELDS, strict=True):
                ws[f"{col}{FIRST_ROW + i}"] = excel_value(f, h.get(f.key))
        out = target or template
        wb.save(out)
    finally:
        wb.close()
    return out


@contextlib.contextmanager
def hub_running(template: Path, target: Path, **kw: Any) -> Any:
    hub = Hub.from_template(template, target, **kw)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
