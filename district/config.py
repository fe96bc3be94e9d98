"""Configuration: defaults, then the environment (``HOUQIN_*``), then the caller's override.

The embedded default needs no server: a SQLite file under ``instance/`` and Celery tasks run in-process
(``task_always_eager``) because no broker is configured. Setting ``HOUQIN_DATABASE_URL`` and
``HOUQIN_BROKER_URL`` selects the production stack (PostgreSQL, Redis).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_instance() -> Path:
    return Path(os.environ.get("HOUQIN_INSTANCE_PATH", PROJECT_ROOT / "instance"))


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(ValueError):
    """A setting the hub cannot run with; ``str(exc)`` is one line naming the ``HOUQIN_*`` variable."""


def public_url(value: str) -> str:
    """``HOUQIN_PUBLIC_URL`` checked and normalised: ``http(s)://host[:port][/path]/`` (always one trailing
    slash), no user, query or fragment. It is the only address the hub ever prints (PDFs' verification line)."""
    raw = value.strip()
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
        or any(c.isspace() or ord(c) < 0x20 for c in raw)
    ):
        raise ConfigError(
            f"HOUQIN_PUBLIC_URL 应为本平台对外的地址，例如 https://houqin.example.gov.cn/（收到 {raw[:80]!r}）"
            " / HOUQIN_PUBLIC_URL must be the hub's public http(s) address"
        )
    return raw.rstrip("/") + "/"


def is_loopback_http(url: str | None) -> bool:
    """Whether ``url`` is plain http on this machine's loopback (the demo, ``houqin serve``'s default)."""
    if not url:
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "http":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


PUBLIC_URL_MISSING = (
    "HOUQIN_PUBLIC_URL 未设置：请设为本平台对外的地址（例如 https://houqin.example.gov.cn/），PDF 上的核验网址只用它"
    " / HOUQIN_PUBLIC_URL is not set: set it to the hub's public address (docs/DEPLOY.md, Security)"
)


# name -> (default, parser). Every key is settable as HOUQIN_<NAME>.
SETTINGS: dict[str, tuple[Any, Any]] = {
    "DATABASE_URL": (None, str),  # None -> sqlite:///<instance>/houqin.db
    "BROKER_URL": (None, str),  # None -> tasks run eagerly in-process
    "RESULT_BACKEND": (None, str),
    "SERVER_KEY_FILE": (None, str),  # Fernet key that encrypts school credentials at rest
    "SIGNING_KEY_DIR": (None, str),  # the hub's Ed25519 receipt keys (private keys never in the database)
    "SECRET_KEY": (None, str),  # Flask session signing key; generated into the instance folder when unset
    "MAX_REPORT_BYTES": (1024 * 1024, int),
    "SIGNATURE_WINDOW_SECONDS": (300, int),
    "RATE_LIMIT_PER_MINUTE": (120, int),  # per school, on the agent API
    "REFUSED_PER_MINUTE": (None, int),  # unsigned refusals per source before 429 (None: RATE_LIMIT_PER_MINUTE // 2)
    # None: Secure unless PUBLIC_URL is plain http on loopback (the demo) or unset (tests, debug): see create_app
    "SESSION_COOKIE_SECURE": (None, _env_bool),
    "PDF_DIR": (None, str),
    "RANKING_DEBOUNCE_SECONDS": (300, int),  # at most ~12 recomputes an hour per county, whatever arrives
    # embedded default: a read that computed the default window's ranking stores it in a transaction of its own
    "RANKING_STORE_ON_READ": (True, _env_bool),
    # the read side's debounce: a ranking (or the overview's fund anomalies and overdue hazards) computed this
    # recently is shown as it is instead of computing it again while reports keep arriving; 0: always current
    "READ_MAX_AGE_SECONDS": (30, float),
    # rankings over a window of one's own (which may be computed) per user and minute; 0: no limit
    "COMPUTING_READS_PER_MINUTE": (60, int),
    "PROXY_HOPS": (0, int),  # reverse proxies in front of the hub whose X-Forwarded-For/Proto are trusted
    "LOGIN_PER_IP_PER_MINUTE": (30, int),  # sign-in attempts from one address
    "LOGIN_PER_USER_PER_MINUTE": (10, int),  # sign-in attempts for one username
    "LOGIN_MAX_FAILURES": (5, int),  # failed sign-ins for one username from one address before it locks there
    "LOGIN_USER_MAX_FAILURES": (50, int),  # … for one username from every address before it locks everywhere
    "LOGIN_LOCKOUT_MINUTES": (15, int),  # how long failures are counted, and how long a lock lasts
    "LOGIN_SESSION_HOURS": (12, int),  # a dashboard session ends this long after sign-in
    "TOKEN_DAYS": (180, int),  # a personal API token expires this many days after it is made
    # the hub's public address, the only one printed (PDFs' verification line); required to serve (docs/DEPLOY.md)
    "PUBLIC_URL": (None, public_url),
    "PDF_RENDER_TIMEOUT_S": (120, int),  # bound of one evaluation-report render
    "PDF_JOBS_PER_USER": (3, int),  # unfinished (queued or running) PDF jobs one user may have before 429
    "PDF_RENDER_MAX_MB": (1024, int),
    # embedded default: processes rendering a job's PDFs beside the hub (workers/background.py); 0: one per core
    "PDF_PROCESSES": (0, int),
    "NUTRITION_PDF_TIMEOUT_S": (120, int),  # bound of the fund-report PDF rendered inside a request
    "NUTRITION_PDF_MAX_MB": (1024, int),
    "DEMO_CLOCK_FILE": (None, str),  # demo only: a file holding the seconds the hub's clock runs ahead/behind
    # reminders (district/reminders): smtp://host:port, smtp+starttls://…, smtps://user:pass@host:465; unset: no e-mail
    "SMTP_URL": (None, str),
    "MAIL_FROM": ("houqin@localhost", str),
    "REMINDER_TIMEOUT_SECONDS": (10.0, float),  # each SMTP or webhook socket operation
    "REMINDER_RETRY_SECONDS": (60.0, float),  # a failed attempt is retried after this, doubled each time
    "REMINDER_WAIT_SECONDS": (5.0, float),  # 一键催报 waits at most this long for the counts it answers
}


def load_config(instance_path: Path, override: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg: dict[str, Any] = {name: default for name, (default, _parse) in SETTINGS.items()}
    for name, (_default, parse) in SETTINGS.items():
        raw = os.environ.get(f"HOUQIN_{name}")
        if raw is not None and raw != "":
            cfg[name] = parse(raw)
    if override:
        cfg.update(override)
    if cfg["PUBLIC_URL"]:
        cfg["PUBLIC_URL"] = public_url(str(cfg["PUBLIC_URL"]))
    else:
        cfg["PUBLIC_URL"] = None
    if not cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = f"sqlite:///{instance_path / 'houqin.db'}"
    if not cfg["SERVER_KEY_FILE"]:
        cfg["SERVER_KEY_FILE"] = str(instance_path / "server.key")
    if not cfg["SIGNING_KEY_DIR"]:
        cfg["SIGNING_KEY_DIR"] = str(instance_path / "keys")
    if not cfg["PDF_DIR"]:
        cfg["PDF_DIR"] = str(instance_path / "pdf")
    if not cfg["RESULT_BACKEND"] and cfg["BROKER_URL"]:
        cfg["RESULT_BACKEND"] = cfg["BROKER_URL"]
    return cfg
