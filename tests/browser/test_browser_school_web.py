"""A township school's clerk reports through the hub's pages in a real browser, on a phone-sized screen (issue 19):
sign in, download the month's template, fill it with openpyxl, upload a version with four planted mistakes and read
them on the page, upload the fixed one, confirm, see the signed receipt; the same file again is the same receipt;
and the bureau's dashboard shows the revision.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from district.demo.generate import SchoolProfile, monthly_report
from tests.browser.conftest import ADMIN, COUNTY, Hub, shot
from tests.school_agent.hubproc import fill_template

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCHOOL = f"{COUNTY}0010"  # a primary school; the dashboard's steps use other schools
CLERK = ("zongwu_0010", "Zongwu-clerk-2026")
FOUR_MISTAKES = [  # (sheet, cell, what the clerk typed)
    ("营养餐", "C7", "约一万一千六"),  # text in a whole-number cell
    ("财务", "C4", -5),  # a negative amount
    ("食品安全", "C5", "=C4+1"),  # a formula
    ("在校人数", "C4", None),  # a required value left blank
]


def _planted(data: bytes) -> bytes:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    for sheet, cell, value in FOUR_MISTAKES:
        wb[sheet][cell] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def phone(browser: Any, hub: Hub) -> Any:
    hub.live.cli(
        "users", "create", CLERK[0], "--role", "school_clerk", "--scope", SCHOOL, "--password", CLERK[1],
        "--name", "总务处 张老师",
    )  # fmt: skip
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
        viewport={"width": 390, "height": 844},
        base_url=hub.base,
    )
    tab = context.new_page()
    tab.set_default_timeout(15000)
    try:
        yield tab
    finally:
        context.close()


def _upload(page: Any, path: Path) -> None:
    page.goto(f"/school/{SCHOOL}/upload")
    page.set_input_files("input[name=report]", str(path))
    page.click("form button.primary")
    page.wait_for_load_state()


def test_a_clerk_reports_on_the_web_and_the_bureau_sees_the_revision(
    phone: Any, browser: Any, hub: Hub, tmp_path: Path
) -> None:
    from houqin_standard import current_period

    period = current_period()  # no one has reported it and no one locks it in these tests
    page = phone
    page.goto("/")
    page.fill("input[name=username]", CLERK[0])
    page.fill("input[name=password]", CLERK[1])
    page.click("form button.primary")
    page.wait_for_url(re.compile(rf"/school/{SCHOOL}/"))
    assert "报送截止" in page.locator("#month-status").inner_text()
    # the page fits a phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "school-01-status")

    page.goto(f"/school/{SCHOOL}/?period={period}")
    with page.expect_download() as info:
        page.click(f"a[href='/school/{SCHOOL}/template?period={period}']")
    template = tmp_path / "template.xlsx"
    info.value.save_as(template)

    profile = SchoolProfile.make(SCHOOL, "primary", False, 7)
    profile.participating = True
    report = monthly_report(profile, period)
    fixed = fill_template(template, report, tmp_path / f"后勤月报_{SCHOOL}_{period}.xlsx")
    wrong = tmp_path / "mistakes.xlsx"
    wrong.write_bytes(_planted(fixed.read_bytes()))

    _upload(page, wrong)
    assert "报表有 4 处错误" in page.locator("#error-count").inner_text()
    rows = page.locator("#errors tbody tr").all_inner_texts()
    assert len(rows) == 4
    for sheet, cell, value in FOUR_MISTAKES:
        row = next((r for r in rows if sheet in r and cell in r), None)
        assert row is not None, (sheet, cell, rows)
        if value is not None:
            assert str(value) in row
    assert page.locator("#confirm").count() == 0  # nothing to confirm, nothing stored
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "school-02-errors")

    _upload(page, fixed)
    assert page.locator("#no-errors").count() == 1
    shot(page, "school-03-preview")
    page.click("#confirm")
    page.wait_for_url(re.compile(rf"/school/{SCHOOL}/receipts/"))
    receipt_url = page.url
    assert "已收到" in page.locator("#receipt").inner_text()
    signature = page.locator("#signature").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{128}", signature)
    shot(page, "school-04-receipt")
    with page.expect_download() as info:
        page.click("#download-receipt")
    saved = tmp_path / "receipt.json"
    info.value.save_as(saved)
    import json

    assert json.loads(saved.read_text(encoding="utf-8"))["signature"] == signature

    _upload(page, fixed)  # the same file again: the same report, the same receipt
    assert page.locator("#already").count() == 1
    page.click("#confirm")
    page.wait_for_url(re.compile(rf"/school/{SCHOOL}/receipts/"))
    assert page.url == receipt_url
    assert page.locator("#signature").inner_text().strip() == signature

    bureau = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", base_url=hub.base)
    try:
        admin = bureau.new_page()
        admin.goto("/login")
        admin.fill("input[name=username]", ADMIN[0])
        admin.fill("input[name=password]", ADMIN[1])
        admin.click("form button.primary")
        admin.wait_for_url(re.compile(rf"/counties/{COUNTY}/"))
        admin.goto(f"/schools/{SCHOOL}/")
        row = admin.locator(f"tr[data-period='{period}'][data-revision='1']")
        assert row.count() == 1
        assert admin.locator(f"tr[data-period='{period}'][data-revision='2']").count() == 0
        shot(admin, "school-05-bureau-sees-revision")
    finally:
        bureau.close()
