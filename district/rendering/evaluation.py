"""What the evaluation reports (评估报告) print: context builders for ``school_evaluation.html`` and
``county_summary.html``.

Every figure comes from a service; nothing here scores anything:

- the score, grade, status, rank, coverage, flags and indicator rows: the ranking snapshot the job pinned
  (``district.scoring.snapshots.school_view`` / ``ranking_view``: the one scoring engine's output);
- month-by-month reporting: ``ReportHead`` (``on_time``, ``first_received_at``) against the engine's expected
  months; deadlines from ``houqin_standard.period_deadline`` with the county's deadline day;
- the hazard rectification list (整改清单): ``district.reports.hazards.hazard_ledger``;
- the fund summary and its anomalies: ``district.nutrition.services.school_fund_history`` (the fund engine);
- completeness and timeliness by township: ``district.reports.completeness.county_completeness``;
- campaign progress: ``district.scoring.campaign.county_campaign_progress``;
- the chain head digest: ``district.integrity.heads.county_heads`` (pinned by the job when it starts);
- area rates and the county's area means (the seven-area chart and its dashed reference), schools per grade
  and per status, the indicators most often below 60 %: ``district.scoring.summaries`` over the snapshot's rows.

What is added here is presentation only (percentages, charts, labels). The indicator rows and the
flags are put in words by the one catalog of explanations (``district.scoring.explain_text``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import caches, calendar
from district.calendar import Window, round_half_up
from district.glossary import term
from district.printing.charts import bar_chart_svg, radar_chart_svg
from district.printing.templating import period_zh, render_html
from district.registry.models import County, School, Township
from district.registry.services import township_order
from district.reports import windows
from district.reports.completeness import county_completeness
from district.reports.hazards import LedgerEntry, hazard_ledger
from district.reports.models import ReportHead, ReportRevision
from district.scoring import county_rubrics, snapshots, summaries
from district.scoring.engine import STATUS_LABELS
from district.scoring.explain_text import flag_text, render_row
from district.scoring.models import RankingSnapshot
from houqin_standard import SHANGHAI, STANDARD_ID
from houqin_standard.fields import ENUM_LABELS

__all__ = [
    "COUNTY_TEMPLATE",
    "SCHOOL_TEMPLATE",
    "Verification",
    "county_summary_context",
    "county_summary_html",
    "flag_zh",
    "indicator_text",
    "school_evaluation_context",
    "school_evaluation_html",
    "window_label",
]

SCHOOL_TEMPLATE = "school_evaluation.html"
COUNTY_TEMPLATE = "county_summary.html"
#: Periods per table of the township completeness grid (more would not fit an A4 landscape page).
PERIODS_PER_TABLE = 12


@dataclass(frozen=True)
class Verification:
    """What a PDF says about itself: its document number, when it was made, the chain heads it was built on and
    where to check it. The file's own SHA-256 cannot be printed inside it; the hub records it after rendering."""

    document_no: str
    made_at: dt.datetime
    chain_digest: str
    verify_base: str | None = None
    job_id: int | None = None

    @property
    def url_pattern(self) -> str:
        base = (self.verify_base or "").rstrip("/")
        return f"{base}/verify/<本文件的 SHA-256>"


def window_label(window: Window) -> str:
    """``"2026年1月—2026年10月"`` (one month: ``"2026年10月"``)."""
    if window.period_from == window.period_to:
        return period_zh(window.period_from)
    return f"{period_zh(window.period_from)}—{period_zh(window.period_to)}"


def verify_address(verification: Verification) -> str | None:
    """The plain address printed in every page's footer (``PUBLIC_URL`` + ``/verify/``), or ``None``."""
    base = (verification.verify_base or "").rstrip("/")
    return f"{base}/verify/" if base else None


def audit_rows(verification: Verification, snapshot: RankingSnapshot, county: County) -> list[tuple[str, str]]:
    """The 审计信息 appendix's rows (templates/pdf/base.html): what verification and audit need and the face of
    an official document does not show (issue 17) — document number, ISO time, job, codes, ids, digests."""
    rows = [
        (term("document_no"), verification.document_no),
        (term("generated_at"), verification.made_at.astimezone(SHANGHAI).isoformat(timespec="seconds")),
    ]
    if verification.job_id:
        rows.append(("生成任务", f"#{verification.job_id}"))
    rows += [
        ("行政区划代码", county.code),
        (term("standard_id"), STANDARD_ID),
        ("评分细则版本", snapshot.rubric_version),
        (term("snapshot"), f"#{snapshot.id}，计算于 {_iso_shanghai(snapshot.computed_at, False)}"),
        (term("chain_digest"), verification.chain_digest),
        (term("verify_url"), verification.url_pattern),
    ]
    return rows


