"""docker/: what can be checked without a Docker engine (there is none on these machines).

- The compose file parses, names only allow-listed official images and the project's own build, and refuses to
  start unconfigured (required variables).
- Every service of the project's image runs one of our executables (houqin, gunicorn, celery), and every
  ``HOUQIN_*`` variable it sets is a real setting of ``district/config.py``; paths point into mounted volumes.
- The Dockerfile's Debian packages are scripts/setup.sh's runtime ones (and exist in Debian 12); .dockerignore
  lets in what the app reads at run time and keeps secrets out.
- Slow: each service's command is RUN outside Docker with the same environment variable names (values mapped
  to this machine: a temp SQLite or a fresh PostgreSQL, Redis db 9, temp folders for the volumes): the migration
  (through the image's entrypoint), gunicorn answering, both Celery workers answering ``inspect ping`` (and the
  compose health check command), beat starting.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# PyYAML is not a declared dependency; it comes with the dev extras (schemathesis, among others)
yaml = pytest.importorskip("yaml", reason="PyYAML parses the compose file (it comes with the dev extras)")

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
ENV_EXAMPLE = DOCKER / ".env.example"
ENTRYPOINT = DOCKER / "entrypoint.sh"

SERVICES = {"db", "redis", "migrate", "hub", "worker", "worker-pdf", "beat"}
HOUQIN_SERVICES = {"migrate", "hub", "worker", "worker-pdf", "beat"}
# Official images, pinned to a major version. Anything else must be built from this repository.
ALLOWED_IMAGES = {"db": "postgres:15", "redis": "redis:7"}
BASE_IMAGE = "python:3.11-slim-bookworm"
OUR_EXECUTABLES = {"houqin", "gunicorn", "celery"}
# scripts/setup.sh installs these for the test suite only (pdftotext/pdffonts, the browser tests)
TEST_ONLY_PACKAGES = {"poppler-utils", "chromium", "chromium-driver", "faketime"}
# the Dockerfile may add: fontconfig (fc-cache/fc-list at build time)
IMAGE_EXTRA_PACKAGES = {"fontconfig"}
# values for the variables .env.example leaves empty on purpose (secrets the operator must choose)
TEST_SECRETS = {
    "POSTGRES_PASSWORD": "testpass",
    "HOUQIN_DATABASE_URL": "postgresql+psycopg://houqin:testpass@db:5432/houqin",
    "HOUQIN_SECRET_KEY": "test-session-key",
    "HOUQIN_PUBLIC_URL": "https://houqin.fuping.example.gov.cn/",
}
CONTAINER_DATA = "/var/lib/houqin"
TEST_BROKER = "redis://127.0.0.1:6379/9"


# ---------------------------------------------------------------- reading the files


def read_env_file(path: Path) -> dict[str, str]:
    """docker compose's .env: KEY=VALUE lines, comments on their own lines."""
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"{path.name}: bad variable name {key!r}"
        assert " #" not in value, f"{path.name}: keep comments on their own line ({key})"
        env[key] = value
    return env


class MissingVariable(LookupError):
    pass


_VAR = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}|"
    r"(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        present = name in env
        val = env.get(name, "")
        if op in (":-", "-"):
            return val if (present and (val or op == "-")) else arg
        if op in (":?", "?"):
            if not present or (op == ":?" and not val):
                raise MissingVariable(f"{name}: {arg}")
            return val
        return val

    return _VAR.sub(sub, value)


def resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolve(x, env) for x in node]
    if isinstance(node, dict):
        return {k: resolve(v, env) for k, v in node.items()}
    return node


def raw_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as docker compose sees it with .env.example (plus test secrets) as docker/.env."""
    values = {**read_env_file(ENV_EXAMPLE), **TEST_SECRETS} if env is None else env
    return resolve(raw_compose(), values)  # type: ignore[no-any-return]


def service_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def argv(service: dict[str, Any]) -> list[str]:
    cmd = service["command"]
    return [str(x) for x in cmd] if isinstance(cmd, list) else shlex.split(cmd)


def real_settings() -> set[str]:
    from district.config import SETTINGS

    # HOUQIN_INSTANCE_PATH is read by district.config._default_instance (the folder the other defaults are in)
    return {f"HOUQIN_{name}" for name in SETTINGS} | {"HOUQIN_INSTANCE_PATH"}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> volume name"""
    out = {}
    for v in service.get("volumes") or []:
        source, target = str(v).split(":")[:2]
        out[target] = source
    return out


