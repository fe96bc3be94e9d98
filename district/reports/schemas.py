"""Request bodies of the reports' endpoints (``district.web.schemas``): the note of a period's lock or unlock
(``POST /api/v1/periods/<county>/<period>/lock|unlock``). Whether the period may be locked is
``reports.approval.set_lock``'s rule."""

from __future__ import annotations

from district.web.schemas import Schema, String

#: ``{"note": "…"}``, ``{"note": null}`` or no body: one line or several, no control characters or bidi overrides.
PERIOD_NOTE = Schema({"note": String(nullable=True, text="multiline", label=("备注", "note"))})
