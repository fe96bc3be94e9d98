"""Web submission for a school (issue 19): the month's state, the template, reading an upload, the preview.

The hub reads an upload with the agent's own reader (``school_agent.reader``: the same cell-level errors, the
same Chinese sentences) and builds the template with the agent's builder (``school_agent.template``); both
import only openpyxl and ``houqin_standard`` (docs/DECISIONS.md "Web submission for schools"). Nothing here
writes: the report is stored only by ``district.reports.services.submit_report`` when the clerk confirms
(``views.confirm``), the one ingestion path of signed agent reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import re
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import calendar, clock
from district.duties.services import period_codes, period_tasks
from district.registry.models import County, School
from district.reports.hazards import hazard_ledger
from district.reports.latest import last_accepted
from district.reports.models import ReportHead, ReportRevision
from district.reports.services import period_locked
from houqin_standard import (
    SHANGHAI,
    STANDARD_ID,
    STANDARD_ID_2,
    canonical_json,
    days_between,
    period_add,
    validate_report,
)
from houqin_standard.periods import PERIOD_RE
from houqin_standard.prechecks import precheck

MAX_UPLOAD_BYTES = 1024 * 1024  # 1 MiB: a filled template is ~30 KB, a report JSON ~3 KB
TOKEN_TTL_S = 3600  # a preview can be confirmed within an hour
LOCKED_MESSAGE = "该月已由教育局审核锁定，不能再报送；如需更正请联系教育局"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_WEB_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4f0b-9a55-2f1c0f6d19a7")  # report ids of web uploads (uuid5)
_AGENT_HINTS = (  # the agent's reader speaks of its own commands; on the hub the clerk downloads the template
    (re.compile(r"(请)?(重新)?运行 houqin-agent template \S+ ?"), r"\1\2在本平台“下载模板”"),
    (re.compile(r"houqin-agent template 生成的"), "本平台“下载模板”下载的"),
)


class UploadRefused(Exception):
    """The upload cannot be previewed at all: ``status`` (4xx) and the Chinese sentence to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def web_words(message: str) -> str:
    for pattern, repl in _AGENT_HINTS:
        message = pattern.sub(repl, message)
    return message


# ------------------------------------------------------------------------------------------------ the month


@dataclass
class MonthState:
    """本月状态 of one period for one school: every date from ``district.calendar``."""

    period: str
    deadline: dt.datetime  # aware, shown in Asia/Shanghai
    days_left: int | None  # whole days to the deadline (0: today), None when it passed
    days_late: int  # 逾期天数 (calendar.days_late): of the first report, or of today without one
    locked: bool
    revisions: int
    first_received_at: dt.datetime | None
    effective: ReportRevision | None
    review: dict[str, Any] | None = None  # the bureau's review of the effective revision, when it has one


def reporting_period(county: County) -> str:
    """The month a school reports now: the previous month until its deadline has passed, then this month."""
    current = calendar.current_period()
    previous = period_add(current, -1)
    return previous if calendar.deadline(county, previous) >= clock.now() else current


def month_state(session: Session, school: School, period: str) -> MonthState:
    county = school.county
    due = calendar.deadline_date(county, period)
    head = session.get(ReportHead, (school.code, period))
    effective = session.get(ReportRevision, head.revision_id) if head is not None else None
    left = days_between(calendar.today(), due)
    late = calendar.days_late(due, first_received_at=head.first_received_at if head else None)
    return MonthState(
        period=period,
        deadline=calendar.deadline(county, period).astimezone(SHANGHAI),
        days_left=left if left >= 0 and head is None else None,
        days_late=late,
        locked=period_locked(session, school.county_code, period),
        revisions=head.revisions if head is not None else 0,
        first_received_at=head.first_received_at if head is not None else None,
        effective=effective,
        review=_review(session, school, period),
    )


def _review(session: Session, school: School, period: str) -> dict[str, Any] | None:
    """The bureau's review of the period's effective revision (``district.review.services.current_review``:
    ``decision, comment, reviewer, at``), or None (待审核, nothing reported, or a hub without reviews)."""
    try:
        from district.review.services import current_review
    except ImportError:
        return None
    found = current_review(session, school.code, period)
    if found is None:
        return None
    return {"decision": found.decision, "comment": found.comment, "reviewer": found.reviewer, "at": found.at}


# ------------------------------------------------------------------------------------------------ template