def setup_sh_packages() -> set[str]:
    text = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    m = re.search(r"^PACKAGES=\(([^)]*)\)", text, re.M)
    assert m, "scripts/setup.sh no longer has a PACKAGES=(...) list"
    return set(m.group(1).split())


def dockerfile_packages() -> set[str]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    m = re.search(r"apt-get install (.*?)(?:&&|$)", text, re.M)
    assert m, "the Dockerfile has no apt-get install"
    return {w for w in m.group(1).split() if not w.startswith("-")}


# ---------------------------------------------------------------- the compose file


def test_compose_parses_with_the_services_and_volumes() -> None:
    c = compose()
    assert set(c["services"]) == SERVICES
    declared = set(c.get("volumes") or {})
    used = {src for s in c["services"].values() for src in mounts(s).values()}
    assert used <= declared, f"undeclared volumes {used - declared}"
    assert {"db", "redis", "instance", "pdf", "beat"} <= declared


def test_it_refuses_to_start_without_the_secrets() -> None:
    """The empty secrets of .env.example stop compose with a message instead of starting on a default."""
    example = read_env_file(ENV_EXAMPLE)
    for name in TEST_SECRETS:
        assert example.get(name) == "", f".env.example must leave {name} empty for the operator to choose"
        with pytest.raises(MissingVariable, match=name):
            compose({**example, **TEST_SECRETS, name: ""})
    compose({**example, **TEST_SECRETS})


