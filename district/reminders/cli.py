"""``houqin reminders --county X --send`` (一键催报 from the command line) and ``houqin reminders --daily`` (the
07:00 job for cron on the embedded default): reserve today's deliveries, commit, send them in this process and
wait for the outcome, retrying failures with the backoff (``HOUQIN_REMINDER_RETRY_SECONDS``)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from sqlalchemy import select

from district.db import db


def send_cmd(app: Any, county: str | None, *, daily: bool, as_json: bool) -> None:
    from district.dispatch import send_reminders_now as send_now
    from district.registry.models import County
    from district.reminders import services

    with app.app_context():
        if daily:
            with db.transaction(write=False) as s:
                codes = list(s.scalars(select(County.code).order_by(County.code)))
        elif county is None:
            click.echo("需要 --county / --county is required", err=True)
            sys.exit(1)
        else:
            codes = [county]
        out: dict[str, Any] = {}
        for code in codes:
            try:
                with db.transaction() as s:
                    if daily:
                        services.store_reminders(s, code)
                    reservation = services.reserve(s, code, trigger="daily" if daily else "cli", retry_failed=not daily)
            except LookupError:
                click.echo(f"未登记的县 / unknown county: {code}", err=True)
                sys.exit(1)
            send_now(app, reservation.to_send, retries=True)
            with db.transaction(write=False) as s:
                counts = services.counts(s, reservation.to_send)
            out[code] = {**counts, "skipped": reservation.skipped, "paused": reservation.paused}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for code, c in out.items():
        if c["paused"]:
            click.echo(f"{code}：催报渠道已暂停，未发送 / channels paused, nothing sent")
        else:
            click.echo(
                f"{code}：已发送 {c['sent']}，失败 {c['failed']}，今日已发过 {c['skipped']}"
                f" / sent {c['sent']}, failed {c['failed']}, already sent today {c['skipped']}"
            )
