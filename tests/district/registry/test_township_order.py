"""The county's official order of its townships (issue 17 item 6): the setting (API and CLI), its validation, the
pinyin default, and the lists and tables that follow it."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture()
def third_township(session: Any, county: Any) -> Any:
    """张桥镇 with one school: by code point 庄 (U+5E84) < 张 (U+5F20), by pinyin zhang < zhuang."""
    from district.registry.models import School, Township

    t = Township(county_code="610528", name="张桥镇")
    session.add(t)
    session.flush()
    session.add(
        School(
            code="6105280005", name="张桥镇小学", county_code="610528", township_id=t.id, type="primary", boarding=False
        )
    )
    session.flush()
    return t


def test_the_default_order_is_pinyin_not_code_points(session: Any, county: Any, third_township: Any) -> None:
    from district.registry.services import pinyin_key, township_order, townships_in_order

    assert sorted(["庄里镇", "张桥镇", "城关街道"]) == ["城关街道", "庄里镇", "张桥镇"]  # code points: wrong
    assert townships_in_order(session, "610528") == ["城关街道", "张桥镇", "庄里镇"]  # cheng, zhang, zhuang
    assert sorted(["阿", "八", "从", "大"], key=pinyin_key) == ["阿", "八", "从", "大"]
    key = township_order(session, "610528")
    assert sorted(["庄里镇", "不在本县", "张桥镇"], key=key) == ["不在本县", "张桥镇", "庄里镇"]


def test_the_settings_api_sets_validates_and_clears_the_order(
    client: Any, session: Any, county: Any, third_township: Any
) -> None:
    from sqlalchemy import select

    from district.audit.models import AuditEntry
    from tests.district.scoring.helpers_scoring_db import bearer

    admin = bearer(session, "county_admin", "610528", "order-admin")
    viewer = bearer(session, "county_viewer", "610528", "order-viewer")
    url = "/api/v1/counties/610528/settings"
    got = client.get(url, headers=viewer).get_json()
    assert got["township_order"] is None
    assert got["township_order_in_effect"] == ["城关街道", "张桥镇", "庄里镇"]

    resp = client.put(url, headers=admin, json={"township_order": ["庄里镇", "城关街道"]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["township_order"] == ["庄里镇", "城关街道"]
    assert body["township_order_in_effect"] == ["庄里镇", "城关街道", "张桥镇"]  # the rest follow, by pinyin

    for value, path, code in (
        (["庄里镇", "庄里镇"], "township_order[1]", "duplicate"),
        (["城关街道", "东风路街道"], "township_order[1]", "unknown_township"),
        ([""], "township_order[0]", "empty"),
        ("庄里镇", "township_order", "invalid_type"),
        ([1, 2], "township_order", "invalid_type"),
    ):
        bad = client.put(url, headers=admin, json={"township_order": value})
        assert bad.status_code == 422, (value, bad.get_json())
        error = bad.get_json()["error"]
        assert error["code"] == "invalid_township_order"
        assert (error["details"][0]["path"], error["details"][0]["code"]) == (path, code), error
        assert "township_order" in error["message"]
    assert client.put(url, headers=viewer, json={"township_order": []}).status_code == 403
    # nothing refused was stored
    assert client.get(url, headers=viewer).get_json()["township_order"] == ["庄里镇", "城关街道"]

    cleared = client.put(url, headers=admin, json={"township_order": None}).get_json()
    assert cleared["township_order"] is None and cleared["township_order_in_effect"][0] == "城关街道"
    acts = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "county.township_order").order_by(AuditEntry.id)
    ).all()
    assert [a.details["township_order"] for a in acts] == [["庄里镇", "城关街道"], []]


def test_the_cli_sets_the_order_and_names_each_bad_entry(app: Any, session: Any, county: Any) -> None:
    from click.testing import CliRunner

    from district.cli import Context, main
    from district.db import db

    db.session().commit()
    ctx = Context()
    ctx._app = app
    ok = CliRunner().invoke(main, ["counties", "configure", "610528", "--township-order", "庄里镇，城关街道"], obj=ctx)
    assert ok.exit_code == 0, ok.output
    assert "610528 乡镇顺序：庄里镇、城关街道" in ok.output
    bad = CliRunner().invoke(main, ["counties", "configure", "610528", "--township-order", "庄里镇,新城镇"], obj=ctx)
    assert bad.exit_code == 2 and "township_order[1]：本县没有乡镇“新城镇”" in bad.output
    cleared = CliRunner().invoke(main, ["counties", "configure", "610528", "--township-order", ""], obj=ctx)
    assert cleared.exit_code == 0 and "城关街道、庄里镇（未设置，按拼音）" in cleared.output


def test_completeness_the_fund_report_and_the_review_queue_follow_the_order(
    session: Any, county: Any, third_township: Any
) -> None:
    import datetime as dt

    from district.nutrition.services import fund_report
    from district.registry.services import set_township_order
    from district.reports.completeness import county_completeness
    from district.review.services import review_queue
    from tests.factories import submit

    at = dt.datetime(2026, 11, 3, 2, 0, tzinfo=dt.UTC)
    for code in ("6105280001", "6105280004", "6105280005"):
        submit(session, code, "2026-10", at)
    set_township_order(session, "610528", ["张桥镇", "庄里镇", "城关街道"], actor="test")

    order = ["张桥镇", "庄里镇", "城关街道"]
    data = county_completeness(session, "610528", "2026-10").to_dict()
    assert [t["township"] for t in data["by_township"]] == order
    fund = fund_report(session, "610528", "2026-10", "2026-10").to_dict()
    assert [t["township"] for t in fund["townships"]] == order
    queue = review_queue(session, "610528", period="2026-10")
    assert [i.township for i in queue] == order


def test_the_county_pdfs_completeness_tables_follow_the_order(session: Any, county: Any, third_township: Any) -> None:
    import datetime as dt

    from district.calendar import Window
    from district.registry.services import set_township_order
    from district.rendering.evaluation import completeness_tables

    now = dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.UTC)
    tables = completeness_tables(session, "610528", Window("2026-10", "2026-10"), now)
    assert [r["township"] for r in tables[0]["rows"]] == ["城关街道", "张桥镇", "庄里镇"]  # pinyin by default
    set_township_order(session, "610528", ["庄里镇"], actor="test")
    tables = completeness_tables(session, "610528", Window("2026-10", "2026-10"), now)
    assert [r["township"] for r in tables[0]["rows"]] == ["庄里镇", "城关街道", "张桥镇"]
