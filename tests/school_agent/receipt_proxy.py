"""A man in the middle: an HTTP proxy in front of the hub that rewrites the hub's answers.

Each request is forwarded whole to the hub and the hub's whole answer read (the agent sends
``Connection: close``, so the answer ends when the hub closes); then ``rewrite(method, path, status, body)``
may return new body bytes, which are relayed with a corrected ``Content-Length``. With ``rewrite = None`` it
relays untouched. ``rewritten`` counts the answers it changed, ``requests`` lists ``(method, path)``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from tests.school_agent.proxy import RelayProxy, _read_all, _read_request

Rewrite = Callable[[str, str, int, bytes], bytes | None]


def _split_response(raw: bytes) -> tuple[bytes, list[bytes], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *headers = head.split(b"\r\n")
    return status_line, headers, body


class RewriteProxy(RelayProxy):
    def __init__(self, upstream_port: int, rewrite: Rewrite | None = None) -> None:
        self.rewrite = rewrite
        self.rewritten = 0
        self.requests: list[tuple[str, str]] = []
        super().__init__(upstream_port)

    def posts(self) -> int:
        return sum(1 for method, _path in self.requests if method == "POST")

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(30)
        request = _read_request(client)
        method, path, *_ = [*request.split(b"\r\n", 1)[0].decode("latin-1").split(" "), "", ""]
        with self._lock:
            self.requests.append((method, path))
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as up:
            up.sendall(request)
            response = _read_all(up)
        rewrite = self.rewrite
        if rewrite is not None:
            status_line, headers, body = _split_response(response)
            assert not any(h.lower().startswith(b"transfer-encoding:") for h in headers), "chunked answers unsupported"
            status = int(status_line.split(b" ")[1])
            new = rewrite(method, path, status, body)
            if new is not None:
                with self._lock:
                    self.rewritten += 1
                kept = [h for h in headers if not h.lower().startswith(b"content-length:")]
                head = b"\r\n".join([status_line, *kept, b"Content-Length: %d" % len(new)])
                response = head + b"\r\n\r\n" + new
        client.sendall(response)
