"""Registry rules: importing schools, issuing and rotating credentials, active schools of a period."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from district.audit.services import record
from district.db import utcnow
from district.registry.crypto import SecretBox
from district.registry.models import SCHOOL_TYPES, City, County, Credential, School, Township

REQUIRED_COLUMNS = ("code", "name", "county_code", "township", "type", "boarding")
OPTIONAL_COLUMNS = (
    "opened",
    "closed",
    "county_name",
    "city_code",
    "city_name",
    "contact_name",
    "contact_phone",
    "contact_email",
)
# a school contact's phone: a mainland mobile (1[3-9] and 9 digits) or a landline with its area code
# (0913-1234567, 029-12345678, an extension after a dash); e-mail: one @, a dotted domain, no spaces
PHONE_RE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-\d{7,8}(?:-\d{1,6})?)$")
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
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
        contact_name, phone, email = cell("contact_name"), cell("contact_phone"), cell("contact_email")
        if len(contact_name) > 50:
            err("contact_name", "联系人姓名不超过 50 字", "contact_name must be at most 50 characters")
        if phone and not PHONE_RE.match(phone):
            err(
                "contact_phone",
                f"联系电话应为手机号（11 位）或带区号的固话（如 0913-1234567）: {phone[:40]!r}",
                f"contact_phone must be a mainland mobile or a landline with area code: {phone[:40]!r}",
            )
        if email and (len(email) > 254 or not EMAIL_RE.match(email)):
            err(
                "contact_email",
                f"电子邮箱格式无效: {email[:80]!r}",
                f"contact_email is not an e-mail address: {email[:80]!r}",
            )
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
                # contact columns absent from the file leave the stored contact as it is
                **{c: (cell(c) or None) for c in ("contact_name", "contact_phone", "contact_email") if c in col},
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
        values: dict[str, object] = {
            "name": row["name"],
            "county_code": county_code,
            "township_id": townships[key].id,
            "type": row["type"],
            "boarding": row["boarding"],
            "opened": row["opened"],
            "closed": row["closed"],
            **{c: row[c] for c in ("contact_name", "contact_phone", "contact_email") if c in row},
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


# ---------------------------------------------------------------- township order (issue 17 item 6)


def pinyin_key(name: str) -> bytes:
    """The default order of township names: pinyin, approximated by GB18030 bytes (no pinyin table offline).
    GB2312's level-1 hanzi (the 3,755 common ones, which cover nearly every place name) are laid out in pinyin
    order, so their bytes sort by pinyin; level-2 hanzi sort by radical after them, and a name sharing a first
    syllable with another sorts by its next characters in the same way. A county whose order differs sets it."""
    return name.encode("gb18030", errors="replace")


def township_order(session: Session, county_code: str) -> Callable[[str], tuple[int, int, bytes]]:
    """THE order of a county's townships, as a sort key on the township's *name*: the county's official order
    (a setting, ``set_township_order``) first, then any township not in it (and any name not of the county) by
    pinyin (``pinyin_key``). Every list or table that shows townships sorts with it: completeness by township,
    the overview, the fund report, the ranking's township select, the review queue, the exports, the PDFs."""
    positions = dict(
        session.execute(
            select(Township.name, Township.position).where(
                Township.county_code == county_code, Township.position.is_not(None)
            )
        )
        .tuples()
        .all()
    )

    def key(name: str) -> tuple[int, int, bytes]:
        position = positions.get(name)
        if position is None:
            return (1, 0, pinyin_key(name))
        return (0, position, b"")

    return key


def townships_in_order(session: Session, county_code: str) -> list[str]:
    """The county's township names in its order (``township_order``)."""
    names = session.scalars(select(Township.name).where(Township.county_code == county_code)).all()
    return sorted(names, key=township_order(session, county_code))


class TownshipOrderError(ValueError):
    """A refused township order: ``message`` (zh / en) and ``details`` (``{path, code, message}``)."""

    def __init__(self, message: str, details: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def parse_township_order(value: object, *, text: bool = False) -> list[str] | None:
    """The order as the API gives it (a list of names) or, with ``text``, as the CLI does (``"庄里镇,张桥镇"``,
    full-width commas and 、 too); ``None`` or empty clears it. ``TownshipOrderError`` otherwise."""
    if value is None:
        return None
    if text and isinstance(value, str):
        names = [n.strip() for n in re.split(r"[,，、\n]", value)]
        names = [n for n in names if n]
    elif isinstance(value, list) and all(isinstance(n, str) for n in value):
        names = [n.strip() for n in value]
    else:
        raise TownshipOrderError(
            "township_order 应为乡镇名称的列表 / township_order must be a list of township names",
            [{"path": "township_order", "code": "invalid_type", "message": "应为乡镇名称的列表"}],
        )
    return names or None


def set_township_order(session: Session, county_code: str, names: Sequence[str] | None, *, actor: str = "cli") -> None:
    """Set the county's official order of its townships; ``None`` or empty clears it (pinyin order). Every name
    must be a township of the county, each once (``TownshipOrderError`` naming each bad entry, ``path``
    ``township_order[i]``); townships not named follow in pinyin order. Audited as ``county.township_order``.
    ``LookupError`` for an unknown county."""
    if session.get(County, county_code) is None:
        raise LookupError(county_code)
    townships = {t.name: t for t in session.scalars(select(Township).where(Township.county_code == county_code))}
    names = list(names or [])
    details: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        path = f"township_order[{i}]"
        if not name:
            details.append({"path": path, "code": "empty", "message": "乡镇名称不能为空"})
        elif name not in townships:
            details.append({"path": path, "code": "unknown_township", "message": f"本县没有乡镇“{name[:50]}”"})
        elif name in seen:
            details.append({"path": path, "code": "duplicate", "message": f"乡镇“{name[:50]}”重复出现"})
        seen.add(name)
    if details:
        raise TownshipOrderError(
            "township_order 有误：" + "；".join(d["message"] for d in details[:5]) + " / invalid township_order",
            details[:50],
        )
    previous = [t.name for t in sorted(townships.values(), key=lambda t: t.position or 0) if t.position is not None]
    if previous == names:
        return
    wanted = {name: i + 1 for i, name in enumerate(names)}
    for name, township in townships.items():
        township.position = wanted.get(name)
    record(session, actor=actor, action="county.township_order", county_code=county_code, township_order=names)
    session.flush()


def township_order_setting(session: Session, county_code: str) -> list[str] | None:
    names = session.scalars(
        select(Township.name)
        .where(Township.county_code == county_code, Township.position.is_not(None))
        .order_by(Township.position)
    ).all()
    return list(names) or None
