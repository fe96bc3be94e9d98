"""``houqin calendar load FILE --county X`` and ``houqin calendar show --county X [--month M]``: the county's
后勤行事历 (thin wrappers: open an app context, call ``district.duties.services``, commit once, print)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from district.db import db


def register(main: click.Group) -> None:
    main.add_command(calendar_group)


def _app() -> Any:
    from district import cli_context

    return cli_context.app()


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


@click.group("calendar")
def calendar_group() -> None:
    """后勤行事历: the logistics tasks schools must do each month (not the reporting deadlines)."""


@calendar_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--county", required=True)
def calendar_load(file: Path, county: str) -> None:
    """Validate FILE (TOML, one [[task]] per task; or .xlsx, a heading row 任务代码/月份/任务/类别 and a task per
    row) and make it the county's calendar, as a new version; every error names its line (the sheet's row),
    and nothing is stored unless the whole file is right."""
    from district.duties import services

    content: str | bytes
    if file.suffix.lower() == ".xlsx":
        content = file.read_bytes()  # a workbook: parse_calendar_file reads its first sheet
    else:
        try:
            content = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            _fail(f"{file}: 不是 UTF-8 文本 / not UTF-8 text")
    with _app().app_context():
        try:
            with db.transaction() as s:
                row = services.load_calendar(s, county, content, file.name, actor="cli")
                version, tasks = row.version, len(services.calendar_by_version(s, row.id).tasks)
        except services.CalendarError as exc:
            for message in exc.messages("zh"):
                click.echo(message, err=True)
            _fail(f"行事历有 {len(exc.problems)} 处错误，未加载 / {len(exc.problems)} error(s), nothing loaded")
        except LookupError:
            _fail(f"未登记的县 / unknown county: {county}")
    click.echo(f"县 {county} 的后勤行事历已更新为第 {version} 版，共 {tasks} 项任务 / calendar version {version}")


@calendar_group.command("show")
@click.option("--county", required=True)
@click.option("--month", type=click.IntRange(1, 12), default=None, help="only the tasks of this month (1-12)")
def calendar_show(county: str, month: int | None) -> None:
    """The county's calendar in force (its newest version, else the one shipped with the hub)."""
    from district.duties import services
    from district.registry.models import County

    with _app().app_context(), db.transaction(write=False) as s:
        if s.get(County, county) is None:
            _fail(f"未登记的县 / unknown county: {county}")
        cal = services.calendar_in_force(s, county)
        if cal.is_default:
            click.echo(f"县 {county} 未加载自己的行事历，使用平台默认行事历")
        else:
            click.echo(f"县 {county} 的后勤行事历第 {cal.version} 版（{cal.source}）")
        months = [month] if month else list(range(1, 13))
        for m in months:
            tasks = cal.tasks_of(m)
            if not tasks:
                if month:
                    click.echo(f"{m}月：无任务")
                continue
            click.echo(f"{m}月：")
            for t in tasks:
                click.echo(f"  {t.code}  {t.title}（{t.category_zh}）")