def template_source(session: Session, school: School, period: str) -> tuple[dict[str, Any], list[Any], str]:
    """What the month's template is prefilled with, from the hub: the month's own effective report when it was
    reported (a correction: every value and its hazards), else the static values of the school's last accepted
    report before it and its open hazards. Returns (pointer-keyed values, hazards, the sentence saying so)."""
    from school_agent.template import prefill_values

    same = last_accepted(session, school.code, before=period_add(period, 1))
    if same is not None and same[0] == period:
        content = same[1]
        hazards = [h for h in content.get("hazards") or [] if isinstance(h, dict)]
        note = f"{month_zh(period)}已报送过：模板已按已报送的报表预填全部数值，修改后上传即为更正（新的一版）"
        return prefill_values(content, full=True), hazards, note
    earlier = last_accepted(session, school.code, before=period)
    if earlier is None:
        return {}, [], "平台上还没有本校以前的报表，模板没有预填数值，请逐项填写"
    note = f"模板已按{month_zh(earlier[0])}的报表预填不变的数值（在校人数、占地面积、床位数、上月结余等）和未整改的隐患"
    return prefill_values(earlier[1]), open_hazards(session, school.code, period_add(period, -1)), note


def month_zh(period: str) -> str:
    return f"{int(period[:4])}年{int(period[5:])}月"


def template_bytes(session: Session, school: School, period: str, clerk: str | None) -> tuple[bytes, str]:
    """The agent's workbook for ``period`` (``school_agent.template.build_template``), prefilled as
    :func:`template_source` says. Returns (xlsx bytes, the note)."""
    from district.reports.standards import required_version
    from houqin_standard import standard_id
    from school_agent.template import build_template

    prefill, hazards, note = template_source(session, school, period)
    # the version the county requires for the month (issue 20 item 1): the template is written in it
    standard = standard_id(required_version(school.county, period))
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "template.xlsx"
        build_template(
            target,
            school_code=school.code,
            period=period,
            school_name=school.name,
            prefill=prefill,
            hazards=hazards,
            prepared_by=(prefill.get("/prepared_by") or clerk) or None,
            standard=standard,
            # @2: the month's tasks of the county's 后勤行事历 in force, listed to be ticked off with a date
            calendar_tasks=period_tasks(session, school.county_code, period) if standard == STANDARD_ID_2 else None,
        )
        return target.read_bytes(), note


def open_hazards(session: Session, school_code: str, as_of_period: str) -> list[dict[str, Any]]:
    """The school's hazards still open after ``as_of_period`` (the hazard ledger), as report entries."""
    return [
        {
            "ref": e.ref,
            "found_on": e.found_on.isoformat(),
            "category": e.category,
            "severity": e.severity,
            "description": e.description,
            "deadline": e.deadline.isoformat(),
            "rectified_on": None,
        }
        for e in hazard_ledger(session, school_code=school_code, as_of_period=as_of_period)
        if e.rectified_on is None
    ]


# ------------------------------------------------------------------------------------------------ the upload


def check_upload(data: bytes, filename: str) -> str:
    """Refuse what is not a plain filled template or a report JSON; returns its kind ("xlsx" | "json")."""
    name = filename or "上传的文件"
    if not data:
        raise UploadRefused(400, f"{name} 是空的（0 字节），请选择填写好的月报文件")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(413, too_large_message())
    suffix = Path(filename).suffix.lower()
    if data.startswith(_OLE2_MAGIC):
        if _ENCRYPTED_STREAM in data:
            raise UploadRefused(
                415,
                f"{name} 设置了打开密码（已加密），平台无法读取。请在 Excel 中取消密码"
                "（文件 → 信息 → 保护工作簿 → 用密码进行加密，清空密码）并保存后重新上传",
            )
        raise UploadRefused(
            415,
            f"{name} 是旧版 Excel 97-2003（.xls）文件，不能上传。请在本平台“下载模板”后重新填写，"
            "或在 Excel 中“另存为”“Excel 工作簿（*.xlsx）”",
        )
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = {n.lower() for n in zf.namelist()}
                content_types = zf.read("[Content_Types].xml") if "[content_types].xml" in names else b""
        except (zipfile.BadZipFile, OSError, ValueError, KeyError):
            raise UploadRefused(415, f"{name} 已损坏，不是有效的 Excel（.xlsx）文件") from None
        if suffix == ".xlsm" or any(n.endswith("vbaproject.bin") for n in names) or b"macroEnabled" in content_types:
            raise UploadRefused(
                415,
                f"{name} 是含宏的 Excel 文件（.xlsm），为安全起见不能上传。请在本平台“下载模板”填写，"
                "保存为普通的“Excel 工作簿（*.xlsx）”后上传",
            )
        return "xlsx"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if suffix == ".json" or head in (b"{", b"["):
        return "json"
    if suffix in (".xlsx", ".xls"):
        raise UploadRefused(
            415, f"{name} 不是有效的 Excel（.xlsx）文件：看起来是 CSV 或文本文件被改了扩展名。请使用下载的模板填写"
        )
    raise UploadRefused(415, f"不支持的文件类型：{name}。只能上传 .xlsx 月报模板或 .json 报表")


