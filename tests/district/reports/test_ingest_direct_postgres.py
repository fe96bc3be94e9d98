"""The PostgreSQL ingestion path on a committed database (not the rolled-back test transaction): the signer and
context in one statement and the writes in one, in autocommit, on the process's own connection.

The rest of the suite runs its API tests inside a rolled-back transaction, where the hub falls back to the
session's connection; these tests build a hub on a throwaway database so the direct path itself is exercised.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from district import clock
from district.db import db, make_engine
from district.migrate import upgrade
from tests.conftest import SignedClient, example_report, postgres_url

pytestmark = pytest.mark.skipif(not postgres_url(), reason="the PostgreSQL path (HOUQIN_TEST_POSTGRES_URL)")

SCHOOL, OTHER = "6105280001", "6105280002"


@pytest.fixture()
def hub(tmp_path: Path, restore_db_state: None) -> Iterator[tuple[Any, Any, dict[str, str]]]:
    from district.app import create_app
    from district.registry.crypto import SecretBox
    from district.registry.models import City, County, School, Township
    from district.registry.services import issue_credential
    from tests.scratch_db import throwaway_postgres

    base = postgres_url()
    assert base is not None
    with throwaway_postgres(base, "houqin_direct") as url:
        engine = make_engine(url)
        upgrade(engine)
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path), "RATE_LIMIT_PER_MINUTE": 100000})
        with app.app_context():
            s = db.session()
            s.add(City(code="610500", name="渭南市"))
            s.add(County(code="610528", city_code="610500", name="富平县"))
            s.flush()
            town = Township(county_code="610528", name="庄里镇")
            s.add(town)
            s.flush()
            for code, kind in ((SCHOOL, "primary"), (OTHER, "junior")):
                s.add(
                    School(
                        code=code,
                        name=f"学校{code[-1]}",
                        county_code="610528",
                        township_id=town.id,
                        type=kind,
                        boarding=True,
                    )
                )
            s.flush()
            box = SecretBox(app.config["SERVER_KEY_FILE"])
            secrets = {code: issue_credential(s, box, code) for code in (SCHOOL, OTHER)}
            s.commit()
            db.session.remove()
        try:
            yield app, engine, secrets
        finally:
            db.session.remove()
            if db.engine is not None:
                db.engine.dispose()  # the app's own engine (restore_db_state puts the suite's back)
            _store(app).close()  # the process's direct connection to the throwaway database
            engine.dispose()


def _store(app: Any) -> Any:
    from district.reports.store import PostgresReportStore

    store = app.extensions["houqin.report_store"]
    assert isinstance(store, PostgresReportStore)  # chosen by create_app for a PostgreSQL database
    return store


def _count(engine: Any, table: str, where: str = "true", **params: Any) -> int:
    with engine.connect() as conn:
        sql = f"SELECT count(*) FROM {table} WHERE {where}"  # noqa: S608 - the tests own table and where
        return int(conn.execute(text(sql), params).scalar_one())


def test_an_accepted_report_is_stored_whole_in_two_statements(hub: Any) -> None:
    from district.audit.models import AuditEntry
    from district.reports.figures import figures_json
    from district.reports.models import HazardEntry, ReportHead, ReportRevision, SeenSignature
    from houqin_standard import canonical_json, content_sha256

    app, engine, secrets = hub
    agent = SignedClient(app.test_client(), SCHOOL, secrets[SCHOOL])
    report = example_report(
        hazards=[
            {
                "ref": "H-1",
                "found_on": "2026-09-03",
                "category": "fire",
                "severity": "major",
                "description": "<script>alert(1)</script>'; DROP TABLE schools;--",
                "deadline": "2026-09-30",
                "rectified_on": None,
            },
            {
                "ref": "H-2",
                "found_on": "2026-09-04",
                "category": "building",
                "severity": "general",
                "description": "配电箱未上锁",
                "deadline": "2026-09-20",
                "rectified_on": "2026-09-10",
            },
        ]
    )
    statements: list[str] = []
    from sqlalchemy import event

    assert db.engine is not None and db.engine is not engine  # the app's own engine
    event.listen(db.engine, "checkout", lambda *a: statements.append("checkout"))
    body = json.dumps(report, ensure_ascii=False).encode("utf-8")
    headers = {**agent.headers("POST", "/api/v1/reports", body), "Content-Type": "application/json"}
    resp = agent.client.post("/api/v1/reports", data=body, headers=headers)
    assert resp.status_code == 201, resp.json
    receipt = resp.json
    # the session never took a connection from its pool: the two statements went over the direct connection
    assert statements == []
    with app.app_context():
        assert not db.session().info  # the submission's direct connection was handed back
    with Session(engine) as s:
        rev = s.scalars(select(ReportRevision)).one()
        assert rev.content == canonical_json(report).decode("utf-8")
        assert rev.content_sha256 == content_sha256(report) == receipt["content_sha256"]
        assert (rev.revision, rev.chain_seq, rev.chain_hash) == (1, 1, receipt["chain_hash"])
        assert rev.received_at.tzinfo is not None
        assert rev.received_at.isoformat(timespec="microseconds") == dt.datetime.fromisoformat(
            receipt["received_at"]
        ).astimezone(dt.UTC).isoformat(timespec="microseconds")
        assert [w["code"] for w in rev.warnings] == [w["code"] for w in receipt["warnings"]]
        head = s.get(ReportHead, (SCHOOL, report["period"]))
        assert head is not None and (head.revision_id, head.revisions, head.county_code) == (rev.id, 1, "610528")
        assert head.figures == figures_json(report)  # what scoring reads of the revision, in the same statement
        hazards = s.scalars(select(HazardEntry).order_by(HazardEntry.ref)).all()
        assert [(h.ref, h.severity, h.found_on, h.deadline, h.rectified_on, h.description) for h in hazards] == [
            (
                "H-1",
                "major",
                dt.date(2026, 9, 3),
                dt.date(2026, 9, 30),
                None,
                "<script>alert(1)</script>'; DROP TABLE schools;--",
            ),
            ("H-2", "general", dt.date(2026, 9, 4), dt.date(2026, 9, 20), dt.date(2026, 9, 10), "配电箱未上锁"),
        ]
        assert all(h.revision_id == rev.id and h.period == report["period"] for h in hazards)
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "report.accepted")).one()
        assert (entry.actor, entry.county_code, entry.school_code) == (f"school:{SCHOOL}", "610528", SCHOOL)
        assert entry.details == {
            "report_id": report["report_id"],
            "period": report["period"],
            "revision": 1,
            "content_sha256": rev.content_sha256,
        }
        assert entry.at == rev.received_at and entry.chain_key is None
        assert s.scalars(select(SeenSignature.signature)).all() == [headers["X-Houqin-Signature"].lower()]


def test_replay_idempotency_conflict_lock_and_invalid_reports(hub: Any) -> None:
    from district.reports.approval import set_lock

    app, engine, secrets = hub
    client = app.test_client()
    agent = SignedClient(client, SCHOOL, secrets[SCHOOL])
    report = example_report()
    body = json.dumps(report, ensure_ascii=False).encode("utf-8")
    headers = {**agent.headers("POST", "/api/v1/reports", body), "Content-Type": "application/json"}
    first = client.post("/api/v1/reports", data=body, headers=headers)
    assert first.status_code == 201
    replay = client.post("/api/v1/reports", data=body, headers=headers)
    assert replay.status_code == 401 and replay.json["error"]["code"] == "replay"
    again = agent.post_report(report, ts=int(clock.now().timestamp()) + 1)  # signed anew: the same receipt
    assert again.status_code == 200 and again.json == first.json
    changed = agent.post_report({**report, "prepared_by": "另一人"})
    assert changed.status_code == 409 and changed.json["error"]["code"] == "report_id_conflict"
    bad = example_report(enrollment__boarders=10**6)
    invalid = agent.post_report(bad)
    assert invalid.status_code == 422
    assert _count(engine, "report_revisions") == 1
    # every verified signature is kept as seen, the refused ones too (the replay's was already)
    assert _count(engine, "seen_signatures") == 4
    assert _count(engine, "rejections", "code = :c", c="validation_failed") == 1
    with app.app_context():
        set_lock(db.session(), "610528", report["period"], lock=True, actor="bureau")
        db.session().commit()
        db.session.remove()
    locked = agent.post_report(example_report())
    assert locked.status_code == 409 and locked.json["error"]["code"] == "period_locked"
    assert _count(engine, "report_revisions") == 1
    # a correction of another month is a second revision in the school's chain
    second = agent.post_report(example_report(period="2026-08"))
    assert second.status_code == 201, second.json
    with engine.connect() as conn:
        assert conn.execute(text("SELECT chain_seq FROM report_revisions ORDER BY id")).scalars().all() == [1, 2]


def test_a_lost_direct_connection_is_replaced_and_the_report_kept(hub: Any) -> None:
    """PostgreSQL restarted (the process's connection terminated): the hub reconnects on the retry."""
    app, engine, secrets = hub
    agent = SignedClient(app.test_client(), SCHOOL, secrets[SCHOOL])
    assert agent.post_report(example_report()).status_code == 201
    conn = _store(app).direct_connection()
    assert conn is not None and not conn.closed and conn.info.dbname in str(engine.url)
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": conn.info.backend_pid})
        admin.commit()
    resp = agent.post_report(example_report(period="2026-08"))
    assert resp.status_code == 201, resp.json
    assert _count(engine, "report_revisions") == 2


def test_threads_of_one_process_share_one_direct_connection_and_each_reads_its_own_rows(hub: Any) -> None:
    """A gthread worker's threads make one direct connection between them (two threads that found none made two,
    one of them left open) and use it with a cursor each: every receipt is its own report's."""
    import sys
    import threading

    app, engine, secrets = hub
    periods = [f"2026-{m:02d}" for m in range(1, 10)]
    results: dict[str, list[Any]] = {SCHOOL: [], OTHER: []}
    start = threading.Barrier(2)

    def submit(school: str) -> None:
        agent = SignedClient(app.test_client(), school, secrets[school])
        start.wait()
        for period in periods:
            report = example_report(period=period)
            report["school_code"] = school
            resp = agent.post_report(report)
            results[school].append((report["report_id"], period, resp.status_code, resp.json))

    threads = [threading.Thread(target=submit, args=(code,)) for code in (SCHOOL, OTHER)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can, between any two steps
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    for school, answers in results.items():
        assert len(answers) == len(periods)
        for report_id, period, status, body in answers:
            assert status == 201, body
            assert (body["report_id"], body["school_code"], body["period"]) == (report_id, school, period)
        # each school's chain in order, one link per report
        assert [b["revision"] for *_, b in answers] == [1] * len(periods)
    assert _count(engine, "report_revisions") == 2 * len(periods)
    assert _count(engine, "report_revisions", "chain_seq > 0 AND school_code = :s", s=OTHER) == len(periods)


def test_the_one_statement_writes_what_the_separate_statements_write(hub: Any) -> None:
    """The PostgreSQL store's one statement and the portable store's separate statements (the SQLite path) store
    the same rows from the same input."""
    from sqlalchemy.dialects import postgresql

    from district.reports.figures import figures_json
    from district.reports.models import HazardEntry, ReportHead, ReportRevision
    from district.reports.store import PostgresReportStore, SqlAlchemyReportStore, Writes

    app, engine, _secrets = hub
    fast, portable = _store(app), SqlAlchemyReportStore(postgresql.insert)
    assert isinstance(fast, PostgresReportStore) and not isinstance(portable, PostgresReportStore)
    now = dt.datetime(2026, 10, 3, 8, 30, 15, 123456, tzinfo=dt.UTC)
    rows = {}
    for school, store in ((SCHOOL, fast), (OTHER, portable)):
        revision = {
            "report_id": str(uuid.uuid4()),
            "school_code": school,
            "period": "2026-09",
            "revision": 1,
            "received_at": now,
            "signer": "credential:1",
            "content": '{"a":"中文"}',
            "content_sha256": "c" * 64,
            "warnings": [{"path": "/period", "code": "period_old", "zh": "补报", "en": "late"}],
            "on_time": True,
            "chain_seq": 1,
            "prev_chain_hash": "0" * 64,
            "chain_hash": "1" * 64,
        }
        hazards = [
            {
                "ref": "H-1",
                "found_on": "2026-09-01",
                "category": "fire",
                "severity": "major",
                "description": "灭火器过期",
                "deadline": "2026-09-15",
                "rectified_on": None,
            }
        ]
        audit = {
            "at": now,
            "actor": f"school:{school}",
            "action": "report.accepted",
            "county_code": "610528",
            "school_code": school,
            "details": {"report_id": revision["report_id"], "revision": 1},
        }
        with Session(engine) as s:
            figures = figures_json(example_report())
            store.write(s, Writes("610528", revision, False, hazards, audit, f"{school}-sig".ljust(64, "0"), figures))
            s.commit()
        with Session(engine) as s:
            rev = s.scalars(select(ReportRevision).where(ReportRevision.school_code == school)).one()
            head = s.get(ReportHead, (school, "2026-09"))
            haz = s.scalars(select(HazardEntry).where(HazardEntry.school_code == school)).one()
            rows[school] = (
                head.figures,
                {k: getattr(rev, k) for k in ("period", "received_at", "content", "warnings", "on_time", "chain_seq")},
                (head.revisions, head.first_received_at, head.on_time, head.revision_id == rev.id),
                (haz.found_on, haz.deadline, haz.rectified_on, haz.description, haz.revision_id == rev.id),
            )
    assert rows[SCHOOL] == rows[OTHER]
    assert rows[SCHOOL][0] == figures_json(example_report())  # the head keeps the revision's figures
    with engine.connect() as conn:
        texts = conn.execute(text("SELECT warnings::text FROM report_revisions ORDER BY id")).scalars().all()
        details = (
            conn.execute(text("SELECT details::text FROM audit_log WHERE action = 'report.accepted' ORDER BY id"))
            .scalars()
            .all()
        )
    assert texts[0] == texts[1]  # the same JSON text, as the JSON type stores it
    assert json.loads(details[0])["revision"] == json.loads(details[1])["revision"] == 1


def test_the_direct_connection_keeps_the_options_of_the_database_url(hub: Any) -> None:
    """The process's own connection connects as SQLAlchemy does: options the database URL gives its connections
    (a space in them too) are in force on it."""
    from district.reports.store import store_for

    _app, engine, _secrets = hub
    options = {"options": "-c statement_timeout=4321"}
    with_options = make_engine(engine.url.update_query_dict(options).render_as_string(hide_password=False))
    store = store_for(with_options)
    assert store is not _store(_app)  # a store per database connection string
    try:
        with Session(with_options) as session:
            store.begin(session)
            conn = store.direct_connection()
            assert conn is not None
            assert conn.execute("SHOW statement_timeout").fetchone() == ("4321ms",)
            store.end(session)
    finally:
        store.close()
        with_options.dispose()
