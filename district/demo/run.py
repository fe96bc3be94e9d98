"""The main job end to end (README command 1, issue 8): a realistic city on real moving parts.

Stages, each timed (``bench/demo`` prints them):
  setup     fresh database (migrations), the city's registry, credentials, bureau users
  hub       the hub process (embedded: ``houqin serve``; production: gunicorn + Celery workers per queue + beat)
  ingest    one real ``houqin-agent`` per school submits its months over signed HTTP, replayed on a demo clock
            (late schools, missing months, corrections, every fund anomaly, a veto, hazards, a locked period)
  rank      bureau on-site inspections, then each county's ranking through the API (workers recompute it)
  fund      each county's 营养餐 fund report as xlsx and PDF through the API
  pdf       each county's evaluation PDFs as a job (per-school tasks on the ``pdf`` queue), zip downloaded

The production stack is selected by ``HOUQIN_DATABASE_URL`` and ``HOUQIN_BROKER_URL`` in the environment.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from district.config import PROJECT_ROOT
from district.demo.city import CITY, COUNTIES, DemoSchool, build_city, write_registry
from district.demo.generate import SchoolProfile, monthly_report
from houqin_standard import SHANGHAI, parse_period, period_add, period_deadline

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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def school_year_periods(today: dt.date, break_months: frozenset[int] = frozenset({7, 8})) -> list[str]:
    """The months of the current school year whose deadline has passed (at least the last three such months)."""
    last = period_add(f"{today.year:04d}-{today.month:02d}", -1)
    if period_deadline(last) > dt.datetime.now(dt.UTC):
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


@dataclass
class Plan:
    periods: list[str]
    submissions: list[Submission]
    missing: list[tuple[str, str]]
    variations: dict[tuple[str, str], str]


def make_plan(schools: list[DemoSchool], periods: list[str], seed: int) -> Plan:
    """Who submits which month when: most by the 5th, some late, a few never; corrections; every variation."""
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
    now = dt.datetime.now(dt.UTC)
    never = {rng.choice(c).code for c in by_county.values()}  # one school per county that never reports
    for s in schools:
        late_school = rng.random() < 0.12
        for period in periods:
            if s.code in never or (rng.random() < 0.04 and (s.code, period) not in variations):
                missing.append((s.code, period))
                continue
            y, m = parse_period(period_add(period, 1))
            day = rng.randint(6, 20) if late_school and rng.random() < 0.7 else rng.randint(1, 5)
            at = dt.datetime(y, m, day, rng.randint(8, 17), rng.randint(0, 59), tzinfo=SHANGHAI).astimezone(dt.UTC)
            at = min(at, now - dt.timedelta(minutes=5))
            subs.append(Submission(at, s.code, period, "submit", variations.get((s.code, period))))
            if rng.random() < 0.06 or variations.get((s.code, period)) == "BALANCE_MISMATCH":
                fix = min(at + dt.timedelta(days=rng.randint(1, 6)), now - dt.timedelta(minutes=1))
                subs.append(Submission(fix, s.code, period, "correct"))
    return Plan(periods, sorted(subs), missing, variations)


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
        self.instance = instance
        self.total = schools
        self.seed = seed
        self.echo = echo
        self.timer = StageTimer(echo)
        self.production = bool(os.environ.get("HOUQIN_DATABASE_URL") and os.environ.get("HOUQIN_BROKER_URL"))
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock_file = instance / "demo-clock"
        self.env = {
            **os.environ,
            "HOUQIN_INSTANCE_PATH": str(instance),
            "HOUQIN_DEMO_CLOCK_FILE": str(self.clock_file),
            "HOUQIN_RATE_LIMIT_PER_MINUTE": "100000",
            "HOUQIN_RANKING_DEBOUNCE_SECONDS": "2",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.pdf_counties = pdf_counties
        self.token = ""
        self.schools: list[DemoSchool] = []
        self.reports_dir = instance / "reports"
        self.summary: dict[str, Any] = {}

    # ------------------------------------------------------------------ helpers

    def set_clock(self, at: dt.datetime | None) -> None:
        """Move the hub's demo clock (and the agents', through HOUQIN_AGENT_CLOCK_OFFSET) to ``at``."""
        offset = 0.0 if at is None else at.timestamp() - time.time()
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(f"{offset:.3f}")
        tmp.replace(self.clock_file)
        os.environ["HOUQIN_AGENT_CLOCK_OFFSET"] = f"{offset:.3f}"

    def api(self, method: str, path: str, body: Any = None, *, timeout: float = 600) -> tuple[int, Any, bytes]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
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

        if self.instance.exists() and not self.production:
            shutil.rmtree(self.instance)
        (self.instance / "logs").mkdir(parents=True, exist_ok=True)
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        self.set_clock(None)
        app = create_app({"INSTANCE_PATH": str(self.instance), "DEMO_CLOCK_FILE": None})
        with app.app_context():
            assert db.engine is not None
            if self.production:
                _reset_database(db.engine)
            upgrade(db.engine)
            self.schools = build_city(self.total, self.seed)
            registry = self.instance / "schools.csv"
            write_registry(registry, self.schools)
            box = SecretBox(app.config["SERVER_KEY_FILE"])
            with db.transaction() as s:
                result = import_schools(s, registry, actor="demo")
                for county in s.query(County):
                    county.campaign_start_year = 2025
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
                    create_user(
                        s,
                        f"admin{code}",
                        DEMO_PASSWORD,
                        "county_admin",
                        scope=code,
                        display_name=f"{name}教育局",
                        actor="demo",
                    )
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

        periods = school_year_periods(dt.datetime.now(SHANGHAI).date())
        plan = make_plan(self.schools, periods, self.seed)
        self.summary["periods"] = periods
        agents = self.instance / "agents"
        profiles = {s.code: SchoolProfile.make(s.code, s.type, s.boarding, self.seed) for s in self.schools}
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
        results.update(f"setup:{c}" for c in codes)
        self.echo(
            f"  {len(self.schools)} 个学校客户端已配置 / agents set up "
            f"({sum(1 for c in codes if c == 0)} ok); 月份 {', '.join(periods)}"
        )
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

        def send(sub: Submission) -> None:
            home = agents / sub.school
            body = bodies[(sub.school, sub.period, sub.kind)]
            path = home / f"月报_{sub.period}_{sub.kind}.json"
            path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
            argv = (
                ["--home", str(home), "submit", str(path)]
                if sub.kind == "submit"
                else ["--home", str(home), "correct", sub.period, str(path)]
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
        self.set_clock(None)
        self.summary["agent_results"] = dict(results)
        self.summary["missing"] = len(plan.missing)
        self.summary["variations"] = Counter(plan.variations.values())
        sent = results.get("submit:0", 0) + results.get("correct:0", 0)
        self.echo(
            f"  {sent} 份月报已送达并取得回执 / reports delivered with a receipt; "
            f"{len(plan.missing)} 个学校·月未报 / school-months never reported; "
            f"{sum(1 for s in plan.submissions if s.kind == 'correct')} 份更正 / corrections"
        )
        self.echo(
            "  设计的异常 / planted cases: "
            + ", ".join(f"{k}×{v}" for k, v in sorted(self.summary["variations"].items()))
        )
        # the bureau approves the first month of 富平县; a school's late correction is then refused
        first = periods[0]
        status, _state, _ = self.api("POST", f"/api/v1/periods/610528/{first}/lock", {"note": "审核通过（演示）"})
        target = next(s for s in self.schools if s.county_code == "610528" and (s.code, first) not in plan.missing)
        body = dict(bodies[(target.code, first, "submit")], prepared_by="补报人")
        path = agents / target.code / f"月报_{first}_locked.json"
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            code = run_agent(["--home", str(agents / target.code), "correct", first, str(path)])
        self.echo(
            f"  富平县 {first} 已审核锁定 (HTTP {status}); {target.name} 的更正被拒绝 / correction refused "
            f"(agent exit {code}: 409 period_locked)"
        )

    def rank(self) -> None:
        rng = random.Random(f"inspect:{self.seed}")
        periods = self.summary["periods"]
        y, m = parse_period(periods[-1])
        made = 0
        for s in self.schools:
            if rng.random() < 0.7:
                day = dt.date(y, m, rng.randint(1, 25)).isoformat()
                score = f"{rng.choice([2.5, 3.0, 3.5, 4.0, 4.0, 4.5, 4.5, 5.0]):.1f}"
                status, _, _ = self.api(
                    "POST",
                    f"/api/v1/schools/{s.code}/inspections",
                    {"date": day, "score": score, "inspector": "县教育局督导室", "notes": "三化现场检查（演示）"},
                )
                made += status == 201
        self.echo(f"  {made} 次现场检查已录入 / on-site inspections recorded")
        window = f"from={periods[0]}&to={periods[-1]}"
        for code, name, _ in COUNTIES:
            status, view, _ = self.api("GET", f"/api/v1/counties/{code}/rankings?{window}")
            if status != 200 or not view:
                self.echo(f"  {name}: HTTP {status}")
                continue
            rows = view.get("schools") or view.get("rows") or []
            statuses = Counter(r.get("status") for r in rows)
            top = [r for r in rows if r.get("rank") == 1]
            progress = view.get("campaign_progress") or {}
            self.echo(
                f"  {name}: {len(rows)} 所, 达标 {statuses.get('compliant', 0)}, 未达标 "
                f"{statuses.get('not_compliant', 0)}, 数据不全 {statuses.get('insufficient_data', 0)}, "
                f"一票否决 {statuses.get('veto', 0)}; 第一名 {top[0]['name'] if top else '—'} "
                f"{top[0]['score'] if top else ''}; 达标率 {progress.get('rate')} / 目标 {progress.get('target')}"
            )

    def fund(self) -> None:
        periods = self.summary["periods"]
        for code, name, _ in COUNTIES:
            for fmt in ("xlsx", "pdf"):
                status, _, raw = self.api(
                    "GET", f"/api/v1/counties/{code}/nutrition?from={periods[0]}&to={periods[-1]}&format={fmt}"
                )
                if status == 200:
                    target = self.reports_dir / f"{code}_{name}_营养餐资金报表_{periods[0]}_{periods[-1]}.{fmt}"
                    target.write_bytes(raw)
            self.echo(f"  {name}: 营养餐资金报表 xlsx + pdf")

    def pdfs(self) -> None:
        periods = self.summary["periods"]
        counties = COUNTIES[: self.pdf_counties] if self.pdf_counties is not None else COUNTIES
        jobs: dict[str, Any] = {}
        for code, name, _ in counties:
            status, job, _ = self.api(
                "POST", f"/api/v1/counties/{code}/reports/pdf", {"from": periods[0], "to": periods[-1]}
            )
            if status != 202 or not job:
                self.echo(f"  {name}: HTTP {status} {job}")
                continue
            jobs[code] = job
        total = sum(int(j.get("total", 0)) for j in jobs.values())
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
                if pending:
                    time.sleep(1)
        for code, view in jobs.items():
            for f in view.get("files", []):
                if str(f.get("name", "")).endswith(".zip"):
                    _s, _v, raw = self.api("GET", f["url"])
                    (self.reports_dir / f["name"]).write_bytes(raw)
            self.echo(f"  {code}: {view.get('state')} ({view.get('done')}/{view.get('total')})")

    def run(self, *, serve: bool) -> dict[str, float]:
        try:
            with self.timer.stage("setup", "① 建库、导入渭南市四县学校、签发凭据 / database, registry, credentials"):
                self.setup()
            with self.timer.stage("hub", "② 启动枢纽 / starting the hub"):
                self.start_hub()
            with self.timer.stage("ingest", "③ 学校客户端按演示时钟报送 / agents report on the demo clock"):
                self.ingest()
            with self.timer.stage("rank", "④ 现场检查与排名 / inspections and rankings"):
                self.rank()
            with self.timer.stage("fund", "⑤ 营养餐资金报表 / fund reports"):
                self.fund()
            with self.timer.stage("pdf", "⑥ 评估报告 PDF / evaluation PDFs"):
                self.pdfs()
            self.echo("\n" + "─" * 60)
            self.echo(f"仪表盘 / dashboard:   {self.url}/")
            self.echo(f"登录 / sign in:       admin / {DEMO_PASSWORD}  （市级）  或 admin610528 …（县级）")
            self.echo(f"报表与 PDF / files:   {self.reports_dir}")
            self.echo("耗时 / stage times:   " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timer.seconds.items()))
            if serve:
                self.echo("枢纽运行中，Ctrl-C 停止 / the hub keeps running; Ctrl-C stops it")
                while all(p.poll() is None for _n, p in self.procs):
                    time.sleep(1)
            return self.timer.seconds
        finally:
            self.stop()


def _reset_database(engine: Any) -> None:
    """Production-stack demo only: start from an empty schema (the demo owns its database)."""
    from sqlalchemy import MetaData

    md = MetaData()
    md.reflect(bind=engine)
    md.drop_all(bind=engine)
