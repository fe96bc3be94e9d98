"""The bureau's 督查 findings reach the school over real HTTP (issue 20 item 5): a county_admin records an
inspection with a finding on a hub of its own; ``houqin-agent status`` says it with its ref and deadline, and
``houqin-agent template`` puts it in the month's 隐患台账 (still open), so the clerk closes it there by its ref."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from houqin_standard import current_period, period_add
from school_agent.reader import read_file
from tests.school_agent.hubproc import Hub, setup_agent
from tests.school_agent.test_agent_review import agent, bureau_token


def _record(hub: Hub, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"{hub.url}/api/v1/schools/6105280001/inspections",
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def test_status_and_template_carry_the_bureaus_open_finding(
    tmp_path: Path, capsys: Any, hub_factory: Callable[..., Hub]
) -> None:
    hub = hub_factory().start()  # a hub of its own: the finding must not reach other tests' templates
    home = tmp_path / "agent"
    setup_agent(home, hub)
    _name, token = bureau_token(hub)
    period = period_add(current_period(), -1)
    visit = f"{period}-05"
    status, body = _record(
        hub,
        token,
        {
            "date": visit,
            "inspector": "县局后勤科",
            "items": [{"code": "CK4", "result": "fail", "note": "灭火器过期"}, {"code": "B2", "result": "pass"}],
            "findings": [{"category": "fire", "severity": "major", "description": "灭火器过期", "deadline": visit}],
        },
    )
    assert status == 201 and body["score"] == 2.5
    ref = f"DC-{body['id']}-1"

    code, text = agent(home, capsys, "status", "--period", period)
    assert code == 0, text
    assert f"教育局督查发现的问题 {ref}（重大隐患）：灭火器过期" in text

    path = tmp_path / "t.xlsx"
    code, text = agent(home, capsys, "template", period, "-o", str(path))
    assert code == 0, text
    assert "隐患台账已预填未整改的隐患 1 条" in text
    read = read_file(path)
    [hazard] = read.report["hazards"]
    assert hazard["ref"] == ref and hazard["found_on"] == visit and hazard["severity"] == "major"
    assert hazard["deadline"] == visit and hazard["rectified_on"] is None
