"""Headers and files (issue 16): ``Cache-Control: no-store`` on pages and API answers, ``Allow`` on every 405
(TRACE), the session cookie Secure by default (not for the demo's plain http on loopback), the hub's files made
0600 in folders made 0700, and the hub refusing to serve without ``HOUQIN_PUBLIC_URL``."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from district.config import ConfigError, is_loopback_http, public_url

ROOT = Path(__file__).resolve().parent.parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def umask_022() -> Iterator[None]:
    """The usual umask, under which a file made without care is 0644 and a folder 0755."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# ---------------------------------------------------------------- headers


def test_pages_and_api_answers_are_no_store_static_files_are_not(client: Any, session: Any, county: Any) -> None:
    from tests.district.scoring.helpers_scoring_db import bearer as make_bearer

    bearer = make_bearer(session, "county_admin", "610528", "nostore")
    for resp in (
        client.get("/login"),  # a page
        client.get("/"),  # a redirect to sign in
        client.get("/api/v1/hub-keys"),  # public API
        client.get("/api/v1/counties/610528/completeness?period=2026-10", headers=bearer),  # personal API
        client.get("/api/v1/counties/610528/completeness?period=2026-10"),  # 401
        client.get("/no-such-page"),  # 404
    ):
        assert resp.headers["Cache-Control"] == "no-store", (resp.request.path, resp.status_code)
    static = next(p for p in (ROOT / "district" / "static").rglob("*.css"))
    resp = client.get("/static/" + static.relative_to(ROOT / "district" / "static").as_posix())
    assert resp.status_code == 200 and "no-store" not in (resp.headers.get("Cache-Control") or "")
    resp.close()


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/api/v1/hub-keys", {"GET", "HEAD", "OPTIONS"}), ("/login", {"GET", "HEAD", "OPTIONS", "POST"})],
)
def test_trace_is_405_with_allow(client: Any, session: Any, path: str, allowed: set[str]) -> None:
    resp = client.open(path, method="TRACE")
    assert resp.status_code == 405
    assert {m.strip() for m in resp.headers["Allow"].split(",")} == allowed
    if path.startswith("/api/"):
        assert resp.get_json()["error"]["code"] == "method_not_allowed"


# ---------------------------------------------------------------- PUBLIC_URL and the session cookie


def test_public_url_is_checked_and_normalised() -> None:
    assert public_url(" https://houqin.example.gov.cn ") == "https://houqin.example.gov.cn/"
    assert public_url("http://127.0.0.1:8000/hub/") == "http://127.0.0.1:8000/hub/"
    for bad in ("houqin.example.gov.cn", "ftp://x.cn/", "https://", "https://u:p@x.cn/", "https://x.cn/?a=1",
                "https://x.cn/#f", "https://x.cn:port/", "https://x.cn/a b/"):  # fmt: skip
        with pytest.raises(ConfigError, match="HOUQIN_PUBLIC_URL"):
            public_url(bad)
    assert is_loopback_http("http://127.0.0.1:8000/") and is_loopback_http("http://localhost:5000/")
    assert is_loopback_http("http://[::1]:8000/")
    assert not is_loopback_http("https://127.0.0.1/") and not is_loopback_http("http://10.0.0.5/")
    assert not is_loopback_http(None)


@pytest.mark.parametrize(
    ("public", "secure"),
    [
        ("https://houqin.example.gov.cn/", True),
        ("http://192.168.1.10:8000/", True),  # plain http off loopback: the cookie still needs TLS
        ("http://127.0.0.1:8000/", False),  # the demo, houqin serve's default
        (None, False),  # tests and debug: no address, nobody served
    ],
)
def test_the_session_cookie_is_secure_by_default(
    tmp_path: Path, restore_db_state: Any, monkeypatch: Any, public: str | None, secure: bool
) -> None:
    from district.app import create_app

    monkeypatch.delenv("HOUQIN_SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("HOUQIN_PUBLIC_URL", raising=False)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "INSTANCE_PATH": str(tmp_path / "i"),
                      "TESTING": True, "PUBLIC_URL": public})  # fmt: skip
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    monkeypatch.setenv("HOUQIN_SESSION_COOKIE_SECURE", "0")  # the operator's word wins
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "INSTANCE_PATH": str(tmp_path / "i"),
                      "TESTING": True, "PUBLIC_URL": public})  # fmt: skip
    assert app.config["SESSION_COOKIE_SECURE"] is False


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUQIN_")}
    return {**env, "HOUQIN_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONPATH": str(ROOT), **extra}


