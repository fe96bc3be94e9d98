"""Issue 19, the agent's side: a clerk's path without traps, over real HTTP to a real hub process.

The month's state asked at ``template`` (locked: refused before anything is filled), a captive portal recognised,
``restore`` on a new PC, the "请核对" fund pre-check asked before a report leaves, refusals in a clerk's words (the
HTTP status only with ``--verbose``), the feedback rendered in Chinese, and the double-clickable menu file.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from school_agent import wording
from school_agent.cli import main
from school_agent.layout import COVER_SHEET, cell_for_path
from school_agent.outbox import Outbox
from tests.school_agent.hubproc import (
    ROOT,
    SCHOOL,
    Hub,
    agent_env,
    example_report,
    fill_template,
    run_agent,
    setup_agent,
    write_json,
)

NOT_HUB = "连接到的不是教育局服务器（可能需要先登录校园网）"
LOCKED = "该月已由教育局审核锁定，不能再报送；如需更正请联系教育局"


def agent(home: Path, capsys: Any, *args: str) -> tuple[int, str]:
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def agent_with_input(home: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The agent as its own process, the clerk's answers on its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "school_agent", *args],
        cwd=ROOT,
        env=agent_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def unbalanced(period: str) -> dict[str, Any]:
    """The issue's planted mistake: 本月结余 typed 200.00 more than the sum gives."""
    report = example_report(period)
    report["nutrition"]["closing_balance"] = "5115.65"  # 2986.00 + 67235.00 − 65305.35 − 0.00 = 4915.65
    return report


# ---------------------------------------------------------------------------------------------- template


