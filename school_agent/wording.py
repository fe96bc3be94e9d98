"""What the clerk reads about the hub's answers (issue 19): refusals in a clerk's words, a non-hub answer
recognised, every feedback field in Chinese (an unknown future field skipped), and the Windows menu file.

The HTTP status is shown only with ``--verbose`` (``VERBOSE``, set by ``cli.main``): "HTTP 409" and "冲突" mean
nothing to a 总务处 clerk; an administrator who asks for it still gets it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from houqin_standard import SHANGHAI, fund_text

from .client import HubResponse

#: ``--verbose``: add the HTTP status and the hub's error code to messages.
VERBOSE = False

NOT_HUB = "连接到的不是教育局服务器（可能需要先登录校园网）"
LOCKED = "该月已由教育局审核锁定，不能再报送；如需更正请联系教育局"
BAD_CREDENTIAL = "教育局服务器不认可本机的凭据（可能已被更换），请向教育局索取新凭据后运行 houqin-agent setup"
CLOCK_WRONG = "本机时间与教育局服务器相差超过 5 分钟，请校准电脑的日期和时间后再试"
BUSY = "教育局服务器正忙（请求过于频繁），请稍后再试"
SERVER_ERROR = "教育局服务器暂时出了问题，请稍后再试；一直如此请联系教育局信息中心"


def http_note(status: int | None, code: str | None = None) -> str:
    """``（HTTP 409 period_locked）`` with ``--verbose``, else nothing."""
    if not VERBOSE or status is None:
        return ""
    return f"（HTTP {status}{' ' + code if code else ''}）"


def from_hub(resp: HubResponse) -> bool:
    """Whether an answer comes from the Houqin hub: every API answer carries ``X-Houqin-Time``; an error body of
    API.md's form counts too (a proxy that strips headers). A campus network's login page, a router or another
    web server at the hub's address answers neither."""
    if "x-houqin-time" in resp.headers:
        return True
    data = resp.json
    return isinstance(data, dict) and isinstance(data.get("error"), dict) and "code" in data["error"]


def failure(resp: HubResponse, *, what: str = "") -> str:
    """One answer that is not what was asked for, as a clerk's sentence (``what``: the thing asked, for 404)."""
    err = resp.error
    code = str(err.get("code", ""))
    note = http_note(resp.status, code if from_hub(resp) else None)
    if not from_hub(resp):
        if resp.status >= 500:
            return SERVER_ERROR + note
        return NOT_HUB + note
    if resp.status == 401:
        if code == "stale_timestamp":
            return CLOCK_WRONG + note
        if code == "replay":
            return "教育局服务器认为这是重复的请求，请稍后再试" + note
        return BAD_CREDENTIAL + note
    if resp.status == 429:
        return BUSY + note
    if resp.status == 409 and code == "period_locked":
        return LOCKED + note
    if resp.status >= 500:
        return SERVER_ERROR + note
    if resp.status == 404:
        return (what or "教育局服务器上没有找到所要的内容") + note
    message = str(err.get("message", "")).split(" / ")[0]
    return (message or "教育局服务器没有接受这个请求") + note


# ------------------------------------------------------------------------------------------------ feedback


def _time(iso: Any) -> str:
    if not isinstance(iso, str) or not iso:
        return "—"
    try:
        return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return "—"


def _message(v: Any) -> str | None:
    if isinstance(v, dict) and isinstance(v.get("message"), str):
        return str(v["message"])
    return None


def _revision(fb: Mapping[str, Any]) -> list[str]:
    rev = fb.get("revision")
    if not isinstance(rev, dict):
        return ["教育局尚未收到该月报表"]
    on_time = "按时" if rev.get("on_time") else "逾期"
    return [
        f"生效版本：第 {rev.get('revision')} 版（共 {fb.get('revisions')} 版），"
        f"接收时间 {_time(rev.get('received_at'))}（{on_time}）"
    ]


def _deadline(fb: Mapping[str, Any]) -> list[str]:
    return [f"报送截止：{_time(fb.get('deadline'))}"] if fb.get("deadline") else []


def _locked(fb: Mapping[str, Any]) -> list[str]:
    return ["该月份已由教育局审核锁定"] if fb.get("locked") is True else []


