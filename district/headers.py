"""Headers every answer of the hub carries, whichever blueprint made it (pages, API, errors, the verify page).

- ``Cache-Control: no-store`` on everything but the static files: dashboard pages and API answers are about
  the signed-in user's counties and schools (a shared or back-button cache must not keep them), and the rest
  (sign-in, errors, /verify) gains nothing from caching. A view that states its own ``no-store`` (``private,
  no-store`` on files) keeps it; a weaker one (``send_file``'s ``no-cache``) is replaced.
- ``Allow`` on every 405, with the methods the URL does answer (RFC 9110 §15.5.6), also when the error was
  rendered by the API's JSON handler or the dashboard's page handler, which do not copy it.

The dashboard adds its page headers (CSP, frame and referrer policy) in ``district/dashboard/views.py``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import MethodNotAllowed


def _headers(resp: Any) -> Any:
    endpoint = request.endpoint or ""
    if not (endpoint == "static" or endpoint.endswith(".static")):
        if "no-store" not in (resp.headers.get("Cache-Control") or ""):
            resp.headers["Cache-Control"] = "no-store"
    if resp.status_code == 405 and "Allow" not in resp.headers:
        exc = request.routing_exception
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            resp.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return resp


def init_app(app: Flask) -> None:
    app.after_request(_headers)
