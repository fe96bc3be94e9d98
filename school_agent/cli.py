"""``houqin-agent``: the school clerk's command line (学校端上报程序).

    houqin-agent setup --hub URL --credential-file FILE     配置服务器地址、学校和凭据
    houqin-agent template 2026-10                           生成本月的 Excel 月报模板
    houqin-agent submit 后勤月报_6105280001_2026-10.xlsx     检查、保存到发件箱、发送
    houqin-agent sync                                       发送发件箱中所有待发送的报表（计划任务用）
    houqin-agent status                                     发件箱状态、回执、教育局反馈、截止时间
    houqin-agent correct 2026-10 更正后的文件.xlsx           已上报月份的更正（新的一版）
    houqin-agent retry 编号                                  被退回/冲突/回执无效的报表重新排队
    houqin-agent receipts export [-o 文件]                   导出全部经签名核对的回执（交给审计）
    houqin-agent receipts verify 文件                        用本机固定的教育局密钥核对回执文件（离线）

Exit codes: 0 done; 1 the file or the report is wrong (nothing saved); 2 wrong command line; 3 saved in the
outbox but not sent yet (will be sent by a later sync); 4 the hub refused it (rejected / conflict / bad
credential); 5 not configured; 6 the hub's receipt failed the signature check (receipt_invalid: contact the
bureau).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from houqin_standard import (
    SHANGHAI,
    STANDARD_ID,
    STANDARD_ID_2,
    STANDARDS,
    canonical_json,
    current_period,
    parse_period,
    period_add,
    period_deadline,
    validate_report,
)
from houqin_standard.prechecks import precheck

from . import __version__, wording
from .client import HubClient, HubResponse, HubUnreachable
from .config import (
    LOCK_NAME,
    OUTBOX_NAME,
    AgentConfig,
    ConfigError,
    check_school_code,
    check_secret,
    config_mode_ok,
    default_home,
    load_config,
    normalise_hub_url,
    read_credential_file,
    save_config,
    save_pins,
)
from .lock import FileLock
from .outbox import Outbox, OutboxItem
from .reader import InputError, ReadResult, describe_issue, read_file, where_in_template
from .sync import Pusher, SyncOptions, SyncResult
from .trust import (
    KeysUnavailable,
    ReceiptChecker,
    ReceiptInvalid,
    check_matches,
    check_signature,
    extend_pins,
    fetch_hub_keys,
    first_pins,
    untrusted_current,
)

EXIT_OK = 0
EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_QUEUED = 3
EXIT_REFUSED = 4
EXIT_CONFIG = 5
EXIT_RECEIPT_INVALID = 6

STATE_ZH = {
    "pending": "待发送",
    "sent": "已送达",
    "rejected": "被退回",
    "conflict": "冲突",
    "receipt_invalid": "回执无效",
}


def out(text: str = "") -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Fail(Exception):
    """End the command with a message (stderr) and an exit code."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------------------------------------ helpers


def _fmt_time(iso: str | None) -> str:
    if not iso:
        return "—"
    try:
        return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _content_key(report: dict[str, Any]) -> bytes:
    """What makes two submissions the same report: everything but report_id and prepared_at."""
    return canonical_json({k: v for k, v in report.items() if k not in ("report_id", "prepared_at")})


def _client(cfg: AgentConfig, timeout: float | None = None) -> HubClient:
    return HubClient(cfg.hub_url, cfg.school_code, cfg.secret, read_timeout=timeout or 60.0)


def _outbox(home: Path) -> Outbox:
    return Outbox(home / OUTBOX_NAME)


def _checker(home: Path, cfg: AgentConfig, client: HubClient | None) -> ReceiptChecker:
    """Receipts checked against ``cfg``'s pinned keys; with a client, pinning on first use and following an
    endorsed key rotation, new pins saved in config.json (callers hold the sync lock)."""

    def save(pins: list[dict[str, Any]]) -> None:
        save_pins(home, pins)
        cfg.hub_keys = pins

    fetch = (lambda: fetch_hub_keys(client)) if client is not None else None
    return ReceiptChecker(cfg.hub_keys, fetch, save, out=out)


def _config(home: Path) -> AgentConfig:
    try:
        cfg = load_config(home)
    except ConfigError as exc:
        raise Fail(str(exc), EXIT_CONFIG) from None
    if not config_mode_ok(home):
        err(f"注意：配置文件 {home / 'config.json'} 其他用户也可读取，已改为仅本用户可读")
        (home / "config.json").chmod(0o600)
    return cfg


def _period_arg(value: str) -> str:
    try:
        parse_period(value)
    except ValueError:
        raise Fail(f"月份格式应为 YYYY-MM，例如 2026-10（现为 {value!r}）", EXIT_USAGE) from None
    return value


def _print_receipt(item: OutboxItem, prefix: str = "") -> None:
    r = item.receipt or {}
    on_time = "按时" if r.get("on_time") else "逾期"
    out(
        f"{prefix}已送达教育局：{item.period} 第 {r.get('revision', '?')} 版，"
        f"接收时间 {_fmt_time(r.get('received_at'))}（{on_time}），回执校验码 {str(r.get('content_sha256', ''))[:12]}"
        + ("，教育局签名已核对" if item.receipt_verified_at else "")
    )
    for w in r.get("warnings") or []:
        out(f"{prefix}  提示：{w.get('message', w.get('code', ''))}")


def _print_receipt_invalid(item: OutboxItem, prefix: str = "") -> None:
    reason = (item.receipt_error or {}).get("message") or item.last_error or ""
    out(f"{prefix}{item.period} 报表的回执未通过校验，没有标记为已送达：{reason}")
    out(
        f"{prefix}  回执应由教育局服务器签名，并与本机发送的报表一致。校验不通过，说明网络中可能有人冒充教育局服务器，"
        "或者教育局服务器出了问题。这份报表不会自动重发，报表和收到的回执都保存在本机。"
    )
    out(
        f"{prefix}  请立即联系教育局信息中心核实（报表编号 {item.report_id}）。"
        f"教育局核实处理后，运行：houqin-agent retry {item.report_id[:8]}"
    )


def print_refusal(item: OutboxItem, read: ReadResult | None = None, prefix: str = "") -> None:
    """A report the hub refused, in a clerk's words: what happened, then what to do (the HTTP status and the
    hub's code only with ``--verbose``)."""
    e = item.hub_error or {}
    code = e.get("code")
    note = wording.http_note(item.http_status, str(code) if code else None)
    retry = f"houqin-agent retry {item.report_id[:8]}"
    if code == "period_locked":
        out(f"{prefix}{item.period} 报表没有送达：{wording.LOCKED}{note}")
        out(f"{prefix}  报表保存在本机。教育局解锁该月后运行：{retry}")
        return
    if code == "report_id_conflict":
        out(f"{prefix}{item.period} 报表没有送达：同一编号已提交过不同的内容{note}")
        out(f"{prefix}  如需修改已上报的数据，请使用 houqin-agent correct {item.period} 文件名")
        return
    if code == "school_inactive":
        out(f"{prefix}{item.period} 报表没有送达：按教育局的学校名册，本校这个月不需要报送{note}")
        said = str(e.get("message", "")).split(" / ")[0]
        out(
            f"{prefix}  {said + '：' if said else ''}本校在 {item.period} 不在办学期间（已停办或尚未开办）。"
            f"如名册有误，请联系教育局更正后运行：{retry}"
        )
        return
    if item.http_status == 401:
        out(f"{prefix}{item.period} 报表没有送达：{wording.BAD_CREDENTIAL}{note}")
        return
    if item.http_status == 429:
        out(f"{prefix}{item.period} 报表没有送达：{wording.BUSY}{note}")
        return
    details = e.get("details") or []
    if item.state == "rejected" and details:
        out(f"{prefix}{item.period} 报表被教育局退回，有 {len(details)} 处需要修改{note}：")
    else:
        message = str(e.get("message", "")).split(" / ")[0]
        out(f"{prefix}{item.period} 报表没有被教育局接收：{message or '原因不明，请联系教育局'}{note}")
    from_template = (item.source or "").lower().endswith((".xlsx", ".xlsm"))
    for d in details:
        path = str(d.get("path", ""))
        if read is not None:
            where = read.where(path)
        else:
            where = where_in_template(path) if from_template else (path or "/")
        out(f"{prefix}  {describe_issue(where, path, str(d.get('code', '')), str(d.get('message', '')))}")


