"""``houqin keys init`` and ``houqin audit verify | verify-receipt | heads``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from district.db import db


def register(main: click.Group) -> None:
    main.add_command(keys_group)
    main.add_command(audit_group)


def _app() -> Any:
    from district import cli_context

    return cli_context.app()


@click.group("keys")
def keys_group() -> None:
    """The hub's Ed25519 receipt-signing keys."""


@keys_group.command("init")
def keys_init() -> None:
    """Create a new signing key and make it current (earlier public keys are kept for verification)."""
    from district.audit.keys import init_keys

    app = _app()
    kid = init_keys(Path(app.config["SIGNING_KEY_DIR"]))
    click.echo(f"new hub key {kid} in {app.config['SIGNING_KEY_DIR']} (private key file mode 0600)")


@keys_group.command("list")
def keys_list() -> None:
    from district.audit.keys import HubKeys

    app = _app()
    for k in HubKeys.load(Path(app.config["SIGNING_KEY_DIR"]), create=False).public_keys():
        click.echo(f"{k['key_id']}  {'current' if k['current'] else 'retired'}  {k['created_at']}  {k['public_key']}")


@click.group("audit")
def audit_group() -> None:
    """Tamper evidence: verify the chains and receipts (docs/AUDIT.md)."""


@audit_group.command("verify")
@click.option("--county", default=None, help="only this county's schools and audit chain")
@click.option("--json", "as_json", is_flag=True)
def audit_verify(county: str | None, as_json: bool) -> None:
    """Walk every chain; exit 1 and name the first broken link of each broken chain."""
    from district.integrity.verify import verify

    app = _app()
    with app.app_context():
        result = verify(db.session(), county)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"checked {result.schools} school chains, {result.revisions} revisions, "
            f"{result.audit_entries} chained audit entries"
        )
        for f in result.findings:
            click.echo(f"BROKEN  {f}")
        click.echo("all chains intact" if result.ok else f"{len(result.findings)} broken chain(s)")
    sys.exit(0 if result.ok else 1)


@audit_group.command("verify-receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def audit_verify_receipt(file: Path) -> None:
    """Check a school's receipt file (one receipt, a list, or `houqin-agent receipts export`) against the
    hub's keys and chain."""
    from district.audit.keys import HubKeys
    from district.integrity.receipts import check_receipts

    app = _app()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        click.echo(f"{file}: not a JSON receipt file ({exc})", err=True)
        sys.exit(2)
    receipts = data if isinstance(data, list) else data.get("receipts", [data]) if isinstance(data, dict) else []
    if not receipts or not all(isinstance(r, dict) for r in receipts):
        click.echo(f'{file}: expected a receipt, a list of receipts, or {{"receipts": [...]}}', err=True)
        sys.exit(2)
    with app.app_context():
        keys = HubKeys.load(Path(app.config["SIGNING_KEY_DIR"]), create=False).public_key_map()
        problems = check_receipts(db.session(), receipts, keys)
    for r, problem in problems:
        click.echo(f"REFUSED {r.get('report_id')} {r.get('period')} rev {r.get('revision')}: {problem}")
    ok = len(receipts) - len(problems)
    click.echo(f"{ok} of {len(receipts)} receipts verified against the hub's key and chain")
    sys.exit(0 if not problems else 1)


@audit_group.command("heads")
@click.option("--county", required=True)
def audit_heads(county: str) -> None:
    """Record and print the county's chain heads digest."""
    from district.integrity.heads import record_heads

    app = _app()
    with app.app_context(), db.transaction() as s:
        rec = record_heads(s, county)
        click.echo(f"{county} chain head digest {rec.digest} ({len(rec.heads)} schools)")
