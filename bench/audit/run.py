"""bench/audit: what tamper evidence costs (issue 9), measured side by side in one run on PostgreSQL.

1. Verification: ``houqin audit verify``'s walk over 100,000 chained revisions, beside a plain SELECT of the same
   rows (every column the verifier reads).
2. Ingestion: the minimal ingest path (parse JSON, INSERT one row, commit) without and with the chain's own work
   (lock the school row, read its last link, canonical SHA-256, the link hash, store it, sign the receipt with
   Ed25519), alternating rounds in one process; the ratio is the chain's cost on the path that has the least
   else to do (on the hub's full path it is a smaller share).

    python3 bench/audit/run.py [--revisions 100000] [--ingest 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--revisions", type=int, default=100_000)
    ap.add_argument("--ingest", type=int, default=2000)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    opts = ap.parse_args()
    import sys

    sys.path.insert(0, str(ROOT))
    from district.audit.chain import genesis, revision_link
    from district.audit.keys import HubKeys
    from district.db import make_engine
    from district.integrity.verify import verify
    from district.migrate import upgrade
    from houqin_standard import canonical_json, content_sha256, receipt_payload

    name = f"houqin_bench_audit_{uuid.uuid4().hex[:6]}"
    admin = create_engine(opts.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(opts.postgres).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        report = json.loads((ROOT / "tests" / "data" / "example-report.json").read_text(encoding="utf-8"))
        schools = max(1, opts.revisions // 10)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO cities (code, name) VALUES ('610500', '渭南市')"))
            conn.execute(
                text(
                    "INSERT INTO counties (code, city_code, name, deadline_day, break_months, "
                    "subsidy_standard, sample_grams, sample_hours) VALUES "
                    "('610528', '610500', '富平县', 5, '7,8', 5.00, 125, 48)"
                )
            )
            conn.execute(text("INSERT INTO townships (id, county_code, name) VALUES (1, '610528', '庄里镇')"))
            conn.execute(
                text(
                    "INSERT INTO schools (code, name, county_code, township_id, type, boarding) "
                    "SELECT '61' || lpad(g::text, 8, '0'), 'S' || g, '610528', 1, 'primary', false "
                    "FROM generate_series(1, :n) g"
                ),
                {"n": schools},
            )
        t0 = time.perf_counter()
        rows = []
        base = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
        for s in range(1, schools + 1):
            code = "61" + str(s).zfill(8)
            prev = genesis(code)
            for i in range(1, 11):
                body = dict(
                    report,
                    school_code=code,
                    report_id=str(uuid.uuid4()),
                    period=f"2025-{i:02d}" if i <= 12 else "2026-01",
                )
                content = canonical_json(body).decode()
                digest = content_sha256(body)
                at = base + dt.timedelta(seconds=s * 10 + i)
                link = revision_link(prev, digest, body["report_id"], body["period"], 1, at)
                rows.append(
                    (
                        body["report_id"],
                        code,
                        body["period"],
                        1,
                        at,
                        "credential:1",
                        content,
                        digest,
                        "[]",
                        True,
                        i,
                        prev,
                        link,
                    )
                )
                prev = link
        import psycopg

        with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as pg:
            with (
                pg.cursor() as cur,
                cur.copy(
                    "COPY report_revisions (report_id, school_code, period, revision, received_at, signer, content, "
                    "content_sha256, warnings, on_time, chain_seq, prev_chain_hash, chain_hash) FROM STDIN"
                ) as copy,
            ):
                for r in rows:
                    copy.write_row(r)
        print(f"built {len(rows)} chained revisions of {schools} schools in {time.perf_counter() - t0:.1f} s")
        rows.clear()

        def timed(fn, repeat: int = 3) -> tuple[float, object]:
            best, out = float("inf"), None
            for _ in range(repeat):
                t = time.perf_counter()
                out = fn()
                best = min(best, time.perf_counter() - t)
            return best, out

        def plain_select() -> int:
            with engine.connect() as conn:
                return len(
                    conn.execute(
                        text(
                            "SELECT id, school_code, report_id, period, revision, received_at, content, "
                            "content_sha256, chain_seq, prev_chain_hash, chain_hash FROM report_revisions "
                            "ORDER BY school_code, chain_seq"
                        )
                    ).all()
                )

        def walk() -> object:
            with Session(engine) as s:
                return verify(s)

        t_select, n = timed(plain_select)
        t_verify, result = timed(walk)
        assert getattr(result, "ok", False), getattr(result, "findings", None)
        print(f"\n1. verification of {n} revisions (best of 3)")
        print(f"   plain SELECT of them        {t_select:8.2f} s")
        print(f"   houqin audit verify (walk)  {t_verify:8.2f} s   ratio {t_verify / t_select:.2f}")

        # 2. ingestion without and with the chain's own work
        keys = HubKeys.load(Path(f"/tmp/{name}-keys"))
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_plain (id BIGSERIAL PRIMARY KEY, body JSONB)"))
            conn.execute(
                text(
                    "CREATE TABLE bench_chained (id BIGSERIAL PRIMARY KEY, school TEXT, seq INT, "
                    "hash TEXT, body JSONB, UNIQUE (school, seq))"
                )
            )
        payloads = [json.dumps(dict(report, report_id=str(uuid.uuid4()))).encode() for _ in range(opts.ingest)]
        pg = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))

        def plain(raw: bytes) -> None:
            data = json.loads(raw)
            with pg.cursor() as cur:
                cur.execute("INSERT INTO bench_plain (body) VALUES (%s)", (json.dumps(data),))
            pg.commit()

        def chained(raw: bytes) -> None:
            data = json.loads(raw)
            code = "61" + str((hash(data["report_id"]) % schools) + 1).zfill(8)
            with pg.cursor() as cur:
                cur.execute("SELECT code FROM schools WHERE code = %s FOR UPDATE", (code,))
                cur.execute("SELECT seq, hash FROM bench_chained WHERE school = %s ORDER BY seq DESC LIMIT 1", (code,))
                last = cur.fetchone()
                prev = last[1] if last else genesis(code)
                digest = content_sha256(data)
                now = dt.datetime.now(dt.UTC)
                link = revision_link(prev, digest, data["report_id"], data["period"], 1, now)
                cur.execute(
                    "INSERT INTO bench_chained (school, seq, hash, body) VALUES (%s, %s, %s, %s)",
                    (code, (last[0] + 1) if last else 1, link, json.dumps(data)),
                )
            pg.commit()
            receipt = {
                "report_id": data["report_id"],
                "school_code": code,
                "period": data["period"],
                "revision": 1,
                "received_at": now.isoformat(),
                "on_time": True,
                "content_sha256": digest,
                "chain_hash": link,
                "hub_key_id": keys.current_id,
            }
            keys.sign(receipt_payload(receipt))

        rounds = 5
        per = opts.ingest // rounds
        times: dict[str, list[float]] = {"plain": [], "chained": []}
        for r in range(rounds):
            chunk = payloads[r * per : (r + 1) * per]
            for label, fn in (
                (("plain", plain), ("chained", chained)) if r % 2 == 0 else (("chained", chained), ("plain", plain))
            ):
                t = time.perf_counter()
                for raw in chunk:
                    fn(raw)
                times[label].append((time.perf_counter() - t) / len(chunk))
        pg.close()
        p, c = statistics.median(times["plain"]), statistics.median(times["chained"])
        print(f"\n2. ingestion, {opts.ingest} reports in {rounds} alternating rounds (median per report)")
        print(f"   parse + INSERT + commit            {p * 1000:7.2f} ms")
        print(
            f"   the same + the chain + signature   {c * 1000:7.2f} ms   ratio {c / p:.2f} "
            f"(chain adds {(c - p) * 1000:.2f} ms a report)"
        )
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
