"""Where a submission is read from and written to: the :class:`ReportStore` backend of ingestion.

A new revision depends on one read (the signer, its credential and the report's context: :data:`SIGNER_CONTEXT`,
or :data:`CONTEXT` alone) and makes one set of writes (:class:`Writes`: the revision, its head, its hazards,
the audit entry and the seen signature). The rules that decide them are ``district.reports.services``'s and
know nothing of the database; a store runs the statements:

- :class:`SqlAlchemyReportStore` — portable: the statements through the request's session, the writes as
  separate statements (SQLite, where a round trip costs nothing).
- :class:`PostgresReportStore` — the fast path: the read compiled once and run prepared on psycopg, the writes
  in one statement (data-modifying CTEs), both in autocommit on the process's own connection when the session
  is not already in a transaction (docs/PERFORMANCE.md). Its rows read back exactly as the portable store's
  (tests/district/reports/test_ingest_direct_postgres.py).

``create_app`` picks the store once from the engine (:func:`store_for`) and the HTTP edges hand it to
``district.reports.ingest``; code without an app (the CLI, benches, tests calling the services) gets the same
store for its bind from :func:`store_for`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import BindParameter, Executable, and_, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from district.db import db, json_text
from district.duties import services as duties
from district.registry.models import County, Credential, School
from district.reports.models import HazardEntry, PeriodApproval, ReportHead, ReportRevision, SeenSignature
from houqin_standard import period_add

__all__ = [
    "AUTH",
    "CONTEXT",
    "SIGNER_CONTEXT",
    "Context",
    "PostgresReportStore",
    "ReportStore",
    "SqlAlchemyReportStore",
    "Writes",
    "context_params",
    "latest_approval_act",
    "store_for",
]


# ---------------------------------------------------------------- what a submission reads


def latest_approval_act(county: Any, period: Any) -> Any:
    """The period's latest approval act ("lock" or "unlock"): its lock state, for ``period_locked`` and for
    the submission's one read (:data:`CONTEXT`)."""
    return (
        select(PeriodApproval.action)
        .where(PeriodApproval.county_code == county, PeriodApproval.period == period)
        .order_by(PeriodApproval.id.desc())
        .limit(1)
    )


def auth_statement(*school: Any) -> Any:
    """The school, its active credential (the newest unrevoked one, as ``registry.active_credential``), the
    county's deadline day and whether the signature was seen: one query."""
    return (
        select(
            *school,
            Credential.id,
            Credential.secret_encrypted,
            County.deadline_day,
            select(SeenSignature.signature).where(SeenSignature.signature == bindparam("signature")).exists(),
        )
        .join(Credential, Credential.school_code == School.code)
        .join(County, County.code == School.county_code)
        .where(School.code == bindparam("code"), Credential.revoked_at.is_(None))
        .order_by(Credential.id.desc())
        .limit(1)
    )


# built once: a statement object keeps its cache key, so executing it again costs no SQL construction
AUTH = auth_statement(School)


@dataclass
class Context:
    """What a new revision depends on, read in one statement (``period`` and ``report_id`` as claimed)."""

    period: str
    report_id: str
    existing_school: str | None  # the report_id's revision, when it was used
    existing_sha256: str | None
    lock_action: str | None  # the period's latest approval act
    head_revisions: int | None  # the school-period's head, when it has one
    head_on_time: bool | None
    last_chain_seq: int | None  # the school's last chain link
    last_chain_hash: str | None
    previous_content: str | None  # the effective report of the month before (the standard's carry-over rules)
    school_opened: dt.date | None  # the school's active range (``school_inactive``)
    school_closed: dt.date | None
    # the standard version the county requires from ``require_standard_from`` on (``reports.standards``)
    require_standard: int | None = None
    require_standard_from: str | None = None
    # the county's 后勤行事历 version in force (``district.duties``; ``None``: the calendar shipped with the hub)
    calendar_version_id: int | None = None


