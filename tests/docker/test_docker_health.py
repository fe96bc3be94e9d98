"""``GET /healthz`` (district/health.py): what the compose health check and a load balancer ask the hub.

Each test wires the module alone into a small Flask app of its own (its own database URL and broker) with the
process-wide ``db``, which ``restore_db_state`` puts back after. The full hub under gunicorn answers /healthz in
test_docker_compose.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from district import health
from district.app import route_modules
from district.db import db


@pytest.fixture()
def client_for(tmp_path: Path, restore_db_state: None) -> Iterator[Callable[..., Any]]:
    engines: list[Any] = []
    apps: list[Flask] = []

    def make(**config: Any) -> Any:
        app = Flask("healthz-test", instance_path=str(tmp_path))
        app.config.update({"BROKER_URL": None, "TESTING": True, **config})
        db.init_app(app)
        engines.append(db.engine)
        apps.append(app)
        health.init_app(app)
        health.init_app(app)  # idempotent
        return app.test_client()

    yield make
    for engine in engines:
        engine.dispose()
    for app in apps:
        if "houqin_health_redis" in app.extensions:
            app.extensions["houqin_health_redis"].close()


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_the_hub_registers_healthz() -> None:
    """docker/compose.yaml's hub health check and a load balancer ask /healthz of `district.wsgi:app`."""
    assert health in route_modules(), (
        "add `health` to route_modules() in district/app.py: without it the compose hub never becomes healthy"
    )


def test_ok_with_the_database_and_no_broker(tmp_path: Path, client_for: Callable[..., Any]) -> None:
    resp = client_for(DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}", BROKER_URL=None).get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "checks": {"database": "ok"}}
    assert resp.headers["Cache-Control"] == "no-store"


def test_503_when_the_database_is_down(tmp_path: Path, client_for: Callable[..., Any]) -> None:
    missing = tmp_path / "no-such-folder" / "h.db"  # SQLite cannot open it: like a database that is down
    resp = client_for(DATABASE_URL=f"sqlite:///{missing}").get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "unavailable", "checks": {"database": "error: OperationalError"}}
    assert str(tmp_path) not in resp.get_data(as_text=True)


def test_503_when_redis_is_down_and_no_secret_in_the_answer(tmp_path: Path, client_for: Callable[..., Any]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    broker = f"redis://:hunter2@127.0.0.1:{port}/0"
    resp = client_for(DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}", BROKER_URL=broker).get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")
    text = json.dumps(body)
    assert "hunter2" not in text and str(port) not in text


@pytest.mark.redis
def test_ok_with_redis(tmp_path: Path, client_for: Callable[..., Any]) -> None:
    if not _redis_up():
        pytest.skip("needs the Redis server on 127.0.0.1:6379")
    resp = client_for(DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}", BROKER_URL="redis://127.0.0.1:6379/9").get(
        "/healthz"
    )
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_a_broker_we_do_not_run_is_not_probed(tmp_path: Path, client_for: Callable[..., Any]) -> None:
    resp = client_for(DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}", BROKER_URL="amqp://guest@127.0.0.1:1//").get(
        "/healthz"
    )
    assert resp.status_code == 200
    assert resp.get_json()["checks"]["broker"] == "unchecked"


@pytest.mark.postgres
def test_healthz_on_postgresql(client_for: Callable[..., Any], database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("set HOUQIN_TEST_POSTGRES_URL to run on PostgreSQL")
    resp = client_for(DATABASE_URL=database_url).get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json()["checks"]["database"] == "ok"