# ------------------------------------------------------------------------------------------------ setup


def cmd_setup(args: argparse.Namespace, home: Path) -> int:
    try:
        existing: AgentConfig | None = load_config(home)
    except ConfigError:
        existing = None
    interactive = sys.stdin.isatty()

    def ask(prompt: str) -> str:
        if not interactive:
            raise Fail(f"缺少参数：{prompt}（非交互方式运行时请用命令行参数给出）", EXIT_USAGE)
        return input(prompt)

    try:
        hub = normalise_hub_url(args.hub or (existing.hub_url if existing else "") or ask("教育局服务器地址："))
        file_school: str | None = None
        secret: str | None = None
        if args.credential_file:
            file_school, secret = read_credential_file(Path(args.credential_file))
        school = check_school_code(
            args.school or file_school or (existing.school_code if existing else "") or ask("学校标识码（10 位数字）：")
        )
        if file_school is not None and file_school != school:
            raise Fail(f"凭据文件是学校 {file_school} 的，不是 {school} 的", EXIT_CONFIG)
        if secret is None and args.secret_stdin:
            secret = check_secret(sys.stdin.readline())
        if secret is None and existing is not None and existing.school_code == school:
            secret = existing.secret  # changing only the address or the names keeps the credential
        if secret is None:
            if not interactive:
                raise Fail("缺少凭据：请用 --credential-file 给出教育局发放的凭据文件", EXIT_USAGE)
            secret = check_secret(getpass.getpass("凭据（输入时不显示）："))
    except ConfigError as exc:
        raise Fail(str(exc), EXIT_CONFIG) from None
    if args.repin and args.no_check:
        raise Fail("--repin 需要连接教育局服务器获取签名密钥，不能与 --no-check 同时使用", EXIT_USAGE)
    cfg = AgentConfig(
        hub_url=hub,
        school_code=school,
        secret=secret,
        school_name=args.name if args.name is not None else (existing.school_name if existing else None),
        clerk=args.clerk if args.clerk is not None else (existing.clerk if existing else None),
        hub_keys=list(existing.hub_keys) if existing else [],  # pins are kept: only --repin replaces them
    )
    reachable = False
    if not args.no_check:
        client = _client(cfg, 20.0)
        try:
            resp = client.feedback(current_period())
        except HubUnreachable as exc:
            err(f"注意：暂时连不上教育局服务器（{exc}）。配置照常保存；报表会先存入发件箱，网络恢复后发送")
        else:
            if not wording.from_hub(resp):
                err(f"注意：{wording.failure(resp)}。请确认服务器地址是否正确（配置照常保存）")
            elif resp.status == 401:
                raise Fail(
                    f"教育局服务器不认可这个凭据（{resp.error.get('message', '')}）：配置未保存。"
                    "请确认学校标识码和凭据文件是教育局最新发放的",
                    EXIT_CONFIG,
                )
            elif resp.status == 200:
                out("已连接教育局服务器，凭据有效")
                reachable = True
            else:
                err(f"注意：{wording.failure(resp)}。请确认服务器地址是否正确（配置照常保存）")
        if reachable:
            _pin_at_setup(cfg, client, repin=args.repin)
        elif args.repin:
            err("注意：未能连接教育局服务器，签名密钥没有重新固定（原有的密钥保留）")
    path = save_config(home, cfg)
    out(f"配置已保存：{path}（仅本用户可读）")
    menu = _write_menu(home)
    if menu is not None:
        out(f"  双击菜单：{menu}（Windows 上双击即可生成模板、提交、查看状态，不用打开命令行）")
    out(f"  服务器：{cfg.hub_url}")
    out(f"  学校：{cfg.school_code}{' ' + cfg.school_name if cfg.school_name else ''}")
    out("  凭据：已保存（不会再显示）")
    if cfg.hub_keys:
        out(f"  回执签名密钥：已固定 {len(cfg.hub_keys)} 个（{'、'.join(str(k['key_id']) for k in cfg.hub_keys)}）")
    else:
        out("  回执签名密钥：尚未固定。首次成功同步时将自动获取并固定（首次使用即信任）")
    return EXIT_OK


def _write_menu(home: Path) -> Path | None:
    """``houqin-agent.bat`` in the agent's home (written on every OS, used on Windows): a double-clickable menu
    生成模板 / 提交 / 查看状态 for clerks who never open cmd (``school_agent.wording.menu_bat``)."""
    target = home / wording.BAT_NAME
    try:
        _write_atomically(target, wording.menu_bat(sys.executable, str(home.resolve())))
    except OSError as exc:
        err(f"注意：未能写入双击菜单 {target}：{exc.strerror or exc}")
        return None
    return target


def _pin_at_setup(cfg: AgentConfig, client: HubClient, *, repin: bool) -> None:
    """Pin the hub's published receipt keys (first setup, or ``--repin``); otherwise keep the pins and add only
    keys a pinned key endorsed, and warn when the hub now signs with a key this agent would refuse."""
    try:
        published = fetch_hub_keys(client)
        if repin or not cfg.hub_keys:
            cfg.hub_keys = first_pins(published, "repin" if repin and cfg.hub_keys else "setup")
            ids = "、".join(str(k["key_id"]) for k in cfg.hub_keys)
            out(f"已固定教育局服务器的回执签名密钥：{ids}（可与教育局 houqin keys list 显示的密钥编号核对）")
            return
        cfg.hub_keys = extend_pins(cfg.hub_keys, published)
    except KeysUnavailable as exc:
        err(f"注意：{exc}。首次成功同步时将自动获取并固定")
        return
    foreign = untrusted_current(cfg.hub_keys, published)
    if foreign:
        err(
            f"注意：教育局服务器现在使用的签名密钥 {'、'.join(foreign)} 不是本机固定的密钥，也没有得到它们的认可。"
            "本机会拒收用它签名的回执。请联系教育局核实：如果教育局确认更换了服务器或密钥，"
            "运行 houqin-agent setup --repin 重新固定"
        )


# ------------------------------------------------------------------------------------------------ template


def _open_hazards(items: list[OutboxItem]) -> list[dict[str, Any]]:
    """The school's ledger as its own reports left it: the latest entry per ref, those not rectified."""
    ledger: dict[str, dict[str, Any]] = {}
    for item in items:  # by period, then queue order: later entries update earlier ones
        for h in item.report.get("hazards") or []:
            if isinstance(h, dict) and isinstance(h.get("ref"), str):
                ledger[h["ref"]] = h
    open_ = [h for h in ledger.values() if not h.get("rectified_on")]
    return sorted(open_, key=lambda h: (str(h.get("found_on", "")), h["ref"]))


RESTORED_NAME = "restored.json"


def _ask_hub(cfg: AgentConfig, path: str) -> tuple[HubResponse | None, str | None]:
    """One signed GET; (the hub's answer, None) or (None, why it could not be had, in the clerk's words)."""
    try:
        resp = _client(cfg, 20.0).get(path)
    except HubUnreachable as exc:
        return None, str(exc)
    if not wording.from_hub(resp):
        return None, wording.failure(resp)
    return resp, None


