"""The main job end to end (README command 1, issue 8): a realistic city on real moving parts.

Stages, each timed (``bench/demo`` prints them):
  setup     fresh database (migrations), the city's registry, credentials, bureau users
  hub       the hub process (embedded: ``houqin serve``; production: gunicorn + Celery workers per queue + beat)
  ingest    one real ``houqin-agent`` per school submits its months over signed HTTP, replayed on a demo clock
            (late schools, missing months, corrections, every fund anomaly, a veto, hazards, a locked period)
            富平县 (``V2_COUNTY``) moves to houqin/monthly-report@2 from the second month: its bureau requires it
            through the settings API, its agents learn it from the hub, its reports carry @2's four sections and
            each stock anomaly once; default-2 is loaded for it when the project ships that rubric
  rank      bureau on-site inspections (富平县's with a checklist and findings, read back from the hazard ledger),
            then each county's ranking through the API (workers recompute it) under the county's rubric
  fund      each county's 营养餐 fund report as xlsx and PDF through the API
  pdf       each county's evaluation PDFs as a job (per-school tasks on the ``pdf`` queue), zip downloaded

The production stack is selected by ``HOUQIN_DATABASE_URL`` and ``HOUQIN_BROKER_URL`` in the environment.

The demo tells the truth (issue 15): every figure it prints is read back from the hub (its API or its database),
never from the agents' outboxes, and a stage whose result on the hub differs from what the demo planted ends the
run with one Chinese line and a non-zero exit (``DemoFailed``). Each run starts from a clean folder of its own,
one per database (``demo_folder``), so one variant never finds the other's outboxes: an agent whose outbox already
holds a receipt for the same report answers "sent" without asking the hub, which is how a PostgreSQL run after a
SQLite one used to print every report delivered while the hub held a fraction of them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from district import clock
from district.config import PROJECT_ROOT
from district.demo.city import CITY, COUNTIES, DemoSchool, build_city, write_registry
from district.demo.generate import STOCK_VARIATIONS, SchoolProfile, monthly_report
from district.demo.web import Clerk, WebRefused, clerk_name, correction_id, web_schools
from houqin_standard import SHANGHAI, STANDARD_ID_2, parse_period, period_add, period_deadline, standard_version

FUND_VARIATIONS = [
    "MISUSE",
    "BALANCE_MISMATCH",
    "CARRY_OVER_MISMATCH",
    "MEALS_EXCEED_ENTITLEMENT",
    "SPEND_EXCEEDS_MEALS",
    "UNDERSPEND",
    "HIGH_BALANCE",
    "NONSTANDARD_RATE",
]
DEMO_PASSWORD = "houqin-demo-2026"  # noqa: S105 - printed at the end; a demo instance only
FOLDER_MARKER = ".houqin-demo"  # a folder the demo made and may empty; nothing else is ever deleted
PDF_JOB_TIMEOUT_S = 600  # plus a few seconds a school: a job not finished by then fails the run
# fund anomalies a planted variation must show in the hub's fund report; BALANCE_MISMATCH is planted and then
# corrected (the usual correction recomputes the closing balance), so the effective revision no longer has it
FUND_VARIATIONS_SHOWN = tuple(v for v in FUND_VARIATIONS if v != "BALANCE_MISMATCH")
# issue 20 item 6: 富平县 requires houqin/monthly-report@2 from the school year's second month on; the other
# counties stay on @1. Each stock anomaly (STOCK_VARIATIONS) is planted once in its @2 months.
V2_COUNTY = "610528"
# the rubric default-2 (SCORING.md), loaded for the @2 county when the project ships the file
RUBRIC_V2 = Path(__file__).resolve().parents[1] / "scoring" / "rubrics" / "default-v2.toml"
# what the @2 county's bureau notes on its checklist visits (督查): a failed item's note, and findings
CHECK_NOTES = {
    "A1": "校园商店有过期食品",
    "A2": "学生厕所隔断门损坏",
    "A3": "教室、走廊卫生死角较多",
    "A4": "教室插座松动，线路裸露",
    "A5": "饮水机滤芯超期未换",
    "B1": "绿化带杂草未清理",
    "C1": "留样记录不全",
    "C2": "一名帮厨健康证过期",
    "C6": "晨检记录未每日填写",
    "D1": "上月隐患未按期整改",
    "G1": "宿舍床铺规格不统一",
}
FINDINGS = [
    ("food", "食堂冷藏柜温度超标，生熟食品混放"),
    ("fire", "教学楼二楼灭火器压力不足，需更换"),
    ("toilets", "学生厕所冲水阀损坏，地面湿滑"),
    ("wiring", "配电箱未上锁，线路老化"),
    ("building", "围墙局部开裂，需加固"),
    ("drinking_water", "饮水机滤芯过期未换"),
]


class DemoFailed(click.ClickException):
    """What the hub holds differs from what the demo planted, or the demo cannot use its database: one Chinese
    line on stderr and exit 1, never a traceback and never a ✓."""

    def show(self, file: Any = None) -> None:
        click.echo(f"✗ {self.format_message()}", err=True, file=file)


def demo_folder(database_url: str | None = None, base: Path | None = None) -> Path:
    """The run's own folder under ``HOUQIN_INSTANCE_PATH`` (default ``./instance``), one per database:
    ``demo`` on the embedded SQLite, ``demo-<backend>-<database>`` otherwise (``demo-postgresql-houqin_demo``).

    Agents' outboxes, receipts, credentials, keys and logs of one database never meet another's.
    """
    from sqlalchemy.engine import make_url

    if base is None:
        base = Path(os.environ.get("HOUQIN_INSTANCE_PATH") or PROJECT_ROOT / "instance")
    base = base.resolve()  # the hub and workers run from the project root
    if not database_url:
        return base / "demo"
    url = make_url(database_url)
    backend = url.get_backend_name()
    name = url.database or "default"
    if backend == "sqlite":
        name = Path(name).stem or "memory"
    return base / f"demo-{backend}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"


def fresh_folder(folder: Path) -> None:
    """Empty ``folder`` (only one the demo made: it holds ``FOLDER_MARKER``) and mark it as the demo's."""
    if folder.exists():
        if not folder.is_dir() or (
            any(folder.iterdir())
            and not (folder / FOLDER_MARKER).exists()
            and not (folder / "demo-clock").exists()  # folders of demo runs before the marker
        ):
            raise DemoFailed(f"{folder} 不是演示目录（其中没有 {FOLDER_MARKER}），演示不会清空它；请换一个 --instance")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / FOLDER_MARKER).write_text("houqin demo: emptied at the start of each run\n", encoding="utf-8")


def _one_line(exc: BaseException) -> str:
    reason = getattr(exc, "orig", None) or exc
    return " ".join(str(reason).split())[:300]


def ensure_database(database_url: str) -> None:
    """PostgreSQL: create the demo's database when it is missing (from the server's ``postgres`` database, in
    AUTOCOMMIT: CREATE DATABASE cannot run in a transaction). A server that cannot be reached, or a database that
    cannot be created, ends the run with a Chinese line saying how to fix it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql" or not url.database:
        return
    engine = create_engine(url)
    try:
        with engine.connect():
            return
    except DBAPIError as exc:
        first_error = _one_line(exc)
    finally:
        engine.dispose()
    # connect to the server's own database: is the server there, and is ours missing (not merely refused)?
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    creating = False
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
            if exists:
                raise DemoFailed(
                    f"数据库 {url.database} 存在但无法连接（{first_error}）；请检查 HOUQIN_DATABASE_URL 中的用户和权限"
                )
            creating = True
            conn.execute(text(f"CREATE DATABASE {conn.dialect.identifier_preparer.quote(url.database)}"))
    except DBAPIError as exc:
        if not creating:
            raise DemoFailed(
                f"无法连接 PostgreSQL 服务器 {where}（{first_error}）；请先启动 PostgreSQL，"
                "或改正 HOUQIN_DATABASE_URL（postgresql+psycopg://用户@主机:端口/库名）"
            ) from None
        raise DemoFailed(
            f"数据库 {url.database} 不存在，且无法创建（{_one_line(exc)}）；请让数据库管理员执行 "
            f'CREATE DATABASE "{url.database}" OWNER "{url.username or "postgres"}"，'
            "或在 HOUQIN_DATABASE_URL 中换一个有 CREATEDB 权限的用户"
        ) from None
    finally:
        admin.dispose()


def ensure_broker(broker_url: str) -> None:
    """The production stack's Redis must answer before workers are started on it."""
    import redis

    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise DemoFailed(
            f"无法连接 Redis（{broker_url}：{_one_line(exc)}）；请先启动 Redis，或改正 HOUQIN_BROKER_URL"
        ) from None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def school_year_periods(today: dt.date, break_months: frozenset[int] = frozenset({7, 8})) -> list[str]:
    """The months of the current school year whose deadline has passed (at least the last three such months)."""
    last = period_add(f"{today.year:04d}-{today.month:02d}", -1)
    if period_deadline(last) > clock.now():
        last = period_add(last, -1)  # last month is still open until the 5th
    start = f"{today.year if today.month >= 9 else today.year - 1}-09"
    periods: list[str] = []
    p = last
    while len(periods) < 3 or p >= start:
        if parse_period(p)[1] not in break_months:
            periods.append(p)
        p = period_add(p, -1)
        if len(periods) >= 10:
            break
    return sorted(periods)


