"""The stock anomalies of a month sent in @2 (SCORING.md "Additions for houqin/monthly-report@2", issue 20 item 3)
in the one fund engine, and the fund report's stock columns (JSON, xlsx, PDF). Every figure is computed by hand
in the comments."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from district.nutrition.anomalies import Anomaly, chain_anomaly_codes
from district.nutrition.engine import FundMonth, FundSchool, build_fund_report
from district.reports.figures import ReportFigures
from houqin_standard import STANDARD_ID, STANDARD_ID_2
from houqin_standard.prechecks import precheck
from tests.district.dashboard.conftest import other_county as other_county  # the page test's fixtures
from tests.district.dashboard.conftest import users as _dashboard_users  # noqa: F401
from tests.district.nutrition.conftest import GENERATED, anomalies_of, build_report, fund, stock_section
from tests.district.nutrition.fund_checks import pdftotext

STOCK = ("SPEND_EXCEEDS_CONSUMPTION", "STOCK_CARRY_OVER_MISMATCH", "STOCK_NOT_CHECKED")


def codes(found: list[Anomaly]) -> list[str]:
    return [a.code for a in found]


def stock_codes(found: list[Anomaly]) -> list[str]:
    return [a.code for a in found if a.code in STOCK]


# ------------------------------------------------------------------------------------------------ one month


@pytest.mark.parametrize(
    ("purchases", "fires"),
    [
        # food_spend 9750.00 (CLEAN_NUTRITION); consumed = 100.00 + purchases − 100.00 = purchases
        ("9750.00", False),  # equal
        ("9749.99", False),  # 0.01 over: within the (+ 0.01)
        ("9749.98", True),  # 0.02 over
        ("9800.00", False),  # more consumed than spent
    ],
)
def test_spend_exceeds_consumption_at_its_tolerance(purchases: str, fires: bool) -> None:
    report = build_report(stock=stock_section("100.00", purchases, "100.00"))
    assert codes(anomalies_of(report, None)) == (["SPEND_EXCEEDS_CONSUMPTION"] if fires else [])


def test_spend_exceeds_consumption_in_words() -> None:
    # 1,000.00 + 8,000.00 − 240.00 = 8,760.00 consumed; 9,750.00 spent; 990.00 more
    [a] = anomalies_of(build_report(stock=stock_section("1000.00", "8000.00", "240.00")), None)
    assert a.to_dict() == {
        "school_code": "6105280001",
        "period": "2026-09",
        "code": "SPEND_EXCEEDS_CONSUMPTION",
        "message": "补助支出超过食材消耗：食材支出 9750.00 > 食材消耗 1000.00 + 8000.00 − 240.00 = 8760.00",
        "figures": {
            "food_spend": "9750.00",
            "opening_stock_value": "1000.00",
            "purchases": "8000.00",
            "closing_stock_value": "240.00",
            "consumed": "8760.00",
            "difference": "990.00",
        },
        "sentence": "补助食材支出 9,750.00 元，超过本月实际消耗的食材 8,760.00 元（上月末库存 1,000.00 元 + 本月采购"
        " 8,000.00 元 − 本月末盘存 240.00 元），相差 990.00 元",
    }


@pytest.mark.parametrize(
    ("opening", "fires"),
    [("50.00", False), ("50.01", False), ("49.99", False), ("50.02", True), ("49.98", True)],
)
def test_stock_carry_over_at_its_tolerance(opening: str, fires: bool) -> None:
    # August (sent in @2) closed its stock at 50.00; consumed in September = opening + 9750.00 − opening = 9750.00
    august = build_report(period="2026-08", closing_balance="500.00", stock=stock_section("0.00", "9800.00", "50.00"))
    september = build_report(stock=stock_section(opening, "9750.00", opening))
    found = anomalies_of(september, august, previous_stock=august)
    assert codes(found) == (["STOCK_CARRY_OVER_MISMATCH"] if fires else [])
    if fires:
        assert found[0].figures == {
            "opening_stock_value": opening,
            "previous_period": "2026-08",
            "previous_closing_stock_value": "50.00",
            "difference": f"{Decimal(opening) - Decimal('50.00'):.2f}",
        }
        assert found[0].zh == f"库存结转不符：上月末库存 {opening} ≠ 2026-08 本月末盘存 50.00"
        assert found[0].sentence() == (
            f"上月末库存 {opening} 元，与2026年8月报表的本月末盘存 50.00 元不一致，相差 0.02 元"
        )


def test_stock_not_checked_fires_exactly_when_not_counted() -> None:
    counted = build_report(stock=stock_section("0.00", "9750.00", "0.00", checked=True))
    not_counted = build_report(stock=stock_section("0.00", "9750.00", "0.00", checked=False))
    assert anomalies_of(counted, None) == []
    [a] = anomalies_of(not_counted, None)
    assert (a.code, a.zh) == ("STOCK_NOT_CHECKED", "未盘点：本月未盘点食材库存")
    assert a.sentence() == "本月没有对食堂食材库存进行月底盘点"


def test_a_v1_month_has_no_stock_anomaly_and_no_stock_basis_is_nothing_to_compare() -> None:
    august = build_report(period="2026-08", closing_balance="500.00", stock=stock_section("0.00", "9800.00", "50.00"))
    v1 = build_report()  # the same clean month in @1: its stock is not reported
    assert anomalies_of(v1, august, previous_stock=august) == []
    # sent in @2 with no earlier @2 month: nothing to compare the opening stock with
    assert anomalies_of(build_report(stock=stock_section("999.00", "9750.00", "999.00")), None) == []


def test_a_stock_basis_that_is_not_a_v2_month_is_a_caller_s_error() -> None:
    august_v1 = build_report(period="2026-08")
    with pytest.raises(ValueError, match="canteen_stock"):
        anomalies_of(build_report(stock=stock_section("0.00", "9750.00", "0.00")), None, previous_stock=august_v1)


def test_the_agent_s_precheck_warns_of_the_report_only_stock_rules() -> None:
    # 40.00 + 9000.00 − 100.00 = 8940.00 consumed < 9750.00; not counted. The carry-over needs history: not here.
    content = build_report(stock=stock_section("40.00", "9000.00", "100.00", checked=False))
    found = precheck(content)
    assert [(f["code"], f["path"]) for f in found] == [
        ("SPEND_EXCEEDS_CONSUMPTION", "/nutrition/food_spend"),
        ("STOCK_NOT_CHECKED", "/canteen_stock/stock_checked"),
    ]
    assert found[0]["figures"]["difference"] == "810.00"
    assert found[0]["paths"] == [
        "/nutrition/food_spend",
        "/canteen_stock/opening_stock_value",
        "/canteen_stock/purchases",
        "/canteen_stock/closing_stock_value",
    ]


# ------------------------------------------------------------------------------------------------ the fund report

# 0001, 2026-09..2026-11 (hand check):
#   June (before the window, @2): closing balance 500.00, closing stock 80.00
#   09 @2: 500.00 + 10000.00 − 9750.00 = 750.00 clean; stock 80.00 + 9800.00 − 130.00 = 9750.00 = food spend
#   10 @1: 750.00 + 10000.00 − 9750.00 = 1000.00 clean (1000.00 ≤ 0.10 × 10750.00); no stock
#   11 @2: 1000.00 + 9750.00 − 9750.00 = 1000.00 clean; stock 100.00 + 9700.00 − 60.00 = 9740.00 < 9750.00 by 10.00
#          → SPEND_EXCEEDS_CONSUMPTION; opening stock 100.00 ≠ September's 130.00 (October is @1, skipped)
#          → STOCK_CARRY_OVER_MISMATCH (−30.00); not counted → STOCK_NOT_CHECKED
#   stock: opening 80.00 (September's), purchases 9800.00 + 9700.00 = 19500.00, closing 60.00 (November's),
#   consumed 9750.00 + 9740.00 = 19490.00
# 0002 (@1 only), 09: 0.00 + 20000.00 − 20000.00 = 0.00 clean; its stock is not reported (null).


def _a_months() -> tuple[ReportFigures, list[FundMonth]]:
    F = ReportFigures.from_content
    june = F(build_report(period="2026-06", closing_balance="500.00", stock=stock_section("0.00", "9830.00", "80.00")))
    months = [
        FundMonth("2026-09", 1, F(build_report(stock=stock_section("80.00", "9800.00", "130.00")))),
        FundMonth("2026-10", 2, F(build_report(period="2026-10", opening_balance="750.00", closing_balance="1000.00"))),
        FundMonth(
            "2026-11",
            3,
            F(build_report(
                period="2026-11", opening_balance="1000.00", funds_received="9750.00", closing_balance="1000.00",
                stock=stock_section("100.00", "9700.00", "60.00", checked=False),
            )),
        ),
    ]  # fmt: skip
    return june, months


def _report(with_a: bool = True) -> Any:
    june, months = _a_months()
    schools = [
        FundSchool(
            "6105280002", "庄里镇中心小学", "primary", "庄里镇", None,
            [FundMonth("2026-09", 4, ReportFigures.from_content(build_report(
                "6105280002", eligible_students=200, meals_served=4000, opening_balance="0.00",
                funds_received="20000.00", food_spend="20000.00", closing_balance="0.00", meal_days=20)))],
            None, ["2026-09", "2026-10", "2026-11"],
        ),
    ]  # fmt: skip
    if with_a:
        periods = ["2026-09", "2026-10", "2026-11"]
        schools.append(
            FundSchool(
                "6105280001", "庄里镇第一小学", "primary", "庄里镇", None, months, june, periods, previous_stock=june
            )
        )
    return build_fund_report("610528", "富平县", "2026-09", "2026-11", schools, standard_rate=Decimal("5.00"),
                             generated_at=GENERATED)  # fmt: skip


def test_the_stock_anomalies_and_columns_of_a_window_with_v2_months() -> None:
    data = _report().to_dict()
    assert data["standard"] == STANDARD_ID_2 and data["stock"] is True
    assert [(a["school_code"], a["period"], a["code"]) for a in data["anomalies"]] == [
        ("6105280001", "2026-11", code) for code in STOCK
    ]
    carry = data["anomalies"][1]
    assert carry["figures"] == {
        "opening_stock_value": "100.00",
        "previous_period": "2026-09",  # across October, sent in @1
        "previous_closing_stock_value": "130.00",
        "difference": "-30.00",
    }
    assert data["anomalies"][0]["figures"]["difference"] == "10.00"
    assert data["anomaly_counts"]["SPEND_EXCEEDS_CONSUMPTION"] == 1
    assert data["anomaly_counts"]["STOCK_NOT_CHECKED"] == 1
    a_row, b_row = data["schools"]
    stock_a = {k: a_row[k] for k in ("stock_months", "opening_stock_value", "stock_purchases",
                                     "closing_stock_value", "stock_consumed")}  # fmt: skip
    assert stock_a == {
        "stock_months": 2,
        "opening_stock_value": "80.00",
        "stock_purchases": "19500.00",
        "closing_stock_value": "60.00",
        "stock_consumed": "19490.00",
    }
    assert all(b_row[k] is None for k in stock_a)  # @1 only: not reported, never 0
    for total in (data["townships"][0], data["county"], data["supply_modes"][0]):
        assert {k: total[k] for k in stock_a} == stock_a


def test_a_window_of_v1_months_has_no_stock_columns_at_all() -> None:
    data = _report(with_a=False).to_dict()
    assert data["standard"] == STANDARD_ID and data["stock"] is False
    for row in (*data["schools"], *data["townships"], data["county"]):
        assert not any(k.startswith("stock_") or k.endswith("_stock_value") for k in row), row
    assert not set(STOCK) & set(data["anomaly_counts"])  # not reported: not counted as 0 either


def test_scoring_s_chain_finds_the_same_codes_from_figures() -> None:
    june, months = _a_months()
    found = chain_anomaly_codes([m.figures for m in months], june, previous_stock=june)
    assert found == [[], [], list(STOCK)]
    # only the codes asked for; without the stock basis before the window September has nothing to compare
    only = chain_anomaly_codes([m.figures for m in months], None, only=("STOCK_CARRY_OVER_MISMATCH",))
    assert only == [[], [], ["STOCK_CARRY_OVER_MISMATCH"]]


# ------------------------------------------------------------------------------------------------ in the database


def _v2(report: dict[str, Any], stock: dict[str, Any]) -> dict[str, Any]:
    """``report`` sent in @2: its stock, the kitchen on every meal day, no calendar task, an empty suggestion box."""
    out = copy.deepcopy(report)
    days = out["nutrition"]["meal_days"]
    out["standard"] = STANDARD_ID_2
    out["canteen_stock"] = stock
    out["kitchen"] = {"morning_check_days": days, "tableware_disinfection_days": days, "tasting_days": days}
    out["calendar"] = {"tasks": []}
    out["feedback_box"] = {"received": 0, "answered": 0}
    return out


@pytest.fixture
def send(fund_agents: dict[str, Any]) -> Callable[..., None]:
    def post(code: str, period: str, stock: dict[str, Any] | None = None, **fields: Any) -> None:
        report = build_report(code, period, students=1000, **fields)
        if stock is not None:
            report = _v2(report, stock)
        report["report_id"] = str(uuid.uuid4())
        report["hazards"] = []
        resp = fund_agents[code].post_report(report)
        assert resp.status_code == 201, resp.json

    return post


@pytest.fixture
def stock_scenario(send: Callable[..., None]) -> None:
    """0001 (hand check): June @2 closes its stock at 50.00. 09 @2: 500.00 + 10000.00 − 9750.00 = 750.00; stock
    50.00 + 9800.00 − 100.00 = 9750.00 = food spend: clean. 10 @1: 750.00 + 11000.00 − 10750.00 = 1000.00 clean.
    11 @2: 1000.00 + 10000.00 − 10000.00 = 1000.00; stock 120.00 + 10000.00 − 130.00 = 9990.00 < 10000.00 by 10.00
    → SPEND_EXCEEDS_CONSUMPTION; opening stock 120.00 ≠ September's closing 100.00 (October is @1) →
    STOCK_CARRY_OVER_MISMATCH (20.00); not counted → STOCK_NOT_CHECKED. 0002: @1, 09 clean."""
    s1, s2 = "6105280001", "6105280002"
    send(s1, "2026-06", stock_section("0.00", "9850.00", "50.00"),
         **fund(20, 100, 1950, "300.00", "10000.00", "9800.00", "500.00"))  # fmt: skip
    send(s1, "2026-09", stock_section("50.00", "9800.00", "100.00"),
         **fund(20, 100, 1950, "500.00", "10000.00", "9750.00", "750.00"))  # fmt: skip
    send(s1, "2026-10", **fund(22, 100, 2150, "750.00", "11000.00", "10750.00", "1000.00"))
    send(s1, "2026-11", stock_section("120.00", "10000.00", "130.00", checked=False),
         **fund(21, 100, 2000, "1000.00", "10000.00", "10000.00", "1000.00"))  # fmt: skip
    send(s2, "2026-09", **fund(20, 200, 4000, "0.00", "20000.00", "20000.00", "0.00", mode="enterprise"))


def _stock_anomalies(session: Any, period_from: str, period_to: str) -> list[tuple[str, str, str, str | None]]:
    from district.nutrition.services import fund_report

    report = fund_report(session, "610528", period_from, period_to)
    return [
        (a.school_code, a.period, a.code, a.figures.get("previous_period")) for a in report.anomalies if a.code in STOCK
    ]


def test_the_carry_over_skips_a_v1_month_in_and_before_the_window(session: Any, stock_scenario: None) -> None:
    expected = [
        ("6105280001", "2026-11", "SPEND_EXCEEDS_CONSUMPTION", None),
        ("6105280001", "2026-11", "STOCK_CARRY_OVER_MISMATCH", "2026-09"),
        ("6105280001", "2026-11", "STOCK_NOT_CHECKED", None),
    ]
    assert _stock_anomalies(session, "2026-09", "2026-11") == expected  # September in the window
    # November alone: the previous participating report is October (@1), the stock basis September (@2)
    assert _stock_anomalies(session, "2026-11", "2026-11") == expected
    # September's basis before the window is June (its closing stock 50.00 = September's opening): nothing
    assert _stock_anomalies(session, "2026-09", "2026-09") == []


def test_the_agent_s_feedback_and_the_review_queue_show_the_stock_anomalies(session: Any, stock_scenario: None) -> None:
    from district.api.feedback import school_feedback
    from district.registry.models import School
    from district.review.services import review_queue

    school = session.get(School, "6105280001")
    feedback = school_feedback(session, school, "2026-11")
    assert [a["code"] for a in feedback["fund_anomalies"]] == list(STOCK)
    assert feedback["fund_anomalies"][1]["figures"]["previous_period"] == "2026-09"
    assert feedback["fund_anomalies"][1]["sentence"] == (
        "上月末库存 120.00 元，与2026年9月报表的本月末盘存 100.00 元不一致，相差 20.00 元"
    )
    assert school_feedback(session, school, "2026-10")["fund_anomalies"] == []  # @1: no stock anomaly
    queued = {(i.school_code, i.period): i for i in review_queue(session, "610528")}
    assert [a["code"] for a in queued[("6105280001", "2026-11")].fund_anomalies] == list(STOCK)


def test_a_correction_from_v1_to_v2_brings_the_stock_rules_in(
    session: Any, stock_scenario: None, send: Callable[..., None]
) -> None:
    # October corrected in @2: stock 110.00 + 10740.00 − 100.00 = 10750.00 = food spend; opening 110.00 ≠
    # September's closing 100.00 → STOCK_CARRY_OVER_MISMATCH (10.00). November's basis is now October (100.00):
    # 120.00 ≠ 100.00, still 20.00, from 2026-10.
    send("6105280001", "2026-10", stock_section("110.00", "10740.00", "100.00"),
         **fund(22, 100, 2150, "750.00", "11000.00", "10750.00", "1000.00"))  # fmt: skip
    assert _stock_anomalies(session, "2026-09", "2026-11") == [
        ("6105280001", "2026-10", "STOCK_CARRY_OVER_MISMATCH", "2026-09"),
        ("6105280001", "2026-11", "SPEND_EXCEEDS_CONSUMPTION", None),
        ("6105280001", "2026-11", "STOCK_CARRY_OVER_MISMATCH", "2026-10"),
        ("6105280001", "2026-11", "STOCK_NOT_CHECKED", None),
    ]


STOCK_TITLES = ("期初食材库存", "食材采购", "期末食材库存", "食材消耗")
STOCK_KEYS = ("opening_stock_value", "stock_purchases", "closing_stock_value", "stock_consumed")


def test_the_stock_columns_in_json_xlsx_and_pdf_are_the_same_figures(
    session: Any, stock_scenario: None, tmp_path: Path
) -> None:
    from district.nutrition.pdf import fund_report_pdf
    from district.nutrition.services import fund_report
    from district.nutrition.xlsx import fund_report_xlsx

    report = fund_report(session, "610528", "2026-09", "2026-11")
    data = report.to_dict()
    rows = {row["school_code"]: row for row in data["schools"]}
    # 0001: opening 50.00 (September's), purchases 9800.00 + 10000.00, closing 130.00 (November's),
    # consumed 9750.00 + 9990.00; 0002 (@1) not reported
    hand = {"opening_stock_value": "50.00", "stock_purchases": "19800.00", "closing_stock_value": "130.00",
            "stock_consumed": "19740.00"}  # fmt: skip
    assert {k: rows["6105280001"][k] for k in STOCK_KEYS} == hand
    assert all(rows["6105280002"][k] is None for k in STOCK_KEYS)
    zhuangli = next(t for t in data["townships"] if t["township"] == "庄里镇")
    assert {k: zhuangli[k] for k in STOCK_KEYS} == hand == {k: data["county"][k] for k in STOCK_KEYS}

    wb = load_workbook(filename=__import__("io").BytesIO(fund_report_xlsx(report)))
    sheet = wb["学校明细"]
    titles = [c.value for c in sheet[6]]
    at = [titles.index(t) for t in STOCK_TITLES]
    by_code = {r[0].value: r for r in sheet.iter_rows(min_row=7)}
    assert [Decimal(repr(by_code["6105280001"][i].value)) for i in at] == [Decimal(hand[k]) for k in STOCK_KEYS]
    assert [by_code["6105280002"][i].value for i in at] == ["未填报"] * 4
    summary = wb["汇总"]
    s_titles = [c.value for c in summary[6]]
    county_row = next(summary.iter_rows(min_row=7, max_row=7))
    assert [Decimal(repr(county_row[s_titles.index(t)].value)) for t in STOCK_TITLES] == [
        Decimal(hand[k]) for k in STOCK_KEYS
    ]

    text = pdftotext(fund_report_pdf(report), tmp_path)
    assert "六、食堂食材库存" in text
    lines = [line for line in text.splitlines() if "6105280001" in line and "19,800.00" in line]
    assert lines and all(f"{Decimal(hand[k]):,.2f}" in lines[0] for k in STOCK_KEYS), lines
    assert any("6105280002" in line and line.count("未填报") == 4 for line in text.splitlines())
    assert "库存结转不符" in text and "补助支出超过食材消耗" in text and "未盘点" in text


def test_a_window_without_v2_months_prints_no_stock_columns(session: Any, stock_scenario: None, tmp_path: Path) -> None:
    from district.nutrition.pdf import fund_report_pdf
    from district.nutrition.services import fund_report
    from district.nutrition.xlsx import fund_report_xlsx

    report = fund_report(session, "610528", "2026-10", "2026-10")  # October: 0001 in @1 only
    assert report.to_dict()["stock"] is False
    wb = load_workbook(filename=__import__("io").BytesIO(fund_report_xlsx(report)))
    assert not set(STOCK_TITLES) & {c.value for c in wb["学校明细"][6]}
    text = pdftotext(fund_report_pdf(report), tmp_path)
    assert "食材库存" not in text


def test_the_overview_counts_the_stock_anomalies_and_none_is_an_alert(session: Any, stock_scenario: None) -> None:
    from district import readcache
    from district.alerts.services import misuse_alerts
    from district.registry.models import County

    county = session.get(County, "610528")
    found = readcache.period_anomalies(session, county, "2026-11")  # the overview's and the city's list
    assert sorted(a.code for a in found) == list(STOCK)
    assert misuse_alerts(session, county, "2026-11", found) == []  # only 挪用 is a 重大预警


@pytest.mark.usefixtures("_dashboard_users")  # the dashboard tests' users (one per role)
def test_the_fund_page_shows_the_same_stock_figures(
    client: Any, session: Any, stock_scenario: None, hub_clock: Any
) -> None:
    import datetime as dt
    import re

    hub_clock.set(dt.datetime(2026, 12, 10, 4, tzinfo=dt.UTC), ticking=True)  # November is closed: in the window

    from district.nutrition.services import fund_report
    from tests.district.dashboard.conftest import sign_in

    data = fund_report(session, "610528", "2026-09", "2026-11").to_dict()
    sign_in(client, "admin")
    html = client.get("/counties/610528/fund?from=2026-09&to=2026-11").get_data(as_text=True)
    start = html.index('id="stock"')
    section = re.sub(r"\s+", " ", html[start : html.index("</section>", start)])
    assert "食堂食材库存" in section and "期初食材库存" in section
    row = re.search(r'data-school="6105280001">(.*?)</tr>', section)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    school = next(r for r in data["schools"] if r["school_code"] == "6105280001")
    assert cells == [str(school["stock_months"])] + [f"{Decimal(school[k]):,.2f}" for k in STOCK_KEYS]
    assert cells[1:] == ["50.00", "19,800.00", "130.00", "19,740.00"]  # by hand, as above
    v1 = re.search(r'data-school="6105280002">(.*?)</tr>', section)
    assert v1 is not None and "未填报" in v1.group(1)
    # a window of @1 months only: no stock section at all
    html = client.get("/counties/610528/fund?from=2026-10&to=2026-10").get_data(as_text=True)
    assert 'id="stock"' not in html
