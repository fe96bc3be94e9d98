"""Local sinks for the reminders (issue 18): a real SMTP server (``aiosmtpd``) and a real HTTP server standing for
the 企业微信/钉钉 group robots, both on loopback ports. The demo points the hub at them and prints what arrived;
the tests read the same records (subject, recipient, body; each webhook post's path, query and JSON).

The webhook sink answers as the robots do (``{"errcode": 0, "errmsg": "ok"}``); ``fail_next(n, status)`` makes
its next ``n`` posts fail (HTTP ``status``, or a hang past the client's timeout when ``status`` is 0), so a test
can watch a failure be retried.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ReceivedMail:
    mail_from: str
    to: list[str]
    subject: str
    body: str


@dataclass
class SmtpSink:
    """An aiosmtpd server on 127.0.0.1; ``mails`` holds what it received, in order."""

    port: int = 0
    mails: list[ReceivedMail] = field(default_factory=list)
    _controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                body = msg.get_body(preferencelist=("plain",))
                sink.mails.append(
                    ReceivedMail(
                        envelope.mail_from,
                        list(envelope.rcpt_tos),
                        str(msg["Subject"]),
                        body.get_content() if body is not None else "",
                    )
                )
                return "250 OK"

        self.port = self.port or free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class WebhookPost:
    path: str
    query: dict[str, str]
    payload: Any
    at: float


class WebhookSink:
    """A threaded ``http.server`` on 127.0.0.1 that records every POST (path, query, JSON)."""

    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self.posts: list[WebhookPost] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.hang_seconds = 5.0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def fail_next(self, n: int, status: int = 500) -> None:
        with self._lock:
            self._failures += [status] * n

    def posts_to(self, path: str) -> list[WebhookPost]:
        return [p for p in self.posts if p.path == path]

    def start(self) -> WebhookSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with sink._lock:
                    failure = sink._failures.pop(0) if sink._failures else None
                if failure == 0:
                    time.sleep(sink.hang_seconds)  # past the client's timeout: it gives up
                    return
                if failure is not None:
                    self.send_response(failure)
                    self.end_headers()
                    self.wfile.write(b'{"errcode": -1, "errmsg": "server error"}')
                    return
                parts = urllib.parse.urlsplit(self.path)
                try:
                    payload = json.loads(raw.decode("utf-8"))
                except ValueError:
                    payload = None
                with sink._lock:
                    sink.posts.append(
                        WebhookPost(parts.path, dict(urllib.parse.parse_qsl(parts.query)), payload, time.time())
                    )
                body = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class DemoReminders:
    """The demo's reminders (issue 18): both sinks started before the hub (``HOUQIN_SMTP_URL`` points at the SMTP
    sink), each county's robots set through the settings API (企业微信 for one county, 钉钉 with 加签 for the
    others), 一键催报 through the API, and the counts the sinks received printed at the end."""

    def __init__(self) -> None:
        self.smtp = SmtpSink()
        self.webhooks = WebhookSink()
        self.answers: dict[str, Any] = {}

    def start(self, env: dict[str, str]) -> None:
        self.smtp.start()
        self.webhooks.start()
        env["HOUQIN_SMTP_URL"] = self.smtp.url
        env["HOUQIN_MAIL_FROM"] = "houqin@jyj.weinan.example.cn"

    def stop(self) -> None:
        self.smtp.stop()
        self.webhooks.stop()

    def send(self, demo: Any, counties: list[tuple[str, str, Any]]) -> dict[str, Any]:
        """Set each county's robot, press 一键催报 for each county (its own county_admin token), wait for the
        deliveries to settle and return what the hub answered and what the sinks received."""
        from district.demo.run import DemoFailed

        for i, (code, _name, _towns) in enumerate(counties):
            robot = (
                {"wecom": {"url": self.webhooks.url(f"/cgi-bin/webhook/send?key=demo-{code}")}}
                if i == 0
                else {"dingtalk": {"url": self.webhooks.url(f"/robot/send?access_token=demo-{code}"),
                                   "secret": f"SECdemo{code}secret"}}
            )  # fmt: skip
            status, body, _raw = demo.api(
                "PUT", f"/api/v1/counties/{code}/settings", {"channels": robot}, token=demo.county_tokens[code]
            )
            if status != 200:
                raise DemoFailed(f"{code} 设置催报渠道失败：HTTP {status} {body}")
        for code, _name, _towns in counties:
            status, body, _raw = demo.api("POST", f"/api/v1/counties/{code}/reminders", token=demo.county_tokens[code])
            if status != 200:
                raise DemoFailed(f"{code} 一键催报失败：HTTP {status} {body}")
            self.answers[code] = body
        deadline = time.monotonic() + 30  # anything still queued settles in the hub's sender
        expected_mails = sum(a["sent"] + a["queued"] for a in self.answers.values()) - len(counties)
        while time.monotonic() < deadline and len(self.smtp.mails) < expected_mails:
            time.sleep(0.2)
        return {
            "mails": len(self.smtp.mails),
            "webhook_posts": len(self.webhooks.posts),
            "sent": sum(a["sent"] for a in self.answers.values()),
            "failed": sum(a["failed"] for a in self.answers.values()),
        }
