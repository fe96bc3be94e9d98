"""Reminders 提醒 and催报: what a county's schools are reminded of today, and how it reaches them.

- :func:`reminders` is the one list of a county's (or a school's) reminders on a day: the agent's feedback, the
  stored daily lists and the messages all read it. :func:`due_reminders` is what is *sent*: schools that have
  not reported the latest closed period (days late per ``district.calendar``), hazards past their deadline, and
  returned reports not yet corrected (``district.review.services.open_returns``).
- :func:`reserve` turns them into deliveries: one e-mail per school contact and kind, one digest per county
  (or township, for a township_admin's 一键催报) to each group robot. Each delivery is inserted before anything is
  sent; its unique key (target, kind, channel, day) makes a second reservation of the day fail, so a school
  never gets the same kind of reminder twice a day on a channel, whoever asks (two beat processes, a beat run
  and a 一键催报).
- :func:`deliver` sends one delivery: it claims it (``queued``/``failed`` → ``sending``, one claimant wins), sends
  outside any transaction, and records the attempt. A delivery that was sent is never claimed again.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from district import calendar
from district.audit.services import record
from district.db import db, utcnow
from district.registry.crypto import SecretBox
from district.registry.models import County, School, Township
from district.reminders import channels as ch
from district.reminders.models import ReminderAttempt, ReminderChannels, ReminderDelivery, ReminderList
from district.reports import windows
from district.reports.hazards import hazard_ledger
from district.reports.models import ReportHead
from houqin_standard import SHANGHAI, period_add

__all__ = [
    "ChannelSettings",
    "ChannelsError",
    "DeliveryOutcome",
    "Reservation",
    "channels_view",
    "counts",
    "deliver",
    "delivery_log",
    "due_reminders",
    "latest_reminders",
    "load_channels",
    "reminder_period",
    "reminders",
    "reserve",
    "set_channels",
    "store_reminders",
]

MAX_ATTEMPTS = 5  # the first try and four retries (backoff: 1, 2, 4, 8 minutes by default)
KIND_ZH = {"report_missing": "月报未报送", "hazard_overdue": "隐患整改逾期", "report_returned": "月报被退回待更正"}


def _iso(t: dt.datetime) -> str:
    return t.astimezone(SHANGHAI).isoformat()


def _month_zh(period: str) -> str:
    return f"{int(period[:4])}年{int(period[5:7])}月"


def _day_zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# ------------------------------------------------------------------------------------------------ the list


def reminder_period(today: dt.date) -> str:
    """The period the agent's list asks for on ``today``: the month before (due on the county's deadline day of
    this month, overdue after it). What is *sent* asks for the latest closed period instead (:func:`due_reminders`)."""
    return period_add(f"{today.year:04d}-{today.month:02d}", -1)


def reminders(
    session: Session,
    county_code: str,
    today: dt.date | None = None,
    *,
    school_code: str | None = None,
    lang: str = "zh",
    period: str | None = None,
) -> list[dict[str, Any]]:
    """Reminders 提醒 of a county (or one school of it) on ``today``.

    - ``report_missing``: an active school that has not reported ``period`` (default: the month before
      ``today``; none in a break month), with the deadline and the days past it;
    - ``hazard_overdue``: a ledger hazard still open on ``today`` whose deadline is before it (major first,
      then the most overdue).
    """
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    today = today or calendar.today()
    period = period or reminder_period(today)
    deadline = calendar.deadline(county, period)
    deadline_day = calendar.deadline_date(county, period)
    days_late = calendar.days_late(deadline_day, on=today)
    start = windows.reporting_start(session, county)
    out: list[dict[str, Any]] = []
    if (start is None or period >= start) and int(period[5:7]) not in county.break_month_set:
        q = (
            select(School, Township.name)
            .join(Township, Township.id == School.township_id)
            .outerjoin(ReportHead, (ReportHead.school_code == School.code) & (ReportHead.period == period))
            .where(School.county_code == county_code, ReportHead.revision_id.is_(None))
            .order_by(School.code)
        )
        if school_code is not None:
            q = q.where(School.code == school_code)
        for school, township in session.execute(q):
            if not school.active_in(period):
                continue
            zh = (
                f"{_month_zh(period)}的月报尚未报送，已逾期 {days_late} 天"
                if today > deadline_day
                else f"{_month_zh(period)}的月报尚未报送，截止日期 {_day_zh(deadline_day)}"
            )
            en = (
                f"the {period} report is missing, {days_late} days past the deadline"
                if today > deadline_day
                else f"the {period} report is due by {deadline_day.isoformat()}"
            )
            out.append(
                {
                    "kind": "report_missing",
                    "school_code": school.code,
                    "school_name": school.name,
                    "township": township,
                    "period": period,
                    "deadline": _iso(deadline),
                    "overdue": today > deadline_day,
                    "days_late": days_late,
                    "message": en if lang == "en" else zh,
                    "message_zh": zh,
                    "message_en": en,
                }
            )
    if school_code is not None:
        ledger = hazard_ledger(session, school_code=school_code)
    else:
        ledger = hazard_ledger(session, county_code=county_code)
    overdue = sorted(
        (e for e in ledger if e.days_overdue(today) > 0),
        key=lambda e: (e.severity != "major", -e.days_overdue(today), e.school_code, e.ref),
    )
    for e in overdue:
        severity_zh = "重大" if e.severity == "major" else "一般"
        zh = (
            f"{severity_zh}隐患 {e.ref}（{e.description[:40]}）整改期限 {_day_zh(e.deadline)}，"
            f"已逾期 {e.days_overdue(today)} 天"
        )
        en = f"{e.severity} hazard {e.ref} was due {e.deadline.isoformat()}, {e.days_overdue(today)} days overdue"
        out.append(
            {
                "kind": "hazard_overdue",
                "school_code": e.school_code,
                "school_name": e.school_name,
                "township": e.township,
                "ref": e.ref,
                "category": e.category,
                "severity": e.severity,
                "description": e.description,
                "deadline": e.deadline.isoformat(),
                "days_overdue": e.days_overdue(today),
                "period": e.period,
                "revision_id": e.revision_id,
                "message": en if lang == "en" else zh,
                "message_zh": zh,
                "message_en": en,
            }
        )
    return out


def store_reminders(session: Session, county_code: str, today: dt.date | None = None) -> ReminderList:
    """The daily job: store the county's reminders of ``today`` (the bureau's list; history is kept)."""
    today = today or calendar.today()
    items = reminders(session, county_code, today)
    row = ReminderList(
        county_code=county_code, day=today, period=reminder_period(today), computed_at=utcnow(), items=items
    )
    session.add(row)
    session.flush()
    return row


def latest_reminders(session: Session, county_code: str) -> ReminderList | None:
    """The newest stored reminder list of the county (``None`` before the daily job first ran)."""
    return session.scalars(
        select(ReminderList).where(ReminderList.county_code == county_code).order_by(ReminderList.id.desc()).limit(1)
    ).first()


def due_reminders(session: Session, county_code: str, *, township: str | None = None) -> list[dict[str, Any]]:
    """What is sent today: reports missing for the latest closed period (``calendar.latest_closed_period``, so
    always past its deadline, with the calendar's days late), hazards past their deadline, and returned reports
    not yet corrected. ``township``: that township's schools only."""
    from district.review.services import open_returns

    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    today = calendar.today()
    items = [
        r
        for r in reminders(session, county_code, today, period=calendar.latest_closed_period(county))
        if r["kind"] != "report_missing" or r["overdue"]
    ]
    for ret in open_returns(session, county_code, township):
        zh = f"{_month_zh(ret.period)}的月报被退回待更正：{ret.comment[:80]}"
        items.append(
            {
                "kind": "report_returned",
                "school_code": ret.school_code,
                "school_name": ret.school_name,
                "township": ret.township,
                "period": ret.period,
                "comment": ret.comment,
                "returned_at": _iso(ret.at),
                "message": zh,
                "message_zh": zh,
                "message_en": f"the {ret.period} report was returned for correction: {ret.comment[:80]}",
            }
        )
    if township is not None:
        items = [r for r in items if r["township"] == township]
    return items


# ------------------------------------------------------------------------------------------------ channels


class ChannelsError(ValueError):
    """A bad ``channels`` setting; ``details`` name each field ({path, code, message})."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{d['path']}: {d['message']}" for d in details))
        self.details = details


@dataclass
class ChannelSettings:
    email: bool = True
    paused: bool = False
    wecom: dict[str, str] | None = None  # {"url"}
    dingtalk: dict[str, str] | None = None  # {"url", "secret"}


def _box() -> SecretBox:
    ext = current_app.extensions
    if "houqin_box" not in ext:
        ext["houqin_box"] = SecretBox(current_app.config["SERVER_KEY_FILE"])
    return ext["houqin_box"]


def load_channels(session: Session, county_code: str) -> ChannelSettings:
    row = session.get(ReminderChannels, county_code)
    if row is None:
        return ChannelSettings()
    hooks: dict[str, Any] = {}
    if row.webhooks_sealed:
        hooks = json.loads(_box().open(row.webhooks_sealed))
    return ChannelSettings(row.email, row.paused, hooks.get("wecom"), hooks.get("dingtalk"))


def channels_view(settings: ChannelSettings) -> dict[str, Any]:
    """The settings API's ``channels``: webhook tokens and the DingTalk secret shown by their last 4 characters."""
    return {
        "email": settings.email,
        "paused": settings.paused,
        "wecom": None if settings.wecom is None else {"url": ch.mask_url(settings.wecom["url"])},
        "dingtalk": None
        if settings.dingtalk is None
        else {
            "url": ch.mask_url(settings.dingtalk["url"]),
            "secret": ch.mask_secret(settings.dingtalk["secret"]) if settings.dingtalk.get("secret") else None,
        },
    }


_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


def _check_url(value: Any, path: str, details: list[dict[str, str]]) -> str | None:
    if not isinstance(value, str) or len(value) > 1000 or not _URL.match(value):
        details.append({"path": path, "code": "invalid_url", "message": "应为 http:// 或 https:// 开头的网址"})
        return None
    return value


def set_channels(session: Session, county_code: str, value: Any, *, actor: str) -> ChannelSettings:
    """Set the county's channels from the settings API's ``channels`` object. Keys given replace theirs; a robot
    set to ``null`` is removed. ``ChannelsError`` names each bad field; nothing is changed then. Audited
    (``county.channels``, without URLs or secrets)."""
    if not isinstance(value, dict):
        raise ChannelsError([{"path": "channels", "code": "invalid_type", "message": "应为 JSON 对象"}])
    details: list[dict[str, str]] = []
    unknown = sorted(k for k in value if k not in ("email", "paused", "wecom", "dingtalk"))
    for k in unknown[:10]:
        details.append({"path": f"channels.{k[:50]}", "code": "unsupported", "message": "不支持的设置项"})
    current = load_channels(session, county_code)
    for flag in ("email", "paused"):
        if flag in value:
            if not isinstance(value[flag], bool):
                details.append({"path": f"channels.{flag}", "code": "invalid_type", "message": "应为 true 或 false"})
            else:
                setattr(current, flag, value[flag])
    if "wecom" in value:
        hook = value["wecom"]
        if hook is None:
            current.wecom = None
        elif not isinstance(hook, dict) or set(hook) - {"url"}:
            details.append({"path": "channels.wecom", "code": "invalid_type", "message": "应为 {url} 或 null"})
        else:
            url = _check_url(hook.get("url"), "channels.wecom.url", details)
            if url:
                current.wecom = {"url": url}
    if "dingtalk" in value:
        hook = value["dingtalk"]
        if hook is None:
            current.dingtalk = None
        elif not isinstance(hook, dict) or set(hook) - {"url", "secret"}:
            details.append(
                {"path": "channels.dingtalk", "code": "invalid_type", "message": "应为 {url, secret} 或 null"}
            )
        else:
            url = _check_url(hook.get("url"), "channels.dingtalk.url", details)
            secret = hook.get("secret")
            if secret is not None and (not isinstance(secret, str) or not 1 <= len(secret) <= 200 or "\n" in secret):
                details.append(
                    {
                        "path": "channels.dingtalk.secret",
                        "code": "invalid_secret",
                        "message": "加签密钥应为 1–200 个字符",
                    }
                )
                secret = None
            if url:
                current.dingtalk = {"url": url, "secret": secret or ""}
    if details:
        raise ChannelsError(details)
    row = session.get(ReminderChannels, county_code)
    if row is None:
        row = ReminderChannels(county_code=county_code, updated_at=utcnow())
        session.add(row)
    hooks = {"wecom": current.wecom, "dingtalk": current.dingtalk}
    row.email, row.paused, row.updated_at = current.email, current.paused, utcnow()
    row.webhooks_sealed = _box().seal(json.dumps(hooks)) if current.wecom or current.dingtalk else None
    record(
        session,
        actor=actor,
        action="county.channels",
        county_code=county_code,
        email=current.email,
        paused=current.paused,
        wecom=current.wecom is not None,
        dingtalk=current.dingtalk is not None,
    )
    session.flush()
    return current


# ------------------------------------------------------------------------------------------------ messages


def _line(item: dict[str, Any]) -> str:
    return f"{item['school_name']}：{item['message_zh']}"


def school_message(county_name: str, school_name: str, kind: str, items: list[dict[str, Any]]) -> tuple[str, str]:
    """A school contact's e-mail: subject and plain-text body in Chinese, naming the school and the days late."""
    subject = f"【{county_name}教育局】{school_name}：{KIND_ZH[kind]}提醒"
    lines = [f"{school_name}负责同志：", ""]
    if kind == "report_missing":
        lines.append("贵校以下月报尚未报送，请尽快报送：")
    elif kind == "hazard_overdue":
        lines.append("贵校以下隐患已过整改期限，请尽快整改并在月报中更新：")
    else:
        lines.append("贵校以下月报已被退回，请按审核意见更正后重新报送：")
    lines += [f"· {item['message_zh']}" for item in items]
    lines += ["", f"{county_name}教育局（后勤管理平台自动发送，请勿直接回复）"]
    return subject[:200], "\n".join(lines)


def digest_message(scope_name: str, day: dt.date, items: list[dict[str, Any]]) -> tuple[str, str]:
    """A county's (or township's) digest for its group robot: a title and markdown text."""
    title = f"{scope_name} {day.month}月{day.day}日催报提醒"
    parts: list[str] = []
    for kind in ("report_missing", "report_returned", "hazard_overdue"):
        rows = [i for i in items if i["kind"] == kind]
        if rows:
            parts.append(f"**{KIND_ZH[kind]}（{len({r['school_code'] for r in rows})} 所学校）**")
            parts += [f"- {_line(r)}" for r in rows]
            parts.append("")
    return title[:200], "\n".join(parts)


# ------------------------------------------------------------------------------------------------ reserve


@dataclass
class Reservation:
    """What one reservation run did: the deliveries to send now (new ones, and today's failed ones asked again),
    and how many were already sent today (skipped)."""

    to_send: list[int] = field(default_factory=list)
    skipped: int = 0
    paused: bool = False
    items: int = 0


def _reserve_one(session: Session, values: dict[str, Any], result: Reservation, *, retry_failed: bool) -> None:
    row = ReminderDelivery(**values)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # reserved already today (another run, another process): never a second message
        existing = session.scalars(
            select(ReminderDelivery).where(
                ReminderDelivery.target == values["target"],
                ReminderDelivery.kind == values["kind"],
                ReminderDelivery.channel == values["channel"],
                ReminderDelivery.day == values["day"],
            )
        ).first()
        if existing is not None and existing.status in ("failed", "queued") and retry_failed:
            # asked again by hand: one more try of a failed one, or of one whose sender never took it up (a lost
            # enqueue); the claim keeps it to one message whoever else holds it
            result.to_send.append(existing.id)
        else:
            result.skipped += 1
        return
    result.to_send.append(row.id)


def reserve(
    session: Session, county_code: str, *, trigger: str, township: str | None = None, retry_failed: bool = False
) -> Reservation:
    """Reserve today's deliveries of a county (or one township of it). Nothing is sent here; the caller hands
    ``to_send`` to the sender after the commit. A paused county reserves nothing."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    settings = load_channels(session, county_code)
    result = Reservation()
    if settings.paused:
        result.paused = True
        return result
    items = due_reminders(session, county_code, township=township)
    result.items = len(items)
    if not items:
        return result
    day, now = calendar.today(), utcnow()
    base = {"county_code": county_code, "day": day, "trigger": trigger, "status": "queued", "attempts": 0,
            "created_at": now}  # fmt: skip
    if settings.email:
        schools = {
            s.code: s for s in session.scalars(select(School).where(School.code.in_({i["school_code"] for i in items})))
        }
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for item in items:
            grouped.setdefault((item["school_code"], item["kind"]), []).append(item)
        for (code, kind), rows in sorted(grouped.items()):
            school = schools.get(code)
            if school is None or not school.contact_email:
                continue
            subject, body = school_message(county.name, school.name, kind, rows)
            _reserve_one(
                session,
                {
                    **base,
                    "target": code,
                    "school_code": code,
                    "township": rows[0]["township"],
                    "kind": kind,
                    "channel": "email",
                    "recipient": school.contact_email,
                    "subject": subject,
                    "body": body,
                    "items": rows,
                },
                result,
                retry_failed=retry_failed,
            )
    robots = [name for name in ("wecom", "dingtalk") if getattr(settings, name) is not None]
    if robots:
        target, scope_name = county_code, county.name
        if township is not None:
            tid = session.scalars(
                select(Township.id).where(Township.county_code == county_code, Township.name == township)
            ).first()
            target, scope_name = f"t{tid}", f"{county.name}{township}"
        title, text = digest_message(scope_name, day, items)
        for name in robots:
            _reserve_one(
                session,
                {**base, "target": target, "school_code": None, "township": township, "kind": "digest",
                 "channel": name, "recipient": f"{name} 群机器人", "subject": title, "body": text,
                 "items": [{k: i[k] for k in ("kind", "school_code", "school_name", "township")} for i in items]},
                result,
                retry_failed=retry_failed,
            )  # fmt: skip
    return result


# ------------------------------------------------------------------------------------------------ deliver


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    status: str  # sent | failed | skipped (sent already, or being sent by another)
    attempts: int
    error: str | None = None

    @property
    def retry(self) -> bool:
        """True when the attempt failed and another is allowed."""
        return self.status == "failed" and self.attempts < MAX_ATTEMPTS


@dataclass(frozen=True)
class _Message:
    county_code: str
    channel: str
    recipient: str
    subject: str
    body: str


def _send(message: _Message, settings: ChannelSettings) -> None:
    config = current_app.config
    timeout = float(config.get("REMINDER_TIMEOUT_SECONDS") or 10)
    if settings.paused:
        raise ch.DeliveryError("已暂停 / the county's channels are paused")
    if message.channel == "email":
        url = config.get("SMTP_URL")
        if not url:
            raise ch.DeliveryError("未配置 HOUQIN_SMTP_URL / no SMTP server configured")
        sender = config.get("MAIL_FROM") or "houqin@localhost"
        try:
            smtp = ch.parse_smtp_url(str(url), str(sender), timeout)
        except ValueError as exc:
            raise ch.DeliveryError(str(exc)) from None
        ch.send_email(smtp, message.recipient, message.subject, message.body)
    elif message.channel == "wecom":
        if settings.wecom is None:
            raise ch.DeliveryError("企业微信群机器人已移除 / the wecom robot was removed")
        ch.post_webhook(settings.wecom["url"], ch.wecom_payload(message.subject, message.body), timeout)
    elif message.channel == "dingtalk":
        if settings.dingtalk is None:
            raise ch.DeliveryError("钉钉群机器人已移除 / the dingtalk robot was removed")
        # DingTalk refuses a timestamp more than an hour from its own time: the machine's wall clock, not the
        # hub's (which a demo or a test may run elsewhere); it signs, it decides nothing
        stamp = int(time.time() * 1000)
        url = ch.dingtalk_url(settings.dingtalk["url"], settings.dingtalk.get("secret"), stamp)
        ch.post_webhook(url, ch.dingtalk_payload(message.subject, message.body), timeout)
    else:  # pragma: no cover - the table holds only these
        raise ch.DeliveryError(f"unknown channel {message.channel}")


def deliver(delivery_id: int) -> DeliveryOutcome:
    """Send one delivery, each phase its own short transaction: claim it (only one sender gets it; a delivery
    already sent, or being sent, is skipped), send with no transaction open, record the attempt.

    A sender that dies between the claim and the record leaves the delivery ``sending``: it is not sent again
    (a message that may have gone out is never repeated); the log shows it."""
    with db.transaction() as s:
        claimed = s.execute(  # type: ignore[attr-defined]  # an UPDATE's CursorResult has rowcount
            update(ReminderDelivery)
            .where(ReminderDelivery.id == delivery_id, ReminderDelivery.status.in_(("queued", "failed")))
            .values(status="sending", attempts=ReminderDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        row = s.get(ReminderDelivery, delivery_id)
        if row is None:
            return DeliveryOutcome(delivery_id, "skipped", 0)
        s.refresh(row)
        if not claimed:
            return DeliveryOutcome(delivery_id, "skipped", row.attempts)
        attempt = row.attempts
        message = _Message(row.county_code, row.channel, row.recipient, row.subject, row.body)
        settings = load_channels(s, row.county_code)
    error: str | None = None
    try:
        _send(message, settings)
    except ch.DeliveryError as exc:
        error = str(exc)
    except Exception as exc:  # anything unexpected is a failed attempt too, never a claim left behind
        error = f"{type(exc).__name__}: {exc}"[:300]
    status = "failed" if error else "sent"
    with db.transaction() as s:
        s.execute(
            update(ReminderDelivery)
            .where(ReminderDelivery.id == delivery_id)
            .values(status=status, last_error=error)
            .execution_options(synchronize_session=False)
        )
        s.add(
            ReminderAttempt(
                delivery_id=delivery_id, county_code=message.county_code, attempt=attempt, at=utcnow(),
                status=status, error=error,
            )
        )  # fmt: skip
    return DeliveryOutcome(delivery_id, status, attempt, error)


def counts(session: Session, delivery_ids: list[int]) -> dict[str, int]:
    """How the given deliveries stand now: ``sent``, ``failed`` and ``queued`` (not yet settled)."""
    out = {"sent": 0, "failed": 0, "queued": 0}
    if not delivery_ids:
        return out
    for status, n in session.execute(
        select(ReminderDelivery.status, func.count())
        .where(ReminderDelivery.id.in_(delivery_ids))
        .group_by(ReminderDelivery.status)
    ):
        key = status if status in ("sent", "failed") else "queued"
        out[key] += int(n)
    return out


# ------------------------------------------------------------------------------------------------ the log


def delivery_log(
    session: Session, county_code: str, *, township: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Every attempt of the county's deliveries, newest first (``GET .../reminders/log``); ``township``: only
    that township's schools' deliveries and its own digests. Deliveries not yet tried show as ``queued``."""
    q = (
        select(ReminderDelivery, ReminderAttempt)
        .outerjoin(ReminderAttempt, ReminderAttempt.delivery_id == ReminderDelivery.id)
        .where(ReminderDelivery.county_code == county_code)
        .order_by(func.coalesce(ReminderAttempt.at, ReminderDelivery.created_at).desc(), ReminderDelivery.id.desc())
        .limit(limit)
    )
    if township is not None:
        q = q.where(ReminderDelivery.township == township)
    out = []
    for d, a in session.execute(q):
        out.append(
            {
                "delivery_id": d.id,
                "school_code": d.school_code,
                "school_name": (d.items[0].get("school_name") if d.school_code and d.items else None),
                "township": d.township,
                "channel": d.channel,
                "to": d.recipient,
                "kind": d.kind,
                "day": d.day.isoformat(),
                "at": _iso(a.at if a is not None else d.created_at),
                "status": a.status if a is not None else d.status,
                "attempt": a.attempt if a is not None else 0,
                "error": a.error if a is not None else None,
                "subject": d.subject,
                "trigger": d.trigger,
            }
        )
    return out
