"""The ``houqin`` command: thin wrappers that open an app context, call a service, commit once, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from district.app import create_app
from district.cli_context import Context
from district.db import db
from district.registry.models import County

pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Houqin 后勤 — the county hub's command line."""
    shared = ctx.ensure_object(Context)  # a test may pass its own, with its app
    if shared.factory is None:
        shared.factory = create_app


# ---------------------------------------------------------------- db


@main.group("db")
def db_group() -> None:
    """Database schema (Alembic)."""


@db_group.command("upgrade")
@click.option("--revision", default="head")
@pass_ctx
def db_upgrade(ctx: Context, revision: str) -> None:
    """Create or upgrade the schema by running the migrations."""
    from district.migrate import upgrade

    with ctx.app.app_context():
        assert db.engine is not None
        upgrade(db.engine, revision)
        click.echo(f"database at {db.engine.url.render_as_string(hide_password=True)} is at {revision}")


@db_group.command("check")
@pass_ctx
def db_check(ctx: Context) -> None:
    """Fail when the models and the migrated schema disagree."""
    from district.migrate import schema_diff

    with ctx.app.app_context():
        assert db.engine is not None
        diff = schema_diff(db.engine)
    if diff:
        for d in diff:
            click.echo(f"differs: {d}", err=True)
        sys.exit(1)
    click.echo("models and migrations agree")


@db_group.command("figures")
@click.option("--batch", default=2000, show_default=True, help="revisions per transaction")
@pass_ctx
def db_figures(ctx: Context, batch: int) -> None:
    """Store the scoring figures of every effective revision that has none of the current layout.

    Ingestion stores them with each revision's head; heads written by other means (a bulk load) or before the
    layout changed get them here. Scoring reads the content of a revision without figures, so this only makes
    rankings faster; running it twice does nothing more."""
    from district.reports.services import heads_without_figures, store_figures

    with ctx.app.app_context():
        with db.transaction(write=False) as s:
            todo = heads_without_figures(s)
        if not todo:
            click.echo("所有修订均已有评分数据 / every revision has its figures")
            return
        done = 0
        with click.progressbar(length=len(todo), label="评分数据 / figures", file=sys.stderr, show_pos=True) as bar:
            for i in range(0, len(todo), batch):
                with db.transaction() as s:
                    n = store_figures(s, todo[i : i + batch])
                done += n
                bar.update(n)
    click.echo(f"已补齐 {done} 条修订的评分数据 / stored the figures of {done} revisions")


# ---------------------------------------------------------------- schools


@main.group("schools")
def schools_group() -> None:
    """The school registry."""


@schools_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def schools_import(ctx: Context, file: Path) -> None:
    """Import or update schools from CSV or xlsx (code,name,county_code,township,type,boarding[,opened,closed])."""
    from district.registry.services import ImportError_, import_schools

    with ctx.app.app_context():
        try:
            with db.transaction() as s:
                result = import_schools(s, file)
        except ImportError_ as exc:
            for line in exc.errors:
                click.echo(line, err=True)
            click.echo(
                f"导入失败，共 {len(exc.errors)} 处错误，未写入任何数据 / import failed, nothing written", err=True
            )
            sys.exit(1)
    click.echo(
        f"新增 {result.created} 所，更新 {result.updated} 所，未变 {result.unchanged} 所 / "
        f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}"
    )
    if result.credentials_revoked:
        click.echo(
            f"已停办学校的凭据已吊销 / credentials of closed schools revoked: {', '.join(result.credentials_revoked)}"
        )


@schools_group.command("credential")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="print {school_code, secret} as JSON")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write the JSON to a file (0600)")
@pass_ctx
def schools_credential(ctx: Context, code: str, as_json: bool, output: Path | None) -> None:
    """Issue or rotate a school's credential and print it ONCE (the hub cannot show it again)."""
    from district.api.views import SecretBox
    from district.registry.services import issue_credential

    with ctx.app.app_context():
        try:
            with db.transaction() as s:
                secret = issue_credential(s, SecretBox(ctx.app.config["SERVER_KEY_FILE"]), code)
        except LookupError:
            click.echo(f"未登记的学校 / unknown school: {code}", err=True)
            sys.exit(1)
    payload = json.dumps({"school_code": code, "secret": secret}, ensure_ascii=False)
    if output:
        import os

        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(payload + "\n")
        click.echo(f"凭据已写入 {output}（仅此一次）/ credential written to {output}")
    elif as_json:
        click.echo(payload)
    else:
        click.echo(f"学校 {code} 的凭据（只显示这一次，请妥善保存）/ credential, shown once:\n{secret}")


# ---------------------------------------------------------------- counties


@main.group("counties")
def counties_group() -> None:
    """County settings."""


