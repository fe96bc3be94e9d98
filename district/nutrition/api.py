"""HTTP edge of the 营养餐 fund report: ``GET /api/v1/counties/<county>/nutrition?from=&to=[&format=]``.

Parse, call ``services.fund_report`` once, render that one ``FundReport`` as JSON (``to_dict``), xlsx
(``xlsx.fund_report_xlsx``) or PDF (``pdf.fund_report_pdf``). Check order: 401 (no bureau user) → 404
(county outside the user's scope, or unknown) → 400 (bad window or format).

The PDF is rendered inside the request, bounded (``render_pdf_bounded``: ``NUTRITION_PDF_TIMEOUT_S``, default
120 s, and ``NUTRITION_PDF_MAX_MB``, default 1024 MiB); past either bound the answer is 503 ``pdf_timeout`` or
``pdf_too_large``. WeasyPrint lays out some 100 table rows a second, so a county of a few hundred schools
over a term fits; the CLI has no bound. The fund page does not use this blocking PDF: it asks for the same PDF as
a job, ``POST /api/v1/counties/<county>/nutrition/pdf`` (``district.rendering.api``; the download centre lists
it); this GET stays for API clients (API.md).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from district import calendar
from district.db import db
from district.nutrition import services
from district.nutrition.engine import FundReport
from district.registry.models import County
from district.reports import windows
from district.web.auth import bureau_required, require_county
from district.web.errors import ApiError, lang

bp = Blueprint("nutrition_api", __name__, url_prefix="/api/v1")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("json", "xlsx", "pdf")


def attachment(report: FundReport, extension: str, body: bytes, mimetype: str) -> Response:
    """The file as a download named for its content: an ASCII ``filename`` for old clients and the UTF-8
    name as RFC 5987 / RFC 6266 ``filename*``."""
    utf8_name = services.fund_report_filename(report, extension)
    ascii_name = services.fund_report_filename(report, extension, ascii_only=True)
    resp = current_app.response_class(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"
    )
    resp.headers["Cache-Control"] = "private, no-store"  # audit figures of a county: never in a shared cache
    return resp


@bp.get("/counties/<county>/nutrition")
@bureau_required
def county_nutrition(county: str) -> Any:
    user = require_county(county)
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(400, "invalid_format", "format 应为 json、xlsx 或 pdf / format must be json, xlsx or pdf")
    s = db.session()
    c = s.get(County, county)
    if c is None:
        raise ApiError(404, "not_found", "未找到 / not found")
    try:
        # the reporting calendar's window (from/to, year or school_year; by default the latest closed
        # period's year), clipped to the county's reporting start and capped at its latest closed period
        window = windows.window_from_args(s, c, request.args)
        from district.auth.services import school_filter

        report = services.fund_report(  # a township_admin: its township's rows and totals (issue 18)
            s, county, window.period_from, window.period_to, schools_where=school_filter(user)
        )
    except calendar.WindowError as exc:
        raise ApiError(400, exc.code, f"{exc.zh} / {exc.en}") from None
    except LookupError:
        raise ApiError(404, "not_found", "未找到 / not found") from None
    if fmt == "xlsx":
        from district.nutrition.xlsx import fund_report_xlsx

        return attachment(report, "xlsx", fund_report_xlsx(report, lang()), XLSX_MIMETYPE)
    if fmt == "pdf":
        from district.nutrition.pdf import fund_report_pdf
        from district.printing import RenderError, RenderTimeout, RenderTooLarge

        try:
            pdf = fund_report_pdf(
                report,
                bounded=True,
                timeout_s=current_app.config.get("NUTRITION_PDF_TIMEOUT_S", 120),
                max_rss_mb=current_app.config.get("NUTRITION_PDF_MAX_MB", 1024),
            )
        except (RenderTimeout, RenderTooLarge) as exc:
            code = "pdf_timeout" if isinstance(exc, RenderTimeout) else "pdf_too_large"
            raise ApiError(
                503,
                code,
                "报表过大，请缩短统计期间后重试，或用 houqin nutrition 命令生成 / the PDF is too large "
                "for a request: ask for a shorter window, or make it with the houqin nutrition command",
            ) from None
        except RenderError as exc:
            current_app.logger.error("fund report PDF for %s failed: %s", county, exc)
            raise ApiError(500, "pdf_failed", "生成 PDF 失败 / PDF rendering failed") from None
        return attachment(report, "pdf", pdf, "application/pdf")
    return jsonify(report.to_dict(lang()))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
