"""The school search page ``/schools?q=`` (issue 17 item 4): the header's search box lands here. The rows are
the API's (``exports.services.search_schools``: code or name, within the user's scope)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, render_template, request, url_for

from district.db import db
from district.exports import services
from district.web.auth import current_user

bp = Blueprint("search_pages", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/schools")
def search() -> Any:
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    raw = request.args.get("q") or ""
    q = raw.strip()
    problem = None
    schools: list[dict[str, Any]] = []
    if len(raw) > services.SEARCH_MAX_LENGTH:
        problem = "too_long"
    elif q and not services.valid_query(raw):
        problem = "bad_characters"
    elif q:
        schools = services.search_schools(db.session(), user, q)
    status = 400 if problem else 200
    return (
        render_template(
            "pages/school_search.html",
            q=q,
            schools=schools,
            problem=problem,
            limit=services.SEARCH_MAX_RESULTS,
            max_length=services.SEARCH_MAX_LENGTH,
        ),
        status,
    )