@dataclass(order=True)
class Submission:
    """One agent action on the demo clock."""

    at: dt.datetime
    school: str = field(compare=False)
    period: str = field(compare=False)
    kind: str = field(compare=False)  # submit | correct
    variation: str | None = field(compare=False, default=None)
    stock_variation: str | None = field(compare=False, default=None)


@dataclass
class Plan:
    periods: list[str]
    submissions: list[Submission]
    missing: list[tuple[str, str]]
    variations: dict[tuple[str, str], str]
    # the county that moves to houqin/monthly-report@2 and its first @2 month (None: every county stays on @1)
    v2: tuple[str, str] | None = None
    stock_variations: dict[tuple[str, str], str] = field(default_factory=dict)

    def standard(self, school: str, period: str) -> int:
        """The version of the standard the school's report of ``period`` is sent in."""
        if self.v2 is not None and school.startswith(self.v2[0]) and period >= self.v2[1]:
            return 2
        return 1


def make_plan(
    schools: list[DemoSchool],
    periods: list[str],
    seed: int,
    *,
    v2: tuple[str, str] | None = None,
    participating: frozenset[str] = frozenset(),
) -> Plan:
    """Who submits which month when: most by the 5th, some late, a few never; corrections; every variation.

    ``v2`` = (county, first month): that county's months from then on are sent in @2, and each stock anomaly is
    planted once in them, in a ``participating`` school that reports (its own school-month each when there are
    enough; the carry-over mismatch in a month whose previous month is a reported @2 month)."""
    rng = random.Random(f"plan:{seed}")
    variations: dict[tuple[str, str], str] = {}
    by_county: dict[str, list[DemoSchool]] = {}
    for s in schools:
        by_county.setdefault(s.county_code, []).append(s)
    for county_schools in by_county.values():
        feeding = [s for s in county_schools if s.type in ("primary", "junior", "nine_year")]
        for v in [*FUND_VARIATIONS, "VETO", "OVERDUE_MAJOR", "OVERDUE_MAJOR", "ENERGY_JUMP"]:
            pool = feeding if v in FUND_VARIATIONS else county_schools
            if not pool:
                continue
            for _ in range(20):
                key = (rng.choice(pool).code, rng.choice(periods[1:] or periods))
                if key not in variations:
                    variations[key] = v
                    break
    subs: list[Submission] = []
    missing: list[tuple[str, str]] = []
    now = clock.now()
    never = {rng.choice(c).code for c in by_county.values()}  # one school per county that never reports
    stock, kept = _plant_stock(by_county, periods, seed, v2, participating, never, variations)
    for s in schools:
        late_school = rng.random() < 0.12
        for period in periods:
            if s.code in never or (
                rng.random() < 0.04 and (s.code, period) not in variations and (s.code, period) not in kept
            ):
                missing.append((s.code, period))
                continue
            y, m = parse_period(period_add(period, 1))
            day = rng.randint(6, 20) if late_school and rng.random() < 0.7 else rng.randint(1, 5)
            at = dt.datetime(y, m, day, rng.randint(8, 17), rng.randint(0, 59), tzinfo=SHANGHAI).astimezone(dt.UTC)
            at = min(at, now - dt.timedelta(minutes=5))
            subs.append(
                Submission(at, s.code, period, "submit", variations.get((s.code, period)), stock.get((s.code, period)))
            )
            if rng.random() < 0.06 or variations.get((s.code, period)) == "BALANCE_MISMATCH":
                fix = min(at + dt.timedelta(days=rng.randint(1, 6)), now - dt.timedelta(minutes=1))
                subs.append(Submission(fix, s.code, period, "correct"))
    return Plan(periods, sorted(subs), missing, variations, v2, stock)


def _plant_stock(
    by_county: dict[str, list[DemoSchool]],
    periods: list[str],
    seed: int,
    v2: tuple[str, str] | None,
    participating: frozenset[str],
    never: set[str],
    variations: dict[tuple[str, str], str],
) -> tuple[dict[tuple[str, str], str], set[tuple[str, str]]]:
    """Each stock anomaly once in the @2 county's @2 months (school-months without a fund variation first), and
    the school-months that must be reported for them to show (the planted ones, and the month before a
    carry-over mismatch)."""
    if v2 is None:
        return {}, set()
    county, start = v2
    rng = random.Random(f"stock:{seed}")
    pool = sorted(s.code for s in by_county.get(county, []) if s.code in participating and s.code not in never)
    stock: dict[tuple[str, str], str] = {}
    kept: set[tuple[str, str]] = set()
    for v in STOCK_VARIATIONS:
        options = [
            (code, period, i)
            for code in pool
            for i, period in enumerate(periods)
            if period >= start
            and (code, period) not in stock
            and (v != "STOCK_CARRY_OVER_MISMATCH" or (i > 0 and periods[i - 1] >= start))
        ]
        if not options:
            continue
        free = [o for o in options if (o[0], o[1]) not in variations and (o[0], o[1]) not in kept]
        code, period, i = rng.choice(free or options)
        stock[(code, period)] = v
        kept.add((code, period))
        if v == "STOCK_CARRY_OVER_MISMATCH":
            kept.add((code, periods[i - 1]))
    return stock, kept


@dataclass
class HubReports:
    """The hub's own count of what it stored (read from its database, never from an agent's outbox)."""

    revisions: Counter[tuple[str, str]]  # (school, period) -> revisions stored
    heads: int  # school-months with a report
    on_time: int  # of those, first arrived by the deadline
    refusals: dict[tuple[str, str], list[tuple[int, str]]]  # (school, period) -> [(HTTP status, code)]


def _some(keys: Counter[tuple[str, str]]) -> str:
    return "、".join(f"{school} {period}" for school, period in sorted(keys)[:3]) + ("…" if len(keys) > 3 else "")


def compare_reports(planned: Counter[tuple[str, str]], held: Counter[tuple[str, str]]) -> str | None:
    """``None`` when the hub holds exactly the planted revisions of every school-month, else the Chinese line
    saying what differed ("计划送达 300 份，教育局服务器上只有 34 份；缺 266 份（如 …）")."""
    if planned == held:
        return None
    p, h = sum(planned.values()), sum(held.values())
    parts = [f"计划送达 {p} 份，教育局服务器上{'只' if h < p else ''}有 {h} 份"]
    lost, extra = planned - held, held - planned
    if lost:
        parts.append(f"缺 {sum(lost.values())} 份（如 {_some(lost)}）")
    if extra:
        parts.append(f"多出 {sum(extra.values())} 份（如 {_some(extra)}）")
    return "；".join(parts)


