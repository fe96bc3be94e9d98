"""The PDF Jinja environment: autoescape, strict undefined, the display filters (each fed bad input too)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from jinja2 import UndefinedError

from district.printing import pdf_env, render_html
from district.printing.templating import (
    format_date,
    format_datetime,
    money,
    num,
    pct,
    period_zh,
)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("81900"), "81,900.00"),
        (Decimal("81900.5"), "81,900.50"),
        (Decimal("0.005"), "0.01"),  # half-up, not banker's rounding
        (Decimal("0.015"), "0.02"),
        (Decimal("-1234.5"), "-1,234.50"),
        (Decimal("1234567.891"), "1,234,567.89"),
        (0, "0.00"),
        ("315.5", "315.50"),
        (None, "—"),
    ],
)
def test_money(value, shown):
    assert money(value) == shown


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (1.5, TypeError, "not float"),
        (True, TypeError, "not bool"),
        ([1], TypeError, "not list"),
        ("12,000", ValueError, "not a decimal amount"),
        ("NaN", ValueError, "finite"),
        (Decimal("Infinity"), ValueError, "finite"),
    ],
)
def test_money_rejects(value, error, message):
    with pytest.raises(error, match=message):
        money(value)


def test_num_and_pct():
    assert num(12345) == "12,345"
    assert num(Decimal("1234.56"), 1) == "1,234.6"
    assert num(None) == "—"
    assert pct(Decimal("0.875")) == "87.5%"
    assert pct(Decimal("0.8755"), 2) == "87.55%"
    assert pct(Decimal("0.875"), 0) == "88%"
    assert pct(1) == "100.0%"
    assert pct(0.5) == "50.0%"  # ratios may be floats; money may not
    assert pct(None) == "—"


def test_dates_are_shown_in_shanghai_time():
    utc = datetime(2026, 11, 21, 6, 5, tzinfo=UTC)
    assert format_datetime(utc) == "2026-11-21 14:05"
    late = datetime(2026, 11, 21, 17, 30, tzinfo=UTC)  # 01:30 next day in Shanghai
    assert format_datetime(late) == "2026-11-22 01:30"
    assert format_date(late) == "2026-11-22"
    assert format_date(date(2026, 11, 21)) == "2026-11-21"
    other = datetime(2026, 11, 21, 14, 5, tzinfo=timezone(timedelta(hours=8)))
    assert format_datetime(other) == "2026-11-21 14:05"
    assert format_datetime(None) == "—"
    with pytest.raises(ValueError, match="naive datetime"):
        format_datetime(datetime(2026, 11, 21, 14, 5))
    with pytest.raises(ValueError, match="naive datetime"):
        format_date(datetime(2026, 11, 21, 14, 5))
    with pytest.raises(TypeError, match="not str"):
        format_datetime("2026-11-21 14:05")
    with pytest.raises(TypeError, match="not str"):
        format_date("2026-11-21")


def test_period():
    assert period_zh("2026-11") == "2026年11月"
    assert period_zh("2026-01") == "2026年1月"
    for bad in ("2026-13", "2026-1x", "202611", "26-11"):
        with pytest.raises(ValueError, match="not a period"):
            period_zh(bad)
    with pytest.raises(TypeError, match="not int"):
        period_zh(202611)


def test_zh_labels():
    env = pdf_env()
    render = env.from_string("{{ v|zh }}|{{ v|zh(labels) }}").render
    assert render(v="late", labels={}) == "逾期|逾期"
    assert render(v="late", labels={"late": "迟报"}) == "逾期|迟报"
    assert render(v=True, labels={}) == "是|是"
    assert render(v=False, labels={}) == "否|否"
    assert render(v=1, labels={}) == "1|1"  # 1 == True must not turn a count into 是
    assert render(v=None, labels={}) == "—|—"
    assert render(v="unknown_code", labels={}) == "unknown_code|unknown_code"
    # the standard's enums by name
    assert env.from_string("{{ 'nine_year'|zh('school_type') }}").render() == "九年一贯制"
    assert env.from_string("{{ 'rectifying'|zh('campus_status') }}").render() == "整改中"
    with pytest.raises(ValueError, match="no enum 'school_kind'"):
        env.from_string("{{ 'x'|zh('school_kind') }}").render()
    custom = pdf_env({"canteen": "食堂"})
    assert custom.from_string("{{ 'canteen'|zh }}").render() == "食堂"
    assert pdf_env() is env  # the shared default environment is cached


def test_field_labels_come_from_the_standard():
    render = pdf_env().from_string("{{ p|field }}").render
    assert render(p="/nutrition/meals_served") == "实际供餐人次"
    assert render(p=None) == "—"


def test_autoescape_is_on_for_strings_and_files():
    env = pdf_env()
    assert env.from_string("{{ x }}").render(x='<img src="x">') == "&lt;img src=&#34;x&#34;&gt;"
    html = render_html("base.html", county="<script>alert(1)</script>", window="a & b")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &amp; b" in html


@pytest.mark.parametrize("flt", ["money", "num", "pct", "date", "datetime", "period", "zh", "field", "string"])
def test_undefined_variables_fail_the_render(flt):
    with pytest.raises(UndefinedError, match="closing_balance"):
        pdf_env().from_string(f"{{{{ closing_balance|{flt} }}}}").render()


def test_base_template_title_block():
    env = pdf_env()
    html = env.from_string(
        '{% extends "base.html" %}{% block title %}营养餐资金月报{% endblock %}'
        "{% block subtitle %}2026年11月{% endblock %}"
        '{% block title_meta %}<span class="extra">学校数：12</span>{% endblock %}'
    ).render(
        county="富平县",
        window="2026年9月—11月",
        generated_at=datetime(2026, 11, 21, 6, 5, tzinfo=UTC),
        standard_id="houqin/monthly-report@1",
    )
    assert "<title>营养餐资金月报</title>" in html
    assert "<h1>营养餐资金月报</h1>" in html
    assert '<div class="subtitle">2026年11月</div>' in html
    assert '<span class="generated">2026-11-21 14:05</span>' in html
    assert "houqin/monthly-report@1" not in html  # the face carries no standard id (issue 17)
    assert '<span class="extra">学校数：12</span>' in html
    # without the optional context there are no empty labels and no appendix
    bare = env.from_string('{% extends "base.html" %}{% block title %}T{% endblock %}').render()
    assert "县（区）" not in bare and "subtitle" not in bare and "审计信息" not in bare


def test_base_template_audit_appendix_and_footer_address():
    """The 审计信息 appendix: ``audit`` rows (escaped) and the audit_extra block, after the content, on a page of
    its own; ``verify_address`` becomes the footer's string."""
    html = (
        pdf_env()
        .from_string(
            '{% extends "base.html" %}{% block title %}T{% endblock %}{% block content %}<p>正文</p>{% endblock %}'
            "{% block audit_extra %}<p>附表</p>{% endblock %}"
        )
        .render(
            audit=[("报表标准", "houqin/monthly-report@1"), ("x", "<b>")],
            verify_address="https://hub.example.cn/verify/",
        )
    )
    body = html[html.index("正文") :]
    assert body.index("附：审计信息") < body.index("houqin/monthly-report@1") < body.index("附表")
    assert "&lt;b&gt;" in html and '<section class="audit-appendix">' in html
    assert '<span class="verify-line">核验网址 https://hub.example.cn/verify/</span>' in html
