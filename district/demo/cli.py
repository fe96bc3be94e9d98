"""``houqin demo``: the main job on the embedded default (README command 1), or on the production stack when
``HOUQIN_DATABASE_URL`` and ``HOUQIN_BROKER_URL`` are set. See district/demo/run.py for the stages."""

from __future__ import annotations

import json
from pathlib import Path

import click

from district.config import PROJECT_ROOT


@click.command("demo")
@click.option("--schools", default=440, show_default=True, help="schools in the city (spread over four counties)")
@click.option("--seed", default=2026, show_default=True, help="same seed, same city and same reports")
@click.option("--instance", type=click.Path(file_okay=False, path_type=Path),
              default=PROJECT_ROOT / "instance" / "demo", show_default=True)
@click.option("--serve/--no-serve", default=True, help="leave the hub running at the end")
@click.option("--port", default=0, type=int, help="hub port (0: a free one)")
@click.option("--pdf-counties", default=1, show_default=True, type=int,
              help="evaluation PDFs for the first N counties (4: all; each school's takes about a second)")
@click.option("--timings", type=click.Path(dir_okay=False, path_type=Path), help="write the stage times as JSON")
def demo(schools: int, seed: int, instance: Path, serve: bool, port: int, pdf_counties: int,
         timings: Path | None) -> None:
    """Run the main job end to end: a realistic city, real agents over HTTP, workers, rankings, fund reports, PDFs."""
    from district.demo.run import Demo

    if schools < 4:
        raise click.BadParameter("at least one school per county (4)", param_hint="--schools")
    run = Demo(instance, schools=schools, seed=seed, port=port, pdf_counties=pdf_counties)
    seconds = run.run(serve=serve)
    if timings:
        timings.write_text(json.dumps({"stack": "production" if run.production else "embedded",
                                       "schools": schools, "seconds": seconds, "summary": {
                                           k: v for k, v in run.summary.items() if k != "variations"}},
                                      ensure_ascii=False, indent=2))


def register(main: click.Group) -> None:
    main.add_command(demo)
