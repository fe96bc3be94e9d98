"""Which version of the report standard a county requires for a period (issue 20 item 1, STANDARD-v2.md).

The hub accepts ``houqin/monthly-report@1`` and ``@2``. A county may require @2 from a period on
(``houqin counties configure X --require-standard 2 --from YYYY-MM``, or the settings API's
``require_standard: {version, from}``); a @1 report for that period or later is then refused, 422
``standard_version_required``, with a Chinese message naming the version and the period. The one rule is
``required_version``: ingestion (through the same comparison in its context statement), the agent's
period state (``agent_state``) and the web path (``district.submission``) all ask it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from district.audit.services import record
from district.registry.models import County
from houqin_standard import STANDARDS, messages, standard_id, standard_version

#: The versions a county may require (1: no requirement beyond @1).
VERSIONS = (1, 2)


class RequirementError(ValueError):
    """A refused ``require_standard`` setting: ``code``, ``zh``/``en`` and the field (``path``) it names."""

    def __init__(self, path: str, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.path, self.code, self.zh, self.en = path, code, zh, en

    def message(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


def required_version(county: County, period: str) -> int:
    """The standard version ``county`` requires for ``period``: 2 from its ``require_standard_from`` on when it
    requires @2, else 1 (either version is accepted)."""
    return required_version_of(county.require_standard, county.require_standard_from, period)


def required_version_of(version: int | None, from_period: str | None, period: str) -> int:
    if version and from_period and period >= from_period:
        return version
    return 1


def requirement_view(county: County) -> dict[str, Any] | None:
    """The setting as the settings API shows it: ``{version, from}``, or ``None`` (no requirement)."""
    if not county.require_standard or not county.require_standard_from:
        return None
    return {"version": county.require_standard, "from": county.require_standard_from}


def parse_requirement(value: object) -> tuple[int, str] | None:
    """``{version, from}`` as the settings API gives it (``null``, or version 1, clears it); else
    ``RequirementError`` naming the field."""
    from district import calendar

    if value is None:
        return None
    if not isinstance(value, dict):
        raise RequirementError(
            "require_standard",
            "invalid_type",
            "require_standard 应为 {version, from} 或 null",
            "require_standard must be an object {version, from} or null",
        )
    unknown = sorted(str(k) for k in value if k not in ("version", "from"))
    if unknown:
        raise RequirementError(
            f"require_standard.{unknown[0][:40]}",
            "unsupported",
            f"require_standard 不支持“{unknown[0][:40]}”，只有 version 和 from",
            f"require_standard has no field {unknown[0][:40]!r} (only version and from)",
        )
    version = value.get("version")
    if type(version) is not int or version not in VERSIONS:
        raise RequirementError(
            "require_standard.version",
            "invalid_version",
            "require_standard.version 应为数据标准版本 1 或 2",
            "require_standard.version must be a standard version, 1 or 2",
        )
    if version == 1:
        return None
    try:
        period = calendar.check_period(value.get("from"), "require_standard.from")
    except calendar.WindowError as exc:
        raise RequirementError("require_standard.from", exc.code, exc.zh, exc.en) from None
    return version, period


def set_requirement(
    session: Session, county_code: str, requirement: tuple[int, str] | None, *, actor: str = "cli"
) -> County:
    """Require ``requirement`` = (version, from period) of the county's reports; ``None`` clears it. Audited as
    ``county.require_standard``. Reports already stored are untouched. ``LookupError`` for an unknown county."""
    county = session.get(County, county_code)
    if county is None:
        raise LookupError(county_code)
    version, from_period = requirement if requirement is not None else (None, None)
    previous = requirement_view(county)
    if (county.require_standard, county.require_standard_from) != (version, from_period):
        county.require_standard, county.require_standard_from = version, from_period
        record(
            session,
            actor=actor,
            action="county.require_standard",
            county_code=county_code,
            require_standard=requirement_view(county),
            previous_require_standard=previous,
        )
    session.flush()
    return county


def version_refusal(required: int, from_period: str, period: str, got: object) -> tuple[str, str] | None:
    """(zh, en) of the ``standard_version_required`` refusal of a report of standard ``got`` for ``period``
    when version ``required`` is required from ``from_period``; ``None`` when the report's version will do."""
    version = standard_version(got)
    if version is None or version >= required:
        return None
    return messages.render(
        "standard_version_required",
        required=standard_id(required),
        version=required,
        from_period=from_period,
        from_zh=_month_zh(from_period),
        period=period,
        period_zh=_month_zh(period),
        got=str(got),
    )


def _month_zh(period: str) -> str:
    """``2026-12`` → ``2026年12月``."""
    return f"{int(period[:4])}年{int(period[5:7])}月"


__all__ = [
    "STANDARDS",
    "VERSIONS",
    "RequirementError",
    "parse_requirement",
    "required_version",
    "required_version_of",
    "requirement_view",
    "set_requirement",
    "version_refusal",
]
