"""Signed HTTP to the hub (API.md, "School agents: signed requests") over ``http.client``.

One request per connection (``Connection: close``): on a township school's network a fresh connection is
cheaper than a dead keep-alive one. A network failure is a :class:`HubUnreachable` with a Chinese reason;
any HTTP answer, whatever its status, is a :class:`HubResponse` for the caller to classify.
HTTPS goes through ``HTTPS_PROXY`` when one is set (CONNECT tunnel); certificates are always verified.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

from houqin_standard import signed_headers

from . import __version__, clock, crash

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
REPORTS_PATH = "/api/v1/reports"


class HubUnreachable(Exception):
    """No HTTP answer (refused, reset, timed out, DNS, TLS). ``str(exc)`` is the Chinese reason."""


@dataclass
class HubResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    @property
    def error(self) -> dict[str, Any]:
        """The ``error`` object of API.md's error body, or a stand-in for a body that is not one."""
        data = self.json
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            error: dict[str, Any] = data["error"]
            return error
        text = self.body[:200].decode("utf-8", "replace").strip()
        return {"code": f"http_{self.status}", "message": text or f"HTTP {self.status}", "details": []}


def describe_network_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "无法连接教育局服务器：连接被拒绝（服务器可能未启动或地址、端口不对）"
    if isinstance(exc, socket.gaierror):
        return "无法连接教育局服务器：找不到服务器地址（请检查网络连接或服务器地址）"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "连接教育局服务器超时（网络不通或太慢）"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"HTTPS 证书校验失败：{exc.verify_message or exc}（请联系教育局信息中心）"
    if isinstance(exc, ssl.SSLError):
        return f"HTTPS 连接失败：{exc.reason or exc}"
    if isinstance(
        exc,
        http.client.RemoteDisconnected
        | ConnectionResetError
        | BrokenPipeError
        | ConnectionAbortedError
        | http.client.IncompleteRead,
    ):
        return "与教育局服务器的连接中断（服务器未回复就断开了）"
    if isinstance(exc, http.client.HTTPException):
        return f"教育局服务器的回复无法识别（{type(exc).__name__}）"
    if isinstance(exc, OSError):
        return f"网络错误：{exc.strerror or exc}"
    return f"网络错误：{exc}"


class HubClient:
    def __init__(
        self, hub_url: str, school_code: str, secret: str, *, connect_timeout: float = 15.0, read_timeout: float = 60.0
    ) -> None:
        parts = urlsplit(hub_url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.school_code = school_code
        self._secret = secret
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    def __repr__(self) -> str:  # never the secret
        return f"HubClient({self.scheme}://{self.host}:{self.port}{self.prefix}, school={self.school_code})"

    def _connection(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            ctx = ssl.create_default_context()
            proxy = getproxies().get("https")
            if proxy and not proxy_bypass(self.host):
                p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
                conn = http.client.HTTPSConnection(
                    p.hostname or "", p.port or 8080, timeout=self.connect_timeout, context=ctx
                )
                conn.set_tunnel(self.host, self.port)
                return conn
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.connect_timeout, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout)

    def request(
        self, method: str, path_with_query: str, body: bytes = b"", *, ts: int | None = None, hooks: bool = False
    ) -> HubResponse:
        """One signed request. ``path_with_query`` is the API path (``/api/v1/...``); the hub URL's own path
        prefix, if any, is put in front of it and signed with it. ``hooks`` enables the crash test points."""
        full_path = self.prefix + path_with_query
        headers = signed_headers(
            self.school_code, self._secret, method, full_path, body, now=int(clock.wall()) if ts is None else ts
        )
        headers.update(
            {
                "Accept": "application/json",
                "Accept-Language": "zh-CN",
                "User-Agent": f"houqin-agent/{__version__}",
                "Connection": "close",
            }
        )
        if method == "POST":
            headers["Content-Type"] = "application/json; charset=utf-8"
        conn = self._connection()
        try:
            try:
                conn.connect()
                if conn.sock is not None:
                    conn.sock.settimeout(self.read_timeout)
                conn.request(method, full_path, body=body if method != "GET" else None, headers=headers)
                if hooks:
                    crash.point("after_request_sent")
                resp = conn.getresponse()
                data = resp.read(MAX_RESPONSE_BYTES + 1)
                return HubResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data[:MAX_RESPONSE_BYTES])
            except (OSError, http.client.HTTPException) as exc:
                raise HubUnreachable(describe_network_error(exc)) from exc
        finally:
            conn.close()

    def post_report(self, body: bytes, *, ts: int, hooks: bool = True) -> HubResponse:
        return self.request("POST", REPORTS_PATH, body, ts=ts, hooks=hooks)

    def get(self, path_with_query: str) -> HubResponse:
        """A signed GET. Two identical GETs within one second would carry the same signature, which the hub
        refuses as a replay: then wait for the next second and ask once more."""
        resp = self.request("GET", path_with_query)
        if resp.status == 401 and resp.error.get("code") == "replay":
            time.sleep(1.05)
            resp = self.request("GET", path_with_query)
        return resp

    def receipt(self, report_id: str) -> HubResponse:
        return self.get(f"{REPORTS_PATH}/{report_id}")

    def feedback(self, period: str) -> HubResponse:
        return self.get(f"/api/v1/feedback?period={period}")
