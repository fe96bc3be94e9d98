"""The dashboard's message catalogs (``district/translations/<lang>/LC_MESSAGES/messages.po`` and ``.mo``).

    python3 -m district.dashboard.catalogs update   # extract the strings, merge them into zh and en, compile
    python3 -m district.dashboard.catalogs compile  # .po → .mo only (after editing a translation)
    python3 -m district.dashboard.catalogs check    # what the test suite checks: complete, compiled, in sync

The compiled ``.mo`` files are committed, so a checkout runs without a build step; ``check`` fails when a
``.mo`` no longer matches its ``.po`` or a string of the pages has no Chinese translation.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from district.config import PROJECT_ROOT
from district.dashboard.i18n import TRANSLATIONS

LOCALES = ("zh", "en")
DOMAIN = "messages"
_METHODS = [
    ("district/auth/**.py", "python"),
    ("district/dashboard/**.py", "python"),
    ("templates/pages/**.html", "jinja2"),
]
_OPTIONS = {"templates/pages/**.html": {"extensions": "jinja2.ext.do", "newstyle_gettext": "true"}}
_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"


def extract() -> Catalog:
    """Every translatable string of the sign-in and dashboard code and templates."""
    template = Catalog(project="houqin", version="1", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PROJECT_ROOT), _METHODS, _OPTIONS, _KEYWORDS, strip_comment_tags=True
    ):
        if "catalogs.py" in filename:
            continue
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def read_catalog(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, domain=DOMAIN, project="houqin", version="1", charset="utf-8")
    with path.open("rb") as fh:
        return read_po(fh, locale=locale, domain=DOMAIN)


def write_catalog(catalog: Catalog, locale: str) -> None:
    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.fuzzy = False
    catalog.copyright_holder = "Houqin"
    catalog.msgid_bugs_address = ""
    catalog.last_translator = "Houqin"
    catalog.language_team = locale
    with path.open("wb") as fh:
        write_po(fh, catalog, width=110, no_location=True, omit_header=False, sort_output=True, include_previous=False)


def compile_catalog(locale: str) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, read_catalog(locale), use_fuzzy=False)
    return buf.getvalue()


def update() -> None:
    template = extract()
    for locale in LOCALES:
        catalog = read_catalog(locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        write_catalog(catalog, locale)
    compile_all()


def compile_all() -> None:
    for locale in LOCALES:
        mo_path(locale).write_bytes(compile_catalog(locale))


def check() -> list[str]:
    """Problems: strings without a Chinese translation, fuzzy entries, catalogs not compiled or out of date."""
    problems: list[str] = []
    wanted = {m.id for m in extract() if m.id}
    zh = read_catalog("zh")
    for msgid in sorted(wanted, key=str):
        entry = zh.get(msgid)
        if entry is None or not entry.string:
            problems.append(f"zh: no translation for {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"zh: fuzzy translation for {msgid!r}")
    for locale in LOCALES:
        path = mo_path(locale)
        if not path.exists():
            problems.append(f"{locale}: {path.name} is not compiled")
            continue
        with path.open("rb") as fh:
            compiled = {m.id: m.string for m in read_mo(fh) if m.id}
        source = {m.id: m.string for m in read_catalog(locale) if m.id and m.string and not m.fuzzy}
        if compiled != source:
            problems.append(f"{locale}: {path.name} does not match {po_path(locale).name}; run compile")
    return problems


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        problems = check()
        for p in problems:
            print(p)
        return 1 if problems else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