def _period_state(cfg: AgentConfig, period: str) -> tuple[dict[str, Any] | None, str | None]:
    """The hub's state of ``period`` for this school (``GET /api/v1/period-state``), or why not."""
    resp, why = _ask_hub(cfg, f"/api/v1/period-state?period={period}")
    if resp is None:
        return None, why
    if resp.status != 200 or not isinstance(resp.json, dict):
        return None, wording.failure(resp)
    return resp.json, None


def _restored(home: Path) -> dict[str, Any] | None:
    """The report ``houqin-agent restore`` saved (``{period, content}``), or None."""
    try:
        data = json.loads((home / RESTORED_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("period"), str) and isinstance(data.get("content"), dict):
        return data
    return None


def _hub_last_report(cfg: AgentConfig, before: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The hub's last accepted report of this school (before ``before``): ({period, content} | None, why not)."""
    path = "/api/v1/last-report" + (f"?before={before}" if before else "")
    resp, why = _ask_hub(cfg, path)
    if resp is None:
        return None, why
    if resp.status == 404:
        return None, None
    data = resp.json
    if resp.status != 200 or not isinstance(data, dict) or not isinstance(data.get("content"), dict):
        return None, wording.failure(resp)
    return data, None


def cmd_restore(args: argparse.Namespace, home: Path) -> int:
    """A new PC: fetch the school's last accepted report from the hub, so that ``template`` prefills from it."""
    cfg = _config(home)
    found, why = _hub_last_report(cfg, None)
    if why is not None:
        raise Fail(f"未能从教育局服务器取回报表：{why}", EXIT_QUEUED)
    if found is None:
        out("教育局服务器上还没有本校已接收的报表，没有可取回的内容。生成的模板将不预填，请逐项填写")
        return EXIT_OK
    school = found.get("school_code") or found["content"].get("school_code")
    if school != cfg.school_code:
        raise Fail(f"教育局服务器返回的是学校 {school} 的报表，不是本校 {cfg.school_code} 的，没有保存", EXIT_REFUSED)
    data = {"period": found["period"], "content": found["content"]}
    _write_atomically(home / RESTORED_NAME, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    hazards = [h for h in found["content"].get("hazards") or [] if isinstance(h, dict) and not h.get("rectified_on")]
    out(f"已从教育局服务器取回本校 {found['period']} 的报表（教育局已接收的版本）")
    out(
        f"  以后生成模板时，发件箱中没有以前的报表，就按它预填不变的数值和未整改的隐患（{len(hazards)} 条）。"
        f"例如：houqin-agent template {period_add(found['period'], 1)}"
    )
    return EXIT_OK


def _bureau_findings(cfg: AgentConfig, period: str, known: set[str]) -> list[dict[str, Any]]:
    """The bureau's open 督查 findings (``DC-…``, the feedback's ``inspection_findings``) that the school's own
    ledger does not list yet, as hazard entries for the template; none when the hub cannot be asked."""
    resp, _why = _ask_hub(cfg, f"/api/v1/feedback?period={period}")
    if resp is None or resp.status != 200 or not isinstance(resp.json, dict):
        return []
    found = resp.json.get("inspection_findings") or []
    return [f for f in found if isinstance(f, dict) and isinstance(f.get("ref"), str) and f["ref"] not in known]


def _template_state_check(
    cfg: AgentConfig, period: str, has_local: bool
) -> tuple[list[str], str | None, list[dict[str, Any]] | None]:
    """Before anything is filled: the hub's word on the month. A locked month ends the command; an already
    reported one is said. Returns the notes to print (the hub unreachable: said, and the template made), the
    report standard the hub names for the month (``None`` when it cannot be asked) and the month's tasks of the
    county's 后勤行事历 (@2; ``None`` when not named)."""
    state, why = _period_state(cfg, period)
    if state is None:
        return [f"未能向教育局服务器核对 {period} 是否已报送或已锁定（{why}）"], None, None
    if state.get("locked") is True:
        raise Fail(f"{period}：{wording.LOCKED}。没有生成模板", EXIT_REFUSED)
    notes = []
    if state.get("reported") is True and not has_local:
        n = int(state.get("revisions") or 1)
        notes.append(
            f"教育局已收到本校 {period} 的报表（共 {n} 版）。再次报送将作为更正（第 {n + 1} 版），"
            "请只在需要修改已报数据时填写"
        )
    if state.get("expected") is False:
        notes.append(f"按教育局的安排，本校 {period} 不需要报送（假期月份或不在办学期间）")
    standard = state.get("standard")
    raw_tasks = state.get("calendar_tasks")
    tasks = (
        [t for t in raw_tasks if isinstance(t, dict) and isinstance(t.get("code"), str)]
        if isinstance(raw_tasks, list)
        else None
    )
    return notes, standard if standard in STANDARDS else None, tasks


def cmd_template(args: argparse.Namespace, home: Path) -> int:
    from .template import build_template, prefill_values

    cfg = _config(home)
    period = _period_arg(args.period)
    if period > current_period():
        raise Fail(f"不能生成未来月份（{period}）的模板，本月是 {current_period()}")
    target = Path(args.output) if args.output else Path.cwd() / f"后勤月报_{cfg.school_code}_{period}.xlsx"
    if target.exists() and not args.force:
        raise Fail(f"文件已存在：{target}（里面可能已有填写的内容）。如需重新生成，请加 --force 或用 -o 指定新文件名")
    with _outbox(home) as ob:
        same = ob.for_period(cfg.school_code, period)
        earlier = ob.accepted_reports(cfg.school_code, before_period=period)
    state_notes, standard, calendar_tasks = (
        ([], None, None) if args.offline else _template_state_check(cfg, period, bool(same))
    )
    if standard is None:  # the hub not asked: the version of the school's own latest report of the month or before
        mine = same or earlier
        found = mine[-1].report.get("standard") if mine else None
        standard = found if found in STANDARDS else STANDARD_ID
    correcting = bool(same)
    prefilled_from: str | None = None
    if same:
        source = same[-1]
        prefill = prefill_values(source.report, full=True)
        hazards = [h for h in source.report.get("hazards") or [] if isinstance(h, dict)]
        note = f"{period} 已提交过：已按已提交的报表预填全部数值，修改后请用 houqin-agent correct {period} 提交更正"
    elif earlier:
        previous = earlier[-1]
        prefill = prefill_values(previous.report)
        hazards = _open_hazards(earlier)
        prefilled_from = f" {previous.period} 的报表"
        note = f"已按 {previous.period} 的报表预填不变的数值（在校人数、占地面积、床位数等）"
    else:  # a new PC: the hub's last accepted report (asked now, or fetched by ``restore``)
        hub_copy, why = (None, None) if args.offline else _hub_last_report(cfg, period)
        restored = _restored(home)
        if hub_copy is None and restored is not None and restored["period"] < period:
            hub_copy = restored
        if hub_copy is not None:
            content = hub_copy["content"]
            prefill = prefill_values(content)
            hazards = [h for h in content.get("hazards") or [] if isinstance(h, dict) and not h.get("rectified_on")]
            prefilled_from = f"教育局已接收的 {hub_copy['period']} 报表"
            note = (
                f"发件箱中没有以前的报表：已按教育局已接收的 {hub_copy['period']} 报表预填不变的数值"
                "（在校人数、占地面积、床位数等）"
            )
        else:
            prefill, hazards = {}, []
            note = "没有找到本校以前的报表（发件箱和教育局服务器上都没有），模板未预填，请逐项填写" + (
                f"（未能连接教育局服务器：{why}）" if why else ""
            )
    if not args.offline and not correcting:
        hazards = hazards + _bureau_findings(cfg, period, {str(h.get("ref")) for h in hazards})
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        build_template(
            target,
            school_code=cfg.school_code,
            period=period,
            school_name=cfg.school_name,
            prefill=prefill,
            hazards=hazards,
            prepared_by=cfg.clerk,
            prefilled_from=prefilled_from,
            standard=standard,
            calendar_tasks=calendar_tasks if standard == STANDARD_ID_2 else None,
        )
    except PermissionError:
        raise Fail(f"无法写入 {target}：请先在 Excel 中关闭该文件") from None
    for line in state_notes:
        out(f"注意：{line}")
    out(f"已生成 {period} 月报模板：{target}")
    if standard != STANDARD_ID:
        out("  本月按第 2 版数据标准填报：另有行事历、食堂管控、食堂库存、意见箱四张表")
    out(f"  {note}")
    if correcting:
        out(f"  隐患台账已预填该月报表中的隐患 {len(hazards)} 条")
        out(f'  改好并关闭 Excel 后运行：houqin-agent correct {period} "{target.name}"')
    else:
        out(f"  隐患台账已预填未整改的隐患 {len(hazards)} 条")
        out(f'  填好并关闭 Excel 后运行：houqin-agent submit "{target.name}"')
    return EXIT_OK


# ------------------------------------------------------------------------------------------------ submit


def _sync_options(args: argparse.Namespace, *, quick: bool) -> SyncOptions:
    return SyncOptions(
        max_attempts=args.max_attempts or (3 if quick else 5),
        backoff_base=args.backoff_base if args.backoff_base is not None else 1.0,
        max_time=args.max_time or (60.0 if quick else 600.0),
        verbose=not getattr(args, "quiet", False),
    )


def _push(
    home: Path, cfg: AgentConfig, options: SyncOptions, *, lock_wait: float, timeout: float | None
) -> SyncResult | None:
    """Run the pusher under the sync lock; None when another process holds it."""
    lock = FileLock(home / LOCK_NAME)
    if not lock.acquire(timeout=lock_wait):
        return None
    try:
        client = _client(cfg, timeout)
        with _outbox(home) as ob:
            return Pusher(ob, client, options, checker=_checker(home, cfg, client), out=out).run()
    finally:
        lock.release()


def _read_checked(path: Path, cfg: AgentConfig, expected_period: str | None) -> ReadResult:
    try:
        read = read_file(path)
    except InputError as exc:
        raise Fail(str(exc)) from None
    what = "模板" if read.kind == "xlsx" else "报表"
    if read.school_code is not None and read.school_code != cfg.school_code:
        raise Fail(
            f"这是学校 {read.school_code} 的{what}，本机配置的学校是 {cfg.school_code}，不能代替其他学校提交。"
            f"请运行 houqin-agent template 月份 生成本校的模板"
        )
    if expected_period is not None and read.period is not None and read.period != expected_period:
        raise Fail(
            f"这是 {read.period} 的{what}，不是 {expected_period} 的。请运行 houqin-agent template "
            f"{expected_period} 生成该月模板，或检查月份是否写错"
        )
    return read


def _complete_report(read: ReadResult, cfg: AgentConfig, period: str | None, *, new_id: bool) -> dict[str, Any]:
    report = dict(read.report)
    report.setdefault("standard", STANDARD_ID)
    report.setdefault("school_code", cfg.school_code)
    if period is not None:
        report.setdefault("period", period)
    if "prepared_by" not in report and cfg.clerk:
        report["prepared_by"] = cfg.clerk
        read.notices.append(f"填报人未填写，已使用本机设置的填报人：{cfg.clerk}")
    if read.kind == "xlsx" or "prepared_at" not in report:
        report["prepared_at"] = datetime.now(SHANGHAI).replace(microsecond=0).isoformat()
    if new_id or read.kind == "xlsx" or "report_id" not in report:
        report["report_id"] = str(uuid.uuid4())
    elif isinstance(report["report_id"], str):
        report["report_id"] = report["report_id"].lower()
    return report


def _previous_month(ob: Outbox, school: str, period: Any) -> dict[str, Any] | None:
    try:
        prev = period_add(period, -1)
    except (ValueError, TypeError):
        return None
    items = ob.for_period(school, prev)
    return items[-1].report if items else None


_NEGATIVE_CODES = frozenset({"negative", "money_negative", "quantity_negative"})


def _typed(report: Mapping[str, Any], path: str) -> Any:
    """The value at a JSON pointer of the report, or None."""
    node: Any = report
    for part in path.split("/")[1:]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _validate(read: ReadResult, report: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    """Errors end the command (nothing saved); the notices (what the agent filled in for the clerk) are
    returned, to be said only once the report is saved: before that they would sound like success."""
    # the codes of the month's 后勤行事历 tasks the hub listed in the template (None: it listed none, the hub checks)
    result = validate_report(report, previous=previous, calendar_codes=read.calendar_codes)
    errors = [e for e in result.errors if not read.covered(e.path)]

    def described(e: Any) -> str:
        text = read.describe(e)
        typed = _typed(report, e.path) if e.code in _NEGATIVE_CODES else None
        if typed is not None and "现为" not in text:  # echo what was typed, as every other cell error does
            text += f"（现为 {typed}）"
        return text

    located = [(i.where, str(i)) for i in read.issues] + [(read.where(e.path), described(e)) for e in errors]
    if read.kind == "xlsx":
        located.sort(key=lambda pair: read.sort_key(pair[0]))
    lines = [text for _where, text in located]
    if lines:
        err(f"报表有 {len(lines)} 处错误，未保存、未发送。请修改后重新提交：")
        for line in lines:
            err(f"  {line}")
        raise Fail("", EXIT_BAD_INPUT)
    for w in result.warnings:
        out(f"提示（不影响上报）：{read.describe(w)}")
    return list(read.notices)


def _standard_rate(cfg: AgentConfig, period: str) -> str | None:
    """The county's 营养餐 standard from the hub (``GET /api/v1/period-state``), or None when it cannot be
    asked now."""
    try:
        resp = _client(cfg, 10.0).get(f"/api/v1/period-state?period={period}")
    except HubUnreachable:
        return None
    data = resp.json if resp.status == 200 and wording.from_hub(resp) else None
    rate = data.get("subsidy_standard") if isinstance(data, dict) else None
    return rate if isinstance(rate, str) else None


def _confirm_prechecks(args: argparse.Namespace, cfg: AgentConfig, read: ReadResult, report: dict[str, Any]) -> None:
    """The fund rules a report can be checked against on its own (``houqin_standard.prechecks``, the hub's own
    rule code) as "请核对" warnings; the clerk confirms (y) or fixes the file first. Nothing is saved or sent
    unless confirmed; ``--yes`` confirms for scripts."""
    where = read.where if read.kind == "xlsx" else None
    found = precheck(report, where=where)
    if any(f["code"] == "NONSTANDARD_RATE" for f in found):
        rate = _standard_rate(cfg, str(report.get("period")))
        if rate is None:  # the county's own standard cannot be asked now: say nothing rather than guess
            found = [f for f in found if f["code"] != "NONSTANDARD_RATE"]
        else:
            found = precheck(report, where=where, standard_rate=rate)
    if not found:
        return
    out(f"请核对：以下 {len(found)} 项营养餐资金数据与教育局的核算规则不符（教育局收到后也会这样核算）：")
    for f in found:
        cells = "、".join(f.get("cells") or [])
        out(f"  {cells + ' ' if cells else ''}{f.get('sentence') or f['message']}")
        if f.get("sentence"):
            out(f"    计算：{f['message']}")  # the rule with the clerk's figures (the hub's words)
    if args.yes:
        out("已按 --yes 确认数据无误，继续报送")
        return
    out("如果是填错了，请修改 Excel 文件后重新提交；如果数据确实如此，请确认后报送。")
    try:
        answer = input("数据确实无误、继续报送吗？(y/N)：")
    except (EOFError, OSError):
        answer = ""
    if answer.strip().lower() not in ("y", "yes", "是", "是的"):
        raise Fail("未确认：报表未保存、未发送。请核对修改后重新提交", EXIT_BAD_INPUT)


def _accept(args: argparse.Namespace, home: Path, *, correct_period: str | None) -> int:
    """submit and correct: read, check, validate, queue durably, then push."""
    cfg = _config(home)
    expected = correct_period or (_period_arg(args.period) if args.period else None)
    path = Path(args.file)
    read = _read_checked(path, cfg, expected)
    report = _complete_report(read, cfg, expected, new_id=correct_period is not None)
    outbox_path = home / OUTBOX_NAME
    previous = None
    if outbox_path.exists():
        with _outbox(home) as ob:
            previous = _previous_month(ob, cfg.school_code, report.get("period"))
    notices = _validate(read, report, previous)
    period = str(report["period"])
    key = _content_key(report)

    def check(ob: Outbox) -> OutboxItem | None:
        """Inside the outbox's write transaction: is this report (or another one for the month) there?"""
        same_id = ob.get(report["report_id"])
        if same_id is not None:
            if _content_key(same_id.report) != key:
                raise Fail(
                    f"报表编号 {report['report_id']} 已用于另一份内容不同的报表；修改已上报的数据请使用 "
                    f"houqin-agent correct {period} {path.name}"
                )
            return same_id
        existing = ob.for_period(cfg.school_code, period)
        if correct_period is None and existing:
            twin = next((e for e in existing if _content_key(e.report) == key), None)
            if twin is None:
                raise Fail(
                    f"{period} 的报表已经提交过（编号 {existing[-1].report_id[:8]}，"
                    f"{STATE_ZH[existing[-1].state]}）。如需修改已上报的数据，请使用：\n"
                    f'  houqin-agent correct {period} "{path.name}"'
                )
            return twin
        if correct_period is not None:
            if not existing:
                raise Fail(f'{period} 还没有提交过报表，请使用 houqin-agent submit "{path.name}"')
            if _content_key(existing[-1].report) == key:
                raise Fail(f"内容与已提交的 {period} 报表完全相同，无需更正")
        return None

    twin = None
    if outbox_path.exists():  # "already submitted, use correct" is said before any question is asked
        with _outbox(home) as ob:
            twin = check(ob)
    if twin is None:  # a report already in the outbox was confirmed when it was saved
        _confirm_prechecks(args, cfg, read, report)
    with _outbox(home) as ob:
        kind = "correction" if correct_period else "report"
        item, added = ob.queue(report, kind=kind, source=path.name, check=check)
    if added:
        out(f"已保存到发件箱：{period} {'更正' if correct_period else '报表'}（编号 {item.report_id}）")
        for notice in notices:  # only now: "已自动编号" is true once the report is saved
            out(f"说明：{notice}")
    else:
        out(f"{period} 的这份报表已在发件箱中（编号 {item.report_id[:8]}，{STATE_ZH[item.state]}），不再重复保存")

    if item.state == "sent":
        _print_receipt(item)
        return EXIT_OK
    if item.state in ("rejected", "conflict"):
        print_refusal(item, read)
        return EXIT_REFUSED
    if item.state == "receipt_invalid":
        _print_receipt_invalid(item)
        return EXIT_RECEIPT_INVALID
    if args.no_push:
        out("未发送（--no-push）：运行 houqin-agent sync 发送")
        return EXIT_OK
    result = _push(home, cfg, _sync_options(args, quick=True), lock_wait=args.wait_lock, timeout=args.timeout)
    with _outbox(home) as ob:
        final = ob.get(item.report_id)
    assert final is not None
    if result is not None:  # older reports this push settled on the way
        others = [i for i in result.sent if i.report_id != item.report_id]
        if others:
            out(f"另外送达了以前未发送的报表 {len(others)} 份：{'、'.join(sorted({i.period for i in others}))}")
        for other in result.refused:
            if other.report_id != item.report_id:
                print_refusal(other)
        for other in result.receipt_invalid:
            if other.report_id != item.report_id:
                _print_receipt_invalid(other)
    if result is None and final.state == "pending":
        out("另一个同步正在进行，这份报表已安全保存在发件箱，将由它或下一次同步发送")
        return EXIT_QUEUED
    if final.state == "sent":
        _print_receipt(final)
        return EXIT_OK
    if final.state in ("rejected", "conflict"):
        print_refusal(final, read)
        return EXIT_REFUSED
    if final.state == "receipt_invalid":
        _print_receipt_invalid(final)
        return EXIT_RECEIPT_INVALID
    reason = (result.stopped if result is not None else None) or final.last_error or "未知原因"
    out(f"暂时未能送达：{reason}")
    out("报表已安全保存在本机发件箱，不会丢失。网络恢复后运行 houqin-agent sync（或等待计划任务自动发送）")
    return EXIT_REFUSED if result is not None and result.auth_failed else EXIT_QUEUED


def cmd_submit(args: argparse.Namespace, home: Path) -> int:
    return _accept(args, home, correct_period=None)


def cmd_correct(args: argparse.Namespace, home: Path) -> int:
    return _accept(args, home, correct_period=_period_arg(args.period))


# ------------------------------------------------------------------------------------------------ sync


def cmd_sync(args: argparse.Namespace, home: Path) -> int:
    cfg = _config(home)
    quiet = args.quiet
    if not (home / OUTBOX_NAME).exists():
        if not quiet:
            out("发件箱是空的，没有待发送的报表")
        return EXIT_OK
    with _outbox(home) as ob:
        pending = ob.count("pending")
    if pending == 0:
        if not quiet:
            out("没有待发送的报表")
        return EXIT_OK
    result = _push(home, cfg, _sync_options(args, quick=False), lock_wait=args.wait_lock, timeout=args.timeout)
    if result is None:
        if not quiet:
            out("另一个同步正在进行，本次不重复发送")
        return EXIT_OK
    if len(result.sent) <= 10:
        for item in result.sent:
            _print_receipt(item)
    else:  # a backlog: one line, not hundreds
        periods = sorted({i.period for i in result.sent})
        warned = sum(1 for i in result.sent if (i.receipt or {}).get("warnings"))
        out(
            f"已送达教育局 {len(result.sent)} 份（{periods[0]} 至 {periods[-1]}），其中带提示的 {warned} 份；"
            "回执见 houqin-agent status --all"
        )
    for item in result.refused:
        print_refusal(item)
    for item in result.receipt_invalid:
        _print_receipt_invalid(item)
    out(
        f"本次同步：送达 {len(result.sent)} 份，被退回 {len(result.refused)} 份，"
        + (f"回执无效 {len(result.receipt_invalid)} 份，" if result.receipt_invalid else "")
        + f"仍待发送 {result.pending_left} 份"
    )
    if result.pending_left:
        out(f"未能全部发送：{result.stopped or '未知原因'}。报表保存在发件箱，下次同步会继续")
    if result.receipt_invalid:
        return EXIT_RECEIPT_INVALID
    if result.auth_failed or result.refused:
        return EXIT_REFUSED
    return EXIT_QUEUED if result.pending_left else EXIT_OK


def cmd_retry(args: argparse.Namespace, home: Path) -> int:
    cfg = _config(home)
    with _outbox(home) as ob:
        matches = ob.find(args.report_id)
        if len(matches) != 1:
            raise Fail(f"发件箱中{'没有' if not matches else '有多份'}编号以 {args.report_id} 开头的报表")
        item = matches[0]
        if item.state not in ("rejected", "conflict", "receipt_invalid"):
            raise Fail(f"编号 {item.report_id[:8]} 的报表状态是“{STATE_ZH[item.state]}”，无需重新排队")
        ob.requeue(item.report_id)
    out(f"{item.period} 报表（编号 {item.report_id[:8]}）已重新排队")
    if args.no_push:
        return EXIT_OK
    args.quiet = False
    args.wait_lock = 5.0
    _ = cfg  # configured: checked above
    return cmd_sync(args, home)


# ------------------------------------------------------------------------------------------------ status


def _deadline_lines_hub(ob: Outbox | None, cfg: AgentConfig, deadline_day: int, *, offline: bool) -> list[str]:
    """截止时间 of last month (when not yet reported) and this month, with the days left or late as the hub's
    reporting calendar counts them (``GET /api/v1/period-state``: the hub's clock and the county's deadline),
    never from this PC's date. Offline, or the hub not answering: the deadlines without a count of days."""
    cur = current_period()
    prev = period_add(cur, -1)
    lines = []

    def when(period: str, state: dict[str, Any] | None) -> str:
        if state is not None and isinstance(state.get("deadline"), str):
            return _fmt_time(state["deadline"])
        return period_deadline(period, deadline_day).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")

    states: dict[str, dict[str, Any] | None] = {}
    why: str | None = "--offline：未连接服务器" if offline else None
    for period in (prev, cur):
        states[period] = None
        if why is None:
            states[period], why = _period_state(cfg, period)
    prev_state = states[prev]
    prev_done = bool(ob.for_period(cfg.school_code, prev)) if ob is not None else False
    if prev_state is not None:
        prev_done = prev_done or prev_state.get("reported") is True
    if not prev_done:
        if prev_state is None:
            lines.append(f"上月（{prev}）报表尚未提交：截止 {when(prev, None)}")
        elif int(prev_state.get("days_late") or 0) > 0:
            lines.append(
                f"上月（{prev}）报表尚未提交，已逾期 {prev_state['days_late']} 天（截止 {when(prev, prev_state)}），"
                "请尽快提交"
            )
        else:
            left = prev_state.get("days_left")
            soon = "今天截止！" if left == 0 else f"还有 {left} 天"
            lines.append(f"上月（{prev}）报表尚未提交：截止 {when(prev, prev_state)}，{soon}")
    cur_state = states[cur]
    if cur_state is not None and cur_state.get("days_left") is not None:
        lines.append(f"本月（{cur}）报表截止 {when(cur, cur_state)}，还有 {cur_state['days_left']} 天")
    else:
        lines.append(f"本月（{cur}）报表截止 {when(cur, cur_state)}")
    if why is not None:
        lines.append(f"（剩余和逾期天数以教育局服务器为准，现在无法核对：{why}）")
    return lines


def feedback_lines(fb: dict[str, Any]) -> list[str]:
    """The hub's feedback in the clerk's words (``school_agent.wording.feedback_lines``): every known field in
    Chinese, the ranking as 得分/等级/排名/数据不全, an unknown future field skipped, never dumped raw."""
    return wording.feedback_lines(fb)


def _score_lines(fb: dict[str, Any]) -> list[str]:
    """The school's score and rank as the hub ranked it (the bureau's own figures, never computed here)."""
    return wording.score_lines(fb)


def _fetch_signed_receipts(home: Path, cfg: AgentConfig, ob: Outbox, *, limit: int | None) -> tuple[int, list[str]]:
    """Sent reports whose receipt was never verified (kept by an agent older than receipt signing): fetch the
    hub's signed copy (``GET /api/v1/reports/<id>``), check it like a pushed one, keep it. Under the sync lock
    (it may pin keys); skipped while another sync holds it. Returns (how many stored, notes for the clerk)."""
    todo = [i for i in ob.items(("sent",)) if i.receipt_verified_at is None and i.school_code == cfg.school_code]
    if not todo:
        return 0, []
    lock = FileLock(home / LOCK_NAME)
    if not lock.acquire(timeout=0):
        return 0, []
    stored, notes = 0, []
    try:
        client = _client(cfg, 20.0)
        checker = _checker(home, cfg, client)
        for item in todo[:limit]:
            try:
                resp = client.receipt(item.report_id)
            except HubUnreachable as exc:
                notes.append(f"未能从教育局服务器取回签名回执：{exc}")
                break
            receipt = resp.json
            if resp.status != 200 or not isinstance(receipt, dict):
                notes.append(
                    f"{item.period} 报表（编号 {item.report_id[:8]}）的签名回执未能取回（HTTP {resp.status}）"
                    + ("：教育局服务器上查不到这份报表，请联系教育局核实" if resp.status == 404 else "")
                )
                continue
            try:
                kid = checker.check(
                    receipt, report_id=item.report_id, school_code=item.school_code, period=item.period, body=item.body
                )
            except KeysUnavailable as exc:
                notes.append(str(exc))
                break
            except ReceiptInvalid as exc:
                forged = json.dumps(receipt, ensure_ascii=False)
                ob.note_event(item.report_id, "receipt_invalid", f"{exc.code}: {exc}\n{forged}", resp.status)
                notes.append(
                    f"{item.period} 报表（编号 {item.report_id[:8]}）从教育局服务器取回的回执未通过校验：{exc}。"
                    "网络中可能有人冒充教育局服务器，或服务器出了问题：请联系教育局信息中心核实"
                )
                continue
            if ob.store_verified_receipt(item.report_id, receipt, kid):
                stored += 1
    finally:
        lock.release()
    return stored, notes


def cmd_status(args: argparse.Namespace, home: Path) -> int:
    cfg = _config(home)
    limit = None if args.all else 12
    ob = _outbox(home) if (home / OUTBOX_NAME).exists() else None
    try:
        receipt_notes: list[str] = []
        if ob is not None and not args.offline:
            _stored, receipt_notes = _fetch_signed_receipts(home, cfg, ob, limit=20)
        counts = ob.counts() if ob else dict.fromkeys(STATE_ZH, 0)
        items = ob.items(newest_first=True, limit=None) if ob else []
        sent_periods = sorted({i.period for i in items if i.state in ("sent", "pending")})
        period = (
            _period_arg(args.period)
            if args.period
            else (sent_periods[-1] if sent_periods else period_add(current_period(), -1))
        )
        feedback: dict[str, Any] | None = None
        feedback_error: str | None = None
        if not args.offline:
            try:
                resp = _client(cfg, 20.0).feedback(period)
                if resp.status == 200 and isinstance(resp.json, dict) and wording.from_hub(resp):
                    feedback = resp.json
                else:
                    feedback_error = wording.failure(resp)
            except HubUnreachable as exc:
                feedback_error = str(exc)
        deadline_day = 5
        if feedback and isinstance(feedback.get("deadline"), str):
            try:
                deadline_day = datetime.fromisoformat(feedback["deadline"]).day
            except ValueError:
                pass
        deadlines = _deadline_lines_hub(ob, cfg, deadline_day, offline=args.offline)
        if args.json:
            out(
                json.dumps(
                    {
                        "config": cfg.public(),
                        "counts": counts,
                        "items": [
                            {
                                "report_id": i.report_id,
                                "period": i.period,
                                "kind": i.kind,
                                "state": i.state,
                                "attempts": i.attempts,
                                "last_error": i.last_error,
                                "receipt": i.receipt,
                                "receipt_verified_at": i.receipt_verified_at,
                                "receipt_key_id": i.receipt_key_id,
                                "receipt_error": i.receipt_error,
                                "hub_error": i.hub_error,
                                "created_at": i.created_at,
                            }
                            for i in items[:limit]
                        ],
                        "receipt_notes": receipt_notes,
                        "feedback_period": period,
                        "feedback": feedback,
                        "feedback_error": feedback_error,
                        "deadlines": deadlines,
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
            return EXIT_OK
        out(f"学校：{cfg.school_code}{' ' + cfg.school_name if cfg.school_name else ''}    服务器：{cfg.hub_url}")
        out(
            f"发件箱：待发送 {counts['pending']} 份，已送达 {counts['sent']} 份，被退回 {counts['rejected']} 份，"
            f"冲突 {counts['conflict']} 份"
            + (f"，回执无效 {counts['receipt_invalid']} 份" if counts.get("receipt_invalid") else "")
        )
        invalid = [i for i in items if i.state == "receipt_invalid"][:limit]
        if invalid:
            out("回执无效（请联系教育局）：")
            for i in invalid:
                _print_receipt_invalid(i, prefix="  ")
        pending = [i for i in items if i.state == "pending"]
        if pending:
            out("待发送：")
            for i in sorted(pending, key=lambda x: x.seq)[:limit]:
                out(
                    f"  {i.period}  编号 {i.report_id[:8]}  已尝试 {i.attempts} 次"
                    + (f"  最近错误：{i.last_error}" if i.last_error else "")
                )
        sent = [i for i in items if i.state == "sent"][:limit]
        if sent:
            out("已送达：")
            for i in sent:
                r = i.receipt or {}
                out(
                    f"  {i.period}  第 {r.get('revision', '?')} 版  {_fmt_time(r.get('received_at'))} 接收"
                    f"  {'按时' if r.get('on_time') else '逾期'}  编号 {i.report_id[:8]}"
                    f"  回执校验码 {str(r.get('content_sha256', ''))[:12]}"
                    + ("" if i.receipt_verified_at else "  （回执签名尚未核对）")
                )
        for note in receipt_notes:
            out(f"注意：{note}")
        refused = [i for i in items if i.state in ("rejected", "conflict")][:limit]
        if refused:
            out("被退回 / 冲突：")
            for i in refused:
                print_refusal(i, prefix="  ")
        out(f"教育局反馈（{period}）：")
        if feedback is not None:
            for line in feedback_lines(feedback):
                out(f"  {line}")
        elif args.offline:
            out("  （--offline：未连接服务器）")
        else:
            out(f"  暂时无法获取：{feedback_error}")
        out("截止时间：")
        for line in deadlines:
            out(f"  {line}")
        return EXIT_OK
    finally:
        if ob is not None:
            ob.close()


# ------------------------------------------------------------------------------------------------ receipts

EXPORT_FORMAT = "houqin-agent/receipts@1"


def _received_key(receipt: Mapping[str, Any]) -> datetime:
    try:
        when = datetime.fromisoformat(str(receipt.get("received_at")))
    except ValueError:
        return datetime.max.replace(tzinfo=SHANGHAI)
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # a file to hand over, not a secret (mkstemp made it 0600)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def cmd_receipts_export(args: argparse.Namespace, home: Path) -> int:
    """Every verified receipt of this school, oldest first, with the pinned hub keys: a file for an auditor
    (``houqin audit verify-receipt FILE`` on the hub; ``houqin-agent receipts verify FILE`` here)."""
    cfg = _config(home)
    if not (home / OUTBOX_NAME).exists():
        raise Fail("发件箱中还没有报表，没有回执可导出")
    with _outbox(home) as ob:
        notes: list[str] = []
        if not args.offline:  # receipts an older agent kept unsigned: the hub's signed copies first
            stored, notes = _fetch_signed_receipts(home, cfg, ob, limit=None)
            if stored:
                out(f"已从教育局服务器取回并核对以前报表的签名回执 {stored} 份")
        sent = [i for i in ob.items(("sent",)) if i.school_code == cfg.school_code]
        invalid = ob.count("receipt_invalid")
    chosen: list[tuple[OutboxItem, dict[str, Any]]] = []
    left_out: list[str] = []
    for item in sent:
        r = item.receipt
        if r is None or item.receipt_verified_at is None:
            left_out.append(f"{item.period}（编号 {item.report_id[:8]}）：回执尚未核对签名（联网后再导出）")
            continue
        try:  # once more, now: the file must hold only what the pinned keys prove
            check_signature(r, cfg.hub_keys)
            check_matches(r, report_id=item.report_id, school_code=item.school_code, period=item.period, body=item.body)
        except (ReceiptInvalid, KeysUnavailable) as exc:
            left_out.append(f"{item.period}（编号 {item.report_id[:8]}）：{exc}")
            continue
        chosen.append((item, r))
    if not chosen:
        for line in [*notes, *left_out]:
            err(f"  {line}")
        raise Fail("没有经签名核对的回执可导出（还没有送达的报表，或回执尚未核对）")
    chosen.sort(key=lambda pair: (_received_key(pair[1]), pair[0].seq))
    exported_at = datetime.now(SHANGHAI).replace(microsecond=0)
    doc = {
        "format": EXPORT_FORMAT,
        "school_code": cfg.school_code,
        "school_name": cfg.school_name,
        "exported_at": exported_at.isoformat(),
        "hub_url": cfg.hub_url,
        "hub_keys": cfg.hub_keys,
        "receipts": [r for _item, r in chosen],
    }
    target = (
        Path(args.output)
        if args.output
        else Path.cwd() / f"{cfg.school_code}_回执_{exported_at.date().isoformat()}.json"
    )
    try:
        _write_atomically(target, (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise Fail(f"无法写入 {target}：{exc.strerror or exc}") from None
    periods = [str(r.get("period")) for _i, r in chosen]
    out(f"已导出 {len(chosen)} 份回执（{min(periods)} 至 {max(periods)}），每份的教育局签名均已核对：{target}")
    out("  可把这个文件交给审计人员：在教育局服务器上运行 houqin audit verify-receipt 文件名 即可核对")
    for line in [*notes, *left_out]:
        out(f"  注意：未导出 {line}" if line in left_out else f"  注意：{line}")
    if invalid:
        out(f"  注意：另有 {invalid} 份报表的回执未通过校验，没有导出（见 houqin-agent status）")
    return EXIT_OK


def _receipts_in(data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("receipts"), list):
        return list(data["receipts"])
    return [data]


def cmd_receipts_verify(args: argparse.Namespace, home: Path) -> int:
    """Check a receipt file offline against the keys pinned here (never against keys the file brings)."""
    cfg = _config(home)
    path = Path(args.file)
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise Fail(f"无法读取 {path}：{exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Fail(f"{path.name} 不是回执文件（应为 houqin-agent receipts export 导出的 JSON）") from None
    if not cfg.hub_keys:
        raise Fail(
            "本机还没有固定教育局服务器的回执签名密钥，无法核对：请先联网运行 houqin-agent sync 或 setup", EXIT_CONFIG
        )
    receipts = _receipts_in(data)
    if not receipts:
        raise Fail(f"{path.name} 中没有回执")
    ob = _outbox(home) if (home / OUTBOX_NAME).exists() else None
    bad = 0
    try:
        for r in receipts:
            if not isinstance(r, dict):
                bad += 1
                out(f"不通过  {r!r:.40}：回执格式不对")
                continue
            label = f"{r.get('period', '?')} 第 {r.get('revision', '?')} 版 编号 {str(r.get('report_id', '?'))[:8]}"
            try:
                kid = check_signature(r, cfg.hub_keys)
                item = ob.get(str(r.get("report_id", ""))) if ob is not None else None
                if item is not None:
                    check_matches(
                        r, report_id=item.report_id, school_code=item.school_code, period=item.period, body=item.body
                    )
            except ReceiptInvalid as exc:
                bad += 1
                out(f"不通过  {label}：{exc}")
                continue
            except KeysUnavailable as exc:
                raise Fail(str(exc)) from None
            where = "，与本机发件箱中的报表一致" if item is not None else "（本机发件箱中没有这份报表，只核对了签名）"
            out(f"通过    {label}：教育局密钥 {kid} 签名有效{where}")
    finally:
        if ob is not None:
            ob.close()
    if isinstance(data, dict) and isinstance(data.get("hub_keys"), list):
        foreign = sorted(
            {str(k.get("key_id")) for k in data["hub_keys"] if isinstance(k, dict)}
            - {str(k["key_id"]) for k in cfg.hub_keys}
        )
        if foreign:
            out(f"说明：文件中列出的密钥 {'、'.join(foreign)} 不是本机固定的密钥，核对时没有使用")
    out(f"共 {len(receipts)} 份回执：通过 {len(receipts) - bad} 份，不通过 {bad} 份")
    if bad:
        out("有回执不通过：内容被改动过，或不是教育局服务器签发的。请联系教育局信息中心核实")
        return EXIT_BAD_INPUT
    return EXIT_OK


def cmd_receipts(args: argparse.Namespace, home: Path) -> int:
    args.receipts_parser.print_help()
    return EXIT_USAGE


# ------------------------------------------------------------------------------------------------ main


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own words, plus a Chinese hint; exit code 2
        self.print_usage(sys.stderr)
        err(f"命令参数有误：{message}\n运行 houqin-agent --help 查看用法")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="houqin-agent",
        description="学校后勤月报上报程序（Houqin 后勤）",
        epilog="退出码：0 完成；1 文件或报表有误（未保存）；2 命令参数有误；3 已保存在发件箱但尚未送达；"
        "4 教育局退回或凭据无效；5 尚未配置；6 回执未通过签名校验（请联系教育局）",
    )
    p.add_argument("--version", action="version", version=f"houqin-agent {__version__}")
    p.add_argument("--home", help="数据目录（默认：环境变量 HOUQIN_AGENT_HOME 或用户目录）")
    p.add_argument("-v", "--verbose", action="store_true", help="出错时同时显示 HTTP 状态码等技术信息（给信息中心看）")
    sub = p.add_subparsers(dest="command", metavar="命令", parser_class=_Parser)
    _add_parser = sub.add_parser

    def add_parser(name: str, **kw: Any) -> argparse.ArgumentParser:
        """Every command also takes ``--verbose`` after its name (``houqin-agent submit 文件 --verbose``)."""
        x = _add_parser(name, **kw)
        x.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return x

    # argparse has no hook for an option every subcommand shares; the wrapper keeps add_parser's behaviour but
    # not typeshed's long keyword signature.
    sub.add_parser = add_parser  # type: ignore[method-assign, assignment]

    s = sub.add_parser("setup", help="配置服务器地址、学校标识码和凭据")
    s.add_argument("--hub", help="教育局服务器地址，如 https://houqin.example.gov.cn")
    s.add_argument("--school", help="学校标识码（10 位数字）")
    s.add_argument("-c", "--credential-file", help="教育局发放的凭据文件（houqin schools credential -o 生成的 JSON）")
    s.add_argument("--secret-stdin", action="store_true", help="从标准输入读取凭据（自动化部署用）")
    s.add_argument("--name", help="学校名称（显示在模板上）")
    s.add_argument("--clerk", help="默认填报人")
    s.add_argument("--no-check", action="store_true", help="不连接服务器检查凭据（也不固定签名密钥）")
    s.add_argument(
        "--repin",
        action="store_true",
        help="重新固定教育局服务器的回执签名密钥（仅在教育局确认更换了服务器或密钥后使用）",
    )
    s.set_defaults(func=cmd_setup)

    t = sub.add_parser("template", help="生成某月的 Excel 月报模板")
    t.add_argument("period", metavar="月份", help="YYYY-MM，如 2026-10")
    t.add_argument("-o", "--output", help="保存为（默认：当前目录下 后勤月报_学校_月份.xlsx）")
    t.add_argument("--force", action="store_true", help="覆盖已存在的文件")
    t.add_argument("--offline", action="store_true", help="不连接服务器（不核对该月是否已锁定，不从服务器预填）")
    t.set_defaults(func=cmd_template)

    def push_options(x: argparse.ArgumentParser) -> None:
        x.add_argument("--max-attempts", type=int, default=None, help="每份报表本次最多尝试次数")
        x.add_argument("--max-time", type=float, default=None, help="本次最多用时（秒）")
        x.add_argument("--backoff-base", type=float, default=None, help="重试等待的起始秒数（默认 1）")
        x.add_argument("--timeout", type=float, default=None, help="等待服务器回复的秒数（默认 60）")

    su = sub.add_parser("submit", help="检查并提交填好的月报（.xlsx 或 .json）")
    su.add_argument("file", metavar="文件")
    su.add_argument("--period", help="确认月份（YYYY-MM）：文件不是该月的则拒绝")
    su.add_argument("--no-push", action="store_true", help="只保存到发件箱，不发送")
    su.add_argument("-y", "--yes", action="store_true", help="“请核对”的提示不再询问，直接确认（脚本用）")
    su.add_argument("--wait-lock", type=float, default=5.0, help="另一个同步正在运行时最多等待的秒数（默认 5）")
    push_options(su)
    su.set_defaults(func=cmd_submit)

    sy = sub.add_parser("sync", help="发送发件箱中所有待发送的报表（可由计划任务定时运行）")
    sy.add_argument("--quiet", action="store_true", help="没有待发送的报表时不输出")
    sy.add_argument("--wait-lock", type=float, default=0.0, help="另一个同步正在运行时最多等待的秒数")
    push_options(sy)
    sy.set_defaults(func=cmd_sync)

    st = sub.add_parser("status", help="发件箱状态、回执、教育局反馈和截止时间")
    st.add_argument("--period", help="查看哪个月的教育局反馈（默认：最近提交的月份）")
    st.add_argument("--all", action="store_true", help="列出全部报表")
    st.add_argument("--offline", action="store_true", help="不连接服务器")
    st.add_argument("--json", action="store_true", help="以 JSON 输出")
    st.set_defaults(func=cmd_status)

    c = sub.add_parser("correct", help="更正已提交月份的报表（提交新的一版）")
    c.add_argument("period", metavar="月份")
    c.add_argument("file", metavar="文件")
    c.add_argument("--no-push", action="store_true", help="只保存到发件箱，不发送")
    c.add_argument("-y", "--yes", action="store_true", help="“请核对”的提示不再询问，直接确认（脚本用）")
    c.add_argument("--wait-lock", type=float, default=5.0, help="另一个同步正在运行时最多等待的秒数（默认 5）")
    push_options(c)
    c.set_defaults(func=cmd_correct)

    r = sub.add_parser("retry", help="把被退回或冲突的报表重新排队发送（如教育局已解锁该月份）")
    r.add_argument("report_id", metavar="编号", help="报表编号（可只写前几位）")
    r.add_argument("--no-push", action="store_true")
    push_options(r)
    r.set_defaults(func=cmd_retry)

    rs = sub.add_parser("restore", help="新电脑：从教育局服务器取回本校最近一次已接收的报表，用于预填模板")
    rs.set_defaults(func=cmd_restore)

    rc = sub.add_parser("receipts", help="回执：导出（交给审计人员）、核对")
    rc.set_defaults(func=cmd_receipts, receipts_parser=rc)
    rsub = rc.add_subparsers(dest="receipts_command", metavar="操作", parser_class=_Parser)
    re_ = rsub.add_parser("export", help="导出全部经教育局签名核对的回执（JSON 文件，交给审计人员）")
    re_.add_argument("-o", "--output", help="保存为（默认：当前目录下 学校标识码_回执_日期.json）")
    re_.add_argument("--offline", action="store_true", help="不连接服务器（不取回以前未签名的回执）")
    re_.set_defaults(func=cmd_receipts_export)
    rv = rsub.add_parser("verify", help="用本机固定的教育局密钥核对回执文件（不需联网）")
    rv.add_argument("file", metavar="文件")
    rv.set_defaults(func=cmd_receipts_verify)
    return p


def _console() -> None:
    # A Windows console or a redirected log in GBK must not crash on m² or an unusual character.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def main(argv: Sequence[str] | None = None) -> int:
    _console()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    home = Path(args.home) if args.home else default_home()
    wording.VERBOSE = bool(getattr(args, "verbose", False))
    try:
        return int(args.func(args, home))
    except Fail as exc:
        if str(exc):
            err(str(exc))
        return exc.code
    except KeyboardInterrupt:
        err("已中断。已保存到发件箱的报表不会丢失")
        return 130
