"""The one app factory: ``create_app(config_override=None)``. No app is created at import time."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from district.config import PROJECT_ROOT, _default_instance, load_config
from district.db import db


def _instance_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config_override: dict[str, Any] | None = None) -> Flask:
    instance = Path((config_override or {}).get("INSTANCE_PATH") or _default_instance())
    instance.mkdir(parents=True, exist_ok=True)
    app = Flask(
        "district",
        instance_path=str(instance),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "district" / "static"),
    )
    app.config.update(load_config(instance, config_override))
    app.config["MAX_CONTENT_LENGTH"] = None  # the report API checks its own limit to answer 413 in our format
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "flask-secret")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
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
    for register in _optional_blueprints():
        register(app)
    return app


# Domain packages with HTTP routes; each module has ``init_app(app)``. Listed explicitly (no import magic);
# a package that is not installed in this build is skipped, any other import error is raised.
ROUTE_MODULES = (
    "district.health",
    "district.auth.views",
    "district.scoring.api",
    "district.nutrition.api",
    "district.rendering.api",
    "district.dashboard.views",
    "district.audit.api",
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
