"""The one app factory: ``create_app(config_override=None)``. No app is created at import time."""

from __future__ import annotations

import secrets
from pathlib import Path
from types import ModuleType
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
    from district.web import session

    session.init_app(app)  # the signed cookie, made only for a request that brings one (district/web/session.py)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    if app.config.get("PROXY_HOPS"):
        # behind the TLS proxy: trust exactly that many X-Forwarded-* hops (client address, scheme)
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    db.init_app(app)
    from district import backends

    backends.init_app(app)  # the storage backends for this database (district/backends.py)

    from district.unit_of_work import dispatch_in_unit

    dispatch_in_unit(app)  # one commit per request, or a rollback (district/unit_of_work.py)

    from district.api.views import bp as api_bp
    from district.web.errors import register_error_handlers

    register_error_handlers(app)
    app.register_blueprint(api_bp)
    from district import headers

    headers.init_app(app)
    for module in route_modules():
        module.init_app(app)
    _register_listeners()
    _plug_workers(app)
    return app


def route_modules() -> tuple[ModuleType, ...]:
    """The modules with HTTP routes, each with ``init_app(app)``, imported explicitly: a module named here that does
    not exist stops the hub at start (an ``ImportError``), never a route silently missing. ``district.api.views``
    (the report API) is registered first by ``create_app`` itself, with the error handlers."""
    from district import health
    from district.alerts import api as alerts_api
    from district.api import scoring as scoring_api
    from district.dashboard import city as dashboard_city
    from district.dashboard import downloads as dashboard_downloads
    from district.dashboard import lists as dashboard_lists
    from district.dashboard import reminders as dashboard_reminders
    from district.dashboard import review as dashboard_review
    from district.dashboard import signin as signin_pages
    from district.dashboard import views as dashboard_views
    from district.exports import api as exports_api
    from district.exports import pages as exports_pages
    from district.nutrition import api as nutrition_api
    from district.reminders import api as reminders_api
    from district.rendering import api as rendering_api
    from district.review import api as review_api
    from district.submission import views as submission_views

    return (
        health,
        signin_pages,
        scoring_api,
        alerts_api,  # 重大预警 (issue 17)
        nutrition_api,
        rendering_api,
        dashboard_views,
        dashboard_downloads,  # 下载中心 (issue 17)
        dashboard_city,  # 全市概览 (issue 17)
        dashboard_lists,  # 报送情况 and 隐患清单 with filters (issue 17 item 6)
        exports_api,  # search and exports (issue 17)
        exports_pages,
        submission_views,  # the school's pages: web submission (issue 19)
        review_api,  # per-report review (issue 18)
        dashboard_review,  # 待审核 queue page and the review forms (issue 18)
        reminders_api,  # 一键催报 and the delivery log (issue 18)
        dashboard_reminders,  # the 催报 button and the log page (issue 18)
    )


def _plug_workers(app: Flask) -> None:
    """The workers do what the hub hands them (``district/dispatch.py``): the domain packages never import
    ``workers``; the factory plugs them in here, and the embedded PDF pool's processes make their app with the
    same factory."""
    from district import dispatch
    from workers.dispatch import Workers

    dispatch.plug(app, Workers())
    app.extensions["houqin_factory"] = create_app


def _register_listeners() -> None:
    """What a lower package calls back, registered here rather than by importing a module: after an accepted
    revision commits, the ranking's debounced recompute (``scoring.tasks``); the exports' tables as parts of the
    PDF jobs (``rendering.jobs`` runs them, ``exports.jobs`` writes them). Registering twice (an app per test)
    keeps one."""
    from district.exports.jobs import run_export_part
    from district.rendering.jobs import register_part_runner
    from district.rendering.models import KIND_EXPORT
    from district.reports.services import on_revision_accepted
    from district.scoring.tasks import revision_accepted

    on_revision_accepted(revision_accepted)
    register_part_runner(KIND_EXPORT, run_export_part)
