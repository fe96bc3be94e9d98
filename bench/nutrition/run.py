#!/usr/bin/env python3
"""营养餐 fund report benchmark (issue 5, "Measure"): a county of 1,000 schools × 10 months.

In one run, on a fresh database (SQLite file by default; ``--postgres`` for a PostgreSQL database created
here at ``postgresql+psycopg://postgres@127.0.0.1:5432/…`` and dropped at the end), schema by the migrations:

1. one county of ``--schools`` schools (default 1,000) in 20 townships, the demo's type mix; 10 months of
   reports (2025-09..2026-06, a school year) from ``district.demo.generate`` (``SchoolProfile`` /
   ``monthly_report``) with variations: ~3 % of school-months carry a fund anomaly (misuse, balance,
   carry-over, meals, underspend, rate), ~1 % are missing (and so are the few the hub would refuse: the demo's
   misuse can push a balance below zero), ~2 % were corrected (revision 1 wrong, revision 2 effective). Rows are
   bulk-inserted into ``report_revisions`` (with their hash-chain links) and ``report_heads`` (with the
   effective revision's figures, as ingestion stores them: ``district.reports.figures``) directly —
   ingestion is issue 2's benchmark, not this one;
2. timed, each step the median of ``--repeat`` runs (default 3):
   - SELECT: the effective revisions of the window (``report_heads`` ⋈ ``report_revisions``, every row fetched,
     content not parsed) — the floor any report over them must pay;
   - JSON: ``GET /api/v1/counties/<county>/nutrition?from=&to=`` through the Flask test client with a bearer
     token (auth, three queries, JSON parsing, the fund engine, serialisation) — target ≤ 2 s;
   - xlsx: the same with ``&format=xlsx`` — target ≤ 5 s;
   and the JSON request's parts (``services.fund_report``; ``to_dict`` + ``json.dumps``) to show where it goes;
3. a small table: the median wall time of each step, its ratio to the SELECT's, and the median CPU time of this
   process (SQLite's work included, PostgreSQL's server not) — on a shared machine the wall time grows with
   the load average, printed in the first line, while the CPU time does not. Exit status 1 when a target is
   missed (wall time).

    python3 bench/nutrition/run.py                 # SQLite, 1,000 schools × 10 months
    python3 bench/nutrition/run.py --postgres      # the same on PostgreSQL
    python3 bench/nutrition/run.py --schools 200 --pdf   # smaller, and time one PDF too (no target)
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402 - after the path set-up
from sqlalchemy.engine import Engine  # noqa: E402

from district.db import make_engine  # noqa: E402
from district.demo.generate import SchoolProfile, monthly_report  # noqa: E402
from district.migrate import upgrade  # noqa: E402
from district.registry.models import City, County, School, Township  # noqa: E402
from district.reports.figures import figures_json  # noqa: E402
from district.reports.models import ReportHead, ReportRevision  # noqa: E402
from houqin_standard import (  # noqa: E402
    canonical_json,
    content_sha256,
    period_deadline,
    periods_between,
    validate_report,
)
from tests.scratch_db import throwaway_postgres  # noqa: E402

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
COUNTY, COUNTY_NAME, CITY = "610528", "富平县", "610500"
WINDOW = ("2025-09", "2026-06")
TOWNSHIPS = [
    f"{name}镇"
    for name in (
        "庄里 张桥 美原 流曲 淡村 留古 老庙 薛镇 刘集 齐村 宫里 梅家坪 到贤 曹村 底店 城关 王寮 觅子 南社 东上官"
    ).split()
]
TYPE_MIX = ["primary"] * 10 + ["junior"] * 3 + ["kindergarten"] * 3 + ["nine_year", "teaching_point", "teaching_point"]
VARIATIONS = ["MISUSE", "BALANCE_MISMATCH", "CARRY_OVER_MISMATCH", "MEALS_EXCEED_ENTITLEMENT", "UNDERSPEND",
              "NONSTANDARD_RATE"]  # fmt: skip
TARGETS = {"json": 2.0, "xlsx": 5.0}
TODAY = dt.date(2026, 11, 21)  # reports are validated as the hub would have on this day


# ------------------------------------------------------------------------------------------- database


@contextmanager
def database(use_postgres: bool) -> Iterator[str]:
    if not use_postgres:
        with tempfile.TemporaryDirectory(prefix="houqin-bench-nutrition-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    server = os.environ.get("HOUQIN_BENCH_POSTGRES_URL") or POSTGRES_SERVER
    with throwaway_postgres(server, "houqin_bench_nutrition") as url:
        yield url


def _chain_columns() -> bool:
    return "chain_hash" in ReportRevision.__table__.c


def populate(engine: Engine, schools: int, seed: int) -> dict[str, int]:
    """The registry and the reports; returns counts for the table's caption."""
    rng = random.Random(seed)
    periods = periods_between(*WINDOW)
    chained = _chain_columns()
    if chained:
        from district.audit.chain import genesis, revision_link
    with engine.begin() as conn:
        conn.execute(insert(City.__table__), [{"code": CITY, "name": "渭南市"}])
        conn.execute(
            insert(County.__table__),
            [{"code": COUNTY, "city_code": CITY, "name": COUNTY_NAME, "deadline_day": 5, "break_months": "7,8",
              "subsidy_standard": "5.00", "sample_grams": 125, "sample_hours": 48}],
        )  # fmt: skip
        conn.execute(
            insert(Township.__table__),
            [{"id": i + 1, "county_code": COUNTY, "name": name} for i, name in enumerate(TOWNSHIPS)],
        )
        school_rows, profiles = [], []
        for i in range(schools):
            stype = TYPE_MIX[i % len(TYPE_MIX)]
            code = f"{COUNTY}{i + 1:04d}"
            boarding = stype in ("junior", "nine_year")
            school_rows.append({"code": code, "name": f"{TOWNSHIPS[i % 20]}第{i // 20 + 1}学校", "county_code": COUNTY,
                                "township_id": i % 20 + 1, "type": stype, "boarding": boarding})  # fmt: skip
            profiles.append(SchoolProfile.make(code, stype, boarding, seed))
        conn.execute(insert(School.__table__), school_rows)

        revisions: list[dict[str, Any]] = []
        heads: list[dict[str, Any]] = []
        counts = {"reports": 0, "missing": 0, "corrected": 0, "varied": 0}
        next_id = 1
        for p in profiles:
            chain_seq, prev_hash = 0, genesis(p.code) if chained else ""
            for period in periods:
                variation = rng.choice(VARIATIONS) if rng.random() < 0.03 else None
                report = monthly_report(p, period, variation=variation)
                if rng.random() < 0.01 or validate_report(report, today=TODAY).errors:
                    # not sent, or refused at ingestion (the demo's misuse can drive a balance below 0)
                    counts["missing"] += 1
                    continue
                counts["varied"] += variation is not None
                received = period_deadline(period) - dt.timedelta(days=rng.randint(1, 4))
                versions = [report]
                if rng.random() < 0.02 and report["nutrition"].get("participating"):
                    wrong = copy.deepcopy(report)
                    wrong["report_id"] = str(uuid.uuid4())
                    closing = wrong["nutrition"]["closing_balance"]
                    wrong["nutrition"]["closing_balance"] = str(Decimal(closing) + Decimal("10.00"))  # a typo
                    versions = [wrong, report]
                    counts["corrected"] += 1
                for number, version in enumerate(versions, start=1):
                    digest = content_sha256(version)
                    at = received + dt.timedelta(hours=number - 1)
                    row = {
                        "id": next_id, "report_id": version["report_id"], "school_code": p.code, "period": period,
                        "revision": number, "received_at": at, "signer": "credential:0",
                        "content": canonical_json(version).decode("utf-8"), "content_sha256": digest,
                        "warnings": [], "on_time": True,
                    }  # fmt: skip
                    if chained:
                        chain_seq += 1
                        link = revision_link(prev_hash, digest, version["report_id"], period, number, at)
                        row.update(chain_seq=chain_seq, prev_chain_hash=prev_hash, chain_hash=link)
                        prev_hash = link
                    revisions.append(row)
                    next_id += 1
                heads.append({"school_code": p.code, "period": period, "county_code": COUNTY,
                              "revision_id": next_id - 1, "revisions": len(versions), "first_received_at": received,
                              "on_time": True, "figures": figures_json(report)})  # fmt: skip
                counts["reports"] += 1
        for i in range(0, len(revisions), 2000):
            conn.execute(insert(ReportRevision.__table__), revisions[i : i + 2000])
        for i in range(0, len(heads), 5000):
            conn.execute(insert(ReportHead.__table__), heads[i : i + 5000])
        counts["revisions"] = len(revisions)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return counts


