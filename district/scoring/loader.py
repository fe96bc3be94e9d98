"""What a ranking reads from the database, behind one interface (as Sentry keeps its speed-ups behind ``tsdb``
and ``buffer`` backends): :class:`ScoreLoader`, with a portable SQLAlchemy implementation
(:class:`SqlScoreLoader`) and PostgreSQL's fast one (:class:`PostgresScoreLoader`).

The backend is chosen once, from the database's dialect: by ``create_app`` (:func:`init_app`, kept in
``app.extensions``) and, for callers without an app (``houqin`` commands given a bare session, the benchmark,
tests), by :func:`loader_for`, memoised by the dialect's name. The scoring services ask :func:`loader_of` for
it and never ask which database they are on. Both backends give the same rows; the fast one only gives them
sooner (``bench/rank``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

import psycopg
from flask import Flask, current_app, has_app_context
from psycopg.adapt import Loader as PsycopgLoader
from sqlalchemy import ARRAY, Integer, any_, literal, select, text
from sqlalchemy import cast as sa_cast
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from district import caches
from district.calendar import Window
from district.reports.figures import ReportFigures, load_figures
from district.reports.history import previous_participating_rows
from district.reports.models import ReportHead, ReportRevision

__all__ = ["PostgresScoreLoader", "ScoreLoader", "SqlScoreLoader", "init_app", "loader_for", "loader_of"]

EXTENSION = "houqin_score_loader"

#: A reported month as a loader gives it: (school_code, period, revision_id, the stored figures' JSON or None).
MonthRow = Sequence[Any]


class ScoreLoader(Protocol):
    """What the scoring services read of a county's reports, and what they run a county's scoring inside."""

    name: str

    def computing(self, session: Session) -> AbstractContextManager[None]:
        """Around one county's scoring (read, score, store) in ``session``'s transaction."""
        ...

    def reported_months(self, session: Session, county_code: str, window: Window) -> Sequence[MonthRow]:
        """Every effective revision of the county in W (``report_heads``), with its stored figures."""
        ...

    def previous_reports(
        self, session: Session, county_code: str, before: str, *, stock: bool = False
    ) -> Sequence[MonthRow]:
        """Each school's most recent participating effective report before ``before``
        (``reports.history.previous_participating_rows``; ``stock``: the most recent sent in @2)."""
        ...

    def calendar_versions(self, session: Session, ids: Sequence[int]) -> dict[int, int | None]:
        """The 后勤行事历 version recorded with each of revisions ``ids`` at its arrival (``None``: the shipped
        default), for H1's tasks due (``reports.calendar_tasks.due_codes``)."""
        ...

    def figures(self, session: Session, ids: Sequence[int], out: dict[int, ReportFigures]) -> None:
        """Put into ``out`` the figures of revisions ``ids``: their heads' while they are effective, else made from
        their content."""
        ...


class SqlScoreLoader:
    """The portable backend: SQLAlchemy Core statements on the session's connection (SQLite, and any database
    without a fast backend). The statements are the same for every backend; a backend changes how they are
    run (:meth:`_rows`) and how a list of ids is sent (:meth:`_id_in`)."""

    name = "sql"

    def computing(self, session: Session) -> AbstractContextManager[None]:
        return nullcontext()

    def reported_months(self, session: Session, county_code: str, window: Window) -> Sequence[MonthRow]:
        return self._rows(
            session,
            select(ReportHead.school_code, ReportHead.period, ReportHead.revision_id, ReportHead.figures).where(
                ReportHead.county_code == county_code,
                ReportHead.period >= window.period_from,
                ReportHead.period <= window.period_to,
            ),
        )

    def previous_reports(
        self, session: Session, county_code: str, before: str, *, stock: bool = False
    ) -> Sequence[MonthRow]:
        return self._rows(session, previous_participating_rows(before, county_code=county_code, stock=stock))

    def calendar_versions(self, session: Session, ids: Sequence[int]) -> dict[int, int | None]:
        recorded: dict[int, int | None] = {}
        for i in range(0, len(ids), 5000):
            stmt = select(ReportRevision.id, ReportRevision.calendar_version_id)
            for rid, version_id in self._rows(session, stmt.where(self._id_in(ReportRevision.id, ids[i : i + 5000]))):
                recorded[rid] = version_id
        return recorded

    def figures(self, session: Session, ids: Sequence[int], out: dict[int, ReportFigures]) -> None:
        conn = session.connection()
        for i in range(0, len(ids), 5000):
            chunk = ids[i : i + 5000]
            for rid, text_ in conn.execute(
                select(ReportHead.revision_id, ReportHead.figures)
                .join(
                    ReportRevision,
                    (ReportRevision.school_code == ReportHead.school_code)
                    & (ReportRevision.period == ReportHead.period)
                    & (ReportRevision.id == ReportHead.revision_id),
                )
                .where(self._id_in(ReportRevision.id, chunk), ReportHead.figures.is_not(None))
            ):
                values = ReportFigures.from_stored(text_)
                if values is not None:
                    out[rid] = values
            left = [rid for rid in chunk if rid not in out]
            if left:
                for rid, content in conn.execute(
                    select(ReportRevision.id, ReportRevision.content).where(self._id_in(ReportRevision.id, left))
                ):
                    out[rid] = load_figures(None, content)

    def _rows(self, session: Session, stmt: Any) -> Sequence[Sequence[Any]]:
        return session.connection().execute(stmt).all()

    def _id_in(self, column: Any, ids: Sequence[int]) -> Any:
        return column.in_(ids)


