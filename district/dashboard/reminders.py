"""The 催报 pages (issue 18): the reminder log of a county, and 一键催报 as a form with a confirmation step.

``GET /counties/<county>/reminders``: today's deliveries and every attempt, newest first (a township_admin: its
township's), with the button. ``POST /counties/<county>/reminders/send``: first a confirmation page naming how
many reminders are due; confirmed, the same service as ``POST /api/v1/counties/<county>/reminders`` sends them
and the page says how many went out. county_admin, or township_admin for its township; others 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from district.auth.services import township_scope
from district.dashboard.errors import register_page_errors
from district.dashboard.views import _user, county_in_scope, signed_in
from district.db import db
from district.reminders import services

bp = Blueprint("reminder_pages", __name__)


def init_app(app: Flask) -> None:
    register_page_errors(bp)
    app.register_blueprint(bp)


def _words() -> dict[str, dict[str, str]]:
    return {
        "channel": {"email": _("E-mail"), "wecom": _("WeCom group robot"), "dingtalk": _("DingTalk group robot")},
        "kind": {
            "report_missing": _("Report not sent"),
            "hazard_overdue": _("Hazard past its deadline"),
            "report_returned": _("Returned report not corrected"),
            "digest": _("County digest"),
        },
        "status": {"queued": _("Waiting"), "sending": _("Sending"), "sent": _("Sent"), "failed": _("Failed")},
    }


def _may_send() -> bool:
    return _user().role in ("county_admin", "township_admin")


@bp.get("/counties/<county>/reminders")
@signed_in
def log(county: str) -> Any:
    c = county_in_scope(county)
    township = township_scope(_user())
    rows = services.delivery_log(db.session(), county, township=township, limit=300)
    for r in rows:
        r["at_time"] = dt.datetime.fromisoformat(r["at"])
    return render_template(
        "pages/reminders.html", county=c, township=township, rows=rows, words=_words(), may_send=_may_send()
    )


@bp.post("/counties/<county>/reminders/send")
@signed_in
def send(county: str) -> Any:
    c = county_in_scope(county)
    if not _may_send():
        abort(403)
    user = _user()
    township = township_scope(user)
    if request.form.get("confirm") != "yes":
        due = services.due_reminders(db.session(), county, township=township)
        return render_template(
            "pages/reminders_confirm.html",
            county=c,
            township=township,
            schools=len({r["school_code"] for r in due}),
            due=len(due),
            paused=services.load_channels(db.session(), county).paused,
        )
    from district.reminders.api import send_reminders

    result = send_reminders(county, actor=user.username, township=township)
    if result["paused"]:
        flash(_("The county's reminder channels are paused: nothing was sent."), "warning")
    else:
        flash(
            _(
                "Reminders sent: %(sent)s; failed: %(failed)s; still sending: %(queued)s; already sent today: "
                "%(skipped)s.",
                sent=result["sent"],
                failed=result["failed"],
                queued=result["queued"],
                skipped=result["skipped"],
            ),
            "success",
        )
    return redirect(url_for("reminder_pages.log", county=county))