def _with_context(stmt: Any) -> Any:
    """``stmt`` (a select of one row of ``schools`` joined to ``counties``) with the report's context added: the
    :class:`Context` columns after its period and report_id.

    Each row it reads is joined once on its key (the report_id's revision, the head, the head and revision of the
    month before), not read again per column by a scalar subquery, and the school and county are the statement's
    own: the same columns in about half the look-ups (docs/PERFORMANCE.md). Every join finds at most one row, so
    the school's row stays one row; SQLite and PostgreSQL run the same statement."""
    rr, rh = ReportRevision.__table__, ReportHead.__table__
    existing, previous = rr.alias("existing"), rr.alias("previous")
    head, previous_head = rh.alias("head"), rh.alias("previous_head")
    period: BindParameter[str] = bindparam("period")
    # the school's last chain link: two probes of the (school_code, chain_seq) index backwards; joined on the
    # highest chain_seq instead, PostgreSQL would hash all the school's revisions
    link = select(rr.c.chain_seq, rr.c.chain_hash).where(rr.c.school_code == School.code)
    link = link.order_by(rr.c.chain_seq.desc()).limit(1)
    return (
        stmt.add_columns(
            existing.c.school_code,
            existing.c.content_sha256,
            latest_approval_act(School.county_code, period).scalar_subquery(),
            head.c.revisions,
            head.c.on_time,
            link.with_only_columns(rr.c.chain_seq).scalar_subquery(),
            link.with_only_columns(rr.c.chain_hash).scalar_subquery(),
            previous.c.content,  # the effective report of the month before
            School.opened,
            School.closed,
            County.require_standard,
            County.require_standard_from,
            duties.current_version_id_statement(School.county_code),
        )
        .outerjoin(existing, existing.c.report_id == bindparam("report_id"))
        .outerjoin(head, and_(head.c.school_code == School.code, head.c.period == period))
        .outerjoin(
            previous_head,
            and_(previous_head.c.school_code == School.code, previous_head.c.period == bindparam("previous_period")),
        )
        .outerjoin(previous, previous.c.id == previous_head.c.revision_id)
    )


#: The report's context (:class:`Context` after its period and report_id) of the school ``school``.
CONTEXT = _with_context(
    select()
    .select_from(School)
    .join(County, County.code == School.county_code)
    .where(School.code == bindparam("school"))
)
#: The signer (school code, county code, credential id, secret, deadline day, seen) and the report's context:
#: :data:`AUTH`'s row and :data:`CONTEXT`'s in one statement (``code`` and ``school`` both the claimed school).
SIGNER_CONTEXT = _with_context(auth_statement(School.code, School.county_code))


def context_params(period: str, report_id: str) -> dict[str, str]:
    try:
        previous_period = period_add(period, -1) if len(period) == 7 else ""
    except ValueError:
        previous_period = ""
    return {"period": period, "report_id": report_id.lower(), "previous_period": previous_period}


# ---------------------------------------------------------------- what a submission writes


@dataclass
class Writes:
    """What a new revision writes: the revision row, its head (new or moved on), hazards, audit, signature."""

    county_code: str
    revision: dict[str, Any]
    head_exists: bool
    hazards: list[dict[str, Any]]
    audit: dict[str, Any]
    signature: str | None
    figures: str  # the revision's figures (``reports.figures``), the JSON its head keeps


class ReportStore(Protocol):
    """The backend of a submission's one read and one set of writes (module docstring)."""

    name: str

    def begin(self, session: Session) -> None:
        """Start an attempt at a submission in ``session`` (before its first read)."""

    def end(self, session: Session) -> None:
        """After the submission (accepted, refused or failed): ``session`` is the request's own again."""

    def signer_context(self, session: Session, params: dict[str, Any]) -> Sequence[Any] | None:
        """The row of :data:`SIGNER_CONTEXT`, or None for an unknown school or one without a credential."""

    def context(self, session: Session, params: dict[str, Any]) -> Sequence[Any]:
        """The row of :data:`CONTEXT`."""

    def write(self, session: Session, writes: Writes) -> None:
        """Store a new revision and everything that goes with it (atomic with the attempt)."""

    def record_seen(self, session: Session, signature: str, at: dt.datetime) -> None:
        """Keep a verified signature as seen (a refused request's), unless a concurrent twin already did."""