def too_large_message() -> str:
    return f"文件太大，超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB 上限；月报模板通常只有几十 KB，请确认选对了文件"


@dataclass
class Line:
    """One error or warning as the agent shows it: where (sheet, cell), the field, the message, the value typed."""

    text: str  # the agent's line: "营养餐!C7 实际供餐人次：应填写整数，不能填写文字“约一万一千六”"
    sheet: str
    cell: str
    label: str
    message: str
    value: str = ""


@dataclass
class Preview:
    school_code: str
    period: str | None
    kind: str
    filename: str
    report: dict[str, Any]
    errors: list[Line] = field(default_factory=list)
    warnings: list[Line] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)  # the fund pre-checks ("请核对")
    notices: list[str] = field(default_factory=list)
    content: str = ""  # the canonical report (what 确认报送 sends)
    sha256: str = ""
    already: ReportRevision | None = None  # this very report is stored already (same file again)
    correction: int = 0  # revisions of the period already stored (0: a first report)

    @property
    def ok(self) -> bool:
        return not self.errors


def _line(text: str, value: Any = None) -> Line:
    where, _, rest = text.partition(" ")
    sheet, _, cell = where.partition("!")
    label, _, message = rest.partition("：")
    if not cell:  # a JSON pointer: no sheet
        sheet, cell = "", where
    return Line(text, sheet, cell, label, message, _plain(value))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    if isinstance(value, Decimal | int | float | str):
        return str(value)[:80]
    return json.dumps(value, ensure_ascii=False)[:80]


