"""Regenerate the initial migration from all models (used only before the first release has landed).

Once a schema is deployed, new changes get their own dated migration: `alembic revision --autogenerate`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

# this checkout's code, whatever another editable install on the machine points at
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic import command

from district.migrate import MIGRATIONS, alembic_config

target = MIGRATIONS / "versions"
for old in target.glob("*_0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    cfg = alembic_config(f"sqlite:///{Path(tmp) / 'gen.db'}")
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
for new in target.glob("*_0001_*.py"):
    import subprocess

    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(new)], check=False)
    print(f"wrote {new.relative_to(MIGRATIONS.parent.parent)}")
