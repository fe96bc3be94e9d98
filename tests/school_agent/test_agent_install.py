"""The agent stands alone: its imports, and a fresh virtual environment holding only the agent's wheel,
openpyxl and cryptography, where ``houqin-agent`` runs, pins the hub's key, submits to a real hub and verifies
the signed receipt, without Flask, SQLAlchemy or Celery."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.school_agent.hubproc import ROOT, Hub, example_report, fill_template

AGENT_DEPS = {"houqin_standard", "openpyxl", "school_agent"}


def _imports(path: Path, *, module_level_only: bool = False) -> set[str]:
    """Top-level package names imported by a file (with ``module_level_only``: not those inside functions,
    which run only when called)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes: list[ast.AST] = []
    if module_level_only:
        todo: list[ast.AST] = list(tree.body)
        while todo:
            node = todo.pop()
            nodes.append(node)
            if isinstance(node, ast.If | ast.Try):
                todo.extend(ast.iter_child_nodes(node))
    else:
        nodes = list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_agent_imports_only_the_standard_module_openpyxl_and_the_stdlib() -> None:
    for path in (ROOT / "school_agent").rglob("*.py"):  # every import, even one inside a function
        foreign = {n for n in _imports(path) if n not in sys.stdlib_module_names and n not in AGENT_DEPS}
        assert not foreign, f"{path.relative_to(ROOT)} imports {foreign}"
    for path in (ROOT / "houqin_standard").rglob("*.py"):  # what importing the standard module pulls in
        foreign = {
            n
            for n in _imports(path, module_level_only=True)
            if n not in sys.stdlib_module_names and n != "houqin_standard"
        }
        assert not foreign, f"{path.relative_to(ROOT)} imports {foreign} when imported"


def test_the_wheel_holds_the_agent_and_the_standard_and_needs_only_openpyxl_and_cryptography(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith("dist-info/METADATA"))).decode()
        entry_points = zf.read(next(n for n in names if n.endswith("dist-info/entry_points.txt"))).decode()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"school_agent", "houqin_standard"}
    assert not any("packaging" in n for n in names)
    assert [line for line in metadata.splitlines() if line.startswith("Requires-Dist")] == [
        "Requires-Dist: openpyxl>=3.1,<4",
        "Requires-Dist: cryptography>=42",
    ]
    assert "houqin-agent = school_agent.cli:main" in entry_points


def build_wheel(out: Path) -> Path:
    r = subprocess.run(
        [sys.executable, str(ROOT / "school_agent" / "packaging" / "build_wheel.py"), "-o", str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return Path(r.stdout.strip())


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """openpyxl and cryptography with their dependencies (et_xmlfile; cffi, pycparser) as wheels: from
    HOUQIN_WHEELHOUSE when set, else downloaded from PyPI."""
    given = os.environ.get("HOUQIN_WHEELHOUSE")
    if given:
        return Path(given)
    house = tmp_path_factory.mktemp("wheelhouse")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "-d",
            str(house),
            "openpyxl>=3.1,<4",
            "cryptography>=42",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if r.returncode != 0:
        pytest.skip(f"openpyxl / cryptography wheels not available (no PyPI?): {r.stderr[-300:]}")
    return house


@pytest.mark.slow
def test_a_fresh_venv_with_only_the_agent_runs_and_submits(
    tmp_path: Path, wheelhouse: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    wheel = build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300, capture_output=True)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheelhouse), str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    work = tmp_path / "school-pc"  # far from the repository: nothing of it is importable
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "HOUQIN_", "VIRTUAL_ENV"))}
    env["HOUQIN_AGENT_HOME"] = str(work / "agent-home")
    env["PYTHONIOENCODING"] = "utf-8"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bindir / "houqin-agent"), *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )

    r = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {p["name"].lower() for p in json.loads(r.stdout)}
    assert {"houqin-agent", "openpyxl", "cryptography"} <= installed
    assert not installed & {"flask", "sqlalchemy", "celery", "houqin", "click", "requests"}

    r = run("--help")
    assert r.returncode == 0 and "学校后勤月报上报程序" in r.stdout

    probe = (
        "import sys, school_agent.cli, school_agent.template, school_agent.reader, school_agent.sync; "
        "print(school_agent.cli.__file__); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask','sqlalchemy','celery','district'}))"
    )
    r = subprocess.run([str(python), "-c", probe], cwd=work, env=env, capture_output=True, text=True, check=True)
    where, loaded = r.stdout.splitlines()
    assert where.startswith(str(venv)) and loaded == "[]"

    r = run("setup", "--hub", shared_hub.url, "-c", str(shared_hub.credential_file()))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "已固定教育局服务器的回执签名密钥" in r.stdout
    period = next_period()
    r = run("template", period)
    assert r.returncode == 0, r.stdout + r.stderr
    template = next(work.glob(f"*{period}.xlsx"))
    fill_template(template, example_report(period))
    r = run("submit", template.name)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"已送达教育局：{period} 第 1 版" in r.stdout and "教育局签名已核对" in r.stdout
    assert len(shared_hub.revisions_for(period)) == 1
    r = run("status")
    assert r.returncode == 0 and "已送达 1 份" in r.stdout
    r = run("receipts", "export", "-o", "回执.json")
    assert r.returncode == 0, r.stdout + r.stderr
    r = run("receipts", "verify", "回执.json")
    assert r.returncode == 0 and "通过 1 份" in r.stdout, r.stdout + r.stderr
