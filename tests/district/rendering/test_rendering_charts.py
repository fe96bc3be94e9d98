"""Inline SVG charts: well-formed XML, escaped text, sane geometry, and drawn into a PDF."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from markupsafe import Markup

from district.printing import bar_chart_svg, pdf_env, radar_chart_svg, render_pdf

# The evaluation report's seven areas, as the rubric labels them (district/scoring/rubrics/default-v1.toml).
RUBRIC_AREAS_ZH = ("五项整治", "三化", "食品安全与营养餐", "安全", "财务与资产", "节约", "学生公寓")

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<学校&"A">'


def parse(svg: str) -> ET.Element:
    # Our own generated markup, no entities or DTD: the stdlib parser is fine here.
    return ET.fromstring(svg)  # noqa: S314


def texts(svg: str) -> list[str]:
    root = parse(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def scores() -> list[tuple[str, Decimal, int]]:
    return [(area, Decimal(60 + 5 * i), 100) for i, area in enumerate(RUBRIC_AREAS_ZH)]


def test_bar_chart_parses_and_escapes():
    svg = bar_chart_svg([(EVIL, Decimal("81.5"), 100), ("三化", 40, 50)], title=f"得分 {EVIL}")
    assert isinstance(svg, Markup)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == f"得分 {EVIL}"
    shown = texts(svg)
    assert EVIL in shown and f"得分 {EVIL}" in shown
    assert "81.5 / 100" in shown and "40 / 50" in shown
    assert "&lt;学校&amp;&#34;A&#34;&gt;" in svg
    assert "<学校" not in svg


def test_bar_lengths_follow_value_over_maximum():
    svg = bar_chart_svg([("a", 50, 100), ("b", 150, 100), ("c", None, 100), ("d", 5, 0)], width=400)
    rects = [r for r in parse(svg).iter(f"{SVG}rect")]
    tracks = [r for r in rects if r.get("fill") == "#fff"]
    bars = [r for r in rects if r.get("fill") != "#fff"]
    assert len(tracks) == 4
    track_w = float(tracks[0].get("width"))
    # a: half the track; b: clamped to the full track; c (no value) and d (no maximum): no bar at all
    assert [round(float(b.get("width")) / track_w, 3) for b in bars] == [0.5, 1.0]
    assert "— / 100" in texts(svg)
    assert "150 / 100" in texts(svg)  # the text keeps the true value


def test_bar_chart_errors():
    with pytest.raises(ValueError, match="at least one"):
        bar_chart_svg([])


def test_long_labels_are_shortened_not_overflowing():
    label = "富平县庄里镇中心小学第一分校学生营养餐供餐点（东校区）"
    shown = texts(bar_chart_svg([(label, 1, 2)], width=300))[0]
    assert shown.endswith("…") and label.startswith(shown[:-1])


def test_radar_chart_seven_areas():
    svg = radar_chart_svg(scores(), title="评估雷达图", reference=[70] * 7)
    root = parse(svg)
    shown = texts(svg)
    for area in RUBRIC_AREAS_ZH:
        assert area in shown
    assert "60" in shown and "90" in shown
    assert "本校" in shown and "全县平均" in shown
    polygons = list(root.iter(f"{SVG}polygon"))
    assert len(polygons) == 5 + 2  # five grid rings, the reference and the school
    school = polygons[-1].get("points").split()
    assert len(school) == 7


def test_radar_chart_escapes_and_checks():
    svg = radar_chart_svg([(EVIL, 1, 2), ("b", 1, 2), ("c", 1, 2)], series_label="<本校>")
    assert EVIL in texts(svg) and "<本校>" in texts(svg)
    with pytest.raises(ValueError, match="three axes"):
        radar_chart_svg([("a", 1, 2), ("b", 1, 2)])
    with pytest.raises(ValueError, match="one value per axis"):
        radar_chart_svg(scores(), reference=[1, 2])


def test_a_page_with_charts_renders(pdftotext):
    page = pdf_env().from_string(
        '{% extends "base.html" %}{% block title %}评估报告{% endblock %}{% block content %}'
        '<div class="chart">{{ bar }}</div><div class="chart">{{ radar }}</div>{% endblock %}'
    )
    html = page.render(
        bar=bar_chart_svg(scores(), title="七个方面得分"),
        radar=radar_chart_svg(scores(), title="评估雷达图", reference=[70] * 7),
    )
    text = pdftotext(render_pdf(html))
    assert "七个方面得分" in text and "评估雷达图" in text
    assert "食品安全与营养餐" in text and "学生公寓" in text
    assert "90 / 100" in text


def test_radar_chart_draws_not_applicable_as_absent_not_zero():
    """不适用 (issue 17 item 6): no point on its axis, the polygon joins its neighbours, the label says so."""
    items = [(area, None if area == "学生公寓" else Decimal(80), 100) for area in RUBRIC_AREAS_ZH]
    svg = radar_chart_svg(items, reference=[70, 70, 70, 70, 70, 70, None])
    root = parse(svg)
    assert "不适用" in texts(svg)
    polygons = list(root.iter(f"{SVG}polygon"))
    school, reference = polygons[-1].get("points").split(), polygons[-2].get("points").split()
    assert len(school) == len(reference) == 6  # the 7th axis has no vertex (at 0 it would be the centre)
    points = {(c.get("cx"), c.get("cy")) for c in root.iter(f"{SVG}circle")}
    assert len(points) == 6  # six round points, none on the absent axis
    full = radar_chart_svg([(a, Decimal(80), 100) for a in RUBRIC_AREAS_ZH])
    assert len(parse(full).findall(f".//{SVG}circle")) == 7
