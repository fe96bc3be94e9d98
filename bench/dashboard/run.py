#!/usr/bin/env python3
"""Dashboard benchmark (issue 7, "Measure"; issue 17): the ranking page and the overview of a county of 1,000
schools with 10 months of reports, and the city overview and the alerts of a city of 4 such counties, served over
a loopback HTTP connection.

In one run, on a fresh database (SQLite file by default; ``--postgres`` for a PostgreSQL database created here
and dropped at the end), schema by the migrations:

1. ``--counties`` counties (default 4) of ``--schools`` schools each (default 1,000) in 20 townships, the
   demo's type mix, 10 reported months (2025-11 .. 2026-10 without the July/August break) from
   ``district.demo.generate``: ~3 % of school-months
   carry a fund anomaly, ~2 % were corrected (two revisions), ~1 % are missing (5 % of the latest month), and
   ~5 % state a hazard-ledger entry (some major and overdue). Rows are bulk-inserted (revisions with their
   hash-chain links, heads, hazard entries) — ingestion has its own benchmark;
2. the hub's real app (``create_app``) behind werkzeug's HTTP server on 127.0.0.1, a county admin signed in
   through ``/login`` (session cookie), and one keep-alive HTTP client;
3. for each page, one cold request (the ranking snapshots are computed and stored by it) and then
   ``--repeat`` warm requests: the median and p95 of the server time (WSGI call to the last byte of the body)
   with, beside it, the time of the page's own SQL (SQLAlchemy ``before/after_cursor_execute``) and the
   number of statements. Target: median server time ≤ 150 ms for the ranking, the county overview, the city
   overview (a city admin signed in) and the alerts. Exit status 1 when a target is missed.

    python3 bench/dashboard/run.py                 # SQLite, 1,000 schools × 10 months
    python3 bench/dashboard/run.py --postgres      # the same on PostgreSQL (127.0.0.1:5432, user postgres)
    python3 bench/dashboard/run.py --schools 200 --repeat 10 --counties 1
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, text  # noqa: E402 - after the path set-up
from sqlalchemy.engine import Engine  # noqa: E402

from district.db import make_engine  # noqa: E402
from district.demo.generate import SchoolProfile, monthly_report  # noqa: E402
from district.migrate import upgrade  # noqa: E402
from district.registry.models import City, County, School, Township  # noqa: E402
from district.reports.figures import figures_json  # noqa: E402
from district.reports.models import HazardEntry, ReportHead, ReportRevision  # noqa: E402
from houqin_standard import canonical_json, content_sha256, period_deadline, validate_report  # noqa: E402
from tests.scratch_db import throwaway_postgres  # noqa: E402

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
COUNTY, COUNTY_NAME, CITY = "610528", "富平县", "610500"
COUNTIES = [(COUNTY, COUNTY_NAME), ("610502", "临渭区"), ("610581", "韩城市"), ("610582", "华阴市"),
            ("610522", "潼关县"), ("610523", "大荔县"), ("610524", "合阳县"), ("610525", "澄城县")]  # fmt: skip
PERIODS = ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-09",
           "2026-10"]  # fmt: skip
WINDOW = ("2025-11", "2026-10")
TOWNSHIP_NAMES = (
    "庄里 张桥 美原 流曲 淡村 留古 老庙 薛镇 刘集 齐村 宫里 梅家坪 到贤 曹村 底店 城关 王寮 觅子 南社 东上官"
)
TOWNSHIPS = [f"{name}镇" for name in TOWNSHIP_NAMES.split()]
TYPE_MIX = ["primary"] * 10 + ["junior"] * 3 + ["kindergarten"] * 3 + ["nine_year", "teaching_point", "teaching_point"]
VARIATIONS = ["MISUSE", "BALANCE_MISMATCH", "CARRY_OVER_MISMATCH", "MEALS_EXCEED_ENTITLEMENT", "UNDERSPEND",
              "NONSTANDARD_RATE"]  # fmt: skip
TODAY = dt.date(2026, 11, 21)  # reports are validated as the hub would have on this day
TARGET_MS = 150.0
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway user of a throwaway database


# ------------------------------------------------------------------------------------------- database


@contextmanager
def database(use_postgres: bool) -> Iterator[str]:
    if not use_postgres:
        with tempfile.TemporaryDirectory(prefix="houqin-bench-dashboard-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    server = os.environ.get("HOUQIN_BENCH_POSTGRES_URL") or POSTGRES_SERVER
    with throwaway_postgres(server, "houqin_bench_dashboard") as url:
        yield url


def _hazard(rng: random.Random, period: str, n: int) -> dict[str, Any]:
    y, m = int(period[:4]), int(period[5:])
    rectified = None if rng.random() < 0.5 else f"{y:04d}-{m:02d}-25"
    return {"ref": f"YH-{period}-{n}", "found_on": f"{y:04d}-{m:02d}-02",
            "category": rng.choice(["fire", "wiring", "building", "food", "traffic"]),
            "severity": "major" if rng.random() < 0.3 else "general", "description": "教学楼消防通道堆放杂物",
            "deadline": f"{y:04d}-{m:02d}-20", "rectified_on": rectified}  # fmt: skip


def populate(engine: Engine, schools: int, seed: int, counties: int = 1) -> dict[str, int]:
    """The registry and the reports of ``counties`` counties, bulk-inserted; returns counts for the caption."""
    with engine.begin() as conn:
        conn.execute(insert(City.__table__), [{"code": CITY, "name": "渭南市"}])
    totals: dict[str, int] = {}
    next_id = 1
    for n, (code, name) in enumerate(COUNTIES[:counties]):
        counts, next_id = populate_county(engine, code, name, n, schools, seed + n, next_id)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # rows were inserted with their ids: move the sequences past them
            for table in ("report_revisions", "townships"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return totals


def populate_county(
    engine: Engine, county: str, county_name: str, n: int, schools: int, seed: int, next_id: int
) -> tuple[dict[str, int], int]:
    """One county: 20 townships, ``schools`` schools and their reports; returns the counts and the next revision id."""
    from district.audit.chain import genesis, revision_link

    rng = random.Random(seed)
    base = 20 * n  # township ids of this county
    with engine.begin() as conn:
        conn.execute(
            insert(County.__table__),
            [{"code": county, "city_code": CITY, "name": county_name, "deadline_day": 5, "break_months": "7,8",
              "subsidy_standard": "5.00", "sample_grams": 125, "sample_hours": 48, "campaign_start_year": 2025}],
        )  # fmt: skip
        conn.execute(
            insert(Township.__table__),
            [{"id": base + i + 1, "county_code": county, "name": name} for i, name in enumerate(TOWNSHIPS)],
        )
        school_rows, profiles = [], []
        for i in range(schools):
            stype = TYPE_MIX[i % len(TYPE_MIX)]
            code = f"{county}{i + 1:04d}"
            boarding = stype in ("junior", "nine_year")
            school_rows.append({"code": code, "name": f"{TOWNSHIPS[i % 20]}第{i // 20 + 1}学校", "county_code": county,
                                "township_id": base + i % 20 + 1, "type": stype, "boarding": boarding})  # fmt: skip
            profiles.append(SchoolProfile.make(code, stype, boarding, seed))
        conn.execute(insert(School.__table__), school_rows)

        revisions: list[dict[str, Any]] = []
        heads: list[dict[str, Any]] = []
        hazards: list[dict[str, Any]] = []
        counts = {"reports": 0, "missing": 0, "corrected": 0, "hazards": 0}
        for p in profiles:
            chain_seq, prev_hash = 0, genesis(p.code)
            for period in PERIODS:
                variation = rng.choice(VARIATIONS) if rng.random() < 0.03 else None
                report = monthly_report(p, period, variation=variation)
                if rng.random() < 0.05:
                    report["hazards"] = [_hazard(rng, period, 1)]
                skip = 0.05 if period == PERIODS[-1] else 0.01
                if rng.random() < skip or validate_report(report, today=TODAY).errors:
                    counts["missing"] += 1
                    continue
                received = period_deadline(period) - dt.timedelta(days=rng.randint(-2, 4))
                versions = [report]
                if rng.random() < 0.02:
                    first = copy.deepcopy(report)
                    first["report_id"] = str(uuid.uuid4())
                    first["safety"]["drills"] = report["safety"]["drills"] + 1
                    versions = [first, report]
                    counts["corrected"] += 1
                for number, version in enumerate(versions, start=1):
                    digest = content_sha256(version)
                    at = received + dt.timedelta(hours=number - 1)
                    chain_seq += 1
                    link = revision_link(prev_hash, digest, version["report_id"], period, number, at)
                    revisions.append({
                        "id": next_id, "report_id": version["report_id"], "school_code": p.code, "period": period,
                        "revision": number, "received_at": at, "signer": "credential:0",
                        "content": canonical_json(version).decode("utf-8"), "content_sha256": digest,
                        "warnings": [], "on_time": received <= period_deadline(period), "chain_seq": chain_seq,
                        "prev_chain_hash": prev_hash, "chain_hash": link,
                    })  # fmt: skip
                    prev_hash = link
                    for h in version["hazards"]:
                        hazards.append({
                            "revision_id": next_id, "school_code": p.code, "period": period, "ref": h["ref"],
                            "found_on": dt.date.fromisoformat(h["found_on"]), "category": h["category"],
                            "severity": h["severity"], "description": h["description"],
                            "deadline": dt.date.fromisoformat(h["deadline"]),
                            "rectified_on": dt.date.fromisoformat(h["rectified_on"]) if h["rectified_on"] else None,
                        })  # fmt: skip
                    next_id += 1
                counts["hazards"] += len(report["hazards"])
                heads.append(
                    {
                        "school_code": p.code,
                        "period": period,
                        "county_code": county,
                        "revision_id": next_id - 1,
                        "revisions": len(versions),
                        "first_received_at": received,
                        "on_time": received <= period_deadline(period),
                        "figures": figures_json(report),
                    }
                )  # fmt: skip  (the effective one's, as ingested)
                counts["reports"] += 1
        for i in range(0, len(revisions), 2000):
            conn.execute(insert(ReportRevision.__table__), revisions[i : i + 2000])
        for i in range(0, len(heads), 5000):
            conn.execute(insert(ReportHead.__table__), heads[i : i + 5000])
        if hazards:
            conn.execute(insert(HazardEntry.__table__), hazards)
        counts["revisions"] = len(revisions)
    return counts, next_id


# ------------------------------------------------------------------------------------------- measuring


class Meter:
    """Server time per request (WSGI call to the last byte) and the SQL run while it was served.

    The server below is single-threaded, so "the current request" is simply the one being served.
    """

    def __init__(self, engine: Engine) -> None:
        self.sql_s = 0.0
        self.statements = 0
        self.slowest: list[tuple[float, str]] = []  # of the request being served
        # path, server s, sql s, statements, bytes, server CPU s
        self.requests: list[tuple[str, float, float, int, int, float]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
            took = time.perf_counter() - conn.info["bench_started"].pop()
            self.sql_s += took
            self.statements += 1
            self.slowest.append((took, " ".join(statement.split())[:160]))

    def wrap(self, wsgi_app: Any) -> Any:
        def timed(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            self.sql_s, self.statements, self.slowest = 0.0, 0, []
            started = time.perf_counter()
            cpu_started = time.thread_time()
            result = wsgi_app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            elapsed = time.perf_counter() - started
            cpu = time.thread_time() - cpu_started
            self.requests.append((environ["PATH_INFO"], elapsed, self.sql_s, self.statements, len(body), cpu))
            return [body]

        return timed


class Browser:
    """One keep-alive HTTP/1.1 connection with a cookie jar of one cookie (the session)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read().decode("utf-8")
        set_cookie = resp.getheader("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";", 1)[0]
        return resp.status, data

    def sign_in(self, username: str, password: str) -> None:
        _status, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "no CSRF token on /login"
        status, _ = self.request(
            "POST", "/login", urlencode({"username": username, "password": password, "csrf_token": token.group(1)})
        )
        assert status == 302, f"sign-in failed: {status}"


def new_revision(app: Any, code: str, period: str) -> None:
    """A corrected revision of one school's latest month, stored through the reports service and committed."""
    from district.db import db
    from district.registry.models import School
    from district.reports.models import ReportHead, ReportRevision
    from district.reports.services import submit_report

    with app.app_context(), db.transaction() as s:
        head = s.get(ReportHead, (code, period))
        report = json.loads(s.get(ReportRevision, head.revision_id).content) if head else None
        if report is None:
            return
        report["report_id"] = str(uuid.uuid4())
        report["safety"]["drills"] = report["safety"]["drills"] + 1
        submit_report(s, s.get(School, code), 0, report, now=dt.datetime.now(dt.UTC))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="run on a fresh PostgreSQL database")
    parser.add_argument("--schools", type=int, default=1000, help="schools per county")
    parser.add_argument("--counties", type=int, default=4, choices=range(1, len(COUNTIES) + 1), metavar="N",
                        help="counties of the city (the county pages are measured on the first)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=30, help="warm requests per page")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--after", type=int, default=3, help="overview views each after a new revision")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    import logging

    from werkzeug.serving import WSGIRequestHandler, make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in the table

    class KeepAlive(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"  # one connection for the whole run, as a browser keeps it

    pages = [
        ("ranking", f"/counties/{COUNTY}/ranking?from={WINDOW[0]}&to={WINDOW[1]}"),
        ("overview", f"/counties/{COUNTY}/?period={WINDOW[1]}"),
        ("ranking, sorted by score, one township", f"/counties/{COUNTY}/ranking?from={WINDOW[0]}&to={WINDOW[1]}"
                                                    f"&sort=score&order=desc&township={quote(TOWNSHIPS[0])}"),
        ("school page", f"/schools/{COUNTY}0001/?from={WINDOW[0]}&to={WINDOW[1]}"),
        ("alerts (API)", f"/api/v1/counties/{COUNTY}/alerts?period={WINDOW[1]}"),
    ]  # fmt: skip
    city_pages = [
        ("city overview", f"/cities/{CITY}/?period={WINDOW[1]}"),
        ("city overview (API)", f"/api/v1/cities/{CITY}/overview?period={WINDOW[1]}"),
    ]
    targeted = ("ranking", "overview", "alerts (API)", "city overview", "city overview (API)")
    results: list[tuple[str, float, list[tuple[str, float, float, int, int, float]]]] = []
    slow_after: list[tuple[float, str]] = []
    with database(args.postgres) as url, tempfile.TemporaryDirectory(prefix="houqin-bench-inst-") as instance:
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        counts = populate(engine, args.schools, args.seed, args.counties)
        populate_s = time.perf_counter() - started
        engine.dispose()

        from district.app import create_app
        from district.auth.services import create_user
        from district.db import db

        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance})
        with app.app_context():
            with db.transaction() as s:
                create_user(s, "bench", PASSWORD, "county_admin", scope=COUNTY)
                create_user(s, "bench-city", PASSWORD, "city_admin", scope=CITY)
        assert db.engine is not None
        meter = Meter(db.engine)
        app.wsgi_app = meter.wrap(app.wsgi_app)  # type: ignore[method-assign]
        server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=KeepAlive)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            browser = Browser(server.server_port)
            browser.sign_in("bench", PASSWORD)
            city = Browser(server.server_port)
            city.sign_in("bench-city", PASSWORD)
            for who, label, path in [(browser, *p) for p in pages] + [(city, *p) for p in city_pages]:
                meter.requests.clear()
                status, _body = who.request("GET", path)
                assert status == 200, f"{path}: {status}"
                cold = meter.requests[-1][1]
                meter.requests.clear()
                for _ in range(args.repeat):
                    status, _body = who.request("GET", path)
                    assert status == 200, f"{path}: {status}"
                results.append((label, cold, list(meter.requests)))
            # the first view after a school's new revision: the ranking snapshots are stale (the embedded default
            # recomputes on read), and the cached anomalies and hazards are made again
            meter.requests.clear()
            for i in range(args.after):
                new_revision(app, f"{COUNTY}{i + 2:04d}", PERIODS[-1])
                status, _body = browser.request("GET", pages[1][1])
                assert status == 200
            if args.after:
                results.append(("overview, first view after a new revision", float("nan"), list(meter.requests)))
                slow_after = sorted(meter.slowest, reverse=True)[:5]
        finally:
            server.shutdown()
            thread.join(10)
            if db.engine is not None:
                db.engine.dispose()

    dialect = "PostgreSQL" if args.postgres else "SQLite"
    print(f"dashboard bench — {dialect}, Python {platform.python_version()}, {platform.machine()}, "
          f"werkzeug single-threaded server on 127.0.0.1, one keep-alive client")  # fmt: skip
    print(f"city {CITY}: {args.counties} count{'ies' if args.counties > 1 else 'y'} × {args.schools} schools × "
          f"{len(PERIODS)} months ({WINDOW[0]}..{WINDOW[1]}), county pages of {COUNTY}: "
          f"{counts['reports']} effective reports, {counts['revisions']} revisions "
          f"({counts['corrected']} corrected), {counts['missing']} missing, {counts['hazards']} hazard entries; "
          f"populated in {populate_s:.1f} s")  # fmt: skip
    print(
        f"{args.repeat} warm requests per page after one cold request (the cold one computes and stores the "
        "ranking snapshots). Server time = WSGI call to the last byte; SQL = the page's own statements"
    )
    print(
        f"(medians); CPU = the serving thread's CPU time (median), unaffected by other processes. Load average "
        f"before the run: {load_before:.1f}, after it: {os.getloadavg()[0]:.1f}, on {os.cpu_count()} CPUs."
    )
    print()
    head = (f"{'page':<40}{'cold ms':>9}{'median ms':>11}{'p95 ms':>9}{'SQL ms':>9}{'CPU ms':>9}{'stmts':>7}"
            f"{'KB':>7}{'target':>10}")  # fmt: skip
    print(head)
    print("-" * len(head))
    missed = []
    for label, cold, reqs in results:
        server_ms = [r[1] * 1000 for r in reqs]
        sql_ms = [r[2] * 1000 for r in reqs]
        median = statistics.median(server_ms)
        target = TARGET_MS if label in targeted else None
        if target is not None and median > target:
            missed.append(label)
        cold_ms = "—" if math.isnan(cold) else f"{cold * 1000:.0f}"
        print(f"{label[:41]:<41}{cold_ms:>8}{median:>11.1f}{percentile(server_ms, 0.95):>9.1f}"
              f"{statistics.median(sql_ms):>9.1f}{statistics.median(r[5] * 1000 for r in reqs):>9.1f}"
              f"{statistics.median(r[3] for r in reqs):>7.0f}"
              f"{statistics.median(r[4] for r in reqs) / 1024:>7.0f}"
              f"{'≤ ' + str(int(target)) + ' ms' if target else '':>10}")  # fmt: skip
    if args.after and slow_after:
        print()
        print("slowest statements of the last view after a new revision (its stale snapshots recomputed):")
        for took, statement in slow_after:
            print(f"  {took * 1000:8.1f} ms  {statement}")
    print()
    print("targets met (median ≤ 150 ms)" if not missed else f"TARGET MISSED: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
