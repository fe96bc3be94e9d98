"""``houqin demo``: the main job on the embedded default (README command 1).

Creates a fresh database, imports a sample county, issues credentials, starts the hub on a loopback port,
sends the schools' monthly reports through the signed API over real HTTP, and prints the completeness.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from district.config import PROJECT_ROOT
from district.demo.generate import SchoolProfile, monthly_report
from houqin_standard import current_period, period_add, sign_request

SAMPLE_TOWNSHIPS = ["城关街道", "庄里镇", "张桥镇", "美原镇", "流曲镇"]
TYPE_MIX = ["primary"] * 10 + ["junior"] * 3 + ["kindergarten"] * 3 + ["nine_year", "teaching_point", "teaching_point"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_registry(
    path: Path, schools: int, county: str = "610528", county_name: str = "富平县"
) -> list[dict[str, str]]:
    rows = []
    for i in range(schools):
        stype = TYPE_MIX[i % len(TYPE_MIX)]
        township = SAMPLE_TOWNSHIPS[i % len(SAMPLE_TOWNSHIPS)]
        kind = {
            "primary": "小学",
            "junior": "初级中学",
            "kindergarten": "幼儿园",
            "nine_year": "九年制学校",
            "teaching_point": "教学点",
        }[stype]
        rows.append(
            {
                "code": f"{county}{i + 1:04d}",
                "name": f"{county_name}{township}第{i // 5 + 1}{kind}",
                "county_code": county,
                "township": township,
                "type": stype,
                "boarding": "true" if stype in ("junior", "nine_year") else "false",
                "county_name": county_name,
                "city_code": county[:4] + "00",
                "city_name": "渭南市",
            }
        )
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def post_signed(base: str, school: str, secret: str, report: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = json.dumps(report, ensure_ascii=False).encode("utf-8")
    ts = int(time.time())
    req = urllib.request.Request(
        base + "/api/v1/reports",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Houqin-School": school,
            "X-Houqin-Timestamp": str(ts),
            "X-Houqin-Signature": sign_request(secret, ts, "POST", "/api/v1/reports", body),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _houqin(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "district", *args], env=env, check=True, capture_output=True, text=True)
    return out.stdout


@click.command("demo")
@click.option("--schools", default=20, show_default=True, help="schools in the sample county")
@click.option("--months", default=3, show_default=True, help="months reported, ending last month")
@click.option("--seed", default=2026, show_default=True)
@click.option(
    "--instance",
    type=click.Path(file_okay=False, path_type=Path),
    default=PROJECT_ROOT / "instance" / "demo",
    show_default=True,
)
@click.option("--serve/--no-serve", default=True, help="leave the hub running at the end")
@click.option("--port", default=0, type=int, help="hub port (0: a free one)")
def demo(schools: int, months: int, seed: int, instance: Path, serve: bool, port: int) -> None:
    """Run the main job end to end on the embedded default (SQLite)."""
    if instance.exists():
        shutil.rmtree(instance)
    instance.mkdir(parents=True)
    env = {**os.environ, "HOUQIN_INSTANCE_PATH": str(instance)}
    click.echo(f"① 建库 / database in {instance}")
    _houqin(env, "db", "upgrade")
    registry = instance / "schools.csv"
    rows = sample_registry(registry, schools)
    click.echo(
        f"② 导入样例县 / importing {len(rows)} schools: " + _houqin(env, "schools", "import", str(registry)).strip()
    )
    secrets: dict[str, str] = {}
    with click.progressbar(rows, label="③ 签发凭据 / credentials") as bar:
        for row in bar:
            secrets[row["code"]] = json.loads(_houqin(env, "schools", "credential", row["code"], "--json"))["secret"]
    port = port or _free_port()
    base = f"http://127.0.0.1:{port}"
    hub = subprocess.Popen(
        [sys.executable, "-m", "district", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        click.echo(f"④ 枢纽已启动 / hub at {base}")
        last = period_add(current_period(), -1)
        periods = [period_add(last, -i) for i in range(months - 1, -1, -1)]
        profiles = {r["code"]: SchoolProfile.make(r["code"], r["type"], r["boarding"] == "true", seed) for r in rows}
        jobs = [(p, code) for p in periods for code in profiles]
        statuses: dict[int, int] = {}
        with click.progressbar(jobs, label="⑤ 学校报送 / schools reporting over HTTP") as bar:
            for period, code in bar:
                prof = profiles[code]
                if prof.rng.random() < 0.1:  # some schools miss a month
                    continue
                status, _ = post_signed(base, code, secrets[code], monthly_report(prof, period))
                statuses[status] = statuses.get(status, 0) + 1
        click.echo("   HTTP " + ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items())))
        from district.cli import format_completeness

        click.echo("⑥ 报送完整率与及时率 / completeness")
        for period in periods:
            data = json.loads(_houqin(env, "completeness", "--county", "610528", "--period", period, "--json"))
            click.echo(format_completeness(_Obj(data)).splitlines()[0])
        if serve:
            click.echo(f"\n枢纽运行中 / the hub keeps running at {base}  (Ctrl-C 停止)")
            hub.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if hub.poll() is None:
            hub.terminate()
            hub.wait(10)


class _Obj:
    """Completeness JSON as the attribute shape format_completeness reads."""

    def __init__(self, d: dict[str, Any]) -> None:
        self.county_code, self.period, self.break_month = d["county_code"], d["period"], d["break_month"]
        self.expected, self.reported, self.on_time = d["expected"], d["reported"], d["on_time"]
        self.completeness, self.timeliness = d["completeness"], d["timeliness"]
        self.missing: list[Any] = []


def register(main: click.Group) -> None:
    main.add_command(demo)
