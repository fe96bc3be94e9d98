"""Build the agent's wheel (``houqin_agent-<version>-py3-none-any.whl``) with the standard library alone.

The wheel holds ``school_agent`` and ``houqin_standard`` and declares ``openpyxl`` and ``cryptography`` (the hub's
receipt signatures) as its only dependencies, so ``pip install houqin_agent-….whl`` on a school's PC brings no
Flask, SQLAlchemy or Celery. Name, version,
dependencies and the console script are read from ``pyproject.toml`` beside this file; no setuptools, wheel
or network is needed to build (a wheel is a zip with a ``.dist-info`` folder, PEP 427).

    python3 school_agent/packaging/build_wheel.py -o dist/
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import sys
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PACKAGES = ("school_agent", "houqin_standard")


def _files(root: Path) -> list[tuple[str, Path]]:
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            rel = path.relative_to(root)
            if not path.is_file() or "__pycache__" in rel.parts or rel.parts[:2] == ("school_agent", "packaging"):
                continue  # the build tooling itself is not part of the installed agent
            if path.suffix in (".py", ".json", ".typed"):
                out.append((rel.as_posix(), path))
    return out


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build(out_dir: Path, root: Path = ROOT) -> Path:
    meta = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = meta["name"], meta["version"]
    dist = re.sub(r"[-_.]+", "_", name).lower()
    info = f"{dist}-{version}.dist-info"
    metadata = "\n".join(
        [
            "Metadata-Version: 2.1",
            f"Name: {name}",
            f"Version: {version}",
            f"Summary: {meta.get('description', '')}",
            f"Requires-Python: {meta.get('requires-python', '>=3.11')}",
            *(f"Requires-Dist: {d}" for d in meta.get("dependencies", [])),
            "",
        ]
    )
    wheel_meta = "Wheel-Version: 1.0\nGenerator: houqin build_wheel.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    scripts = meta.get("scripts", {})
    entry_points = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{dist}-{version}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def put(arcname: str, data: bytes) -> None:
            zi = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, data)
            records.append(_record_line(arcname, data))

        for arcname, path in _files(root):
            put(arcname, path.read_bytes())
        put(f"{info}/METADATA", metadata.encode())
        put(f"{info}/WHEEL", wheel_meta.encode())
        put(f"{info}/entry_points.txt", entry_points.encode())
        put(f"{info}/top_level.txt", ("\n".join(PACKAGES) + "\n").encode())
        record = "\n".join([*records, f"{info}/RECORD,,", ""])
        zi = zipfile.ZipInfo(f"{info}/RECORD", date_time=(2020, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi.external_attr = 0o644 << 16
        zf.writestr(zi, record.encode())
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="build the houqin-agent wheel (stdlib only)")
    p.add_argument("-o", "--out", default="dist", help="output folder (default: dist)")
    args = p.parse_args(argv)
    print(build(Path(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
