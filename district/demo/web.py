"""Schools that report through the hub's web pages in the demo (issue 19), beside the agents.

A clerk's browser, played over plain HTTP (stdlib only): sign in on ``/login`` (its CSRF token from the form),
GET the upload form for the page's CSRF token, POST the report file to ``/school/<code>/upload`` (the preview),
POST the preview's 确认报送 form to ``/school/<code>/confirm`` and follow it to the receipt page. The same
endpoints and forms a browser uses; nothing the demo does here is open to the agents' signed API.
"""

from __future__ import annotations

import html
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from typing import Any

WEB_EVERY = 9  # every ninth school of the city reports on the web pages
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CONFIRM = re.compile(r'name="(content|token)" value="([^"]*)"')
_REFUSAL = re.compile(r'id="(?:refusal|error-count)"[^>]*>([^<]+)<')


class WebRefused(Exception):
    """The hub's pages did not take the report; ``str()`` is the page's Chinese message."""


def web_schools(codes: Sequence[str]) -> list[str]:
    """The schools that report on the web: every :data:`WEB_EVERY`-th of the city, in code order."""
    return [code for i, code in enumerate(sorted(codes)) if i % WEB_EVERY == WEB_EVERY - 1]


def clerk_name(code: str) -> str:
    return f"clerk{code}"


def correction_id(report: dict[str, Any]) -> str:
    """A corrected report uploaded as a new file is a new report (a second revision), as the agent's ``correct``
    gives it a new id: derived from the first one, so a run is repeatable."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"houqin-demo-correction:{report['report_id']}"))


class Clerk:
    """One school clerk's browser session on the hub (cookies kept between requests)."""

    def __init__(self, base: str, code: str, password: str, timeout: float = 30.0) -> None:
        self.base, self.code, self.password, self.timeout = base.rstrip("/"), code, password, timeout
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def _open(self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def _form(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode(fields).encode()
        return self._open(path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    @staticmethod
    def _token(page: str) -> str:
        found = _CSRF.search(page)
        if found is None:
            raise WebRefused("页面上没有表单令牌")
        return html.unescape(found.group(1))

    def sign_in(self) -> None:
        _status, page = self._open("/login")
        status, page = self._form(
            "/login", {"username": clerk_name(self.code), "password": self.password, "csrf_token": self._token(page)}
        )
        if status != 200 or f"/school/{self.code}/" not in page:
            raise WebRefused(f"{clerk_name(self.code)} 未能登录（HTTP {status}）")

    def submit(self, report: dict[str, Any], filename: str) -> str:
        """Upload ``report`` as a JSON file, confirm its preview; returns the receipt page's report id."""
        _status, form = self._open(f"/school/{self.code}/upload")
        boundary = uuid.uuid4().hex
        payload = json.dumps(report, ensure_ascii=False).encode("utf-8")
        body = b"".join(
            [
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'.encode(),
                self._token(form).encode(),
                f"\r\n--{boundary}\r\n".encode(),
                f'Content-Disposition: form-data; name="report"; filename="{filename}"\r\n'.encode(),
                b"Content-Type: application/json\r\n\r\n",
                payload,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        status, preview = self._open(
            f"/school/{self.code}/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        fields = {k: html.unescape(v) for k, v in _CONFIRM.findall(preview)}
        if status != 200 or set(fields) != {"content", "token"}:
            raise WebRefused(_page_message(preview) or f"预览未通过（HTTP {status}）")
        status, receipt = self._form(f"/school/{self.code}/confirm", {**fields, "csrf_token": self._token(preview)})
        found = re.search(r"/receipts/([0-9a-f-]{36})\?download=1", receipt)
        if status != 200 or found is None:
            raise WebRefused(_page_message(receipt) or f"确认报送未成功（HTTP {status}）")
        return found.group(1)


def _page_message(page: str) -> str:
    found = _REFUSAL.search(page)
    return html.unescape(found.group(1)).strip() if found else ""
