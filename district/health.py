"""``GET /healthz``: can this hub process serve? For load balancers and the compose health check.

Checks the database (``SELECT 1``) and, when a broker is configured (``HOUQIN_BROKER_URL``), Redis (``PING``):
the hub enqueues rankings and PDFs on it and keeps the agents' rate-limit counters there, so a hub without it
cannot do its work. Answers 200 ``{"status": "ok", "checks": {...}}`` or 503 ``{"status": "unavailable", ...}``.
No authentication and nothing secret in the answer: a failed check names only the exception's class, never a
URL, host or password. Never cached.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from district.db import db

bp = Blueprint("health", __name__)

# seconds: a health check must answer before the prober's own timeout (docker/compose.yaml: 5 s)
REDIS_TIMEOUT = 2.0


def _check_database() -> str:
    if db.engine is None:
        return "error: not configured"
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy"; the class name is enough to start looking
        return f"error: {type(exc).__name__}"
    return "ok"


def _redis_client(url: str) -> Any:
    ext = current_app.extensions
    client = ext.get("houqin_health_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
        ext["houqin_health_redis"] = client
    return client


def _check_broker(url: str) -> str:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return "unchecked"  # only Redis is a supported broker; anything else is not ours to probe
    try:
        _redis_client(url).ping()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@bp.get("/healthz")
def healthz() -> Any:
    checks = {"database": _check_database()}
    broker = current_app.config.get("BROKER_URL")
    if broker:
        checks["broker"] = _check_broker(broker)
    ok = all(not v.startswith("error") for v in checks.values())
    resp = jsonify({"status": "ok" if ok else "unavailable", "checks": checks})
    resp.status_code = 200 if ok else 503
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_app(app: Flask) -> None:
    if "health" in app.blueprints:  # idempotent: a test may wire it on an app that already has it
        return
    app.register_blueprint(bp)
