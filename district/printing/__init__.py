"""The one PDF pipeline (PDF 生成): Jinja templates in ``templates/pdf/``, inline SVG charts, WeasyPrint. It
imports no domain package: the evaluation reports (``district.rendering``) and the fund report
(``district.nutrition``) both print through it.

Public names are re-exported here; see :mod:`.pdf` for the fetching and bounding rules.
"""

from district.printing.charts import bar_chart_svg, radar_chart_svg
from district.printing.pdf import (
    RenderError,
    RenderTimeout,
    RenderTooLarge,
    StaticURLFetcher,
    render_pdf,
    render_pdf_bounded,
    static_url,
)
from district.printing.templating import pdf_env, render_html

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
