"""Command-line details: the deadline lines of status, a submit while another sync holds the lock, --version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from school_agent import __version__
from school_agent.cli import main
from school_agent.config import LOCK_NAME
from school_agent.lock import FileLock
from school_agent.outbox import Outbox
from tests.school_agent.hubproc import SCHOOL, example_report, write_json


def test_deadlines_days_left_and_overdue_are_the_hub_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The days are the hub's reporting calendar's (``GET /api/v1/period-state``), never this PC's date: the
    hub's figures below are not what the PC's clock would give."""
    from school_agent import cli
    from school_agent.config import AgentConfig

    cfg = AgentConfig(hub_url="http://127.0.0.1:9", school_code=SCHOOL, secret="x" * 43)
    cur = cli.current_period()
    prev = cli.period_add(cur, -1)
    states = {
        prev: {"deadline": f"{cur}-05T23:59:59+08:00", "reported": False, "days_late": 16, "days_left": None},
        cur: {"deadline": f"{cli.period_add(cur, 1)}-10T23:59:59+08:00", "reported": False, "days_late": 0,
              "days_left": 19},
    }  # fmt: skip
    monkeypatch.setattr(cli, "_period_state", lambda _cfg, period: (states[period], None))
    with Outbox(tmp_path / "o.sqlite3") as ob:
        assert cli._deadline_lines_hub(ob, cfg, 5, offline=False) == [
            f"上月（{prev}）报表尚未提交，已逾期 16 天（截止 {cur}-05 23:59），请尽快提交",
            f"本月（{cur}）报表截止 {cli.period_add(cur, 1)}-10 23:59，还有 19 天",
        ]
        states[prev] = {**states[prev], "days_late": 0, "days_left": 0}
        assert cli._deadline_lines_hub(ob, cfg, 5, offline=False)[0].endswith("今天截止！")
        states[prev] = {**states[prev], "reported": True}  # reported from another PC: the hub knows
        assert cli._deadline_lines_hub(ob, cfg, 5, offline=False) == [
            f"本月（{cur}）报表截止 {cli.period_add(cur, 1)}-10 23:59，还有 19 天"
        ]
        # offline: the deadlines, and no count of days made up from this PC's date
        lines = cli._deadline_lines_hub(ob, cfg, 5, offline=True)
        assert not any("还有" in line or "逾期" in line for line in lines[:-1])
        assert "以教育局服务器为准" in lines[-1]


def test_submit_while_another_sync_holds_the_lock_keeps_the_report_queued(
    tmp_path: Path, offline_home: Path, capsys: Any
) -> None:
    lock = FileLock(offline_home / LOCK_NAME)
    assert lock.acquire()
    try:
        path = write_json(tmp_path / "r.json", example_report("2026-09"))
        code = main(["--home", str(offline_home), "submit", str(path), "--wait-lock", "0.2"])
        text = capsys.readouterr().out
    finally:
        lock.release()
    assert code == 3
    assert "另一个同步正在进行，这份报表已安全保存在发件箱" in text
    with Outbox(offline_home / "outbox.sqlite3") as ob:
        (item,) = ob.items()
    assert item.state == "pending" and item.attempts == 0
    assert main(["--home", str(offline_home), "sync", "--max-attempts", "1"]) == 3  # the hub is not there


def test_a_scheduled_sync_with_nothing_to_do_is_silent(offline_home: Path, capsys: Any) -> None:
    assert main(["--home", str(offline_home), "sync", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_version_and_help(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and __version__ in capsys.readouterr().out
    assert main([]) == 2
    assert "学校后勤月报上报程序" in capsys.readouterr().out


def test_two_submits_of_one_file_at_once_queue_it_once(tmp_path: Path, offline_home: Path) -> None:
    import subprocess
    import sys

    from school_agent.template import build_template
    from tests.school_agent.hubproc import ROOT, agent_env, fill_template

    path = tmp_path / "t.xlsx"
    build_template(path, school_code=SCHOOL, period="2026-09")
    fill_template(path, example_report("2026-09"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "school_agent", "submit", "--no-push", str(path)],
            cwd=ROOT,
            env=agent_env(offline_home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with Outbox(offline_home / "outbox.sqlite3") as ob:
        assert ob.count() == 1
    said = "".join(o for o, _e in outputs)
    assert said.count("已保存到发件箱") == 1 and said.count("已在发件箱中") == 1
