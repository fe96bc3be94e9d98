"""Registry import (CSV and xlsx): errors name line and column, nothing half-written; re-import updates.
Credentials: printed once, stored encrypted, rotation revokes the old one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from district.registry.crypto import SecretBox
from district.registry.models import Credential, School, Township
from district.registry.services import ImportError_, import_schools, issue_credential

HEADER = "code,name,county_code,township,type,boarding,opened,closed\n"


def write(tmp_path: Path, text: str, name: str = "schools.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_import_creates_then_updates_without_duplicates(session: Any, tmp_path: Path) -> None:
    f = write(
        tmp_path,
        HEADER + "6105280001,庄里镇中心小学,610528,庄里镇,primary,true,,\n"
        "6105280002,庄里镇初级中学,610528,庄里镇,junior,true,2001-09-01,\n",
    )
    r1 = import_schools(session, f)
    assert (r1.created, r1.updated) == (2, 0)
    f2 = write(
        tmp_path,
        HEADER + "6105280001,庄里镇中心小学（更名）,610528,庄里镇,primary,false,,\n"
        "6105280002,庄里镇初级中学,610528,庄里镇,junior,true,2001-09-01,2026-06-30\n",
    )
    r2 = import_schools(session, f2)
    assert (r2.created, r2.updated, r2.unchanged) == (0, 2, 0)
    assert session.scalar(select(func.count()).select_from(School)) == 2
    assert session.scalar(select(func.count()).select_from(Township)) == 1
    s1 = session.get(School, "6105280001")
    assert s1.name == "庄里镇中心小学（更名）" and s1.boarding is False
    assert str(session.get(School, "6105280002").closed) == "2026-06-30"
    assert import_schools(session, f2).unchanged == 2


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("610528001,名,610528,镇,primary,true,,", "第 2 行 code 列"),
        ("6105280001,名,61052,镇,primary,true,,", "第 2 行 county_code 列"),
        ("6105280001,名,610528,镇,school,true,,", "第 2 行 type 列"),
        ("6105280001,名,610528,镇,primary,maybe,,", "第 2 行 boarding 列"),
        ("6105280001,名,610528,镇,primary,true,2026/01/01,", "第 2 行 opened 列"),
        ("6105280001,,610528,镇,primary,true,,", "第 2 行 name 列"),
    ],
)
def test_import_errors_name_line_and_column_and_write_nothing(
    session: Any, tmp_path: Path, row: str, expected: str
) -> None:
    f = write(tmp_path, HEADER + row + "\n")
    with pytest.raises(ImportError_) as exc:
        import_schools(session, f)
    assert any(expected in e for e in exc.value.errors), exc.value.errors
    assert session.scalar(select(func.count()).select_from(School)) == 0


def test_import_reports_every_error_and_duplicates(session: Any, tmp_path: Path) -> None:
    f = write(
        tmp_path,
        HEADER + "6105280001,甲,610528,镇,primary,true,,\n"
        "6105280001,乙,610528,镇,primary,true,,\n"
        "6105280003,丙,610528,镇,bad,true,,\n",
    )
    with pytest.raises(ImportError_) as exc:
        import_schools(session, f)
    assert any("第 3 行 code 列" in e and "第 2 行重复" in e for e in exc.value.errors)
    assert any("第 4 行 type 列" in e for e in exc.value.errors)


def test_missing_column_is_named(session: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "code,name,county_code,township,type\n6105280001,甲,610528,镇,primary\n")
    with pytest.raises(ImportError_) as exc:
        import_schools(session, f)
    assert "boarding" in exc.value.errors[0] and "第 1 行" in exc.value.errors[0]


def test_import_xlsx(session: Any, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["code", "name", "county_code", "township", "type", "boarding"])
    ws.append(["6105280001", "庄里镇中心小学", "610528", "庄里镇", "primary", "true"])
    ws.append(["6105280002", "城关小学", "610528", "城关街道", "bad_type", "false"])
    path = tmp_path / "schools.xlsx"
    wb.save(path)
    with pytest.raises(ImportError_) as exc:
        import_schools(session, path)
    assert any("第 3 行 type 列" in e for e in exc.value.errors)
    ws.cell(row=3, column=5, value="primary")
    wb.save(path)
    assert import_schools(session, path).created == 2


def test_not_an_xlsx_file_is_a_clear_error(session: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "code,name\n", name="renamed.xlsx")
    with pytest.raises(ImportError_) as exc:
        import_schools(session, f)
    assert "xlsx" in exc.value.errors[0]


def test_credential_is_encrypted_at_rest_and_rotation_revokes(app: Any, session: Any, county: Any) -> None:
    box = SecretBox(app.config["SERVER_KEY_FILE"])
    first = issue_credential(session, box, "6105280001")
    assert len(first) >= 43  # 32 random bytes, URL-safe base64
    row = session.scalars(select(Credential)).one()
    assert first.encode() not in row.secret_encrypted
    assert box.open(row.secret_encrypted) == first
    second = issue_credential(session, box, "6105280001")
    assert second != first
    rows = session.scalars(select(Credential).order_by(Credential.id)).all()
    assert rows[0].revoked_at is not None and rows[1].revoked_at is None
    # another server key cannot open it: the database alone never gives the secret back
    other = SecretBox(str(Path(app.config["SERVER_KEY_FILE"]).with_name("other.key")))
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidToken
        other.open(rows[1].secret_encrypted)


def test_cli_import_and_credential_json(tmp_path: Path, monkeypatch: Any, restore_db_state: None) -> None:
    """The real CLI on its own SQLite instance: import, then a credential printed once as JSON."""
    monkeypatch.setenv("HOUQIN_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.delenv("HOUQIN_DATABASE_URL", raising=False)
    from district.cli import main

    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    f = write(tmp_path, HEADER + "6105280001,庄里镇中心小学,610528,庄里镇,primary,true,,\n")
    res = runner.invoke(main, ["schools", "import", str(f)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["schools", "credential", "6105280001", "--json"])
    assert res.exit_code == 0
    payload = json.loads(res.output)
    assert payload["school_code"] == "6105280001" and len(payload["secret"]) >= 43
    bad = write(tmp_path, HEADER + "123,x,610528,镇,primary,true,,\n", name="bad.csv")
    res = runner.invoke(main, ["schools", "import", str(bad)])
    assert res.exit_code == 1 and "第 2 行 code 列" in res.output
    assert runner.invoke(main, ["schools", "credential", "9999999999"]).exit_code == 1