def _expire_stale_heads(session: Session) -> None:
    """Heads loaded into this session before the write are stale now (Core statements bypass the ORM)."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, ReportHead):
            session.expire(obj)


class SqlAlchemyReportStore:
    """The portable store: the session's own transaction (SQLite: begun as a writer, ``BEGIN IMMEDIATE``), the
    writes as separate statements. ``insert`` is the dialect's INSERT construct with ``on_conflict_do_nothing``
    (SQLite's and PostgreSQL's both have it)."""

    name = "sqlalchemy"

    def __init__(self, insert_construct: Any) -> None:
        self._insert = insert_construct

    def begin(self, session: Session) -> None:
        db.begin_write(session)

    def end(self, session: Session) -> None:
        pass

    def signer_context(self, session: Session, params: dict[str, Any]) -> Sequence[Any] | None:
        return session.execute(SIGNER_CONTEXT, params).first()

    def context(self, session: Session, params: dict[str, Any]) -> Sequence[Any]:
        return session.execute(CONTEXT, params).one()

    def record_seen(self, session: Session, signature: str, at: dt.datetime) -> None:
        stmt: Executable = self._insert(SeenSignature).values(signature=signature, seen_at=at).on_conflict_do_nothing()
        session.execute(stmt)

    def write(self, session: Session, w: Writes) -> None:
        from district.audit.models import AuditEntry

        rev_id = session.execute(insert(ReportRevision).values(**w.revision).returning(ReportRevision.id)).scalar_one()
        school_code, period = w.revision["school_code"], w.revision["period"]
        if w.head_exists:
            session.execute(
                update(ReportHead)
                .where(ReportHead.school_code == school_code, ReportHead.period == period)
                .values(revision_id=rev_id, revisions=w.revision["revision"], figures=w.figures)
            )
        else:
            session.execute(
                insert(ReportHead).values(
                    school_code=school_code,
                    period=period,
                    county_code=w.county_code,
                    revision_id=rev_id,
                    revisions=w.revision["revision"],
                    first_received_at=w.revision["received_at"],
                    on_time=w.revision["on_time"],
                    figures=w.figures,
                )
            )
        if w.hazards:
            session.execute(
                insert(HazardEntry),
                [
                    {
                        **h,
                        "revision_id": rev_id,
                        "school_code": school_code,
                        "period": period,
                        "found_on": dt.date.fromisoformat(h["found_on"]),
                        "deadline": dt.date.fromisoformat(h["deadline"]),
                        "rectified_on": dt.date.fromisoformat(h["rectified_on"]) if h["rectified_on"] else None,
                    }
                    for h in w.hazards
                ],
            )
        session.execute(insert(AuditEntry).values(**w.audit))
        if w.signature is not None:
            session.execute(insert(SeenSignature).values(signature=w.signature, seen_at=w.revision["received_at"]))
        _expire_stale_heads(session)


_WRITE_POSTGRESQL = text(
    """
