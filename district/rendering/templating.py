"""The Jinja2 environment for PDF templates (``templates/pdf/``) and the display filters they share.

Autoescape is on for every template: report data (school names, remarks typed by a school) is untrusted and
must reach WeasyPrint as text, never as markup. Undefined variables are errors, so a renamed field fails the
render instead of printing an empty cell on a signed report.

Filters (all return ``"—"`` for ``None``):

============  ====================================================  ========================
filter        input                                                 output
============  ====================================================  ========================
``money``     ``Decimal``/``int``/``str`` yuan (never ``float``)     ``"81,900.00"``
``num``       integer or ``Decimal`` count                          ``"12,345"`` (``num(1)`` → one decimal)
``pct``       a *ratio*: ``Decimal("0.875")``                       ``"87.5%"`` (``pct(0)`` → ``"88%"``)
``date``      ``date`` or aware ``datetime``                        ``"2026-11-21"`` (Asia/Shanghai)
``datetime``  aware ``datetime``                                    ``"2026-11-21 14:05"`` (Asia/Shanghai)
``period``    ``"2026-11"``                                         ``"2026年11月"``
``zh``        a code, optionally with a mapping                     its Chinese label
============  ====================================================  ========================
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from district.rendering.pdf import static_url

__all__ = ["DEFAULT_LABELS", "TEMPLATE_ROOT", "pdf_env", "render_html"]

#: ``templates/pdf/`` at the project root.
TEMPLATE_ROOT = Path(__file__).resolve().parents[2] / "templates" / "pdf"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DASH = "—"

#: Labels every report can use; a template passes its own mapping for domain codes: ``x|zh(status_labels)``.
#: Booleans print as 是/否 (not via this table: ``1 == True`` would turn the count 1 into "是").
DEFAULT_LABELS: Mapping[object, str] = {
    "ok": "正常",
    "warning": "提醒",
    "error": "错误",
    "missing": "未报送",
    "late": "逾期",
    "on_time": "按时",
}


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, float):
        # Binary floats cannot hold fen exactly; money and ratios arrive as Decimal (Numeric(14, 2)).
        raise TypeError(f"{what} needs Decimal, int or str, not float ({value!r})")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{what} needs Decimal, int or str, not {type(value).__name__}")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{what}: not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{what}: not a finite number: {value!r}")
    return result


def _grouped(value: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return f"{value.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"


def money(value: object) -> str:
    """Yuan with thousands separators and two decimals, half-up: ``Decimal("81900")`` → ``"81,900.00"``."""
    if value is None:
        return DASH
    return _grouped(_decimal(value, "money"), 2)


def num(value: object, places: int = 0) -> str:
    """A count or measure with thousands separators: ``12345`` → ``"12,345"``."""
    if value is None:
        return DASH
    return _grouped(_decimal(value, "num"), places)


def pct(value: object, places: int = 1) -> str:
    """A ratio as a percentage: ``Decimal("0.875")`` → ``"87.5%"``. Floats are accepted (ratios are not money)."""
    if value is None:
        return DASH
    ratio = Decimal(repr(value)) if isinstance(value, float) else _decimal(value, "pct")
    return f"{_grouped(ratio * 100, places)}%"


def _in_shanghai(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive time could be UTC (the database) or local (a school's PC); printing a guess is worse than failing.
        raise ValueError(f"naive datetime {value.isoformat()} cannot be shown in Asia/Shanghai time")
    return value.astimezone(SHANGHAI)


def format_date(value: date | datetime | None) -> str:
    """``"2026-11-21"``; an aware datetime is first converted to Asia/Shanghai."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        value = _in_shanghai(value).date()
    return value.isoformat()


def format_datetime(value: datetime | None) -> str:
    """``"2026-11-21 14:05"`` in Asia/Shanghai, from an aware datetime."""
    if value is None:
        return DASH
    return _in_shanghai(value).strftime("%Y-%m-%d %H:%M")


def period_zh(value: str | None) -> str:
    """``"2026-11"`` → ``"2026年11月"``."""
    if value is None:
        return DASH
    year, sep, month = value.partition("-")
    if not (sep and year.isdigit() and month.isdigit() and len(year) == 4 and 1 <= int(month) <= 12):
        raise ValueError(f"not a period YYYY-MM: {value!r}")
    return f"{year}年{int(month)}月"


def _make_zh(defaults: Mapping[object, str]):
    def zh(value: object, labels: Mapping[object, str] | None = None) -> str:
        """The Chinese label for a code: the given mapping first, then the environment's defaults."""
        if value is None:
            return DASH
        try:
            if labels is not None and value in labels:
                return labels[value]
            if isinstance(value, bool):
                return "是" if value else "否"
            if value in defaults:
                return defaults[value]
        except TypeError:  # unhashable value: no label
            pass
        return str(value)

    return zh


def _build_env(labels: Mapping[object, str]) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_ROOT),
        # On for every template, not only *.html: a PDF template is HTML whatever its name.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money,
        num=num,
        pct=pct,
        date=format_date,
        datetime=format_datetime,
        period=period_zh,
        zh=_make_zh(labels),
    )
    env.globals["static_url"] = static_url
    return env


@functools.lru_cache(maxsize=1)
def _default_env() -> Environment:
    return _build_env(DEFAULT_LABELS)


def pdf_env(labels: Mapping[object, str] | None = None) -> Environment:
    """The environment loading ``templates/pdf/``. Without ``labels`` it is one shared, cached instance
    (do not add to it); with ``labels`` a new one whose ``zh`` filter falls back to them, then the defaults."""
    if labels is None:
        return _default_env()
    return _build_env({**DEFAULT_LABELS, **labels})


def render_html(template_name: str, /, **context: Any) -> str:
    """Render a PDF template to HTML (then :func:`~district.rendering.pdf.render_pdf` it).

    ``generated_at`` defaults to now; ``base.html`` also shows ``county``, ``window`` and ``standard_id`` when
    they are given.
    """
    context.setdefault("generated_at", datetime.now(SHANGHAI))
    return pdf_env().get_template(template_name).render(**context)
