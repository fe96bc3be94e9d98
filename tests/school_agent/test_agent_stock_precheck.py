"""The agent's "请核对" for a month sent in @2 (issue 20 item 3): the report-only stock rules of the hub's one fund
engine (``houqin_standard.prechecks``) warn before sending, naming the 食堂库存 cells the clerk typed."""

from __future__ import annotations

import copy
from pathlib import Path

from houqin_standard.prechecks import precheck
from school_agent.reader import read_file
from tests.school_agent.test_agent_template_v2 import _template, fill_template, v2_report


def test_a_filled_v2_template_with_stock_problems_is_warned_with_its_cells(tmp_path: Path) -> None:
    report = copy.deepcopy(v2_report())
    # the example's food spend 65305.35; consumed 3200.00 + 60000.00 − 2800.00 = 60400.00 → 4905.35 more spent
    report["canteen_stock"]["purchases"] = "60000.00"
    report["canteen_stock"]["stock_checked"] = False
    read = read_file(fill_template(_template(tmp_path), report))
    assert read.issues == []
    found = [f for f in precheck(read.report, where=read.where) if f["code"] != "SAMPLE_GAP"]
    assert [f["code"] for f in found] == ["SPEND_EXCEEDS_CONSUMPTION", "STOCK_NOT_CHECKED"]
    assert found[0]["figures"]["difference"] == "4905.35"
    assert found[0]["sentence"].startswith("补助食材支出 65,305.35 元，超过本月实际消耗的食材 60,400.00 元")
    assert [c.split("!")[0] for c in found[0]["cells"]] == ["营养餐", "食堂库存", "食堂库存", "食堂库存"]
    assert [c.split("!")[0] for c in found[1]["cells"]] == ["食堂库存"]