WITH rev AS (
    INSERT INTO report_revisions (report_id, school_code, period, revision, received_at, signer, content,
                                  content_sha256, warnings, on_time, chain_seq, prev_chain_hash, chain_hash,
                                  calendar_version_id)
    VALUES (:report_id, :school_code, :period, :revision, :received_at, :signer, :content,
            :content_sha256, CAST(:warnings AS json), :on_time, :chain_seq, :prev_chain_hash, :chain_hash,
            CAST(:calendar_version_id AS integer))
    RETURNING id
), head AS (
    INSERT INTO report_heads (school_code, period, county_code, revision_id, revisions, first_received_at, on_time,
                              figures)
    SELECT :school_code, :period, :county_code, rev.id, :revision, :received_at, :on_time, :figures FROM rev
    ON CONFLICT (school_code, period) DO UPDATE SET revision_id = EXCLUDED.revision_id,
                                                    revisions = EXCLUDED.revisions,
                                                    figures = EXCLUDED.figures
), hazards AS (
    INSERT INTO hazard_entries (revision_id, school_code, period, ref, found_on, category, severity, description,
                                deadline, rectified_on)
    SELECT rev.id, :school_code, :period, h.ref, h.found_on, h.category, h.severity, h.description, h.deadline,
           h.rectified_on
    FROM rev, json_to_recordset(CAST(:hazards AS json)) AS h(ref text, found_on date, category text,
                                                              severity text, description text, deadline date,
                                                              rectified_on date)
), audit AS (
    INSERT INTO audit_log (at, actor, action, county_code, school_code, details)
    VALUES (:received_at, :actor, :action, :county_code, :school_code, CAST(:details AS json))
), seen AS (
    INSERT INTO seen_signatures (signature, seen_at)
    SELECT CAST(:signature AS varchar), :received_at WHERE CAST(:signature AS varchar) IS NOT NULL
)
SELECT id FROM rev
"""
)

_DIRECT = "houqin.report_store.direct"  # session.info key: the connection of this submission, when direct


def _execute(cur: Any, sql: bytes, params: dict[str, Any]) -> Any:
    """Run ``sql`` prepared on the psycopg cursor ``cur``; its first row. A database error is raised as SQLAlchemy
    would raise it (an IntegrityError for a lost race, ...)."""
    import psycopg

    try:
        cur.execute(sql, params, prepare=True)
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql.decode(), params, exc, psycopg.Error) from exc
    return cur.fetchone()


class PostgresReportStore(SqlAlchemyReportStore):
    """The PostgreSQL fast path (module docstring). A submission reads its signer and context in one statement
    and writes in one statement (atomic by itself); the unique constraints make the pair safe without a
    transaction around them (``reports.services.submit_report``). Run in autocommit on a connection the process
    keeps, they save the BEGIN and COMMIT round trips and the session's connection checkout, return and commit
    per report. A session bound to a connection or already in a transaction (joined to a test's outer
    transaction) is used as it is, its statements still compiled once and prepared."""

    name = "postgresql"

    def __init__(self, conninfo: str) -> None:
        """``conninfo``: the libpq connection string of the database (:func:`store_for` makes it from the
        engine's URL, with the arguments SQLAlchemy connects with)."""
        from sqlalchemy.dialects import postgresql

        super().__init__(postgresql.insert)
        self._dsn = conninfo
        self._conn: tuple[int, Any] | None = None  # (pid, psycopg connection): a forked worker makes its own
        # each thread's cursor on that connection, used for every statement of the thread's submissions (a new
        # psycopg cursor per statement costs ~20 µs of the process's CPU; a cursor's result is its thread's own)
        self._cursors = threading.local()
        self._connecting = threading.Lock()
        self._compiled: dict[str, tuple[bytes, dict[str, Any]]] = {}  # statement name → (SQL, default params)

    def _direct(self, session: Session) -> Any | None:
        bind = session.get_bind()
        if not isinstance(bind, Engine) or session.in_transaction():
            return None
        found = self._conn
        if found is not None and found[0] == os.getpid() and not found[1].closed and not found[1].broken:
            return found[1]
        import psycopg

        with self._connecting:  # the threads of a gthread worker make one connection between them
            found = self._conn
            if found is not None and found[0] == os.getpid():
                if not found[1].closed and not found[1].broken:
                    return found[1]
                found[1].close()  # broken (the server restarted): replaced
            conn = psycopg.connect(self._dsn, autocommit=True)
            self._conn = (os.getpid(), conn)
            return conn

    def direct_connection(self) -> Any | None:
        """This process's direct connection, when it has one (tests: terminate it to see it replaced)."""
        return None if self._conn is None or self._conn[0] != os.getpid() else self._conn[1]

    def close(self) -> None:
        if self._conn is not None and self._conn[0] == os.getpid():
            self._conn[1].close()
        self._conn = None

    def begin(self, session: Session) -> None:
        direct = self._direct(session)
        if direct is not None:
            session.info[_DIRECT] = direct

    def end(self, session: Session) -> None:
        session.info.pop(_DIRECT, None)

    def _cursor(self, conn: Any) -> Any:
        """This thread's cursor on the direct connection ``conn`` (a new one for a new connection)."""
        cursor = getattr(self._cursors, "cursor", None)
        if cursor is None or cursor.connection is not conn or cursor.closed:
            cursor = self._cursors.cursor = conn.cursor()
        return cursor

    def _fetch_one(self, session: Session, name: str, stmt: Any, params: dict[str, Any]) -> Any:
        """The first row of a prebuilt statement, compiled once and run prepared on psycopg: on the direct
        connection of this submission when it has one (with the thread's cursor), else on the session's own
        connection, in its transaction."""
        compiled = self._compiled.get(name)
        if compiled is None:
            c = stmt.compile(dialect=session.get_bind().dialect)
            # the SQL as bytes: psycopg neither encodes it again nor hashes it again to find its prepared statement
            compiled = self._compiled[name] = (str(c).encode(), dict(c.params))
        sql, defaults = compiled
        direct = session.info.get(_DIRECT)
        if direct is not None:
            return _execute(self._cursor(direct), sql, {**defaults, **params})
        conn: Connection = session.connection()
        driver = conn.connection.driver_connection
        if driver is None:  # only a detached (closed) pool connection has no driver connection
            raise RuntimeError("the session's connection is closed")
        with driver.cursor() as cur:
            return _execute(cur, sql, {**defaults, **params})

    def signer_context(self, session: Session, params: dict[str, Any]) -> Sequence[Any] | None:
        row: Sequence[Any] | None = self._fetch_one(session, "signer_context", SIGNER_CONTEXT, params)
        return row

    def context(self, session: Session, params: dict[str, Any]) -> Sequence[Any]:
        row: Sequence[Any] = self._fetch_one(session, "context", CONTEXT, params)
        return row

    def write(self, session: Session, w: Writes) -> None:
        """The same writes as the portable store's in one statement (data-modifying CTEs): one round trip.
        Timestamps are bound as naive UTC, as ``UTCDateTime`` stores them; a revision, head, hazard or audit row
        written here reads back exactly as one written by the portable store."""
        received = w.revision["received_at"].astimezone(dt.UTC).replace(tzinfo=None)
        params = {
            **w.revision,
            "received_at": received,
            "warnings": json_text(w.revision["warnings"]),  # as the JSON type stores it (district.db)
            "county_code": w.county_code,
            "hazards": json.dumps(w.hazards, ensure_ascii=False),
            "actor": w.audit["actor"],
            "action": w.audit["action"],
            "details": json_text(w.audit["details"]),
            "signature": w.signature,
            "figures": w.figures,
        }
        self._fetch_one(session, "write", _WRITE_POSTGRESQL, params)
        _expire_stale_heads(session)


# (dialect, connection string) → its store: not a cache (a store holds the process's connection), a backend per
# database
_stores: dict[tuple[str, str], ReportStore] = {}
_stores_lock = threading.Lock()


def _store(dialect: str, url: str) -> ReportStore:
    with _stores_lock:
        found = _stores.get((dialect, url))
        if found is not None:
            return found
        made: ReportStore
        if dialect == "postgresql":
            made = PostgresReportStore(url)
        elif dialect == "sqlite":
            from sqlalchemy.dialects import sqlite

            made = SqlAlchemyReportStore(sqlite.insert)
        else:
            raise ValueError(f"no report store for the {dialect} dialect (SQLite and PostgreSQL are supported)")
        _stores[(dialect, url)] = made
        return made


def store_for(bind: Engine | Connection) -> ReportStore:
    """The report store of a database (one per database URL in a process): PostgreSQL's fast path, or the
    portable store on SQLite."""
    engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name != "postgresql":
        return _store(engine.dialect.name, engine.url.render_as_string(hide_password=False))
    import psycopg

    # what SQLAlchemy itself connects with (a query option of the URL decoded as libpq would, spaces and all)
    _args, kwargs = engine.dialect.create_connect_args(engine.url)
    conninfo = psycopg.conninfo.make_conninfo("", **{k: v for k, v in kwargs.items() if k != "context"})
    return _store("postgresql", conninfo)
