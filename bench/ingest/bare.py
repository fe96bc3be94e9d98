"""The bare endpoint of the ingest benchmark: parse the JSON body and insert it into one table, nothing else.

It runs the same way as the hub (Flask under ``gunicorn -w 2``, one PostgreSQL connection per worker, a
commit per request), so the ratio measured by ``run.py`` is the cost of the hub's own work: signature,
replay window, validation, idempotency, revisions, hazard ledger, audit, receipt.

``BENCH_BARE_DSN`` is a libpq URL of the benchmark database; ``run.py`` creates the table
``bench_bare_reports (id BIGSERIAL, body JSONB, received_at TIMESTAMPTZ)``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import psycopg
from flask import Flask, request
from psycopg.types.json import Jsonb

app = Flask("bench_bare")
_conn: psycopg.Connection[Any] | None = None


def _connection() -> psycopg.Connection[Any]:
    global _conn  # one connection per worker process, opened after the fork
    if _conn is None or _conn.closed:
        _conn = psycopg.connect(os.environ["BENCH_BARE_DSN"])
    return _conn


@app.post("/bare/reports")
def bare_report() -> Any:
    data = json.loads(request.get_data())
    conn = _connection()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO bench_bare_reports (body) VALUES (%s) RETURNING id", (Jsonb(data),))
        row = cur.fetchone()
    conn.commit()
    return {"id": row[0] if row else None}, 201


@app.get("/bare/ready")
def ready() -> Any:
    return {"ok": True}
