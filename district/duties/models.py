"""A county's 后勤行事历 versions and their tasks. Appended, never updated: a month's report is judged by the
version in force when it arrived (``report_revisions.calendar_version_id``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from district.db import Base, utc_datetime


class DutyCalendarVersion(Base):
    """One loaded calendar of a county: version 1, 2, … per county; the highest is in force."""

    __tablename__ = "duty_calendar_versions"
    __table_args__ = (UniqueConstraint("county_code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[utc_datetime]  # the hub clock's, UTC
    loaded_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))  # the file's name as given


class DutyTask(Base):
    """One task of one calendar version: ``months`` (1–12) it is due in, its title and category."""

    __tablename__ = "duty_tasks"
    __table_args__ = (UniqueConstraint("version_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("duty_calendar_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the file's order
    code: Mapped[str] = mapped_column(String(20))
    months: Mapped[list[Any]] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
