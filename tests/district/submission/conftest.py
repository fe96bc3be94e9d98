"""Web submission fixtures: a school's clerk and viewer signing in through the real /login form, and the month's
template filled with openpyxl as a clerk would (tests/school_agent/hubproc.fill_template)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import example_report
from tests.district.dashboard.conftest import PASSWORD, csrf_from, sign_in

SCHOOL = "6105280001"
PERIOD = "2026-10"
__all__ = ["PASSWORD", "PERIOD", "SCHOOL", "csrf_from", "sign_in"]


@pytest.fixture(autouse=True)
def _fresh_limits(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from argon2 import PasswordHasher

    from district.auth import services
    from district.auth.signin import reset_limiters

    monkeypatch.setattr(services, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with app.app_context():
        reset_limiters()
    app.extensions.pop("houqin_limiter", None)
    yield
    app.extensions.pop("houqin_limiter", None)


@pytest.fixture()
def people(session: Any, county: Any) -> dict[str, Any]:
    from district.auth.services import create_user

    return {
        "clerk": create_user(session, "clerk1", PASSWORD, "school_clerk", scope=SCHOOL, display_name="王会计"),
        "viewer": create_user(session, "viewer1", PASSWORD, "school_viewer", scope=SCHOOL),
        "other": create_user(session, "clerk2", PASSWORD, "school_clerk", scope="6105280002"),
        "admin": create_user(session, "admin1", PASSWORD, "county_admin", scope="610528"),
    }


def good_report(period: str = PERIOD, school: str = SCHOOL) -> dict[str, Any]:
    report = example_report(school_code=school, period=period)
    report["dormitory"] = {"beds": 206, "unified_items": ["rules", "mirror"]}
    return report


def filled_template(tmp_path: Path, report: dict[str, Any], name: str = "filled.xlsx") -> bytes:
    from school_agent.template import build_template
    from tests.school_agent.hubproc import fill_template

    template = tmp_path / ("t_" + name)
    build_template(template, school_code=report["school_code"], period=report["period"], school_name="庄里镇中心小学")
    return fill_template(template, report, tmp_path / name).read_bytes()


def set_cell(data: bytes, sheet: str, cell: str, value: Any) -> bytes:
    """Type ``value`` into one cell of a workbook, as a clerk would."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    wb[sheet][cell] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload_token(client: Any, school: str = SCHOOL) -> str:
    return csrf_from(client.get(f"/school/{school}/upload").get_data(as_text=True))


def upload(client: Any, data: bytes, name: str = "filled.xlsx", school: str = SCHOOL, token: str | None = None) -> Any:
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    token = upload_token(client, school) if token is None else token
    # the body built in memory (the test client would spool a large one to a temporary file it never closes)
    boundary, body = encode_multipart({"csrf_token": token, "report": FileStorage(io.BytesIO(data), name)})
    return client.post(f"/school/{school}/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")


CONFIRM_RE = re.compile(r'name="(content|token)" value="([^"]*)"')


def confirm(client: Any, preview_html: str, school: str = SCHOOL) -> Any:
    import html

    fields = {k: html.unescape(v) for k, v in CONFIRM_RE.findall(preview_html)}
    assert set(fields) == {"content", "token"}, "no 确认报送 form on the page"
    return client.post(f"/school/{school}/confirm", data={**fields, "csrf_token": csrf_from(preview_html)})
