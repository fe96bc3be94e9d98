"""Real parts for the reminder tests: an aiosmtpd server and an http.server "group robot" on loopback ports,
and misbehaving SMTP servers (one that never answers, one that closes in the middle of a message)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from district.demo.sinks import SmtpSink, WebhookSink, free_port


@pytest.fixture()
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture()
def webhook_sink() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    sink.hang_seconds = 2.0
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture()
def mail_config(app: Any, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> SmtpSink:
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_sink.url)
    monkeypatch.setitem(app.config, "MAIL_FROM", "houqin@jyj.example.cn")
    monkeypatch.setitem(app.config, "REMINDER_TIMEOUT_SECONDS", 1.0)
    return smtp_sink


class BadSmtp:
    """A TCP server on a loopback port: ``mode`` "hang" accepts and never greets; "close" greets, accepts the
    envelope, answers DATA with 354 and closes the connection after the first lines of the message."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = free_port()
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._open.append(conn)
            if self.mode == "close":
                threading.Thread(target=self._close_mid_message, args=(conn,), daemon=True).start()

    def _close_mid_message(self, conn: socket.socket) -> None:
        f = conn.makefile("rb")
        conn.sendall(b"220 bad.example ESMTP\r\n")
        for line in f:
            cmd = line.strip().upper()
            if cmd.startswith((b"EHLO", b"HELO")):
                conn.sendall(b"250 bad.example\r\n")
            elif cmd.startswith((b"MAIL", b"RCPT")):
                conn.sendall(b"250 OK\r\n")
            elif cmd == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                f.readline()
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
                return
            else:
                conn.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self._stop.set()
        for c in self._open:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()
