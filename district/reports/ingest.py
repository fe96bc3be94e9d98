"""Ingestion as one service: a signed agent request or a clerk's confirmed web upload in, a stored revision and
its receipt out, the retry after a lost race inside. The HTTP edges (``district/api/views.py`` for the agent,
``district/submission/views.py`` for the web path) read the request, call :func:`ingest` or
:func:`ingest_web`, and render the answer or the refusal; the rules are ``district.reports.services``'s and
the reads and writes the :class:`~district.reports.store.ReportStore`'s.

Revisions of one school are serialised by the unique constraints, not by a lock (``services.submit_report``):
an attempt that lost a race with another writer (the same chain position, revision number, report_id or
signature taken; SQLite busy) fails with an ``IntegrityError`` or ``OperationalError``, nothing of it is kept,
and it runs again against the committed state, a few times with a short backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from district.registry.crypto import SecretBox
from district.registry.models import School
from district.reports.services import (
    IngestError,
    Receipt,
    SchoolKey,
    Signer,
    authenticate,
    claimed_report,
    submit_report,
)
from district.reports.store import ReportStore

__all__ = ["RETRIES", "Accepted", "SignedRequest", "Unit", "authenticate_request", "ingest", "ingest_web"]

#: How many times a submission runs before a lost race is the request's error.
RETRIES = 5


class Unit(Protocol):
    """The request's unit of work (``district.unit_of_work``, or a plain session's for callers without one)."""

    def restart(self) -> None:
        """Drop what the attempt wrote; go on in a fresh transaction."""

    def commit_now(self) -> None:
        """Make the attempt's writes durable (the receipt is signed only for a stored revision)."""

    def reading_first(self) -> AbstractContextManager[bool]:
        """A read of its own before the write transaction (SQLite: a bad signature is refused before the
        request queues for the write lock); yields whether it is one."""


@dataclass(frozen=True)
class SignedRequest:
    """An agent's signed submission as it arrived: the three signature headers, what they sign, the limit."""

    school_header: str | None
    timestamp_header: str | None
    signature_header: str | None
    method: str
    path_with_query: str
    body: bytes
    window_seconds: int


@dataclass(frozen=True)
class Accepted:
    """A submission's outcome: the receipt (unsigned), whether a new revision was stored, the school."""

    receipt: Receipt
    created: bool
    school: School | SchoolKey


def authenticate_request(
    session: Session,
    box: SecretBox,
    req: SignedRequest,
    *,
    about: tuple[str, str] | None = None,
    store: ReportStore | None = None,
    record_seen: bool = True,
) -> Signer:
    """``services.authenticate`` for a request as it arrived (the agent's bodiless GETs too)."""
    return authenticate(
        session,
        box,
        school_header=req.school_header,
        timestamp_header=req.timestamp_header,
        signature_header=req.signature_header,
        method=req.method,
        path_with_query=req.path_with_query,
        body=req.body,
        window_seconds=req.window_seconds,
        about=about,
        record_seen=record_seen,
        store=store,
    )


def _retrying(unit: Unit, attempt: Callable[[int], Accepted]) -> Accepted:
    for n in range(RETRIES):
        try:
            accepted = attempt(n)
            # the documented exception to one commit per request (district/unit_of_work.py): the receipt is
            # signed only for a revision that is durably stored (the PostgreSQL store's direct path wrote in
            # autocommit already)
            unit.commit_now()
            return accepted
        except (OperationalError, IntegrityError):
            # lost a race with a concurrent writer: nothing of this attempt was kept; run it again against the
            # now-committed state
            unit.restart()
            if n == RETRIES - 1:
                raise
            time.sleep(0.02 * (n + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def ingest(
    session: Session,
    store: ReportStore,
    unit: Unit,
    box: SecretBox,
    req: SignedRequest,
    *,
    parse: Callable[[bytes], Any],
    admit: Callable[[str], IngestError | None] | None = None,
) -> Accepted:
    """Authenticate, rate-limit, parse, judge and store one signed submission (API.md ``POST /reports``).

    ``parse`` reads the report's JSON from the very bytes the signature covers (an :class:`IngestError` for a
    refused body); ``admit(school_code)`` is the per-school rate limit, asked once, after the signature is
    verified (an :class:`IngestError` to refuse). A refusal is raised as :class:`IngestError` with ``signer``
    set when a valid signature vouches for the request (the edge logs a signed refusal as the school's own)."""
    about = claimed_report(req.body)
    with unit.reading_first() as separate:
        if separate:  # SQLite: a bad signature is refused before the request queues for the write lock
            authenticate_request(session, box, req, record_seen=False)
    signer: Signer | None = None

    def attempt(n: int) -> Accepted:
        nonlocal signer
        signer = None
        store.begin(session)
        try:
            # the signer and the report's context in one statement; the signature is kept with the revision
            signer = authenticate_request(session, box, req, about=about, store=store, record_seen=False)
            if n == 0 and admit is not None and (refusal := admit(signer.school.code)) is not None:
                raise refusal
            receipt, created = submit_report(
                session,
                signer.school,
                signer.credential_id,
                parse(req.body),
                deadline_day=signer.deadline_day,
                signature=signer.signature,
                context=signer.context,
                store=store,
            )
            return Accepted(receipt, created, signer.school)
        finally:
            store.end(session)

    try:
        return _retrying(unit, attempt)
    except IngestError as err:
        if signer is not None:
            err.school_code = err.school_code or signer.school.code
        err.signer = signer
        raise


def ingest_web(session: Session, store: ReportStore, unit: Unit, school: School, data: Any, *, signer: str) -> Accepted:
    """A school clerk's confirmed upload (``district/submission``): the same rules and store as an agent's
    report, recorded as signed by ``signer`` (``web:<username>``)."""

    def attempt(_n: int) -> Accepted:
        store.begin(session)
        try:
            receipt, created = submit_report(
                session, school, 0, data, signer=signer, deadline_day=school.county.deadline_day, store=store
            )
            return Accepted(receipt, created, school)
        finally:
            store.end(session)

    try:
        return _retrying(unit, attempt)
    except IngestError as err:
        err.school_code = err.school_code or school.code
        raise
