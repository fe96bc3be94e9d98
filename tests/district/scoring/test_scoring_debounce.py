"""The debounced recompute on a real Redis (127.0.0.1:6379, a key prefix of its own per test): 300 accepted
revisions enqueue one recompute, not 300; a run that has started lets the next change enqueue again; nothing is
enqueued before the commit, or without a broker."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from district.scoring import tasks
from tests.conftest import SignedClient
from tests.district.scoring.helpers_scoring_db import report

REDIS_URL = "redis://127.0.0.1:6379/15"
pytestmark = pytest.mark.redis


class Recorder:
    """Stands in for the Celery app: records what would be sent to the broker."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...], int | None]] = []

    def send_task(self, name: str, args: tuple[Any, ...] = (), countdown: int | None = None, **_: Any) -> None:
        self.sent.append((name, tuple(args), countdown))


@pytest.fixture()
def redis_client() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    yield client
    client.close()


@pytest.fixture()
def prefix(redis_client: Any) -> Any:
    value = f"houqin-test-{uuid.uuid4().hex[:8]}"
    yield value
    for key in redis_client.scan_iter(f"{value}:*"):
        redis_client.delete(key)


@pytest.fixture()
def broker_app(redis_client: Any, prefix: str) -> tuple[Flask, Recorder]:
    app = Flask("debounce-test")
    recorder = Recorder()
    app.config.update(BROKER_URL=REDIS_URL, RANKING_DEBOUNCE_SECONDS=30, RANKING_KEY_PREFIX=prefix)
    app.extensions["celery"] = recorder
    return app, recorder


def test_many_requests_while_pending_enqueue_once(broker_app: tuple[Flask, Recorder], redis_client: Any) -> None:
    app, recorder = broker_app
    enqueued = [tasks.request_recompute("610528", reason=f"revision:{i}", app=app) for i in range(300)]
    assert enqueued.count(True) == 1 and enqueued[0] is True
    assert recorder.sent == [(tasks.RECOMPUTE_TASK, ("610528", None, None, "debounced"), 30)]
    key = tasks.pending_key(app, "610528")
    assert redis_client.get(key) == b"revision:0" and 30 < redis_client.ttl(key) <= 90
    # another county has its own key
    assert tasks.request_recompute("610526", reason="x", app=app) is True
    # the task starts: it clears the key, so the next change asks for a new run (none is lost)
    tasks.clear_pending("610528", app=app)
    assert tasks.request_recompute("610528", reason="after start", app=app) is True
    assert [args[0] for _name, args, _c in recorder.sent] == ["610528", "610526", "610528"]


def test_a_broker_that_refuses_frees_the_key(broker_app: tuple[Flask, Recorder], redis_client: Any) -> None:
    app, _recorder = broker_app

    class Down:
        def send_task(self, *args: Any, **kwargs: Any) -> None:
            raise ConnectionError("broker down")

    app.extensions["celery"] = Down()
    assert tasks.request_recompute("610528", reason="x", app=app) is False  # never raises after a commit
    assert redis_client.exists(tasks.pending_key(app, "610528")) == 0


def test_no_broker_enqueues_nothing() -> None:
    app = Flask("embedded")
    app.config.update(BROKER_URL=None, RANKING_DEBOUNCE_SECONDS=60)
    assert tasks.request_recompute("610528", reason="x", app=app) is False


def test_300_accepted_revisions_enqueue_one_recompute(
    app: Any, agent: SignedClient, monkeypatch: pytest.MonkeyPatch, prefix: str, redis_client: Any
) -> None:
    """Through the signed API: every accepted revision notifies after its commit; one task is enqueued."""
    recorder = Recorder()
    monkeypatch.setitem(app.config, "BROKER_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "RANKING_KEY_PREFIX", prefix)
    monkeypatch.setitem(app.extensions, "celery", recorder)
    monkeypatch.delitem(app.extensions, "houqin_scoring_redis", raising=False)
    periods = ["2026-03", "2026-04", "2026-05", "2026-06", "2026-09", "2026-10"]
    for i in range(300):
        resp = agent.post_report(report("6105280001", periods[i % len(periods)]))
        assert resp.status_code == 201, resp.json
    delay = app.config["RANKING_DEBOUNCE_SECONDS"]  # the configured debounce (300 s by default)
    assert recorder.sent == [(tasks.RECOMPUTE_TASK, ("610528", None, None, "debounced"), delay)]
    monkeypatch.delitem(app.extensions, "houqin_scoring_redis", raising=False)


def test_an_inspection_enqueues_only_after_the_commit(
    app: Any, session: Any, county: Any, monkeypatch: pytest.MonkeyPatch, prefix: str, redis_client: Any
) -> None:
    from district.scoring import inspections

    recorder = Recorder()
    monkeypatch.setitem(app.config, "BROKER_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "RANKING_KEY_PREFIX", prefix)
    monkeypatch.setitem(app.extensions, "celery", recorder)
    monkeypatch.delitem(app.extensions, "houqin_scoring_redis", raising=False)
    inspections.record_inspection(session, "6105280001", date="2026-10-15", score="4", inspector="x", actor="t")
    assert recorder.sent == []  # flushed, not committed
    session.commit()
    assert len(recorder.sent) == 1 and recorder.sent[0][1][0] == "610528"
    monkeypatch.delitem(app.extensions, "houqin_scoring_redis", raising=False)
