"""The 后勤行事历 as the stored reports meet it: the tasks due for each revision by the calendar that judged it
(H1) and a county's month school by school (the county page and ``GET /api/v1/counties/<c>/calendar``). The
calendars themselves, and the month's tasks ingestion checks a report against, are ``district.duties``, which
sits below the report store; these read both, so they live here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar as reporting
from district.duties.services import calendar_by_version, calendar_in_force, done_codes, month_of
from district.registry.models import County, School, Township
from district.registry.services import township_order
from district.reports import windows
from district.reports.figures import INDEX, LAYOUT, ReportFigures, load_figures
from district.reports.models import ReportHead, ReportRevision


def due_codes(
    session: Session, revisions: Iterable[tuple[int, str]], recorded: Mapping[int, int | None]
) -> dict[int, tuple[str, ...]]:
    """Per revision id (of ``(revision id, period)`` pairs): the codes of the tasks due in its period's month
    by the calendar that judged it (the version recorded at its arrival, ``recorded``, as scoring's loader reads
    it; none recorded: the shipped default). SCORING.md H1: "a task is due in a month when the county's calendar
    (the version in force when the month's report arrived) lists it for that month"."""
    # a county's revisions share a few (calendar, month) pairs: each pair's codes are looked up once
    codes: dict[tuple[int | None, int], tuple[str, ...]] = {}
    out: dict[int, tuple[str, ...]] = {}
    for rid, period in revisions:
        key = (recorded.get(rid), month_of(period))
        found = codes.get(key)
        if found is None:
            found = codes[key] = calendar_by_version(session, key[0]).codes_of(key[1])
        out[rid] = found
    return out


# ------------------------------------------------------------------------------------------------ a county's month

#: A school's state for the month's calendar: reported in @2 (its tasks judged), in @1, or not at all.
STATUS_V2, STATUS_V1, STATUS_MISSING = "reported_v2", "reported_v1", "not_reported"


def month_status(session: Session, county_code: str, period: str, *, schools_where: Any = None) -> dict[str, Any]:
    """The 后勤行事历 of one county's month, school by school (the county page and
    ``GET /api/v1/counties/<c>/calendar``): ``tasks`` (the month's tasks in force now, then any task another
    version had due for a school's report), each with how many schools had it due and did it, in total and by
    township; ``schools`` (active in the period, by township then code), each with its status (``reported_v2``:
    its tasks due by the calendar that judged its report, and those done; ``reported_v1``: 未按新标准报送;
    ``not_reported``: 未报送) and ``townships`` (counts). Only schools whose month was sent in @2 count as done
    or not done. ``schools_where``: a clause on ``School`` (a township_admin's township). ``LookupError`` for an
    unknown county."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    # a break month, or a month before the county's reporting start, expects nobody (as completeness counts)
    start = windows.reporting_start(session, county)
    expects = month_of(period) not in county.break_month_set and (start is None or period >= start)
    in_force = calendar_in_force(session, county_code)
    month = month_of(period)
    rows = session.execute(
        select(School.code, School.name, School.opened, School.closed, Township.name)
        .join(Township, School.township_id == Township.id)
        .where(School.county_code == county_code, *(() if schools_where is None else (schools_where,)))
        .order_by(School.code)
    ).all()
    heads = {
        code: (figures, version_id, revision_id)
        for code, figures, version_id, revision_id in session.execute(
            select(ReportHead.school_code, ReportHead.figures, ReportRevision.calendar_version_id, ReportRevision.id)
            .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
            .where(ReportHead.county_code == county_code, ReportHead.period == period)
        )
    }
    tasks: dict[str, dict[str, Any]] = {}
    for t in in_force.tasks_of(month):
        tasks[t.code] = {**t.to_dict(), "category_zh": t.category_zh}
    key = township_order(session, county_code)
    schools: list[dict[str, Any]] = []
    for code, name, opened, closed, township in rows:
        if not reporting.in_active_range(opened, closed, period):  # as completeness: not expected, not listed
            continue
        entry: dict[str, Any] = {"school_code": code, "name": name, "township": township}
        head = heads.get(code)
        if head is None and not expects:
            continue
        if head is None:
            entry.update(status=STATUS_MISSING, due=[], done=[])
        else:
            stored, version_id, revision_id = head
            values = ReportFigures.from_stored(stored)
            if values is None:  # none stored (or of an older layout): the revision's content
                content = session.scalar(select(ReportRevision.content).where(ReportRevision.id == revision_id))
                values = load_figures(None, content)
            if values[0] != LAYOUT:
                entry.update(status=STATUS_V1, due=[], done=[])
            else:
                judged = calendar_by_version(session, version_id)
                due = judged.codes_of(month)
                for t in judged.tasks_of(month):
                    tasks.setdefault(t.code, {**t.to_dict(), "category_zh": t.category_zh})
                entry.update(
                    status=STATUS_V2, due=list(due), done=list(done_codes(values[INDEX["calendar.tasks"]], due))
                )
        schools.append(entry)
    schools.sort(key=lambda s: (key(s["township"]), s["school_code"]))

    township_names = sorted({s["township"] for s in schools}, key=key)
    out_tasks = []
    for code, listed in tasks.items():
        by_township = []
        total_due = total_done = 0
        for name in township_names:
            n_due = sum(1 for s in schools if s["township"] == name and code in s["due"])
            n_done = sum(1 for s in schools if s["township"] == name and code in s["done"])
            by_township.append({"township": name, "due": n_due, "done": n_done})
            total_due += n_due
            total_done += n_done
        out_tasks.append({**listed, "due": total_due, "done": total_done, "by_township": by_township})
    townships = []
    for name in township_names:
        mine = [s for s in schools if s["township"] == name]
        townships.append(
            {
                "township": name,
                "schools": len(mine),
                "reported_v2": sum(1 for s in mine if s["status"] == STATUS_V2),
                "reported_v1": sum(1 for s in mine if s["status"] == STATUS_V1),
                "not_reported": sum(1 for s in mine if s["status"] == STATUS_MISSING),
                "tasks_due": sum(len(s["due"]) for s in mine),
                "tasks_done": sum(len(s["done"]) for s in mine),
            }
        )
    return {
        "county_code": county_code,
        "period": period,
        "calendar": {
            "version": None if in_force.is_default else in_force.version,
            "default": in_force.is_default,
            "source": in_force.source,
        },
        "tasks": out_tasks,
        "townships": townships,
        "schools": schools,
    }
