"""The school registry: city → county → township → school, and school credentials."""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, LargeBinary, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from district.db import Base, county_code, school_code, utc_datetime

SCHOOL_TYPES = ("kindergarten", "primary", "junior", "nine_year", "senior", "complete_secondary", "teaching_point")


class City(Base):
    """市."""

    __tablename__ = "cities"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class County(Base):
    """县级行政区 with its reporting settings (deadline day, break months, subsidy standard)."""

    __tablename__ = "counties"
    code: Mapped[county_code] = mapped_column(primary_key=True)
    city_code: Mapped[str] = mapped_column(ForeignKey("cities.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    deadline_day: Mapped[int] = mapped_column(Integer, default=5)
    # months (1-12) schools are not expected to report, comma separated; summer break by default
    break_months: Mapped[str] = mapped_column(String(40), default="7,8")
    subsidy_standard: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2), default=decimal.Decimal("5.00"))
    campaign_start_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # 上线月份: the first period collected through the hub (YYYY-MM); unset, the earliest accepted report's period
    reporting_start: Mapped[str | None] = mapped_column(String(7), nullable=True)
    sample_grams: Mapped[int] = mapped_column(Integer, default=125)
    sample_hours: Mapped[int] = mapped_column(Integer, default=48)
    rubric_id: Mapped[int | None] = mapped_column(ForeignKey("rubrics.id"), nullable=True)
    # the report standard version (2: houqin/monthly-report@2) required from ``require_standard_from`` (YYYY-MM)
    # on; unset, either version is accepted (issue 20 item 1, ``reports.standards``)
    require_standard: Mapped[int | None] = mapped_column(Integer, nullable=True)
    require_standard_from: Mapped[str | None] = mapped_column(String(7), nullable=True)

    city: Mapped[City] = relationship()

    @property
    def break_month_set(self) -> frozenset[int]:
        return frozenset(int(m) for m in self.break_months.split(",") if m.strip())


class Township(Base):
    """学区 / 乡镇中心校: a name unique inside its county."""

    __tablename__ = "townships"
    __table_args__ = (UniqueConstraint("county_code", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # the county's official order of its townships (1, 2, …; a county setting); unset: after the ordered ones,
    # by pinyin (``registry.services.township_order``)
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)


class School(Base):
    """学校, identified by its 10-digit 学校标识码. Active from ``opened`` to ``closed`` (inclusive, by month)."""

    __tablename__ = "schools"
    code: Mapped[school_code] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"), index=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    boarding: Mapped[bool] = mapped_column(Boolean, default=False)
    opened: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    closed: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    merged_into: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # the school's contact for reminders (registry import columns; issue 18): validated on import
    contact_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)

    county: Mapped[County] = relationship()
    township: Mapped[Township] = relationship()

    def active_in(self, period: str) -> bool:
        """True when the school's active range covers the month ``period`` (YYYY-MM): the calendar's rule."""
        from district.calendar import in_active_range

        return in_active_range(self.opened, self.closed, period)


class Credential(Base):
    """A school's signing secret, encrypted at rest with the server key (the database alone cannot give it back).

    Rotating appends a new row and revokes the old one; at most one row per school is unrevoked.
    """

    __tablename__ = "credentials"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"), index=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[utc_datetime]
    revoked_at: Mapped[utc_datetime | None] = mapped_column(nullable=True)


class Rubric(Base):
    """A loaded rubric file (data, not code): the default or a county's own. Rankings record which made them."""

    __tablename__ = "rubrics"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(80), unique=True)
    source: Mapped[str] = mapped_column(String)  # the file's text, kept verbatim
    loaded_at: Mapped[utc_datetime]
    county_code: Mapped[str | None] = mapped_column(String(6), nullable=True)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Rubric {self.version}>"
