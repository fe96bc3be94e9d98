"""Reads never write, on a real embedded-default hub (``houqin serve`` on SQLite, committed data): a ranking
read of an arbitrary window is computed and not stored; a read of the default window that had to compute it
stores it in a transaction of its own (``district.scoring.tasks.store_after_read``), so the agents' feedback
finds it; an unchanged ranking is never stored twice."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from houqin_standard import sign_request
from tests.conftest import EXAMPLE_REPORT
from tests.livehub import LiveHub

SCHOOLS = ["6105280001", "6105280002"]


def _get(hub: LiveHub, path: str, token: str) -> Any:
    req = urllib.request.Request(hub.url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _snapshots(hub: LiveHub) -> int:
    with sqlite3.connect(hub.instance / "houqin.db") as conn:
        return int(conn.execute("SELECT count(*) FROM ranking_snapshots").fetchone()[0])


def _feedback(hub: LiveHub, code: str, period: str) -> Any:
    import time

    path = f"/api/v1/feedback?period={period}"
    ts = int(time.time())
    headers = {"X-Houqin-School": code, "X-Houqin-Timestamp": str(ts),
               "X-Houqin-Signature": sign_request(hub.secrets[code], ts, "GET", path, b"")}  # fmt: skip
    with urllib.request.urlopen(urllib.request.Request(hub.url + path, headers=headers), timeout=60) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_a_read_stores_only_the_default_windows_ranking_in_its_own_transaction(tmp_path: Path) -> None:
    schools = [{"code": c, "name": f"学校{c[-2:]}", "county_code": "610528", "township": "庄里镇", "type": "primary",
                "boarding": "true"} for c in SCHOOLS]  # fmt: skip
    # every read sees the latest change (the read-side debounce is tested in test_scoring_services)
    hub = LiveHub(tmp_path, schools=schools, postgres=False, env={"HOUQIN_READ_MAX_AGE_SECONDS": "0"})
    try:
        token = hub.prepare().county_admin_token()
        hub.start()
        template = json.loads(EXAMPLE_REPORT.read_text(encoding="utf-8"))
        for code in SCHOOLS:
            status, body = hub.post_report({**template, "report_id": str(uuid.uuid4()), "school_code": code})
            assert status == 201, body
        assert _snapshots(hub) == 0

        # an arbitrary window: computed for the read, nothing stored
        arbitrary = _get(hub, "/api/v1/counties/610528/rankings?from=2026-09&to=2026-09", token)
        assert arbitrary["snapshot_id"] is None and len(arbitrary["schools"]) == 2
        assert _snapshots(hub) == 0

        # the default window: computed once and kept, in a write of its own
        first = _get(hub, "/api/v1/counties/610528/rankings", token)
        assert first["snapshot_id"] is not None
        assert _snapshots(hub) == 1
        again = _get(hub, "/api/v1/counties/610528/rankings", token)
        assert again["snapshot_id"] == first["snapshot_id"] and again["schools"] == first["schools"]
        assert _snapshots(hub) == 1

        # the agent's feedback reads that stored ranking (never computes it)
        fb = _feedback(hub, SCHOOLS[0], "2026-09")
        row = next(r for r in first["schools"] if r["school_code"] == SCHOOLS[0])
        assert (fb["score"], fb["rank"]) == (row["score"], row["rank"])
        assert fb["ranking"]["window"] == first["window"]

        # a correction: the next read computes and keeps a new snapshot; the old one stays as it was
        corrected = {**template, "report_id": str(uuid.uuid4()), "school_code": SCHOOLS[1],
                     "safety": {**template["safety"], "drills": 0}}  # fmt: skip
        status, body = hub.post_report(corrected)
        assert status == 201, body
        later = _get(hub, "/api/v1/counties/610528/rankings", token)
        assert later["snapshot_id"] not in (None, first["snapshot_id"])
        assert _snapshots(hub) == 2
        past = _get(hub, f"/api/v1/counties/610528/rankings?snapshot={first['snapshot_id']}", token)
        assert past["schools"] == first["schools"]
    finally:
        hub.close()
