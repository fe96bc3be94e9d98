"""The 后勤行事历's rules, in one place: reading a calendar file (TOML, or an xlsx workbook), loading a county's
version, the calendar in force, the tasks of a month, and which tasks a revision had due (STANDARD-v2.md
"`calendar`", SCORING.md H1).

A county's calendar is versioned: ``houqin calendar load`` appends version n + 1 and its tasks; the newest is in
force. A county that has loaded none is judged by the calendar shipped with the hub
(``default-calendar.toml``), whose version id is ``None``. Ingestion records on each @2 revision the version
that judged it (``report_revisions.calendar_version_id``), so a month keeps the due list it was judged by when
the county loads another calendar later (``due_codes``). Versions never change once stored: a version's tasks
are kept per process by id.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from district import caches
from district.audit.services import record
from district.db import utcnow
from district.duties.models import DutyCalendarVersion, DutyTask
from district.registry.models import County
from houqin_standard.fields import ENUM_LABELS
from houqin_standard.text import text_problem

DEFAULT_CALENDAR_PATH = Path(__file__).resolve().parent / "default-calendar.toml"

#: The categories a task may have: the hazard categories of the standard and finance, assets, food, training,
#: other (``houqin_standard.fields.ENUM_LABELS["calendar_category"]``, with their Chinese labels).
CATEGORIES: tuple[str, ...] = tuple(ENUM_LABELS["calendar_category"])
CODE_MAX = 20
TITLE_MAX = 200
_TASK_KEYS = ("code", "months", "title", "category")
_FIELD_ZH = {"code": "编号", "months": "月份", "title": "任务", "category": "类别"}


@dataclass(frozen=True)
class Task:
    """One task of a calendar: due in each of ``months`` (1–12)."""

    code: str
    months: tuple[int, ...]
    title: str
    category: str

    @property
    def category_zh(self) -> str:
        return ENUM_LABELS["calendar_category"].get(self.category, (self.category, self.category))[0]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "months": list(self.months), "title": self.title, "category": self.category}


@dataclass(frozen=True)
class Calendar:
    """A calendar version: ``version_id`` ``None`` (and ``version`` 0) for the one shipped with the hub."""

    version_id: int | None
    version: int
    source: str
    tasks: tuple[Task, ...]
    loaded_at: dt.datetime | None = None
    loaded_by: str | None = None

    def tasks_of(self, month: int) -> tuple[Task, ...]:
        """The tasks due in ``month`` (1–12), in the file's order."""
        return tuple(t for t in self.tasks if month in t.months)

    def codes_of(self, month: int) -> tuple[str, ...]:
        return tuple(t.code for t in self.tasks_of(month))

    @property
    def is_default(self) -> bool:
        return self.version_id is None


class CalendarError(ValueError):
    """A calendar file that cannot be loaded: ``problems``, each ``(line, field, zh, en)``; nothing is stored."""

    def __init__(self, source: str, problems: Sequence[tuple[int, str, str, str]]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: p[0])
        super().__init__("\n".join(self.messages("en")))

    def messages(self, lang: str = "zh") -> list[str]:
        """Each problem as one line: "第 12 行：code …" (zh) or "line 12: code …" (en)."""
        if lang == "en":
            return [f"{self.source}: line {line}: {name}: {en}" for line, name, _, en in self.problems]
        return [
            f"{self.source} 第 {line} 行：{name}{f'（{_FIELD_ZH[name]}）' if name in _FIELD_ZH else ''}{zh}"
            for line, name, zh, _ in self.problems
        ]


# ------------------------------------------------------------------------------------------------ parsing


_HEADER = re.compile(r"^\s*\[\[\s*task\s*\]\]\s*(#.*)?$")
_TABLE = re.compile(r"^\s*\[")
_SYNTAX_LINE = re.compile(r"at line (\d+)")


