"""The city director's walk in a real browser (issue 17 "Tests"): city overview → a county → the alert → the
school → its PDF from the download centre; screenshots of every main page at 1440 px and 390 px; and no
technical noise on the face of the zh pages or the PDF (pdftotext): no English anomaly code, no snake_case field
name, no 64-hex SHA-256, no ISO timestamp — outside the PDF's 审计信息 appendix.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from district.nutrition.anomalies import ANOMALY_CODES
from tests.browser.conftest import (
    COUNTY,
    HAZARD_SCHOOL,
    MISSING_SCHOOL,
    MISUSE_SCHOOL,
    SCHOOLS,
    Hub,
    artifacts_dir,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CITY = COUNTY[:4] + "00"
CITY_ADMIN = ("city_director", "Weinan-city-2026")
WIDTHS = (1440, 390)

SHA256_RE = re.compile(r"\b[0-9a-f]{64}\b")
ISO_TIMESTAMP_RE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})\b|\d{4}-\d{2}-\d{2}T\d{2}:"
)
SNAKE_RE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
CODE_RE = re.compile(r"\b(" + "|".join(sorted(ANOMALY_CODES)) + r")\b")


def noise(text: str) -> list[str]:
    """What a director should never read on an official page: codes, field names, hashes, machine timestamps."""
    found = []
    for pattern in (CODE_RE, SNAKE_RE, SHA256_RE, ISO_TIMESTAMP_RE):
        found += [m.group(0) for m in pattern.finditer(text)]
    return found


def test_noise_finds_what_it_looks_for() -> None:
    assert noise("学校 ACCOMPANY_GAP 共 3 项") == ["ACCOMPANY_GAP"]
    assert noise("字段 accompany_meal_days=15") == ["accompany_meal_days"]
    assert noise("数据链头 " + "3cd0fab1" * 8) == ["3cd0fab1" * 8]
    assert noise("生成于 2026-11-21T12:00:00+08:00") != []
    assert noise("2026年11月21日 12:00 · 结余 1,234.56 元 · 2026-11-05") == []


@pytest.fixture(scope="module")
def city_page(browser: Any, hub: Hub) -> Iterator[Any]:
    hub.live.cli("users", "create", CITY_ADMIN[0], "--role", "city_admin", "--scope", CITY,
                 "--password", CITY_ADMIN[1], "--name", "渭南市教育局 李处长")  # fmt: skip
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True,
                                  viewport={"width": 1440, "height": 900}, base_url=hub.base)  # fmt: skip
    tab = context.new_page()
    tab.set_default_timeout(15000)
    tab.goto("/login")
    tab.fill("input[name=username]", CITY_ADMIN[0])
    tab.fill("input[name=password]", CITY_ADMIN[1])
    tab.click("form button.primary")
    tab.wait_for_url(re.compile(rf"/cities/{CITY}/"))
    try:
        yield tab
    finally:
        context.close()


def shots(page: Any, name: str) -> list[Path]:
    """The page at 1440 px and at 390 px (a phone), full length, into the artifacts folder."""
    paths = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)  # charts redraw on resize
        path = artifacts_dir() / f"walk-{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size({"width": 1440, "height": 900})
    return paths


def visible_text(page: Any) -> str:
    return page.locator("body").inner_text()


def test_city_overview_to_a_county_to_the_alert_to_the_school_to_its_pdf(city_page: Any, hub: Hub) -> None:
    page = city_page
    assert "渭南市" in page.locator("h1").inner_text()
    assert noise(visible_text(page)) == []
    shots(page, "01-city")
    page.click(f"a[href^='/counties/{COUNTY}/']")
    page.wait_for_url(re.compile(rf"/counties/{COUNTY}/"))
    band = page.locator("#alerts")
    assert band.locator(f"li[data-school='{HAZARD_SCHOOL}']").count() >= 1  # the overdue major hazard
    assert noise(visible_text(page)) == []
    shots(page, "02-county-overview")
    band.locator(f"li[data-school='{HAZARD_SCHOOL}'] a").first.click()
    page.wait_for_url(re.compile(rf"/schools/{HAZARD_SCHOOL}/"))
    assert noise(visible_text(page)) == []
    shots(page, "03-school")
    page.goto(f"/schools/{HAZARD_SCHOOL}/#pdf")
    page.click("#pdf button.pdf-job")
    page.wait_for_selector("#pdf .job-status .job-submitted")
    page.click("#pdf .job-status a[href='/downloads']")
    page.wait_for_url(re.compile(r"/downloads$"))
    link = page.wait_for_selector("#download-jobs a.pdf-file", timeout=180000)
    assert noise(visible_text(page)) == []
    shots(page, "04-downloads")
    with page.expect_download() as info:
        link.click()
    pdf = Path(info.value.path())
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout  # fmt: skip
    face = text.split("审计信息")[0]  # the appendix may hold codes, hashes and times; the face may not
    assert "教学楼二层配电箱线路老化" in face or "隐患" in face
    assert noise(face) == [], noise(face)[:10]


MAIN_PAGES = {
    "05-ranking": f"/counties/{COUNTY}/ranking",
    "06-completeness": f"/counties/{COUNTY}/completeness",
    "07-hazards": f"/counties/{COUNTY}/hazards?status=all",
    "08-fund": f"/counties/{COUNTY}/fund",
    "09-approval": f"/counties/{COUNTY}/approval",
    "10-review": f"/counties/{COUNTY}/review",
    "11-school-misuse": f"/schools/{MISUSE_SCHOOL}/",
    "12-school-missing": f"/schools/{MISSING_SCHOOL}/",
}


@pytest.mark.parametrize("name", list(MAIN_PAGES))
def test_every_main_page_reads_without_codes_and_is_shot_at_two_widths(city_page: Any, hub: Hub, name: str) -> None:
    page = city_page
    resp = page.goto(MAIN_PAGES[name])
    assert resp is not None and resp.status == 200, (name, resp and resp.status)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert noise(visible_text(page)) == [], (name, noise(visible_text(page))[:10])
    shots(page, name)


def test_the_lists_filter_by_township_and_type_in_the_browser(city_page: Any, hub: Hub) -> None:
    page = city_page
    page.goto(f"/counties/{COUNTY}/hazards?status=all")
    assert page.locator("#hazards-table tbody tr").count() >= 1
    page.select_option(".list-filters select[name=type]", "kindergarten")
    page.click(".list-filters button[type=submit]")
    page.wait_for_url(re.compile(r"type=kindergarten"))
    kindergartens = {f"{COUNTY}{i + 1:04d}" for i in range(SCHOOLS) if i % 16 >= 13}  # conftest's TYPE_MIX
    shown = {row.get_attribute("data-school") for row in page.locator("#hazards-table tbody tr").all()}
    assert shown <= kindergartens and HAZARD_SCHOOL not in shown
    page.goto(f"/counties/{COUNTY}/fund")
    from district.registry.services import pinyin_key

    townships = page.locator("#fund-schools tbody tr td:nth-child(2)").all_inner_texts()
    firsts = list(dict.fromkeys(townships))
    assert len(firsts) > 1 and firsts == sorted(firsts, key=pinyin_key)  # by township (no order set: pinyin)
    page.click("#fund-schools thead a[data-sort=township]")  # sorted already: the click reverses it
    page.wait_for_url(re.compile(r"sort=township&order=desc|order=desc.*sort=township"))
    reversed_ = page.locator("#fund-schools tbody tr td:nth-child(2)").all_inner_texts()
    assert list(dict.fromkeys(reversed_)) == firsts[::-1]


def test_the_fund_pdf_from_the_download_centre_reads_without_codes(city_page: Any, hub: Hub) -> None:
    page = city_page
    first, last = hub.periods
    page.goto(f"/counties/{COUNTY}/fund?from={first}&to={last}")
    page.click("#fund-pdf")
    page.wait_for_selector("#downloads .job-status .job-submitted")
    page.goto("/downloads")
    link = page.wait_for_selector("#download-jobs tr.job:has-text('营养餐') a.pdf-file", timeout=180000)
    with page.expect_download() as info:
        link.click()
    pdf = Path(info.value.path())
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout  # fmt: skip
    face = text.split("审计信息")[0]
    assert "挪用补助资金" in face  # the misuse of MISUSE_SCHOOL, in words
    assert noise(face) == [], noise(face)[:10]


def test_english_mode_in_the_browser(city_page: Any, hub: Hub) -> None:
    """The same pages in English (the language switch in the header), shot at both widths; then back to Chinese."""
    page = city_page
    page.goto(f"/counties/{COUNTY}/")
    page.click(".lang-switch button[value=en]")
    page.wait_for_selector("html[lang=en]")
    try:
        english = {
            "en-overview": f"/counties/{COUNTY}/",
            "en-ranking": MAIN_PAGES["05-ranking"],
            "en-school": f"/schools/{HAZARD_SCHOOL}/",
            "en-hazards": MAIN_PAGES["07-hazards"],
        }
        for name, path in english.items():
            page.goto(path)
            nav = page.locator("nav.mainnav").inner_text()
            assert "Overview" in nav and "Hazards" in nav and "概览" not in nav
            shots(page, name)
        page.goto(f"/counties/{COUNTY}/")
        alerts = page.locator("#alerts").inner_text()
        assert "days overdue" in alerts and "重大隐患" not in alerts
    finally:
        page.click(".lang-switch button[value=zh]")
        page.wait_for_selector("html[lang=zh-CN]")


def test_the_charts_fit_their_axes_and_put_the_balance_on_its_own(city_page: Any, hub: Hub) -> None:
    """charts.js's builders (issue 17 item 6): bars near 100 % get an axis from just below the lowest; the fund
    chart's 结余 has its own axis; the indicator bars are named, 不适用 left out."""
    page = city_page
    page.goto(f"/counties/{COUNTY}/")
    page.wait_for_selector(".chart[data-rendered]")
    fitted = page.evaluate(
        """() => {
          const el = document.createElement("div");
          const c = window.houqinCharts.builders.completeness({townships: ["甲", "乙", "丙"],
              completeness: [97.5, 100, 98.9], timeliness: [95.2, 99, 100],
              labels: {completeness: "c", timeliness: "t"}}, el);
          const f = window.houqinCharts.builders.fund({months: ["2026年10月", "2026年11月"],
              received: ["40000", "41000"], spend: ["39000", "40500"], closing: ["1000.00", "1500.00"],
              labels: {closing: "结余"}}, el);
          const i = window.houqinCharts.builders.indicators({lang: "zh", rows: [
              {code: "A1", name_zh: "校园商店", applicable: true, earned: "6", available: "6"},
              {code: "G1", name_zh: "学生公寓", applicable: false, earned: null, available: "0"}],
              labels: {earned: "e", available: "a"}}, el);
          return {min: c.yAxis.min, max: c.yAxis.max, axes: f.yAxis.length,
                  balanceAxis: f.series[2].yAxisIndex, names: i.yAxis.data,
                  zero: window.houqinCharts.fittedMin([0, 100])};
        }"""
    )
    assert fitted == {"min": 90, "max": 100, "axes": 2, "balanceAxis": 1, "names": ["校园商店"], "zero": 0}
