"""下载中心 (``/downloads``): every PDF job of the signed-in user, in words, with its files (the evaluation reports,
and the 营养餐 fund report asked for on the fund page).

The rows are ``GET /api/v1/jobs``'s (``district.rendering.api.user_job_views``), told in plain Chinese: what the
job is (the county batch or the school), its window (2026年9月—2026年11月), its state, progress with an estimate
of the time left, and its files as links named for their content (the county zip first). The links are the job
file URLs, so they survive a reload. No id, hash or ISO time is shown on the face of the page. While a job is
unfinished the page asks to be read again (``app.js`` swaps the rows; a ``<meta refresh>`` without script).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, render_template
from flask_babel import gettext as _
from sqlalchemy import select

from district.dashboard.errors import register_page_errors
from district.dashboard.i18n import lang
from district.dashboard.views import signed_in
from district.db import db
from district.registry.models import County, School
from district.rendering.models import KIND_COUNTY, KIND_EXPORT, KIND_FUND
from houqin_standard import SHANGHAI

bp = Blueprint("downloads", __name__)

#: Seconds between two reads of the page while a job is unfinished (script and <meta refresh> alike).
REFRESH_S = 5


def month_words(period: str) -> str:
    """``"2026-09"`` → ``"2026年9月"`` (English: ``"Sep 2026"``)."""
    year, month = int(period[:4]), int(period[5:7])
    if lang() == "en":
        return dt.date(year, month, 1).strftime("%b %Y")
    return f"{year}年{month}月"


def window_words(frm: str, to: str) -> str:
    """The window as people write it: ``2026年9月—2026年11月``, one month alone when from = to."""
    return month_words(frm) if frm == to else f"{month_words(frm)}—{month_words(to)}"


def time_words(iso: str | None) -> str:
    """An ISO time of the API → ``2026年12月7日 11:20`` (Beijing time); English ``7 Dec 2026 11:20``."""
    if not iso:
        return ""
    t = dt.datetime.fromisoformat(iso).astimezone(SHANGHAI)
    if lang() == "en":
        return f"{t.day} {t.strftime('%b %Y %H:%M')}"
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def duration_words(seconds: int | None) -> str:
    """``约 3 分钟`` / ``不到 1 分钟``: the estimate, rounded up to the minute."""
    if seconds is None:
        return ""
    if seconds < 60:
        return _("less than a minute")
    minutes = -(-seconds // 60)
    if minutes < 90:
        return _("about %(n)d min", n=minutes)
    return _("about %(h)d h %(m)d min", h=minutes // 60, m=minutes % 60)


def size_words(size: int | None) -> str:
    if not size:
        return ""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def failure_words(message: str | None) -> str:
    """Why a job failed, in the page's language: the hub's bilingual messages (``中文 / English``) give their
    half; anything else (a render error's text) is not for the page, which says what to do instead."""
    if message and " / " in message:
        zh, en = message.split(" / ", 1)
        if ": " not in zh[:80]:  # "file.pdf: RenderError: …" is a technical message, not a bilingual one
            return en if lang() == "en" else zh
    return _("a report could not be made; please ask again")


def state_words(state: str) -> str:
    """排队中 / 生成中 / 已完成 / 失败."""
    return {"queued": _("Queued"), "running": _("Being made"), "done": _("Ready"), "failed": _("Failed")}.get(
        state, state
    )


def job_rows(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API's job views as the page's rows (names looked up once for every job)."""
    s = db.session()
    codes = {f.get("school_code") for v in views for f in v["files"]} | {v.get("school_code") for v in views}
    codes.discard(None)
    names = (
        dict(s.execute(select(School.code, School.name).where(School.code.in_(codes))).tuples().all()) if codes else {}
    )
    county_codes = {v["county_code"] for v in views}
    counties = (
        dict(s.execute(select(County.code, County.name).where(County.code.in_(county_codes))).tuples().all())
        if county_codes
        else {}
    )
    rows = []
    for v in views:
        county = counties.get(v["county_code"], "")
        if v["school_code"]:
            what = names.get(v["school_code"], "")
            detail = _("School evaluation report")
        elif v.get("kind") == "fund":
            what = _("Nutrition fund report: %(county)s", county=county)
            detail = _("The schools' subsidy reconciliation")
        elif v.get("kind") == "export":
            what = _("Monthly reports: %(county)s", county=county)
            detail = _("Every school's report of the month, one row per school")
        else:
            what = _("County summary: %(county)s", county=county)
            detail = _("The summary and every school's report")
        files = []
        for f in v["files"]:
            if f.get("kind") == "zip":
                label = _("Every report of %(county)s (zip, %(n)d PDFs)", county=county, n=v["total"])
            elif f.get("kind") == KIND_FUND:
                label = _("%(county)s nutrition fund report", county=county)
            elif f.get("kind") == KIND_EXPORT:
                spreadsheet = _("CSV") if f["name"].endswith(".csv") else _("Excel")
                label = _("%(county)s monthly reports (%(format)s)", county=county, format=spreadsheet)
            elif f.get("kind") == KIND_COUNTY:
                label = _("%(county)s evaluation summary", county=county)
            else:
                label = _("%(school)s evaluation report", school=names.get(f.get("school_code") or "", ""))
            main = f.get("kind") in ("zip", KIND_COUNTY, KIND_FUND, KIND_EXPORT) or bool(v["school_code"])
            files.append({"label": label, "url": f["url"], "size": size_words(f.get("size")), "main": main})
        rows.append(
            {
                "what": what,
                "detail": detail,
                "window": window_words(v["window"]["from"], v["window"]["to"]),
                "asked": time_words(v.get("created_at")),
                "finished": time_words(v.get("finished_at")),
                "state": v["state"],
                "state_words": state_words(v["state"]),
                "reason": failure_words(v.get("error")) if v["state"] == "failed" else "",
                "done": v["done"],
                "total": v["total"],
                "left": duration_words(v.get("seconds_left")),
                "main_files": [f for f in files if f["main"]],
                "school_files": [f for f in files if not f["main"]],
            }
        )
    return rows


@bp.get("/downloads")
@signed_in
def downloads() -> Any:
    """下载中心: the user's PDF jobs (the newest 50)."""
    from district.rendering.api import user_job_views

    rows = job_rows(user_job_views())
    unfinished = any(r["state"] in ("queued", "running") for r in rows)
    return render_template("pages/downloads.html", rows=rows, unfinished=unfinished, refresh_s=REFRESH_S)


def init_app(app: Flask) -> None:
    register_page_errors(bp)
    app.register_blueprint(bp)