class _Utf8Bytes(PsycopgLoader):
    """A ``text`` column as the UTF-8 bytes PostgreSQL sent: what the JSON parser reads anyway."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


class PostgresScoreLoader(SqlScoreLoader):
    """PostgreSQL's fast backend (psycopg 3, the only PostgreSQL driver the hub runs on: pyproject.toml):

    - rows as plain tuples straight from a psycopg cursor, ``text`` columns as UTF-8 bytes (a county's 3,000
      reports: no decoding to ``str`` and encoding back for the parser, no result-row objects; measured ~a third
      less CPU for the query and the parsing);
    - a list of ids as ``= ANY(array)``, one parameter instead of thousands (the statement is not rebuilt,
      re-sent and re-planned for each list);
    - a county's scoring without parallel query plans and with the garbage collector paused
      (``district.scoring.gcpause``)."""

    name = "postgresql"

    @contextmanager
    def computing(self, session: Session) -> Iterator[None]:
        from district.scoring.gcpause import paused

        with paused():
            # a county's reads are small indexed queries, several workers run them at once: a parallel plan only
            # adds a helper process's start and its share of the work (the reports query took ~16 ms of CPU a
            # county with one, ~6 ms without). For this transaction only.
            session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            yield

    def _rows(self, session: Session, stmt: Any) -> Sequence[Sequence[Any]]:
        connection = session.connection()
        compiled = stmt.compile(dialect=connection.dialect)
        dbapi = connection.connection.driver_connection
        assert isinstance(dbapi, psycopg.Connection)
        with dbapi.cursor() as cur:
            cur.adapters.register_loader("text", _Utf8Bytes)
            cur.execute(str(compiled), compiled.params)
            return cur.fetchall()

    def _id_in(self, column: Any, ids: Sequence[int]) -> Any:
        return column == any_(sa_cast(literal(list(ids), ARRAY(Integer)), ARRAY(Integer)))


_BACKENDS: dict[str, type[SqlScoreLoader]] = {"postgresql": PostgresScoreLoader}


@caches.memoize("scoring.loaders", 4)
def _loader_named(dialect: str) -> ScoreLoader:
    return _BACKENDS.get(dialect, SqlScoreLoader)()


def loader_for(bind: Engine | Connection) -> ScoreLoader:
    """The backend for a database, by its dialect (one instance per dialect and process)."""
    return _loader_named(bind.dialect.name)


def init_app(app: Flask, engine: Engine) -> None:
    """``create_app``'s choice of the backend, once, from the app's engine."""
    app.extensions[EXTENSION] = loader_for(engine)


def loader_of(session: Session) -> ScoreLoader:
    """The backend the scoring services use with ``session``: the app's (chosen by ``create_app``), or, without
    an app (a bare session), the one for the session's database."""
    if has_app_context():
        found = current_app.extensions.get(EXTENSION)
        if found is not None:
            return found
    bind = session.get_bind()
    assert isinstance(bind, Engine | Connection)
    return loader_for(bind)