def _iso_shanghai(t: dt.datetime, seconds: bool = True) -> str:
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _percent(ratio: Fraction | None, places: int = 1) -> Decimal | None:
    return None if ratio is None else round_half_up(ratio * 100, places)


def exact_display(text: str | None, places: int = 4) -> str | None:
    """An exact engine figure for print: ``"45"`` as it is, ``"325800/82397"`` as ``"≈ 3.9541"``."""
    if text is None or "/" not in text:
        return text
    return f"≈ {round_half_up(Fraction(text), places):f}"


# ------------------------------------------------------------------------------------------------ labels

_SEVERITY_ZH = {"major": "重大", "general": "一般"}


def indicator_text(ind: Mapping[str, Any]) -> dict[str, Any]:
    """An indicator row's words for print (the one catalog, ``district.scoring.explain_text``): the leading
    sentence, the formula line and the figures used."""
    text = render_row(ind, "zh")
    return {"sentence": text.sentence, "formula": text.formula, "figures": text.inputs}


def flag_zh(flag: str) -> str:
    """A ranking flag in words (``district.scoring.explain_text.flag_text``)."""
    return flag_text(flag, "zh")


# ------------------------------------------------------------------------------------------------ areas


@dataclass(frozen=True)
class SnapshotFacts:
    """What every school report of one ranking snapshot shares: its rows (parsed once) and the county's area
    means. Snapshots are never updated, so a worker keeps the last few in memory: a batch of 300 schools
    parses the snapshot's rows and averages the areas once per process, not 300 times."""

    results: list[dict[str, Any]]
    areas: list[tuple[str, str]]
    means: dict[str, Fraction]


_FACTS = caches.cache("rendering.snapshot_facts", 4)


def snapshot_facts(session: Session, snapshot: RankingSnapshot) -> SnapshotFacts:
    key = (snapshot.id, snapshot.computed_at, snapshot.registry_sha256)

    def make() -> SnapshotFacts:
        results: list[dict[str, Any]] = snapshots.snapshot_rows(session, snapshot)
        return SnapshotFacts(results, summaries.rubric_areas(results), summaries.county_area_means(results))

    facts: SnapshotFacts = _FACTS.get_or_make(key, make)
    return facts


def _area_chart(row: Mapping[str, Any], facts: SnapshotFacts) -> tuple[Any, list[dict[str, Any]]]:
    areas = facts.areas
    mine = summaries.area_rates(row)
    means = facts.means
    table: list[dict[str, Any]] = []
    for code, label in areas:
        earned, available = mine.get(code, (Fraction(0), Fraction(0)))
        rate = earned / available if available > 0 else None
        table.append(
            {
                "label": label,
                "earned": round_half_up(earned, 2) if available > 0 else None,
                "available": round_half_up(available, 2),
                "rate": _percent(rate),
                "county_rate": _percent(means.get(code)),
            }
        )
    if len(areas) < 3 or not row.get("indicators"):
        return None, table
    chart = radar_chart_svg(
        [(t["label"], t["rate"], 100) for t in table],
        width=520,
        height=330,
        reference=[t["county_rate"] for t in table],
        series_label="本校得分率（%）",
        reference_label="全县平均得分率（%）",
    )
    return chart, table


# ------------------------------------------------------------------------------------------------ school


def _school(session: Session, school_code: str) -> tuple[School, str, County]:
    row = session.execute(
        select(School, Township.name)
        .join(Township, Township.id == School.township_id)
        .where(School.code == school_code)
    ).first()
    if row is None:
        raise LookupError(school_code)
    school, township = row
    county = session.get(County, school.county_code)
    assert county is not None
    return school, township, county


