"""Python's cyclic garbage collector paused while a county is scored: used only by the PostgreSQL score loader
(``district.scoring.loader.PostgresScoreLoader``), the backend whose speed the ranking benchmark holds to its
target. Business code never reaches it: it asks the loader for ``computing(session)``.

Scoring makes hundreds of thousands of short-lived, acyclic objects (fractions, rows), and every collection they
trigger walks the long-lived objects too (the part cache, the session): measured, a third of a full recompute's
time when it was not paused. Reference counting frees those objects as usual; the collector runs again when the
outermost pause ends. What the pause leaves alive (new cache entries, the stored rows) then joins the oldest
generation (``gc.freeze`` then ``gc.unfreeze``: two list splices) instead of being walked by the young collection
the next allocation would start: a young collection over a county's survivors cost about a tenth of a recompute.
Cycles among them are still collected, by the next full collection. (Skipped when the process froze objects of
its own: ``unfreeze`` would release those too.)
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["GcPause", "paused"]


class GcPause:
    """The collector off while any pause is open. The collector is one per process, so nested and concurrent
    (threads) pauses share one count: it comes back when the last one ends, and only if it was on when the
    first began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._was_enabled = True

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._open == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._open += 1
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1
                if self._open == 0 and self._was_enabled:
                    if gc.get_freeze_count() == 0:
                        gc.freeze()
                        gc.unfreeze()
                    gc.enable()


#: The process's one pause (one collector per process): ``with paused(): ...``.
paused = GcPause()
