"""``houqin nutrition``: the same report as the API, to a content-named file, with clear errors.

The command runs in-process on the test app (``Context`` with its app set), so it reads the test's
transaction: the reports submitted through the signed API by ``fund_scenario``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from district.cli import Context, main
from district.db import db
from district.nutrition import services
from tests.district.nutrition.fund_checks import check_workbook, figures_pattern, pdftotext

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
ARGS = ["nutrition", "--county", "610528", "--from", "2026-09", "--to", "2026-11"]
NAME = "610528_富平县_营养餐资金报表_2026-09_2026-11"


@pytest.fixture(autouse=True)
def _closed_november(hub_clock: Any) -> None:
    """The hub's clock after 2026-11's deadline (5 December): the window 2026-09..2026-11 is closed, so the
    reporting calendar gives it whole (``NOW`` stays the report's generation time)."""
    hub_clock.set(datetime(2026, 12, 7, 2, 0, tzinfo=UTC), ticking=True)


@pytest.fixture
def run(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(services, "utcnow", lambda: NOW)

    def invoke(*args: str) -> Any:
        # Leaving the command's app context removes the scoped session, and closing it would roll back what
        # the test only flushed; committing first moves that into the test's outer transaction (still rolled
        # back at the end of the test).
        db.session().commit()
        ctx = Context()
        ctx._app = app
        return CliRunner().invoke(main, list(args), obj=ctx)

    return invoke


@pytest.fixture
def expected(session: Any, fund_scenario: Any) -> dict[str, Any]:
    return services.fund_report(session, "610528", "2026-09", "2026-11", now=NOW).to_dict()


def test_json_to_a_file(run: Any, expected: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "fund.json"
    result = run(*ARGS, "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == expected
    assert str(out) in result.output and "异常 9 项" in result.output and "未报送 2 所" in result.output


def test_xlsx_to_the_content_named_file_here(
    run: Any, expected: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*ARGS, "--format", "xlsx")
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == [f"{NAME}.xlsx"]
    check_workbook((tmp_path / f"{NAME}.xlsx").read_bytes(), expected)


def test_pdf(run: Any, expected: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "fund.pdf"
    result = run(*ARGS, "--format", "pdf", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = pdftotext(out.read_bytes(), tmp_path)
    assert re.search(r"全县合计\s+4\s+" + figures_pattern(expected["county"]), text)
    assert "140,850.00" in text


def test_json_to_standard_output_in_english(run: Any, fund_scenario: Any) -> None:
    result = run(*ARGS, "-o", "-", "--lang", "en")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["county"]["food_spend"] == "140850.00"
    assert data["anomalies"][0]["message"].startswith("Funds left unspent: ")


def test_clear_errors(run: Any, fund_county: Any, tmp_path: Path) -> None:
    unknown = run("nutrition", "--county", "999999", "--from", "2026-09", "--to", "2026-11")
    assert unknown.exit_code == 1 and "unknown county: 999999" in unknown.output
    reversed_ = run("nutrition", "--county", "610528", "--from", "2026-11", "--to", "2026-09")
    assert reversed_.exit_code == 2 and "from 2026-11 is after to 2026-09" in reversed_.output
    bad = run("nutrition", "--county", "610528", "--from", "2026-9", "--to", "2026-11")
    assert bad.exit_code == 2 and "from must be a period YYYY-MM" in bad.output
    too_long = run("nutrition", "--county", "610528", "--from", "2020-01", "--to", "2026-11")
    assert too_long.exit_code == 2 and "at most 36" in too_long.output
    fmt = run(*ARGS, "--format", "csv")
    assert fmt.exit_code == 2 and "'csv' is not one of" in fmt.output
    unwritable = run(*ARGS, "-o", str(tmp_path / "missing" / "x.json"))
    assert unwritable.exit_code == 1 and "cannot write" in unwritable.output
