"""One unit of work per request: the request's session is committed once, after the view answered without error,
or rolled back (indico's ``RH``, pyramid_tm). Views and services only ``flush()``.

- A request answered with a status below 400 commits its session (a GET that wrote nothing commits an empty
  transaction, or none at all); an exception, or an answer of 400 and above, rolls it back. A view whose error
  answer must still keep what it wrote (a refused agent request's trace, a failed sign-in's count) says so with
  :func:`keep_on_error`.
- On SQLite a request that may write (POST, PUT, PATCH, DELETE) begins its transaction ``BEGIN IMMEDIATE`` at
  its first statement, so writers queue on the write lock (``busy_timeout``) instead of failing when a read
  snapshot went stale; a read (GET) begins deferred and never holds the write lock.
- A lock conflict that still escapes (``SQLITE_BUSY``, a PostgreSQL serialization failure or deadlock) runs the
  request again, a bounded number of times with a short backoff, as a writer from the start; after the last
  attempt the answer is 503 with ``Retry-After`` in the API's error format, never 500.
- :func:`commit_now` is the one documented exception to "commit once at the end": a view that must make its
  writes durable before doing something else in the same request (a receipt signed only for a stored revision;
  a task enqueued only for committed rows).

A request that finds its session already inside a transaction (a test's session joined to an outer transaction)
runs in a SAVEPOINT of it, so a rollback drops the request's writes only.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction

from district.db import db

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ATTEMPTS = 4  # the first run and three more after a lock conflict
BACKOFF_S = 0.05  # doubled after each conflict, with jitter: 50, 100, 200 ms
RETRY_AFTER_S = 1
_ENVIRON_KEY = "houqin.unit_of_work"

# SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes; PostgreSQL: serialization failure,
# deadlock, lock not available
_SQLITE_BUSY_CODES = {5, 6}
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}


def is_lock_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a lost race for a lock that is worth running again (not a broken query)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _SQLITE_BUSY_CODES
    if getattr(orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text


@dataclass
class _Unit:
    session: Session
    nested: SessionTransaction | None  # the request's SAVEPOINT when its session was already in a transaction
    writer: bool
    keep: bool = False

    @classmethod
    def begin(cls, writer: bool) -> _Unit:
        session = db.session()
        if session.in_transaction():
            return cls(session, session.begin_nested(), writer)
        if writer:
            db.bind_writer(session)
        return cls(session, None, writer)

    def _current(self) -> Session | None:
        """The request's session as it is now (code that ran eager tasks may have replaced it)."""
        return db.session() if db.session.registry.has() else None

    def finish(self, ok: bool) -> None:
        nested, self.nested = self.nested, None
        if nested is not None:
            if nested.is_active:
                nested.commit() if ok else nested.rollback()
            if not ok:
                return
        session = self._current()
        if session is not None and session.in_transaction():
            session.commit() if ok else session.rollback()

    def restart(self) -> None:
        """Drop what the request wrote so far and go on in a fresh transaction of the same kind."""
        if self.nested is not None:
            if self.nested.is_active:
                self.nested.rollback()
            self.nested = self.session.begin_nested()
            return
        session = self._current()
        if session is not None:
            session.rollback()
            if self.writer:
                db.bind_writer(session)

    def commit_now(self) -> None:
        self.finish(True)
        session = self._current()
        if session is not None:
            db.bind_reader(session)  # what follows (eager tasks in this thread) begins as it asks for itself


def _unit() -> _Unit:
    return request.environ[_ENVIRON_KEY]


def keep_on_error() -> None:
    """Keep this request's writes even though it answers with an error (a refusal's trace, a sign-in failure)."""
    _unit().keep = True


def restart() -> None:
    """Roll back what this request wrote so far (a lost race run again, a refusal that keeps only its trace)."""
    _unit().restart()


def commit_now() -> None:
    """Commit this request's writes before it answers: the documented exception to one commit at the end, for
    a view that must not go on before its writes are durable (a signed receipt, a task enqueued after commit).
    Writes after it are committed (or rolled back) at the end as usual."""
    _unit().commit_now()


@contextmanager
def reading_first() -> Iterator[bool]:
    """A read of its own before the request's write transaction: yields True when it is one (a writer request on
    SQLite, outside a test's transaction), else False (nothing to gain: the caller skips its read).

    For a check that may refuse the request before it queues for SQLite's write lock (the agent API checks the
    signature so: a flood of bad signatures never waits for, nor holds, the lock). The read transaction ends
    with the block; what the request writes afterwards begins ``BEGIN IMMEDIATE`` as usual."""
    unit = _unit()
    session = db.session()
    if unit.nested is not None or session.in_transaction() or "houqin_reader_bind" not in session.info:
        yield False
        return
    db.bind_reader(session)
    try:
        yield True
    finally:
        if session.in_transaction():
            session.rollback()  # it only read
        db.bind_writer(session)


class _RequestUnit:
    """This module's functions as the ``Unit`` ingestion takes (``district.reports.ingest``)."""

    def restart(self) -> None:
        restart()

    def commit_now(self) -> None:
        commit_now()

    def reading_first(self) -> AbstractContextManager[bool]:
        return reading_first()


#: The request's unit of work, for services that run attempts of their own (ingestion's retry after a lost race).
REQUEST_UNIT = _RequestUnit()


def busy_response() -> Response:
    from district.web.errors import error_response

    resp = error_response(
        503, "busy", "服务器繁忙，请稍后重试 / the hub is busy, retry in a moment", [{"retry_after": RETRY_AFTER_S}]
    )
    resp.headers["Retry-After"] = str(RETRY_AFTER_S)
    return resp


def run_request(dispatch: Callable[[], Response]) -> Response:
    """Run ``dispatch`` (Flask's ``full_dispatch_request``) as one unit of work; see the module docstring."""
    writer = request.method in WRITE_METHODS
    for attempt in range(ATTEMPTS):
        unit = request.environ[_ENVIRON_KEY] = _Unit.begin(writer or attempt > 0)
        try:
            resp = dispatch()
            unit.finish(resp.status_code < 400 or unit.keep)
            return resp
        except Exception as exc:
            try:
                unit.finish(False)
            except Exception:  # the connection is gone: the session is discarded at teardown anyway
                current_app.logger.debug("rollback after a failed request failed", exc_info=True)
            if not is_lock_conflict(exc):
                raise
            if attempt == ATTEMPTS - 1:
                current_app.logger.warning("%s %s: lock conflict after %d attempts", request.method, request.path,
                                           ATTEMPTS)  # fmt: skip
                return busy_response()
            request.environ.pop("houqin.user", None)  # read again in the next attempt's transaction
            time.sleep(BACKOFF_S * (2**attempt) * (0.5 + random.random()))  # noqa: S311 - jitter, not secrecy
    raise AssertionError("unreachable")  # pragma: no cover


def dispatch_in_unit(app: Any) -> None:
    """Make ``app`` run every request as a unit of work (called by ``create_app``)."""
    dispatch = app.full_dispatch_request
    app.full_dispatch_request = lambda: run_request(dispatch)