def test_images_are_allow_listed_official_ones_or_our_build() -> None:
    c = compose()
    for name, svc in c["services"].items():
        if name in ALLOWED_IMAGES:
            assert svc["image"] == ALLOWED_IMAGES[name]
            assert "build" not in svc
            continue
        assert name in HOUQIN_SERVICES
        assert re.fullmatch(r"houqin:[0-9][0-9A-Za-z.\-]*", svc["image"]), svc["image"]
        build = svc["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert froms == [BASE_IMAGE]


def test_every_houqin_service_runs_one_of_our_executables() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = {re.split(r"[\[<>=!~ ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    c = compose()
    for name in HOUQIN_SERVICES:
        exe = argv(c["services"][name])[0]
        assert exe in OUR_EXECUTABLES, f"{name} runs {exe}"
        assert exe in project["scripts"] or exe in deps, f"{exe} is neither our script nor a dependency"
        assert shutil.which(exe), f"{exe} is not installed here (scripts/setup.sh)"
    assert argv(c["services"]["migrate"]) == ["houqin", "db", "upgrade"]
    assert argv(c["services"]["hub"])[-1] == "district.wsgi:app"
    assert argv(c["services"]["db"])[0] == "postgres"
    assert argv(c["services"]["redis"])[0] == "redis-server"
    for name in ("worker", "worker-pdf", "beat"):
        assert argv(c["services"][name])[:3] == ["celery", "-A", "workers.worker"]


def test_houqin_commands_exist() -> None:
    """The `houqin` subcommands the stack and docs/DEPLOY.md rely on are real."""
    from click.testing import CliRunner

    from district.cli import main

    for args in (
        ["db", "upgrade"],
        ["db", "check"],
        ["keys", "init"],
        ["keys", "list"],
        ["audit", "verify"],
        ["schools", "credential"],
        ["schools", "import"],
        ["users", "create"],
    ):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)


def test_every_houqin_variable_is_a_real_setting() -> None:
    settings = real_settings()
    c = compose()
    for name in HOUQIN_SERVICES:
        env = service_env(c["services"][name])
        unknown = {k for k in env if k.startswith("HOUQIN_")} - settings
        assert not unknown, f"{name} sets {unknown}, which district/config.py does not read"
        for required in ("HOUQIN_DATABASE_URL", "HOUQIN_BROKER_URL", "HOUQIN_SECRET_KEY", "HOUQIN_INSTANCE_PATH",
                         "HOUQIN_PUBLIC_URL"):  # fmt: skip
            assert required in env, f"{name} lacks {required}"
        assert env["HOUQIN_SESSION_COOKIE_SECURE"] == "1"
    example = {k for k in read_env_file(ENV_EXAMPLE) if k.startswith("HOUQIN_")}
    assert example <= settings, f".env.example: {example - settings}"
    baked = set(re.findall(r"\b(HOUQIN_[A-Z_]+)=", DOCKERFILE.read_text(encoding="utf-8")))
    assert baked <= settings, f"Dockerfile: {baked - settings}"


def test_secrets_and_pdfs_live_in_mounted_volumes() -> None:
    c = compose()
    for name in ("migrate", "hub", "worker", "worker-pdf"):
        svc = c["services"][name]
        env, mounted = service_env(svc), mounts(svc)

        def volume_of(path: str, mounted: dict[str, str] = mounted) -> str | None:
            hits = [t for t in mounted if path == t or path.startswith(t.rstrip("/") + "/")]
            return mounted[max(hits, key=len)] if hits else None

        assert volume_of(env["HOUQIN_INSTANCE_PATH"]) == "instance", name
        assert volume_of(env["HOUQIN_SERVER_KEY_FILE"]) == "instance", name
        assert volume_of(env["HOUQIN_SIGNING_KEY_DIR"]) == "instance", name
        assert volume_of(env["HOUQIN_PDF_DIR"]) == "pdf", name
    beat = c["services"]["beat"]
    schedule = argv(beat)[argv(beat).index("-s") + 1]
    assert any(schedule.startswith(t + "/") for t in mounts(beat)), "beat's schedule file must be in a volume"
    assert "instance" not in mounts(beat).values(), "beat needs no keys"
    assert mounts(c["services"]["db"]) == {"/var/lib/postgresql/data": "db"}
    assert mounts(c["services"]["redis"]) == {"/data": "redis"}


def test_database_url_of_the_example_matches_the_db_service() -> None:
    from sqlalchemy.engine import make_url

    c = compose()
    db_env = service_env(c["services"]["db"])
    example = read_env_file(ENV_EXAMPLE)
    template = next(
        line
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.startswith("# postgresql+psycopg://")
    )
    url = make_url(template[2:].split()[0].replace("<POSTGRES_PASSWORD>", "x"))
    assert (url.username, url.host, url.port, url.database) == (
        db_env["POSTGRES_USER"],
        "db",
        5432,
        db_env["POSTGRES_DB"],
    )
    assert url.drivername == "postgresql+psycopg"
    assert make_url(example["HOUQIN_BROKER_URL"]).host == "redis"


def test_start_order_and_health_checks() -> None:
    c = compose()["services"]
    assert c["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert c["migrate"]["restart"] == "no"
    for name in ("hub", "worker", "worker-pdf", "beat"):
        deps = c[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name
    assert "pg_isready" in " ".join(c["db"]["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(c["redis"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in " ".join(c["hub"]["healthcheck"]["test"])
    for name in ("worker", "worker-pdf"):
        assert "inspect ping" in " ".join(c[name]["healthcheck"]["test"])
    # beat: exactly one, never scaled
    assert "deploy" not in c["beat"]


def test_redis_never_evicts_and_keeps_its_queue() -> None:
    cmd = argv(compose()["services"]["redis"])
    opts = dict(zip(cmd[1::2], cmd[2::2], strict=False))
    assert opts["--maxmemory-policy"] == "noeviction"
    assert opts["--appendonly"] == "yes"
    assert re.fullmatch(r"\d+[kmg]b", opts["--maxmemory"]), "noeviction means nothing without a maxmemory"


def test_workers_queues_and_limits() -> None:
    from workers.celery_app import DEFAULT_QUEUE, PDF_QUEUE, VISIBILITY_TIMEOUT

    c = compose()["services"]
    for name, queue in (("worker", DEFAULT_QUEUE), ("worker-pdf", PDF_QUEUE)):
        cmd = argv(c[name])
        opts = dict(zip(cmd[4::2], cmd[5::2], strict=False))
        assert cmd[3] == "worker" and opts["-Q"] == queue, name
        assert opts["-n"] == f"{queue}@%h", name  # the health check pings this node name
        assert 0 < float(opts["--soft-time-limit"]) < float(opts["--time-limit"]) < VISIBILITY_TIMEOUT, name
        assert int(opts["--concurrency"]) >= 1
    pdf = argv(c["worker-pdf"])
    assert int(pdf[pdf.index("--max-memory-per-child") + 1]) >= 256 * 1024
    assert "--max-tasks-per-child" in pdf
    # a worker-wide limit below a pdf task's own would not apply (the task's wins); keep them consistent
    from workers.tasks.pdf import SOFT_TIME_LIMIT, TIME_LIMIT

    assert float(pdf[pdf.index("--soft-time-limit") + 1]) >= SOFT_TIME_LIMIT
    assert float(pdf[pdf.index("--time-limit") + 1]) >= TIME_LIMIT


def test_gunicorn_outlasts_a_pdf_rendered_in_a_request() -> None:
    """The fund report's PDF is rendered inside the request, bounded at 120 s (district/nutrition/api.py, the same
    default as the PDF jobs' RenderLimits): gunicorn must not kill the worker first (a 502 instead of the hub's
    own 503 pdf_timeout)."""
    from district.rendering.jobs import RenderLimits

    hub = argv(compose()["services"]["hub"])
    timeout = float(hub[hub.index("--timeout") + 1])
    graceful = float(hub[hub.index("--graceful-timeout") + 1])
    assert timeout > RenderLimits().timeout_s
    stop = compose()["services"]["hub"]["stop_grace_period"]
    assert stop.endswith("s") and float(stop[:-1]) > graceful


# ---------------------------------------------------------------- the image


def test_dockerfile_packages_are_setup_sh_runtime_packages() -> None:
    runtime = setup_sh_packages() - TEST_ONLY_PACKAGES
    image = dockerfile_packages()
    assert runtime <= image, f"missing from the image: {runtime - image}"
    assert image - runtime <= IMAGE_EXTRA_PACKAGES, f"not in scripts/setup.sh: {image - runtime - IMAGE_EXTRA_PACKAGES}"


def test_dockerfile_packages_exist_in_debian_12() -> None:
    if not shutil.which("apt-cache") or "bookworm" not in Path("/etc/os-release").read_text():
        pytest.skip("needs apt-cache on Debian 12 (the image's base is bookworm)")
    packages = sorted(dockerfile_packages())
    out = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", *packages], capture_output=True, text=True, timeout=120
    )
    known = set(re.findall(r"^Package: (\S+)", out.stdout, re.M))
    assert set(packages) <= known, f"not Debian 12 packages: {set(packages) - known}"


def test_dockerfile_runs_as_a_user_without_dev_extras() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "[dev]" not in text and ".[" not in text
    assert re.search(r"pip install .*-e /app", text)
    m = re.search(r"^COPY [^\n]*?(docker/entrypoint\.sh)\s+(\S+)", text, re.M)
    assert m and (ROOT / m.group(1)).is_file()
    assert f'ENTRYPOINT ["{m.group(2)}"]' in text


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pat = line.lstrip("!").strip("/")
        rx = ""
        i = 0
        while i < len(pat):
            if pat.startswith("**/", i):
                rx, i = rx + "(?:.*/)?", i + 3
            elif pat.startswith("**", i):
                rx, i = rx + ".*", i + 2
            elif pat[i] == "*":
                rx, i = rx + "[^/]*", i + 1
            elif pat[i] == "?":
                rx, i = rx + "[^/]", i + 1
            elif pat[i] == "[":
                j = pat.index("]", i)
                rx, i = rx + pat[i : j + 1], j + 1
            else:
                rx, i = rx + re.escape(pat[i]), i + 1
        rules.append((include, re.compile(rx)))
    return rules


def sent_to_docker(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    keep = True
    for include, rx in _dockerignore_rules():
        if any(rx.fullmatch(p) for p in prefixes):
            keep = include
    return keep


def test_dockerignore_sends_the_runtime_files_and_no_secrets() -> None:
    runtime = [
        "pyproject.toml",
        "README.md",
        "district/app.py",
        "district/migrations/env.py",
        "district/static/pdf/report.css",
        "district/translations/zh/LC_MESSAGES/messages.mo",
        "templates/pages/base.html",
        "workers/worker.py",
        "houqin_standard/__init__.py",
        "school_agent/cli.py",
        "docker/entrypoint.sh",
    ]
    for path in runtime:
        assert (ROOT / path).exists(), path
        assert sent_to_docker(path), f"{path} would not reach the image"
    for path in [
        "instance/server.key",
        "instance/keys/current",
        "docker/.env",
        ".git/config",
        "tests/conftest.py",
        "district/__pycache__/app.cpython-311.pyc",
        "houqin.egg-info/PKG-INFO",
        ".cache/x",
    ]:
        assert not sent_to_docker(path), f"{path} would be sent to the image"


def test_entrypoint_makes_the_instance_secrets_once(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {
        **_clean_environ(),
        "HOUQIN_INSTANCE_PATH": str(instance),
        "HOUQIN_PDF_DIR": str(tmp_path / "pdf"),
        "HOUQIN_SECRET_KEY": "x",
        "PYTHONPATH": str(ROOT),
    }

    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(ENTRYPOINT), "echo", "the command ran"],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    out = run()
    assert out.stdout.strip() == "the command ran"
    assert not (instance / "server.key").exists()  # only the migrate service (INIT_INSTANCE=1) makes them

    out = run(INIT_INSTANCE="1")
    assert out.stdout.strip().endswith("the command ran")
    key = instance / "server.key"
    current = instance / "keys" / "current"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    kid = current.read_text().strip()
    assert stat.S_IMODE((instance / "keys" / f"{kid}.key").stat().st_mode) == 0o600
    assert (tmp_path / "pdf").is_dir()
    server_key = key.read_bytes()

    run(INIT_INSTANCE="1")
    assert key.read_bytes() == server_key, "an existing server key must never be replaced"
    assert current.read_text().strip() == kid, "an existing signing key must never be replaced"
    assert len(list((instance / "keys").glob("*.key"))) == 1


# ---------------------------------------------------------------- running the services' commands (slow)


def _clean_environ() -> dict[str, str]:
    """This process's environment without any HOUQIN_* (the service's own must be the only ones)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HOUQIN_")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _require_redis() -> None:
    if not _redis_up():
        pytest.skip("needs the Redis server on 127.0.0.1:6379 (scripts/services.sh)")


class Stack:
    """Maps a service's container-side values onto this machine; the variable names stay the same."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.data = root / "var-lib-houqin"
        self.database_url = database_url
        self.port = _free_port()
        self.node = f"houqin-test-{uuid.uuid4().hex[:8]}"  # what %h / $HOSTNAME are in a container
        self.services = compose()["services"]
        self.migrate: subprocess.CompletedProcess[str] | None = None

    def map_value(self, value: str) -> str:
        value = value.replace(CONTAINER_DATA, str(self.data))
        value = value.replace("0.0.0.0:8000", f"127.0.0.1:{self.port}")
        value = value.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")
        return value.replace("%h", self.node)

    def env(self, name: str) -> dict[str, str]:
        mapped = {k: self.map_value(v) for k, v in service_env(self.services[name]).items()}
        mapped["HOUQIN_DATABASE_URL"] = self.database_url
        mapped["HOUQIN_BROKER_URL"] = TEST_BROKER
        assert set(mapped) == set(service_env(self.services[name]))
        return {**_clean_environ(), **mapped, "PYTHONPATH": str(ROOT), "HOSTNAME": self.node}

    def argv(self, name: str) -> list[str]:
        return [self.map_value(a) for a in argv(self.services[name])]

    def healthcheck(self, name: str) -> list[str]:
        test = [self.map_value(a) for a in self.services[name]["healthcheck"]["test"]]
        if test[0] == "CMD-SHELL":
            return ["sh", "-c", test[1]]
        assert test[0] == "CMD"
        return test[1:]

    @contextlib.contextmanager
    def running(self, name: str) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                self.argv(name),
                env=self.env(name),
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            yield proc, log
        finally:
            if proc.poll() is None:
                proc.terminate()  # the main process only: gunicorn and celery shut their children down
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    def tail(self, name: str) -> str:
        log = self.root / f"{name}.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The migrate service run first, as compose does: its entrypoint (INIT_INSTANCE=1) and `houqin db upgrade`."""
    root = tmp_path_factory.mktemp("stack")
    drop = None
    base = os.environ.get("HOUQIN_TEST_POSTGRES_URL")
    if base:
        from tests.conftest import _fresh_postgres_database

        url, drop = _fresh_postgres_database(base)
    else:
        url = f"sqlite:///{root / 'houqin.db'}"
    st = Stack(root, url)
    for sub in ("instance", "pdf", "beat"):
        (st.data / sub).mkdir(parents=True)  # the image makes these folders (the volumes' mount points)
    st.migrate = subprocess.run(
        ["sh", str(ENTRYPOINT), *st.argv("migrate")],
        env=st.env("migrate"),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        yield st
    finally:
        if drop:
            drop()


@pytest.mark.slow
def test_migrate_service_command_runs(stack: Stack) -> None:
    out = stack.migrate
    assert out is not None and out.returncode == 0, out and out.stderr
    assert "is at head" in out.stdout
    instance = stack.data / "instance"
    assert (instance / "server.key").is_file() and (instance / "keys" / "current").is_file()
    check = subprocess.run(
        ["houqin", "db", "check"], env=stack.env("migrate"), capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr
    again = subprocess.run(
        ["sh", str(ENTRYPOINT), *stack.argv("migrate")],
        env=stack.env("migrate"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert again.returncode == 0, again.stderr  # every `docker compose up` runs it again
    assert "kept" in again.stdout


def _require_migrated(stack: Stack) -> None:
    if stack.migrate is None or stack.migrate.returncode != 0:
        pytest.fail("the migrate service's command failed (test_migrate_service_command_runs)")


def _get(url: str) -> tuple[int, bytes, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # loopback only
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), exc.headers


@pytest.mark.slow
@pytest.mark.redis
def test_hub_service_command_serves(stack: Stack) -> None:
    _require_redis()
    _require_migrated(stack)
    import json

    from district import health
    from district.app import route_modules

    base = f"http://127.0.0.1:{stack.port}"
    with stack.running("hub") as (proc, _log):
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError):
                status, body, _ = _get(base + "/api/v1/hub-keys")
                if status == 200:
                    break
            time.sleep(0.3)
        assert status == 200, f"gunicorn did not answer:\n{stack.tail('hub')}"
        keys = json.loads(body)["keys"]
        kid = (stack.data / "instance" / "keys" / "current").read_text().strip()
        assert [k["key_id"] for k in keys if k["current"]] == [kid], "the hub must use the key migrate made"
        # HOUQIN_SESSION_COOKIE_SECURE=1 reached the app: the sign-in page's session cookie is Secure-only
        status, _, headers = _get(base + "/login")
        assert status == 200
        cookies = headers.get_all("Set-Cookie") or []
        assert cookies and all("Secure" in c for c in cookies), cookies
        if health in route_modules():
            status, body, _ = _get(base + "/healthz")
            assert status == 200, body
            assert json.loads(body) == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
            check = subprocess.run(stack.healthcheck("hub"), env=stack.env("hub"), capture_output=True, timeout=30)
            assert check.returncode == 0, check.stderr
        assert proc.poll() is None, stack.tail("hub")
    assert "Booting worker" in stack.tail("hub")


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.parametrize("name", ["worker-pdf", "worker"])
def test_worker_service_command_answers_ping(stack: Stack, name: str) -> None:
    _require_redis()
    _require_migrated(stack)
    queue = "pdf" if name == "worker-pdf" else "default"
    node = f"{queue}@{stack.node}"
    env = stack.env(name)
    with stack.running(name) as (proc, _log):
        deadline = time.monotonic() + 90
        ping = None
        while time.monotonic() < deadline and proc.poll() is None:
            ping = subprocess.run(
                ["celery", "-A", "workers.worker", "inspect", "ping", "-d", node, "-t", "3"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if ping.returncode == 0:
                break
            time.sleep(1)
        assert ping is not None and ping.returncode == 0, f"{ping and ping.stdout}\n{stack.tail(name)}"
        assert "pong" in ping.stdout
        # the compose health check (celery -b $HOUQIN_BROKER_URL inspect ping -d <queue>@$HOSTNAME)
        check = subprocess.run(stack.healthcheck(name), env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        active = subprocess.run(
            ["celery", "-A", "workers.worker", "inspect", "active_queues", "-d", node, "-t", "5"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert f"'name': '{queue}'" in active.stdout, active.stdout
        assert proc.poll() is None
        proc.terminate()
        assert proc.wait(60) == 0, stack.tail(name)  # a warm shutdown, as `docker stop` asks for


@pytest.mark.slow
@pytest.mark.redis
def test_beat_service_command_starts(stack: Stack) -> None:
    _require_redis()
    _require_migrated(stack)
    schedule_dir = stack.data / "beat"
    with stack.running("beat") as (proc, _log):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(schedule_dir.glob("celerybeat-schedule*")) and "beat: Starting" in stack.tail("beat"):
                break
            time.sleep(0.5)
        time.sleep(2)  # still up after its first ticks
        assert proc.poll() is None, stack.tail("beat")
        assert any(schedule_dir.glob("celerybeat-schedule*")), "the schedule file goes to the beat volume"
        proc.terminate()
        proc.wait(30)
    assert "Traceback" not in stack.tail("beat"), stack.tail("beat")
