"""A tiny TCP proxy in front of the hub that can lose the hub's answer.

It forwards one whole HTTP request to the hub, reads the hub's whole response (so the hub has committed),
and then — while ``drop`` is above zero — closes the client's socket with a reset instead of relaying it:
the agent sees the connection die after the hub stored its report. Afterwards it relays normally.
"""

from __future__ import annotations

import socket
import struct
import threading


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_all(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class RelayProxy:
    """A listening socket on 127.0.0.1 in front of the hub, one client at a time on a thread; subclasses say in
    ``_handle`` what happens to each request (tests/school_agent/receipt_proxy.py is the other one)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with client:
                try:
                    self._handle(client)
                except OSError:
                    pass

    def _handle(self, client: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()


class DropProxy(RelayProxy):
    def __init__(self, upstream_port: int, drop: int = 1) -> None:
        self.drop = drop
        self.dropped = 0
        self.relayed = 0
        super().__init__(upstream_port)

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(30)
        request = _read_request(client)
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as up:
            up.sendall(request)
            response = _read_all(up)
        with self._lock:
            dropping = self.drop > 0
            if dropping:
                self.drop -= 1
                self.dropped += 1
            else:
                self.relayed += 1
        if dropping:
            # RST instead of FIN: the agent reads "connection reset", never a partial answer
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        client.sendall(response)
