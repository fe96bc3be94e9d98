"""The web path follows the standard version the county requires for the month (issue 20 item 1): the template
downloaded is written in @2, a @2 upload goes through, a @1 upload for a @2 month is refused naming the version
and the month, with nothing stored."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from district.reports.models import ReportRevision
from district.reports.standards import parse_requirement, set_requirement
from houqin_standard import STANDARD_ID_2
from tests.district.submission.conftest import PERIOD, SCHOOL, confirm, good_report, sign_in, upload

V2_SECTIONS: dict[str, Any] = {
    "calendar": {"tasks": []},
    "kitchen": {"morning_check_days": 17, "tableware_disinfection_days": 17, "tasting_days": 16},
    "canteen_stock": {"opening_stock_value": "3200.00", "purchases": "65305.35", "closing_stock_value": "2800.00",
                      "stock_checked": True},
    "feedback_box": {"received": 4, "answered": 4},
}  # fmt: skip


def _count(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(ReportRevision)))


def test_the_web_path_follows_the_required_version(client: Any, people: Any, session: Any, tmp_path: Path) -> None:
    from school_agent.reader import read_xlsx

    set_requirement(session, "610528", parse_requirement({"version": 2, "from": PERIOD}))
    session.flush()
    sign_in(client, "clerk1")
    template = client.get(f"/school/{SCHOOL}/template?period={PERIOD}")
    assert template.status_code == 200
    assert read_xlsx(template.data).report["standard"] == STANDARD_ID_2

    old = good_report()
    refused = upload(client, json.dumps(old, ensure_ascii=False).encode(), "report.json")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "第 2 版数据标准" in html and "houqin/monthly-report@2" in html
    assert 'name="token"' not in html and _count(session) == 0

    new = {**good_report(), **copy.deepcopy(V2_SECTIONS), "standard": STANDARD_ID_2}
    preview = upload(client, json.dumps(new, ensure_ascii=False).encode(), "report2.json")
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    confirm(client, preview.get_data(as_text=True))
    rev = session.scalars(select(ReportRevision)).one()
    assert json.loads(rev.content)["standard"] == STANDARD_ID_2


def test_the_web_preview_judges_calendar_codes_by_the_calendar_in_force(client: Any, people: Any, session: Any) -> None:
    from district.duties.services import period_codes

    set_requirement(session, "610528", parse_requirement({"version": 2, "from": PERIOD}))
    session.flush()
    sign_in(client, "clerk1")
    wrong = {**good_report(), **copy.deepcopy(V2_SECTIONS), "standard": STANDARD_ID_2}
    wrong["calendar"] = {"tasks": [{"code": "NO-SUCH-TASK", "done_on": f"{PERIOD}-03"}]}
    refused = upload(client, json.dumps(wrong, ensure_ascii=False).encode(), "wrong.json")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422, html[:2000]
    assert "NO-SUCH-TASK" in html and "不是本县后勤行事历中" in html
    assert 'name="token"' not in html and _count(session) == 0

    right = copy.deepcopy(wrong)
    right["calendar"]["tasks"][0]["code"] = period_codes(session, "610528", PERIOD)[0]
    preview = upload(client, json.dumps(right, ensure_ascii=False).encode(), "right.json")
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    confirm(client, preview.get_data(as_text=True))
    assert _count(session) == 1