def test_a_locked_month_is_refused_at_template_before_anything_is_filled(
    agent_home: Path, tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    shared_hub.lock_period(period)
    target = tmp_path / "t.xlsx"
    code, text = agent(agent_home, capsys, "template", period, "-o", str(target))
    assert code == 4
    assert f"{period}：{LOCKED}。没有生成模板" in text
    assert not target.exists()  # nothing to fill, nothing filled
    assert "HTTP" not in text and "冲突" not in text and "修订" not in text


def test_template_says_first_when_the_month_was_already_reported_from_another_pc(
    tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    pc1, pc2 = tmp_path / "pc1", tmp_path / "pc2"
    setup_agent(pc1, shared_hub)
    setup_agent(pc2, shared_hub)
    code, text = agent(pc1, capsys, "submit", str(write_json(tmp_path / "r.json", example_report(period))))
    assert code == 0, text
    code, text = agent(pc2, capsys, "template", period, "-o", str(tmp_path / "t.xlsx"))
    assert code == 0, text
    said = text.index(f"教育局已收到本校 {period} 的报表（共 1 版）。再次报送将作为更正（第 2 版）")
    assert said < text.index("已生成")


# ---------------------------------------------------------------------------------------------- restore


def test_restore_on_an_empty_outbox_then_template_prefills_from_the_hub(
    tmp_path: Path, capsys: Any, hub_factory: Callable[..., Hub]
) -> None:
    hub = hub_factory().start()
    old_pc, new_pc = tmp_path / "old", tmp_path / "new"
    setup_agent(old_pc, hub)
    setup_agent(new_pc, hub)

    # nothing on the hub yet: said, and the template's cover does not claim a prefill
    code, text = agent(new_pc, capsys, "restore")
    assert code == 0 and "教育局服务器上还没有本校已接收的报表" in text
    assert not (new_pc / "restored.json").exists()
    empty = tmp_path / "empty.xlsx"
    code, text = agent(new_pc, capsys, "template", "2026-09", "-o", str(empty))
    assert code == 0 and "模板未预填" in text
    notes = _cover_text(empty)
    assert "本模板没有预填数值" in notes and "已按上月报表预填" not in notes

    report = example_report("2026-09")  # one hazard open, one rectified
    code, text = agent(old_pc, capsys, "submit", str(write_json(tmp_path / "r.json", report)))
    assert code == 0, text

    code, text = agent(new_pc, capsys, "restore")
    assert code == 0, text
    assert "已从教育局服务器取回本校 2026-09 的报表" in text
    assert json.loads((new_pc / "restored.json").read_text(encoding="utf-8"))["period"] == "2026-09"
    assert not (new_pc / "outbox.sqlite3").exists() or Outbox(new_pc / "outbox.sqlite3").count("sent") == 0

    hub.stop()  # the restored copy serves offline too
    target = tmp_path / "t.xlsx"
    code, text = agent(new_pc, capsys, "template", "2026-10", "-o", str(target))
    assert code == 0, text
    assert "已按教育局已接收的 2026-09 报表预填不变的数值" in text and "隐患台账已预填未整改的隐患 1 条" in text
    sheet, cell = cell_for_path("/nutrition/opening_balance") or ("", "")
    wb = load_workbook(target)
    try:
        assert Decimal(str(wb[sheet][cell].value)) == Decimal("4915.65")  # last month's closing balance
    finally:
        wb.close()
    assert "已按教育局已接收的 2026-09 报表预填" in _cover_text(target)


def _cover_text(path: Path) -> str:
    wb = load_workbook(path)
    try:
        ws = wb[COVER_SHEET]
        return "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    finally:
        wb.close()


# ---------------------------------------------------------------------------------------------- pre-check


def test_precheck_warnings_are_asked_and_a_no_sends_nothing(
    agent_home: Path, tmp_path: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    path = tmp_path / "t.xlsx"
    assert main(["--home", str(agent_home), "template", period, "-o", str(path)]) == 0
    report = unbalanced(period)
    fill_template(path, report)
    r = agent_with_input(agent_home, "n\n", "submit", str(path))
    assert r.returncode == 1, r.stdout + r.stderr
    text = r.stdout + r.stderr
    assert "请核对：以下 1 项营养餐资金数据与教育局的核算规则不符" in text
    assert "营养餐!" in text and "账目不平：2986.00 + 67235.00 − 65305.35 − 0.00 = 4915.65 ≠ 5115.65" in text
    # the plain sentence first (houqin_standard.fund_text, the hub's words), the rule with the figures under it
    assert "本月结余 5,115.65 元，按上月结余、收入和支出算应为 4,915.65 元，相差 200.00 元" in text
    assert "计算：账目不平：" in text
    assert "(y/N)" in text and "未确认：报表未保存、未发送" in text
    assert "已保存到发件箱" not in text
    assert shared_hub.revisions_for(period) == []
    if (agent_home / "outbox.sqlite3").exists():
        with Outbox(agent_home / "outbox.sqlite3") as ob:
            assert ob.for_period(SCHOOL, period) == []

    # the clerk checked the books: the figures stand, confirmed, sent; the hub finds the same anomaly
    r = agent_with_input(agent_home, "y\n", "submit", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"已送达教育局：{period} 第 1 版" in r.stdout
    assert len(shared_hub.revisions_for(period)) == 1


def test_yes_confirms_for_scripts_and_no_answer_is_a_no(
    agent_home: Path, tmp_path: Path, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    path = write_json(tmp_path / "r.json", unbalanced(period))
    r = agent_with_input(agent_home, "", "submit", str(path))  # no answer (end of input): not sent
    assert r.returncode == 1 and "未确认" in r.stdout + r.stderr
    assert shared_hub.revisions_for(period) == []
    r = run_agent(agent_home, "submit", str(path), "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "已按 --yes 确认数据无误" in r.stdout and "(y/N)" not in r.stdout
    assert len(shared_hub.revisions_for(period)) == 1


# ---------------------------------------------------------------------------------------------- wording


def test_locked_period_wording_with_and_without_verbose(
    agent_home: Path, tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    shared_hub.lock_period(period)
    code, text = agent(agent_home, capsys, "submit", str(write_json(tmp_path / "a.json", example_report(period))))
    assert code == 4
    assert f"{period} 报表没有送达：{LOCKED}" in text
    assert "HTTP" not in text and "冲突" not in text and "修订" not in text
    code, text = agent(
        agent_home, capsys, "--verbose", "submit", str(write_json(tmp_path / "b.json", example_report(period)))
    )
    assert code == 4 and LOCKED in text and "（HTTP 409 period_locked）" in text


def test_bad_credential_wording_with_and_without_verbose(
    tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    home = tmp_path / "agent"
    setup_agent(home, shared_hub)
    cfg = json.loads((home / "config.json").read_text(encoding="utf-8"))
    cfg["secret"] = "w" * 43  # a credential the bureau has since replaced
    (home / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    path = write_json(tmp_path / "r.json", example_report(next_period()))
    code, text = agent(home, capsys, "submit", str(path))
    assert code == 4
    assert "教育局服务器不认可本机的凭据（可能已被更换），请向教育局索取新凭据" in text
    assert "HTTP" not in text
    code, text = agent(home, capsys, "status", "--verbose")
    assert "暂时无法获取：教育局服务器不认可本机的凭据" in text and "（HTTP 401 bad_signature）" in text


def test_a_busy_hub_is_worded_for_a_clerk(tmp_path: Path, capsys: Any, hub_factory: Callable[..., Hub]) -> None:
    from tests.school_agent.hubproc import OTHER_SCHOOL

    hub = hub_factory(HOUQIN_RATE_LIMIT_PER_MINUTE="1").start()
    texts = []
    for school, verbose in ((SCHOOL, ()), (OTHER_SCHOOL, ("--verbose",))):  # the limit is per school
        home = tmp_path / school
        setup_agent(home, hub, school)
        for period in ("2026-07", "2026-08"):
            path = write_json(tmp_path / f"{school}-{period}.json", example_report(period, school))
            assert main(["--home", str(home), "submit", "--no-push", str(path)]) == 0
        capsys.readouterr()
        # the hub counts in one-minute windows: start early enough in one that its Retry-After is long
        if time.time() % 60 > 50:
            time.sleep(60.5 - time.time() % 60)
        code, text = agent(home, capsys, *verbose, "sync", "--max-time", "2")
        assert code == 3, text
        texts.append(text)
    assert "教育局服务器正忙（请求过于频繁），请稍后再试" in texts[0] and "HTTP" not in texts[0]
    assert "教育局服务器正忙（请求过于频繁），请稍后再试（HTTP 429 rate_limited）" in texts[1]


# ---------------------------------------------------------------------------------------------- not the hub


class _Portal(http.server.BaseHTTPRequestHandler):
    """A campus network's login page: 200 text/html to everything."""

    page = "<html><body>校园网认证：请先登录</body></html>".encode()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def portal() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_captive_portal_is_recognised(tmp_path: Path, capsys: Any, portal: str, shared_hub: Hub) -> None:
    home = tmp_path / "agent"
    code, text = agent(home, capsys, "setup", "--hub", portal, "-c", str(shared_hub.credential_file()))
    assert code == 0 and NOT_HUB in text and "HTTP 200" not in text

    code, text = agent(home, capsys, "template", "2026-09", "-o", str(tmp_path / "t.xlsx"))
    assert code == 0 and f"未能向教育局服务器核对 2026-09 是否已报送或已锁定（{NOT_HUB}）" in text

    code, text = agent(home, capsys, "status")
    assert f"暂时无法获取：{NOT_HUB}" in text and "HTTP 200" not in text

    path = write_json(tmp_path / "r.json", example_report("2026-09"))
    code, text = agent(home, capsys, "submit", str(path), "--max-attempts", "1", "--backoff-base", "0")
    assert code == 3, text
    assert f"暂时未能送达：{NOT_HUB}" in text and "已送达" not in text
    code, text = agent(home, capsys, "--verbose", "status")
    assert f"{NOT_HUB}（HTTP 200）" in text


# ---------------------------------------------------------------------------------------------- feedback


def test_feedback_in_chinese_the_ranking_in_words_an_unknown_field_skipped() -> None:
    fb = {
        "school_code": SCHOOL,
        "period": "2026-10",
        "deadline": "2026-11-05T23:59:59+08:00",
        "locked": True,
        "revision": {"revision": 2, "on_time": False, "received_at": "2026-11-07T09:30:00+08:00"},
        "revisions": 2,
        "warnings": [{"code": "energy_jump", "message": "用电量比上月增加 4 倍"}],
        "fund_anomalies": [
            {"code": "BALANCE_MISMATCH", "message": "账目不平：1 + 1 = 2 ≠ 3"},
            {
                "code": "ACCOMPANY_GAP",
                "message": "陪餐不足：陪餐 15 天 < 供餐 19 天",
                "figures": {"accompany_meal_days": "15", "meal_days": "19", "shortfall_days": "4"},
            },
        ],
        "score": None,
        "rank": None,
        "ranking": {  # the object, which was printed raw
            "window": {"from": "2026-01", "to": "2026-11"},
            "status": "insufficient_data",
            "status_label": "数据不全",
            "coverage": "0.0000",
            "flags": ["missing:2026-01"],
            "snapshot_id": 5,
        },
        "review": {"decision": "returned", "comment": "食材支出请附单据", "reviewer": "张科长", "at": "2026-11-08"},
        "reminders": [{"kind": "report_missing", "message": "2026-10 月报已逾期 2 天"}],
        "future_field": {"window": "x", "snapshot_id": 9},
    }
    text = "\n".join(wording.feedback_lines(fb))
    assert "生效版本：第 2 版（共 2 版），接收时间 2026-11-07 09:30（逾期）" in text
    assert "该月份已由教育局审核锁定" in text
    assert "提示：用电量比上月增加 4 倍" in text and "资金异常：账目不平：1 + 1 = 2 ≠ 3" in text
    # with its figures, in the fund catalog's words (houqin_standard.fund_text), the rule in brackets
    assert "资金异常：陪餐不足：供餐 19 天，有陪餐记录的只有 15 天，少 4 天（计算：陪餐 15 天 < 供餐 19 天）" in text
    assert "得分和排名：数据不全，暂不排名（统计期间 2026-01 至 2026-11）" in text
    assert "教育局审核：被退回，请修改后更正。意见：食材支出请附单据" in text
    assert "提醒：2026-10 月报已逾期 2 天" in text
    for raw in ("future_field", "snapshot", "coverage", "missing:", "window", "status", "None", "{", "_"):
        assert raw not in text, raw

    ranked = {**fb, "score": "86.50", "rank": 3}
    ranked["ranking"] = {**fb["ranking"], "status": "compliant", "status_label": "达标", "grade": "良好",
                         "schools_ranked": 12}  # fmt: skip
    text = "\n".join(wording.score_lines(ranked))
    assert text == "得分：86.50，等级：良好，排名：全县第 3 名（共 12 所参与排名）\n统计期间：2026-01 至 2026-11"


# ---------------------------------------------------------------------------------------------- messages


def test_errors_come_first_the_typed_negative_is_echoed_and_notices_wait_for_the_save(
    agent_home: Path, tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    period = next_period()
    path = tmp_path / "t.xlsx"
    assert main(["--home", str(agent_home), "template", period, "-o", str(path)]) == 0
    report = example_report(period)
    report["hazards"][0].pop("ref")  # a new hazard: the agent numbers it
    report["nutrition"]["meals_served"] = -5
    fill_template(path, report)
    capsys.readouterr()
    code, text = agent(agent_home, capsys, "submit", str(path))
    assert code == 1
    assert "实际供餐人次" in text and "（现为 -5）" in text and "未保存、未发送" in text
    assert "已自动编号" not in text  # nothing was saved: nothing "numbered"
    report["nutrition"]["meals_served"] = 13193
    fill_template(path, report)
    code, text = agent(agent_home, capsys, "submit", str(path))
    assert code == 0, text
    assert text.index("已保存到发件箱") < text.index("新登记的隐患已自动编号 H-") < text.index("已送达教育局")


# ---------------------------------------------------------------------------------------------- the menu


def test_setup_writes_the_double_clickable_menu(tmp_path: Path, capsys: Any, shared_hub: Hub) -> None:
    home = tmp_path / "agent"
    code, text = agent(home, capsys, "setup", "--hub", shared_hub.url, "-c", str(shared_hub.credential_file()))
    assert code == 0, text
    bat = home / "houqin-agent.bat"
    assert f"双击菜单：{bat}" in text
    data = bat.read_bytes()
    assert data.startswith(b"@echo off\r\nchcp 65001 >nul\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") > 20 and data.endswith(b"\r\n")  # CRLF only
    lines = data.decode("utf-8").split("\r\n")
    assert f'set "HOUQIN_AGENT_HOME={home.resolve()}"' in lines
    assert f'set "HQ_PY={sys.executable}"' in lines
    for item in ("echo   1. 生成模板", "echo   2. 提交", "echo   3. 查看状态"):
        assert any(line.startswith(item) for line in lines), item
    assert '"%HQ_PY%" -m school_agent template %period%' in lines
    assert '"%HQ_PY%" -m school_agent submit %file%' in lines
    assert '"%HQ_PY%" -m school_agent status' in lines
    assert lines.count("pause") == 3
