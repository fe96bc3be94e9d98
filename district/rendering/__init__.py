"""Evaluation reports (评估报告), PDF jobs and their parts, inspection sheets, ``/verify/<sha256>``; they print
through the one pipeline, ``district.printing``, whose public names are re-exported here."""

from district.printing import (
    RenderError,
    RenderTimeout,
    RenderTooLarge,
    StaticURLFetcher,
    bar_chart_svg,
    pdf_env,
    radar_chart_svg,
    render_html,
    render_pdf,
    render_pdf_bounded,
    static_url,
)

__all__ = [
    "RenderError",
    "RenderTimeout",
    "RenderTooLarge",
    "StaticURLFetcher",
    "bar_chart_svg",
    "pdf_env",
    "radar_chart_svg",
    "render_html",
    "render_pdf",
    "render_pdf_bounded",
    "static_url",
]
