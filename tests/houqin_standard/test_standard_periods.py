"""Periods and deadlines (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from houqin_standard import (
    SHANGHAI,
    current_period,
    format_period,
    parse_period,
    period_add,
    period_deadline,
    periods_between,
    today_shanghai,
)


def test_parse_and_format() -> None:
    assert parse_period("2026-09") == (2026, 9)
    assert format_period(2026, 9) == "2026-09"
    for bad in ["2026-9", "2026-13", "2026-00", "26-09", "2026-09-01", "２０２６-０９", "", "0000-01"]:
        with pytest.raises(ValueError):
            parse_period(bad)
    with pytest.raises(ValueError):
        format_period(2026, 13)


def test_period_add_and_between() -> None:
    assert period_add("2026-11", -3) == "2026-08"
    assert period_add("2026-12", 1) == "2027-01"
    assert period_add("2026-01", -1) == "2025-12"
    assert period_add("2026-01", 24) == "2028-01"
    assert periods_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert periods_between("2026-09", "2026-09") == ["2026-09"]
    assert periods_between("2026-10", "2026-09") == []


def test_deadline_is_fifth_of_next_month_shanghai_in_utc() -> None:
    d = period_deadline("2026-12")
    assert d == datetime(2027, 1, 5, 15, 59, 59, tzinfo=UTC)
    assert d.utcoffset() is not None and d.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert d.astimezone(SHANGHAI).replace(tzinfo=None) == datetime(2027, 1, 5, 23, 59, 59)
    assert period_deadline("2026-09") == datetime(2026, 10, 5, 15, 59, 59, tzinfo=UTC)


def test_deadline_day_is_configurable_and_clamped() -> None:
    assert period_deadline("2026-09", 10) == datetime(2026, 10, 10, 15, 59, 59, tzinfo=UTC)
    assert period_deadline("2027-01", 31) == datetime(2027, 2, 28, 15, 59, 59, tzinfo=UTC)
    assert period_deadline("2028-01", 31) == datetime(2028, 2, 29, 15, 59, 59, tzinfo=UTC)
    assert period_deadline("2026-03", 31) == datetime(2026, 4, 30, 15, 59, 59, tzinfo=UTC)
    assert period_deadline("2026-09", 0) == datetime(2026, 10, 1, 15, 59, 59, tzinfo=UTC)


def test_today_in_shanghai() -> None:
    # 2026-11-20 16:30 UTC is already 2026-11-21 00:30 in Shanghai
    assert today_shanghai(datetime(2026, 11, 20, 16, 30, tzinfo=UTC)) == date(2026, 11, 21)
    assert today_shanghai(datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == date(2026, 12, 1)
    assert current_period(date(2026, 11, 21)) == "2026-11"
    assert parse_period(current_period())
