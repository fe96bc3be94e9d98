"""What the real-worker tests share: waiting on a condition, and a clean Redis database of the module's own
(``REDIS_URL`` in the test module), skipped when Redis or the ``celery`` command is missing."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """``check()``'s first truthy value, polled until ``timeout`` seconds have passed (then AssertionError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture()
def redis_db(request: pytest.FixtureRequest) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(request.module.REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    if shutil.which("celery") is None:
        pytest.skip("no celery command")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
