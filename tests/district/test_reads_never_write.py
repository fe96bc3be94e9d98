"""Reads never write: every page and API read of the bureau and the agent leaves the row count of every table as
it was, but for the two writes a read must make: an API token's last-use stamp (an update, at most once a minute)
and an agent GET's signature, kept so that it cannot be replayed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from district.db import Base
from tests.conftest import SignedClient
from tests.district.scoring.helpers_scoring_db import bearer, seed_county

ALLOWED = {"seen_signatures"}  # an agent GET's signature (replay protection)


def _state(session: Any) -> dict[str, Any]:
    session.flush()
    out = {}
    for table in Base.metadata.sorted_tables:
        if table.name in ALLOWED:
            continue
        out[table.name] = session.execute(select(func.count()).select_from(table)).scalar_one()
    return out


def test_no_read_writes(client: Any, session: Any, county: Any, credentials: dict[str, str]) -> None:
    county.campaign_start_year = 2026
    seed_county(session)
    admin = bearer(session, "county_admin", "610528", "reads-admin")
    client.get("/api/v1/counties/610528/rankings", headers=admin)  # the token's first use stamps it
    before = _state(session)
    reads = [
        "/api/v1/counties/610528/rankings",
        "/api/v1/counties/610528/rankings?from=2026-03&to=2026-06",
        "/api/v1/counties/610528/rankings?year=2026&by_type=1",
        "/api/v1/schools/6105280001/score",
        "/api/v1/schools/6105280001/score?school_year=2025",
        "/api/v1/counties/610528/completeness?period=2026-10",
        "/api/v1/counties/610528/nutrition?from=2026-03&to=2026-10",
        "/api/v1/counties/610528/nutrition?year=2026&format=xlsx",
        "/api/v1/counties/610528/settings",
        "/api/v1/periods/610528/2026-10",
        "/api/v1/counties/610528/alerts",
        "/api/v1/counties/610528/alerts?period=2026-06",
        "/api/v1/cities/610500/overview",  # a county's own user: its county alone
        "/api/v1/cities/610500/overview?period=2026-06",
        "/api/v1/jobs",
        "/api/v1/hub-keys",
    ]
    for path in reads:
        resp = client.get(path, headers=admin)
        assert resp.status_code == 200, (path, resp.status_code, resp.get_data(as_text=True)[:300])
        resp.close()
    agent = SignedClient(client, "6105280001", credentials["6105280001"])
    assert agent.get("/api/v1/feedback?period=2026-10").status_code == 200
    assert _state(session) == before, "an API read wrote"

    from district.auth.services import create_user
    from tests.district.dashboard.conftest import sign_in

    create_user(session, "reads-viewer", "correct horse battery", "county_viewer", scope="610528")
    browser = client.application.test_client()
    assert sign_in(browser, "reads-viewer", "correct horse battery").status_code in (302, 303)
    after_sign_in = _state(session)  # signing in is a POST: it may write (the sign-in's own record)
    pages = [
        "/counties/610528/",
        "/cities/610500/",
        "/counties/610528/?period=2026-09",
        "/counties/610528/ranking",
        "/counties/610528/ranking?from=2026-09&to=2026-10&sort=score",
        "/schools/6105280001/",
        "/schools/6105280001/explain?indicator=A1",
        "/counties/610528/fund",
        "/counties/610528/approval?period=2026-10",
        "/downloads",
        "/school/6105280001/",  # the school's pages (issue 19), read by the county
        "/school/6105280001/?period=2026-09",
        "/school/6105280001/template?period=2026-10",
    ]
    for path in pages:
        resp = browser.get(path)
        assert resp.status_code in (200, 404), (path, resp.status_code)
    assert _state(session) == after_sign_in, "a page read wrote"
    # and nothing of the reads above (rankings of any window included) was stored as a snapshot
    assert session.execute(text("SELECT count(*) FROM ranking_snapshots")).scalar_one() == 0
