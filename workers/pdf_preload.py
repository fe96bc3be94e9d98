"""Imported once by the render pool's forkserver (``workers.background``): WeasyPrint, fontconfig, Pango and the CJK
fonts loaded there, so every pool process forked from it starts with them instead of loading them for its first
PDF. A failure here only costs that time back (the pool processes load them themselves)."""

from __future__ import annotations

import logging

try:
    import district.app  # noqa: F401 - the app's modules, imported once for every pool process
    from district.printing import pdf

    pdf._warm_up()  # the module's own warm-up, run where the pool processes are forked from
except Exception:  # pragma: no cover - the forkserver must start whatever happens here
    logging.getLogger(__name__).exception("the PDF pool's warm-up failed")
