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
``zh``        a code; ``zh("school_type")`` or ``zh(mapping)``         its Chinese label
``field``     a JSON pointer into a report: ``"/nutrition/x"``      the field's Chinese label
============  ====================================================  ========================

Money and periods are checked by :mod:`houqin_standard` (the one place those rules live); this module only
adds display: thousands separators, Chinese month names, labels.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined

from district import clock
from district.calendar import round_half_up
from district.glossary import AUDIT_HEADING, TERMS
from district.printing.pdf import static_url
from houqin_standard import SHANGHAI, STANDARD_ID, format_money, parse_period
from houqin_standard.fields import ENUM_LABELS
from houqin_standard.fields import label as field_label

__all__ = ["DEFAULT_LABELS", "TEMPLATE_ROOT", "pdf_env", "render_html"]

#: ``templates/pdf/`` at the project root.
TEMPLATE_ROOT = Path(__file__).resolve().parents[2] / "templates" / "pdf"
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


def _absent(value: object) -> bool:
    """``None`` prints as a dash. An undefined variable is an error: Jinja hands filters the Undefined object
    without complaint, and ``str()`` is what makes a StrictUndefined raise (naming the variable)."""
    if isinstance(value, Undefined):
        str(value)
        return True  # a lenient Undefined from some other environment
    return value is None


def _check_type(value: object, what: str) -> Decimal | int | str:
    if isinstance(value, float):
        # Binary floats cannot hold fen exactly; money and ratios arrive as Decimal (Numeric(14, 2)).
        raise TypeError(f"{what} needs Decimal, int or str, not float ({value!r})")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{what} needs Decimal, int or str, not {type(value).__name__}")
    return value


def _decimal(value: object, what: str) -> Decimal:
    checked = _check_type(value, what)
    try:
        result = Decimal(checked)
    except InvalidOperation:
        raise ValueError(f"{what}: not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{what}: not a finite number: {value!r}")
    return result


def _grouped(value: Decimal, places: int) -> str:
    return f"{round_half_up(value, places):,.{places}f}"


def money(value: object) -> str:
    """Yuan with thousands separators and two decimals, half-up: ``Decimal("81900")`` → ``"81,900.00"``."""
    if _absent(value):
        return DASH
    # houqin_standard decides the rounding (half up to the fen) and what counts as an amount.
    return f"{Decimal(format_money(_check_type(value, 'money'))):,.2f}"


def num(value: object, places: int = 0) -> str:
    """A count or measure with thousands separators: ``12345`` → ``"12,345"``."""
    if _absent(value):
        return DASH
    return _grouped(_decimal(value, "num"), places)


def pct(value: object, places: int = 1) -> str:
    """A ratio as a percentage: ``Decimal("0.875")`` → ``"87.5%"``. Floats are fine: ratios are not money."""
    if _absent(value):
        return DASH
    ratio = Decimal(repr(value)) if isinstance(value, float) else _decimal(value, "pct")
    return f"{_grouped(ratio * 100, places)}%"


def _in_shanghai(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive time could be UTC (the database) or local (a school's PC); a printed guess is worse than
        # a failed render.
        raise ValueError(f"naive datetime {value.isoformat()} cannot be shown in Asia/Shanghai time")
    return value.astimezone(SHANGHAI)


def format_date(value: object) -> str:
    """``"2026-11-21"`` from a ``date``; an aware datetime is first converted to Asia/Shanghai."""
    if _absent(value):
        return DASH
    if isinstance(value, datetime):
        return _in_shanghai(value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"date needs a date or datetime, not {type(value).__name__}")


def format_datetime(value: object) -> str:
    """``"2026-11-21 14:05"`` in Asia/Shanghai, from an aware datetime."""
    if _absent(value):
        return DASH
    if not isinstance(value, datetime):
        raise TypeError(f"datetime needs a datetime, not {type(value).__name__}")
    return _in_shanghai(value).strftime("%Y-%m-%d %H:%M")


def period_zh(value: object) -> str:
    """``"2026-11"`` → ``"2026年11月"``."""
    if _absent(value):
        return DASH
    if not isinstance(value, str):
        raise TypeError(f"period needs a 'YYYY-MM' string, not {type(value).__name__}")
    year, month = parse_period(value)
    return f"{year}年{month}月"


def field_zh(path: object) -> str:
    """The Chinese label of a JSON pointer into a report: ``"/nutrition/meals_served"`` → ``"实际供餐人次"``."""
    if _absent(path):
        return DASH
    return field_label(str(path))[0]


def _make_zh(defaults: Mapping[object, str]) -> Callable[..., str]:
    def zh(value: object, labels: Mapping[object, str] | str | None = None) -> str:
        """The Chinese label for a code. ``labels`` is a mapping, or the name of one of the standard's enums
        (``houqin_standard.fields.ENUM_LABELS``: ``"school_type"``, ``"campus_status"``…); the
        environment's defaults are the fallback, then the code itself."""
        if _absent(value):
            return DASH
        if isinstance(labels, str):
            if labels not in ENUM_LABELS:
                raise ValueError(f"no enum {labels!r} in houqin_standard.fields.ENUM_LABELS")
            labels = {code: pair[0] for code, pair in ENUM_LABELS[labels].items()}
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
        field=field_zh,
    )
    env.globals["static_url"] = static_url
    env.globals["terms"] = dict(TERMS)
    env.globals["audit_heading"] = AUDIT_HEADING
    return env


@functools.lru_cache(maxsize=1)
def _default_env() -> Environment:
    return _build_env(DEFAULT_LABELS)


def pdf_env(labels: Mapping[object, str] | None = None) -> Environment:
    """The environment loading ``templates/pdf/``.

    Without ``labels`` it is one shared, cached instance (do not add to it); with ``labels`` a new one whose
    ``zh`` filter looks there before the defaults.
    """
    if labels is None:
        return _default_env()
    return _build_env({**DEFAULT_LABELS, **labels})


def render_html(template_name: str, /, **context: Any) -> str:
    """Render a PDF template to HTML (then :func:`~district.printing.pdf.render_pdf` it).

    ``generated_at`` defaults to now and ``standard_id`` to the report standard's id (for the audit appendix
    only); ``base.html`` also shows ``county`` and ``window`` when they are given, ``audit`` rows as the
    审计信息 appendix and ``verify_address`` in the footer.
    """
    context.setdefault("generated_at", clock.now().astimezone(SHANGHAI))
    context.setdefault("standard_id", STANDARD_ID)
    return pdf_env().get_template(template_name).render(**context)