@counties_group.command("configure")
@click.argument("county")
@click.option("--reporting-start", default=None, help="上线月份 YYYY-MM: the first period collected through the hub")
@click.option("--clear-reporting-start", is_flag=True, help="forget the setting (the first accepted report's month)")
@click.option(
    "--township-order",
    default=None,
    help='the official order of its townships, "庄里镇,张桥镇,…" (the rest follow by pinyin); "" clears it',
)
@click.option(
    "--require-standard",
    type=int,
    default=None,
    help="require this report standard version (2: houqin/monthly-report@2) from --from on; 1 clears it",
)
@click.option("--from", "require_from", default=None, help="YYYY-MM: the first period --require-standard applies to")
@pass_ctx
def counties_configure(
    ctx: Context,
    county: str,
    reporting_start: str | None,
    clear_reporting_start: bool,
    township_order: str | None,
    require_standard: int | None,
    require_from: str | None,
) -> None:
    """Set a county's reporting start and the order of its townships; prints the settings in force."""
    from district import calendar
    from district.api.settings import county_settings
    from district.registry.services import TownshipOrderError, parse_township_order, set_township_order
    from district.reports.windows import configure_county

    with ctx.app.app_context(), db.transaction() as s:
        try:
            if reporting_start is not None or clear_reporting_start:
                configure_county(s, county, reporting_start=None if clear_reporting_start else reporting_start)
            if township_order is not None:
                set_township_order(s, county, parse_township_order(township_order, text=True))
            if require_standard is not None or require_from is not None:
                from district.reports.standards import parse_requirement, set_requirement

                version = 2 if require_standard is None else require_standard
                set_requirement(s, county, parse_requirement({"version": version, "from": require_from}))
            c = s.get(County, county)
            if c is None:
                raise LookupError(county)
            settings = county_settings(s, c)
        except LookupError:
            click.echo(f"未登记的县：{county}", err=True)
            sys.exit(1)
        except calendar.WindowError as exc:
            click.echo(exc.zh, err=True)
            sys.exit(2)
        except TownshipOrderError as exc:
            click.echo("\n".join(f"{d['path']}：{d['message']}" for d in exc.details), err=True)
            sys.exit(2)
        except ValueError as exc:  # reports.standards.RequirementError
            click.echo(getattr(exc, "zh", str(exc)), err=True)
            sys.exit(2)
    start = settings["reporting_start_in_effect"] or "尚未设置，也尚未收到月报"
    click.echo(f"{county} 上线月份：{start}" + ("" if settings["reporting_start"] else "（未设置，按最早收到的月报）"))
    order = "、".join(settings["township_order_in_effect"])  # type: ignore[arg-type]
    click.echo(f"{county} 乡镇顺序：{order}" + ("" if settings["township_order"] else "（未设置，按拼音）"))
    required = settings.get("require_standard")
    if isinstance(required, dict):
        click.echo(f"{county} 数据标准：自 {required['from']} 起须按第 {required['version']} 版填报")
    else:
        click.echo(f"{county} 数据标准：第 1 版、第 2 版均可")


# ---------------------------------------------------------------- reporting


