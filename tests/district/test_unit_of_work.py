"""The unit of work per request (district/unit_of_work.py): one commit after a good answer, a rollback after an
exception or an error answer, writers begin BEGIN IMMEDIATE on SQLite, a lock conflict is run again and, when
it persists, answered 503 — never 500.

These build an app of their own on a SQLite file of their own (a table of their own, no migrations), so that
commits are real commits and locks are real locks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask import jsonify
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from district.db import db
from district.unit_of_work import ATTEMPTS, is_lock_conflict, keep_on_error

BEARER = {"Authorization": "Bearer -"}  # exempt from the CSRF check (no user is looked up by these routes)


def _other_writer_can_begin(path: Path) -> bool:
    """Whether another connection gets SQLite's write lock at once (nobody holds it)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def _locked() -> OperationalError:
    orig = sqlite3.OperationalError("database is locked")
    orig.sqlite_errorcode = 5  # type: ignore[attr-defined]
    return OperationalError("INSERT ...", {}, orig)


@pytest.fixture()
def uow_app(tmp_path: Path, app: Any, restore_db_state: Any) -> Any:
    from district.app import create_app

    path = tmp_path / "uow.db"
    application = create_app({"DATABASE_URL": f"sqlite:///{path}", "INSTANCE_PATH": str(tmp_path), "TESTING": True})
    application.config["PROPAGATE_EXCEPTIONS"] = False  # an unhandled error answers 500, as in production
    with db.engine.begin() as conn:  # type: ignore[union-attr]
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _conn: commits.append(1))
    seen: dict[str, Any] = {"attempts": 0}

    def write(body: str) -> None:
        db.session().execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": body})

    @application.post("/t/ok")
    def ok() -> Any:
        write("ok")
        seen["other_writer_during_post"] = _other_writer_can_begin(path)
        return jsonify(done=True), 201

    @application.post("/t/raise")
    def fails() -> Any:
        write("raise")
        raise RuntimeError("boom")

    @application.post("/t/conflict")
    def conflict() -> Any:
        write("conflict")
        return jsonify(error="no"), 409

    @application.post("/t/keep")
    def keep() -> Any:
        write("keep")
        keep_on_error()
        return jsonify(error="refused"), 401

    @application.get("/t/read")
    def read() -> Any:
        n = db.session().execute(text("SELECT count(*) FROM notes")).scalar_one()
        seen["other_writer_during_get"] = _other_writer_can_begin(path)
        return jsonify(n=n)

    @application.post("/t/busy-twice")
    def busy_twice() -> Any:
        seen["attempts"] += 1
        write(f"attempt {seen['attempts']}")
        if seen["attempts"] < 3:
            raise _locked()
        return jsonify(attempts=seen["attempts"]), 201

    @application.get("/t/always-busy")
    def always_busy() -> Any:
        seen["attempts"] += 1
        write("never")
        raise _locked()

    def bodies() -> list[str]:
        with db.engine.connect() as conn:  # type: ignore[union-attr]
            return [r[0] for r in conn.execute(text("SELECT body FROM notes ORDER BY id"))]

    application.extra = {"path": path, "commits": commits, "seen": seen, "bodies": bodies}  # type: ignore[attr-defined]
    return application


def test_a_successful_post_is_committed_once_and_holds_the_write_lock(uow_app: Any) -> None:
    client = uow_app.test_client()
    extra = uow_app.extra
    assert client.post("/t/ok", headers=BEARER).status_code == 201
    assert extra["bodies"]() == ["ok"]
    assert len(extra["commits"]) == 1
    assert extra["seen"]["other_writer_during_post"] is False  # BEGIN IMMEDIATE: the POST held the lock


def test_a_view_that_raises_is_rolled_back(uow_app: Any) -> None:
    resp = uow_app.test_client().post("/t/raise", headers=BEARER)
    assert resp.status_code == 500
    assert uow_app.extra["bodies"]() == []
    assert _other_writer_can_begin(uow_app.extra["path"])  # and the lock is released


def test_an_error_answer_is_rolled_back_unless_kept(uow_app: Any) -> None:
    client = uow_app.test_client()
    assert client.post("/t/conflict", headers=BEARER).status_code == 409
    assert client.post("/t/keep", headers=BEARER).status_code == 401
    assert uow_app.extra["bodies"]() == ["keep"]


def test_a_read_never_holds_the_write_lock(uow_app: Any) -> None:
    client = uow_app.test_client()
    client.post("/t/ok", headers=BEARER)
    resp = client.get("/t/read")
    assert resp.status_code == 200 and resp.json == {"n": 1}
    assert uow_app.extra["seen"]["other_writer_during_get"] is True


def test_a_lock_conflict_is_run_again_and_only_the_last_attempt_kept(uow_app: Any) -> None:
    resp = uow_app.test_client().post("/t/busy-twice", headers=BEARER)
    assert resp.status_code == 201 and resp.json == {"attempts": 3}
    assert uow_app.extra["bodies"]() == ["attempt 3"]


def test_a_lock_conflict_that_persists_is_503_with_retry_after(uow_app: Any) -> None:
    resp = uow_app.test_client().get("/t/always-busy")
    assert resp.status_code == 503
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.json["error"]["code"] == "busy"
    assert uow_app.extra["seen"]["attempts"] == ATTEMPTS
    assert uow_app.extra["bodies"]() == []


def test_what_counts_as_a_lock_conflict() -> None:
    assert is_lock_conflict(_locked())
    other = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert not is_lock_conflict(other)
    assert not is_lock_conflict(RuntimeError("database is locked"))
