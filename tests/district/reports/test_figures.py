"""A revision's figures (``district.reports.figures``): what they hold, that ingestion stores them on the revision's
head, and that ``houqin db figures`` makes the missing ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from district.cli import Context, main
from district.db import db
from district.reports.figures import (
    FIELDS,
    FIELDS_1,
    INDEX,
    LAYOUT,
    LAYOUT_1,
    ReportFigures,
    figures_json,
    load_figures,
)
from district.reports.models import ReportHead, ReportRevision
from houqin_standard.fields import SECTIONS, SECTIONS_V2
from tests.conftest import SignedClient, example_report


def test_figures_are_every_section_field_in_the_standards_order() -> None:
    report = example_report()
    values = ReportFigures.from_content(report)
    assert values[0] == values.layout == LAYOUT_1 and len(values) == len(FIELDS) + 1
    assert FIELDS[:2] == ("school_code", "period")
    assert list(FIELDS_1[2:]) == [f"{s.key}.{f.key}" for s in SECTIONS for f in s.fields]
    assert list(FIELDS[2:]) == [f"{s.key}.{f.key}" for s in SECTIONS_V2 for f in s.fields]
    for name in FIELDS_1:
        section, _, key = name.partition(".")
        expected = report[section] if not key else report[section].get(key)
        assert values[INDEX[name]] == expected, name
    # kept as the report has them: money as its string, counts as ints, flags as booleans, lists as lists
    assert values[INDEX["nutrition.funds_received"]] == report["nutrition"]["funds_received"]
    assert isinstance(values[INDEX["nutrition.funds_received"]], str)
    assert values[INDEX["dormitory.unified_items"]] == report["dormitory"]["unified_items"]
    assert values[INDEX["nutrition.participating"]] is True
    # the same read by name
    assert values.value("nutrition.funds_received") == report["nutrition"]["funds_received"]
    assert (values.school_code, values.period, values.participating) == ("6105280001", report["period"], True)
    assert values.section("nutrition") == report["nutrition"]
    with pytest.raises(KeyError):
        values.value("nutrition.no_such_field")


def test_an_absent_field_or_section_is_none() -> None:
    report = example_report()
    report["nutrition"] = {"participating": False}
    del report["dormitory"]
    report["energy"] = "not an object"
    values = ReportFigures.from_content(report)
    assert values[INDEX["nutrition.participating"]] is False and not values.participating
    assert values.section("nutrition") == {"participating": False} and values.section("dormitory") is None
    assert values[INDEX["nutrition.meals_served"]] is None
    assert values[INDEX["dormitory.beds"]] is None and values[INDEX["dormitory.unified_items"]] is None
    assert values[INDEX["energy.water_m3"]] is None


def test_stored_figures_read_back_equal_and_another_layout_is_taken_from_the_content() -> None:
    report = example_report()
    text = figures_json(report)
    parsed = ReportFigures.from_content(report)
    assert load_figures(text) == parsed == ReportFigures.from_stored(text.encode("utf-8"))
    assert type(load_figures(text)) is ReportFigures
    content = json.dumps(report, ensure_ascii=False)
    other = json.dumps(["f0:old", *parsed[1:]])
    assert load_figures(other, content) == parsed
    assert load_figures(None, content) == parsed
    with pytest.raises(ValueError, match="no figures"):
        load_figures(other)
    for not_figures in (other, "[]", "{}", json.dumps(report), None):
        assert ReportFigures.from_stored(not_figures) is None


def test_figures_are_immutable_and_say_their_standard() -> None:
    v1 = ReportFigures.from_content(example_report())
    with pytest.raises(TypeError):
        v1[1] = "6105280002"  # type: ignore[index]
    with pytest.raises(AttributeError):
        v1.extra = 1  # type: ignore[attr-defined]
    v2 = ReportFigures.from_content(example_report(standard="houqin/monthly-report@2"))
    assert (v1.standard, v2.standard, v2.layout) == ("houqin/monthly-report@1", "houqin/monthly-report@2", LAYOUT)


def _heads(session: Any) -> dict[tuple[str, str], tuple[int, str | None]]:
    head = ReportHead
    rows = session.execute(select(head.school_code, head.period, head.revision_id, head.figures))
    return {(school, period): (rid, figures) for school, period, rid, figures in rows}


def test_ingestion_stores_the_figures_on_the_head_and_a_correction_replaces_them(
    agent: SignedClient, session: Any
) -> None:
    assert agent.post_report(example_report()).status_code == 201
    assert agent.post_report(example_report(period="2026-08")).status_code == 201
    assert agent.post_report(example_report(enrollment__staff=61)).status_code == 201  # September corrected
    assert agent.post_report(example_report(period="2026-07", enrollment__boarders=10**6)).status_code == 422
    heads = _heads(session)
    assert set(heads) == {("6105280001", "2026-08"), ("6105280001", "2026-09")}  # the rejected one left none
    for rid, figures in heads.values():
        content = session.scalar(select(ReportRevision.content).where(ReportRevision.id == rid))
        assert figures == figures_json(json.loads(content))
    september = load_figures(heads[("6105280001", "2026-09")][1])
    assert september[INDEX["enrollment.staff"]] == 61 and september[INDEX["period"]] == "2026-09"


def test_houqin_db_figures_makes_the_missing_ones_and_then_has_nothing_to_do(
    app: Any, agent: SignedClient, session: Any, restore_db_state: Any
) -> None:
    for period in ("2026-07", "2026-08", "2026-09"):
        assert agent.post_report(example_report(period=period)).status_code == 201
    expected = _heads(session)
    # one head written without figures (a bulk load), one with figures of an older layout
    school = "6105280001"
    session.execute(
        update(ReportHead).where(ReportHead.school_code == school, ReportHead.period == "2026-07").values(figures=None)
    )
    session.execute(
        update(ReportHead)
        .where(ReportHead.school_code == school, ReportHead.period == "2026-08")
        .values(figures='["f0:old",1]')
    )
    session.commit()

    def invoke(*args: str) -> Any:
        ctx = Context()
        ctx._app = app
        return CliRunner().invoke(main, list(args), obj=ctx)

    result = invoke("db", "figures")
    assert result.exit_code == 0, result.output
    assert "stored the figures of 2 revisions" in result.output
    db.session.remove()
    session.expire_all()
    assert _heads(session) == expected
    again = invoke("db", "figures")
    assert again.exit_code == 0 and "every revision has its figures" in again.output
