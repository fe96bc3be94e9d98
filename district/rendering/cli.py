"""``houqin pdf``: evaluation reports (评估报告) from the command line, the same job rows the API makes.

    houqin pdf school 6105280001 --year 2026 -o out/
    houqin pdf county 610528 --from 2026-03 --to 2026-10 -o out/

The job is planned, started and rendered here, part by part, with a progress bar (the renders are bounded as
on the workers); the files are registered (``/verify/<sha256>`` knows them) and copied to ``-o DIR``
(default: the current directory). Exit status 1 when a part failed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["pdf_group", "register"]


def _app() -> Any:
    from district import cli_context

    return cli_context.app()


@click.group("pdf")
def pdf_group() -> None:
    """Evaluation reports as PDF (one school, or a county's batch with its summary and a zip)."""


def _window_options(fn: Any) -> Any:
    fn = click.option("--to", "period_to", metavar="YYYY-MM", help="last period of the window")(fn)
    fn = click.option("--from", "period_from", metavar="YYYY-MM", help="first period of the window")(fn)
    fn = click.option("--year", type=int, help="the year (Y-01 .. the latest period past its deadline)")(fn)
    return click.option(
        "-o",
        "--output",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="directory to copy the files to",
    )(fn)


def _run(county_code: str, school_code: str | None, year: int | None, period_from: str | None,
         period_to: str | None, output: Path) -> None:  # fmt: skip
    from district import calendar
    from district.db import db
    from district.registry.models import County
    from district.rendering import jobs
    from district.rendering.models import PdfJob
    from district.reports import windows

    if year is None and not (period_from and period_to):
        raise click.UsageError("give --year Y, or --from YYYY-MM --to YYYY-MM")
    app = _app()
    with app.app_context():
        with db.transaction() as s:
            county = s.get(County, county_code)
            if county is None:
                raise click.UsageError(f"未登记的县 / unknown county: {county_code}")
            try:
                window = windows.resolve_window(s, county, period_from=period_from, period_to=period_to, year=year)
                job = jobs.create_job(
                    s,
                    county_code,
                    window,
                    requested_by="cli",
                    school_code=school_code,
                    year=year,
                    verify_base=app.config.get("PUBLIC_URL"),
                )
            except calendar.WindowError as exc:
                raise click.UsageError(f"{exc.zh} / {exc.en}") from None
            except jobs.JobError as exc:
                raise click.UsageError(exc.message()) from None
            except LookupError:
                raise click.UsageError(
                    f"未登记或不属于该县的学校 / unknown school of this county: {school_code}"
                ) from None
            job_id = job.id
        click.echo(f"任务 / job #{job_id}: {county_code} {window.period_from}..{window.period_to}", err=True)
        part_ids = jobs.run_start(job_id) or []
        pdf_dir = app.config["PDF_DIR"]
        limits = jobs.RenderLimits.from_config(app.config)
        with click.progressbar(part_ids, label="生成 PDF / rendering", file=sys.stderr, show_pos=True) as bar:
            for part_id in bar:
                jobs.run_part(part_id, pdf_dir, limits)
        jobs.run_finish(job_id, pdf_dir)
        with db.transaction(write=False) as s:
            final = s.get(PdfJob, job_id, populate_existing=True)
            assert final is not None
            view = jobs.job_view(s, final, lambda _job, name: name)
    output.mkdir(parents=True, exist_ok=True)
    folder = jobs.job_dir(pdf_dir, job_id)
    for f in view["files"]:
        shutil.copyfile(folder / f["name"], output / f["name"])
        click.echo(f"{f['sha256']}  {output / f['name']}")
    if view["state"] != "done":
        for e in view["errors"]:
            click.echo(f"失败 / failed: {e['name']}: {e['message']}", err=True)
        sys.exit(1)


@pdf_group.command("school")
@click.argument("code")
@_window_options
def pdf_school(code: str, year: int | None, period_from: str | None, period_to: str | None, output: Path) -> None:
    """One school's evaluation report."""
    from district.db import db
    from district.registry.models import School

    with _app().app_context():
        school = db.session().get(School, code)
        county_code = school.county_code if school is not None else None
        db.session.remove()
    if county_code is None:
        raise click.UsageError(f"未登记的学校 / unknown school: {code}")
    _run(county_code, code, year, period_from, period_to, output)


@pdf_group.command("county")
@click.argument("county")
@_window_options
def pdf_county(county: str, year: int | None, period_from: str | None, period_to: str | None, output: Path) -> None:
    """Every school's evaluation report, the county summary and a zip of them all."""
    _run(county, None, year, period_from, period_to, output)


def register(main: click.Group) -> None:
    main.add_command(pdf_group)
