"""Fixtures of the 营养餐 tests: plain report dicts shaped as the standard defines them and a five-school county
for the pure engine (no database); at the end, the same kind of county in the database, its reports submitted
through the signed API (``fund_county``, ``fund_agents``, ``submit``, ``fund_scenario``)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from district.nutrition.anomalies import Anomaly, month_anomalies
from district.nutrition.engine import FundMonth, FundReport, FundSchool, build_fund_report
from district.reports.figures import ReportFigures
from houqin_standard import STANDARD_ID_2
from tests.factories import EXAMPLE, report_figures

# The example's sections other than nutrition (tests/factories.py: the repository's one copy of the spec's example).
BASE_REPORT: dict[str, Any] = {k: v for k, v in EXAMPLE.items() if k != "nutrition"}

# A clean month: no anomaly. 500.00 + 10000.00 − 9750.00 − 0.00 = 750.00; 1950 × 5.00 = 9750.00;
# 1950 ≤ 100 × 20; 750.00 ≤ 0.10 × 10500.00 = 1050.00.
CLEAN_NUTRITION: dict[str, Any] = {
    "participating": True,
    "eligible_students": 100,
    "meal_days": 20,
    "meals_served": 1950,
    "subsidy_rate": "5.00",
    "opening_balance": "500.00",
    "funds_received": "10000.00",
    "food_spend": "9750.00",
    "other_spend": "0.00",
    "closing_balance": "750.00",
    "supply_mode": "canteen",
    "accompany_meal_days": 20,
    "menu_published_weeks": 4,
}


def build_report(
    school_code: str = "6105280001",
    period: str = "2026-09",
    *,
    participating: bool = True,
    sample_retention_days: int | None = None,
    students: int = 120,
    water_m3: str = "100.0",
    electricity_kwh: str = "1200.0",
    stock: dict[str, Any] | None = None,
    **nutrition: Any,
) -> dict[str, Any]:
    """A report of the example's shape; ``nutrition`` overrides fields of CLEAN_NUTRITION. ``stock``: the
    month sent in @2 with this ``canteen_stock`` section (the engine reads nothing else of @2)."""
    report = copy.deepcopy(BASE_REPORT)
    report["school_code"] = school_code
    report["period"] = period
    report["enrollment"]["students"] = students
    report["energy"]["water_m3"] = water_m3
    report["energy"]["electricity_kwh"] = electricity_kwh
    if participating:
        report["nutrition"] = {**copy.deepcopy(CLEAN_NUTRITION), **nutrition}
        days = report["nutrition"]["meal_days"]
        report["food_safety"]["sample_retention_days"] = (
            days if sample_retention_days is None else sample_retention_days
        )
    else:
        report["nutrition"] = {"participating": False}
        report["food_safety"]["sample_retention_days"] = sample_retention_days or 0
    if stock is not None:
        report["standard"] = STANDARD_ID_2
        report["canteen_stock"] = dict(stock)
    return report


def stock_section(opening: str, purchases: str, closing: str, checked: bool = True) -> dict[str, Any]:
    """A ``canteen_stock`` section (STANDARD-v2.md)."""
    return {
        "opening_stock_value": opening,
        "purchases": purchases,
        "closing_stock_value": closing,
        "stock_checked": checked,
    }


@pytest.fixture
def make_report() -> Callable[..., dict[str, Any]]:
    return build_report


@pytest.fixture
def example_report() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


@pytest.fixture
def make_month() -> Callable[..., FundMonth]:
    return month


@pytest.fixture
def make_not_participating() -> Callable[[str, str], FundMonth]:
    return not_participating


# ---------------------------------------------------------------------------------------------------------
# A county of five schools over three months (富平县 610528, 2026-09..2026-11, standard rate 5.00).

WINDOW = ["2026-09", "2026-10", "2026-11"]
GENERATED = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai


def month(
    code: str,
    period: str,
    *,
    days: int,
    eligible: int,
    meals: int,
    opening: str,
    received: str,
    food: str,
    closing: str,
    rate: str = "5.00",
    other: str = "0.00",
    mode: str = "canteen",
    accompany: int | None = None,
    sample: int | None = None,
    revision_id: int = 0,
) -> FundMonth:
    report = build_report(
        code,
        period,
        sample_retention_days=sample,
        eligible_students=eligible,
        meal_days=days,
        meals_served=meals,
        subsidy_rate=rate,
        opening_balance=opening,
        funds_received=received,
        food_spend=food,
        other_spend=other,
        closing_balance=closing,
        supply_mode=mode,
        accompany_meal_days=days if accompany is None else accompany,
    )
    return FundMonth(period, revision_id or int(code[-2:]) * 100 + int(period[-2:]), ReportFigures.from_content(report))


def not_participating(code: str, period: str) -> FundMonth:
    report = build_report(code, period, participating=False)
    return FundMonth(period, int(code[-2:]) * 100 + int(period[-2:]), ReportFigures.from_content(report))


def anomalies_of(
    report: Mapping[str, Any],
    previous_participating: Mapping[str, Any] | None = None,
    *,
    standard_rate: Decimal = Decimal("5.00"),
    previous_stock: Mapping[str, Any] | None = None,
) -> list[Anomaly]:
    """``month_anomalies`` of parsed reports, each read as a loader reads a content (``ReportFigures.from_content``)."""
    return month_anomalies(
        ReportFigures.from_content(report),
        report_figures(previous_participating),
        standard_rate=standard_rate,
        previous_stock=report_figures(previous_stock),
    )


def previous(code: str, closing: str) -> ReportFigures:
    return ReportFigures.from_content(build_report(code, "2026-07", closing_balance=closing))


A, B, C, D, E = (f"610528000{i}" for i in range(1, 6))


def county_schools() -> list[FundSchool]:
    return [
        # A 庄里镇 canteen; previous closing 500.00 carries over.
        # 09: 500.00 + 10000.00 − 9750.00 = 750.00; 1950×5 = 9750.00 clean
        # 10: 750.00 + 11000.00 − 10750.00 = 1000.00; 2150×5 = 10750.00; 1000.00 ≤ 0.10×11750.00 = 1175.00
        # 11: 1000.00 + 10500.00 − 9800.00 = 1700.00 > 0.10×11500.00 = 1150.00 → HIGH_BALANCE
        FundSchool(
            A,
            "庄里镇中心小学",
            "primary",
            "庄里镇",
            None,
            [
                month(A, "2026-09", days=20, eligible=100, meals=1950, opening="500.00",
                      received="10000.00", food="9750.00", closing="750.00"),
                month(A, "2026-10", days=22, eligible=100, meals=2150, opening="750.00",
                      received="11000.00", food="10750.00", closing="1000.00"),
                month(A, "2026-11", days=21, eligible=100, meals=2000, opening="1000.00",
                      received="10500.00", food="9800.00", closing="1700.00"),
            ],
            previous(A, "500.00"),
            WINDOW,
        ),
        # B 庄里镇 enterprise; October not participating.
        # 09: 0.00 + 20000.00 − 20000.00 = 0.00 clean (4000 = 200×20; 20000.00 = 4000×5)
        # 11: 100.00 + 21000.00 − 20500.00 − 500.00 = 100.00 balanced; other 500.00 → MISUSE;
        #     opening 100.00 ≠ September's closing 0.00 (across October) → CARRY_OVER_MISMATCH;
        #     accompany 15 < 21 → ACCOMPANY_GAP
        FundSchool(
            B,
            "庄里镇初级中学",
            "junior",
            "庄里镇",
            "enterprise",
            [
                month(B, "2026-09", days=20, eligible=200, meals=4000, opening="0.00",
                      received="20000.00", food="20000.00", closing="0.00", mode="enterprise"),
                not_participating(B, "2026-10"),
                month(B, "2026-11", days=21, eligible=200, meals=4100, opening="100.00",
                      received="21000.00", food="20500.00", other="500.00", closing="100.00",
                      mode="enterprise", accompany=15),
            ],
            previous(B, "0.00"),
            WINDOW,
        ),
        # C 庄里镇 teaching point; no report for October; no report before the window.
        # 09: rate 4.00 → NONSTANDARD_RATE; 0.00 + 2400.00 − 2400.00 = 0.00; 600×4.00 = 2400.00
        # 11: 650 > 30×21 = 630 → MEALS_EXCEED_ENTITLEMENT; samples 18 < 21 → SAMPLE_GAP;
        #     0.00 + 3150.00 − 3000.00 = 150.00 ≤ 315.00; opening 0.00 = September's closing (across October)
        FundSchool(
            C,
            "庄里镇东村教学点",
            "teaching_point",
            "庄里镇",
            None,
            [
                month(C, "2026-09", days=20, eligible=30, meals=600, opening="0.00",
                      received="2400.00", food="2400.00", closing="0.00", rate="4.00"),
                month(C, "2026-11", days=21, eligible=30, meals=650, opening="0.00",
                      received="3150.00", food="3000.00", closing="150.00", sample=18),
            ],
            None,
            WINDOW,
        ),
        # D 城关镇, canteen in September, enterprise from October (latest: enterprise).
        # 09: 1000.00 + 30000.00 − 29000.00 = 2000.00 clean
        # 10: 2000.00 + 33000.00 − 33000.00 = 2000.00 ≠ 2100.00 → BALANCE_MISMATCH (difference 100.00)
        # 11: opening 2000.00 ≠ October's closing 2100.00 → CARRY_OVER_MISMATCH (difference −100.00);
        #     2000.00 + 31500.00 − 31500.00 = 2000.00
        FundSchool(
            D,
            "城关镇第一小学",
            "primary",
            "城关镇",
            None,
            [
                month(D, "2026-09", days=20, eligible=300, meals=6000, opening="1000.00",
                      received="30000.00", food="29000.00", closing="2000.00"),
                month(D, "2026-10", days=22, eligible=300, meals=6600, opening="2000.00",
                      received="33000.00", food="33000.00", closing="2100.00", mode="enterprise"),
                month(D, "2026-11", days=21, eligible=300, meals=6300, opening="2000.00",
                      received="31500.00", food="31500.00", closing="2000.00", mode="enterprise"),
            ],
            previous(D, "1000.00"),
            WINDOW,
        ),
        # E 城关镇: not in the programme; no report for November.
        FundSchool(
            E,
            "城关镇中学",
            "junior",
            "城关镇",
            "canteen",
            [not_participating(E, "2026-09"), not_participating(E, "2026-10")],
            None,
            WINDOW,
        ),
    ]  # fmt: skip


@pytest.fixture
def county_report() -> FundReport:
    """富平县 2026-09..2026-11: five schools, hand-computed in test_nutrition_engine.py."""
    return build_fund_report(
        "610528",
        "富平县",
        "2026-09",
        "2026-11",
        county_schools(),
        standard_rate=Decimal("5.00"),
        generated_at=GENERATED,
    )


# ---------------------------------------------------------------------------------------------------------
# The same kind of county in the database, every report submitted through the signed API (tests/conftest.py's
# ``county``: 富平县 610528 with 0001, 0002 in 庄里镇, 0003 closed 2026-06-30 and 0004 opened 2026-10-01 in
# 城关街道; this adds 0005 in 城关街道 and 0006 in 庄里镇). Hand-computed in test_nutrition_services.py.

FUND_SCHOOLS = ("6105280001", "6105280002", "6105280004", "6105280005", "6105280006")


@pytest.fixture
def fund_county(session: Any, county: Any) -> Any:
    from district.registry.models import School, Township

    townships = {t.name: t.id for t in session.query(Township).filter_by(county_code="610528")}
    session.add_all(
        [
            School(code="6105280005", name="城关第二小学", county_code="610528",
                   township_id=townships["城关街道"], type="primary", boarding=False),
            School(code="6105280006", name="庄里镇东村教学点", county_code="610528",
                   township_id=townships["庄里镇"], type="teaching_point", boarding=False),
        ]
    )  # fmt: skip
    session.flush()
    return county


@pytest.fixture
def fund_agents(app: Any, client: Any, session: Any, fund_county: Any) -> dict[str, Any]:
    """A signed agent (tests/conftest.py SignedClient) for each of the five reporting schools."""
    from district.registry.crypto import SecretBox
    from district.registry.services import issue_credential
    from tests.conftest import SignedClient

    box = SecretBox(app.config["SERVER_KEY_FILE"])
    return {code: SignedClient(client, code, issue_credential(session, box, code)) for code in FUND_SCHOOLS}


@pytest.fixture
def submit(fund_agents: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """``submit(code, period, **nutrition)``: a report of ``build_report``'s shape through POST /api/v1/reports;
    returns the receipt. ``participating=False`` and ``sample_retention_days=`` as ``build_report``."""
    import uuid

    def post(code: str, period: str, **fields: Any) -> dict[str, Any]:
        report = build_report(code, period, students=1000, **fields)
        report["report_id"] = str(uuid.uuid4())
        report["hazards"] = []
        resp = fund_agents[code].post_report(report)
        assert resp.status_code == 201, resp.json
        return resp.json  # type: ignore[no-any-return]

    return post


def fund(
    days: int,
    eligible: int,
    meals: int,
    opening: str,
    received: str,
    food: str,
    closing: str,
    *,
    rate: str = "5.00",
    other: str = "0.00",
    mode: str = "canteen",
    accompany: int | None = None,
    sample: int | None = None,
) -> dict[str, Any]:
    """``submit`` keywords for a participating month (accompanied meals and samples on every day unless given)."""
    return {
        "eligible_students": eligible,
        "meal_days": days,
        "meals_served": meals,
        "subsidy_rate": rate,
        "opening_balance": opening,
        "funds_received": received,
        "food_spend": food,
        "other_spend": other,
        "closing_balance": closing,
        "supply_mode": mode,
        "accompany_meal_days": days if accompany is None else accompany,
        "sample_retention_days": sample,
    }


@pytest.fixture
def fund_scenario(submit: Callable[..., dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """富平县 2026-09..2026-11 in the database; returns the receipts by (school, period) of the effective ones.

    Every month's figures are checked by hand in the comments; the window's table is in
    test_nutrition_services.py.
    """
    s1, s2, s4, s5, s6 = FUND_SCHOOLS
    receipts: dict[tuple[str, str], dict[str, Any]] = {}

    def send(code: str, period: str, **fields: Any) -> None:
        receipts[(code, period)] = submit(code, period, **fields)

    # Before the window (the carry-over basis of each school's first participating month in it).
    send(s1, "2026-06", **fund(20, 100, 1950, "300.00", "10000.00", "9800.00", "500.00"))
    send(s2, "2026-06", **fund(20, 200, 4000, "0.00", "20000.00", "20000.00", "0.00", mode="enterprise"))
    send(s5, "2026-05", **fund(20, 30, 600, "0.00", "2600.00", "2400.00", "200.00"))
    send(s5, "2026-06", participating=False)  # the carry-over looks past it, to May
    send(s6, "2026-06", participating=False)

    # 0001 庄里镇 canteen. 09: 500.00 (June) + 10000.00 − 9750.00 = 750.00; 1950 × 5.00 = 9750.00: clean.
    send(s1, "2026-09", **fund(20, 100, 1950, "500.00", "10000.00", "9750.00", "750.00"))
    # 10, revision 1: 750.00 + 11000.00 − 10700.00 = 1050.00 ≠ 1000.00 (BALANCE_MISMATCH) ...
    send(s1, "2026-10", **fund(22, 100, 2150, "750.00", "11000.00", "10700.00", "1000.00"))
    # ... corrected by revision 2: 750.00 + 11000.00 − 10750.00 = 1000.00; 1000.00 ≤ 0.10 × 11750.00: clean.
    send(s1, "2026-10", **fund(22, 100, 2150, "750.00", "11000.00", "10750.00", "1000.00"))
    # 11: 1000.00 + 10500.00 − 9800.00 = 1700.00 > 0.10 × 11500.00 = 1150.00 → HIGH_BALANCE.
    send(s1, "2026-11", **fund(21, 100, 2000, "1000.00", "10500.00", "9800.00", "1700.00"))

    # 0002 庄里镇 enterprise. 09: 0.00 + 20000.00 − 20000.00 = 0.00; 4000 = 200 × 20: clean.
    send(s2, "2026-09", **fund(20, 200, 4000, "0.00", "20000.00", "20000.00", "0.00", mode="enterprise"))
    send(s2, "2026-10", participating=False)
    # 11: 100.00 + 21000.00 − 20500.00 − 500.00 = 100.00 balanced; other 500.00 → MISUSE; opening 100.00 ≠
    #     September's closing 0.00 (across October) → CARRY_OVER_MISMATCH; accompanied 15 < 21 → ACCOMPANY_GAP.
    send(s2, "2026-11", **fund(21, 200, 4100, "100.00", "21000.00", "20500.00", "100.00", other="500.00",
                               mode="enterprise", accompany=15))  # fmt: skip

    # 0004 城关街道 mixed, opened 2026-10-01 (not expected in September). 10: 0.00 + 33000.00 − 33000.00 = 0.00 ≠
    #     100.00 → BALANCE_MISMATCH. 11: opening 0.00 ≠ October's closing 100.00 → CARRY_OVER_MISMATCH.
    send(s4, "2026-10", **fund(22, 300, 6600, "0.00", "33000.00", "33000.00", "100.00", mode="mixed"))
    send(s4, "2026-11", **fund(21, 300, 6300, "0.00", "31500.00", "31500.00", "0.00", mode="mixed"))

    # 0005 城关街道 canteen. 09: rate 4.00 → NONSTANDARD_RATE; 200.00 (May) + 2400.00 − 2400.00 = 200.00;
    #     2400.00 = 600 × 4.00; 200.00 ≤ 0.10 × 2600.00 = 260.00. No October report.
    send(s5, "2026-09", **fund(20, 30, 600, "200.00", "2400.00", "2400.00", "200.00", rate="4.00"))
    # 11: 650 > 30 × 21 = 630 → MEALS_EXCEED_ENTITLEMENT; samples 18 < 21 → SAMPLE_GAP;
    #     200.00 + 3150.00 − 3150.00 = 200.00 ≤ 0.10 × 3350.00 = 335.00; 3150.00 ≤ 650 × 5.00 = 3250.00.
    send(s5, "2026-11", **fund(21, 30, 650, "200.00", "3150.00", "3150.00", "200.00", sample=18))

    # 0006 庄里镇: not in the programme; no November report.
    send(s6, "2026-09", participating=False)
    send(s6, "2026-10", participating=False)
    return receipts
