"""Web submission for schools (issue 19 item 1): a school_clerk uploads the filled template on the hub's pages,
sees every error as the agent shows it with nothing stored, confirms, and gets the hub's signed receipt; the
revision is stored by the one ingestion path with the signer ``web:<username>``."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from district.audit.keys import HubKeys
from district.reports.models import PeriodApproval, ReportHead, ReportRevision
from houqin_standard.receipts import verify_receipt
from tests.district.submission.conftest import (
    PERIOD,
    SCHOOL,
    confirm,
    csrf_from,
    filled_template,
    good_report,
    set_cell,
    sign_in,
    upload,
)


def revisions(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(ReportRevision)) or 0)


def test_a_clerk_signs_in_and_lands_on_the_schools_month_status(client: Any, people: Any) -> None:
    resp = sign_in(client, "clerk1")
    assert resp.status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith(f"/school/{SCHOOL}/")
    page = client.get(f"/school/{SCHOOL}/").get_data(as_text=True)
    assert "报送截止" in page and "2026年12月5日" in page  # 2026-11 is due on the county's day 5, Beijing time
    assert "尚未报送，还有 14 天" in page  # 2026-11-21 → 2026-12-05 (calendar.deadline_date)
    assert "T00:00" not in page and "+08:00" not in page  # no ISO codes on the face


def test_template_download_is_the_agents_workbook_prefilled_from_the_last_accepted_report(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    from district.registry.models import School
    from district.reports.services import submit_report
    from school_agent.reader import read_xlsx

    earlier = good_report("2026-09")
    submit_report(session, session.get(School, SCHOOL), 1, earlier)
    sign_in(client, "clerk1")
    status = client.get(f"/school/{SCHOOL}/?period={PERIOD}").get_data(as_text=True)
    assert "模板已按2026年9月的报表预填不变的数值" in status
    resp = client.get(f"/school/{SCHOOL}/template?period={PERIOD}")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    read = read_xlsx(resp.data)
    assert (read.school_code, read.period) == (SCHOOL, PERIOD)
    # static values carried, the closing balance as the new opening balance, the open hazard listed
    assert read.report["enrollment"]["students"] == earlier["enrollment"]["students"]
    assert read.report["nutrition"]["opening_balance"] == earlier["nutrition"]["closing_balance"]
    open_refs = [h["ref"] for h in earlier["hazards"] if not h.get("rectified_on")]
    assert [h["ref"] for h in read.report.get("hazards", [])] == open_refs


def test_upload_with_mistakes_shows_every_error_by_cell_and_stores_nothing(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    data = filled_template(tmp_path, good_report())
    data = set_cell(data, "营养餐", "C7", "约一万一千六")  # text in a number cell
    sign_in(client, "clerk1")
    before = revisions(session)
    resp = upload(client, data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "未保存、未报送" in html
    assert "营养餐!C7" in html and "约一万一千六" in html  # the sheet, the cell and the value typed
    assert 'name="token"' not in html  # no 确认报送 for a report with errors
    assert revisions(session) == before


def test_fixed_upload_preview_then_confirm_stores_a_web_revision_and_a_verifiable_receipt(
    client: Any, people: Any, session: Any, app: Any, tmp_path: Path
) -> None:
    data = filled_template(tmp_path, good_report())
    sign_in(client, "clerk1")
    preview = upload(client, data)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert "检查通过" in html and "确认报送" in html
    assert revisions(session) == 0  # the preview stores nothing
    done = confirm(client, html)
    assert done.status_code == 303
    rev = session.scalars(select(ReportRevision)).one()
    assert rev.signer == "web:clerk1" and rev.period == PERIOD and rev.revision == 1
    assert session.get(ReportHead, (SCHOOL, PERIOD)).revision_id == rev.id
    page = client.get(done.headers["Location"])
    assert page.status_code == 200 and "报送回执" in page.get_data(as_text=True)
    receipt = client.get(done.headers["Location"] + "?download=1").get_json()
    keys = HubKeys.load(Path(app.config["SIGNING_KEY_DIR"]))
    verify_receipt(receipt, keys.public_key_map())  # raises when the signature is not the hub's
    assert receipt["content_sha256"] == rev.content_sha256 and receipt["revision"] == 1


def test_the_same_file_twice_is_idempotent_with_the_same_receipt(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    data = filled_template(tmp_path, good_report())
    sign_in(client, "clerk1")
    first = confirm(client, upload(client, data).get_data(as_text=True))
    again_preview = upload(client, data).get_data(as_text=True)
    assert "已经报送过" in again_preview
    second = confirm(client, again_preview)
    assert second.headers["Location"] == first.headers["Location"]
    assert revisions(session) == 1
    r1 = client.get(first.headers["Location"] + "?download=1").get_json()
    r2 = client.get(second.headers["Location"] + "?download=1").get_json()
    assert r1 == r2


def test_a_changed_file_is_a_correction_the_second_revision(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    report = good_report()
    sign_in(client, "clerk1")
    confirm(client, upload(client, filled_template(tmp_path, report)).get_data(as_text=True))
    report["enrollment"]["staff"] += 1
    preview = upload(client, filled_template(tmp_path, report, "fixed2.xlsx")).get_data(as_text=True)
    assert "第 2 版（更正）" in preview
    confirm(client, preview)
    assert [r.revision for r in session.scalars(select(ReportRevision).order_by(ReportRevision.id))] == [1, 2]
    assert session.get(ReportHead, (SCHOOL, PERIOD)).revisions == 2


def test_a_locked_month_is_said_on_the_status_page_and_refused_at_upload(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    from district.db import utcnow

    session.add(PeriodApproval(county_code="610528", period=PERIOD, action="lock", actor="admin1", at=utcnow()))
    session.flush()
    sign_in(client, "clerk1")
    status = client.get(f"/school/{SCHOOL}/?period={PERIOD}").get_data(as_text=True)
    assert "该月已由教育局审核锁定，不能再报送；如需更正请联系教育局" in status
    resp = upload(client, filled_template(tmp_path, good_report()))
    assert resp.status_code == 409
    assert "该月已由教育局审核锁定，不能再报送；如需更正请联系教育局" in resp.get_data(as_text=True)
    assert revisions(session) == 0


def _xlsm(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/vbaProject.bin", b"\x00" * 64)
    return out.getvalue()


def test_macro_encrypted_and_non_xlsx_uploads_are_refused_with_a_chinese_message(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    data = filled_template(tmp_path, good_report())
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500
    cases = [
        (_xlsm(data), "filled.xlsx", "含宏"),
        (data, "filled.xlsm", "含宏"),
        (ole + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 100, "filled.xlsx", "已加密"),
        (ole, "old.xls", "旧版 Excel"),
        (b"%PDF-1.4 not a workbook", "report.pdf", "不支持的文件类型"),
        (b"a,b,c\n1,2,3\n", "filled.xlsx", "改了扩展名"),
    ]
    sign_in(client, "clerk1")
    for body, name, words in cases:
        resp = upload(client, body, name)
        assert 400 <= resp.status_code < 500, (name, resp.status_code)
        assert words in resp.get_data(as_text=True), name
    assert revisions(session) == 0


def test_an_upload_over_one_mib_is_413(client: Any, people: Any, session: Any) -> None:
    sign_in(client, "clerk1")
    resp = upload(client, b"PK\x03\x04" + b"\x00" * (1024 * 1024), "big.xlsx")
    assert resp.status_code == 413
    assert "超过 1 MB" in resp.get_data(as_text=True)
    # far over the limit: refused from Content-Length, before the form (and its CSRF field) is read at all
    resp = upload(client, b"PK\x03\x04" + b"\x00" * (2 * 1024 * 1024), "big.xlsx", token="")
    assert resp.status_code == 413
    assert "超过 1 MB" in resp.get_data(as_text=True)
    assert revisions(session) == 0


def test_csrf_missing_is_refused(client: Any, people: Any, session: Any, tmp_path: Path) -> None:
    data = filled_template(tmp_path, good_report())
    sign_in(client, "clerk1")
    resp = upload(client, data, token="")
    assert resp.status_code == 400
    html = upload(client, data).get_data(as_text=True)
    import re

    fields = dict(re.findall(r'name="(content|token)" value="([^"]*)"', html))
    assert client.post(f"/school/{SCHOOL}/confirm", data=fields).status_code == 400
    assert revisions(session) == 0


def test_a_tampered_confirm_is_refused(client: Any, people: Any, session: Any, tmp_path: Path) -> None:
    import html as h
    import re

    sign_in(client, "clerk1")
    page = upload(client, filled_template(tmp_path, good_report())).get_data(as_text=True)
    fields = {k: h.unescape(v) for k, v in re.findall(r'name="(content|token)" value="([^"]*)"', page)}
    report = json.loads(fields["content"])
    report["nutrition"]["meals_served"] += 1
    fields["content"] = json.dumps(report)
    resp = client.post(f"/school/{SCHOOL}/confirm", data={**fields, "csrf_token": csrf_from(page)})
    assert resp.status_code == 400 and "重新上传" in resp.get_data(as_text=True)
    assert revisions(session) == 0


def test_other_schools_pages_are_404_and_a_viewer_cannot_upload(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    sign_in(client, "clerk1")
    for path in ("/school/6105280002/", "/school/6105280002/upload", "/school/6105280002/template"):
        assert client.get(path).status_code == 404, path
    client.post("/logout", data={"csrf_token": csrf_from(client.get(f"/school/{SCHOOL}/").get_data(as_text=True))})
    sign_in(client, "viewer1")
    assert client.get(f"/school/{SCHOOL}/").status_code == 200
    assert client.get(f"/school/{SCHOOL}/upload").status_code == 403
    token = csrf_from(client.get(f"/school/{SCHOOL}/").get_data(as_text=True))
    resp = upload(client, filled_template(tmp_path, good_report()), token=token)
    assert resp.status_code == 403
    assert revisions(session) == 0


def test_a_json_report_goes_the_same_way(client: Any, people: Any, session: Any) -> None:
    report = good_report()
    sign_in(client, "clerk1")
    preview = upload(client, json.dumps(report, ensure_ascii=False).encode(), "report.json")
    assert preview.status_code == 200
    confirm(client, preview.get_data(as_text=True))
    rev = session.scalars(select(ReportRevision)).one()
    assert rev.report_id == report["report_id"] and rev.signer == "web:clerk1"


def test_the_preview_shows_the_fund_prechecks_as_please_check(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    report = good_report()
    report["nutrition"]["closing_balance"] = "5115.65"  # the sum gives 4915.65
    sign_in(client, "clerk1")
    resp = upload(client, filled_template(tmp_path, report))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200  # a warning to confirm or fix, not an error
    assert "请核对" in html and "账目不平" in html and "营养餐!" in html
    assert revisions(session) == 0


def test_the_bureaus_review_comment_is_shown_on_the_month_status(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    import pytest

    review = pytest.importorskip("district.review.services")
    sign_in(client, "clerk1")
    confirm(client, upload(client, filled_template(tmp_path, good_report())).get_data(as_text=True))
    rev = session.scalars(select(ReportRevision)).one()
    review.review_report(
        session,
        rev.report_id,
        decision="returned",
        comment="食堂支出请附凭证",
        reviewer="admin1",
        can_see=lambda c: True,
    )
    session.flush()
    page = client.get(f"/school/{SCHOOL}/?period={PERIOD}").get_data(as_text=True)
    assert "已退回" in page and "食堂支出请附凭证" in page


def test_uploads_are_rate_limited_per_school(client: Any, app: Any, people: Any, session: Any) -> None:
    app.config["RATE_LIMIT_PER_MINUTE"], saved = 2, app.config["RATE_LIMIT_PER_MINUTE"]
    app.extensions.pop("houqin_limiter", None)
    try:
        sign_in(client, "clerk1")
        codes = [upload(client, b"not a report", "x.txt").status_code for _ in range(3)]
    finally:
        app.config["RATE_LIMIT_PER_MINUTE"] = saved
        app.extensions.pop("houqin_limiter", None)
    assert codes == [415, 415, 429]


def test_a_clerks_name_must_fit_the_revisions_signer(session: Any, county: Any) -> None:
    import pytest

    from district.auth.services import create_user

    with pytest.raises(ValueError, match="at most 36"):
        create_user(session, "c" * 37, "correct horse battery", "school_clerk", scope=SCHOOL)
    assert create_user(session, "c" * 36, "correct horse battery", "school_clerk", scope=SCHOOL).role == "school_clerk"


FOUR_MISTAKES = [  # (sheet, cell, what the clerk typed)
    ("营养餐", "C7", "约一万一千六"),  # text in a whole-number cell
    ("财务", "C4", -5),  # a negative amount
    ("食品安全", "C5", "=C4+1"),  # a formula
    ("在校人数", "C4", None),  # a required value left blank
]


def test_four_planted_mistakes_are_each_named_by_sheet_cell_field_and_value(
    client: Any, people: Any, session: Any, tmp_path: Path
) -> None:
    data = filled_template(tmp_path, good_report())
    for sheet, cell, value in FOUR_MISTAKES:
        data = set_cell(data, sheet, cell, value)
    sign_in(client, "clerk1")
    resp = upload(client, data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "报表有 4 处错误" in html
    for sheet, cell, value in FOUR_MISTAKES:
        assert f"{sheet}!{cell}" in html, (sheet, cell)
        if value is not None:
            assert str(value) in html, value
    assert "实际供餐人次" in html and "本月收费" in html  # the fields' Chinese labels
    assert "houqin-agent" not in html
    assert revisions(session) == 0


def test_the_clerks_reads_and_the_preview_write_nothing(client: Any, people: Any, session: Any, tmp_path: Path) -> None:
    from district.db import Base

    def state() -> dict[str, int]:
        session.flush()
        return {
            t.name: int(session.scalar(select(func.count()).select_from(t)) or 0) for t in Base.metadata.sorted_tables
        }

    sign_in(client, "clerk1")
    done = confirm(client, upload(client, filled_template(tmp_path, good_report())).get_data(as_text=True))
    before = state()
    for path in (
        f"/school/{SCHOOL}/",
        f"/school/{SCHOOL}/?period={PERIOD}",
        f"/school/{SCHOOL}/template?period={PERIOD}",
        f"/school/{SCHOOL}/template?period=2026-11",
        f"/school/{SCHOOL}/upload",
        done.headers["Location"],
        done.headers["Location"] + "?download=1",
    ):
        assert client.get(path).status_code == 200, path
    report = good_report()
    report["enrollment"]["staff"] += 2
    assert upload(client, filled_template(tmp_path, report, "other.xlsx")).status_code == 200  # a preview only
    assert state() == before


def test_a_clerk_finds_only_its_own_school_and_has_no_county_pages(client: Any, people: Any) -> None:
    sign_in(client, "clerk1")
    found = client.get("/schools?q=61052800").get_data(as_text=True)
    assert SCHOOL in found and "6105280002" not in found
    assert client.get("/counties").status_code == 404
    assert client.get("/counties/610528/").status_code == 404
    assert client.get("/schools/6105280002/").status_code == 404
