"""The PDF pipeline end to end: Chinese text, embedded subset fonts, repeated table headers, page footer,
landscape pages and the bounded render."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from district.printing import (
    RenderError,
    RenderTimeout,
    RenderTooLarge,
    pdf_env,
    render_html,
    render_pdf,
    render_pdf_bounded,
)

SCHOOL = "富平县庄里镇中心小学"

REPORT = """{% extends "base.html" %}
{% block title %}{{ school }} 营养餐{% endblock %}
{% block subtitle %}资金收支明细{% endblock %}
{% block content %}
<h2>一、资金收支</h2>
<table>
<thead><tr>
  <th style="width:10%">序号</th><th>供餐学校名称</th><th class="num" style="width:22%">补助金额（元）</th>
</tr></thead>
<tbody>
{% for row in rows %}
<tr>
  <td class="center">{{ loop.index }}</td><td>{{ row.name }}</td><td class="num">{{ row.amount|money }}</td>
</tr>
{% endfor %}
</tbody>
</table>
{% endblock %}"""


def report_html(rows: int, **context: object) -> str:
    data = [{"name": f"{SCHOOL}第{i}供餐点", "amount": Decimal("81900") + i} for i in range(1, rows + 1)]
    context = {
        "school": SCHOOL,
        "county": "富平县",
        "window": "2026年9月—11月",
        "generated_at": datetime(2026, 11, 21, 6, 5, tzinfo=UTC),
        "standard_id": "houqin/monthly-report@1",
        **context,
    }
    return pdf_env().from_string(REPORT).render(rows=data, **context)


@pytest.fixture(scope="module")
def one_page_pdf() -> bytes:
    return render_pdf(report_html(5))


@pytest.fixture(scope="module")
def two_page_pdf() -> bytes:
    return render_pdf(report_html(45))


def test_chinese_text_comes_back_exactly(one_page_pdf, pdftotext):
    text = pdftotext(one_page_pdf)
    assert "富平县庄里镇中心小学 营养餐" in text
    assert f"{SCHOOL}第3供餐点 81,903.00" in text
    # the title block: county, window, generation time in Beijing time (06:05 UTC = 14:05); no standard id on
    # the face of a document (issue 17: it belongs to the 审计信息 appendix)
    assert "富平县" in text and "2026年9月—11月" in text
    assert "2026-11-21 14:05" in text
    assert "houqin/monthly-report@1" not in text


def test_every_font_is_embedded_and_subset(one_page_pdf, pdf_file, run_tool):
    listing = run_tool("pdffonts", pdf_file(one_page_pdf)).splitlines()
    rows = listing[2:]  # two header lines
    assert rows, "no fonts in the PDF"
    names = []
    for row in rows:
        # name, type..., encoding, emb, sub, uni, object, generation: read from the right
        fields = row.split()
        name, emb, sub = fields[0], fields[-5], fields[-4]
        assert emb == "yes", row
        assert sub == "yes", row
        assert re.match(r"^[A-Z]{6}\+", name), row
        names.append(name)
    assert any("Noto-Sans-CJK-SC" in n for n in names), names
    assert any("Noto-Serif-CJK-SC" in n for n in names), names


def test_table_header_repeats_on_the_second_page(two_page_pdf, page_count, pdftotext):
    assert page_count(two_page_pdf) == 2
    page2 = pdftotext(two_page_pdf, page=2)
    header = page2.index("序号 供餐学校名称 补助金额（元）")
    last_row = page2.index(f"{SCHOOL}第45供餐点 81,945.00")
    assert header < last_row
    # and the first page's rows did not move: row 1 is on page 1 only
    assert f"{SCHOOL}第1供餐点 " not in page2


def test_footer_counts_pages(two_page_pdf, pdftotext):
    assert "第 1 页 共 2 页" in pdftotext(two_page_pdf, page=1)
    assert "第 2 页 共 2 页" in pdftotext(two_page_pdf, page=2)


def test_running_header_from_page_two(two_page_pdf, pdftotext):
    page2 = pdftotext(two_page_pdf, page=2)
    assert "富平县庄里镇中心小学 营养餐" in page2  # string-set from the <h1>
    assert "富平县 2026年9月—11月" in page2


def _page_sizes(pdf: bytes, pdf_file, run_tool) -> list[tuple[float, float]]:
    info = run_tool("pdfinfo", "-f", "1", "-l", "99", pdf_file(pdf))
    return [(float(w), float(h)) for w, h in re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", info)]


def test_portrait_by_default_and_landscape_on_request(pdf_file, run_tool):
    a4 = (595.28, 841.89)
    portrait = render_pdf(report_html(3))
    assert [tuple(round(x, 2) for x in s) for s in _page_sizes(portrait, pdf_file, run_tool)] == [a4]

    whole = pdf_env().from_string(
        '{% extends "base.html" %}{% block title %}横版{% endblock %}'
        "{% block body_class %}landscape{% endblock %}{% block content %}<p>宽表</p>{% endblock %}"
    )
    sizes = _page_sizes(render_pdf(whole.render()), pdf_file, run_tool)
    assert [tuple(round(x, 2) for x in s) for s in sizes] == [a4[::-1]]

    mixed = pdf_env().from_string(
        '{% extends "base.html" %}{% block title %}混排{% endblock %}{% block content %}'
        '<p>竖版说明</p><section class="landscape"><p>横版宽表</p></section>{% endblock %}'
    )
    sizes = _page_sizes(render_pdf(mixed.render()), pdf_file, run_tool)
    assert [tuple(round(x, 2) for x in s) for s in sizes] == [a4, a4[::-1]]


def test_render_html_uses_the_file_templates(pdftotext):
    html = render_html("base.html", county="富平县")
    assert 'href="houqin-static:/pdf/report.css"' in html
    assert "houqin/monthly-report@1" not in html  # the standard's id is for the 审计信息 appendix only
    assert '<span class="county">富平县</span>' in html
    # the stylesheet loaded through our fetcher: the footer only exists in report.css
    assert "第 1 页 共 1 页" in pdftotext(render_pdf(html))


def test_base_url_must_be_ours():
    for bad in ("file:///", "http://127.0.0.1/", "/work/main/district/static/"):
        with pytest.raises(ValueError, match="base_url"):
            render_pdf("<p>x</p>", base_url=bad)
    assert render_pdf("<p>x</p>", base_url="houqin-static:/pdf/").startswith(b"%PDF-")


# --- bounded render ------------------------------------------------------------------------------------


def test_bounded_render_returns_the_same_document(pdftotext):
    pdf = render_pdf_bounded(report_html(5), timeout_s=60)
    assert pdf.startswith(b"%PDF-")
    assert "富平县庄里镇中心小学 营养餐" in pdftotext(pdf)


def test_bounded_render_times_out():
    with pytest.raises(RenderTimeout):
        render_pdf_bounded(report_html(5), timeout_s=0.001)


def test_bounded_render_refuses_to_grow_past_its_memory_bound():
    # 50 million characters: WeasyPrint's parser copies the text into a UCS-4 buffer (~200 MiB) at once. The
    # bound counts growth beyond the address space inherited at fork, so this process's free heap cannot
    # absorb it; the child hits RLIMIT_AS and the parent reports RenderTooLarge instead of the host swapping.
    html = "<!-- " + "x" * 50_000_000 + " --><p>x</p>"
    with pytest.raises(RenderTooLarge, match="64 MiB"):
        render_pdf_bounded(html, max_rss_mb=64, timeout_s=60)


def test_bounded_render_reports_the_childs_error():
    with pytest.raises(RenderError, match="TypeError"):
        render_pdf_bounded(None, timeout_s=60)  # type: ignore[arg-type]


def test_bounded_render_checks_its_arguments():
    with pytest.raises(ValueError, match="positive"):
        render_pdf_bounded("<p>x</p>", timeout_s=0)
    with pytest.raises(ValueError, match="base_url"):
        render_pdf_bounded("<p>x</p>", base_url="file:///")
