"""``houqin demo``: the main job on the embedded default (README command 1), or on the production stack when
``HOUQIN_DATABASE_URL`` and ``HOUQIN_BROKER_URL`` are set. See district/demo/run.py for the stages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click


@click.command("demo")
@click.option("--schools", default=440, show_default=True, help="schools in the city (spread over four counties)")
@click.option("--seed", default=2026, show_default=True, help="same seed, same city and same reports")
@click.option(
    "--instance",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="the run's folder, emptied first (default: $HOUQIN_INSTANCE_PATH/demo on SQLite, "
    "$HOUQIN_INSTANCE_PATH/demo-postgresql-<database> on PostgreSQL; HOUQIN_INSTANCE_PATH defaults to ./instance)",
)
@click.option("--serve/--no-serve", default=True, help="leave the hub running at the end")
@click.option("--port", default=0, type=int, help="hub port (0: a free one)")
@click.option(
    "--pdf-counties",
    default=1,
    show_default=True,
    type=int,
    help="evaluation PDFs for the first N counties (4: all; each school's takes about a second)",
)
@click.option("--timings", type=click.Path(dir_okay=False, path_type=Path), help="write the stage times as JSON")
def demo(
    schools: int, seed: int, instance: Path | None, serve: bool, port: int, pdf_counties: int, timings: Path | None
) -> None:
    """Run the main job end to end: a realistic city, real agents over HTTP, workers, rankings, fund reports, PDFs.

    Every figure it prints is read back from the hub; a stage whose result differs from what was planted ends the
    run with a non-zero exit."""
    from district.demo.run import Demo, demo_folder

    if schools < 4:
        raise click.BadParameter("at least one school per county (4)", param_hint="--schools")
    folder = instance if instance is not None else demo_folder(os.environ.get("HOUQIN_DATABASE_URL") or None)
    run = Demo(folder, schools=schools, seed=seed, port=port, pdf_counties=pdf_counties)
    seconds = run.run(serve=serve)
    if timings:
        timings.write_text(
            json.dumps(
                {
                    "stack": "production" if run.production else "embedded",
                    "schools": schools,
                    "instance": str(run.instance),
                    "seconds": seconds,
                    "summary": run.summary,
                },
                ensure_ascii=False,
                indent=2,
            )
        )


def register(main: click.Group) -> None:
    main.add_command(demo)
