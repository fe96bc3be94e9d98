"""Reminder tables (issue 18): a county's channels, and every delivery of a reminder with each attempt.

A delivery is reserved (inserted) before anything is sent: its unique key (target, kind, channel, day) is what
keeps a school from getting the same kind of reminder twice a day on a channel, even when two beat processes
or a beat run and a 一键催报 race (the loser's insert fails and it sends nothing). Its status moves
``queued`` → ``sending`` (claimed by one sender) → ``sent`` or ``failed`` (retried with backoff while attempts
remain). Each try is appended to ``reminder_attempts`` (the log the API shows), never updated.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from district.db import Base, county_code, period_str, utc_datetime

CHANNELS = ("email", "wecom", "dingtalk")
KINDS = ("report_missing", "hazard_overdue", "report_returned", "digest")
STATUSES = ("queued", "sending", "sent", "failed")


class ReminderChannels(Base):
    """The channels a county's reminders go through (settings API ``channels``). The webhook URLs carry their
    robot's access token and DingTalk's signing secret, so they are kept sealed (the registry's Fernet box)."""

    __tablename__ = "reminder_channels"
    county_code: Mapped[county_code] = mapped_column(ForeignKey("counties.code"), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # sealed JSON {"wecom": {"url"} | null, "dingtalk": {"url", "secret"} | null}
    webhooks_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    updated_at: Mapped[utc_datetime]


class ReminderDelivery(Base):
    """One reminder message reserved for one target (a school, or the county for a group-robot digest)."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (
        UniqueConstraint("target", "kind", "channel", "day", name="uq_reminder_deliveries_once_a_day"),
        Index("ix_reminder_deliveries_county_day", "county_code", "day", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"))
    # a school's code (10 digits) or, for a county digest, the county's (6 digits)
    target: Mapped[str] = mapped_column(String(10))
    school_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    township: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    day: Mapped[dt.date] = mapped_column(Date)  # Asia/Shanghai day of the reservation
    recipient: Mapped[str] = mapped_column(String(254))  # e-mail address or the robot's name (never its URL)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    items: Mapped[list[Any]] = mapped_column(JSON)  # the reminders the message carries
    trigger: Mapped[str] = mapped_column(String(20))  # daily | manual | cli
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[utc_datetime]
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReminderAttempt(Base):
    """One try at sending a delivery: the log (``GET /api/v1/counties/<county>/reminders/log``)."""

    __tablename__ = "reminder_attempts"
    __table_args__ = (Index("ix_reminder_attempts_county_at", "county_code", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("reminder_deliveries.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[utc_datetime]
    status: Mapped[str] = mapped_column(String(10))  # sent | failed
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReminderList(Base):
    """The reminders of one county on one day (the daily job): missing reports and hazards past deadline."""

    __tablename__ = "reminder_lists"
    __table_args__ = (Index("ix_reminder_lists_county_day", "county_code", "day", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"))
    day: Mapped[dt.date] = mapped_column(Date)
    period: Mapped[period_str]  # the period whose report is asked for
    computed_at: Mapped[utc_datetime]
    items: Mapped[list[Any]] = mapped_column(JSON)
