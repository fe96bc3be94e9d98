"""The storage backends of the hub, chosen once per app in ``create_app`` from its database (Sentry's
tsdb/buffer style): the business functions take a backend and never ask which database is underneath.

- ``report_store``: ingestion's reads and writes (``district.reports.store``): PostgreSQL's fast path (one
  prepared read, one write statement, autocommit on the process's own connection) or the portable SQLAlchemy
  store (SQLite).
- scoring's loader: what a ranking reads (``district.scoring.loader``): PostgreSQL's raw cursor with the
  collector paused, or the portable SQLAlchemy loader.
"""

from __future__ import annotations

from flask import Flask, current_app

from district.db import db
from district.reports.store import ReportStore, store_for
from district.scoring import loader as score_loader

_REPORT_STORE = "houqin.report_store"


def init_app(app: Flask) -> None:
    assert db.engine is not None  # db.init_app ran first
    app.extensions[_REPORT_STORE] = store_for(db.engine)
    score_loader.init_app(app, db.engine)


def report_store() -> ReportStore:
    """The app's report store."""
    store: ReportStore = current_app.extensions[_REPORT_STORE]
    return store
