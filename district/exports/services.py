"""Search and exports (issue 17, item 4): the rows of the school search, the hazard ledger and a period's raw
reports as the API's JSON shapes them, and each export's :class:`~district.exports.xlsx.Table` built from that
same JSON, so that the xlsx (and CSV) hold exactly the rows of the JSON, in the same order.

Reads only: nothing here writes (tests/district/test_reads_never_write.py).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from district.auth.models import User
from district.auth.services import visible_counties
from district.exports.xlsx import Column, Table
from district.registry.models import County, School, Township
from district.registry.services import township_order
from district.reports.hazards import hazard_ledger
from district.reports.models import ReportHead, ReportRevision
from houqin_standard import ENUM_LABELS, HEADER_FIELDS, STANDARD_ID, STANDARDS, Field, sections_of

SEARCH_MAX_RESULTS = 50
SEARCH_MAX_LENGTH = 50
HAZARD_STATUSES = ("open", "overdue", "all")


def query_pattern() -> str:
    """What a search term may be: free text of the standard (no control characters, no bidi overrides) with at
    least one visible character; the OpenAPI document states the same pattern."""
    from houqin_standard.text import text_pattern

    return text_pattern(visible=True)


def valid_query(q: str) -> bool:
    return 1 <= len(q) <= SEARCH_MAX_LENGTH and re.fullmatch(query_pattern(), q) is not None


def _zh(enum_name: str | None, code: Any) -> str:
    if code is None:
        return ""
    if enum_name is None:
        return str(code)
    return ENUM_LABELS.get(enum_name, {}).get(code, (str(code), str(code)))[0]


# ---------------------------------------------------------------- school search


def search_schools(session: Session, user: User, q: str) -> list[dict[str, Any]]:
    """Schools in the user's scope whose code or name contains ``q`` (case-insensitive for Latin letters), by
    code; at most ``SEARCH_MAX_RESULTS``. A school_viewer finds only its own school."""
    query = (
        select(School.code, School.name, School.county_code, Township.name, School.type)
        .join(Township, Township.id == School.township_id)
        .where(or_(School.code.contains(q, autoescape=True), School.name.icontains(q, autoescape=True)))
        .order_by(School.code)
        .limit(SEARCH_MAX_RESULTS)
    )
    if user.role in ("school_viewer", "school_clerk"):
        query = query.where(School.code == (user.school_code or ""))
    else:
        counties = [c.code for c in visible_counties(session, user)]
        query = query.where(School.county_code.in_(counties))
        from district.auth.services import school_filter

        township = school_filter(user)  # a township_admin: its township's schools (issue 18)
        if township is not None:
            query = query.where(township)
    return [
        {"code": code, "name": name, "county_code": county, "township": township, "type": type_}
        for code, name, county, township, type_ in session.execute(query)
    ]


# ---------------------------------------------------------------- rankings


def _flag_zh(flag: str) -> str:
    """A ranking flag in words: the one catalog of explanations, as on the pages and the PDFs."""
    from district.scoring.explain_text import flag_text

    return flag_text(flag, "zh")


def _status_zh(status: str | None) -> str:
    from district.scoring.engine import STATUS_LABELS

    if not status:
        return ""
    return STATUS_LABELS.get(status, (status, status))[0]


RANKING_COLUMNS = (
    Column("名次", "int", width=6),
    Column("学校"),
    Column("学区"),
    Column("学校类型"),
    Column("得分", "score"),
    Column("等级"),
    Column("状态"),
    Column("数据覆盖率", "rate"),
    Column("说明"),
)


def ranking_table(view: dict[str, Any]) -> Table:
    """The ranking JSON (``scoring.snapshots.ranking_view``) as one sheet, in its order; no totals (scores of
    different schools are not summed)."""
    rows = [
        [
            r["rank"],
            r["name"],
            r["township"],
            _zh("school_type", r["type"]),
            r["score"],
            r["grade"] or "",
            _status_zh(r["status"]),
            r["coverage"],
            "；".join(_flag_zh(f) for f in r["flags"] or []),
        ]
        for r in view["schools"]
    ]
    window = view["window"]
    return Table(
        "排名",
        RANKING_COLUMNS,
        rows,
        audit=[
            ("县", f"{view['county_name']}（{view['county_code']}）"),
            ("统计期间", f"{window['from']} 至 {window['to']}"),
            ("分类排名", "是" if view.get("by_type") else "否"),
            ("评分细则版本", view["rubric_version"]),
            ("排名快照编号", str(view["snapshot_id"])),
            ("计算时间", view["computed_at"]),
        ],
        audit_rows=[["学校", "学校标识码"], *([r["name"], r["school_code"]] for r in view["schools"])],
    )


# ---------------------------------------------------------------- completeness


COMPLETENESS_COLUMNS = (Column("学校"), Column("学区"), Column("逾期天数", "int"))


def completeness_table(data: dict[str, Any], county_name: str) -> Table:
    """The unreported schools of the period (the JSON's ``missing``, in its order): the list a director acts on;
    the county's and townships' rates stay on the page and in the JSON."""
    rows = [[m["name"], m["township"], m["days_late"]] for m in data["missing"]]
    return Table(
        "未报送学校",
        COMPLETENESS_COLUMNS,
        rows,
        audit=[
            ("县", f"{county_name}（{data['county_code']}）"),
            ("报表月份", data["period"]),
            ("报送截止时间", data["deadline"]),
            ("应报", str(data["expected"])),
            ("已报", str(data["reported"])),
            ("按时", str(data["on_time"])),
        ],
        audit_rows=[["学校", "学校标识码"], *([m["name"], m["school_code"]] for m in data["missing"])],
    )


# ---------------------------------------------------------------- hazards


def hazards(session: Session, county_code: str, status: str, on: dt.date) -> dict[str, Any]:
    """The county's hazard ledger on day ``on``: ``open`` (not rectified by then), ``overdue`` (open and past
    its deadline), or ``all``. Overdue first (most days first), then open, then by school and ref."""
    entries = hazard_ledger(session, county_code=county_code)
    if status == "open":
        entries = [e for e in entries if e.is_open(on)]
    elif status == "overdue":
        entries = [e for e in entries if e.days_overdue(on) > 0]
    entries.sort(key=lambda e: (-e.days_overdue(on), not e.is_open(on), e.school_code, e.ref))
    return {
        "county_code": county_code,
        "status": status,
        "as_of": on.isoformat(),
        "hazards": [
            {
                "school_code": e.school_code,
                "name": e.school_name,
                "township": e.township,
                "ref": e.ref,
                "period": e.period,
                "found_on": e.found_on.isoformat(),
                "category": e.category,
                "severity": e.severity,
                "description": e.description,
                "deadline": e.deadline.isoformat(),
                "rectified_on": e.rectified_on.isoformat() if e.rectified_on else None,
                "open": e.is_open(on),
                "days_overdue": e.days_overdue(on),
            }
            for e in entries
        ],
    }


HAZARD_COLUMNS = (
    Column("学校"),
    Column("学区"),
    Column("隐患类别"),
    Column("隐患等级"),
    Column("隐患描述", width=40),
    Column("发现日期"),
    Column("整改期限"),
    Column("整改完成日期"),
    Column("状态"),
    Column("逾期天数", "int"),
    Column("最近报告月份"),
)

_STATUS_WORDS = {"open": "未整改的隐患", "overdue": "逾期未整改的隐患", "all": "全部隐患"}


def hazard_state_zh(h: dict[str, Any]) -> str:
    if not h["open"]:
        return "已整改"
    return "逾期未整改" if h["days_overdue"] > 0 else "未整改"


def hazards_table(data: dict[str, Any], county_name: str) -> Table:
    rows = [
        [
            h["name"],
            h["township"],
            _zh("hazard_category", h["category"]),
            _zh("severity", h["severity"]),
            h["description"],
            h["found_on"],
            h["deadline"],
            h["rectified_on"] or "",
            hazard_state_zh(h),
            h["days_overdue"],
            h["period"],
        ]
        for h in data["hazards"]
    ]
    return Table(
        "隐患台账",
        HAZARD_COLUMNS,
        rows,
        audit=[
            ("县", f"{county_name}（{data['county_code']}）"),
            ("范围", _STATUS_WORDS[data["status"]]),
            ("统计日期", data["as_of"]),
        ],
        audit_rows=[
            ["学校", "学校标识码", "隐患编号"],
            *([h["name"], h["school_code"], h["ref"]] for h in data["hazards"]),
        ],
    )


# ---------------------------------------------------------------- a period's raw reports


#: Units whose figures add up over schools (people, meals, cases, money, quantities); days, weeks and rates
#: do not.
_SUMMED_UNITS = {"人", "人次", "件", "张", "起", "处", "次", "学时", "元", "m³", "kWh", "m²", "项"}


def report_fields(standard: str = STANDARD_ID) -> list[tuple[str, Field, str]]:
    """(JSON pointer, field, Chinese title) of every field of the standard ``standard`` a row shows, in the
    standard's order; the header's own ids (standard, report id, school code, period) go to the audit sheet
    instead. @2's fields follow @1's (a @1 report leaves them empty: not reported)."""
    out: list[tuple[str, Field, str]] = []
    for f in HEADER_FIELDS:
        if f.key in ("prepared_by", "prepared_at"):
            out.append((f"/{f.key}", f, f.label_zh))
    for section in sections_of(standard):
        for f in section.fields:
            title = f"{section.label_zh}·{f.label_zh}" + (f"（{f.unit}）" if f.unit else "")
            out.append((f"/{section.key}/{f.key}", f, title))
    return out


def _kind(f: Field) -> str:
    if f.kind == "money":
        return "money"
    if f.kind == "int":
        return "int"
    if f.kind == "quantity":
        return "number"
    return "text"


def report_columns(standard: str = STANDARD_ID) -> list[Column]:
    cols = [Column("学校"), Column("学区")]
    for _path, f, title in report_fields(standard):
        total = f.kind in ("int", "money", "quantity") and f.unit in _SUMMED_UNITS and f.key != "subsidy_rate"
        cols.append(Column(title, _kind(f), total=total))
    cols += [Column("隐患台账条数", "int", total=True), Column("按时报送"), Column("修订次数", "int")]
    return cols


def _pointer(content: dict[str, Any], path: str) -> Any:
    node: Any = content
    for part in path.split("/")[1:]:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def report_value(content: dict[str, Any], path: str, f: Field) -> Any:
    """One field of a report as a cell shows it: enums and lists in their Chinese labels, booleans 是/否."""
    value = _pointer(content, path)
    if value is None:
        return None
    if f.kind == "bool":
        return "是" if value else "否"
    if f.kind == "enum":
        return _zh(f.enum_name, value)
    if f.kind == "list":
        return "、".join(_zh(f.enum_name, v) for v in value)
    if f.kind == "tasks":  # @2's calendar.tasks: 任务编号（完成日期）、…
        return "、".join(f"{t.get('code')}（{t.get('done_on')}）" for t in value if isinstance(t, dict))
    return value


def period_reports(session: Session, county_code: str, period: str) -> dict[str, Any]:
    """Every effective report of ``period`` in the county (the newest accepted revision of each school), one
    entry per school, ordered by township then school code; each with its full content as stored."""
    rows = session.execute(
        select(ReportHead, ReportRevision, School.name, Township.name)
        .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
        .join(School, School.code == ReportHead.school_code)
        .join(Township, Township.id == School.township_id)
        .where(ReportHead.county_code == county_code, ReportHead.period == period)
        .order_by(School.code)
    ).all()
    order = township_order(session, county_code)  # the county's order of its townships, then school code
    rows = sorted(rows, key=lambda r: order(r[3]))
    contents = [json.loads(rev.content) for _head, rev, _name, _township in rows]
    # the standards of the month's reports: a month with any @2 report has every field of @2
    standards = sorted({c.get("standard") for c in contents if c.get("standard") in STANDARDS}) or [STANDARD_ID]
    standard = standards[-1]
    return {
        "county_code": county_code,
        "period": period,
        "standard": standard,
        "standards": standards,
        "fields": [
            {"path": path, "label": f.label_zh, "unit": f.unit, "title": title}
            for path, f, title in report_fields(standard)
        ],
        "reports": [
            {
                "school_code": head.school_code,
                "name": name,
                "township": township,
                "report_id": rev.report_id,
                "revision": rev.revision,
                "revisions": head.revisions,
                "on_time": head.on_time,
                "content_sha256": rev.content_sha256,
                "content": content,
            }
            for (head, rev, name, township), content in zip(rows, contents, strict=True)
        ],
    }


def reports_table(data: dict[str, Any], county_name: str) -> Table:
    standard = data.get("standard", STANDARD_ID)
    fields = report_fields(standard)
    rows = []
    for r in data["reports"]:
        content = r["content"]
        row = [r["name"], r["township"]]
        row += [report_value(content, path, f) for path, f, _title in fields]
        row += [len(content.get("hazards") or []), "是" if r["on_time"] else "否", r["revisions"]]
        rows.append(row)
    return Table(
        f"{data['period']} 月报",
        report_columns(standard),
        rows,
        audit=[
            ("县", f"{county_name}（{data['county_code']}）"),
            ("报表月份", data["period"]),
            ("数据标准", "、".join(data.get("standards") or [STANDARD_ID])),
        ],
        audit_rows=[
            ["学校", "学校标识码", "报表编号", "修订版本", "内容哈希（SHA-256）"],
            *(
                [r["name"], r["school_code"], r["report_id"], r["revision"], r["content_sha256"]]
                for r in data["reports"]
            ),
        ],
    )


def county_name(session: Session, county_code: str) -> str:
    county = session.get(County, county_code)
    return county.name if county else county_code
