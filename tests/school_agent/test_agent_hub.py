"""The agent against a real hub on a loopback port: setup, submit, status, correct, and each refusal."""

from __future__ import annotations

import json
import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from school_agent.cli import main
from school_agent.outbox import Outbox
from tests.school_agent.hubproc import SCHOOL, Hub, example_report, fill_template, run_agent, setup_agent, write_json


def agent(home: Path, capsys: Any, *args: str) -> tuple[int, str]:
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def make_filled(home: Path, tmp_path: Path, capsys: Any, period: str, **changes: Any) -> Path:
    path = tmp_path / f"月报-{period}.xlsx"
    code, text = agent(home, capsys, "template", period, "-o", str(path), "--force")
    assert code == 0, text
    report = example_report(period)
    for key, value in changes.items():
        section, field = key.split("__")
        report[section][field] = value
    return fill_template(path, report)


# ---------------------------------------------------------------------------------------------- setup


def test_setup_reads_the_credential_file_stores_it_0600_and_never_prints_it(tmp_path: Path, shared_hub: Hub) -> None:
    home = tmp_path / "agent"
    secret = json.loads(shared_hub.credential_file().read_text())["secret"]
    r = run_agent(
        home,
        "setup",
        "--hub",
        shared_hub.url + "/",
        "-c",
        str(shared_hub.credential_file()),
        "--name",
        "庄里镇中心小学",
        "--clerk",
        "李总务",
    )
    assert r.returncode == 0, r.stderr
    assert "已连接教育局服务器，凭据有效" in r.stdout and "凭据：已保存（不会再显示）" in r.stdout
    config = home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = json.loads(config.read_text())
    assert saved["secret"] == secret and saved["school_code"] == SCHOOL and saved["hub_url"] == shared_hub.url
    for args in (("status",), ("status", "--json"), ("sync",), ("--help",)):
        r2 = run_agent(home, *args)
        assert secret not in r2.stdout + r2.stderr
    assert secret not in r.stdout + r.stderr


def test_setup_refuses_a_credential_the_hub_does_not_know(tmp_path: Path, shared_hub: Hub) -> None:
    home = tmp_path / "agent"
    bad = tmp_path / "cred.json"
    bad.write_text(json.dumps({"school_code": SCHOOL, "secret": "x" * 43}))
    r = run_agent(home, "setup", "--hub", shared_hub.url, "-c", str(bad))
    assert r.returncode == 5
    assert "不认可这个凭据" in r.stderr and "配置未保存" in r.stderr
    assert not (home / "config.json").exists()


def test_setup_asks_for_the_secret_without_echo(
    tmp_path: Path, shared_hub: Hub, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = json.loads(shared_hub.credential_file().read_text())["secret"]
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(
        "builtins.input",
        lambda prompt: (
            asked.append(prompt) or {"教育局服务器地址：": shared_hub.url, "学校标识码（10 位数字）：": SCHOOL}[prompt]
        ),
    )
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or secret)
    code, text = agent(tmp_path / "agent", capsys, "setup")
    assert code == 0, text
    assert asked == ["教育局服务器地址：", "学校标识码（10 位数字）：", "凭据（输入时不显示）："]
    assert secret not in text


