"""The hazard ledger: latest state of each ref among effective revisions; overdue filtered in the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from district import clock
from district.reports.hazards import hazard_ledger, overdue_hazards
from tests.conftest import SignedClient, example_report


def test_ledger_takes_the_latest_month_and_overdue_is_exact(agent: SignedClient, session: Any) -> None:
    # 2026-09: H-2026-09-001 (major, deadline 09-30, open) and H-2026-06-003 (rectified 09-08)
    assert agent.post_report(example_report()).status_code == 201
    oct_report = example_report(period="2026-10")
    oct_report["hazards"] = [dict(oct_report["hazards"][0], rectified_on="2026-10-12")]
    assert agent.post_report(oct_report, ts=int(clock.now().timestamp()) + 1).status_code == 201
    ledger = {e.ref: e for e in hazard_ledger(session, school_code="6105280001")}
    assert ledger["H-2026-09-001"].rectified_on == dt.date(2026, 10, 12)  # the later month updated it
    assert ledger["H-2026-09-001"].period == "2026-10"
    as_of_sept = {e.ref: e for e in hazard_ledger(session, school_code="6105280001", as_of_period="2026-09")}
    assert as_of_sept["H-2026-09-001"].rectified_on is None
    # on 10-01 the major hazard was open and past its 09-30 deadline; on 10-12 it was rectified that day (open
    # until then, so still overdue on 10-11, not on 10-12)
    assert [e.ref for e in overdue_hazards(session, "610528", dt.date(2026, 10, 1))] == ["H-2026-09-001"]
    assert [e.ref for e in overdue_hazards(session, "610528", dt.date(2026, 10, 11))] == ["H-2026-09-001"]
    assert overdue_hazards(session, "610528", dt.date(2026, 10, 12)) == []
    assert overdue_hazards(session, "610528", dt.date(2026, 9, 30)) == []  # the deadline day itself is not overdue