def _month_rows(
    session: Session, school: School, county: County, window: Window, expected: Iterable[str], now: dt.datetime
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    heads = {
        h.period: h
        for h in session.scalars(
            select(ReportHead).where(
                ReportHead.school_code == school.code,
                ReportHead.period >= window.period_from,
                ReportHead.period <= window.period_to,
            )
        )
    }
    expected_set = set(expected)
    start = windows.reporting_start(session, county)
    counts = {"expected": 0, "on_time": 0, "late": 0, "missing": 0, "pending": 0}
    rows = []
    for period in window.periods:
        deadline = calendar.deadline(county, period)
        head = heads.get(period)
        row: dict[str, Any] = {
            "period": period,
            "deadline": deadline.astimezone(SHANGHAI).date(),
            "first_received_at": _iso_shanghai(head.first_received_at, False) if head else None,
            "revisions": head.revisions if head else None,
            "revision_id": head.revision_id if head else None,
            "days_late": None,
        }
        if period not in expected_set:
            if start is not None and period < start:
                row.update(state="not_started", label="平台上线前，不需报送")
            elif int(period[5:7]) in county.break_month_set:
                row.update(state="break", label="假期，不需报送")
            else:
                row.update(state="inactive", label="不在办学期内")
        elif head is not None:
            counts["expected"] += 1
            if head.on_time:
                counts["on_time"] += 1
                row.update(state="on_time", label="按时")
            else:
                counts["late"] += 1
                late = calendar.days_late(row["deadline"], first_received_at=head.first_received_at)
                row.update(state="late", label="逾期", days_late=late)
        elif now > deadline:
            counts["expected"] += 1
            counts["missing"] += 1
            late = calendar.days_late(row["deadline"], on=now.astimezone(SHANGHAI).date())
            row.update(state="missing", label="未报送", days_late=late)
        else:
            counts["expected"] += 1
            counts["pending"] += 1
            row.update(state="pending", label="未到截止日期")
        rows.append(row)
    return rows, counts


def _hazard_rows(
    session: Session, school_code: str, window: Window, as_of: dt.date
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The 整改清单: ledger entries open on ``as_of`` or rectified inside the window, overdue first."""
    entries: list[LedgerEntry] = [
        e
        for e in hazard_ledger(session, school_code=school_code, as_of_period=window.period_to)
        if e.found_on <= as_of
        and (e.is_open(as_of) or (e.rectified_on is not None and e.rectified_on >= window.first_day))
    ]

    def order(e: LedgerEntry) -> tuple[int, int, int, str]:
        overdue = e.days_overdue(as_of)
        rank = 0 if overdue else (1 if e.is_open(as_of) else 2)
        return (rank, e.severity != "major", -overdue, e.ref)

    rows = []
    counts = {"total": 0, "open": 0, "overdue": 0, "overdue_major": 0, "rectified": 0}
    for e in sorted(entries, key=order):
        overdue = e.days_overdue(as_of)
        counts["total"] += 1
        if e.is_open(as_of):
            counts["open"] += 1
            if overdue:
                counts["overdue"] += 1
                counts["overdue_major"] += e.severity == "major"
            state, label = ("overdue", f"逾期 {overdue} 天") if overdue else ("open", "整改中")
        else:
            counts["rectified"] += 1
            state, label = "rectified", "已整改"
        rows.append(
            {
                "ref": e.ref,
                "category": ENUM_LABELS["hazard_category"].get(e.category, (e.category, ""))[0],
                "severity": e.severity,
                "severity_zh": _SEVERITY_ZH.get(e.severity, e.severity),
                "description": e.description,
                "found_on": e.found_on,
                "deadline": e.deadline,
                "rectified_on": e.rectified_on if e.rectified_on and e.rectified_on <= as_of else None,
                "state": state,
                "label": label,
                "period": e.period,
                "revision_id": e.revision_id,
            }
        )
    return rows, counts


def _fund(session: Session, school_code: str, window: Window) -> dict[str, Any]:
    from district.nutrition import services as nutrition

    try:
        history = nutrition.school_fund_history(session, school_code, window.period_from, window.period_to)
    except nutrition.WindowError as exc:
        return {"available": False, "reason": exc.zh, "totals": None, "anomalies": []}
    totals = history.totals.to_dict("zh") if history.totals is not None else None
    anomalies = [
        {"period": a.period, "code": a.code, "name": a.name_zh, "message": a.zh, "sentence": a.sentence("zh")}
        for m in history.months
        for a in m.anomalies
    ]
    return {
        "available": True,
        "reason": None,
        "totals": totals,
        "anomalies": anomalies,
        "standard_rate": history.standard_rate,
        "supply_mode": (
            ENUM_LABELS["supply_mode"].get(totals["supply_mode"], (totals["supply_mode"], ""))[0]
            if totals and totals.get("supply_mode")
            else None
        ),
    }


def _revisions(session: Session, revision_ids: Iterable[int]) -> list[dict[str, Any]]:
    ids = sorted(set(revision_ids))
    if not ids:
        return []
    rows = session.scalars(select(ReportRevision).where(ReportRevision.id.in_(ids)))
    return [
        {
            "id": r.id,
            "period": r.period,
            "revision": r.revision,
            "received_at": _iso_shanghai(r.received_at),
            "content_sha256": r.content_sha256,
            "chain_seq": r.chain_seq,
            "chain_hash": r.chain_hash,
        }
        for r in sorted(rows, key=lambda r: (r.period, r.revision, r.id))
    ]


def school_evaluation_context(
    session: Session,
    snapshot: RankingSnapshot,
    school_code: str,
    verification: Verification,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Everything ``school_evaluation.html`` prints for one school, from ``snapshot`` (the pinned ranking).

    Raises ``LookupError`` (unknown school) or ``district.scoring.snapshots.NotRanked`` (no expected month in the
    snapshot's window, so the engine did not list it).
    """
    school, township, county = _school(session, school_code)
    if school.county_code != snapshot.county_code:
        raise LookupError(school_code)
    now = now or verification.made_at
    window = Window(snapshot.period_from, snapshot.period_to)
    facts = snapshot_facts(session, snapshot)
    results = facts.results
    # the service's view of one school: its indicator rows explained from the snapshot's pinned inputs
    row = snapshots.school_view(session, snapshot, school_code)
    chart, areas = _area_chart(row, facts)
    months, month_counts = _month_rows(session, school, county, window, row.get("expected_periods") or (), now)
    as_of = min(window.last_day, now.astimezone(SHANGHAI).date())
    hazards, hazard_counts = _hazard_rows(session, school.code, window, as_of)
    indicators = []
    revision_ids: list[int] = []
    for ind in row.get("indicators") or ():
        revision_ids += ind["revision_ids"]
        indicators.append({**ind, **indicator_text(ind)})
    schools_ranked = row["schools_ranked"]
    same_type = sum(1 for r in results if r["type"] == row["type"] and r.get("rank") is not None)
    return {
        "kind": "school_evaluation",
        "school": {
            "code": school.code,
            "name": school.name,
            "type": ENUM_LABELS["school_type"].get(school.type, (school.type, ""))[0],
            "township": township,
            "boarding": school.boarding,
        },
        "county": county.name,
        "county_name": county.name,
        "county_code": county.code,
        "window": window_label(window),
        "window_from": window.period_from,
        "window_to": window.period_to,
        "generated_at": verification.made_at,
        "standard_id": STANDARD_ID,
        "score": row,
        "status_zh": STATUS_LABELS.get(row["status"], (row["status"], ""))[0],
        "coverage": Decimal(row["coverage"]),
        "earned_total": exact_display(row.get("earned_total")),
        "available_total": exact_display(row.get("available_total")),
        "flags": [flag_zh(f) for f in row["flags"]],
        "schools_ranked": schools_ranked,
        "schools_same_type": same_type,
        "indicators": indicators,
        "area_chart": chart,
        "areas": areas,
        "months": months,
        "month_counts": month_counts,
        "hazards": hazards,
        "hazard_counts": hazard_counts,
        "hazards_as_of": as_of,
        "fund": _fund(session, school.code, window),
        "revisions": _revisions(session, revision_ids),
        "snapshot": {
            "id": snapshot.id,
            "computed_at": _iso_shanghai(snapshot.computed_at, False),
            "rubric_version": snapshot.rubric_version,
        },
        "verification": verification,
        "audit": audit_rows(verification, snapshot, county),
        "verify_address": verify_address(verification),
    }


def school_evaluation_html(context: Mapping[str, Any]) -> str:
    return render_html(SCHOOL_TEMPLATE, **context)


# ------------------------------------------------------------------------------------------------ county


def completeness_tables(session: Session, county_code: str, window: Window, now: dt.datetime) -> list[dict[str, Any]]:
    """The completeness service's figures per township and period, cut into tables of 12 periods."""
    per_period = [county_completeness(session, county_code, p, now=now).to_dict() for p in window.periods]
    by_township = [{t["township"]: t for t in c["by_township"]} for c in per_period]
    townships = sorted({name for d in by_township for name in d}, key=township_order(session, county_code))
    tables = []
    for start in range(0, len(per_period), PERIODS_PER_TABLE):
        chunk = range(start, min(start + PERIODS_PER_TABLE, len(per_period)))
        rows = []
        for name in townships:
            cells = []
            for i in chunk:
                cell = by_township[i].get(name)
                cells.append(None if per_period[i]["break_month"] or not cell or not cell["expected"] else cell)
            rows.append({"township": name, "cells": cells})
        total = [
            None if per_period[i]["break_month"] or not per_period[i]["expected"] else per_period[i] for i in chunk
        ]
        tables.append(
            {
                "periods": [per_period[i]["period"] for i in chunk],
                "breaks": [per_period[i]["break_month"] for i in chunk],
                "rows": rows,
                "total": total,
            }
        )
    return tables


def county_summary_context(
    session: Session, snapshot: RankingSnapshot, verification: Verification, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Everything ``county_summary.html`` prints for the county of ``snapshot`` (the pinned ranking)."""
    county = session.get(County, snapshot.county_code)
    if county is None:
        raise LookupError(snapshot.county_code)
    now = now or verification.made_at
    window = Window(snapshot.period_from, snapshot.period_to)
    view = snapshots.ranking_view(session, snapshot)
    results: list[dict[str, Any]] = snapshots.snapshot_rows(session, snapshot)
    # the campaign progress of the pinned ranking itself: one figure per page, the same as the ranking's
    progress = {"county_code": county.code, "window": view["window"], **dict(snapshot.campaign)}
    rubric = county_rubrics.county_rubric(session, county)
    grades = [g.zh for g in rubric.grades] if rubric.version == snapshot.rubric_version else []
    distribution = summaries.grade_distribution(results, grades or sorted({r["grade"] for r in results if r["grade"]}))
    total = len(results)
    chart = None
    if total:
        chart = bar_chart_svg(
            [(d["grade"].split("（")[0], d["count"], total) for d in distribution],
            width=330,  # printed at about its own size in its column: text stays 8 pt
            title="",
            value_format=lambda v, m: f"{v} 所",
        )
    status_counts = summaries.status_counts(results)
    statuses = [
        {"status": code, "label": zh, "count": status_counts.get(code, 0)} for code, (zh, _en) in STATUS_LABELS.items()
    ]
    rows = [
        {
            **r,
            "type_zh": ENUM_LABELS["school_type"].get(r["type"], (r["type"], ""))[0],
            "status_zh": STATUS_LABELS.get(r["status"], (r["status"], ""))[0],
            "missing": sum(1 for f in r["flags"] if f.startswith("missing:")),
            "awaiting_inspection": flag_zh("awaiting_inspection") if "awaiting_inspection" in r["flags"] else None,
            "veto": [flag_zh(f) for f in r["flags"] if f.startswith("veto:")],
        }
        for r in view["schools"]
    ]
    return {
        "kind": "county_summary",
        "county": county.name,
        "county_name": county.name,
        "county_code": county.code,
        "window": window_label(window),
        "window_from": window.period_from,
        "window_to": window.period_to,
        "generated_at": verification.made_at,
        "standard_id": STANDARD_ID,
        "rows": rows,
        "schools_listed": total,
        "schools_ranked": summaries.schools_ranked(results),
        "progress": progress,
        "distribution": distribution,
        "grade_chart": chart,
        "statuses": statuses,
        "failing": summaries.failing_indicators(results),
        "failing_share": round_half_up(summaries.FAILING_SHARE, 2),
        "completeness": completeness_tables(session, county.code, window, now),
        "snapshot": {
            "id": snapshot.id,
            "computed_at": _iso_shanghai(snapshot.computed_at, False),
            "rubric_version": snapshot.rubric_version,
        },
        "verification": verification,
        "audit": audit_rows(verification, snapshot, county),
        "verify_address": verify_address(verification),
    }


def county_summary_html(context: Mapping[str, Any]) -> str:
    return render_html(COUNTY_TEMPLATE, **context)
