"""A real hub for the browser tests: its own instance folder and SQLite file, migrated with ``houqin db upgrade``,
a small county imported with ``houqin schools import``, a county admin made with ``houqin users create``, the
hub started with ``houqin serve`` on a loopback port, and the schools' reports sent over signed HTTP.

Headless Debian Chromium (``/usr/bin/chromium``) driven by Playwright for Python; screenshots go to
``$HOUQIN_TEST_ARTIFACTS/screenshots/`` (default ``./test-artifacts``).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from district.config import PROJECT_ROOT
from district.demo.generate import SchoolProfile, monthly_report
from houqin_standard import SHANGHAI, current_period, period_add
from tests.livehub import LiveHub

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COUNTY = "610528"
ADMIN = ("bureau_admin", "Fuping-admin-2026")
SCHOOLS = 16  # 10 primary schools, 3 junior, 3 kindergartens (the demo registry's type mix)
MISSING_SCHOOL = f"{COUNTY}0007"  # sends nothing for the latest period
REVISED_SCHOOL = f"{COUNTY}0001"  # sends the latest period twice
HAZARD_SCHOOL = f"{COUNTY}0002"  # has a major hazard past its deadline
MISUSE_SCHOOL = f"{COUNTY}0003"  # spends subsidy on something else than food


def artifacts_dir() -> Path:
    base = Path(os.environ.get("HOUQIN_TEST_ARTIFACTS") or PROJECT_ROOT / "test-artifacts")
    out = base / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


TOWNSHIPS = ["城关街道", "庄里镇", "张桥镇", "美原镇", "流曲镇"]
TYPE_MIX = ["primary"] * 10 + ["junior"] * 3 + ["kindergarten"] * 3
KINDS = {"primary": "小学", "junior": "初级中学", "kindergarten": "幼儿园"}


def sample_registry(path: Path, schools: int, county: str) -> list[dict[str, str]]:
    """A small county of 富平县 for ``houqin schools import``: 10 primary schools, 3 junior, 3 kindergartens."""
    rows = []
    for i in range(schools):
        stype = TYPE_MIX[i % len(TYPE_MIX)]
        township = TOWNSHIPS[i % len(TOWNSHIPS)]
        rows.append({"code": f"{county}{i + 1:04d}", "name": f"富平县{township}第{i // 5 + 1}{KINDS[stype]}",
                     "county_code": county, "township": township, "type": stype,
                     "boarding": "true" if stype == "junior" else "false", "county_name": "富平县",
                     "city_code": county[:4] + "00", "city_name": "渭南市"})  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def reporting_periods(count: int = 2) -> list[str]:
    """The latest ``count`` months before the current one that are not summer-break months, oldest first."""
    out: list[str] = []
    p = period_add(current_period(), -1)
    while len(out) < count:
        if p[5:] not in ("07", "08"):
            out.append(p)
        p = period_add(p, -1)
    return sorted(out)


# Issuing every credential in one process (one `houqin schools credential` per school costs seconds each).
_ISSUE_CREDENTIALS = """
import json, sys
from district.app import create_app
from district.db import db
from district.registry.crypto import SecretBox
from district.registry.services import issue_credential
app = create_app()
with app.app_context():
    with db.transaction() as s:
        box = SecretBox(app.config["SERVER_KEY_FILE"])
        print(json.dumps({code: issue_credential(s, box, code) for code in sys.argv[1:]}))
"""


@dataclass
class Hub:
    base: str
    env: dict[str, str]
    instance: Path
    secrets: dict[str, str]
    periods: list[str]
    live: LiveHub
    profiles: dict[str, SchoolProfile] = field(default_factory=dict)
    receipts: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    reports: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def post(self, code: str, report: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self.live.post_report(report, school=code)


def _send_reports(hub: Hub, rows: list[dict[str, str]]) -> None:
    now = dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat()
    for row in rows:
        hub.profiles[row["code"]] = SchoolProfile.make(row["code"], row["type"], row["boarding"] == "true", 7)
        hub.profiles[row["code"]].participating = row["type"] in ("primary", "junior", "nine_year", "teaching_point")
    first, last = hub.periods
    for period in (first, last):
        for code, prof in hub.profiles.items():
            if period == last and code == MISSING_SCHOOL:
                continue
            variation = "MISUSE" if (code == MISUSE_SCHOOL and period == last) else None
            report = monthly_report(prof, period, prepared_at=now, variation=variation)
            if code == HAZARD_SCHOOL and period == first:
                y, m = int(period[:4]), int(period[5:])
                report["hazards"] = [
                    {
                        "ref": "YH-2026-01",
                        "found_on": f"{y:04d}-{m:02d}-03",
                        "category": "wiring",
                        "severity": "major",
                        "description": "教学楼二层配电箱线路老化，存在漏电风险",
                        "deadline": f"{y:04d}-{m:02d}-20",
                        "rectified_on": None,
                    }
                ]
            status, body = hub.post(code, report)
            assert status == 201, (code, period, status, body)
            hub.receipts.setdefault((code, period), []).append(body)
            hub.reports[(code, period)] = report
    # a second revision of the latest month: the clerk corrects two figures of the first one
    report = copy.deepcopy(hub.reports[(REVISED_SCHOOL, last)])
    report["report_id"] = str(uuid.uuid4())
    report["food_safety"]["training_hours"] = report["food_safety"]["training_hours"] + 6
    report["safety"]["drills"] = 2
    status, body = hub.post(REVISED_SCHOOL, report)
    assert status == 201 and body["revision"] == 2, body
    hub.receipts.setdefault((REVISED_SCHOOL, last), []).append(body)


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The shared ``LiveHub`` (SQLite, or a fresh PostgreSQL database under HOUQIN_TEST_POSTGRES_URL), set up
    through the ``houqin`` command, with every credential issued in one process."""
    tmp = tmp_path_factory.mktemp("hub")
    rows = sample_registry(tmp / "schools.csv", SCHOOLS, county=COUNTY)
    live = LiveHub(tmp, schools=rows)
    try:
        live.instance.mkdir(parents=True, exist_ok=True)
        live.cli("db", "upgrade")
        live.cli("schools", "import", str(tmp / "schools.csv"))
        out = subprocess.run(
            [sys.executable, "-c", _ISSUE_CREDENTIALS, *[r["code"] for r in rows]],
            env=live.env,
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        live.secrets = json.loads(out.stdout)
        live.cli(
            "users",
            "create",
            ADMIN[0],
            "--role",
            "county_admin",
            "--scope",
            COUNTY,
            "--password",
            ADMIN[1],
            "--name",
            "富平县教育局 王科长",
        )
        live.start()
        hub = Hub(live.url, live.env, live.instance, live.secrets, reporting_periods(), live)
        _send_reports(hub, rows)
        yield hub
    finally:
        live.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(browser: Any, hub: Hub) -> Iterator[Any]:
    """One signed-in-ready browser tab for a module's steps (they run in order, like a user's morning)."""
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
        viewport={"width": 1360, "height": 900},
        base_url=hub.base,
    )
    tab = context.new_page()
    tab.set_default_timeout(15000)
    try:
        yield tab
    finally:
        context.close()


def shot(page: Any, name: str) -> Path:
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