def _warnings(fb: Mapping[str, Any]) -> list[str]:
    return [f"提示：{m}" for m in map(_message, fb.get("warnings") or []) if m]


def _anomalies(fb: Mapping[str, Any]) -> list[str]:
    return [f"资金异常：{m}" for m in map(_anomaly, fb.get("fund_anomalies") or []) if m]


def _anomaly(v: Any) -> str | None:
    """The anomaly in the fund catalog's words (``houqin_standard.fund_text``, the hub's own), from its code and
    figures: "陪餐不足：供餐 19 天，有陪餐记录的只有 15 天，少 4 天（计算：陪餐 15 天 < 供餐 19 天）"; the hub's
    message when the catalog does not know the code or a figure is missing."""
    if isinstance(v, dict) and v.get("code") in fund_text.FUND_CODE_NAMES and isinstance(v.get("figures"), dict):
        code, figures = str(v["code"]), {str(k): str(x) for k, x in v["figures"].items()}
        said, rule = fund_text.sentence(code, figures), fund_text.detail(code, figures)
        if "{" not in said + rule:
            return f"{fund_text.name(code)}：{said}（计算：{rule}）"
    return _message(v)


def _reminders(fb: Mapping[str, Any]) -> list[str]:
    out = []
    for r in fb.get("reminders") or []:
        m = _message(r)
        if m is None and isinstance(r, dict) and isinstance(r.get("text"), str):
            m = r["text"]
        if m:
            out.append(f"提醒：{m}")
    return out


SEVERITY_ZH = {"major": "重大", "general": "一般"}


def _inspection_findings(fb: Mapping[str, Any]) -> list[str]:
    """The bureau's 督查 findings still open: each with its ref, deadline and what to do (issue 20)."""
    out = []
    for f in fb.get("inspection_findings") or []:
        if not isinstance(f, dict) or not isinstance(f.get("ref"), str):
            continue
        severity = SEVERITY_ZH.get(str(f.get("severity")), "")
        deadline = str(f.get("deadline") or "")
        when = f"{int(deadline[:4])}年{int(deadline[5:7])}月{int(deadline[8:10])}日" if len(deadline) == 10 else ""
        out.append(
            f"教育局督查发现的问题 {f['ref']}（{severity}隐患）：{f.get('description') or ''}"
            + (f"，整改期限 {when}" if when else "")
            + "。整改后在月报隐患台账中该编号一行填写整改完成日期"
        )
    return out


GRADE_ZH = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}
STATUS_ZH = {"insufficient_data": "数据不全", "veto": "一票否决", "compliant": "达标", "not_compliant": "未达标"}


def score_lines(fb: Mapping[str, Any]) -> list[str]:
    """得分/等级/排名/数据不全 in words, from the hub's own figures (never computed here); the ranking's
    snapshot id, coverage and flag codes are the bureau's bookkeeping and are not shown."""
    score, rank = fb.get("score"), fb.get("rank")
    given = fb.get("ranking")
    ranking: dict[str, Any] = given if isinstance(given, dict) else {}
    status = ranking.get("status")
    label = ranking.get("status_label") or STATUS_ZH.get(str(status), "")
    given = ranking.get("window")
    window: dict[str, Any] = given if isinstance(given, dict) else {}
    span = f"{window['from']} 至 {window['to']}" if window.get("from") and window.get("to") else ""
    if score is None and rank is None:
        if not ranking:
            return ["得分和排名：教育局尚未计算"]
        reason = label or "暂无得分"
        return [f"得分和排名：{reason}，暂不排名" + (f"（统计期间 {span}）" if span else "")]
    parts = [f"得分：{score}" if score is not None else "得分：—"]
    grade = ranking.get("grade")
    if grade:
        parts.append(f"等级：{GRADE_ZH.get(str(grade), str(grade))}")
    if rank is not None:
        total = ranking.get("schools_ranked")
        parts.append(f"排名：全县第 {rank} 名" + (f"（共 {total} 所参与排名）" if total else ""))
    else:
        parts.append("排名：暂不排名")
    if status == "insufficient_data" or label == "数据不全":
        parts.append("数据不全")
    lines = ["，".join(parts)]
    if span:
        lines.append(f"统计期间：{span}")
    return lines


