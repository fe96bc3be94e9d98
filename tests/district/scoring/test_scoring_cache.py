"""The per-process cache of the scoring services (the engine's school parts, ``district.caches`` named
"scoring.school_parts"): a recompute that reuses it stores exactly what a recompute from nothing stores, after a
correction, an inspection or a new report, and it never serves what a superseded revision or another database
said."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from district import caches
from district.scoring import inspections, ranking, snapshots
from district.scoring.engine import Window, score_county
from district.scoring.inputs import county_inputs
from district.scoring.inputs import stats as input_stats
from district.scoring.models import RankingSnapshot
from tests.district.scoring.helpers_scoring_db import (
    YEAR_FROM,
    YEAR_TO,
    explained,
    indicator,
    report,
    seed_county,
    submit,
)

W = Window(YEAR_FROM, YEAR_TO)


def parts() -> caches.CacheStats:
    """The part cache's hits and misses (``houqin cache stats`` shows the same)."""
    return next(c for c in caches.stats() if c.name == "scoring.school_parts")


def reports_parsed() -> int:
    return input_stats["reports_parsed"]


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    caches.clear()
    yield
    caches.clear()


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    return seed_county(session)


def _fresh(session: Any) -> list[dict[str, Any]]:
    """The county's ranking computed with empty caches (what the engine says from nothing); the caches are
    warm again after it."""
    caches.clear()
    return ranking.compute_ranking(session, "610528", W, trigger="fresh").results


def _same(snapshot: RankingSnapshot, fresh: list[dict[str, Any]]) -> None:
    assert snapshot.results == fresh  # the ranking fields, every indicator's exact earned, the pinned inputs


def test_a_warm_recompute_equals_the_engine_from_nothing(session: Any, seeded: dict[str, int]) -> None:
    ranking.compute_ranking(session, "610528", W, trigger="warm")
    again = ranking.compute_ranking(session, "610528", W, trigger="cached")
    assert parts().hits == parts().misses > 0
    inputs = county_inputs(session, "610528", W)
    expected = score_county(inputs.schools, W, inputs.rubric, standard_rate=Decimal("5.00"))
    assert explained(session, again) == [score.to_dict(audit=True) for score in expected]


def test_after_a_correction_only_that_school_is_rescored_and_nothing_is_stale(
    session: Any, seeded: dict[str, int]
) -> None:
    ranking.compute_ranking(session, "610528", W, trigger="warm")
    old = seeded["6105280001:2026-09"]
    misses = parts().misses
    parsed = reports_parsed()
    newer = submit(
        session,
        "6105280001",
        "2026-09",
        enrollment={"students": 805, "boarders": 201, "staff": 58, "logistics_staff": 7},
    )
    cached = ranking.compute_ranking(session, "610528", W, trigger="cached")
    assert parts().misses == misses + 1  # one school's part recomputed
    # only that school's reports were parsed: its six months (and its carry-over basis, if any)
    assert reports_parsed() - parsed <= 7
    row = snapshots.school_view(session, cached, "6105280001")
    used = {rid for ind in row["indicators"] for rid in ind["revision_ids"]}
    assert newer in used and old not in used
    _same(cached, _fresh(session))


def test_after_an_inspection_the_cached_recompute_equals_a_fresh_one(session: Any, seeded: dict[str, int]) -> None:
    ranking.compute_ranking(session, "610528", W, trigger="warm")
    misses = parts().misses
    insp = inspections.record_inspection(
        session, "6105280002", date="2026-10-20", score="3.5", inspector="后勤科", actor="t"
    )
    cached = ranking.compute_ranking(session, "610528", W, trigger="cached")
    assert parts().misses == misses + 1
    b2 = indicator(session, cached, "6105280002", "B2")
    assert b2["inputs"]["inspection id"] == str(insp.id) and b2["inputs"]["inspection score"] == "3.5"
    _same(cached, _fresh(session))


def test_a_new_energy_report_rescores_f1_against_the_new_medians(session: Any, seeded: dict[str, int]) -> None:
    before = ranking.compute_ranking(session, "610528", W, trigger="warm")
    # F1 (against the county's medians) is recomputed for every school, even those whose parts are reused
    energy = {"electricity_kwh": "90000.0", "water_m3": "9000.0", "gas_m3": "0.0"}
    submit(session, "6105280002", "2026-10", energy=energy)
    cached = ranking.compute_ranking(session, "610528", W, trigger="cached")
    _same(cached, _fresh(session))

    def f1(snapshot: RankingSnapshot) -> dict[str, str]:
        return indicator(session, snapshot, "6105280002", "F1")["inputs"]

    assert f1(cached) != f1(before)


def test_the_caches_are_content_addressed(session: Any, seeded: dict[str, int]) -> None:
    """The same revision id with other stored figures (another database, as the tests make many) is not served
    the part cached for the first figures: that school is scored again, and the ranking is the one from nothing."""
    from district.reports.figures import figures_json
    from district.reports.models import ReportHead

    def electricity(snapshot: RankingSnapshot) -> str:
        return indicator(session, snapshot, "6105280002", "F1")["inputs"]["Σ electricity_kwh"]

    assert electricity(ranking.compute_ranking(session, "610528", W, trigger="a")) == "175878"  # 6 × 29313.0
    misses = parts().misses
    # 0002's October revision keeps its id but has other energy figures (the other database's revision)
    head = session.get(ReportHead, ("6105280002", "2026-10"))
    other = report(
        "6105280002", "2026-10", energy={"electricity_kwh": "90000.0", "water_m3": "9000.0", "gas_m3": "0.0"}
    )
    head.figures = figures_json(other)
    session.flush()
    second = ranking.compute_ranking(session, "610528", W, trigger="b")
    assert parts().misses == misses + 1  # that one school, not the cached part
    assert electricity(second) == "236565"  # + 60687.0 in October
    _same(second, _fresh(session))
