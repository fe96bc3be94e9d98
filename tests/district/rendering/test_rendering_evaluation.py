"""The evaluation reports 评估报告 as a reader gets them: Chinese text back out of the PDF exactly, every font
embedded, no missing glyph, the cover's figures equal to the scoring service's, the county summary's tables,
the size target, and untrusted text printed as text with nothing fetched.

Helpers build the PDFs from the fixture county (tests/conftest.py) with the scoring tests' seed reports.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from district.integrity.heads import county_heads
from district.printing import render_pdf
from district.rendering.evaluation import (
    Verification,
    county_summary_context,
    county_summary_html,
    flag_zh,
    indicator_text,
    school_evaluation_context,
    school_evaluation_html,
)
from district.scoring import campaign, ranking, snapshots
from district.scoring.engine import STATUS_LABELS, Window
from district.scoring.summaries import failing_indicators
from tests import factories
from tests.conftest import example_report
from tests.district.rendering.test_rendering_security import Recorder
from tests.district.rendering.test_rendering_security import server as server  # the fixture
from tests.district.scoring.helpers_scoring_db import YEAR_FROM, YEAR_TO, seed_county, submit
from tests.district.test_glossary import assert_no_noise, split_audit

W = Window(YEAR_FROM, YEAR_TO)
MADE = dt.datetime(2026, 11, 21, 6, 5, tzinfo=dt.UTC)
NAMES = {"6105280001": "庄里镇中心小学", "6105280002": "庄里镇初级中学", "6105280003": "城关第一小学",
         "6105280004": "城关新区小学"}  # fmt: skip


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    county.campaign_start_year = 2026
    return seed_county(session)


def verification(session: Any, job_id: int | None = 7) -> Verification:
    return Verification(
        document_no="HQ-610528-000007-0001",
        made_at=MADE,
        chain_digest=county_heads(session, "610528").digest,
        verify_base="https://hub.example.cn/",
        job_id=job_id,
    )


def school_pdf(session: Any, code: str = "6105280001") -> tuple[dict[str, Any], bytes]:
    snapshot = ranking.latest_ranking(session, "610528", W)
    ctx = school_evaluation_context(session, snapshot, code, verification(session))
    return ctx, render_pdf(school_evaluation_html(ctx))


def no_replacement_glyphs(text: str) -> None:
    assert "\ufffd" not in text  # a glyph with no Unicode mapping (.notdef or a missing font) reads back as U+FFFD


def test_school_report_reads_back_in_chinese(session: Any, seeded: dict[str, int], pdftotext: Any) -> None:
    _ctx, pdf = school_pdf(session)
    text = pdftotext(pdf)
    no_replacement_glyphs(text)
    face, appendix = split_audit(text)
    assert "庄里镇中心小学美丽新校园建设评估报告" in face
    assert "县（区）：富平县" in face and "2026年1月—2026年10月" in face
    for heading in ("一、七个领域得分率", "二、指标得分明细", "三、逐月报送情况", "四、隐患整改清单",
                    "五、营养改善计划补助资金"):  # fmt: skip
        assert heading in face
    # Chinese words only on the face (issue 17); the codes, ids and digests in the appendix on the last page
    assert_no_noise(face)
    assert "所属学区" in face and "乡镇（学区）" not in face
    assert "核验网址 https://hub.example.cn/verify/" in face  # the plain address in every page's footer
    flat_appendix = re.sub(r"\s+", "", appendix)
    for part in ("评分所用报表版本", "HQ-610528-000007-0001", "2026-11-21T14:05:00+08:00", "houqin/monthly-report@1",
                 "default-1", "#7", "610528"):  # fmt: skip
        assert part in flat_appendix, part
    assert "HQ-610528" not in face and "文档编号" not in face
    # each indicator leads with the catalog's plain sentence; no engine name, Σ or long fraction on the face
    flat_face = re.sub(r"\s+", "", face)
    for ind in _ctx["indicators"]:
        assert re.sub(r"\s+", "", ind["sentence"]) in flat_face, ind["sentence"]
    assert "Σ" not in face and not re.search(r"\b[a-z]+_[a-z_]+\b", face)
    assert not re.search(r"\d+/\d{3,}", face)
    # the seeded ledger: the major wiring hazard is open and overdue at the window's end, the toilet one fixed
    assert "二楼东侧教室插座松动，线路老化" in text
    assert "学生厕所冲水阀损坏" in text
    assert re.search(r"H-2026-09-001 电路 重大 .*逾期 31 天", text.replace("\n", " "))
    assert "https://hub.example.cn/verify/<本文件的 SHA-256>" in appendix
    assert "sha256sum 文件名.pdf" in appendix


def test_every_font_is_embedded_and_there_is_one_face_for_text(
    session: Any, seeded: dict[str, int], pdf_file: Any, run_tool: Any
) -> None:
    _ctx, pdf = school_pdf(session)
    rows = run_tool("pdffonts", pdf_file(pdf)).splitlines()[2:]
    assert rows
    for row in rows:
        name, *_rest = row.split()
        emb, sub, uni = row.split()[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row
        assert name.split("+")[1].startswith("Noto-Sans-CJK-SC"), row  # no serif face (size)
    assert len(pdf) <= 400 * 1024


def test_cover_figures_equal_the_scoring_service(session: Any, seeded: dict[str, int], pdftotext: Any) -> None:
    for code in ("6105280001", "6105280002"):
        _ctx, pdf = school_pdf(session, code)
        expected = ranking.school_score(session, code, W)
        cover = pdftotext(pdf, page=1)
        no_replacement_glyphs(cover)
        flat = cover.replace("\n", " ")
        assert f"综合得分 {expected['score']}" in flat
        assert f"等级 {expected['grade']}" in flat
        assert f"评定结果 {STATUS_LABELS[expected['status']][0]}" in flat
        assert f"全县排名 第 {expected['rank']} 名 / 共 {expected['schools_ranked']} 所" in flat
        assert f"学校名称 {NAMES[code]}" in flat and f"学校标识码 {code}" in flat
        coverage = (Decimal(expected["coverage"]) * 100).quantize(Decimal("0.1"))
        assert f"报送覆盖率 {coverage}%" in flat
        # the indicator table's rows are the service's rows
        body = pdftotext(pdf).replace("\n", " ")
        for row in expected["indicators"]:
            earned = row["earned"] if row["applicable"] else "不适用"
            assert re.search(rf"{row['code']} .*?{re.escape(row['points'])} {earned} {row['available']}", body), row


def test_month_rows_say_on_time_late_missing_and_break(session: Any, county: Any, pdftotext: Any) -> None:
    county.reporting_start = "2026-01"  # February is expected (and missing); before January nothing is
    for period in ("2026-03", "2026-04", "2026-06"):
        submit(session, "6105280001", period)
    # May arrives three days after its deadline (2026-06-05 23:59 Asia/Shanghai)
    from houqin_standard import period_deadline

    late = example_report(school_code="6105280001", period="2026-05", hazards=[])
    factories.submit(session, "6105280001", "2026-05", period_deadline("2026-05") + dt.timedelta(days=3), data=late)
    snapshot = ranking.latest_ranking(session, "610528", Window("2026-03", "2026-08"))
    ctx = school_evaluation_context(session, snapshot, "6105280001", verification(session))
    states = {m["period"]: (m["state"], m["days_late"]) for m in ctx["months"]}
    assert states == {
        "2026-03": ("on_time", None), "2026-04": ("on_time", None), "2026-05": ("late", 3),
        "2026-06": ("on_time", None), "2026-07": ("break", None), "2026-08": ("break", None),
    }  # fmt: skip
    assert ctx["month_counts"] == {"expected": 4, "on_time": 3, "late": 1, "missing": 0, "pending": 0}
    snapshot = ranking.latest_ranking(session, "610528", Window("2026-02", "2026-03"))
    ctx = school_evaluation_context(session, snapshot, "6105280001", verification(session))
    assert [(m["state"], m["days_late"]) for m in ctx["months"]] == [("missing", 261), ("on_time", None)]
    text = pdftotext(render_pdf(school_evaluation_html(ctx))).replace("\n", " ")
    assert "2026年2月 未报送" in text and "2026年3月 按时" in text
    snapshot = ranking.latest_ranking(session, "610528", Window("2025-12", "2026-01"))
    ctx = school_evaluation_context(session, snapshot, "6105280001", verification(session))
    assert [m["state"] for m in ctx["months"]] == ["not_started", "missing"]


def test_revisions_used_are_listed_with_their_hashes(session: Any, seeded: dict[str, int], pdftotext: Any) -> None:
    from district.reports.models import ReportRevision

    ctx, pdf = school_pdf(session)
    used = {rid for row in ctx["score"]["indicators"] for rid in row["revision_ids"]}
    assert {r["id"] for r in ctx["revisions"]} == used
    face, appendix = split_audit(pdftotext(pdf))
    text = appendix.replace("\n", "")
    for rid in used:
        rev = session.get(ReportRevision, rid)
        assert rev.content_sha256 in text and rev.chain_hash in text  # in the 审计信息 appendix only
        assert rev.content_sha256[:16] not in face.replace("\n", "")
    # arrival times in Asia/Shanghai: the seed stores them two days before the deadline, 23:59:59 + 08:00
    assert "2026-10-03 23:59:59" in pdftotext(pdf)


def test_county_summary(session: Any, seeded: dict[str, int], pdftotext: Any, pdf_file: Any, run_tool: Any) -> None:
    snapshot = ranking.latest_ranking(session, "610528", W)
    v = verification(session)
    ctx = county_summary_context(session, snapshot, v)
    pdf = render_pdf(county_summary_html(ctx))
    text = pdftotext(pdf)
    no_replacement_glyphs(text)
    flat = text.replace("\n", " ")
    assert "富平县美丽新校园建设评估汇总报告" in text
    for name in NAMES.values():
        assert name in text
    view = snapshots.ranking_view(session, snapshot)
    for r in view["schools"]:
        score = r["score"] if r["score"] is not None else "—"
        assert re.search(rf"{r['school_code']} {re.escape(r['name'])} .*? {score} ", flat), r
    progress = campaign.county_campaign_progress(session, "610528", 2026)
    assert f"达标学校 {progress['compliant']} 所 / 在办学校 {progress['active']} 所" in flat
    assert "创建第 1 年，目标 50%" in flat
    face, appendix = split_audit(text)
    assert v.chain_digest in appendix.replace("\n", "") and v.chain_digest[:16] not in face.replace("\n", "")
    assert_no_noise(face)
    assert "在册" not in face and "乡镇（学区）" not in face
    assert "HQ-610528-000007-0001" in appendix and "HQ-610528" not in face
    # completeness by township for every period: 庄里镇 reported everything from March on
    assert "庄里镇 完整率" in flat and "城关街道 完整率" in flat
    for heading in ("二、等级分布", "三、失分较多的指标", "四、学校排名", "五、各学区报送完整率与及时率"):
        assert heading in text
    for row in failing_indicators(snapshots.snapshot_rows(session, snapshot)):
        assert f"{row['code']} {row['name']}" in flat
    rows = run_tool("pdffonts", pdf_file(pdf)).splitlines()[2:]
    assert rows and all(r.split()[-5:-2] == ["yes", "yes", "yes"] for r in rows)
    assert len(pdf) <= 400 * 1024


def test_completeness_grid_is_the_completeness_service(session: Any, seeded: dict[str, int]) -> None:
    from district.reports.completeness import county_completeness

    snapshot = ranking.latest_ranking(session, "610528", W)
    ctx = county_summary_context(session, snapshot, verification(session))
    [table] = ctx["completeness"]
    assert table["periods"] == list(W.periods)
    for i, period in enumerate(table["periods"]):
        c = county_completeness(session, "610528", period).to_dict()
        for row in table["rows"]:
            cell = row["cells"][i]
            if c["break_month"]:
                assert cell is None
                continue
            t = next((t for t in c["by_township"] if t["township"] == row["township"]), None)
            if t is None:  # no school of that township expected in that month
                assert cell is None
                continue
            assert cell["completeness"] == t["completeness"] and cell["timeliness"] == t["timeliness"]


def test_indicator_rows_and_flags_are_put_in_words_by_the_one_catalog() -> None:
    """The PDF prints the catalog's sentence and formula (district.scoring.explain_text), not a translation of
    the engine's English note: the row's structured explanation is what is read."""
    row = {
        "code": "C1", "points": "6", "applicable": True, "earned": "5.29", "earned_exact": "90/17",
        "inputs": {"participating months": "1", "Σ sample_retention_days": "15", "Σ meal_days": "17"},
        "note": "6 × Σ sample_retention_days / Σ meal_days",
        "explanation": {
            "code": "ratio",
            "params": {"points": "6", "earned": "90/17", "numerator": "food_safety.sample_retention_days",
                       "denominator": "nutrition.meal_days", "num": 15, "den": 17, "ratio": "15/17", "months": 1,
                       "months_kind": "participating"},
            "inputs": [{"key": "participating_months", "params": {}, "value": 1},
                       {"key": "sum", "params": {"field": "food_safety.sample_retention_days"}, "value": 15},
                       {"key": "sum", "params": {"field": "nutrition.meal_days"}, "value": 17}],
        },
    }  # fmt: skip
    text = indicator_text(row)
    assert text["sentence"] == (
        "1 个参加营养餐的月份中，“当月留样合规的供餐天数”合计 15，占“本月供餐天数”合计 17 的 88.2%，得 5.29 / 6 分"
    )
    assert text["formula"] == "6 × 15 ÷ 17 = 5.29"
    assert text["figures"] == [
        ("参加营养餐月数", "1"),
        ("当月留样合规的供餐天数合计", "15"),
        ("本月供餐天数合计", "17"),
    ]
    assert flag_zh("missing:2026-03") == "缺报 2026年3月"
    assert flag_zh("veto:poisoning_incidents=1") == "一票否决：食物中毒事件数 1"


# ------------------------------------------------------------------------------------------------ security


def test_untrusted_text_in_the_evaluation_report_is_printed_not_fetched(
    session: Any,
    county: Any,
    server: Recorder,
    pdftotext: Any,
) -> None:
    from district.registry.models import School

    img = '<img src="file:///etc/passwd">'
    link = f'<link rel="stylesheet" href="{server.base}/x.css">'
    css = f'<p style="background: url({server.base}/y.png)">整改</p>'
    hazard = {
        "ref": "H-X-1", "found_on": "2026-09-04", "category": "fire", "severity": "major",
        "description": f"消防通道堵塞 {img} {link} {css}", "deadline": "2026-09-30", "rectified_on": None,
    }  # fmt: skip
    school = session.get(School, "6105280001")
    school.name = '庄里镇中心小学<b style="background:url(http://127.0.0.1:1/z.png)">'
    session.flush()
    submit(session, "6105280001", "2026-09", hazards=[hazard])
    snapshot = ranking.latest_ranking(session, "610528", Window("2026-09", "2026-09"))
    ctx = school_evaluation_context(session, snapshot, "6105280001", verification(session))
    html = school_evaluation_html(ctx)
    assert img not in html and link not in html and "&lt;img src=" in html  # escaped before WeasyPrint sees it
    text = pdftotext(render_pdf(html)).replace("\n", "")
    assert img in text and f'href="{server.base}/x.css">' in text and f"url({server.base}/y.png)" in text
    assert '庄里镇中心小学<b style="background:url(http://127.0.0.1:1/z.png)">' in text
    assert "root:" not in text
    assert server.hits == []
