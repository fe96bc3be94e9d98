"""The words official documents use (issue 17): one table for the PDFs (``templates/pdf/``, as the ``terms``
global) and the fund report's xlsx, so a term reads the same on every document a bureau signs.

Each entry is ``(zh, en)``. Choices: 学区 (the bureau's unit under a county, not 乡镇 or 乡镇（学区）);
在办学校 (a school open in the window; not 在册学校, which also counts closed ones); 学校标识码 (the national
10-digit school identifier, which is a public label, not a technical code). Words that only serve
verification (报表标准, 数据链头, 文档编号…) are printed in the 审计信息 appendix or sheet only.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["AUDIT_HEADING", "TERMS", "term"]

TERMS: Mapping[str, tuple[str, str]] = {
    "township": ("学区", "School district"),
    "active_schools": ("在办学校", "Schools in operation"),
    "school_code": ("学校标识码", "School code"),
    "school_name": ("学校名称", "School name"),
    "county": ("县（区）", "County"),
    "window": ("统计期间", "Window"),
    "generated_at": ("生成时间", "Generated"),
    "beijing_time": ("北京时间", "Beijing time"),
    "standard_rate": ("县定补助标准", "County subsidy rate"),
    "county_total": ("全县合计", "County total"),
    # the audit appendix (PDF) and sheet (xlsx)
    "audit": ("审计信息", "Audit information"),
    "standard_id": ("报表标准", "Report standard"),
    "chain_head": ("数据链头", "Chain head"),
    "chain_digest": ("数据链摘要", "Chain digest"),
    "document_no": ("文档编号", "Document number"),
    "snapshot": ("排名快照", "Ranking snapshot"),
    "revision_ids": ("所用报表版本", "Revisions used"),
    "anomaly_code": ("异常代码", "Anomaly code"),
    "figures": ("触发数据", "Figures"),
    "verify_url": ("核验网址", "Verification address"),
    "timezone": ("时区", "Time zone"),
}

#: The heading of the audit appendix: the one place technical identifiers are printed.
AUDIT_HEADING = "附：审计信息"


def term(key: str, lang: str = "zh") -> str:
    """The word for ``key`` in ``lang`` ("zh" or "en")."""
    zh, en = TERMS[key]
    return en if lang == "en" else zh
