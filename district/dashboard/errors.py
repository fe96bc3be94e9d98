"""Error pages of the dashboard and sign-in blueprints (the API keeps its JSON error format)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from werkzeug.exceptions import HTTPException

PAGE_ERRORS = (400, 403, 404, 405, 409)


def page_error(exc: HTTPException) -> Any:
    return render_template("pages/error.html", error=exc), exc.code or 500


def register_page_errors(bp: Blueprint) -> None:
    # blueprints are module-level and a process may build several apps (CLI, tests): set them up once
    if bp.error_handler_spec:
        return
    for status in PAGE_ERRORS:
        bp.register_error_handler(status, page_error)
