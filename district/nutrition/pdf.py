"""The county 营养餐 fund report as a PDF (A4 landscape, Chinese), through the one rendering pipeline.

The template (``templates/pdf/fund_report.html``, extending ``base.html``) receives ``FundReport.to_dict("zh")``
— the same dict the JSON API returns and the xlsx lays out — and only formats its strings:

- money: thousands separators and 2 decimals, ``"169700.00"`` → ``169,700.00`` (the xlsx shows the same
  number with the same grouping through its ``¥#,##0.00`` format; the JSON keeps the plain string);
- ratios: a percentage with 2 decimals, ``"0.9750"`` → ``97.50%`` (the xlsx's ``0.00%``); ``null`` → ``—``;
- counts: thousands separators, ``34350`` → ``34,350``.

So every figure of the PDF reads back (``pdftotext``) as the JSON figure with those separators. The header
states the county, the window, the generation time (北京时间) and the county's subsidy rate, in Chinese words
only; the report standard's id, the chain head, the county's code, the generation time as an ISO timestamp,
anomaly codes with their figures and the revision ids are in the last page's 审计信息 appendix (issue 17).
The footer "第 x 页 共 y 页" comes from ``base.html``'s stylesheet. School names and messages are autoescaped
text.
"""

from __future__ import annotations

from district.glossary import term
from district.nutrition.anomalies import ANOMALY_CODES
from district.nutrition.engine import FundReport
from district.printing import render_html, render_pdf, render_pdf_bounded
from district.printing.templating import period_zh
from houqin_standard import ENUM_LABELS, fund_text

__all__ = ["TEMPLATE", "fund_report_html", "fund_report_pdf"]

TEMPLATE = "fund_report.html"


def fund_report_html(report: FundReport) -> str:
    """The report's HTML, ready for WeasyPrint."""
    data = report.to_dict("zh")
    return render_html(
        TEMPLATE,
        d=data,
        county=report.county_name,
        audit=[
            ("行政区划代码", report.county_code),
            (term("standard_id"), report.standard),
            (term("chain_head"), report.chain_head or "—"),
            (term("generated_at"), report.generated_at_shanghai.isoformat(timespec="seconds")),
            (term("timezone"), "Asia/Shanghai"),
        ],
        window=f"{period_zh(report.window_from)}—{period_zh(report.window_to)}",
        generated_at=report.generated_at,
        standard_id=report.standard,
        school_names={row["school_code"]: row["school_name"] for row in data["schools"]},
        supply_mode_labels={k: zh for k, (zh, _en) in ENUM_LABELS["supply_mode"].items()},
        school_type_labels={k: zh for k, (zh, _en) in ENUM_LABELS["school_type"].items()},
        anomaly_labels={code: name.zh for code, name in ANOMALY_CODES.items()},
        fund_detail=fund_text.detail,  # the rule with its figures, under each anomaly's sentence
    )


def fund_report_pdf(
    report: FundReport, *, bounded: bool = False, timeout_s: float = 120, max_rss_mb: int = 1024
) -> bytes:
    """The PDF bytes. ``bounded`` renders in a forked child limited in time and memory (web requests);
    otherwise in this process (CLI, tests). Raises ``district.rendering.RenderError`` and its subclasses."""
    html = fund_report_html(report)
    if bounded:
        return render_pdf_bounded(html, timeout_s=timeout_s, max_rss_mb=max_rss_mb)
    return render_pdf(html)