@main.command("completeness")
@click.option("--county", required=True)
@click.option("--period", required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def completeness_cmd(ctx: Context, county: str, period: str, as_json: bool) -> None:
    """Completeness and timeliness of one county's period."""
    from district.reports.completeness import county_completeness

    with ctx.app.app_context():
        try:
            c = county_completeness(db.session(), county, period)
        except LookupError:
            click.echo(f"unknown county {county}", err=True)
            sys.exit(1)
    if as_json:
        click.echo(json.dumps(c.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(format_completeness(c))


def format_completeness(c: Any) -> str:
    if c.break_month:
        return f"{c.county_code} {c.period}: 假期月份，不要求报送 / break month, no reports expected"

    def pct(r: str | None) -> str:  # display only; the exact rates are in --json
        return "—" if r is None else f"{float(r) * 100:.1f}%"

    lines = [
        f"{c.county_code} {c.period}  应报 {c.expected}  已报 {c.reported}  按时 {c.on_time}  "
        f"完整率 {pct(c.completeness)}  及时率 {pct(c.timeliness)}",
    ]
    if c.missing:
        lines.append(f"未报送 {len(c.missing)} 所 / missing:")
        lines += [f"  {m.code} {m.name}（{m.township}）逾期 {m.days_late} 天" for m in c.missing[:50]]
        if len(c.missing) > 50:
            lines.append(f"  … 另有 {len(c.missing) - 50} 所")
    return "\n".join(lines)


# ---------------------------------------------------------------- users


@main.group("users")
def users_group() -> None:
    """Bureau users and their API tokens."""


@users_group.command("create")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(
        ["city_admin", "county_admin", "county_viewer", "school_viewer", "school_clerk", "township_admin"]
    ),
)
@click.option(
    "--scope", required=True, help="city, county or school code the role applies to; township_admin: COUNTY/乡镇名"
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="")
@pass_ctx
def users_create(ctx: Context, username: str, role: str, scope: str, password: str, display_name: str) -> None:
    """Create a bureau user."""
    from district.auth.services import create_user

    with ctx.app.app_context():
        try:
            with db.transaction() as s:
                create_user(s, username, password, role, scope=scope, display_name=display_name)
        except ValueError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo(f"user {username} ({role} {scope}) created")


@users_group.command("token")
@click.argument("username")
@click.option("--name", default="cli")
@pass_ctx
def users_token(ctx: Context, username: str, name: str) -> None:
    """Create a personal API token for USERNAME and print it once."""
    from sqlalchemy import select

    from district.auth.models import User
    from district.auth.services import create_token

    with ctx.app.app_context():
        with db.transaction() as s:
            user = s.scalars(select(User).where(User.username == username)).first()
            if user is None:
                click.echo(f"unknown user {username}", err=True)
                sys.exit(1)
            token = create_token(s, user, name)
    click.echo(token)


def _account_act(ctx: Context, username: str, act: Any) -> Any:
    """Run ``act(session, user)`` on USERNAME in one transaction; exit 1 when there is no such user."""
    from district.auth.services import find_user

    with ctx.app.app_context():
        try:
            with db.transaction() as s:
                user = find_user(s, username)
                if user is None:
                    raise click.ClickException(f"unknown user {username}")
                return act(s, user)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc


@users_group.command("disable")
@click.argument("username")
@pass_ctx
def users_disable(ctx: Context, username: str) -> None:
    """Disable USERNAME: no sign-in, its sessions end at once, its API tokens are refused."""
    from district.auth.services import disable_user

    _account_act(ctx, username, disable_user)
    click.echo(f"user {username} disabled: signed out everywhere, its tokens refused")


@users_group.command("enable")
@click.argument("username")
@pass_ctx
def users_enable(ctx: Context, username: str) -> None:
    """Enable a disabled USERNAME again (its unexpired, unrevoked tokens work again) and lift its lockout."""
    from district.auth.services import enable_user

    _account_act(ctx, username, enable_user)
    click.echo(f"user {username} enabled")


@users_group.command("reset-password")
@click.argument("username")
@click.option("--password", default=None, help="the new password (at least 8 characters); default: one made up")
@pass_ctx
def users_reset_password(ctx: Context, username: str, password: str | None) -> None:
    """Set a new password for USERNAME (printed once when made up), end its sessions and lift its lockout."""
    from district.auth.services import reset_password

    new = _account_act(ctx, username, lambda s, user: reset_password(s, user, password))
    click.echo(f"password of {username} reset; every session of the user is signed out", err=True)
    if password is None:
        click.echo(new)  # shown once: only its hash is stored


@users_group.command("revoke-tokens")
@click.argument("username")
@pass_ctx
def users_revoke_tokens(ctx: Context, username: str) -> None:
    """Revoke every API token of USERNAME."""
    from district.auth.services import revoke_tokens

    revoked = _account_act(ctx, username, revoke_tokens)
    click.echo(f"{len(revoked)} token(s) of {username} revoked")


# ---------------------------------------------------------------- serving


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="hub processes (default: one per CPU, at most 4); 1: one threaded process",
)
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int | None) -> None:
    """The hub on the embedded default (the demo runs it): gunicorn with threaded workers, one process per CPU
    (Python runs one thread of a process at a time: a second process lets two requests compute at once);
    ``--workers 1`` is Flask's threaded server. A bigger county: gunicorn 'district.wsgi:app' (docs/DEPLOY.md).

    ``HOUQIN_PUBLIC_URL`` is required, except on a loopback address, where the hub is only reachable at the
    address it binds and takes that (``http://127.0.0.1:8000/`` by default)."""
    import os

    from district.config import PUBLIC_URL_MISSING, ConfigError, is_loopback_http, public_url

    try:
        configured = public_url(os.environ["HOUQIN_PUBLIC_URL"]) if os.environ.get("HOUQIN_PUBLIC_URL") else None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if configured is None:
        bound = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
        if not is_loopback_http(bound):
            raise click.ClickException(PUBLIC_URL_MISSING)
        os.environ["HOUQIN_PUBLIC_URL"] = bound  # gunicorn's workers make their app from the environment
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    if not ctx.app.config.get("BROKER_URL"):
        # the embedded default makes PDFs in a background thread of the hub: what a stopped hub left unfinished
        from workers.background import fail_interrupted

        fail_interrupted(ctx.app)
    if workers == 1:
        from workers.background import start_forkserver

        start_forkserver(ctx.app)  # in the background: the first PDF job does not pay the forkserver's start
        ctx.app.run(host=host, port=port, threaded=True, use_reloader=False)
        return
    from district.server import serve_with_gunicorn

    serve_with_gunicorn(host, port, workers)


def _register_commands() -> None:
    """Domain packages contribute their own commands (scoring, nutrition, pdf, demo, audit, calendar), imported
    explicitly."""
    from district.demo import cli as demo_cli
    from district.duties import cli as duties_cli
    from district.integrity import cli as audit_cli
    from district.nutrition import cli as nutrition_cli
    from district.rendering import cli as rendering_cli
    from district.scoring import cli as scoring_cli

    for module in (scoring_cli, nutrition_cli, rendering_cli, demo_cli, audit_cli, duties_cli):
        module.register(main)


_register_commands()
