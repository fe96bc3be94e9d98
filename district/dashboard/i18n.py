"""The dashboard's language and display rules: Flask-Babel (zh by default, English on request), times in
Asia/Shanghai, money from Decimal with 2 places.

Message ids are English; ``district/translations/zh`` translates every one of them (a test checks that the
catalog is complete and that the committed ``.mo`` files match their ``.po``), ``en`` is the identity.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import flask_babel
from flask import Flask, session
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from district.calendar import round_half_up
from houqin_standard import ENUM_LABELS, SHANGHAI
from houqin_standard.fields import label as field_label

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"


def select_locale() -> str:
    """The language chosen in this browser session, else the signed-in user's saved choice, else Chinese."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    from district.api.auth import current_user

    user = current_user()
    if user is not None and user.language in LANGUAGES:
        return user.language
    return DEFAULT_LANGUAGE


def lang() -> str:
    """``"zh"`` or ``"en"``: which of the standard's bilingual labels to show."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def init_babel(app: Flask) -> None:
    """Attach Flask-Babel once (both the auth and the dashboard modules call this) and the display filters."""
    if app.extensions.get("houqin_pages"):
        return
    app.extensions["houqin_pages"] = True
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    if "babel" not in app.extensions:
        Babel(app, locale_selector=select_locale)
    # Flask-Babel caches the locale on the app context; requests that share one (a test holding a context
    # open) must still each choose their own language.
    app.before_request(flask_babel.refresh)
    app.jinja_env.filters.update(
        money=format_money_display,
        shanghai=format_shanghai,
        shanghai_date=format_shanghai_date,
        percent=format_rate,
        enum_label=enum_label,
        field_label=localized_field_label,
        exact=format_exact,
        # the engine writes its figures' names and notes in English: the same Chinese labelling as the PDFs
        inputs_zh=_inputs_zh,
        note_zh=_note_zh,
    )
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        ui_lang=lang,
        role_label=role_label,
        status_label=status_label,
        flag_label=flag_label,
        anomaly_name=anomaly_name,
        js_messages=js_messages,
    )

    @app.context_processor
    def _page_context() -> dict[str, Any]:
        from district.api.auth import current_user

        return {"me": current_user()}


# ---------------------------------------------------------------- display filters


def format_money_display(value: Any) -> str:
    """``Decimal("81900")`` or ``"81900.00"`` → ``"81,900.00"``; None → ``"—"``. Never through a float."""
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{round_half_up(amount, 2):,.2f}"


def format_shanghai(value: dt.datetime | None, with_seconds: bool = False) -> str:
    """An aware datetime shown in Asia/Shanghai (the bureau's clock), e.g. ``2026-10-03 16:05``."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the display filter")
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def format_shanghai_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).date().isoformat()
    return value.isoformat()


def format_exact(value: Any, places: int = 2) -> Markup:
    """An exact figure of the scoring engine (``"916.2"`` or ``"p/q"``) for reading: a terminating decimal as
    it is, a fraction as ``≈ 86.17`` with the exact value in the tooltip. Display only; nothing is computed."""
    if value is None or value == "":
        return Markup("—")
    text = str(value)
    if "/" not in text:
        return Markup.escape(text)
    try:
        approx = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return Markup.escape(text)
    shown = round_half_up(approx, places)
    return Markup('<abbr title="{}">≈ {}</abbr>').format(text, shown)


def format_rate(value: Any, places: int = 1) -> str:
    """A rate string such as ``"0.9500"`` (or a Decimal) → ``"95.0%"``; None → ``"—"``."""
    if value is None or value == "":
        return "—"
    try:
        rate = Decimal(value) * 100
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{round_half_up(rate, places)}%"


def enum_label(code: str | None, enum_name: str) -> str:
    """The standard's label of an enum value in the page's language (unknown values shown as they are)."""
    if code is None:
        return "—"
    pair = ENUM_LABELS.get(enum_name, {}).get(code)
    if pair is None:
        return code
    return pair[1] if lang() == "en" else pair[0]


def localized_field_label(path: str) -> str:
    zh, en = field_label(path)
    return en if lang() == "en" else zh


def role_label(role: str) -> str:
    labels = {
        "city_admin": _("City administrator"),
        "county_admin": _("County administrator"),
        "county_viewer": _("County viewer"),
        "school_viewer": _("School viewer"),
    }
    return labels.get(role, role)


def status_label(status: str | None) -> str:
    """The scoring engine's own label of a status (达标, 未达标, 数据不全, 一票否决)."""
    if not status:
        return "—"
    from district.scoring.engine import STATUS_LABELS

    pair = STATUS_LABELS.get(status)
    if pair is None:
        return status
    return pair[1] if lang() == "en" else pair[0]


def flag_label(flag: str) -> str:
    """``awaiting_inspection``, ``missing:2026-03``, ``veto:poisoning_incidents=1`` in words."""
    if flag == "awaiting_inspection":
        return _("Awaiting inspection")
    if flag.startswith("missing:"):
        return _("Missing %(period)s", period=flag.split(":", 1)[1])
    if flag.startswith("veto:"):
        name, _sep, value = flag.split(":", 1)[1].partition("=")
        section = next((s for s in ("food_safety", "safety", "finance") if _known(f"/{s}/{name}")), None)
        label = localized_field_label(f"/{section}/{name}") if section else name
        return _("Veto: %(what)s = %(n)s", what=label, n=value)
    return flag


def _known(path: str) -> bool:
    zh, _en = field_label(path)
    return zh != path


def anomaly_name(code: str) -> str:
    from district.nutrition.anomalies import ANOMALY_CODES

    name = ANOMALY_CODES.get(code)
    if name is None:
        return code
    return name.en if lang() == "en" else name.zh


def js_messages() -> dict[str, str]:
    """The few words the dashboard's scripts show, in the page's language."""
    return {
        "loading": _("Loading…"),
        "explain_failed": _("The explanation could not be loaded."),
        "job": _("PDF job"),
        "job_starting": _("Starting…"),
        "job_failed": _("The PDF job failed:"),
        "state_queued": _("queued"),
        "state_pending": _("queued"),
        "state_running": _("running"),
        "state_done": _("done"),
        "state_succeeded": _("done"),
        "state_failed": _("failed"),
    }


def _inputs_zh(inputs: Any) -> list[tuple[str, str]]:
    from district.rendering.evaluation import inputs_zh

    return inputs_zh(inputs)


def _note_zh(note: str) -> str:
    from district.rendering.evaluation import note_zh

    return note_zh(note)
