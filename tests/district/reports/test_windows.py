"""A county's windows (``district.reports.windows``): the reporting calendar's rules with the county's reporting
start (上线月份), its setting or else its first accepted report; open-ended windows (issue 16); setting the start
through the API and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from district.calendar import Window, WindowError
from district.reports import windows
from houqin_standard import SHANGHAI
from tests.conftest import example_report


def cst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_windows_are_clipped_to_the_reporting_start_and_capped_at_the_latest_closed_period(
    session: Any, county: Any
) -> None:
    at = cst(2026, 12, 7, 9, 0)  # 2026-11 closed on 5 December
    assert windows.resolve_window(session, county, at=at) == Window("2026-01", "2026-11")  # nothing reported yet
    county.reporting_start = "2026-09"
    assert windows.resolve_window(session, county, at=at) == Window("2026-09", "2026-11")  # the default window
    assert windows.resolve_window(session, county, year="2026", at=at) == Window("2026-09", "2026-11")
    assert windows.resolve_window(session, county, school_year=2026, at=at) == Window("2026-09", "2026-11")
    assert windows.resolve_window(session, county, period_from="2026-01", period_to="2027-06", at=at) == Window(
        "2026-09", "2026-11"
    )
    assert windows.resolve_window(session, county, year=2027, at=cst(2027, 3, 6)) == Window("2027-01", "2027-02")
    with pytest.raises(WindowError) as err:  # 2025-09..2026-08 lies wholly before the reporting start
        windows.resolve_window(session, county, school_year=2025, at=at)
    assert "2026-09 起" in err.value.zh


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        ({"period_from": "2026-13", "period_to": "2026-09"}, "invalid_period", "YYYY-MM"),
        ({"period_from": "9999-12", "period_to": "9999-12"}, "empty_window", "2026-11"),
        ({"period_from": "2009-12", "period_to": "2026-09"}, "invalid_period", "2010"),
        ({"period_from": "2026-09", "period_to": "2026-03"}, "invalid_window", "晚于"),
        ({"period_from": "2020-01", "period_to": "2026-09"}, "window_too_long", "最长 36 个月"),
        ({"period_from": "2026-01", "period_to": "2026-06"}, "empty_window", "2026-09 起"),
        ({"year": "twenty"}, "invalid_window", "四位年份"),
        ({"year": "２０２６"}, "invalid_window", "四位年份"),
        ({"year": "9999"}, "invalid_window", "无效"),
        ({"year": "2027"}, "empty_window", "2026-11"),
        ({"year": "2026", "period_from": "2026-01"}, "invalid_window", "其中一种"),
    ],
)
def test_bad_or_empty_windows_are_refused_naming_the_limit(
    session: Any, county: Any, kwargs: dict[str, str], code: str, words: str
) -> None:
    county.reporting_start = "2026-09"
    with pytest.raises(WindowError) as err:
        windows.resolve_window(session, county, at=cst(2026, 12, 7, 9, 0), **kwargs)
    assert err.value.code == code
    assert words in err.value.zh


def test_reporting_start_defaults_to_the_first_accepted_report_and_is_validated(
    session: Any, county: Any, agent: Any
) -> None:
    assert windows.reporting_start(session, county) is None
    assert agent.post_report(example_report(period="2026-10")).status_code == 201
    assert windows.reporting_start(session, county) == "2026-10"
    assert windows.validate_reporting_start(session, county, "2026-09") == "2026-09"
    with pytest.raises(WindowError, match="after the county's first accepted report") as err:
        windows.validate_reporting_start(session, county, "2026-11")
    assert "2026-10" in err.value.zh
    with pytest.raises(WindowError, match="future"):
        windows.validate_reporting_start(session, county, "2027-01")
    county.reporting_start = "2026-09"
    assert windows.reporting_start(session, county) == "2026-09"


def test_the_settings_api_sets_the_reporting_start_and_refuses_it_with_the_reason(
    client: Any, session: Any, county: Any, agent: Any
) -> None:
    from district.registry.models import County
    from tests.district.scoring.helpers_scoring_db import bearer

    session.add(County(code="610526", city_code="610500", name="蒲城县"))
    session.flush()
    admin = bearer(session, "county_admin", "610528", "settings-admin")
    viewer = bearer(session, "county_viewer", "610528", "settings-viewer")
    other = bearer(session, "county_admin", "610526", "settings-other")
    assert client.get("/api/v1/counties/610528/settings", headers=viewer).get_json()["reporting_start"] is None
    assert agent.post_report(example_report(period="2026-10")).status_code == 201
    got = client.get("/api/v1/counties/610528/settings", headers=viewer).get_json()
    assert (got["reporting_start"], got["reporting_start_in_effect"]) == (None, "2026-10")

    resp = client.put("/api/v1/counties/610528/settings", headers=admin, json={"reporting_start": "2026-09"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["reporting_start"] == "2026-09"
    assert session.get(type(county), "610528").reporting_start == "2026-09"
    for value, words in (
        ("2026-11", "晚于本县已收到的第一份月报（2026-10）"),
        ("2027-01", "尚未到来"),
        ("2009-12", "2010"),
        ("9999-12", "尚未到来"),
        ("2026-13", "YYYY-MM"),
        (202609, "YYYY-MM"),
    ):
        resp = client.put("/api/v1/counties/610528/settings", headers=admin, json={"reporting_start": value})
        assert resp.status_code == 400, (value, resp.get_json())
        error = resp.get_json()["error"]
        assert words in error["message"] and error["details"][0]["path"] == "reporting_start", (value, error)
    bad = client.put("/api/v1/counties/610528/settings", headers=admin, json={"reporting_startt": "2026-09"})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["path"] == "reporting_startt"
    not_json = client.put("/api/v1/counties/610528/settings", headers=admin, data="[")
    assert not_json.status_code == 415  # the one JSON body reader: not application/json
    array = client.put("/api/v1/counties/610528/settings", headers=admin, json=[])
    assert array.status_code == 400 and array.get_json()["error"]["code"] == "invalid_body"
    assert client.put("/api/v1/counties/610528/settings", headers=viewer, json={}).status_code == 403
    assert client.put("/api/v1/counties/610528/settings", headers=other, json={}).status_code == 404
    assert session.get(type(county), "610528").reporting_start == "2026-09"  # nothing refused was stored
    cleared = client.put("/api/v1/counties/610528/settings", headers=admin, json={"reporting_start": None})
    assert cleared.get_json()["reporting_start_in_effect"] == "2026-10"
    from sqlalchemy import select

    from district.audit.models import AuditEntry

    acts = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "county.configure").order_by(AuditEntry.id)
    ).all()
    assert [a.details["reporting_start"] for a in acts] == ["2026-09", None]


def test_the_cli_configures_the_reporting_start(app: Any, session: Any, county: Any) -> None:
    from click.testing import CliRunner

    from district.cli import Context, main
    from district.db import db

    db.session().commit()
    ctx = Context()
    ctx._app = app
    ok = CliRunner().invoke(main, ["counties", "configure", "610528", "--reporting-start", "2026-09"], obj=ctx)
    assert ok.exit_code == 0, ok.output
    assert "610528 上线月份：2026-09" in ok.output
    bad = CliRunner().invoke(main, ["counties", "configure", "610528", "--reporting-start", "2027-05"], obj=ctx)
    assert bad.exit_code == 2 and "尚未到来" in bad.output
    unknown = CliRunner().invoke(main, ["counties", "configure", "999999", "--reporting-start", "2026-09"], obj=ctx)
    assert unknown.exit_code == 1 and "未登记的县" in unknown.output


# ------------------------------------------------------------------------------------------------ open ends (issue 16)


def test_from_alone_runs_to_the_latest_closed_period(session: Any, county: Any) -> None:
    # the hub's clock: 2026-11-21, so 2026-10 is the latest closed period
    assert windows.resolve_window(session, county, period_from="2026-03") == Window("2026-03", "2026-10")
    assert windows.window_from_args(session, county, {"from": "2026-03", "to": ""}) == Window("2026-03", "2026-10")


def test_to_alone_is_its_year_to_date(session: Any, county: Any) -> None:
    assert windows.resolve_window(session, county, period_to="2026-06") == Window("2026-01", "2026-06")
    assert windows.window_from_args(session, county, {"to": "2025-09"}) == Window("2025-01", "2025-09")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"from": "2026-11"}, "empty_window"),  # after the latest closed period
        ({"from": "2020-01"}, "window_too_long"),  # 2020-01..2026-10 is 82 months as asked
        ({"from": "2026-13"}, "invalid_period"),
        ({"to": "20x6-01"}, "invalid_period"),
    ],
)
def test_open_windows_keep_every_rule(session: Any, county: Any, args: dict[str, str], code: str) -> None:
    with pytest.raises(WindowError) as err:
        windows.window_from_args(session, county, args)
    assert err.value.code == code