def test_setup_from_stdin_for_unattended_installs(tmp_path: Path, shared_hub: Hub) -> None:
    secret = json.loads(shared_hub.credential_file().read_text())["secret"]
    home = tmp_path / "agent"
    r = subprocess_run_with_input(
        home, secret + "\n", "setup", "--hub", shared_hub.url, "--school", SCHOOL, "--secret-stdin"
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((home / "config.json").read_text())["secret"] == secret


def subprocess_run_with_input(home: Path, stdin: str, *args: str) -> Any:
    import subprocess
    import sys

    from tests.school_agent.hubproc import ROOT, agent_env

    return subprocess.run(
        [sys.executable, "-m", "school_agent", *args],
        cwd=ROOT,
        env=agent_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


# ---------------------------------------------------------------------------------------------- submit


def test_submit_a_filled_template_then_status(
    agent_home: Path, tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    path = make_filled(agent_home, tmp_path, capsys, period)
    code, text = agent(agent_home, capsys, "submit", str(path))
    assert code == 0, text
    assert f"已保存到发件箱：{period} 报表" in text and f"已送达教育局：{period} 第 1 版" in text
    with Outbox(agent_home / "outbox.sqlite3") as ob:
        (item,) = ob.items()
    assert item.state == "sent" and item.http_status == 201 and item.receipt is not None
    assert shared_hub.revisions_for(period) == [(item.report_id, 1)]
    assert item.receipt["content_sha256"] == item.content_sha256  # the hub stored exactly our bytes
    code, text = agent(agent_home, capsys, "status")
    assert code == 0
    assert "发件箱：待发送 0 份，已送达 1 份" in text
    assert f"教育局反馈（{period}）" in text and "生效版本：第 1 版（共 1 版）" in text
    assert "截止时间" in text and "报表截止" in text and "还有" in text

    # the same file again: recognised, nothing new on the hub
    code, text = agent(agent_home, capsys, "submit", str(path))
    assert code == 0 and "已在发件箱中" in text
    assert len(shared_hub.revisions_for(period)) == 1


def test_correct_sends_a_new_revision_with_a_new_report_id(
    agent_home: Path, tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    code, text = agent(agent_home, capsys, "submit", str(make_filled(agent_home, tmp_path, capsys, period)))
    assert code == 0, text
    fix = tmp_path / "fix.xlsx"
    code, text = agent(agent_home, capsys, "template", period, "-o", str(fix))
    assert code == 0 and f"houqin-agent correct {period}" in text
    wb = load_workbook(fix)
    wb["营养餐"]["C7"] = 13100  # meals_served, corrected (the fund rules still hold: no "请核对" question)
    wb.save(fix)
    wb.close()
    code, text = agent(agent_home, capsys, "submit", str(fix))
    assert code == 1 and f"houqin-agent correct {period}" in text  # submit does not quietly make revision 2
    code, text = agent(agent_home, capsys, "correct", period, str(fix))
    assert code == 0, text
    assert f"{period} 更正" in text and f"已送达教育局：{period} 第 2 版" in text
    with Outbox(agent_home / "outbox.sqlite3") as ob:
        first, second = ob.items()
    assert second.kind == "correction" and second.report_id != first.report_id
    assert second.report["nutrition"]["meals_served"] == 13100
    assert shared_hub.revisions_for(period) == [(first.report_id, 1), (second.report_id, 2)]
    code, text = agent(agent_home, capsys, "status", "--period", period)
    assert "生效版本：第 2 版（共 2 版）" in text
    code, text = agent(agent_home, capsys, "correct", period, str(fix))
    assert code == 1 and "无需更正" in text


def test_correct_needs_an_earlier_submission(
    agent_home: Path, tmp_path: Path, capsys: Any, next_period: Callable[[], str]
) -> None:
    period = next_period()
    code, text = agent(agent_home, capsys, "correct", period, str(make_filled(agent_home, tmp_path, capsys, period)))
    assert code == 1 and "还没有提交过报表，请使用 houqin-agent submit" in text
    if (agent_home / "outbox.sqlite3").exists():
        with Outbox(agent_home / "outbox.sqlite3") as ob:
            assert ob.count() == 0


# ---------------------------------------------------------------------------------------------- refusals


def test_a_hub_rejection_is_kept_with_its_reasons_and_not_retried(
    agent_home: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    # an older agent's report that today's standard rejects: the hub says 422, the agent keeps the reasons
    report = example_report(next_period())
    report["nutrition"]["meals_served"] = -1
    with Outbox(agent_home / "outbox.sqlite3") as ob:
        item = ob.add(report)
    code, text = agent(agent_home, capsys, "sync")
    assert code == 4
    assert "报表被教育局退回，有 1 处需要修改：" in text and "/nutrition/meals_served" in text
    assert "HTTP" not in text  # the status code only with --verbose (issue 19)
    with Outbox(agent_home / "outbox.sqlite3") as ob:
        rejected = ob.get(item.report_id)
        assert rejected is not None and rejected.state == "rejected" and rejected.attempts == 1
        assert rejected.hub_error is not None and rejected.hub_error["code"] == "validation_failed"
    code, text = agent(agent_home, capsys, "sync")
    assert code == 0 and "没有待发送的报表" in text
    code, text = agent(agent_home, capsys, "status", "--offline")
    assert "被退回 1 份" in text and "实际供餐人次" in text
    assert shared_hub.revisions_of(item.report_id) == 0


def test_the_same_report_id_with_other_content_is_a_conflict(
    tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    report = example_report(next_period())
    pc1, pc2 = tmp_path / "pc1", tmp_path / "pc2"
    setup_agent(pc1, shared_hub)
    setup_agent(pc2, shared_hub)
    code, text = agent(pc1, capsys, "submit", str(write_json(tmp_path / "a.json", report)))
    assert code == 0, text
    report["nutrition"]["meals_served"] += 1
    code, text = agent(pc2, capsys, "submit", str(write_json(tmp_path / "b.json", report)))
    assert code == 4
    assert "没有送达：同一编号已提交过不同的内容" in text
    assert "HTTP" not in text and "冲突）" not in text
    with Outbox(pc2 / "outbox.sqlite3") as ob:
        assert ob.get(report["report_id"]).state == "conflict"  # type: ignore[union-attr]
    assert shared_hub.revisions_of(report["report_id"]) == 1


def test_a_locked_period_is_a_conflict_until_unlocked_then_retry(
    agent_home: Path, tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    shared_hub.lock_period(period)
    report = example_report(period)
    code, text = agent(agent_home, capsys, "submit", str(write_json(tmp_path / "r.json", report)))
    assert code == 4
    assert "已由教育局审核锁定" in text and f"houqin-agent retry {report['report_id'][:8]}" in text
    conn = sqlite3.connect(shared_hub.db_path, timeout=30)
    try:
        conn.execute(
            "INSERT INTO period_approvals (county_code, period, action, actor, at) "
            "VALUES ('610528', ?, 'unlock', 'test', '2026-01-02 00:00:00.000000')",
            (period,),
        )
        conn.commit()
    finally:
        conn.close()
    code, text = agent(agent_home, capsys, "retry", report["report_id"][:8])
    assert code == 0, text
    assert "已重新排队" in text and f"已送达教育局：{period} 第 1 版" in text
    assert shared_hub.revisions_of(report["report_id"]) == 1


def test_a_rate_limited_hub_defers_to_the_next_run(
    tmp_path: Path, capsys: Any, hub_factory: Callable[..., Hub]
) -> None:
    hub = hub_factory(HOUQIN_RATE_LIMIT_PER_MINUTE="1").start()
    home = tmp_path / "agent"
    setup_agent(home, hub)
    for period in ("2026-07", "2026-08"):
        code, _ = agent(
            home, capsys, "submit", "--no-push", str(write_json(tmp_path / f"{period}.json", example_report(period)))
        )
        assert code == 0
    # The hub counts in fixed one-minute windows: start early enough in one that its Retry-After (the rest of
    # the minute) is longer than this sync may wait.
    if time.time() % 60 > 50:
        time.sleep(60.5 - time.time() % 60)
    code, text = agent(home, capsys, "sync", "--max-time", "5")
    assert code == 3, text
    assert "送达 1 份" in text and "仍待发送 1 份" in text and "请求过于频繁" in text
    with Outbox(home / "outbox.sqlite3") as ob:
        (pending,) = ob.items(("pending",))
    assert pending.http_status == 429 and pending.next_attempt_at is not None
    code, text = agent(home, capsys, "status", "--offline")
    assert "待发送 1 份" in text and "请求过于频繁" in text
