"""``houqin serve``'s server: gunicorn run from the command, with the hub's app made in each worker.

Each worker is a process of its own with threads (``gthread``): on the embedded default (SQLite in WAL mode)
processes share the database file as threads do (writers queue on ``BEGIN IMMEDIATE``), and a county's ranking
computed in one request no longer holds up every other request of the hub behind one interpreter lock.
Per-process state (read caches, the refusal limiter) is each worker's own (docs/DECISIONS.md).
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

THREADS = 8  # requests a worker serves at once; most wait on the database or the network


class _Hub(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from district.app import create_app

        return create_app()


def _post_worker_init(worker: Any) -> None:
    """A worker serves from here on: its PDF pool's forkserver starts in the background (embedded default)."""
    from workers.background import start_forkserver

    start_forkserver(worker.wsgi)


def serve_with_gunicorn(host: str, port: int, workers: int) -> None:
    _Hub(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": THREADS,
            "timeout": 120,  # a county's PDFs on the embedded default are made in the request
            "graceful_timeout": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "post_worker_init": _post_worker_init,
        }
    ).run()
