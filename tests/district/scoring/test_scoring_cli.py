"""``houqin rank``, ``houqin rubric load``, ``houqin inspections add``, ``houqin reminders``, ``houqin campaign``
with click's CliRunner: in-process on the test app (reading the test's transaction), and once on an instance of
its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from district.cli import Context, main
from district.db import db
from district.scoring.models import Inspection, RankingSnapshot
from district.scoring.rubric import DEFAULT_RUBRIC_PATH
from tests.conftest import ROOT
from tests.district.scoring.helpers_scoring_db import YEAR_FROM, YEAR_TO, seed_county


@pytest.fixture
def run(app: Any, session: Any) -> Any:
    def invoke(*args: str) -> Any:
        # commit the test's flushed rows into its outer transaction (rolled back at the end): leaving the
        # command's app context removes the scoped session
        db.session().commit()
        ctx = Context()
        ctx._app = app
        return CliRunner().invoke(main, list(args), obj=ctx)

    return invoke


@pytest.fixture()
def seeded(session: Any, county: Any) -> dict[str, int]:
    county.campaign_start_year = 2026
    return seed_county(session)


def test_rank_prints_a_chinese_table_with_the_campaign_progress(run: Any, seeded: dict[str, int]) -> None:
    result = run("rank", "--county", "610528", "--year", "2026")
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"富平县（610528）美丽新校园评比排名  {YEAR_FROM} 至 {YEAR_TO}" in out
    assert "名次" in out and "学校标识码" in out and "庄里镇中心小学" in out and "待县局现场督查" in out
    assert "富平县创建进度 2026 年（创建第 1 年）" in out and "目标 50.00%" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("名次"))
    first = lines[header + 2]
    assert first.split()[0] == "1"
    assert lines[header + 5].split()[0] == "—"  # 0004: no report, no rank, listed last
    assert "6105280004" in lines[header + 5] and "缺报 1 个月" in lines[header + 5]


def test_rank_json_equals_the_api_view(run: Any, seeded: dict[str, int], session: Any) -> None:
    from district.scoring import snapshots

    result = run("rank", "--county", "610528", "--from", YEAR_FROM, "--to", YEAR_TO, "--json", "--by-type")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    snapshot = session.get(RankingSnapshot, body["snapshot_id"])
    assert snapshot.trigger == "cli"
    assert body == snapshots.ranking_view(session, snapshot, by_type=True)
    again = json.loads(run("rank", "--county", "610528", "--snapshot", str(snapshot.id), "--json").output)
    assert again["snapshot_id"] == snapshot.id and not again["by_type"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--county", "999999", "--year", "2026"], "unknown county"),
        (["--county", "610528", "--year", "2026", "--from", "2026-01"], "not both"),
        (["--county", "610528", "--from", "2026-10", "--to", "2026-03"], "is after to"),
        (["--county", "610528", "--year", "2099"], "no period of 2099"),
        (["--county", "610528", "--snapshot", "123456"], "no such snapshot"),
    ],
)
def test_rank_errors(run: Any, county: Any, args: list[str], message: str) -> None:
    result = run("rank", *args)
    assert result.exit_code == 1 and message in result.output


def test_inspections_add(run: Any, seeded: dict[str, int], session: Any) -> None:
    result = run(
        "inspections",
        "add",
        "--school",
        "6105280001",
        "--date",
        "2026-10-15",
        "--score",
        "4.5",
        "--inspector",
        "教育局后勤科",
        "--notes",
        "文化墙完成",
    )
    assert result.exit_code == 0, result.output
    assert "已记录督查" in result.output and "4.5" in result.output
    insp = session.scalars(select(Inspection)).one()
    assert (insp.recorded_by, insp.notes) == ("cli", "文化墙完成")
    bad = run(
        "inspections", "add", "--school", "6105280001", "--date", "2026-10-15", "--score", "7", "--inspector", "x"
    )
    assert bad.exit_code == 1 and "/score: 督查得分应在 0 到 5 之间" in bad.output
    unknown = run(
        "inspections", "add", "--school", "6105289999", "--date", "2026-10-15", "--score", "4", "--inspector", "x"
    )
    assert unknown.exit_code == 1 and "unknown school" in unknown.output


def test_rubric_load_names_the_line(run: Any, county: Any, tmp_path: Path, session: Any) -> None:
    text = DEFAULT_RUBRIC_PATH.read_text(encoding="utf-8").replace('version = "default-1"', 'version = "fp-1"')
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("points = 6", "points = 7", 1), encoding="utf-8")
    result = run("rubric", "load", str(bad), "--county", "610528")
    assert result.exit_code == 1
    assert f"{bad}:" in result.output and "100" in result.output and "nothing loaded" in result.output
    good = tmp_path / "good.toml"
    good.write_text(text, encoding="utf-8")
    result = run("rubric", "load", str(good), "--county", "610528")
    assert result.exit_code == 0, result.output
    assert "fp-1" in result.output
    from district.registry.models import County

    assert db.session().get(County, "610528").rubric_id is not None


def test_reminders_and_campaign(run: Any, seeded: dict[str, int]) -> None:
    result = run("reminders", "--county", "610528", "--json")
    assert result.exit_code == 0, result.output
    kinds = {r["kind"] for r in json.loads(result.output)}
    assert "hazard_overdue" in kinds
    assert run("reminders", "--county", "610528", "--stored").output.strip() == "没有提醒 / no reminders"
    stored = run("reminders", "--county", "610528", "--store")
    assert stored.exit_code == 0 and "H-2026-09-001" in stored.output
    assert run("reminders", "--county", "610528", "--stored").output == stored.output
    assert run("reminders", "--county", "999999").exit_code == 1
    result = run("campaign", "--city", "610500", "--year", "2026")
    assert result.exit_code == 0, result.output
    assert "富平县（610528）创建进度 2026 年" in result.output and "全市（610500）创建进度" in result.output


def test_rank_on_an_instance_of_its_own(tmp_path: Path) -> None:
    """The real command line, as a process of its own on its own SQLite instance: schema, a school, an
    inspection, the ranking."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUQIN_")}
    env["HOUQIN_INSTANCE_PATH"] = str(tmp_path / "inst")

    def houqin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "district", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert houqin("db", "upgrade").returncode == 0
    schools = tmp_path / "schools.csv"
    schools.write_text(
        "code,name,county_code,township,type,boarding,opened,closed\n"
        "6105280001,庄里镇中心小学,610528,庄里镇,primary,true,,\n",
        encoding="utf-8",
    )
    assert houqin("schools", "import", str(schools)).returncode == 0
    result = houqin(
        "inspections", "add", "--school", "6105280001", "--date", "2026-03-02", "--score", "3", "--inspector", "县局"
    )
    assert result.returncode == 0, result.stderr
    result = houqin("rank", "--county", "610528", "--year", "2026", "--json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)["schools"][0]
    assert (row["school_code"], row["score"], row["status"]) == ("6105280001", None, "insufficient_data")
    assert "awaiting_inspection" not in row["flags"]
    table = houqin("rank", "--county", "610528", "--year", "2026")
    assert table.returncode == 0 and "庄里镇中心小学" in table.stdout