def compare_anomalies(
    name: str, planted: set[tuple[str, str, str]], listed: set[tuple[str, str, str]], *, exact: Collection[str] = ()
) -> str | None:
    """``None`` when the hub's fund report lists every planted anomaly (school, period, code) and, for each code
    of ``exact`` (anomalies that arise only where planted), no other; else the Chinese line saying what
    differed."""
    lost = sorted(planted - listed)
    if lost:
        return (
            f"{name} 计划的资金异常 {len(planted)} 处，服务器资金报表只列出其中 {len(planted) - len(lost)} 处"
            f"（缺 {'、'.join(' '.join(a) for a in lost[:3])}）"
        )
    for code in sorted(exact):
        extra = sorted(a for a in listed - planted if a[2] == code)
        if extra:
            meant = sum(1 for a in planted if a[2] == code)
            return (
                f"{name} 计划 {code} {meant} 处，服务器资金报表列出 {meant + len(extra)} 处"
                f"（多出 {'、'.join(' '.join(a[:2]) for a in extra[:3])}）"
            )
    return None


def expected_statuses(schools: list[DemoSchool], plan: Plan, rubrics: dict[str, Any] | None = None) -> dict[str, str]:
    """The ranking status each school must have from what was planted, under its county's rubric (``rubrics``:
    county → ``Rubric``; default-1 when not given; SCORING.md): ``veto`` for a school with a planted 一票否决 month
    (a poisoning incident, when the rubric vetoes it), else ``insufficient_data`` below the rubric's coverage
    (default 80 %) of its months reported, else ``scored`` (达标 or 未达标 by its score)."""
    from district.scoring.rubric import load_default_rubric

    default = load_default_rubric()
    reported = {(s.school, s.period) for s in plan.submissions}
    months = Counter(code for code, _period in reported)
    poisoned = {key[0] for key, v in plan.variations.items() if v == "VETO" and key in reported}
    out: dict[str, str] = {}
    for s in schools:
        rubric = (rubrics or {}).get(s.county_code) or default
        if s.code in poisoned and "food_safety.poisoning_incidents" in rubric.veto_fields:
            out[s.code] = "veto"
        elif Fraction(months[s.code]) < rubric.min_coverage * len(plan.periods):
            out[s.code] = "insufficient_data"
        else:
            out[s.code] = "scored"
    return out


class Checklists:
    """The @2 county's bureau visits its schools with a checklist (``items``: the rubric's indicator codes,
    pass / fail / not_applicable) and, at some schools, writes down findings to fix by a deadline; each finding
    must then be an entry ``DC-<inspection id>-<n>`` of the school's hazard ledger on the hub, and each visit's
    score the one its items make (SCORING.md)."""

    def __init__(self, demo: Demo, county: str) -> None:
        from district.scoring.rubric import load_default_rubric

        self.demo, self.county = demo, county
        self.name = next(n for code, n, _ in COUNTIES if code == county)
        self.first = next((s.code for s in demo.schools if s.county_code == county), "")
        rubric = demo.rubrics.get(county) or load_default_rubric()
        self.codes = [i.code for i in rubric.indicators if i.code in CHECK_NOTES]
        self.visits = 0
        self.items: Counter[str] = Counter()
        self.findings: dict[str, tuple[str, str]] = {}  # ref → (school, description), as the hub must list them

    def _applies(self, school: DemoSchool, code: str) -> bool:
        profile = self.demo.profiles.get(school.code)
        canteen = profile is not None and profile.participating  # the demo's schools have a canteen when feeding
        if code == "A1":
            return school.type not in ("kindergarten", "teaching_point")  # no school shop there
        if code in ("C1", "C2", "C6"):
            return canteen
        if code == "G1":
            return school.boarding
        return True

    def visit(self, school: DemoSchool, day: dt.date) -> None:
        rng = random.Random(f"checklist:{self.demo.seed}:{school.code}")
        items = []
        for code in self.codes:
            if not self._applies(school, code):
                items.append({"code": code, "result": "not_applicable", "note": ""})
            elif rng.random() < 0.85:
                items.append({"code": code, "result": "pass", "note": ""})
            else:
                items.append({"code": code, "result": "fail", "note": CHECK_NOTES[code]})
        findings = []
        if school.code == self.first or rng.random() < 0.15:
            for category, description in rng.sample(FINDINGS, rng.randint(1, 2)):
                days = rng.choice([7, 14, 30])
                findings.append(
                    {
                        "category": category,
                        "severity": "major" if category == "fire" and days == 30 else "general",
                        "description": description,
                        "deadline": (day + dt.timedelta(days=days)).isoformat(),
                    }
                )
        body: dict[str, Any] = {
            "date": day.isoformat(),
            "inspector": f"{self.name}教育局督导室",
            "notes": "督查：五项整治、食品安全与校园安全现场检查（演示）",
            "items": items,
        }
        if findings:
            body["findings"] = findings
        status, view, raw = self.demo.api(
            "POST", f"/api/v1/schools/{school.code}/inspections", body, token=self.demo.county_tokens[self.county]
        )
        if status != 201 or not view:
            raise DemoFailed(f"{school.name} 的督查记录未能录入（HTTP {status}：{raw[:200].decode(errors='replace')}）")
        passed = sum(1 for i in items if i["result"] == "pass")
        failed = sum(1 for i in items if i["result"] == "fail")
        # SCORING.md: 5 × passed / (passed + failed), half up to one decimal (none applicable: no score)
        meant = (
            None
            if passed + failed == 0
            else (Decimal(5 * passed) / Decimal(passed + failed)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        )
        got = None if view.get("score") is None else Decimal(str(view["score"])).quantize(Decimal("0.1"))
        if got != meant:
            raise DemoFailed(
                f"{school.name} 的督查 {passed} 项合格、{failed} 项不合格，应得 {meant} 分，服务器记为 {got} 分"
            )
        self.visits += 1
        self.items.update(i["result"] for i in items)
        for n, f in enumerate(findings, start=1):
            self.findings[f"DC-{view['id']}-{n}"] = (school.code, f["description"])

    def check(self) -> None:
        """Every finding in the hub's hazard ledger under its ref, and nothing else of the bureau's."""
        listed = self.demo.hub_findings(self.county)
        if listed != self.findings:
            lost = sorted(set(self.findings) - set(listed))
            raise DemoFailed(
                f"{self.name} 督查发现问题 {len(self.findings)} 条，服务器隐患台账中有 {len(listed)} 条"
                + (f"（缺 {'、'.join(lost[:3])}）" if lost else "")
            )
        schools = len({code for code, _d in listed.values()})
        self.demo.summary["checklist"] = {"visits": self.visits, "items": dict(self.items), "findings": len(listed)}
        self.demo.echo(
            f"  {self.name}督查 {self.visits} 次（检查项合格 {self.items['pass']}、不合格 {self.items['fail']}、"
            f"不适用 {self.items['not_applicable']}），发现问题 {len(listed)} 条（{schools} 所学校），"
            "均已列入服务器隐患台账 / checklist findings are in the hazard ledger"
        )


class StageTimer:
    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str, label: str) -> Iterator[None]:
        self.echo(f"\n▶ {label}")
        started = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - started
        self.echo(f"  ✓ {self.seconds[name]:.1f} s")


