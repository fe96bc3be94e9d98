"""Every page renders for an in-scope county admin (a smoke test; details are in the other modules)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.district.dashboard.conftest import sign_in, submit

UTC = dt.UTC


def test_pages_render(client: Any, session: Any, users: dict[str, Any]) -> None:
    submit(session, "6105280001", "2026-09", dt.datetime(2026, 10, 3, tzinfo=UTC))
    submit(session, "6105280001", "2026-09", dt.datetime(2026, 10, 4, tzinfo=UTC), nutrition__other_spend="10.00")
    assert sign_in(client, "admin").status_code == 302
    for path in [
        "/",
        "/counties/610528/?period=2026-09",
        "/counties/610528/ranking",
        "/counties/610528/fund",
        "/counties/610528/approval?period=2026-09",
        "/schools/6105280001/",
        "/schools/6105280001/inspection",
        "/account/tokens",
    ]:
        resp = client.get(path, follow_redirects=True)
        assert resp.status_code == 200, (path, resp.status_code, resp.get_data(as_text=True)[:2000])