def test_the_wsgi_entry_refuses_to_load_without_public_url(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-c", "import district.wsgi"], env=_env(tmp_path), cwd=ROOT,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 4  # gunicorn's "app failed to load": the arbiter halts instead of respawning
    [line] = run.stderr.strip().splitlines()
    assert "HOUQIN_PUBLIC_URL" in line and "Traceback" not in run.stderr
    bad = subprocess.run([sys.executable, "-c", "import district.wsgi"], cwd=ROOT, capture_output=True, text=True,
                         env=_env(tmp_path, HOUQIN_PUBLIC_URL="evil.example"), timeout=120)  # fmt: skip
    assert bad.returncode == 4 and "HOUQIN_PUBLIC_URL" in bad.stderr and "Traceback" not in bad.stderr
    ok = subprocess.run([sys.executable, "-c", "import district.wsgi as w; print(w.app.config['PUBLIC_URL'])"],
                        env=_env(tmp_path, HOUQIN_PUBLIC_URL="https://houqin.example.gov.cn"), cwd=ROOT,
                        capture_output=True, text=True, timeout=120)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "https://houqin.example.gov.cn/"


def test_gunicorn_stops_at_once_without_public_url(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = subprocess.run([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                          "district.wsgi:app"], env=_env(tmp_path), cwd=ROOT, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode != 0
    assert "HOUQIN_PUBLIC_URL" in run.stderr


def test_houqin_serve_takes_its_loopback_address_and_refuses_elsewhere(
    monkeypatch: Any, tmp_path: Path, restore_db_state: Any
) -> None:
    import district.server
    import workers.background
    from district.cli import main

    seen: list[str] = []
    for name in ("HOUQIN_PUBLIC_URL", "HOUQIN_DATABASE_URL", "HOUQIN_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOUQIN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setattr(workers.background, "fail_interrupted", lambda app: None)
    monkeypatch.setattr(district.server, "serve_with_gunicorn", lambda *a: seen.append(os.environ["HOUQIN_PUBLIC_URL"]))
    result = CliRunner().invoke(main, ["serve", "--port", "8765", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen == ["http://127.0.0.1:8765/"]
    monkeypatch.delenv("HOUQIN_PUBLIC_URL")
    refused = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--workers", "2"])  # noqa: S104
    assert refused.exit_code == 1 and "HOUQIN_PUBLIC_URL" in refused.output
    assert seen == ["http://127.0.0.1:8765/"]  # nothing started
    monkeypatch.setenv("HOUQIN_PUBLIC_URL", "https://houqin.example.gov.cn")
    assert CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--workers", "2"]).exit_code == 0  # noqa: S104
    assert seen[-1] == "https://houqin.example.gov.cn"


# ---------------------------------------------------------------- file modes


def test_the_hubs_files_are_0600_in_folders_made_0700(tmp_path: Path, restore_db_state: Any, umask_022: Any) -> None:
    from district.app import create_app
    from district.audit.keys import HubKeys
    from district.registry.crypto import SecretBox
    from district.rendering import jobs

    instance = tmp_path / "new" / "instance"
    app = create_app({"DATABASE_URL": f"sqlite:///{instance / 'houqin.db'}", "INSTANCE_PATH": str(instance),
                      "TESTING": True})  # fmt: skip
    assert mode(tmp_path / "new") == 0o700 and mode(instance) == 0o700
    assert mode(instance / "flask-secret") == 0o600
    assert mode(instance / "houqin.db") == 0o600
    with app.app_context():
        from district.db import db
        from district.migrate import upgrade

        assert db.engine is not None
        upgrade(db.engine)
    assert mode(instance / "houqin.db") == 0o600
    for extra in ("houqin.db-wal", "houqin.db-shm"):  # SQLite gives them the database's mode
        if (instance / extra).exists():
            assert mode(instance / extra) == 0o600
    SecretBox(app.config["SERVER_KEY_FILE"])
    assert mode(instance / "server.key") == 0o600
    SecretBox(str(tmp_path / "elsewhere" / "server.key"))
    assert mode(tmp_path / "elsewhere") == 0o700 and mode(tmp_path / "elsewhere" / "server.key") == 0o600
    keys = HubKeys.load(Path(app.config["SIGNING_KEY_DIR"]))
    assert mode(Path(app.config["SIGNING_KEY_DIR"])) == 0o700
    assert mode(Path(app.config["SIGNING_KEY_DIR"]) / f"{keys.current_id}.key") == 0o600
    target = jobs.job_dir(app.config["PDF_DIR"], 7) / "report.pdf"
    jobs._write_atomically(target, lambda p: p.write_bytes(b"%PDF-1.7 test"))
    assert target.read_bytes() == b"%PDF-1.7 test" and mode(target) == 0o600
    assert mode(target.parent) == 0o700 and mode(Path(app.config["PDF_DIR"])) == 0o700
    # an existing folder is left as the operator made it
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)
    os.chmod(shared, 0o750)  # noqa: S103 - a backup group's folder, as an operator may make it
    create_app({"DATABASE_URL": f"sqlite:///{shared / 'houqin.db'}", "INSTANCE_PATH": str(shared), "TESTING": True})
    assert mode(shared) == 0o750 and mode(shared / "houqin.db") == 0o600