def _pointer(report: Any, path: str) -> Any:
    node = report
    for part in [p for p in path.split("/")[1:] if p != ""]:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _typed_values(data: bytes, cells: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """What the clerk typed in those cells (formulas as typed)."""
    if not cells:
        return {}
    import warnings

    from openpyxl import load_workbook

    out: dict[tuple[str, str], Any] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = load_workbook(io.BytesIO(data), data_only=False, keep_links=False, read_only=False)
    except Exception:  # already read once by the reader: cannot really happen
        return out
    try:
        for sheet, cell in cells:
            ref = cell.split(":")[0]
            if sheet in wb.sheetnames and re.fullmatch(r"[A-Z]{1,3}[0-9]{1,7}", ref):
                out[(sheet, cell)] = wb[sheet][ref].value
    finally:
        wb.close()
    return out


def previous_effective(session: Session, school_code: str, period: str) -> dict[str, Any] | None:
    """The effective report of the month before (what ``submit_report`` validates against)."""
    try:
        before = period_add(period, -1)
    except (ValueError, TypeError):
        return None
    content = session.scalar(
        select(ReportRevision.content)
        .join(ReportHead, ReportHead.revision_id == ReportRevision.id)
        .where(ReportHead.school_code == school_code, ReportHead.period == before)
    )
    return json.loads(content) if content else None


def web_report_id(school_code: str, data: bytes) -> str:
    """The report id of an uploaded file: the same file twice is the same report (idempotent)."""
    return str(uuid.uuid5(_WEB_NAMESPACE, f"{school_code}:{hashlib.sha256(data).hexdigest()}"))


def preview(session: Session, school: School, data: bytes, filename: str, clerk: str) -> Preview:
    """Read and check an upload exactly as the agent does before it sends; store nothing.

    Raises :class:`UploadRefused` for a file that is no report (the reader's Chinese sentence), another
    school's template, or a locked month."""
    from school_agent.reader import InputError, read_json, read_xlsx

    kind = check_upload(data, filename)
    try:
        read = read_xlsx(data, name=filename or "template.xlsx") if kind == "xlsx" else read_json(data, name=filename)
    except InputError as exc:
        raise UploadRefused(400, web_words(str(exc))) from None
    what = "模板" if read.kind == "xlsx" else "报表"
    if read.school_code is not None and read.school_code != school.code:
        raise UploadRefused(
            400,
            f"这是学校 {read.school_code} 的{what}，不是本校（{school.code}）的，不能代替其他学校报送。"
            "请在本平台“下载模板”下载本校的模板",
        )
    report = dict(read.report)
    report.setdefault("standard", STANDARD_ID)
    report.setdefault("school_code", school.code)
    period = report.get("period") if isinstance(report.get("period"), str) else None
    if period is not None and PERIOD_RE.fullmatch(period) and period_locked(session, school.county_code, period):
        raise UploadRefused(409, LOCKED_MESSAGE)
    if "prepared_by" not in report and clerk:
        report["prepared_by"] = clerk
        read.notices.append(f"填报人未填写，已使用登录用户的姓名：{clerk}")
    if read.kind == "xlsx" or not isinstance(report.get("report_id"), str):
        report["report_id"] = web_report_id(school.code, data)
    else:
        report["report_id"] = report["report_id"].lower()
    already = session.scalars(select(ReportRevision).where(ReportRevision.report_id == report["report_id"])).first()
    if already is not None and already.school_code != school.code:
        already = None
    if read.kind == "xlsx" or "prepared_at" not in report:
        stored = json.loads(already.content).get("prepared_at") if already is not None else None
        report["prepared_at"] = stored or clock.now().astimezone(SHANGHAI).replace(microsecond=0).isoformat()
    out = Preview(school.code, period, read.kind, filename, report, notices=[web_words(n) for n in read.notices])
    # a @2 report's tasks are judged by the calendar in force, as submit_report will judge them at 确认报送
    codes = (
        period_codes(session, school.county_code, period)
        if report.get("standard") == STANDARD_ID_2 and period is not None and PERIOD_RE.fullmatch(period)
        else None
    )
    result = validate_report(
        report,
        today=calendar.today(),
        previous=previous_effective(session, school.code, period or ""),
        calendar_codes=codes,
    )
    errors = [e for e in result.errors if not read.covered(e.path)]
    located = [(i.where, str(i), i.path) for i in read.issues] + [
        (read.where(e.path), read.describe(e), e.path) for e in errors
    ]
    if read.kind == "xlsx":
        located.sort(key=lambda t: read.sort_key(t[0]))
        cells = [(w.partition("!")[0], w.partition("!")[2]) for w, _t, _p in located if "!" in w]
        typed = _typed_values(data, cells)
        out.errors = [
            _line(web_words(t), typed.get((w.partition("!")[0], w.partition("!")[2]), _pointer(report, p)))
            for w, t, p in located
        ]
    else:
        out.errors = [_line(web_words(t), _pointer(report, p)) for _w, t, p in located]
    out.warnings = [_line(read.describe(w), _pointer(report, w.path)) for w in result.warnings]
    if not out.errors and period is not None:  # the version the county requires for the month (issue 20 item 1)
        from district.reports.standards import required_version, version_refusal

        county = school.county
        required = required_version(county, period)
        refusal = version_refusal(required, county.require_standard_from or "", period, report.get("standard"))
        if refusal is not None:
            out.errors = [_line(f"{read.where('/standard')} 数据标准：{refusal[0]}", report.get("standard"))]
    if not out.errors:
        county = school.county
        out.checks = precheck(
            report,
            standard_rate=county.subsidy_standard,
            where=(read.where if read.kind == "xlsx" else None),
        )
        out.content = canonical_json(report).decode("utf-8")
        out.sha256 = hashlib.sha256(out.content.encode("utf-8")).hexdigest()
        out.already = already
        if period is not None:
            head = session.get(ReportHead, (school.code, period))
            out.correction = head.revisions if head is not None else 0
    return out


# ------------------------------------------------------------------------------------------------ the token


def confirm_token(secret: str, school_code: str, username: str, content: str, issued: int | None = None) -> str:
    """What 确认报送 carries with the previewed report: the time of the preview and an HMAC (the app's secret key)
    over school, clerk, time and the report's SHA-256, so the report confirmed is the report previewed."""
    issued = int(clock.now().timestamp()) if issued is None else issued
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    mac = hmac.new(secret.encode(), f"{school_code}|{username}|{issued}|{digest}".encode(), hashlib.sha256)
    return f"{issued}.{mac.hexdigest()}"


def check_confirm_token(secret: str, school_code: str, username: str, content: str, token: str) -> str | None:
    """None when ``token`` vouches for ``content``; else the Chinese reason."""
    issued, _, _mac = token.partition(".")
    if not issued.isdigit():
        return "确认信息无效，请重新上传报表"
    expected = confirm_token(secret, school_code, username, content, int(issued))
    if not hmac.compare_digest(expected, token):
        return "确认信息与预览的报表不一致，请重新上传报表"
    if clock.now().timestamp() - int(issued) > TOKEN_TTL_S:
        return "预览已超过 1 小时，请重新上传报表后再确认"
    return None
