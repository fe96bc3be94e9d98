"""``houqin nutrition``: the county 营养餐 fund report as a JSON, xlsx or PDF file.

    houqin nutrition --county 610528 --from 2026-09 --to 2026-11 --format xlsx
    → 610528_富平县_营养餐资金报表_2026-09_2026-11.xlsx in the current directory (``-o FILE`` to choose,
      ``-o -`` to write to standard output).

The same ``services.fund_report`` the API calls; the file holds exactly what the API would return.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

__all__ = ["nutrition", "register"]


@click.command("nutrition")
@click.option("--county", required=True, help="6-digit county code, e.g. 610528")
@click.option("--from", "period_from", required=True, metavar="YYYY-MM", help="first period of the window")
@click.option("--to", "period_to", required=True, metavar="YYYY-MM", help="last period of the window")
@click.option("--format", "fmt", type=click.Choice(["json", "xlsx", "pdf"]), default="json", show_default=True)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="language of messages and labels in json and xlsx (the PDF is Chinese)",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="file to write ('-' for standard output); default: the content-named file here",
)
def nutrition(county: str, period_from: str, period_to: str, fmt: str, lang: str, output: Path | None) -> None:
    """The 营养餐 fund report of a county over a window (from..to, inclusive)."""
    from district import calendar
    from district.cli_context import Context
    from district.db import db
    from district.nutrition import services
    from district.registry.models import County
    from district.reports import windows

    ctx = click.get_current_context().ensure_object(Context)
    with ctx.app.app_context():
        try:
            s = db.session()
            c = s.get(County, county)
            if c is None:
                raise LookupError(county)
            window = windows.resolve_window(s, c, period_from=period_from, period_to=period_to)
            report = services.fund_report(s, county, window.period_from, window.period_to)
        except calendar.WindowError as exc:
            raise click.UsageError(f"{exc.zh} / {exc.en}") from None
        except LookupError:
            click.echo(f"未登记的县 / unknown county: {county}", err=True)
            sys.exit(1)
    if fmt == "json":
        body = (json.dumps(report.to_dict(lang), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    elif fmt == "xlsx":
        from district.nutrition.xlsx import fund_report_xlsx

        body = fund_report_xlsx(report, lang)
    else:
        from district.nutrition.pdf import fund_report_pdf

        body = fund_report_pdf(report)
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    target = output or Path.cwd() / services.fund_report_filename(report, fmt)
    try:
        target.write_bytes(body)
    except OSError as exc:
        click.echo(f"无法写入 / cannot write {target}: {exc.strerror}", err=True)
        sys.exit(1)
    county_total = report.county.totals.to_dict()
    click.echo(
        f"{target}  {report.county_name}（{report.county_code}）{report.window_from}..{report.window_to}  "
        f"学校 {report.county.schools} 所  到账 {county_total['funds_received']}  "
        f"食材支出 {county_total['food_spend']}  异常 {len(report.anomalies)} 项  "
        f"未报送 {len(report.non_reporting)} 所"
    )


def register(main: click.Group) -> None:
    main.add_command(nutrition)
