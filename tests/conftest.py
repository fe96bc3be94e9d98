"""Shared fixtures: a real database built by the migrations once per session; each test in a rolled-back
transaction (SQLAlchemy's "joining a session into an external transaction").

SQLite by default. Set ``HOUQIN_TEST_POSTGRES_URL`` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run the same suite on PostgreSQL: a fresh database is created for the run and dropped after it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from district.db import db, make_engine
from district.migrate import upgrade
from tests.factories import EXAMPLE_REPORT, example_report

__all__ = ["EXAMPLE_REPORT", "example_report"]  # the factories' names older test modules import from here

ROOT = Path(__file__).resolve().parent.parent

#: The hub's clock in every test (``district.clock``): no test reads the machine's date. 2026-11-21 noon in
#: Asia/Shanghai: the 2026-10 reports are due (closed on 2026-11-05), 2026-11 is the month under way.
HUB_NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SPEC = ROOT.parent / "shared" / "spec"


def postgres_url() -> str | None:
    return os.environ.get("HOUQIN_TEST_POSTGRES_URL") or None


def _fresh_postgres_database(base_url: str) -> tuple[str, Any]:
    url = make_url(base_url)
    name = f"houqin_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(autouse=True)
def _empty_read_caches() -> None:
    """Each test starts with empty read-side caches (``district/readcache.py``): a test's rolled-back rows
    may come back in the next test under the same ids."""
    from district import readcache

    readcache.clear()


@pytest.fixture(autouse=True)
def hub_clock() -> Iterator[Any]:
    """Every test runs on the hub's clock set to :data:`HUB_NOW` and running on from there as the test takes
    time (so two requests are not at the same instant); ``hub_clock.set(t)`` fixes it at ``t``,
    ``hub_clock.release()`` gives it back to the real time (the demo clock's own test)."""
    from district import clock

    class _Clock:
        def set(self, at: dt.datetime, *, ticking: bool = False) -> None:
            clock.set_now(at, ticking=ticking)

        def release(self) -> None:
            clock.set_now(None)

        def now(self) -> dt.datetime:
            return clock.now()

    from district.scoring.ranking import clear_transient_rankings

    clear_transient_rankings()  # keyed by ids that a rolled-back test leaves free for the next one
    with clock.frozen(HUB_NOW, ticking=True):
        yield _Clock()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = postgres_url()
    if base:
        url, drop = _fresh_postgres_database(base)
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'houqin-test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def app(engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from district.app import create_app

    instance = tmp_path_factory.mktemp("instance")
    application = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(instance),
            "TESTING": True,
            "RATE_LIMIT_PER_MINUTE": 100000,
            # a test's data is uncommitted (rolled back after it): another connection cannot store a ranking of it
            "RANKING_STORE_ON_READ": False,
            "READ_MAX_AGE_SECONDS": 0,  # every read sees the change the test just made
            "COMPUTING_READS_PER_MINUTE": 0,  # counted per user id, which rolled-back tests reuse (tested on its own)
        }
    )
    # the tests' transaction-bound sessions use the session-wide engine
    db.engine = engine
    return application


@pytest.fixture()
def session(app: Any, engine: Engine) -> Iterator[Any]:
    """A session inside a transaction that is rolled back at the end of the test; commits become savepoints."""
    conn = engine.connect()
    outer = conn.begin()
    db.session.remove()
    db.session_factory.configure(bind=conn, join_transaction_mode="create_savepoint")
    s = db.session()
    ctx = app.app_context()
    ctx.push()
    try:
        yield s
    finally:
        ctx.pop()
        db.session.remove()
        outer.rollback()
        conn.close()
        db.session_factory.kw.pop("join_transaction_mode", None)
        db.session_factory.configure(bind=engine)


@pytest.fixture()
def restore_db_state(app: Any) -> Iterator[None]:
    """For tests that build another app in-process (the CLI): the process-wide ``db`` is put back after."""
    saved_engine, saved_kw = db.engine, dict(db.session_factory.kw)
    try:
        yield
    finally:
        db.session.remove()
        db.engine = saved_engine
        db.session_factory.kw.clear()
        db.session_factory.kw.update(saved_kw)


@pytest.fixture()
def client(app: Any, session: Any) -> Any:
    return app.test_client()


# ---------------------------------------------------------------- factories


# example_report, school_report, submit: tests/factories.py (imported from here by older modules too)


@pytest.fixture()
def county(session: Any) -> Any:
    """富平县-like county 610528 with two townships and four schools (one closed, one opened late)."""
    import datetime as dt

    from district.registry.models import City, County, School, Township

    session.add(City(code="610500", name="渭南市"))
    session.add(County(code="610528", city_code="610500", name="富平县"))
    session.flush()
    t1 = Township(county_code="610528", name="庄里镇")
    t2 = Township(county_code="610528", name="城关街道")
    session.add_all([t1, t2])
    session.flush()
    session.add_all(
        [
            School(
                code="6105280001",
                name="庄里镇中心小学",
                county_code="610528",
                township_id=t1.id,
                type="primary",
                boarding=True,
            ),
            School(
                code="6105280002",
                name="庄里镇初级中学",
                county_code="610528",
                township_id=t1.id,
                type="junior",
                boarding=True,
            ),
            School(
                code="6105280003",
                name="城关第一小学",
                county_code="610528",
                township_id=t2.id,
                type="primary",
                boarding=False,
                closed=dt.date(2026, 6, 30),
            ),
            School(
                code="6105280004",
                name="城关新区小学",
                county_code="610528",
                township_id=t2.id,
                type="primary",
                boarding=False,
                opened=dt.date(2026, 10, 1),
            ),
        ]
    )
    session.flush()
    return session.get(County, "610528")


class SignedClient:
    """Signs requests as a school agent does (API.md), over the Flask test client."""

    def __init__(self, client: Any, school_code: str, secret: str) -> None:
        self.client, self.school_code, self.secret = client, school_code, secret

    def headers(
        self,
        method: str,
        path: str,
        body: bytes,
        *,
        ts: int | None = None,
        school: str | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        from district import clock
        from houqin_standard import sign_request

        ts = int(clock.now().timestamp()) if ts is None else ts
        return {
            "X-Houqin-School": school or self.school_code,
            "X-Houqin-Timestamp": str(ts),
            "X-Houqin-Signature": sign_request(secret or self.secret, ts, method, path, body),
        }

    def post_report(
        self,
        report: Any,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        lang: str | None = None,
        **sign: Any,
    ) -> Any:
        raw = body if body is not None else json.dumps(report, ensure_ascii=False).encode("utf-8")
        headers = self.headers("POST", "/api/v1/reports", raw, **sign)
        headers["Content-Type"] = content_type
        if lang:
            headers["Accept-Language"] = lang
        return self.client.post("/api/v1/reports", data=raw, headers=headers)

    def get(self, path: str, **sign: Any) -> Any:
        return self.client.get(path, headers=self.headers("GET", path, b"", **sign))


@pytest.fixture()
def credentials(app: Any, session: Any, county: Any) -> dict[str, str]:
    from district.registry.crypto import SecretBox
    from district.registry.services import issue_credential

    box = SecretBox(app.config["SERVER_KEY_FILE"])
    return {code: issue_credential(session, box, code) for code in ("6105280001", "6105280002", "6105280004")}


@pytest.fixture()
def agent(client: Any, credentials: dict[str, str]) -> SignedClient:
    return SignedClient(client, "6105280001", credentials["6105280001"])
