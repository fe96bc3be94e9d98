"""``houqin rank``, ``houqin rubric load``, ``houqin inspections add``, ``houqin reminders``, ``houqin campaign``:
thin wrappers that open an app context, call a scoring service, commit once, print."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any, NoReturn

import click

from district import calendar
from district.db import db
from district.reports import windows
from district.scoring.engine import STATUS_LABELS
from district.scoring.explain_text import flag_text
from houqin_standard.fields import ENUM_LABELS


def register(main: click.Group) -> None:
    main.add_command(rank_cmd)
    main.add_command(rubric_group)
    main.add_command(inspections_group)
    main.add_command(reminders_cmd)
    main.add_command(campaign_cmd)


def _app() -> Any:
    from district import cli_context

    return cli_context.app()


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


# ------------------------------------------------------------------------------------------------ table


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell(text: str, width: int, right: bool = False) -> str:
    pad = " " * max(0, width - _width(text))
    return pad + text if right else text + pad


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A plain-text table that lines up with Chinese characters (two columns wide each)."""
    right = right or set()
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(_cell(h, widths[i], i in right) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(_cell(c, widths[i], i in right) for i, c in enumerate(r)).rstrip())
    return "\n".join(lines)


def _pct(rate: str | None) -> str:
    if rate is None:
        return "—"
    value = float(rate) * 100  # display only: the exact 4-place rate is in --json
    return f"{value:.2f}%"


def format_progress(p: dict[str, Any], where: str) -> str:
    year = f"{p['year']} 年" + (f"（创建第 {p['campaign_year']} 年）" if p.get("campaign_year") else "")
    head = f"{where}创建进度 {year}：达标 {p['compliant']} 所 / 在册 {p['active']} 所 = {_pct(p['rate'])}"
    if p.get("target") is None:
        return head + "，未设置创建目标（未配置创建起始年份）"
    verdict = "已达成" if p["met"] else "未达成"
    return f"{head}，目标 {_pct(p['target'])}，{verdict}"


def format_ranking(view: dict[str, Any]) -> str:
    window = view["window"]
    lines = [
        f"{view['county_name']}（{view['county_code']}）美丽新校园评比排名  {window['from']} 至 {window['to']}",
        f"评分细则 {view['rubric_version']} · 排名快照 #{view['snapshot_id']} · 计算于 {view['computed_at']}"
        + (" · 按学校类型分别排名" if view.get("by_type") else ""),
        "",
    ]
    types = ENUM_LABELS["school_type"]
    rows = []
    for r in view["schools"]:
        flags = [f for f in r["flags"] if not f.startswith("missing:")]
        missing = sum(1 for f in r["flags"] if f.startswith("missing:"))
        if missing:
            flags.insert(0, f"缺报 {missing} 个月")
        rows.append(
            [
                "—" if r["rank"] is None else str(r["rank"]),
                r["school_code"],
                r["name"],
                types.get(r["type"], (r["type"],))[0],
                r["township"],
                "—" if r["score"] is None else r["score"],
                r["grade"] or "—",
                STATUS_LABELS[r["status"]][0],
                _pct(r["coverage"]),
                "、".join(flag_text(f) for f in flags),
            ]
        )
    headers = ["名次", "学校标识码", "学校名称", "类型", "学区", "得分", "等级", "状态", "报送覆盖率", "标记"]
    lines.append(table(headers, rows, right={0, 5, 8}))
    lines += ["", format_progress(view["campaign_progress"], view["county_name"])]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ rank


@click.command("rank")
@click.option("--county", required=True, help="county code (6 digits)")
@click.option("--year", type=int, help="Y-01..Y-12, capped at the latest period past its deadline")
@click.option("--from", "period_from", help="first period YYYY-MM")
@click.option("--to", "period_to", help="last period YYYY-MM")
@click.option("--by-type", is_flag=True, help="rank within each school type")
@click.option("--snapshot", type=int, help="show a stored ranking exactly as it was")
@click.option("--json", "as_json", is_flag=True)
def rank_cmd(
    county: str,
    year: int | None,
    period_from: str | None,
    period_to: str | None,
    by_type: bool,
    snapshot: int | None,
    as_json: bool,
) -> None:
    """A county's 美丽新校园 ranking with its campaign progress (recomputed when the stored one is stale)."""
    from district.registry.models import County
    from district.scoring import ranking, snapshots

    if year is not None and (period_from or period_to):
        _fail("请给出 --year 或 --from/--to，不要同时给出 / give --year or --from/--to, not both")
    with _app().app_context(), db.transaction() as s:
        c = s.get(County, county)
        if c is None:
            _fail(f"未登记的县 / unknown county: {county}")
        assert c is not None
        if snapshot is not None:
            snap = snapshots.snapshot_by_id(s, county, snapshot)
            if snap is None:
                _fail(f"{county} 没有编号为 {snapshot} 的排名快照 / no such snapshot")
        else:
            try:
                window = windows.resolve_window(s, c, period_from=period_from, period_to=period_to, year=year)
            except calendar.WindowError as exc:
                _fail(f"{exc.zh} / {exc.en}")
            snap = ranking.latest_ranking(s, county, window, trigger="cli")
        assert snap is not None
        view = snapshots.ranking_view(s, snap, by_type=by_type)
    if as_json:
        click.echo(json.dumps(view, ensure_ascii=False, indent=2))
    else:
        click.echo(format_ranking(view))


