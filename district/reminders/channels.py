"""How a reminder leaves the hub: e-mail over SMTP (``smtplib``), and the group robots of 企业微信 (``wecom``) and
钉钉 (``dingtalk``) in their documented JSON formats.

Each sender takes a finished message and either returns or raises :class:`DeliveryError` with a short reason
that goes into the attempt log. Nothing here touches the database; ``services.deliver`` records the outcome.

- E-mail: ``HOUQIN_SMTP_URL`` is ``smtp://host:port`` (plain), ``smtp+starttls://host:port`` or
  ``smtp://host:port?starttls=1`` (STARTTLS), ``smtps://user:pass@host:465`` (implicit TLS); user and password
  may be given with any scheme. ``HOUQIN_MAIL_FROM`` is the sender. Every socket operation has a timeout
  (``HOUQIN_REMINDER_TIMEOUT_SECONDS``, default 10 s), so a server that hangs is a failed attempt, not a hung worker.
- 企业微信 group robot: ``POST <webhook url>`` with ``{"msgtype": "markdown", "markdown": {"content": ...}}``;
  it answers ``{"errcode": 0, "errmsg": "ok"}``. Markdown content is at most 4096 bytes (cut with a note).
- 钉钉 custom robot: ``POST <webhook url>`` with ``{"msgtype": "markdown", "markdown": {"title", "text"}}``;
  with 加签 (a secret starting ``SEC``) the URL gains ``&timestamp=<ms>&sign=<sign>``, where ``sign`` is the
  URL-encoded Base64 of HMAC-SHA256 over ``"<timestamp>\\n<secret>"`` keyed with the secret. It answers
  ``{"errcode": 0, ...}``; any other errcode (a wrong signature, a keyword the robot requires) is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

WECOM_MAX_BYTES = 4096
DINGTALK_MAX_BYTES = 18000  # DingTalk's markdown text limit is about 20000 bytes; keep a margin


class DeliveryError(Exception):
    """One attempt failed; ``str(exc)`` is the reason logged (never the webhook's URL or a password)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    mode: str  # plain | starttls | ssl
    user: str | None
    password: str | None
    sender: str
    timeout: float


def parse_smtp_url(url: str, sender: str, timeout: float) -> SmtpSettings:
    """``HOUQIN_SMTP_URL`` → settings; ``ValueError`` naming what is wrong."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    query = urllib.parse.parse_qs(parts.query)
    if scheme == "smtps":
        mode, default_port = "ssl", 465
    elif scheme in ("smtp+starttls", "smtp+tls"):
        mode, default_port = "starttls", 587
    elif scheme == "smtp":
        starttls = (query.get("starttls") or [""])[0].lower() in ("1", "true", "yes", "")
        mode = "starttls" if "starttls" in query and starttls else "plain"
        default_port = 25
    else:
        raise ValueError(f"HOUQIN_SMTP_URL: unsupported scheme {scheme!r} (smtp, smtp+starttls, smtps)")
    if not parts.hostname:
        raise ValueError("HOUQIN_SMTP_URL: no host")
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ValueError(f"HOUQIN_SMTP_URL: {exc}") from None
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return SmtpSettings(parts.hostname, port, mode, user, password, sender, timeout)


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:300]


def send_email(settings: SmtpSettings, to: str, subject: str, body: str) -> None:
    """One e-mail, plain text UTF-8 (Chinese subject encoded per RFC 2047 by ``email``)."""
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    msg.set_content(body, charset="utf-8")
    try:
        client: smtplib.SMTP
        if settings.mode == "ssl":
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.mode == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user:
                client.login(settings.user, settings.password or "")
            refused = client.send_message(msg)
            if refused:
                raise DeliveryError(f"recipient refused: {sorted(refused)[:3]}")
    except DeliveryError:
        raise
    except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, closed mid-message, bad TLS, auth
        raise DeliveryError(_short(exc)) from None


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    note = "\n\n……（内容过长，其余见催报记录）"
    return data[: limit - len(note.encode("utf-8"))].decode("utf-8", "ignore") + note


def wecom_payload(title: str, text: str) -> dict[str, object]:
    content = _cut(f"## {title}\n{text}", WECOM_MAX_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk_payload(title: str, text: str) -> dict[str, object]:
    return {
        "msgtype": "markdown",
        "markdown": {"title": title, "text": _cut(f"## {title}\n{text}", DINGTALK_MAX_BYTES)},
    }


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉加签: URL-encoded Base64 of HMAC-SHA256("<timestamp>\\n<secret>") keyed with the secret."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    if not secret:
        return url
    sep = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def post_webhook(url: str, payload: dict[str, object], timeout: float) -> None:
    """POST the JSON; success is HTTP 2xx with ``errcode`` 0 (both robots answer that way)."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:  # refused, timed out (socket.timeout is an OSError), reset
        raise DeliveryError(_short(exc)) from None
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DeliveryError("the robot's answer is not JSON") from None
    if not isinstance(answer, dict) or answer.get("errcode", 0) != 0:
        errmsg = answer.get("errmsg") if isinstance(answer, dict) else None
        code = answer.get("errcode") if isinstance(answer, dict) else None
        raise DeliveryError(f"errcode {code}: {str(errmsg)[:200]}")


def mask_url(url: str) -> str:
    """A webhook URL as the settings API echoes it: the access token/key shown by its last 4 characters."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    masked = "&".join(f"{urllib.parse.quote(k)}=…{urllib.parse.quote(v[-4:]) if len(v) > 8 else ''}" for k, v in query)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"  # never a user:password of the URL
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, masked, ""))


def mask_secret(secret: str) -> str:
    return "…" + secret[-4:] if len(secret) > 8 else "…"
