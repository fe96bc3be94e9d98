"""The county's 重大预警 of a period (API.md ``GET /api/v1/counties/<county>/alerts``): what needs a director.

No rule of its own: each kind is another engine's finding, read as it is.

- ``veto`` 一票否决: the ranking over the year to date of the period (January of its year up to it, clipped and
  capped by the calendar as every window) says which schools are vetoed and why (their ``veto:<field>=<Σ>``
  flags); the alert names each month whose effective report carries a count of that field, so a director sees
  when it happened. One alert per (school, cause, month).
- ``overdue_major_hazard`` 重大隐患逾期: the hazard ledger as it stood at the period (``as_of_period``), entries
  of severity ``major`` still open on the period's last day and past their deadline.
- ``misuse`` 挪用补助资金: the fund engine's ``MISUSE`` anomalies of the period.

Most serious first: vetoes, then overdue major hazards (most days overdue first), then misuse; within a kind
by period, then school code. Reads only: the ranking comes from ``ranking_for_read`` (never stored here).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar, readcache
from district.registry.models import County, School
from district.reports import windows
from district.reports.figures import INDEX, load_figures
from district.reports.models import ReportHead, ReportRevision
from houqin_standard import fund_text
from houqin_standard.fields import SECTIONS_BY_KEY
from houqin_standard.periods import parse_period

_ASK = object()  # "not given: read it"

KIND_VETO = "veto"
KIND_OVERDUE_MAJOR_HAZARD = "overdue_major_hazard"
KIND_MISUSE = "misuse"
KINDS = (KIND_VETO, KIND_OVERDUE_MAJOR_HAZARD, KIND_MISUSE)  # most serious first

BAND_NAME = ("重大预警", "Major alerts")
NO_ALERT = (
    "本期没有一票否决、逾期未整改的重大隐患或挪用补助资金。",
    "No veto, overdue major hazard or misuse of funds this period.",
)

#: the kinds' names on a page (zh, en)
KIND_NAMES = {
    KIND_VETO: ("一票否决", "Veto"),
    KIND_OVERDUE_MAJOR_HAZARD: ("重大隐患逾期未整改", "Major hazard overdue"),
    KIND_MISUSE: ("挪用补助资金", "Misuse of subsidy funds"),
}


@dataclass(frozen=True)
class Alert:
    kind: str
    school_code: str
    name: str
    period: str
    message: str
    figures: dict[str, Any] = field(default_factory=dict)
    cause: str | None = None  # veto only: the veto field's own name (poisoning_incidents, ...)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "school_code": self.school_code,
            "name": self.name,
            "period": self.period,
            "message": self.message,
            "figures": dict(self.figures),
        }
        if self.kind == KIND_VETO:
            out["cause"] = self.cause
        return out


def last_day(period: str) -> dt.date:
    return calendar.Window(period, period).last_day


#: the default rubric's veto causes as a sentence says them; a county rubric's other veto field: its label
_CAUSES_ZH = {
    "poisoning_incidents": ("食物中毒事件", "起"),
    "major_accidents": ("重大安全责任事故", "起"),
    "improper_fee_cases": ("查实乱收费", "件"),
}


def _label(field_name: str) -> tuple[str, str]:
    section, _, key = field_name.partition(".")
    if key in _CAUSES_ZH:
        return _CAUSES_ZH[key]
    try:
        f = SECTIONS_BY_KEY[section].field(key)
    except KeyError:
        return key, ""
    return f.label_zh, f.unit


def year_to_date_ranking(session: Session, county: County, period: str) -> Any:
    """The ranking a read shows over the year to date of ``period`` (January of its year up to it, clipped to
    the county's reporting start and capped at its latest closed period), or ``None`` when no month of it can
    be counted yet."""
    from district.scoring.tasks import ranking_for_read

    try:
        window = windows.resolve_window(session, county, period_to=period)
    except calendar.WindowError:
        return None
    return ranking_for_read(session, county.code, window, trigger="alerts")


def veto_alerts(session: Session, county: County, period: str, snapshot: Any = _ASK) -> list[Alert]:
    """The vetoed schools of the year to date of ``period``, one alert per (school, cause, month).
    ``snapshot``: that ranking when the caller has it already (``year_to_date_ranking``)."""
    from district.scoring import county_rubrics

    if snapshot is _ASK:
        snapshot = year_to_date_ranking(session, county, period)
    if snapshot is None:
        return []  # nothing of that year can be counted yet (before the reporting start)
    window = calendar.Window(snapshot.period_from, snapshot.period_to)
    vetoed = [r for r in snapshot.results if r["status"] == "veto"]
    if not vetoed:
        return []
    rubric = county_rubrics.snapshot_rubric(session, snapshot)
    by_leaf = {name.rpartition(".")[2]: name for name in rubric.veto_fields}
    causes: dict[str, list[str]] = {}
    for r in vetoed:
        for flag in r["flags"]:
            if flag.startswith("veto:"):
                leaf = flag[5:].partition("=")[0]
                if leaf in by_leaf:
                    causes.setdefault(r["school_code"], []).append(by_leaf[leaf])
    rows = session.execute(
        select(ReportHead.school_code, ReportHead.period, ReportHead.figures, ReportRevision.content)
        .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
        .where(
            ReportHead.county_code == county.code,
            ReportHead.school_code.in_(list(causes)),
            ReportHead.period >= window.period_from,
            ReportHead.period <= window.period_to,
        )
        .order_by(ReportHead.period, ReportHead.school_code)
    ).all()
    names = {r["school_code"]: r["name"] for r in vetoed}
    out: list[Alert] = []
    for school_code, month, figures, content in rows:
        values = load_figures(figures, content)
        for name in causes[school_code]:
            count = values[INDEX[name]] if name in INDEX else None
            if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
                continue
            what, unit = _label(name)
            leaf = name.rpartition(".")[2]
            out.append(
                Alert(
                    KIND_VETO,
                    school_code,
                    names[school_code],
                    month,
                    f"{names[school_code]}：{_month_zh(month)}报告{what} {count} {unit}，一票否决，不参加本年度排名",
                    {leaf: count},
                    cause=leaf,
                )
            )
    return out


def overdue_major_hazard_alerts(session: Session, county: County, period: str) -> list[Alert]:
    """Major hazards of the ledger as it stood at ``period``, open and past their deadline on its last day."""
    on = last_day(period)
    entries = readcache.overdue_major_hazards(session, county, period, on)
    entries.sort(key=lambda e: (-e.days_overdue(on), e.school_code, e.ref))
    return [
        Alert(
            KIND_OVERDUE_MAJOR_HAZARD,
            e.school_code,
            e.school_name,
            period,
            f"{e.school_name}：重大隐患“{e.description}”整改期限 {_date_zh(e.deadline)}，"
            f"至 {_date_zh(on)}仍未整改，已逾期 {e.days_overdue(on)} 天",
            {
                "ref": e.ref,
                "category": e.category,
                "found_on": e.found_on.isoformat(),
                "deadline": e.deadline.isoformat(),
                "days_overdue": e.days_overdue(on),
                "reported_in": e.period,
            },
        )
        for e in entries
    ]


def misuse_alerts(session: Session, county: County, period: str, anomalies: Any = _ASK) -> list[Alert]:
    """The fund engine's ``MISUSE`` anomalies of ``period`` (``anomalies``: the period's anomalies when the
    caller has them already, ``nutrition.services.county_period_anomalies``)."""
    if anomalies is _ASK:
        anomalies = readcache.period_anomalies(session, county, period)
    found = [a for a in anomalies if a.code == "MISUSE"]
    if not found:
        return []
    names = dict(
        session.execute(select(School.code, School.name).where(School.code.in_({a.school_code for a in found})))
        .tuples()
        .all()
    )
    out = []
    for a in sorted(found, key=lambda a: a.school_code):
        name = names.get(a.school_code, a.school_code)
        said = f"{fund_text.sentence(a.code, a.figures)}（{fund_text.name(a.code)}）"  # the fund anomalies' catalog
        out.append(
            Alert(KIND_MISUSE, a.school_code, name, a.period, f"{name}：{_month_zh(a.period)}{said}", dict(a.figures))
        )
    return out


def county_alerts(
    session: Session, county: County, period: str, *, snapshot: Any = _ASK, anomalies: Any = _ASK
) -> list[Alert]:
    """Every alert of ``county`` for ``period``, most serious first (module docstring). ``snapshot`` and
    ``anomalies``: the year-to-date ranking and the period's fund anomalies, when the caller has them."""
    return [
        *veto_alerts(session, county, period, snapshot),
        *overdue_major_hazard_alerts(session, county, period),
        *misuse_alerts(session, county, period, anomalies),
    ]


def _month_zh(period: str) -> str:
    y, m = parse_period(period)
    return f"{y} 年 {m} 月"


def _date_zh(day: dt.date) -> str:
    return f"{day.year} 年 {day.month} 月 {day.day} 日"
