"""被退回 over real HTTP (issue 18): the agent submits to a real hub, the county bureau returns the report through
the review API, ``houqin-agent status`` shows the comment, who returned it and which cells to look at; the
clerk's correction clears it (the month is 待审核 again)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from school_agent.cli import main
from school_agent.outbox import Outbox
from tests.school_agent.hubproc import ROOT, Hub, example_report, fill_template


def agent(home: Path, capsys: Any, *args: str) -> tuple[int, str]:
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def bureau_token(hub: Hub) -> tuple[str, str]:
    """A county_admin of 610528 on the running hub, made with the hub's own CLI; (username, token)."""
    name = f"rv-{uuid.uuid4().hex[:8]}"
    for args in (
        ["users", "create", name, "--role", "county_admin", "--scope", "610528", "--password", "correct horse 1"],
        ["users", "token", name],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "district", *args], cwd=ROOT, env=hub.env, capture_output=True, text=True,
            timeout=120, check=True,
        )  # fmt: skip
    return name, done.stdout.strip().splitlines()[-1]


def hub_cli(hub: Hub, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "district", *args], cwd=ROOT, env=hub.env, capture_output=True, text=True, timeout=120
    )


def test_users_create_township_admin_validates_county_and_township(shared_hub: Hub) -> None:
    name = f"zl-{uuid.uuid4().hex[:8]}"
    base = ["users", "create", name, "--role", "township_admin", "--password", "correct horse 1", "--scope"]
    bad = hub_cli(shared_hub, *base, "610528/不存在镇")
    assert bad.returncode == 1 and "unknown township" in bad.stderr
    assert hub_cli(shared_hub, *base, "999999/庄里镇").returncode == 1
    good = hub_cli(shared_hub, *base, "610528/庄里镇")
    assert good.returncode == 0 and f"user {name} (township_admin 610528/庄里镇) created" in good.stdout
    assert shared_hub.query("SELECT role, county_code, township FROM users WHERE username = ?", name) == [
        ("township_admin", "610528", "庄里镇")
    ]


def review(hub: Hub, token: str, report_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"{hub.url}/api/v1/reports/{report_id}/review",
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_status_shows_a_returned_report_with_its_comment_and_cells_then_a_correction_clears_it(
    agent_home: Path, tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    path = tmp_path / f"月报-{period}.xlsx"
    code, text = agent(agent_home, capsys, "template", period, "-o", str(path), "--force")
    assert code == 0, text
    code, text = agent(agent_home, capsys, "submit", str(fill_template(path, example_report(period))))
    assert code == 0, text
    with Outbox(agent_home / "outbox.sqlite3") as ob:
        (item,) = ob.items()
    reviewer, token = bureau_token(shared_hub)
    status, body = review(shared_hub, token, item.report_id, {"decision": "returned"})
    assert status == 422 and body["error"]["details"][0]["path"] == "/comment"
    comment = "本月结余与上月结转对不上，请核对本月结余和食堂从业人员数"
    status, body = review(shared_hub, token, item.report_id, {"decision": "returned", "comment": comment})
    assert status == 200, body

    code, text = agent(agent_home, capsys, "status", "--period", period)
    assert code == 0, text
    assert f"教育局审核：被退回，请修改后更正。意见：{comment}" in text
    assert f"退回人：{reviewer}" in text
    # the cells the comment names, as the template lays them out
    assert "请核对这些单元格：营养餐!C13（本月结余）、食品安全!C4（食堂从业人员数）" in text

    # the clerk corrects: a new revision, the month goes back to the queue (no review shown)
    fix = tmp_path / "fix.xlsx"
    code, text = agent(agent_home, capsys, "template", period, "-o", str(fix))
    assert code == 0, text
    wb = load_workbook(fix)
    wb["营养餐"]["C7"] = 13100
    wb.save(fix)
    wb.close()
    code, text = agent(agent_home, capsys, "correct", period, str(fix))
    assert code == 0, text
    code, text = agent(agent_home, capsys, "status", "--period", period)
    assert code == 0 and "被退回，请修改后更正" not in text and "教育局审核" not in text
    # and the old revision can no longer be reviewed: 409 naming the one in effect
    with Outbox(agent_home / "outbox.sqlite3") as ob:
        _first, second = ob.items()
    status, body = review(shared_hub, token, item.report_id, {"decision": "approved"})
    assert status == 409 and body["error"]["details"][0]["current_report_id"] == second.report_id
