"""Registry rules: importing schools, issuing and rotating credentials, active schools of a period."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from district.audit.services import record
from district.db import utcnow
from district.registry.crypto import SecretBox
from district.registry.models import SCHOOL_TYPES, City, County, Credential, School, Township

REQUIRED_COLUMNS = ("code", "name", "county_code", "township", "type", "boarding")
OPTIONAL_COLUMNS = ("opened", "closed", "county_name", "city_code", "city_name")
_TRUE = {"1", "true", "yes", "y", "是", "寄宿"}
_FALSE = {"0", "false", "no", "n", "否", "", "走读"}


class ImportError_(Exception):
    """The file has errors; nothing was written. ``errors`` name the line and column of each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    counties_created: list[str] = field(default_factory=list)
    credentials_revoked: list[str] = field(default_factory=list)  # closed schools' (revoke_closed_credentials)


def _rows_from_file(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Return the header and (line number, cells) for each data row of a CSV or xlsx file."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a non-xlsx file
            raise ImportError_([f"{path.name}: 不是有效的 xlsx 文件 / not a valid xlsx file ({exc})"]) from exc
        ws = wb.worksheets[0]
        rows: list[tuple[int, list[str]]] = []
        header: list[str] = []
        for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = ["" if v is None else (v.isoformat() if isinstance(v, dt.date) else str(v)) for v in values]
            if i == 1:
                header = [c.strip() for c in cells]
            elif any(c.strip() for c in cells):
                rows.append((i, cells))
        wb.close()
        return header, rows
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    all_rows = list(reader)
    if not all_rows:
        raise ImportError_([f"{path.name}: 文件为空 / the file is empty"])
    header = [c.strip() for c in all_rows[0]]
    return header, [(i, r) for i, r in enumerate(all_rows[1:], start=2) if any(c.strip() for c in r)]


def _parse_date(value: str) -> dt.date:
    value = value.strip()[:10]
    return dt.date.fromisoformat(value)


def import_schools(session: Session, path: Path, *, actor: str = "cli") -> ImportResult:
    """Create or update schools from a CSV/xlsx registry file. All-or-nothing: any error, nothing is written.

    Importing the same file again updates rows in place by school code and never duplicates.
    Counties and cities are created on first sight (name from ``county_name``/``city_name`` if given).
    """
    header, rows = _rows_from_file(path)
    errors: list[str] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c and c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing:
        errors.append(f"第 1 行: 缺少列 {', '.join(missing)} / line 1: missing columns {', '.join(missing)}")
    if unknown:
        errors.append(f"第 1 行: 未知列 {', '.join(unknown)} / line 1: unknown columns {', '.join(unknown)}")
    if errors:
        raise ImportError_(errors)
    col = {name: header.index(name) for name in header if name}
    parsed: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        cells = cells + [""] * (len(header) - len(cells))

        def cell(name: str, _cells: list[str] = cells) -> str:
            return _cells[col[name]].strip() if name in col else ""

        def err(column: str, zh: str, en: str, _line: int = line) -> None:
            errors.append(f"第 {_line} 行 {column} 列: {zh} / line {_line}, column {column}: {en}")

        code = cell("code")
        if not re.fullmatch(r"\d{10}", code):
            err("code", f"学校标识码必须是 10 位数字: {code!r}", f"school code must be 10 digits: {code!r}")
        elif code in seen:
            err("code", f"学校标识码与第 {seen[code]} 行重复", f"duplicate of line {seen[code]}")
        else:
            seen[code] = line
        name = cell("name")
        if not name or len(name) > 200:
            err("name", "学校名称不能为空且不超过 200 字", "name must be 1-200 characters")
        county = cell("county_code")
        if not re.fullmatch(r"\d{6}", county):
            err(
                "county_code",
                f"县级行政区划代码必须是 6 位数字: {county!r}",
                f"county code must be 6 digits: {county!r}",
            )
        elif re.fullmatch(r"\d{10}", code) and not code.startswith(county):
            pass  # codes need not share the county prefix in real registries; we accept it
        township = cell("township")
        if not township or len(township) > 100:
            err("township", "学区/乡镇不能为空", "township must not be empty")
        stype = cell("type")
        if stype not in SCHOOL_TYPES:
            err("type", f"学校类型无效: {stype!r}（可选 {', '.join(SCHOOL_TYPES)}）", f"invalid type {stype!r}")
        boarding_raw = cell("boarding").lower()
        if boarding_raw not in _TRUE | _FALSE:
            err(
                "boarding",
                f"是否寄宿无效: {boarding_raw!r}（填 true/false）",
                f"boarding must be true/false: {boarding_raw!r}",
            )
        dates: dict[str, dt.date | None] = {}
        for dcol in ("opened", "closed"):
            raw = cell(dcol)
            dates[dcol] = None
            if raw:
                try:
                    dates[dcol] = _parse_date(raw)
                except ValueError:
                    err(dcol, f"日期格式应为 YYYY-MM-DD: {raw!r}", f"date must be YYYY-MM-DD: {raw!r}")
        if dates["opened"] and dates["closed"] and dates["closed"] < dates["opened"]:
            err("closed", "停办日期早于开办日期", "closed is before opened")
        parsed.append(
            {
                "code": code,
                "name": name,
                "county_code": county,
                "township": township,
                "type": stype,
                "boarding": boarding_raw in _TRUE,
                "opened": dates["opened"],
                "closed": dates["closed"],
                "county_name": cell("county_name"),
                "city_code": cell("city_code"),
                "city_name": cell("city_name"),
            }
        )
    if errors:
        raise ImportError_(errors)
    return _apply_import(session, parsed, actor=actor)


def _apply_import(session: Session, rows: Sequence[dict[str, object]], *, actor: str) -> ImportResult:
    result = ImportResult()
    counties = {c.code: c for c in session.scalars(select(County))}
    townships = {(t.county_code, t.name): t for t in session.scalars(select(Township))}
    existing = {s.code: s for s in session.scalars(select(School).where(School.code.in_([r["code"] for r in rows])))}
    for row in rows:
        county_code = str(row["county_code"])
        if county_code not in counties:
            city_code = str(row["city_code"] or county_code[:4] + "00")
            if session.get(City, city_code) is None:
                session.add(City(code=city_code, name=str(row["city_name"] or city_code)))
                session.flush()
            county = County(code=county_code, city_code=city_code, name=str(row["county_name"] or county_code))
            session.add(county)
            counties[county_code] = county
            result.counties_created.append(county_code)
            session.flush()
        elif row["county_name"] and counties[county_code].name == county_code:
            counties[county_code].name = str(row["county_name"])
        key = (county_code, str(row["township"]))
        if key not in townships:
            township = Township(county_code=county_code, name=str(row["township"]))
            session.add(township)
            session.flush()
            townships[key] = township
        values = {
            "name": row["name"],
            "county_code": county_code,
            "township_id": townships[key].id,
            "type": row["type"],
            "boarding": row["boarding"],
            "opened": row["opened"],
            "closed": row["closed"],
        }
        school = existing.get(str(row["code"]))
        if school is None:
            session.add(School(code=row["code"], **values))
            result.created += 1
        else:
            changed = {k: v for k, v in values.items() if getattr(school, k) != v}
            for k, v in changed.items():
                setattr(school, k, v)
            if changed:
                result.updated += 1
            else:
                result.unchanged += 1
    session.flush()
    record(session, actor=actor, action="schools.import", created=result.created, updated=result.updated)
    imported = [str(row["code"]) for row in rows if row["closed"] is not None]
    result.credentials_revoked = revoke_closed_credentials(session, imported, actor=actor)
    return result


def revoke_closed_credentials(session: Session, school_codes: Sequence[str], *, actor: str = "cli") -> list[str]:
    """Revoke the credential of each of these schools that has closed (停办), audited as ``credential.revoke``
    in its county's chain; returns their codes.

    A school counts as closed here once the reporting deadline of its last active month (the month of
    ``closed``) has passed on the hub's clock: until then it may still send that last report. Its reports of
    later months are refused either way (``school_inactive``). Issuing a credential again
    (``houqin schools credential``) is the bureau's way to let a closed school correct a past month."""
    from district import calendar
    from houqin_standard.periods import period_of

    if not school_codes:
        return []
    now = calendar.now()
    revoked: list[str] = []
    for school, cred, county in session.execute(
        select(School, Credential, County)
        .join(Credential, Credential.school_code == School.code)
        .join(County, County.code == School.county_code)
        .where(School.code.in_(school_codes), School.closed.is_not(None), Credential.revoked_at.is_(None))
        .order_by(School.code, Credential.id)
    ):
        assert school.closed is not None
        if calendar.deadline(county, period_of(school.closed)) >= now:
            continue
        cred.revoked_at = utcnow()
        session.flush()
        record(
            session,
            actor=actor,
            action="credential.revoke",
            county_code=school.county_code,
            school_code=school.code,
            credential_id=cred.id,
            reason="school_closed",
            closed=school.closed.isoformat(),
        )
        revoked.append(school.code)
    return revoked


def issue_credential(session: Session, box: SecretBox, school_code: str, *, actor: str = "cli") -> str:
    """Issue (or rotate) a school's credential. Returns the secret: the only time it is ever shown.

    The old credential, if any, is revoked in the same transaction, so it stops working at commit.
    """
    school = session.get(School, school_code)
    if school is None:
        raise LookupError(f"unknown school {school_code}")
    now = utcnow()
    rotated = False
    for old in session.scalars(
        select(Credential).where(Credential.school_code == school_code, Credential.revoked_at.is_(None))
    ):
        old.revoked_at = now
        rotated = True
    secret = secrets.token_urlsafe(32)  # 32 random bytes, printable
    cred = Credential(school_code=school_code, secret_encrypted=box.seal(secret), created_at=now)
    session.add(cred)
    session.flush()
    record(
        session,
        actor=actor,
        action="credential.rotate" if rotated else "credential.issue",
        county_code=school.county_code,
        school_code=school_code,
        credential_id=cred.id,
    )
    return secret


def active_credential(session: Session, school_code: str) -> Credential | None:
    return session.scalars(
        select(Credential)
        .where(Credential.school_code == school_code, Credential.revoked_at.is_(None))
        .order_by(Credential.id.desc())
        .limit(1)
    ).first()


def schools_active_in(schools: Iterable[School], period: str) -> list[School]:
    return [s for s in schools if s.active_in(period)]


# ---------------------------------------------------------------- county settings


def county_settings(session: Session, county: County) -> dict[str, object]:
    """A county's settings as the settings API shows them (``GET /api/v1/counties/<county>/settings``)."""
    from district import calendar

    return {
        "county_code": county.code,
        "reporting_start": county.reporting_start,
        # the month the calendar uses when none is set: the earliest accepted report's
        "reporting_start_in_effect": calendar.reporting_start(session, county),
        "deadline_day": county.deadline_day,
        "break_months": sorted(county.break_month_set),
    }


def configure_county(session: Session, county_code: str, *, reporting_start: object, actor: str = "cli") -> County:
    """Set a county's reporting start (上线月份); ``None`` clears it. Validated by the reporting calendar (a
    future month, or one after the county's first accepted report, is refused with the reason:
    ``district.calendar.WindowError``); audited as ``county.configure``. ``LookupError`` for an unknown county."""
    from district import calendar

    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    value = None
    if reporting_start not in (None, ""):
        value = calendar.validate_reporting_start(session, county, reporting_start)
    previous = county.reporting_start
    if value != previous:
        county.reporting_start = value
        record(
            session,
            actor=actor,
            action="county.configure",
            county_code=county_code,
            reporting_start=value,
            previous_reporting_start=previous,
        )
    session.flush()
    return county
