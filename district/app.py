"""The one app factory: ``create_app(config_override=None)``. No app is created at import time."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from district.config import (
    PROJECT_ROOT,
    PUBLIC_URL_MISSING,
    ConfigError,
    _default_instance,
    is_loopback_http,
    load_config,
)
from district.db import db
from district.files import private_dir, write_private_once


def _instance_secret(path: Path) -> str:
    return write_private_once(path, secrets.token_hex(32).encode("ascii")).decode("ascii").strip()


def require_public_url(app: Flask) -> None:
    """Refuse to serve without ``PUBLIC_URL`` (``ConfigError``, one line naming ``HOUQIN_PUBLIC_URL``), except
    in debug or testing. The hub never prints an address taken from a request (its Host or X-Forwarded-Host
    header is the client's to choose), so a hub that serves must be told its own."""
    if not app.config.get("PUBLIC_URL") and not (app.debug or app.testing):
        raise ConfigError(PUBLIC_URL_MISSING)


def create_app(config_override: dict[str, Any] | None = None) -> Flask:
    instance = private_dir(Path((config_override or {}).get("INSTANCE_PATH") or _default_instance()))
    app = Flask(
        "district",
        instance_path=str(instance),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "district" / "static"),
    )
    from district.ids import IdConverter

    app.url_map.converters["int"] = IdConverter  # every <int:…> id: ASCII digits within 32 bits (district/ids.py)
    app.config.update(load_config(instance, config_override))
    app.config["MAX_CONTENT_LENGTH"] = None  # the report API checks its own limit to answer 413 in our format
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "flask-secret")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        # Secure by default: only a hub whose address is plain http on loopback (the demo, ``houqin serve``'s
        # default) or that has no address (tests, debug: it serves nobody) sends its cookie without TLS
        public = app.config.get("PUBLIC_URL")
        app.config["SESSION_COOKIE_SECURE"] = bool(public) and not is_loopback_http(public)
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # Flask's own default is None, so setdefault would not do it
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    if app.config.get("PROXY_HOPS"):
        # behind the TLS proxy: trust exactly that many X-Forwarded-* hops (client address, scheme)
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    db.init_app(app)

    from district.unit_of_work import dispatch_in_unit

    dispatch_in_unit(app)  # one commit per request, or a rollback (district/unit_of_work.py)

    from district.api.errors import register_error_handlers
    from district.api.views import bp as api_bp

    register_error_handlers(app)
    app.register_blueprint(api_bp)
    from district import headers

    headers.init_app(app)
    for register in _optional_blueprints():
        register(app)
    return app


# Domain packages with HTTP routes; each module has ``init_app(app)``. Listed explicitly (no import magic);
# a package that is not installed in this build is skipped, any other import error is raised.
ROUTE_MODULES = (
    "district.health",
    "district.auth.views",
    "district.scoring.api",
    "district.alerts.api",  # 重大预警 (issue 17)
    "district.nutrition.api",
    "district.rendering.api",
    "district.dashboard.views",
    "district.dashboard.downloads",  # 下载中心 (issue 17)
    "district.dashboard.city",  # 全市概览 (issue 17)
    "district.dashboard.lists",  # 报送情况 and 隐患清单 with filters (issue 17 item 6)
    "district.audit.api",
    "district.exports.api",  # search and exports (issue 17)
    "district.exports.pages",
    "district.submission.views",  # the school's pages: web submission (issue 19)
    "district.reports.review_api",  # per-report review (issue 18)
    "district.dashboard.review",  # 待审核 queue page and the review forms (issue 18)
    "district.reminders.api",  # 一键催报 and the delivery log (issue 18)
    "district.dashboard.reminders",  # the 催报 button and the log page (issue 18)
)


def _optional_blueprints() -> list[Any]:
    import importlib

    hooks: list[Any] = []
    for name in ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        hooks.append(module.init_app)
    return hooks
