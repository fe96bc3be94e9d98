"""Scoring services against the real database: inputs, snapshots and their staleness, inspections, rubrics,
windows, campaign progress, reminders and the agent's feedback."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from district import caches, clock
from district.audit.models import AuditEntry
from district.reminders import services as reminder_services
from district.reports import windows
from district.reports.models import ReportHead
from district.scoring import campaign, county_rubrics, inspections, ranking, snapshots
from district.scoring.engine import Window, score_county
from district.scoring.inputs import county_inputs
from district.scoring.models import Inspection, RankingSnapshot
from district.scoring.rubric import DEFAULT_RUBRIC_PATH, RubricError
from tests.conftest import example_report
from tests.district.scoring.helpers_scoring_db import (
    YEAR_FROM,
    YEAR_TO,
    explained,
    indicator,
    ranked_from_contents,
    report,
    seed_county,
    submit,
)

W = Window(YEAR_FROM, YEAR_TO)
UTC = dt.UTC


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    return seed_county(session)


def _row(snapshot: RankingSnapshot, code: str) -> dict[str, Any]:
    return next(r for r in snapshot.results if r["school_code"] == code)


# ------------------------------------------------------------------------------------------------ inputs


def test_inputs_expected_months_follow_break_months_and_active_ranges(session: Any, seeded: dict[str, int]) -> None:
    inputs = county_inputs(session, "610528", W)
    by_code = {s.code: s for s in inputs.schools}
    months = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-09", "2026-10"]
    assert list(by_code["6105280001"].expected_periods) == months  # July and August are break months
    assert list(by_code["6105280003"].expected_periods) == months[:6]  # closed 2026-06-30
    assert list(by_code["6105280004"].expected_periods) == ["2026-10"]  # opened 2026-10-01
    assert [m.period for m in by_code["6105280001"].months] == months[2:]
    assert inputs.active_codes == {"6105280001", "6105280002", "6105280004"}  # at 2026-10
    assert {h.ref for h in by_code["6105280001"].hazards} == {"H-2026-09-001", "H-2026-06-003"}
    assert by_code["6105280001"].previous_participating is None


def test_inputs_use_the_effective_revision_and_the_carry_over_basis_before_w(
    session: Any, seeded: dict[str, int]
) -> None:
    newer = submit(
        session,
        "6105280001",
        "2026-09",
        enrollment={"students": 805, "boarders": 201, "staff": 58, "logistics_staff": 7},
    )
    inputs = county_inputs(session, "610528", Window("2026-09", "2026-10"))
    school = next(s for s in inputs.schools if s.code == "6105280001")
    september = next(m for m in school.months if m.period == "2026-09")
    assert september.revision_id == newer and september.figures.value("enrollment.staff") == 58
    assert seeded["6105280001:2026-09"] not in inputs.revision_ids and newer in inputs.revision_ids
    # the most recent participating report before W is June's (July/August are break months, not reported)
    assert school.previous_participating is not None
    assert school.previous_participating.period == "2026-06"
    assert school.previous_participating.revision_id == seeded["6105280001:2026-06"]


def test_previous_participating_skips_non_participating_months(session: Any, county: Any) -> None:
    submit(session, "6105280001", "2026-05")
    submit(session, "6105280001", "2026-06", nutrition={"participating": False})
    inputs = county_inputs(session, "610528", Window("2026-09", "2026-09"))
    school = next(s for s in inputs.schools if s.code == "6105280001")
    assert school.previous_participating is not None and school.previous_participating.period == "2026-05"


# ------------------------------------------------------------------------------------------------ snapshots


def test_compute_ranking_stores_what_the_engine_says(session: Any, seeded: dict[str, int]) -> None:
    snapshot = ranking.compute_ranking(session, "610528", W, trigger="test")
    inputs = county_inputs(session, "610528", W)
    expected = score_county(inputs.schools, W, inputs.rubric, standard_rate=Decimal("5.00"))
    assert [r["school_code"] for r in snapshot.results] == [s.code for s in expected]
    assert explained(session, snapshot) == [score.to_dict(audit=True) for score in expected]
    assert snapshot.rubric_version == "default-1"
    assert snapshot.inputs["revision_ids"] == inputs.revision_ids
    assert set(snapshot.inputs["revision_ids"]) >= set(seeded.values()) - {
        v for k, v in seeded.items() if k.endswith(("2026-11",))
    }
    # 0004 opened in October and never reported: listed last, no score
    last = snapshot.results[-1]
    assert last["school_code"] == "6105280004" and last["score"] is None and last["rank"] is None
    assert last["status"] == "insufficient_data" and last["flags"] == ["missing:2026-10", "awaiting_inspection"]
    # 0001 and 0002 have identical reports except the hazards: 0001 pays 2 points for the overdue major hazard
    d1 = indicator(session, snapshot, "6105280001", "D1")
    assert d1["inputs"]["overdue open major hazards"] == "1"
    assert seeded["6105280001:2026-09"] in d1["revision_ids"]


def test_a_ranking_from_stored_figures_is_the_ranking_of_the_reports(session: Any, seeded: dict[str, int]) -> None:
    """Scoring reads each revision's figures stored at ingestion: the engine given the parsed reports themselves
    ranks the same; a revision whose figures are lost or of an older layout is read from its content, and the
    ranking is again the same."""
    snapshot = ranking.compute_ranking(session, "610528", W, trigger="test")
    stored = explained(session, snapshot)
    assert ranked_from_contents(session, "610528", W) == stored

    ids = snapshot.inputs["revision_ids"]
    session.execute(update(ReportHead).where(ReportHead.revision_id.in_(ids[::2])).values(figures=None))
    session.execute(update(ReportHead).where(ReportHead.revision_id == ids[1]).values(figures='["f0:old"]'))
    caches.clear()
    again = ranking.compute_ranking(session, "610528", W, trigger="test")
    assert again.results == snapshot.results and explained(session, again) == stored


def test_a_snapshot_keeps_figures_and_pinned_inputs_and_explains_from_them(
    session: Any, seeded: dict[str, int]
) -> None:
    snapshot = ranking.compute_ranking(session, "610528", W, trigger="test")
    row = _row(snapshot, "6105280001")
    # stored: the ranking fields, each indicator's exact earned points, the inputs the engine read; no prose
    assert "indicators" not in row and '"inputs"' not in json.dumps(snapshot.results)
    periods = ["2026-03", "2026-04", "2026-05", "2026-06", "2026-09", "2026-10"]
    assert row["pins"]["months"] == [[p, seeded[f"6105280001:{p}"]] for p in periods]
    assert [h[:4] for h in row["pins"]["hazards"]] == [
        ["H-2026-06-003", "general", "2026-06-30", "2026-09-08"],
        ["H-2026-09-001", "major", "2026-09-30", None],
    ]
    assert indicator(session, snapshot, "6105280001", "D1")["inputs"]["overdue open major hazards"] == "1"

    # October's correction rectifies the major hazard: the new ranking has no penalty, while the stored one is
    # still explained as it was computed (its ledger was pinned, not read again)
    fixed = {**example_report()["hazards"][0], "rectified_on": "2026-10-08"}
    submit(session, "6105280001", "2026-10", hazards=[fixed])
    after = ranking.latest_ranking(session, "610528", W)
    assert after is not None and after.id != snapshot.id
    assert indicator(session, after, "6105280001", "D1")["inputs"]["overdue open major hazards"] == "0"
    kept = snapshots.snapshot_by_id(session, "610528", snapshot.id)
    assert kept is not None
    d1 = indicator(session, kept, "6105280001", "D1")
    assert d1["inputs"]["overdue open major hazards"] == "1"
    assert d1["inputs"]["hazard H-2026-09-001"] == "major, deadline 2026-09-30, rectified_on open"


def test_a_stored_figure_its_pinned_inputs_do_not_give_is_refused(session: Any, seeded: dict[str, int]) -> None:
    snapshot = ranking.compute_ranking(session, "610528", W, trigger="test")
    snapshots.school_view(session, snapshot, "6105280002")  # as stored: explained
    rows = copy.deepcopy(snapshot.results)
    earned = next(r for r in rows if r["school_code"] == "6105280002")["earned"]
    assert earned[0] != "11/2"  # A1 as stored ("n/d")
    earned[0] = "11/2"
    snapshot.results = rows  # in memory only (never flushed)
    with pytest.raises(snapshots.SnapshotMismatch, match="6105280002"):
        snapshots.school_view(session, snapshot, "6105280002")
    session.expire(snapshot)


def test_latest_ranking_is_reused_until_an_input_changes(session: Any, seeded: dict[str, int]) -> None:
    first = ranking.latest_ranking(session, "610528", W)
    assert first is not None
    assert ranking.latest_ranking(session, "610528", W) is first  # nothing changed: no recompute
    # a report of a month after W changes nothing of W
    submit(session, "6105280001", "2026-11")
    assert ranking.latest_ranking(session, "610528", W) is first
    # a new revision inside W does
    submit(session, "6105280002", "2026-10")
    second = ranking.latest_ranking(session, "610528", W)
    assert second is not None and second.id > first.id
    # so does an inspection dated in W
    inspections.record_inspection(session, "6105280001", date="2026-10-15", score="4.5", inspector="后勤科", actor="t")
    third = ranking.latest_ranking(session, "610528", W)
    assert third is not None and third.id > second.id
    assert third.inputs["inspection_ids"] == [session.scalars(select(Inspection.id)).one()]
    # and a change of the registry (a school closes)
    from district.registry.models import School

    session.get(School, "6105280004").closed = dt.date(2026, 10, 31)
    session.flush()
    fourth = ranking.latest_ranking(session, "610528", W)
    assert fourth is not None and fourth.id > third.id
    assert ranking.latest_ranking(session, "610528", W, recompute=False) is fourth


def test_a_past_ranking_is_shown_as_it_was_after_a_correction(session: Any, seeded: dict[str, int]) -> None:
    before = ranking.latest_ranking(session, "610528", W)
    assert before is not None
    old_rev = seeded["6105280002:2026-10"]
    old = _row(before, "6105280002")
    # 0002 corrects October: toilets were in fact noncompliant (A2 loses its 6 points)
    corrected = report("6105280002", "2026-10")
    corrected["campus"]["toilets"] = "noncompliant"
    new_rev = submit(session, "6105280002", "2026-10", corrected)
    after = ranking.latest_ranking(session, "610528", W)
    assert after is not None and after.id != before.id
    assert Decimal(_row(after, "6105280002")["score"]) < Decimal(old["score"])
    assert new_rev in after.inputs["revision_ids"] and old_rev not in after.inputs["revision_ids"]
    # the earlier snapshot is untouched, with the revision it used
    session.expire_all()
    kept = snapshots.snapshot_by_id(session, "610528", before.id)
    assert kept is not None and _row(kept, "6105280002") == old
    assert old_rev in kept.inputs["revision_ids"] and new_rev not in kept.inputs["revision_ids"]
    a2 = indicator(session, kept, "6105280002", "A2")  # explained from what the past ranking pinned
    assert a2["earned"] == "6.00" and a2["revision_ids"] == [old_rev]
    assert snapshots.snapshot_by_id(session, "610526", before.id) is None  # another county's id: nothing


def test_ranking_view_by_type_and_school_view(session: Any, seeded: dict[str, int]) -> None:
    snapshot = ranking.latest_ranking(session, "610528", W)
    assert snapshot is not None
    view = snapshots.ranking_view(session, snapshot)
    assert set(view["schools"][0]) == set(snapshots.RANKING_FIELDS)
    assert view["campaign_progress"]["active"] == 3
    by_type = snapshots.ranking_view(session, snapshot, by_type=True)
    # three primaries then the junior school; 0001 pays for its overdue major hazard, so 0003 leads
    scores = {r["school_code"]: Decimal(r["score"]) for r in snapshot.results if r["score"] is not None}
    assert scores["6105280003"] > scores["6105280001"]
    assert [(r["school_code"], r["rank"], r["county_rank"]) for r in by_type["schools"]] == [
        ("6105280003", 1, _row(snapshot, "6105280003")["rank"]),
        ("6105280001", 2, _row(snapshot, "6105280001")["rank"]),
        ("6105280004", None, None),
        ("6105280002", 1, _row(snapshot, "6105280002")["rank"]),
    ]
    one = ranking.school_score(session, "6105280002", YEAR_FROM, YEAR_TO)
    assert one["snapshot_id"] == snapshot.id and one["type_rank"] == 1
    assert [i["code"] for i in one["indicators"]][:3] == ["A1", "A2", "A3"]
    with pytest.raises(snapshots.NotRanked):
        ranking.school_score(session, "6105280004", Window("2026-03", "2026-09"))


# ------------------------------------------------------------------------------------------------ inspections


@pytest.mark.parametrize(
    ("fields", "issues"),
    [
        ({"date": "2026-10-32", "score": "4", "inspector": "x"}, [("/date", "invalid_date")]),
        ({"date": "2099-01-01", "score": "4", "inspector": "x"}, [("/date", "date_in_future")]),
        ({"date": "2009-12-31", "score": "4", "inspector": "x"}, [("/date", "date_too_early")]),
        ({"date": "2026-10-01", "score": "5.1", "inspector": "x"}, [("/score", "score_out_of_range")]),
        ({"date": "2026-10-01", "score": "-0.1", "inspector": "x"}, [("/score", "score_out_of_range")]),
        ({"date": "2026-10-01", "score": "4.25", "inspector": "x"}, [("/score", "score_precision")]),
        ({"date": "2026-10-01", "score": True, "inspector": "x"}, [("/score", "not_a_number")]),
        ({"date": "2026-10-01", "score": "4", "inspector": " "}, [("/inspector", "inspector_length")]),
        ({"date": "2026-10-01", "score": "4", "inspector": "张" * 51}, [("/inspector", "inspector_length")]),
        (
            {"date": None, "score": None, "inspector": None},
            [("/date", "required"), ("/score", "required"), ("/inspector", "required")],
        ),
    ],
)
def test_inspection_rules(session: Any, county: Any, fields: dict[str, Any], issues: list[tuple[str, str]]) -> None:
    with pytest.raises(inspections.InspectionError) as err:
        inspections.record_inspection(session, "6105280001", **fields, actor="t")
    assert [(i["path"], i["code"]) for i in err.value.issues] == issues
    assert session.scalars(select(Inspection)).all() == []


def test_inspection_is_appended_and_audited_in_the_county_chain(session: Any, county: Any) -> None:
    first = inspections.record_inspection(
        session, "6105280001", date=dt.date(2026, 10, 15), score=Decimal("4"), inspector=" 后勤科 ", actor="admin"
    )
    second = inspections.record_inspection(
        session, "6105280001", date="2026-10-15", score="4.5", inspector="后勤科", notes="更正", actor="admin"
    )
    assert (first.score, second.score) == (Decimal("4.0"), Decimal("4.5"))
    assert first.inspector == "后勤科" and first.county_code == "610528"
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "inspection.add")).all()
    assert [e.details["inspection_id"] for e in entries] == [first.id, second.id]
    assert entries[1].details["score"] == "4.5" and entries[1].chain_key == "610528"
    assert entries[1].chain_seq == entries[0].chain_seq + 1
    with pytest.raises(LookupError):
        inspections.record_inspection(session, "6105289999", date="2026-10-15", score="4", inspector="x", actor="t")


def test_the_correction_of_an_inspection_is_what_b2_uses(session: Any, seeded: dict[str, int]) -> None:
    inspections.record_inspection(session, "6105280002", date="2026-10-15", score="3", inspector="x", actor="t")
    inspections.record_inspection(session, "6105280002", date="2026-10-15", score="4.5", inspector="x", actor="t")
    after_w = "2026-11-02"
    inspections.record_inspection(session, "6105280002", date=after_w, score="1", inspector="x", actor="t")
    b2 = next(i for i in ranking.school_score(session, "6105280002", W)["indicators"] if i["code"] == "B2")
    assert b2["earned"] == "4.50" and b2["inputs"]["inspections in W"] == "2"


# ------------------------------------------------------------------------------------------------ rubrics


def _custom_rubric(version: str = "610528-2026") -> str:
    text = DEFAULT_RUBRIC_PATH.read_text(encoding="utf-8")
    return text.replace('version = "default-1"', f'version = "{version}"').replace(
        "compliant_score = 80", "compliant_score = 60"
    )


def test_a_county_rubric_is_loaded_audited_and_used(session: Any, seeded: dict[str, int]) -> None:
    default = ranking.latest_ranking(session, "610528", W)
    assert default is not None and default.rubric_version == "default-1"
    row = county_rubrics.load_county_rubric(session, "610528", _custom_rubric(), "fuping.toml", actor="admin")
    assert row.version == "610528-2026" and row.county_code == "610528"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "rubric.load")).one()
    assert entry.details["version"] == "610528-2026" and entry.chain_key == "610528"
    custom = ranking.latest_ranking(session, "610528", W)
    assert custom is not None and custom.rubric_version == "610528-2026" and custom.id != default.id
    assert all(r["rubric_version"] == "610528-2026" for r in custom.results)
    # the same file again is the same rubric; other content under that version is refused, naming the line
    assert county_rubrics.load_county_rubric(session, "610528", _custom_rubric(), "fuping.toml").id == row.id
    with pytest.raises(RubricError) as err:
        county_rubrics.load_county_rubric(session, "610528", _custom_rubric().replace("= 60", "= 70"), "f2.toml")
    assert err.value.messages[0].startswith("f2.toml:8: version '610528-2026' is already loaded")


def test_a_bad_rubric_names_its_lines_and_changes_nothing(session: Any, county: Any) -> None:
    text = _custom_rubric().replace('kind = "drills"', 'kind = "drill"')
    with pytest.raises(RubricError) as err:
        county_rubrics.load_county_rubric(session, "610528", text, "bad.toml")
    line = text.splitlines().index('kind = "drill"') + 1
    assert any(m.startswith(f"bad.toml:{line}: ") and "unknown kind 'drill'" in m for m in err.value.messages)
    assert county.rubric_id is None


# ------------------------------------------------------------------------------------------------ campaign


def test_county_and_city_campaign_progress(session: Any, seeded: dict[str, int], county: Any) -> None:
    from district.registry.models import County, School, Township

    county.campaign_start_year = 2025
    session.add(County(code="610526", city_code="610500", name="蒲城县", campaign_start_year=2026))
    session.flush()
    t = Township(county_code="610526", name="城关镇")
    session.add(t)
    session.flush()
    session.add(School(code="6105260001", name="蒲城一小", county_code="610526", township_id=t.id, type="primary"))
    session.flush()
    now = dt.datetime(2026, 11, 21, tzinfo=UTC)
    progress = campaign.county_campaign_progress(session, "610528", 2026, now=now)
    assert progress is not None
    snapshot = ranking.latest_ranking(session, "610528", W)
    assert snapshot is not None
    compliant = sum(1 for r in snapshot.results if r["status"] == "compliant" and r["school_code"] != "6105280003")
    assert progress["window"] == {"from": "2026-01", "to": "2026-10"}
    assert (progress["campaign_year"], progress["target"], progress["active"]) == (2, "0.7000", 3)
    assert progress["compliant"] == compliant
    city = campaign.city_campaign_progress(session, "610500", 2026, now=now)
    assert [c["county_code"] for c in city["counties"]] == ["610526", "610528"]
    assert city["active"] == 4 and city["compliant"] == compliant
    assert (city["campaign_year"], city["target"]) == (2, "0.7000")  # the earliest county started in 2025
    assert campaign.county_campaign_progress(session, "610528", 2027, now=now) is None


# ------------------------------------------------------------------------------------------------ reminders


def test_reminders_list_missing_reports_and_overdue_hazards(session: Any, seeded: dict[str, int]) -> None:
    submit(session, "6105280002", "2026-11")
    today = dt.date(2026, 12, 9)  # November's deadline was 5 December
    items = reminder_services.reminders(session, "610528", today)
    missing = [(r["school_code"], r["days_late"]) for r in items if r["kind"] == "report_missing"]
    assert missing == [("6105280001", 4), ("6105280004", 4)]  # 0003 closed in June
    hazards = [r for r in items if r["kind"] == "hazard_overdue"]
    assert [(h["school_code"], h["ref"], h["severity"], h["days_overdue"]) for h in hazards] == [
        ("6105280001", "H-2026-09-001", "major", 70)
    ]
    assert hazards[0]["message"].startswith("重大隐患 H-2026-09-001")
    before = reminder_services.reminders(session, "610528", dt.date(2026, 12, 3), school_code="6105280001", lang="en")
    assert before[0]["kind"] == "report_missing" and before[0]["overdue"] is False
    assert before[0]["message"] == "the 2026-11 report is due by 2026-12-05"
    assert reminder_services.reminders(session, "610528", dt.date(2026, 8, 10)) == hazards_on(
        session, dt.date(2026, 8, 10)
    )
    stored = reminder_services.store_reminders(session, "610528", today)
    assert stored.period == "2026-11" and stored.items == items
    assert reminder_services.latest_reminders(session, "610528") is stored


def hazards_on(session: Any, day: dt.date) -> list[dict[str, Any]]:
    # July is a break month: no report is asked for on 10 August; only hazards past deadline remain
    return [r for r in reminder_services.reminders(session, "610528", day) if r["kind"] == "hazard_overdue"]


def test_a_recent_ranking_of_inputs_the_read_cannot_see_is_not_shown(session: Any, county: Any, hub_clock: Any) -> None:
    """Another request computed a ranking from a revision committed after this request's transaction began
    (simulated: the revision rolled back after the ranking was computed). Within max_age the read does not show it
    (explaining a school from it read a revision the request could not see: a 500 under concurrent use, seen by
    test_unit_of_work_live); it computes the ranking of what it sees."""
    seed_county(session)
    window = Window(YEAR_FROM, YEAR_TO)
    nested = session.begin_nested()
    newer_revision = submit(session, "6105280002", "2026-10", safety__drills=0)
    newer = ranking.read_ranking(session, "610528", window)
    assert newer.max_revision_id == newer_revision
    nested.rollback()  # this request never saw that revision
    hub_clock.set(hub_clock.now() + dt.timedelta(seconds=5))
    shown = ranking.read_ranking(session, "610528", window, max_age=30)
    assert shown is not newer and shown.max_revision_id < newer_revision
    assert snapshots.school_view(session, shown, "6105280002")["school_code"] == "6105280002"
    # a recent ranking it does see is shown within max_age, as before
    assert ranking.read_ranking(session, "610528", window, max_age=30) is shown


def test_feedback_shows_the_latest_stored_score_and_the_reminders(session: Any, agent: Any, county: Any) -> None:
    for period in ("2026-09", "2026-10"):
        assert agent.post_report(report("6105280001", period)).status_code == 201
    fb = agent.get("/api/v1/feedback?period=2026-09").json
    assert (fb["score"], fb["rank"], fb["ranking"]) == (None, None, None)  # no ranking computed yet
    snapshot = ranking.latest_ranking(session, "610528", windows.resolve_window(session, county))
    assert snapshot is not None
    fb = agent.get("/api/v1/feedback?period=2026-09", ts=int(clock.now().timestamp()) + 1).json  # not a replay
    row = _row(snapshot, "6105280001")
    assert (fb["score"], fb["rank"]) == (row["score"], row["rank"]) and fb["rank"] == 1
    assert fb["ranking"]["snapshot_id"] == snapshot.id and fb["ranking"]["status_label"]
    assert all(r["school_code"] == "6105280001" for r in fb["reminders"])


def test_a_read_computes_without_storing_and_shows_a_recent_ranking_for_max_age(
    session: Any, county: Any, hub_clock: Any
) -> None:
    from district.scoring.models import RankingSnapshot

    seed_county(session)
    window = Window(YEAR_FROM, YEAR_TO)
    first = ranking.read_ranking(session, "610528", window)
    assert first.id is None and session.scalars(select(RankingSnapshot)).all() == []
    assert ranking.read_ranking(session, "610528", window) is first  # unchanged inputs: kept in the process
    submit(session, "6105280002", "2026-10", safety__drills=0)
    hub_clock.set(hub_clock.now() + dt.timedelta(seconds=10))
    # within max_age the recent ranking is shown as it is (its computed_at says when); past it, computed again
    assert ranking.read_ranking(session, "610528", window, max_age=30) is first
    hub_clock.set(hub_clock.now() + dt.timedelta(seconds=30))
    second = ranking.read_ranking(session, "610528", window, max_age=30)
    assert second is not first and second.computed_at > first.computed_at
    assert ranking.read_ranking(session, "610528", window) is second
    assert session.scalars(select(RankingSnapshot)).all() == []  # reads never write
    stored = snapshots.store_snapshot(session, second)
    assert stored.id is not None and snapshots.store_snapshot(session, second) is stored
    assert ranking.read_ranking(session, "610528", window).id == stored.id  # current: the stored one