def _review(fb: Mapping[str, Any]) -> list[str]:
    """已审核通过, or 被退回 with the comment and the cells to look at (``school_agent.review``, issue 18)."""
    from .review import review_lines

    return review_lines(fb)


def _standard(fb: Mapping[str, Any]) -> list[str]:
    """The report standard the county requires for the month (issue 20): said only when it is not @1."""
    standard = fb.get("standard")
    if standard == "houqin/monthly-report@2":
        return ["本月须按第 2 版数据标准填报（模板另有行事历、食堂管控、食堂库存、意见箱四张表）"]
    return []


def _calendar_tasks(fb: Mapping[str, Any]) -> list[str]:
    """@2: the month's tasks of the county's 后勤行事历, by title (the template lists them with their codes)."""
    tasks = fb.get("calendar_tasks")
    if not isinstance(tasks, list) or not tasks:
        return []
    titles = [str(t.get("title")) for t in tasks if isinstance(t, Mapping) and t.get("title")]
    return [f"本月后勤行事历任务 {len(titles)} 项：{'；'.join(titles)}"] if titles else []


#: Each field of the feedback the agent knows, with how it is rendered (None: part of another line, or the
#: request's own echo). A field not listed here (a future hub's) is skipped, never printed raw.
FEEDBACK_FIELDS: dict[str, Callable[[Mapping[str, Any]], list[str]] | None] = {
    "school_code": None,
    "period": None,
    "deadline": None,  # the status command's 截止时间 lines say it, with the hub's days
    "revision": _revision,
    "revisions": None,
    "locked": _locked,
    "review": _review,
    "warnings": _warnings,
    "fund_anomalies": _anomalies,
    "score": score_lines,
    "rank": None,
    "ranking": None,
    "reminders": _reminders,
    "inspection_findings": _inspection_findings,
    "standard": _standard,
    "calendar_tasks": _calendar_tasks,
}


def feedback_lines(fb: Mapping[str, Any]) -> list[str]:
    """The hub's feedback in the clerk's words, known fields only, in a fixed order."""
    lines: list[str] = []
    for render in FEEDBACK_FIELDS.values():
        if render is not None:
            lines += render(fb)
    return lines


# ------------------------------------------------------------------------------------------------ Windows menu

BAT_NAME = "houqin-agent.bat"


def menu_bat(python: str, home: str) -> bytes:
    """``houqin-agent.bat``: a double-clickable menu (生成模板 / 提交 / 查看状态) for clerks who never open cmd.
    UTF-8 with CRLF line ends and ``chcp 65001`` so that cmd shows the Chinese; ``python`` and ``home`` are
    the interpreter and the agent's data folder this setup used."""
    lines = [
        "@echo off",
        "chcp 65001 >nul",
        "setlocal",
        "title 后勤月报上报程序",
        f'set "HOUQIN_AGENT_HOME={home}"',
        f'set "HQ_PY={python}"',
        'cd /d "%USERPROFILE%\\Desktop" 2>nul',
        ":menu",
        "cls",
        "echo ================ 后勤月报上报程序 ================",
        "echo   1. 生成模板（某月的 Excel 月报）",
        "echo   2. 提交（填好的月报文件）",
        "echo   3. 查看状态（回执、教育局反馈、截止时间）",
        "echo   0. 退出",
        "echo ==================================================",
        'set "choice="',
        'set /p "choice=请输入数字后按回车："',
        'if "%choice%"=="1" goto template',
        'if "%choice%"=="2" goto submit',
        'if "%choice%"=="3" goto status',
        'if "%choice%"=="0" goto end',
        "goto menu",
        ":template",
        'set "period="',
        'set /p "period=月份（如 2026-10）："',
        '"%HQ_PY%" -m school_agent template %period%',
        "pause",
        "goto menu",
        ":submit",
        'set "file="',
        'set /p "file=把填好的 Excel 文件拖到这里，然后按回车："',
        '"%HQ_PY%" -m school_agent submit %file%',
        "pause",
        "goto menu",
        ":status",
        '"%HQ_PY%" -m school_agent status',
        "pause",
        "goto menu",
        ":end",
        "endlocal",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
