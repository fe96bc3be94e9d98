"""The demo clock (HOUQIN_DEMO_CLOCK_FILE) moves the hub's whole notion of now: arrival, on-time, signature window."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from tests.conftest import SignedClient, example_report


def test_demo_clock_backdates_arrival_and_on_time(
    app: Any, agent: SignedClient, tmp_path: Path, hub_clock: Any
) -> None:
    hub_clock.release()  # the demo clock shifts the real time; this test is about exactly that
    simulated = dt.datetime(2026, 10, 3, 2, 0, tzinfo=dt.UTC)  # 10:00 on 3 October in Asia/Shanghai
    offset = simulated.timestamp() - time.time()
    clock = tmp_path / "clock"
    clock.write_text(str(offset))
    app.config["DEMO_CLOCK_FILE"] = str(clock)
    try:
        # a real-time signature is now 3+ weeks away from the hub's clock: refused
        assert agent.post_report(example_report(), ts=int(time.time())).status_code == 401
        resp = agent.post_report(example_report(), ts=int(time.time() + offset))
        assert resp.status_code == 201, resp.json
        assert resp.json["received_at"].startswith("2026-10-03T10:00")
        assert resp.json["on_time"] is True
    finally:
        app.config["DEMO_CLOCK_FILE"] = None
    from houqin_standard import today_shanghai

    back = agent.post_report(example_report(period="2026-10"), ts=int(time.time()))
    assert back.status_code == 201
    assert back.json["received_at"].startswith(today_shanghai().isoformat())