# ------------------------------------------------------------------------------------------- timing


def page_count(pdf: bytes) -> int | None:
    """Pages, by poppler's pdfinfo (WeasyPrint packs page objects into compressed object streams)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        try:
            out = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, timeout=60).stdout
        except OSError:
            return None
    match = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
    return int(match[1]) if match else None


def median_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Median wall time, median CPU time of this process (SQLite runs in it; PostgreSQL's server does not), and
    the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="run on a fresh PostgreSQL database")
    parser.add_argument("--schools", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260901)
    parser.add_argument("--pdf", action="store_true", help="also time one PDF (no target)")
    args = parser.parse_args()

    with database(args.postgres) as url, tempfile.TemporaryDirectory(prefix="houqin-bench-inst-") as instance:
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        counts = populate(engine, args.schools, args.seed)
        populate_s = time.perf_counter() - started

        from district.app import create_app
        from district.auth.services import create_token, create_user
        from district.db import db
        from district.nutrition import services

        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance})
        with app.app_context():
            with db.transaction() as s:
                user = create_user(s, "bench", "bench-password-1", "county_viewer", scope=COUNTY)
                token = create_token(s, user, "bench")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        url_json = f"/api/v1/counties/{COUNTY}/nutrition?from={WINDOW[0]}&to={WINDOW[1]}"

        select_sql = (
            select(ReportHead.school_code, ReportHead.period, ReportRevision.id, ReportRevision.revision,
                   ReportRevision.content)
            .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
            .where(ReportHead.county_code == COUNTY, ReportHead.period >= WINDOW[0], ReportHead.period <= WINDOW[1])
            .order_by(ReportHead.school_code, ReportHead.period)
        )  # fmt: skip

        def run_select() -> int:
            with engine.connect() as conn:
                return len(conn.execute(select_sql).all())

        def get(url: str) -> bytes:
            resp = client.get(url, headers=headers)
            assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
            return resp.data

        def service_only() -> Any:
            with app.app_context():
                return services.fund_report(db.session(), COUNTY, *WINDOW)

        load_before = os.getloadavg()[0]
        get(url_json)  # warm up: imports, first connection, token lookup
        t_select, c_select, rows = median_of(args.repeat, run_select)
        t_json, c_json, body = median_of(args.repeat, lambda: get(url_json))
        t_xlsx, c_xlsx, book = median_of(args.repeat, lambda: get(url_json + "&format=xlsx"))
        t_service, c_service, report = median_of(args.repeat, service_only)
        t_dump, c_dump, _ = median_of(args.repeat, lambda: json.dumps(report.to_dict(), ensure_ascii=False))
        t_pdf = c_pdf = pdf_pages = None
        if args.pdf:
            from district.nutrition.pdf import fund_report_pdf

            t_pdf, c_pdf, pdf = median_of(1, lambda: fund_report_pdf(report))
            pdf_pages = page_count(pdf)
        load_after = os.getloadavg()[0]
        data = json.loads(body)
        engine.dispose()
        if db.engine is not None:
            db.engine.dispose()

    dialect = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"营养餐 fund report bench — {dialect}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} → {load_after:.1f} during the timings"
    )
    print(
        f"county {COUNTY}: {args.schools} schools × {len(periods_between(*WINDOW))} months ({WINDOW[0]}..{WINDOW[1]}): "
        f"{counts['reports']} effective reports, {counts['revisions']} revisions ({counts['corrected']} corrected), "
        f"{counts['missing']} missing (not sent or invalid), {counts['varied']} with an injected anomaly; "
        f"populated in {populate_s:.1f} s"
    )
    print(
        f"report: {data['county']['schools']} participating schools, {len(data['anomalies'])} anomalies, "
        f"{len(data['non_reporting'])} non-reporting; JSON {len(body) / 1e6:.1f} MB, xlsx {len(book) / 1e6:.1f} MB"
    )
    print()
    head = f"{'step (median of ' + str(args.repeat) + ')':<44}{'wall s':>8}{'× SELECT':>10}{'CPU s':>8}{'target':>10}"
    print(head)
    print("-" * len(head))
    lines = [
        (f"SELECT effective revisions ({rows} rows)", t_select, c_select, None),
        ("JSON  GET …/nutrition", t_json, c_json, TARGETS["json"]),
        ("  of which services.fund_report()", t_service, c_service, None),
        ("  of which to_dict() + json.dumps()", t_dump, c_dump, None),
        ("xlsx  GET …/nutrition&format=xlsx", t_xlsx, c_xlsx, TARGETS["xlsx"]),
    ]
    if t_pdf is not None and c_pdf is not None:
        lines.append((f"PDF   fund_report_pdf() ({pdf_pages} pages, 1 run)", t_pdf, c_pdf, None))
    for label, wall, cpu, target in lines:
        goal = f"≤ {target} s" if target else ""
        print(f"{label:<44}{wall:>8.3f}{wall / t_select:>10.1f}{cpu:>8.3f}{goal:>10}")
    missed = [name for name, t in (("json", t_json), ("xlsx", t_xlsx)) if t > TARGETS[name]]
    print()
    print("targets met" if not missed else f"TARGET MISSED: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