class Demo:
    """One run of the main job. ``instance`` holds the database (embedded), keys, agents, PDFs and reports."""

    def __init__(
        self,
        instance: Path,
        *,
        schools: int,
        seed: int,
        echo: Callable[[str], None] = click.echo,
        pdf_counties: int | None = None,
        port: int = 0,
    ) -> None:
        self.instance = instance.resolve()  # the hub and workers run from the project root
        instance = self.instance
        self.total = schools
        self.seed = seed
        self.echo = echo
        self.timer = StageTimer(echo)
        # a database of its own (the demo empties it) unless none is configured: then SQLite in the folder
        self.database_url = os.environ.get("HOUQIN_DATABASE_URL") or None
        self.broker_url = os.environ.get("HOUQIN_BROKER_URL") or None
        self.production = bool(self.database_url and self.broker_url)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock_file = instance / "demo-clock"
        self.env = {
            **os.environ,
            "HOUQIN_INSTANCE_PATH": str(instance),
            "HOUQIN_DEMO_CLOCK_FILE": str(self.clock_file),
            "HOUQIN_RATE_LIMIT_PER_MINUTE": "100000",
            "HOUQIN_RANKING_DEBOUNCE_SECONDS": "2",
            # the bureau asks for every county's batch at once (--pdf-counties 4): one job per county
            "HOUQIN_PDF_JOBS_PER_USER": str(len(COUNTIES)),
            # the demo's hub is reachable at this loopback address only: the one its PDFs print (and, plain
            # http on loopback, the session cookie is not Secure-only: district/app.py)
            "HOUQIN_PUBLIC_URL": f"{self.url}/",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        if not self.production:  # a broker without the production stack's workers would swallow every task
            self.env.pop("HOUQIN_BROKER_URL", None)
            self.env.pop("HOUQIN_RESULT_BACKEND", None)
        self.app: Any = None  # the hub's app in this process: its database is where the demo reads figures back
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.pdf_counties = pdf_counties
        self.token = ""
        self.county_tokens: dict[str, str] = {}
        self.schools: list[DemoSchool] = []
        self.reports_dir = instance / "reports"
        self.summary: dict[str, Any] = {}
        self.notes: list[str] = []  # lines said while the agents' output is captured, printed after them
        self.rubrics: dict[str, Any] = {}  # county → the rubric the demo loaded for it (others: default-1)
        self.profiles: dict[str, SchoolProfile] = {}

    # ------------------------------------------------------------------ helpers

    def set_clock(self, at: dt.datetime | None) -> None:
        """Move the hub's demo clock (and the agents', through HOUQIN_AGENT_CLOCK_OFFSET) to ``at``."""
        offset = 0.0 if at is None else at.timestamp() - time.time()
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(f"{offset:.3f}")
        tmp.replace(self.clock_file)
        os.environ["HOUQIN_AGENT_CLOCK_OFFSET"] = f"{offset:.3f}"

    def api(
        self, method: str, path: str, body: Any = None, *, timeout: float = 600, token: str | None = None
    ) -> tuple[int, Any, bytes]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {token or self.token}",
                "Content-Type": "application/json",
                "Accept-Language": "zh",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                ctype = resp.headers.get("Content-Type", "")
                return resp.status, (json.loads(raw) if "json" in ctype else None), raw
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            exc.close()
            try:
                return exc.code, json.loads(raw), raw
            except ValueError:
                return exc.code, None, raw

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.instance / "logs" / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            args, env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.procs.append((name, proc))

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []

    # ------------------------------------------------------------------ stages

    def setup(self) -> None:
        from district.app import create_app
        from district.auth.services import create_token, create_user
        from district.db import db
        from district.migrate import upgrade
        from district.registry.crypto import SecretBox
        from district.registry.models import County
        from district.registry.services import import_schools, issue_credential
        from district.reports.windows import configure_county

        if self.production:  # Redis first: a database is not created for a run that cannot start its workers
            assert self.broker_url
            ensure_broker(self.broker_url)
        if self.database_url:
            ensure_database(self.database_url)
        fresh_folder(self.instance)  # never the outboxes, receipts or keys of an earlier run
        (self.instance / "logs").mkdir(parents=True, exist_ok=True)
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        self.set_clock(None)
        override: dict[str, Any] = {
            "INSTANCE_PATH": str(self.instance),
            "DEMO_CLOCK_FILE": None,
            "PUBLIC_URL": f"{self.url}/",
        }
        if not self.production:
            override.update(BROKER_URL=None, RESULT_BACKEND=None)
        app = self.app = create_app(override)
        with app.app_context():
            assert db.engine is not None
            if self.database_url:
                _reset_database(db.engine)
            upgrade(db.engine)
            self.schools = build_city(self.total, self.seed)
            registry = self.instance / "schools.csv"
            write_registry(registry, self.schools)
            box = SecretBox(app.config["SERVER_KEY_FILE"])
            with db.transaction() as s:
                result = import_schools(s, registry, actor="demo")
                # the city started collecting through the hub with this school year (上线月份): no month before
                # it is expected of any school, on any page, PDF or ranking
                start = school_year_periods(clock.today())[0]
                for county in s.query(County):
                    county.campaign_start_year = 2025
                    configure_county(s, county.code, reporting_start=start, actor="demo")
                self.echo(f"  {CITY[1]} {len(COUNTIES)} 个县 {result.created} 所学校 / schools imported")
            creds = self.instance / "credentials"
            creds.mkdir(exist_ok=True)
            with db.transaction() as s:
                for school in self.schools:
                    secret = issue_credential(s, box, school.code, actor="demo")
                    path = creds / f"{school.code}.json"
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "w") as fh:
                        json.dump({"school_code": school.code, "secret": secret}, fh)
            self.echo(f"  {len(self.schools)} 份学校凭据 / credentials issued (files 0600 in {creds})")
            with db.transaction() as s:
                admin = create_user(
                    s, "admin", DEMO_PASSWORD, "city_admin", scope=CITY[0], display_name="渭南市教育局", actor="demo"
                )
                for code, name, _towns in COUNTIES:
                    county_admin = create_user(
                        s,
                        f"admin{code}",
                        DEMO_PASSWORD,
                        "county_admin",
                        scope=code,
                        display_name=f"{name}教育局",
                        actor="demo",
                    )
                    # a period is locked by its county's own bureau (a city_admin reads, locks nothing)
                    self.county_tokens[code] = create_token(s, county_admin, "demo")
                # some schools report on the hub's web pages beside the agents (issue 19): their clerks
                for code in web_schools([school.code for school in self.schools]):
                    create_user(s, clerk_name(code), DEMO_PASSWORD, "school_clerk", scope=code, actor="demo")
                self.token = create_token(s, admin, "demo")
        from district.audit.keys import init_keys

        if not (self.instance / "keys" / "current").exists():
            init_keys(self.instance / "keys")

    def start_hub(self) -> None:
        py = sys.executable
        if self.production:
            self._spawn(
                "hub",
                [
                    py,
                    "-m",
                    "gunicorn",
                    "-w",
                    "2",
                    "-b",
                    f"127.0.0.1:{self.port}",
                    "--timeout",
                    "600",
                    "district.wsgi:app",
                ],
            )
            self._spawn(
                "worker",
                [
                    py,
                    "-m",
                    "celery",
                    "-A",
                    "workers.worker",
                    "worker",
                    "-Q",
                    "default",
                    "-c",
                    "2",
                    "-n",
                    f"default-{self.port}@%h",
                    "--loglevel",
                    "INFO",
                ],
            )
            self._spawn(
                "worker-pdf",
                [
                    py,
                    "-m",
                    "celery",
                    "-A",
                    "workers.worker",
                    "worker",
                    "-Q",
                    "pdf",
                    "-c",
                    "2",
                    "-n",
                    f"pdf-{self.port}@%h",
                    "--max-memory-per-child",
                    "700000",
                    "--loglevel",
                    "INFO",
                ],
            )
            self._spawn(
                "beat",
                [
                    py,
                    "-m",
                    "celery",
                    "-A",
                    "workers.worker",
                    "beat",
                    "-s",
                    str(self.instance / "celerybeat-schedule"),
                    "--loglevel",
                    "INFO",
                ],
            )
        else:
            self._spawn("hub", [py, "-m", "district", "serve", "--port", str(self.port)])
        deadline = time.time() + 60
        while time.time() < deadline:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            time.sleep(0.2)
        else:
            raise click.ClickException(f"the hub did not start; see {self.instance / 'logs'}")
        kind = (
            "gunicorn ×2 + celery default/pdf + beat (PostgreSQL, Redis)"
            if self.production
            else "houqin serve (SQLite, tasks in-process)"
        )
        self.echo(f"  {self.url}  {kind}")

    def ingest(self) -> None:
        from school_agent.cli import main as agent

        periods = school_year_periods(clock.today())
        profiles = {s.code: SchoolProfile.make(s.code, s.type, s.boarding, self.seed) for s in self.schools}
        self.profiles = profiles
        # 富平县 moves to @2 from the school year's second month (issue 20 item 6)
        plan = make_plan(
            self.schools,
            periods,
            self.seed,
            v2=(V2_COUNTY, periods[1]),
            participating=frozenset(code for code, p in profiles.items() if p.participating),
        )
        self.summary["periods"] = periods
        agents = self.instance / "agents"
        sink = io.StringIO()
        results: Counter[str] = Counter()
        lock = threading.Lock()

        def run_agent(argv: list[str]) -> int:
            return agent(argv)

        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            with ThreadPoolExecutor(8) as pool:
                codes = list(
                    pool.map(
                        lambda s: run_agent(
                            [
                                "--home",
                                str(agents / s.code),
                                "setup",
                                "--hub",
                                self.url,
                                "-c",
                                str(self.instance / "credentials" / f"{s.code}.json"),
                                "--name",
                                s.name,
                                "--clerk",
                                "总务处",
                            ]
                        ),
                        self.schools,
                    )
                )
        failed = [s.name for s, c in zip(self.schools, codes, strict=True) if c != 0]
        if failed:
            raise DemoFailed(f"{len(failed)} 个学校客户端未能连接枢纽完成配置（如 {'、'.join(failed[:3])}）")
        self.echo(f"  {len(self.schools)} 个学校客户端已配置 / agents set up; 月份 {', '.join(periods)}")
        # the reports are made in month order per school (carry-over), then sent on the demo clock by day
        bodies: dict[tuple[str, str, str], dict[str, Any]] = {}
        for period in periods:
            for sub in plan.submissions:
                if sub.period == period and sub.kind == "submit":
                    bodies[(sub.school, period, "submit")] = monthly_report(
                        profiles[sub.school],
                        period,
                        variation=sub.variation,
                        prepared_at=sub.at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
                        standard=plan.standard(sub.school, period),
                        stock_variation=sub.stock_variation,
                    )
        for sub in plan.submissions:
            if sub.kind == "correct":
                original = bodies[(sub.school, sub.period, "submit")]
                fixed = json.loads(json.dumps(original))
                n = fixed["nutrition"]
                if n.get("participating"):
                    # the usual correction: the balance recomputed, the clerk's name corrected
                    from decimal import Decimal

                    closing = (
                        Decimal(n["opening_balance"])
                        + Decimal(n["funds_received"])
                        - Decimal(n["food_spend"])
                        - Decimal(n["other_spend"])
                    )
                    n["closing_balance"] = f"{closing:.2f}"
                fixed["prepared_by"] = fixed["prepared_by"] + "（更正）"
                fixed["prepared_at"] = sub.at.astimezone(SHANGHAI).isoformat(timespec="seconds")
                bodies[(sub.school, sub.period, "correct")] = fixed
        days: dict[dt.date, list[Submission]] = {}
        for sub in plan.submissions:
            days.setdefault(sub.at.astimezone(SHANGHAI).date(), []).append(sub)

        on_web = set(web_schools([s.code for s in self.schools]))
        assert plan.v2 is not None
        v2_county, v2_from = plan.v2
        # the bureau requires @2 at the start of the month it applies to, before any report of that month is sent
        v2_at = dt.datetime(*parse_period(v2_from), 1, 8, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)
        v2_required = False

        def send(sub: Submission) -> None:
            home = agents / sub.school
            body = bodies[(sub.school, sub.period, sub.kind)]
            if sub.school in on_web:  # the clerk's browser: sign in, upload, preview, 确认报送
                if sub.kind == "correct":
                    body = dict(body, report_id=correction_id(body))
                try:
                    clerk = Clerk(self.url, sub.school, DEMO_PASSWORD)
                    clerk.sign_in()
                    clerk.submit(body, f"月报_{sub.period}_{sub.kind}.json")
                    outcome = "web:0"
                except (WebRefused, OSError) as exc:
                    print(f"{sub.school} {sub.period} 网页报送失败：{exc}")
                    outcome = "web:1"
                with lock:
                    results[f"{sub.kind}:{outcome}"] += 1
                return
            path = home / f"月报_{sub.period}_{sub.kind}.json"
            path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
            argv = (
                ["--home", str(home), "submit", "--yes", str(path)]
                if sub.kind == "submit"
                else ["--home", str(home), "correct", "--yes", sub.period, str(path)]
            )
            code = run_agent(argv)
            with lock:
                results[f"{sub.kind}:{code}"] += 1

        with (
            click.progressbar(
                length=len(plan.submissions), label="  学校报送 / agents reporting", file=sys.__stderr__
            ) as bar,
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            for day in sorted(days):
                batch = days[day]
                if not v2_required and min(s.at for s in batch) >= v2_at:
                    self.set_clock(v2_at)
                    self.require_v2(v2_county, v2_from, agents, on_web)
                    v2_required = True
                # the whole day runs on one clock: the earliest submission of the day, a few seconds apart after
                self.set_clock(min(s.at for s in batch))
                by_school: dict[str, list[Submission]] = {}
                for sub in batch:
                    by_school.setdefault(sub.school, []).append(sub)

                def school_day(subs: list[Submission]) -> None:
                    for sub in sorted(subs):
                        send(sub)
                        bar.update(1)

                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(school_day, by_school.values()))
        if not v2_required:  # no report was sent after the switch (cannot happen with a plan): still required
            self.set_clock(v2_at)
            self.require_v2(v2_county, v2_from, agents, on_web)
        self.set_clock(None)
        self.plan, self.bodies = plan, bodies
        # the agents' exit codes only explain a failure; every figure printed below is the hub's
        refused = {k: v for k, v in sorted(results.items()) if not k.endswith(":0")}
        planned = Counter((s.school, s.period) for s in plan.submissions)
        hub = self.hub_reports()
        problem = compare_reports(planned, hub.revisions)
        if problem or refused:
            agents_note = "；客户端未取得回执：" + "、".join(f"{k} ×{v}" for k, v in refused.items()) if refused else ""
            raise DemoFailed(f"{problem or '服务器上的月报与计划一致'}{agents_note}；日志见 {self.instance / 'logs'}")
        first_at: dict[tuple[str, str], dt.datetime] = {}
        for sub in plan.submissions:
            first_at.setdefault((sub.school, sub.period), sub.at)
        planned_on_time = sum(1 for (_code, period), at in first_at.items() if at <= period_deadline(period))
        if hub.on_time != planned_on_time:
            raise DemoFailed(f"计划按时报送 {planned_on_time} 个学校·月，教育局服务器记为按时的有 {hub.on_time} 个")
        expected = reported = 0
        for county, name, _ in COUNTIES:
            for period in periods:
                status, view, _ = self.api("GET", f"/api/v1/counties/{county}/completeness?period={period}")
                if status != 200 or not view:
                    raise DemoFailed(f"{name} {period} 的报送完整性读取失败（HTTP {status}）")
                expected += int(view["expected"])
                reported += int(view["reported"])
        if reported != hub.heads or expected - reported != len(plan.missing):
            raise DemoFailed(
                f"计划未报 {len(plan.missing)} 个学校·月、已报 {len(first_at)} 个，教育局服务器的完整性统计为"
                f"未报 {expected - reported} 个、已报 {reported} 个"
            )
        web_sent = sum(v for k, v in results.items() if k.endswith(":web:0"))
        web_held = self.hub_web_revisions()
        if web_held != web_sent:
            raise DemoFailed(f"网页报送 {web_sent} 份，教育局服务器记为网页报送（web:）的修订有 {web_held} 份")
        self.summary.update(
            web_revisions=web_held,
            web_schools=len(on_web),
            revisions=sum(hub.revisions.values()),
            school_months=hub.heads,
            on_time=hub.on_time,
            missing=expected - reported,
            corrections=sum(hub.revisions.values()) - hub.heads,
            planted=dict(Counter(plan.variations.values())),
        )
        revisions = sum(hub.revisions.values())
        self.echo(
            f"  教育局服务器收到 {revisions} 份月报 / reports on the hub: {hub.heads} 个学校·月"
            f"（按时 {hub.on_time}，迟报 {hub.heads - hub.on_time}），更正 {revisions - hub.heads} 份；"
            f"未报 {expected - reported} 个学校·月 / never reported — 与计划一致 / as planted"
        )
        self.echo(
            f"  其中 {len(on_web)} 所学校通过网页报送 {web_held} 份 / via the hub's web pages "
            f"(clerk{next(iter(sorted(on_web)), '…')} / {DEMO_PASSWORD})，其余由学校客户端报送 / the rest by agents"
        )
        self.echo(
            "  设计的异常 / planted cases: "
            + ", ".join(f"{k}×{v}" for k, v in sorted(self.summary["planted"].items()))
            + "（核对见排名与资金报表 / checked in ④ ⑤）"
        )
        for line in self.notes:
            self.echo(line)
        self.notes.clear()
        self.check_v2(v2_county, v2_from)
        # the bureau approves the first month of 富平县; a school's late correction is then refused
        first = periods[0]
        lock_path, fuping = f"/api/v1/periods/610528/{first}/lock", self.county_tokens["610528"]
        status, _state, _ = self.api("POST", lock_path, {"note": "审核通过（演示）"}, token=fuping)
        _s, state, _ = self.api("GET", f"/api/v1/periods/610528/{first}")
        if status != 200 or not (state or {}).get("locked"):
            raise DemoFailed(f"富平县 {first} 未能审核锁定（HTTP {status}，服务器状态 {state}）")
        target = next(s for s in self.schools if s.county_code == "610528" and (s.code, first) not in plan.missing)
        body = dict(bodies[(target.code, first, "submit")], prepared_by="补报人")
        path = agents / target.code / f"月报_{first}_locked.json"
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            code = run_agent(["--home", str(agents / target.code), "correct", "--yes", first, str(path)])
        after = self.hub_reports()
        kept, meant = after.revisions[(target.code, first)], planned[(target.code, first)]
        refusals = after.refusals.get((target.code, first), [])
        if kept != meant or not any(c == "period_locked" for _st, c in refusals):
            raise DemoFailed(
                f"富平县 {first} 已锁定，{target.name} 的更正却没有被服务器拒收：该月计划 {meant} "
                f"个版本，服务器上 {kept} 个，拒收记录 {refusals or '无'}（客户端退出码 {code}）"
            )
        st, reason = next((st, c) for st, c in refusals if c == "period_locked")
        self.echo(
            f"  富平县 {first} 已审核锁定 / locked; {target.name} 的更正被拒绝 / correction refused "
            f"(HTTP {st} {reason}); 服务器上该月仍为 {kept} 个版本"
        )

    def hub_reports(self) -> HubReports:
        """What the hub's database holds: revisions per school-month, school-months, on time, refusals."""
        from sqlalchemy import func, select

        from district.db import db
        from district.reports.models import Rejection, ReportHead, ReportRevision

        with self.app.app_context():
            s = db.session()
            revisions = Counter(
                {
                    (code, period): n
                    for code, period, n in s.execute(
                        select(ReportRevision.school_code, ReportRevision.period, func.count()).group_by(
                            ReportRevision.school_code, ReportRevision.period
                        )
                    )
                }
            )
            heads = s.scalar(select(func.count()).select_from(ReportHead)) or 0
            on_time = s.scalar(select(func.count()).select_from(ReportHead).where(ReportHead.on_time.is_(True))) or 0
            refusals: dict[tuple[str, str], list[tuple[int, str]]] = {}
            for code, period, status, reason in s.execute(
                select(Rejection.school_code, Rejection.period, Rejection.status, Rejection.code)
            ):
                refusals.setdefault((code or "", period or ""), []).append((status, reason))
        return HubReports(revisions, heads, on_time, refusals)

    def hub_web_revisions(self) -> int:
        """Revisions the hub records as sent from its web pages (signer ``web:<username>``)."""
        from sqlalchemy import func, select

        from district.db import db
        from district.reports.models import ReportRevision

        with self.app.app_context():
            s = db.session()
            return int(
                s.scalar(select(func.count()).select_from(ReportRevision).where(ReportRevision.signer.like("web:%")))
                or 0
            )

    def require_v2(self, county: str, start: str, agents: Path, on_web: set[str]) -> None:
        """The county's bureau requires houqin/monthly-report@2 from ``start`` on (the settings API, as the county's
        own bureau user), loads default-2 for it when the project ships that rubric, and one of its schools'
        agents, asked for the month's template, writes it in @2: the agents learn the version from the hub
        (``GET /api/v1/period-state``). What is said is kept for after the agents' run (``self.notes``)."""
        from school_agent.cli import main as agent

        name = next(n for code, n, _ in COUNTIES if code == county)
        token = self.county_tokens[county]
        wanted = {"version": 2, "from": start}
        path = f"/api/v1/counties/{county}/settings"
        status, _view, raw = self.api("PUT", path, {"require_standard": wanted}, token=token)
        _s, view, _ = self.api("GET", path, token=token)
        if status != 200 or (view or {}).get("require_standard") != wanted:
            raise DemoFailed(
                f"{name} 未能要求自 {start} 起按第 2 版数据标准报送（HTTP {status}："
                f"{raw[:200].decode(errors='replace')}；服务器设置 {(view or {}).get('require_standard')}）"
            )
        rubric = self.load_rubric_v2(county)
        school = next(s for s in self.schools if s.county_code == county and s.code not in on_web)
        target = agents / school.code / f"后勤月报_{school.code}_{start}.xlsx"
        said = io.StringIO()
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            code = agent(["--home", str(agents / school.code), "template", start, "-o", str(target), "--force"])
        if code != 0 or "第 2 版数据标准" not in said.getvalue():
            raise DemoFailed(
                f"{name} 已要求第 2 版，{school.name} 的客户端生成的 {start} 模板却不是第 2 版（退出码 {code}）："
                f"{' '.join(said.getvalue().split())[:200]}"
            )
        self.notes.append(
            f"  {name}教育局要求自 {start} 起按第 2 版数据标准报送 / requires houqin/monthly-report@2 from {start}; "
            f"{school.name} 的客户端据服务器生成第 2 版模板（另有行事历、食堂管控、食堂库存、意见箱四张表）"
            f"；评分细则 {rubric}"
        )

    def load_rubric_v2(self, county: str) -> str:
        """default-2 (``district/scoring/rubrics/default-v2.toml``) for the @2 county, loaded the way a bureau
        loads a rubric (``houqin rubric load FILE --county X``); returns the county's rubric version (the ranking
        check below reads it for that county)."""
        from district.scoring.rubric import load_rubric_file

        res = subprocess.run(
            [sys.executable, "-m", "district", "rubric", "load", str(RUBRIC_V2), "--county", county],
            env=self.env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if res.returncode != 0:
            why = " ".join((res.stderr or res.stdout).split())[:300]
            raise DemoFailed(f"{county} 未能加载评分细则 default-2：{why}")
        self.rubrics[county] = load_rubric_file(RUBRIC_V2)
        return self.rubrics[county].version

    def hub_standards(self, county: str) -> Counter[tuple[str, int]]:
        """(period, standard version) → revisions of the county's schools the hub stores, read from its database
        (each revision's own content)."""
        from sqlalchemy import select

        from district.db import db
        from district.registry.models import School
        from district.reports.models import ReportRevision

        out: Counter[tuple[str, int]] = Counter()
        with self.app.app_context():
            s = db.session()
            try:
                for period, content in s.execute(
                    select(ReportRevision.period, ReportRevision.content)
                    .join(School, School.code == ReportRevision.school_code)
                    .where(School.county_code == county)
                ):
                    out[(period, standard_version(json.loads(content).get("standard")) or 0)] += 1
            finally:
                db.session.remove()
        return out

    def check_v2(self, county: str, start: str) -> None:
        """The @2 county's revisions on the hub: every one of a month from ``start`` on is @2, every earlier one
        @1, as many of each as were sent."""
        name = next(n for code, n, _ in COUNTIES if code == county)
        planned: Counter[tuple[str, int]] = Counter(
            (sub.period, self.plan.standard(sub.school, sub.period))
            for sub in self.plan.submissions
            if sub.school.startswith(county)
        )
        held = self.hub_standards(county)
        if held != planned:

            def said(c: Counter[tuple[str, int]]) -> str:
                return "、".join(f"{period} 第 {v} 版 {n} 份" for (period, v), n in sorted(c.items())) or "无"

            raise DemoFailed(
                f"{name}自 {start} 起应按第 2 版报送、此前按第 1 版：计划 {said(planned)}；服务器上 {said(held)}"
            )
        v2 = sum(n for (_p, v), n in held.items() if v == 2)
        v1 = sum(n for (_p, v), n in held.items() if v == 1)
        planted = Counter(self.plan.stock_variations.values())
        self.summary["standard_v2"] = {
            "county": county,
            "from": start,
            "v2_revisions": v2,
            "v1_revisions": v1,
            # [school, period, code] of each stock anomaly planted
            "stock_planted": sorted([*key, v] for key, v in self.plan.stock_variations.items()),
        }
        self.echo(
            f"  {name}：服务器上 {start} 起的 {v2} 份月报均为第 2 版，此前 {v1} 份为第 1 版 / @2 from {start}, "
            f"@1 before — 与计划一致 / as planted; 埋设库存异常 / planted stock cases: "
            + (", ".join(f"{k}×{n}" for k, n in sorted(planted.items())) or "无")
        )

    def v2_line(self) -> str:
        """The summary's line on the @2 county: which, from when, the @2 reports the hub holds now, the stock
        anomalies its fund report shows."""
        v2 = self.summary["standard_v2"]
        county = next(n for c, n, _ in COUNTIES if c == v2["county"])
        held = self.hub_standards(v2["county"])
        reports = sum(n for (_p, v), n in held.items() if v == 2)
        heads = len({(sub.school, sub.period) for sub in self.plan.submissions
                     if sub.school.startswith(v2["county"]) and sub.period >= v2["from"]})  # fmt: skip
        stock = self.summary.get("stock_anomalies") or {}
        shown = stock.get("shown") or {}
        from district.nutrition.anomalies import ANOMALY_CODES

        anomalies = "库存异常 " + "、".join(f"{ANOMALY_CODES[c].zh} {n} 处" for c, n in sorted(shown.items()))
        year, month = parse_period(v2["from"])
        return (
            f"第 2 版标准 / standard @2: {county}自 {year}年{month}月起按第 2 版报送，服务器上第 2 版月报 {reports} 份"
            f"（{heads} 个学校·月），{anomalies}"
        )

    def hub_findings(self, county: str) -> dict[str, tuple[str, str]]:
        """The bureau's findings (``DC-…``) in the county's hazard ledger, as the hub's one ledger query lists them:
        ref → (school code, description)."""
        from district.db import db
        from district.reports.hazards import hazard_ledger
        from district.scoring.checklists import REF_PREFIX

        with self.app.app_context():
            s = db.session()
            try:
                return {
                    e.ref: (e.school_code, e.description)
                    for e in hazard_ledger(s, county_code=county)
                    if e.ref.startswith(REF_PREFIX)
                }
            finally:
                db.session.remove()

    def hub_inspections(self) -> int:
        from sqlalchemy import func, select

        from district.db import db
        from district.scoring.models import Inspection

        with self.app.app_context():
            return db.session().scalar(select(func.count()).select_from(Inspection)) or 0

    def rank(self) -> None:
        rng = random.Random(f"inspect:{self.seed}")
        periods = self.summary["periods"]
        y, m = parse_period(periods[-1])
        planned = 0
        checklist = Checklists(self, V2_COUNTY)
        for s in self.schools:
            # the first school of the @2 county is always visited, so that its checklist visits are never none
            if rng.random() < 0.7 or s.code == checklist.first:
                planned += 1
                day = dt.date(y, m, rng.randint(1, 25)).isoformat()
                score = f"{rng.choice([2.5, 3.0, 3.5, 4.0, 4.0, 4.5, 4.5, 5.0]):.1f}"
                if s.county_code == V2_COUNTY:  # 督查 with a checklist and findings, by the county's own bureau
                    checklist.visit(s, dt.date.fromisoformat(day))
                    continue
                status, _, raw = self.api(
                    "POST",
                    f"/api/v1/schools/{s.code}/inspections",
                    {"date": day, "score": score, "inspector": "县教育局督导室", "notes": "三化现场检查（演示）"},
                )
                if status != 201:
                    raise DemoFailed(
                        f"{s.name} 的现场检查未能录入（HTTP {status}：{raw[:200].decode(errors='replace')}）"
                    )
        held = self.hub_inspections()
        if held != planned:
            raise DemoFailed(f"计划录入 {planned} 次现场检查，教育局服务器上有 {held} 次")
        self.summary["inspections"] = held
        self.echo(f"  教育局服务器上 {held} 次现场检查 / on-site inspections on the hub")
        checklist.check()
        from district.scoring.rubric import load_default_rubric

        default = load_default_rubric()
        want = expected_statuses(self.schools, self.plan, self.rubrics)
        window = f"from={periods[0]}&to={periods[-1]}"
        ranked: dict[str, int] = {}
        for code, name, _ in COUNTIES:
            status, view, _ = self.api("GET", f"/api/v1/counties/{code}/rankings?{window}")
            if status != 200 or not view:
                raise DemoFailed(f"{name} 的排名读取失败（HTTP {status}）")
            rubric = self.rubrics.get(code) or default
            if view.get("rubric_version") != rubric.version:
                raise DemoFailed(f"{name} 的排名应按评分细则 {rubric.version}，服务器按 {view.get('rubric_version')}")
            rows = view.get("schools") or view.get("rows") or []
            self._check_ranking(name, [s for s in self.schools if s.county_code == code], rows, want)
            ranked[code] = len(rows)
            statuses = Counter(r.get("status") for r in rows)
            top = [r for r in rows if r.get("rank") == 1]
            progress = view.get("campaign_progress") or {}
            self.echo(
                f"  {name}: {len(rows)} 所, 达标 {statuses.get('compliant', 0)}, 未达标 "
                f"{statuses.get('not_compliant', 0)}, 数据不全 {statuses.get('insufficient_data', 0)}, "
                f"一票否决 {statuses.get('veto', 0)}; 第一名 {top[0]['name'] if top else '—'} "
                f"{top[0]['score'] if top else ''}; 达标率 {progress.get('rate')} / 目标 {progress.get('target')}"
            )
        self.summary["ranked"] = ranked
        self.echo("  排名与计划一致 / rankings as planted (数据不全、一票否决的学校正是计划中的那些)")

    @staticmethod
    def _check_ranking(name: str, schools: list[DemoSchool], rows: list[dict[str, Any]], want: dict[str, str]) -> None:
        """Every school of the county ranked once, with the status its planted months call for."""
        got = {str(r.get("school_code")): str(r.get("status")) for r in rows}
        if len(rows) != len(schools) or set(got) != {s.code for s in schools}:
            raise DemoFailed(f"{name} 有 {len(schools)} 所学校，服务器排名中有 {len(rows)} 所")
        for label, status in (("一票否决", "veto"), ("数据不全", "insufficient_data")):
            planted = sorted(c for c in got if want[c] == status)
            shown = sorted(c for c, st in got.items() if st == status)
            if planted != shown:
                raise DemoFailed(
                    f"{name} 计划{label} {len(planted)} 所，服务器排名中{label} {len(shown)} 所"
                    f"（计划 {'、'.join(planted[:5]) or '无'}；服务器 {'、'.join(shown[:5]) or '无'}）"
                )
        unscored = sorted(
            c for c, st in got.items() if want[c] == "scored" and st not in ("compliant", "not_compliant")
        )
        if unscored:
            raise DemoFailed(f"{name} 有 {len(unscored)} 所报齐的学校没有得分（如 {'、'.join(unscored[:5])}）")

    def planted_fund_anomalies(self) -> set[tuple[str, str, str]]:
        """(school, period, code) of every fund variation planted in a participating month that stays in the
        school's effective revision (its correction, when there is one, else the report), and of every stock
        variation planted in a participating month sent in @2 (SCORING.md "Stock anomalies")."""
        out: set[tuple[str, str, str]] = set()
        for (school, period), variation in self.plan.variations.items():
            body = self.bodies.get((school, period, "correct")) or self.bodies.get((school, period, "submit"))
            if variation in FUND_VARIATIONS_SHOWN and body and body["nutrition"].get("participating"):
                out.add((school, period, variation))
        for (school, period), variation in self.plan.stock_variations.items():
            body = self.bodies.get((school, period, "correct")) or self.bodies.get((school, period, "submit"))
            if body and body["standard"] == STANDARD_ID_2 and body["nutrition"].get("participating"):
                out.add((school, period, variation))
        return out

    def fund(self) -> None:
        from district.nutrition.anomalies import ANOMALY_CODES

        periods = self.summary["periods"]
        every = self.planted_fund_anomalies()
        # The stock anomalies are checked like every other planted code, and exactly: they arise only where
        # planted (the demo's stock figures are otherwise consistent).
        engine_stock = STOCK_VARIATIONS  # each checked exactly
        planted = every
        found: Counter[str] = Counter()
        for code, name, _ in COUNTIES:
            window = f"from={periods[0]}&to={periods[-1]}"
            status, report, _ = self.api("GET", f"/api/v1/counties/{code}/nutrition?{window}")
            if status != 200 or not report:
                raise DemoFailed(f"{name} 的营养餐资金报表读取失败（HTTP {status}）")
            listed = {(a["school_code"], a["period"], a["code"]) for a in report.get("anomalies", [])}
            mine = {a for a in planted if a[0].startswith(code)}
            problem = compare_anomalies(name, mine, listed, exact=engine_stock)
            if problem:
                raise DemoFailed(problem)
            found.update(a[2] for a in listed)
            for fmt in ("xlsx", "pdf"):
                status, _, raw = self.api("GET", f"/api/v1/counties/{code}/nutrition?{window}&format={fmt}")
                if status != 200 or not raw:
                    raise DemoFailed(f"{name} 的营养餐资金报表 {fmt} 生成失败（HTTP {status}）")
                target = self.reports_dir / f"{code}_{name}_营养餐资金报表_{periods[0]}_{periods[-1]}.{fmt}"
                target.write_bytes(raw)
            self.echo(
                f"  {name}: 资金异常 {len(listed)} 处 / anomalies listed (计划的 {len(mine)} 处均在列); xlsx + pdf"
            )
        self.summary["fund_anomalies"] = dict(found)
        stock = sorted(a for a in every if a[2] in STOCK_VARIATIONS)
        names = {c: ANOMALY_CODES[c].zh for c in STOCK_VARIATIONS}
        shown = {c: found[c] for c in engine_stock}
        self.summary["stock_anomalies"] = {"planted": dict(Counter(a[2] for a in stock)), "shown": shown}
        county = next(n for c, n, _ in COUNTIES if c == V2_COUNTY)
        self.echo(
            f"  {county}库存异常 / stock anomalies: 计划 {len(stock)} 处，服务器资金报表列出 "
            + "、".join(f"{names[c]} {shown[c]} 处" for c in engine_stock)
        )
        self.echo(
            f"  计划的资金异常 {len(planted)} 处全部出现在服务器的资金报表中 / every planted fund anomaly is listed "
            "(BALANCE_MISMATCH 已由学校更正 / corrected by the schools)"
        )

    def pdfs(self) -> None:
        periods = self.summary["periods"]
        counties = COUNTIES[: self.pdf_counties] if self.pdf_counties is not None else COUNTIES
        jobs: dict[str, Any] = {}
        for code, name, _ in counties:
            status, job, _ = self.api(
                "POST", f"/api/v1/counties/{code}/reports/pdf", {"from": periods[0], "to": periods[-1]}
            )
            if status != 202 or not job:
                raise DemoFailed(f"{name} 的评估报告任务未能创建（HTTP {status}：{job}）")
            jobs[code] = job
        total = sum(int(j.get("total", 0)) for j in jobs.values())
        deadline = time.monotonic() + PDF_JOB_TIMEOUT_S + 5 * total
        with click.progressbar(
            length=max(total, 1), label="  评估报告 PDF / evaluation PDFs", file=sys.__stderr__
        ) as bar:
            done_seen = 0
            pending = dict(jobs)
            while pending:
                done_now = 0
                for code, job in list(pending.items()):
                    _s, view, _ = self.api("GET", f"/api/v1/jobs/{job['job_id']}")
                    view = view or {}
                    done_now += int(view.get("done", 0))
                    if view.get("state") in ("done", "failed"):
                        pending.pop(code)
                        jobs[code] = view
                bar.update(max(0, done_now - done_seen))
                done_seen = max(done_seen, done_now)
                if pending and time.monotonic() > deadline:
                    raise DemoFailed(
                        f"评估报告任务 {PDF_JOB_TIMEOUT_S + 5 * total} 秒后仍未完成（{', '.join(pending)}）；"
                        f"日志见 {self.instance / 'logs'}"
                    )
                if pending:
                    time.sleep(1)
        names = {code: name for code, name, _ in COUNTIES}
        for code, view in jobs.items():
            schools = sum(1 for s in self.schools if s.county_code == code)
            printed = len({f["school_code"] for f in view.get("files", []) if f.get("school_code")})
            if view.get("state") != "done" or view.get("done") != view.get("total") or printed != schools:
                raise DemoFailed(
                    f"{names[code]} 的评估报告：{schools} 所学校，服务器任务 {view.get('state')}，"
                    f"完成 {view.get('done')}/{view.get('total')}，其中学校报告 {printed} 份"
                )
            zips = [f for f in view.get("files", []) if str(f.get("name", "")).endswith(".zip")]
            if not zips:
                raise DemoFailed(f"{names[code]} 的评估报告任务没有 zip 文件")
            for f in zips:
                status, _v, raw = self.api("GET", f["url"])
                if status != 200 or not raw:
                    raise DemoFailed(f"{names[code]} 的评估报告 {f['name']} 下载失败（HTTP {status}）")
                (self.reports_dir / f["name"]).write_bytes(raw)
            self.echo(
                f"  {names[code]}: {printed} 所学校的评估报告 + 县汇总, 共 {view.get('done')}/{view.get('total')} 份 "
                "/ evaluation PDFs (zip)"
            )

    def run(self, *, serve: bool) -> dict[str, float]:
        try:
            with self.timer.stage("setup", "① 建库、导入渭南市四县学校、签发凭据 / database, registry, credentials"):
                self.setup()
            from district.demo.sinks import DemoReminders

            self.reminders = DemoReminders()  # local SMTP and group-robot sinks, before the hub (issue 18)
            self.reminders.start(self.env)
            with self.timer.stage("hub", "② 启动枢纽 / starting the hub"):
                self.start_hub()
            with self.timer.stage("ingest", "③ 学校客户端按演示时钟报送 / agents report on the demo clock"):
                self.ingest()
            with self.timer.stage("review", "③b 逐份审核：退回、更正、通过 / review: returned, corrected, approved"):
                from district.demo.review import ReviewRoundFailed, review_round  # issue 18

                try:
                    self.summary["review"] = review_round(self)
                except ReviewRoundFailed as exc:
                    raise DemoFailed(str(exc)) from None
            with self.timer.stage("rank", "④ 现场检查与排名 / inspections and rankings"):
                self.rank()
            with self.timer.stage("fund", "⑤ 营养餐资金报表 / fund reports"):
                self.fund()
            with self.timer.stage("pdf", "⑥ 评估报告 PDF / evaluation PDFs"):
                self.pdfs()
            with self.timer.stage("remind", "⑦ 一键催报 / reminders by e-mail and group robots"):
                got = self.reminders.send(self, COUNTIES)
                self.summary.update(reminder_mails=got["mails"], reminder_webhook_posts=got["webhook_posts"])
            self.echo("\n" + "─" * 60)
            self.echo(f"仪表盘 / dashboard:   {self.url}/")
            self.echo(f"登录 / sign in:       admin / {DEMO_PASSWORD}  （市级）  或 admin610528 …（县级）")
            self.echo(f"报表与 PDF / files:   {self.reports_dir}")
            self.echo(
                f"催报 / reminders:     本地邮件服务器收到 {got['mails']} 封邮件，本地群机器人收到 "
                f"{got['webhook_posts']} 条消息 / the local SMTP sink received {got['mails']} mails, "
                f"the webhook sink {got['webhook_posts']} posts"
            )
            self.echo(self.v2_line())
            self.echo("耗时 / stage times:   " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timer.seconds.items()))
            if serve:
                self.echo("枢纽运行中，Ctrl-C 停止 / the hub keeps running; Ctrl-C stops it")
                while all(p.poll() is None for _n, p in self.procs):
                    time.sleep(1)
            return self.timer.seconds
        finally:
            self.stop()
            if getattr(self, "reminders", None) is not None:
                self.reminders.stop()


def _reset_database(engine: Any) -> None:
    """Production-stack demo only: start from an empty schema (the demo owns its database)."""
    from sqlalchemy import MetaData

    md = MetaData()
    md.reflect(bind=engine)
    md.drop_all(bind=engine)
