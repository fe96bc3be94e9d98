"""The dashboard's language and display rules: Flask-Babel (zh by default, English on request), times in
Asia/Shanghai, money from Decimal with 2 places.

Message ids are English; ``district/translations/zh`` translates every one of them (a test checks that the
catalog is complete and that the committed ``.mo`` files match their ``.po``), ``en`` is the identity.
"""

from __future__ import annotations

import datetime as dt
import re
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
    from district.web.auth import current_user

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
        month_label=format_month,
        day_label=format_day,
        percent=format_rate,
        enum_label=enum_label,
        field_label=localized_field_label,
        exact=format_exact,
    )
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        ui_lang=lang,
        role_label=role_label,
        status_label=status_label,
        flag_label=flag_label,
        explain_row=explain_row,
        anomaly_name=anomaly_name,
        js_messages=js_messages,
        issue_text=issue_text,
        grade_label=grade_label,
        alert_tail=alert_tail,
    )

    @app.context_processor
    def _page_context() -> dict[str, Any]:
        from district.web.auth import current_user

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


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_month(period: str | None) -> str:
    """A period as people write it: ``2026年11月`` (zh), ``Nov 2026`` (en); what is not a period is shown as given."""
    if not period or len(period) != 7 or period[4] != "-" or not (period[:4] + period[5:]).isdigit():
        return period or "—"
    month = int(period[5:])
    if not 1 <= month <= 12:
        return period
    if lang() == "en":
        return f"{_MONTHS_EN[month - 1]} {period[:4]}"
    return f"{period[:4]}年{month}月"


def format_day(value: dt.date | str | None) -> str:
    """A day as people write it: ``2026年10月5日`` (zh), ``5 Oct 2026`` (en); what is not a day is shown as given."""
    if value is None or value == "":
        return "—"
    day = value
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value
    assert isinstance(day, dt.date)
    if lang() == "en":
        return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


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
        "school_clerk": _("School clerk"),
        "township_admin": _("Township administrator"),
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
    """``awaiting_inspection``, ``missing:2026-03``, ``veto:poisoning_incidents=1`` in words: the one catalog of
    explanations (``district.scoring.explain_text``), shared with the PDFs and the xlsx."""
    from district.scoring.explain_text import flag_text

    return flag_text(flag, lang())


def explain_row(row: Any) -> Any:
    """An indicator row's sentence, formula and figures in the page's language (``explain_text.render_row``)."""
    from district.scoring.explain_text import render_row

    return render_row(row, lang())


def grade_label(grade: str | None) -> str:
    """A grade (等级) as the engine stores it (the rubric's Chinese name) in the page's language: the default
    rubric's English names (Excellent, Good, Pass, Fail); a county rubric's other grade is shown as it is."""
    if not grade:
        return "—"
    if lang() != "en":
        return grade
    return _grades_en().get(grade, grade)


def _grades_en() -> dict[str, str]:
    global _GRADES_EN
    if _GRADES_EN is None:
        from district.scoring.rubric import load_default_rubric

        _GRADES_EN = {g.zh: g.en for g in load_default_rubric().grades}
    return _GRADES_EN


_GRADES_EN: dict[str, str] | None = None


def alert_tail(alert: Any) -> str:
    """What an alert (重大预警, ``district.alerts``) says after the school's name, in the page's language: the
    alert's own Chinese sentence, or in English the same facts from its figures (the hazard's description is the
    school's own text and stays out of the English line; its category says what it is)."""
    get = alert.get if isinstance(alert, dict) else lambda k, d=None: getattr(alert, k, d)
    name, message = get("name") or "", get("message") or ""
    if lang() != "en":
        return message[len(name) :] if message.startswith(name) else f"：{message}"
    figures = get("figures") or {}
    month = format_month(get("period"))
    kind = get("kind")
    if kind == "veto":
        cause = get("cause") or ""
        return f": {_field_en(cause)} {figures.get(cause, '')} in {month}; vetoed, not ranked this year"
    if kind == "overdue_major_hazard":
        category = enum_label(figures.get("category"), "hazard_category")
        return (
            f": major hazard {figures.get('ref', '')} ({category}), deadline {format_day(figures.get('deadline'))}, "
            f"{figures.get('days_overdue', '')} days overdue"
        )
    if kind == "misuse":
        spent = figures.get("other_spend")
        money = f" {format_money_display(spent)} yuan" if spent is not None else ""
        return f": nutrition subsidy spent on anything but food in {month}{money} (misuse of subsidy funds)"
    return f": {message}"


def _field_en(leaf: str) -> str:
    from houqin_standard.fields import SECTIONS_V2

    for section in SECTIONS_V2:
        for f in section.fields:
            if f.key == leaf:
                return f.label_en
    return leaf.replace("_", " ")


_POINTER_NOTE = re.compile(r"\s?[（(]/[A-Za-z0-9_/~.-]+[）)]")


def issue_text(issue: dict[str, Any]) -> str:
    """A stored validation issue (``{path, code, zh, en}``) as the bureau's pages show it: in the page's language,
    without the JSON pointer the standard adds for the clerk's agent (``（/nutrition/other_spend）``): the field's
    label already names it."""
    text = str(issue.get("en") if lang() == "en" else issue.get("zh") or "")
    return _POINTER_NOTE.sub("", text)


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
