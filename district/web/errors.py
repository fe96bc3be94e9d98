"""Every API error body is ``{"error": {"code", "message", "details"}}`` with a stable code (API.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


def period_param(raw: str | None, *, ahead: int = 0, default: Callable[[], str] | None = None) -> str:
    """An API's ``period``: the reporting calendar's ``check_period`` (YYYY-MM, from 2010-01, at most ``ahead``
    months after the hub's current month) as a 400 ``invalid_period``; empty: ``default()`` when given."""
    from district import calendar

    if raw in (None, "") and default is not None:
        return default()
    try:
        return calendar.check_period(raw or "", "period", future=False, ahead=ahead)
    except calendar.WindowError as exc:
        raise ApiError(400, exc.code, exc.message(lang())) from None


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def wants_english() -> bool:
    accept = request.headers.get("Accept-Language", "")
    first = accept.split(",")[0].strip().lower()
    return first.startswith("en")


def lang() -> str:
    return "en" if wants_english() else "zh"


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> Any:
    resp = jsonify({"error": {"code": code, "message": message, "details": details or []}})
    resp.status_code = status
    return resp


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Any:
        resp = error_response(exc.status, exc.code, exc.message, exc.details)
        for k, v in exc.headers.items():
            resp.headers[k] = v
        return resp

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not request.path.startswith("/api/"):
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name or "error")