@click.command("campaign")
@click.option("--city", "city", help="city code: every county of the city and the city's total")
@click.option("--county", "county", help="one county")
@click.option("--year", type=int, required=True)
@click.option("--json", "as_json", is_flag=True)
def campaign_cmd(city: str | None, county: str | None, year: int, as_json: bool) -> None:
    """Campaign progress 创建进度 (compliant / active schools) against the year's target."""
    from district.scoring import campaign

    if bool(city) == bool(county):
        _fail("请给出 --city 或 --county 之一 / give --city or --county")
    with _app().app_context(), db.transaction() as s:
        try:
            if city:
                result: dict[str, Any] | None = campaign.city_campaign_progress(s, city, year, trigger="cli")
            else:
                assert county is not None
                result = campaign.county_campaign_progress(s, county, year, trigger="cli")
        except LookupError:
            _fail(f"未登记 / unknown: {city or county}")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    if result is None:
        _fail(f"{year} 年尚无已过报送截止日期的月份 / no period of {year} has passed its deadline")
    assert result is not None
    if city:
        for c in result["counties"]:
            click.echo(format_progress(c, f"{c['name']}（{c['county_code']}）"))
        click.echo(format_progress(result, f"全市（{city}）"))
    else:
        click.echo(format_progress(result, f"{county} "))


# ------------------------------------------------------------------------------------------------ rubric


@click.group("rubric")
def rubric_group() -> None:
    """美丽新校园 rubrics (data, not code)."""


@rubric_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--county", required=True)
def rubric_load(file: Path, county: str) -> None:
    """Validate FILE and make it the county's rubric; every error names its line."""
    from district.scoring import county_rubrics
    from district.scoring.rubric import RubricError

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        _fail(f"{file}: 不是 UTF-8 文本 / not UTF-8 text")
    with _app().app_context():
        try:
            with db.transaction() as s:
                row = county_rubrics.load_county_rubric(s, county, text, str(file), actor="cli")
                version = row.version
        except RubricError as exc:
            for message in exc.messages:
                click.echo(message, err=True)
            _fail(f"评分细则有 {len(exc.messages)} 处错误，未加载 / {len(exc.messages)} error(s), nothing loaded")
        except LookupError:
            _fail(f"未登记的县 / unknown county: {county}")
    click.echo(f"县 {county} 的评分细则已更新为 {version} / rubric {version} loaded for {county}")


# ------------------------------------------------------------------------------------------------ inspections


@click.group("inspections")
def inspections_group() -> None:
    """Bureau on-site inspections (indicator B2)."""


@inspections_group.command("add")
@click.option("--school", required=True)
@click.option("--date", "day", required=True, help="YYYY-MM-DD")
@click.option("--score", required=True, help="0–5, one decimal")
@click.option("--inspector", required=True)
@click.option("--notes", default=None)
def inspections_add(school: str, day: str, score: str, inspector: str, notes: str | None) -> None:
    """Record an on-site inspection (audited)."""
    from district.scoring import inspections

    with _app().app_context():
        try:
            with db.transaction() as s:
                insp = inspections.record_inspection(
                    s, school, date=day, score=score, inspector=inspector, notes=notes, actor="cli"
                )
                out = inspections.inspection_dict(insp)
        except inspections.InspectionError as exc:
            for d in exc.issues:
                click.echo(f"{d['path']}: {d['zh']} / {d['en']}", err=True)
            _fail("督查记录未保存 / nothing recorded")
        except LookupError:
            _fail(f"未登记的学校 / unknown school: {school}")
    click.echo(f"已记录督查 #{out['id']}：{school} {out['date']} 得分 {out['score']}（{out['inspector']}）")


# ------------------------------------------------------------------------------------------------ reminders


@click.command("reminders")
@click.option("--county", default=None, help="the county (every county with --daily)")
@click.option("--stored", is_flag=True, help="the list the daily job stored last, instead of now")
@click.option("--store", is_flag=True, help="compute today's list and store it (the daily job, by hand)")
@click.option("--send", is_flag=True, help="一键催报: send today's reminders through the county's channels now")
@click.option(
    "--daily", is_flag=True, help="the 07:00 job for cron on the embedded default: store and send, every county"
)
@click.option("--json", "as_json", is_flag=True)
def reminders_cmd(county: str | None, stored: bool, store: bool, send: bool, daily: bool, as_json: bool) -> None:
    """Schools that have not reported the month, and hazards past their deadline; ``--send`` sends them."""
    from district.reminders import cli as reminders_cli
    from district.reminders import services as reminder_services

    if daily or send:
        reminders_cli.send_cmd(_app(), county, daily=daily, as_json=as_json)
        return
    if county is None:
        _fail("需要 --county / --county is required")
    with _app().app_context():
        try:
            with db.transaction() as s:
                if store:
                    items = reminder_services.store_reminders(s, county).items
                elif stored:
                    row = reminder_services.latest_reminders(s, county)
                    items = [] if row is None else row.items
                else:
                    items = reminder_services.reminders(s, county)
        except LookupError:
            _fail(f"未登记的县 / unknown county: {county}")
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("没有提醒 / no reminders")
    for r in items:
        click.echo(f"{r['school_code']} {r['school_name']}（{r['township']}）：{r['message_zh']}")
