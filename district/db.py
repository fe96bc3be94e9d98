"""The database layer: ``Base`` with a naming convention, shared column types and the session.

Services ``flush()``; the request, CLI command or task that called them commits once (or rolls back).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar

import orjson
from sqlalchemy import JSON, DateTime, MetaData, Numeric, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

from district import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, returns aware UTC; refuses naive input so no local time slips in."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


money = Annotated[decimal.Decimal, mapped_column(Numeric(14, 2))]
utc_datetime = Annotated[dt.datetime, mapped_column(UTCDateTime())]
school_code = Annotated[str, mapped_column(String(10))]
county_code = Annotated[str, mapped_column(String(6))]
period_str = Annotated[str, mapped_column(String(7))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def utcnow() -> dt.datetime:
    """The hub's clock (``district.clock.now``): every stored time and every date rule reads it."""
    return clock.now()


def json_text(value: Any) -> str:
    """JSON columns (ranking snapshots, audit details) written with orjson: several times faster than ``json``
    for a county's ranking. Values orjson refuses (an integer beyond 64 bits) fall back to ``json``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


SQLITE_BUSY_TIMEOUT_MS = 30000  # how long a SQLite writer waits for the write lock


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {"future": True, "json_serializer": json_text, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        # no pool limit: a thread that waits for SQLite's write lock holds its connection, and a bounded pool
        # made every other request (reads included) wait for a connection behind them (QueuePool's 30 s)
        kwargs["pool_size"], kwargs["max_overflow"] = 10, -1
    else:
        # no pre-ping: it is one more round trip on every request; stale connections are recycled instead, and
        # a connection dropped under a request surfaces as OperationalError, which ingestion retries
        kwargs["pool_recycle"] = 1800
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _private_sqlite_file(engine)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # SQLAlchemy's recipe: stop pysqlite from managing transactions so SAVEPOINT works
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # a transaction that will write (a POST, ingestion, a CLI command, a task) asks for the write lock up
            # front, so concurrent writers wait on busy_timeout instead of failing when a read snapshot goes stale
            # (SQLITE_BUSY_SNAPSHOT); ``sqlite_busy_ms`` waits less than busy_timeout for it (best-effort writes)
            options = conn.get_execution_options()
            mode = options.get("sqlite_begin", "")
            busy_ms = options.get("sqlite_busy_ms")
            if busy_ms is None:
                conn.exec_driver_sql(f"BEGIN {mode}".strip())
                return
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_ms)}")
            try:
                conn.exec_driver_sql(f"BEGIN {mode}".strip())
            finally:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")

    return engine


def _private_sqlite_file(engine: Engine) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use the umask's 0644): it holds every school's
    reports and the users' password hashes. SQLite gives its -wal and -shm files the database file's mode."""
    from pathlib import Path

    from district.files import create_private

    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if path.parent.is_dir():
        create_private(path)


class Database:
    """One engine and a scoped session per app; ``init_app`` wires teardown."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory = sessionmaker(expire_on_commit=False)
        self.session: scoped_session[Session] = scoped_session(self.session_factory)
        self._writers: dict[Engine, Engine] = {}  # engine -> its BEGIN IMMEDIATE twin (keyed by the engine itself)

    def init_app(self, app: Any) -> None:
        self.engine = make_engine(app.config["DATABASE_URL"])
        self.session_factory.configure(bind=self.engine)
        app.extensions["houqin_db"] = self

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

    def begin_write(self, session: Session, **options: Any) -> None:
        """Start ``session``'s transaction as a writer (SQLite: BEGIN IMMEDIATE; other databases: no-op).

        Only when no transaction is under way (a session joined to an outer transaction, as in tests, keeps it).
        ``options``: further execution options (``sqlite_busy_ms``: wait less for the write lock).
        """
        if not session.in_transaction() and session.get_bind().dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE", **options})

    def bind_writer(self, session: Session) -> None:
        """Make every transaction ``session`` begins from now on a writer's (SQLite: BEGIN IMMEDIATE at its first
        statement, not before: a request that ends before touching the database takes no lock). The request's
        unit of work (``district.unit_of_work``) calls it for POST, PUT, PATCH and DELETE."""
        bind = session.bind
        if not isinstance(bind, Engine) or bind.dialect.name != "sqlite" or session.in_transaction():
            return  # a session joined to a connection (tests) keeps its transaction; other databases: no-op
        if "houqin_reader_bind" in session.info:
            return
        writer = self._writers.get(bind)
        if writer is None:
            writer = self._writers[bind] = bind.execution_options(sqlite_begin="IMMEDIATE")
        session.info["houqin_reader_bind"] = bind
        session.bind = writer

    def bind_reader(self, session: Session) -> None:
        """Undo :meth:`bind_writer`: transactions ``session`` begins from now on begin deferred again."""
        if "houqin_reader_bind" in session.info and not session.in_transaction():
            session.bind = session.info.pop("houqin_reader_bind")

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """Commit once at the boundary, or roll back. ``write`` (the default) begins as a writer
        (:meth:`begin_write`); a CLI command or task that only reads passes ``write=False``."""
        session = self.session()
        if write:
            self.begin_write(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


db = Database()
