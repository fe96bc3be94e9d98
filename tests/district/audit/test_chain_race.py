"""Two agents of the same school racing over real HTTP never fork its chain: the unique constraints (chain
position, revision number) refuse the loser's write, and the hub runs it again (SQLite serialises writers)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from district.db import make_engine
from district.integrity.verify import verify
from district.reports.models import ReportRevision
from tests.conftest import example_report
from tests.livehub import LiveHub


@pytest.mark.slow
def test_concurrent_submissions_never_fork_the_chain(tmp_path: Path) -> None:
    hub = LiveHub(tmp_path)
    try:
        hub.start(gunicorn_workers=2)
        statuses: list[int] = []
        lock = threading.Lock()

        def agent(n: int) -> None:
            for i in range(10):
                report = example_report(
                    period=["2026-09", "2026-10"][i % 2], report_id=str(uuid.uuid4()), prepared_by=f"agent{n}-{i}"
                )
                status, _ = hub.post_report(report)
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=agent, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [201] * 20
        engine = make_engine(hub.database_url)
        from sqlalchemy.orm import Session

        with Session(engine) as s:
            seqs = list(s.scalars(select(ReportRevision.chain_seq).order_by(ReportRevision.chain_seq)))
            assert seqs == list(range(1, 21))
            revisions = sorted(s.scalars(select(ReportRevision.revision).where(ReportRevision.period == "2026-09")))
            assert revisions == list(range(1, 11))
            result: Any = verify(s)
            assert result.ok, result.findings
        engine.dispose()
    finally:
        hub.close()
