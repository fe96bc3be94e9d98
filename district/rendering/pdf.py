"""Kept for the callers that still import it from here: the module is ``district.printing.pdf`` (the one PDF
pipeline, below the evaluation reports and the fund report). New code imports it from there."""

from district.printing.pdf import (
    DEFAULT_BASE_URL,
    SCHEME,
    STATIC_ROOT,
    RenderError,
    RenderTimeout,
    RenderTooLarge,
    StaticURLFetcher,
    URLRefused,
    render_pdf,
    render_pdf_bounded,
    static_url,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "SCHEME",
    "STATIC_ROOT",
    "RenderError",
    "RenderTimeout",
    "RenderTooLarge",
    "StaticURLFetcher",
    "URLRefused",
    "render_pdf",
    "render_pdf_bounded",
    "static_url",
]