def _task_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """Per ``[[task]]`` table in the text, in order: the line of its header and the line of each of its keys."""
    out: list[tuple[int, dict[str, int]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _HEADER.match(line):
            out.append((number, {}))
        elif _TABLE.match(line):
            out.append((number, {}))  # another table: its keys belong to no task
            out[-1][1]["__other__"] = number
        elif out:
            m = re.match(r"^\s*([A-Za-z0-9_\"'-]+)\s*=", line)
            if m:
                out[-1][1].setdefault(m.group(1).strip("\"'"), number)
    return [entry for entry in out if "__other__" not in entry[1]]


def parse_calendar(text: str, source: str) -> tuple[Task, ...]:
    """The tasks of a calendar file (TOML, one ``[[task]]`` table per task); ``CalendarError`` naming the line
    and field of every problem: a syntax error, an unknown key, a missing field, a code empty or over 20
    characters or given twice, a month outside 1–12, an unknown category, an empty title."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _SYNTAX_LINE.search(str(exc))
        line = int(m.group(1)) if m else max(1, len(text.splitlines()))  # "at end of document": the last line
        raise CalendarError(source, [(line, "TOML", f"不是有效的 TOML：{exc}", f"not valid TOML: {exc}")]) from None
    problems: list[tuple[int, str, str, str]] = []
    lines = _task_lines(text)
    for key in doc:
        if key != "task":
            line = _first_line(text, key)
            problems.append((line, key, "不是行事历的内容（只能有 [[task]]）", "unknown key (only [[task]] tables)"))
    raw = doc.get("task", [])
    if not isinstance(raw, list) or not raw:
        problems.append((1, "task", "没有任何任务（每个任务一个 [[task]]）", "no task (one [[task]] table per task)"))
        raise CalendarError(source, problems)
    entries: list[tuple[int, Mapping[str, int], Any]] = []
    for i, entry in enumerate(raw):
        header, keys = lines[i] if i < len(lines) else (1, {})
        entries.append((header, keys, entry))
    return _checked_tasks(source, entries, problems)


def _checked_tasks(
    source: str,
    entries: Sequence[tuple[int, Mapping[str, int], Any]],
    problems: list[tuple[int, str, str, str]],
) -> tuple[Task, ...]:
    """The tasks of ``entries`` (each: the line of its start, the line of each of its keys, the task as read),
    checked by the one set of rules whatever the file's format; ``CalendarError`` with ``problems`` and every
    problem found here, each naming its line and field."""
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for header, keys, entry in entries:
        problems_before = len(problems)

        def at(key: str, keys: Mapping[str, int] = keys, header: int = header) -> int:
            return keys.get(key, header)

        if not isinstance(entry, dict):
            problems.append((header, "task", "应为一个 [[task]] 表", "must be a [[task]] table"))
            continue
        for key in entry:
            if key not in _TASK_KEYS:
                problems.append(
                    (
                        at(key),
                        key,
                        "不是任务的字段（只有 code、months、title、category）",
                        "unknown field (only code, months, title, category)",
                    )
                )
        for key in _TASK_KEYS:
            if key not in entry:
                problems.append((header, key, "缺少此项", "missing"))
        code = entry.get("code")
        if "code" in entry:
            if not isinstance(code, str) or not code.strip():
                problems.append((at("code"), "code", "应为非空文字", "must be a non-empty string"))
            elif len(code) > CODE_MAX:
                problems.append(
                    (
                        at("code"),
                        "code",
                        f"“{code}”超过 {CODE_MAX} 个字符",
                        f"{code!r} is longer than {CODE_MAX} characters",
                    )
                )
            elif code != code.strip() or text_problem(code) is not None:
                problems.append((at("code"), "code", "含空白或控制字符", "holds white space or control characters"))
            elif code in seen:
                problems.append(
                    (
                        at("code"),
                        "code",
                        f"“{code}”重复（第 {seen[code]} 行已有）",
                        f"{code!r} is listed twice (already on line {seen[code]})",
                    )
                )
            else:
                seen[code] = at("code")
        months = entry.get("months")
        if "months" in entry:
            if not isinstance(months, list) or not months:
                problems.append(
                    (at("months"), "months", "应为月份列表，如 [2, 9]", "must be a list of months, e.g. [2, 9]")
                )
            else:
                for m in months:
                    if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12:
                        problems.append(
                            (at("months"), "months", f"月份 {m!r} 不在 1–12 之内", f"month {m!r} is not within 1–12")
                        )
                if len(set(map(repr, months))) != len(months):
                    problems.append((at("months"), "months", "同一月份写了两次", "lists a month twice"))
        title = entry.get("title")
        if "title" in entry:
            if not isinstance(title, str) or not title.strip():
                problems.append((at("title"), "title", "应为非空文字", "must be a non-empty string"))
            elif len(title) > TITLE_MAX:
                problems.append(
                    (at("title"), "title", f"超过 {TITLE_MAX} 个字符", f"longer than {TITLE_MAX} characters")
                )
            elif text_problem(title) is not None:
                problems.append((at("title"), "title", "含控制字符", "holds control characters"))
        category = entry.get("category")
        if "category" in entry and category not in CATEGORIES:
            problems.append(
                (
                    at("category"),
                    "category",
                    f"“{category}”不是已知类别（可用：{'、'.join(CATEGORIES)}）",
                    f"{category!r} is not a known category ({', '.join(CATEGORIES)})",
                )
            )
        if len(problems) == problems_before:
            tasks.append(Task(str(code), tuple(sorted(months)), str(title).strip(), str(category)))  # type: ignore[arg-type]
    if problems:
        raise CalendarError(source, problems)
    return tuple(tasks)


def _first_line(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\s*\[*\s*{re.escape(key)}\b", line):
            return number
    return 1


# the columns of a calendar workbook: the Chinese headings of the template, the TOML keys, and the Chinese names
# the error messages give the fields
_COLUMNS = {
    **{name: key for key, name in _FIELD_ZH.items()},
    "任务代码": "code",
    **{key: key for key in _TASK_KEYS},
}
_MONTH_SPLIT = re.compile(r"[,，、;；\s]+")


def _cell_text(value: Any) -> Any:
    """A cell as the TOML path would read it: text stripped, a whole number (Excel stores 3 as 3.0) as such."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _months(values: Sequence[Any]) -> Any:
    """The months of a row's month cells: a number per cell or a list in one (``2,3``, ``2、3``, ``2，9``); a
    token that is not a whole number is kept as it is written, for the rules to refuse it."""
    out: list[Any] = []
    for value in values:
        value = _cell_text(value)
        if value is None or value == "":
            continue
        if isinstance(value, str):
            for token in _MONTH_SPLIT.split(value):
                if token:
                    out.append(int(token) if token.isascii() and token.isdigit() else token)
        else:
            out.append(value)
    return out


def parse_calendar_xlsx(data: bytes, source: str) -> tuple[Task, ...]:
    """The tasks of a calendar workbook: its first sheet, a heading row (任务代码 or 编号, 月份, 任务, 类别; or
    code, months, title, category) and one task per row below it; empty rows are skipped. The months are a
    number per cell (several 月份 columns may be given) or a list in one cell (``2,3`` or ``2、3``); the
    category its code or its Chinese name (``校舍`` for ``building``). The same rules as the TOML file, every
    problem naming the sheet's row: ``CalendarError``."""
    import zipfile
    from io import BytesIO

    from openpyxl import load_workbook

    try:
        book = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CalendarError(
            source, [(1, "xlsx", f"不是有效的 xlsx 文件：{exc}", f"not a valid xlsx workbook: {exc}")]
        ) from None
    try:
        rows = [
            (number, [_cell_text(v) for v in row])
            for number, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1)
            if any(_cell_text(v) not in (None, "") for v in row)
        ]
    finally:
        book.close()
    if not rows:
        raise CalendarError(source, [(1, "task", "工作表是空的（应有表头和任务）", "the sheet is empty")])
    heading, names = rows[0]
    problems: list[tuple[int, str, str, str]] = []
    columns: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if name in (None, ""):
            continue
        key = _COLUMNS.get(str(name).lower() if str(name).isascii() else str(name))
        if key is None:
            problems.append(
                (heading, str(name), "不是行事历的列（只有 任务代码、月份、任务、类别）",
                 "unknown column (only code, months, title, category)")
            )  # fmt: skip
        elif key != "months" and key in columns:
            problems.append((heading, key, "这一列出现了两次", "is a column twice"))
        else:
            columns.setdefault(key, []).append(i)
    for key in _TASK_KEYS:
        if key not in columns:
            problems.append((heading, key, "缺少这一列", "column missing"))
    if problems:
        raise CalendarError(source, problems)
    if len(rows) == 1:
        raise CalendarError(
            source, [(heading, "task", "没有任何任务（表头下每行一个任务）", "no task below the heading")]
        )

    def cell(row: Sequence[Any], i: int) -> Any:
        return row[i] if i < len(row) else None

    entries: list[tuple[int, Mapping[str, int], Any]] = []
    for number, row in rows[1:]:
        entry: dict[str, Any] = {}
        for key in ("code", "title", "category"):
            value = cell(row, columns[key][0])
            if value in (None, ""):
                continue
            if key == "category" and isinstance(value, str):
                value = _CATEGORY_BY_NAME.get(value, value)
            elif key != "category" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # a code typed as a number: 101
            entry[key] = value
        months = _months([cell(row, i) for i in columns["months"]])
        if months:
            entry["months"] = months
        entries.append((number, {}, entry))
    return _checked_tasks(source, entries, [])


#: a category as a workbook may name it: its code or its Chinese label
_CATEGORY_BY_NAME = {zh: code for code, (zh, _en) in ENUM_LABELS["calendar_category"].items()}


def parse_calendar_file(content: str | bytes, source: str) -> tuple[Task, ...]:
    """A calendar file's tasks: a workbook (bytes, ``.xlsx``) or TOML (text). ``CalendarError`` either way."""
    if isinstance(content, bytes):
        return parse_calendar_xlsx(content, source)
    return parse_calendar(content, source)


# ------------------------------------------------------------------------------------------------ versions


@caches.memoize("duties.default_calendar", 1)
def default_calendar() -> Calendar:
    """The calendar shipped with the hub (``default-calendar.toml``): in force where a county loaded none."""
    text = DEFAULT_CALENDAR_PATH.read_text(encoding="utf-8")
    return Calendar(None, 0, DEFAULT_CALENDAR_PATH.name, parse_calendar(text, DEFAULT_CALENDAR_PATH.name))


# (id, county, version, loaded_at) → the version's calendar: a version never changes once stored
_versions = caches.cache("duties.calendar_versions", 256)


def calendar_by_version(session: Session, version_id: int | None) -> Calendar:
    """The calendar of a stored version (``None``: the shipped default). ``LookupError`` for an unknown id."""
    if version_id is None:
        return default_calendar()
    row = session.get(DutyCalendarVersion, version_id)
    if row is None:
        raise LookupError(version_id)
    # keyed by the row's identity, not its id alone: an id a rolled-back load used may be given again
    key = (row.id, row.county_code, row.version, row.loaded_at)
    hit: Calendar | None = _versions.get(key)
    if hit is not None:
        return hit
    tasks = session.scalars(select(DutyTask).where(DutyTask.version_id == version_id).order_by(DutyTask.position))
    cal = Calendar(
        row.id,
        row.version,
        row.source,
        tuple(Task(t.code, tuple(int(m) for m in t.months), t.title, t.category) for t in tasks),
        row.loaded_at,
        row.loaded_by,
    )
    return _versions.put(key, cal)


def current_version_id_statement(county_code: Any) -> Any:
    """The id of the county's calendar version in force (its newest), a scalar subquery; NULL: the default."""
    return (
        select(func.max(DutyCalendarVersion.id)).where(DutyCalendarVersion.county_code == county_code).scalar_subquery()
    )


def calendar_in_force(session: Session, county_code: str) -> Calendar:
    """The county's calendar in force now: its newest loaded version, else the shipped default."""
    return calendar_by_version(session, session.scalar(select(current_version_id_statement(county_code))))


def versions(session: Session, county_code: str) -> list[DutyCalendarVersion]:
    """The county's loaded versions, oldest first."""
    return list(
        session.scalars(
            select(DutyCalendarVersion)
            .where(DutyCalendarVersion.county_code == county_code)
            .order_by(DutyCalendarVersion.version)
        )
    )


def load_calendar(
    session: Session, county_code: str, text: str | bytes, source: str, *, actor: str = "cli"
) -> DutyCalendarVersion:
    """Validate a calendar file (TOML text, or an xlsx workbook's bytes: ``parse_calendar_file``) and make it
    the county's calendar in force, as a new version (the old ones stay: months already reported keep the
    version that judged them). Audited as ``calendar.load``. ``CalendarError`` (every problem naming its line
    or row; nothing stored) or ``LookupError`` (no such county)."""
    if session.get(County, county_code) is None:
        raise LookupError(county_code)
    tasks = parse_calendar_file(text, source)
    last = session.scalar(
        select(func.max(DutyCalendarVersion.version)).where(DutyCalendarVersion.county_code == county_code)
    )
    row = DutyCalendarVersion(
        county_code=county_code,
        version=(last or 0) + 1,
        loaded_at=utcnow(),
        loaded_by=actor[:100],
        source=source[-200:],
    )
    session.add(row)
    session.flush()
    session.add_all(
        DutyTask(version_id=row.id, position=i, code=t.code, months=list(t.months), title=t.title, category=t.category)
        for i, t in enumerate(tasks)
    )
    record(
        session,
        actor=actor,
        action="calendar.load",
        county_code=county_code,
        calendar_version_id=row.id,
        version=row.version,
        source=source[-200:],
        tasks=len(tasks),
    )
    session.flush()
    return row


# ------------------------------------------------------------------------------------------------ months


def month_of(period: str) -> int:
    return int(period[5:7])


def period_tasks(session: Session, county_code: str, period: str) -> list[dict[str, Any]]:
    """The tasks due in ``period``'s month by the county's calendar in force now, as the agent's period state,
    the feedback and the web template name them: ``{code, title, category}``, in the calendar's order."""
    cal = calendar_in_force(session, county_code)
    return [{"code": t.code, "title": t.title, "category": t.category} for t in cal.tasks_of(month_of(period))]


def period_codes(session: Session, county_code: str, period: str) -> tuple[str, ...]:
    """The codes a @2 report for ``period`` may name in ``calendar.tasks`` if it arrived now."""
    return calendar_in_force(session, county_code).codes_of(month_of(period))


def done_codes(tasks: object, due: Sequence[str]) -> tuple[str, ...]:
    """The codes of ``due`` that a report's ``calendar.tasks`` lists as done (a listed code not due is not
    counted: the standard refuses it at ingestion, and an older report may carry one)."""
    listed = {t.get("code") for t in tasks if isinstance(t, Mapping)} if isinstance(tasks, list) else set()
    return tuple(c for c in due if c in listed)
