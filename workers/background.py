"""The embedded default's PDF runner (no broker): one background thread per hub process, and a pool of processes
beside it that renders.

Without ``HOUQIN_BROKER_URL`` there is no ``celery worker`` to take the ``pdf`` queue, and a county's batch (a
hundred PDFs and more) rendered inside the request held a gunicorn thread for minutes (issue 16). So the request
commits the job and hands its id to :func:`submit`, which answers at once; a single daemon thread of the
process, started lazily on the first job, runs the jobs one after another (issue 17):

1. ``jobs.run_start`` in the thread (pins the ranking; the part ids left to render);
2. each part to a ``concurrent.futures.ProcessPoolExecutor`` of ``PDF_PROCESSES`` processes (``HOUQIN_PDF_PROCESSES``;
   0, the default: one per core, ``os.cpu_count()``), started by ``forkserver`` (never ``fork`` from a threaded
   hub). Each pool process builds its own app (its own engine) once, then runs ``jobs.run_part`` — the very
   function the pdf worker's ``render_part`` task runs: the HTML in a short read transaction, the bounded render
   (a forked child limited in time and memory), the file and its register row in a short write transaction
   (SQLite: WAL readers side by side, writers ``BEGIN IMMEDIATE`` with the busy timeout);
3. ``jobs.run_finish`` in the thread once every part is done (the zip, the job ``done``).

A part that fails marks itself and its job failed (``run_part``); the parts not yet taken are cancelled and
those already taken find the job failed and skip, so the runner never waits on a failed job. A pool process
that dies (``BrokenProcessPool``) fails its part the same way, and the pool is made anew for the next job.
The pool is kept while jobs keep coming and shut down when the thread has nothing left to do, so an idle hub
holds no render processes (the forkserver they are forked from, one idle process, stays). ``houqin serve`` starts
the forkserver as each hub process begins to serve (:func:`start_forkserver`, in the background), so the first
job does not pay its ~1 s start.

The thread is a daemon: a hub that stops leaves its job queued or running, and the next ``houqin serve`` marks
such jobs failed (``jobs.fail_interrupted``; docs/DECISIONS.md "Hardening (issue 16)"); the pool's processes
end with their parent (their call queue closes).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

_lock = threading.Lock()
_jobs: queue.Queue[tuple[Flask, int]] = queue.Queue()
_thread: threading.Thread | None = None


def submit(app: Flask, job_id: int) -> None:
    """Run the (committed) job in this process's background thread; returns at once."""
    global _thread
    from workers.celery_app import celery_app

    with app.app_context():
        celery_app()  # made here, in the request's thread, never by two threads at once
    _jobs.put((app, job_id))
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="houqin-pdf", daemon=True)
            _thread.start()


def pending() -> int:
    """Jobs handed over and not yet taken up by the thread (for tests and diagnostics)."""
    return _jobs.qsize()


def _work() -> None:
    while True:
        app, job_id = _jobs.get()
        try:
            run(app, job_id)
        finally:
            _jobs.task_done()
            if _jobs.empty():
                shutdown_pool()  # idle: no render process kept


# ------------------------------------------------------------------------------------------------ the pool

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
#: Modules the forkserver imports once, so that every pool process starts with them loaded (the app, WeasyPrint
#: and its fonts: ``workers.pdf_preload``).
_PRELOAD = ["district.app", "district.rendering.jobs", "workers.pdf_preload"]


def processes(config: Any) -> int:
    """How many processes render: ``PDF_PROCESSES`` (``HOUQIN_PDF_PROCESSES``), or one per core when 0/unset."""
    wanted = int(config.get("PDF_PROCESSES") or 0)
    return wanted if wanted > 0 else (os.cpu_count() or 1)


def _child_config(app: Flask) -> dict[str, Any]:
    """The app's configuration as a pool process rebuilds it: every value that pickles, and the instance."""
    import pickle

    config: dict[str, Any] = {"INSTANCE_PATH": app.instance_path}
    for key, value in app.config.items():
        try:
            pickle.dumps(value)
        except Exception:  # noqa: S112 - a value that cannot cross processes (a callable, a client) is not config
            continue
        config[key] = value
    return config


def _pool_for(app: Flask) -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            from district import clock

            context = _forkserver_context()
            # a hub (or test) whose clock is set: the pool processes read the same clock, running on from here
            fixed = clock.now().isoformat() if getattr(clock, "_fixed", None) is not None else None
            _pool = ProcessPoolExecutor(
                max_workers=processes(app.config),
                mp_context=context,
                initializer=_child_init,
                initargs=(_child_config(app), fixed, app.extensions["houqin_factory"]),
            )
        return _pool


def _forkserver_context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def start_forkserver(app: Flask) -> threading.Thread | None:
    """Start this process's forkserver (its preload: the app, WeasyPrint and its fonts, ~1 s) in a daemon thread,
    so that the first PDF job of a hub process does not pay its start (issue 17 measure). Called once a hub
    process serves (``houqin serve``: each gunicorn worker after it has loaded the app, or the one threaded
    process); start-up never waits on it. On the embedded default only (a broker's hub renders nothing itself):
    ``None`` when ``BROKER_URL`` is set. The thread ends once a first no-op process has been forked from the
    preloaded server (so joining it means "ready"); a failure is logged and left to the first job to meet."""
    if app.config.get("BROKER_URL"):
        return None
    thread = threading.Thread(target=_start_forkserver, name="houqin-forkserver", daemon=True)
    thread.start()
    return thread


def _start_forkserver() -> None:
    try:
        process = _forkserver_context().Process(target=_child_ready, name="houqin-forkserver-probe")
        process.start()  # starts the forkserver (once per process) and forks the probe from it once preloaded
        process.join(timeout=120)
    except Exception:
        log.exception("the PDF pool's forkserver could not be started ahead of the first job")


def shutdown_pool() -> None:
    """Stop the pool's processes (the next job starts a new pool)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


_child_app: Flask | None = None


def _child_init(config: dict[str, Any], now: str | None, factory: Callable[..., Flask]) -> None:  # pragma: no cover
    """A pool process's start (in the pool process): its own app (and so its own engine), built once by the
    factory that made the hub's (``create_app``, handed over by reference)."""
    global _child_app
    from district import clock

    if now is not None:
        clock.set_now(clock.parse_instant(now), ticking=True)
    _child_app = factory(config)


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the bounded renders), user and system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _child_render(part_id: int) -> tuple[int, str, int, float, float]:  # pragma: no cover - in a pool process
    """One part in a pool process (``jobs.run_part``, as the pdf worker's task): ``(part id, outcome, pid,
    seconds, CPU seconds)``."""
    from district.db import db
    from district.rendering import jobs

    assert _child_app is not None
    started, cpu = time.monotonic(), _cpu_seconds()
    with _child_app.app_context():
        try:
            outcome = jobs.run_part(
                part_id, str(_child_app.config["PDF_DIR"]), jobs.RenderLimits.from_config(_child_app.config)
            )
        finally:
            db.session.remove()
    return part_id, outcome, os.getpid(), time.monotonic() - started, _cpu_seconds() - cpu


# ------------------------------------------------------------------------------------------------ one job


@dataclass
class JobRun:
    """What the runner did for a job (tests, ``bench/pdf``, the log): each part's outcome, the pool process that
    rendered it, its seconds there and the CPU seconds it used."""

    job_id: int
    outcomes: dict[int, str] = field(default_factory=dict)
    pids: dict[int, int] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)  # CPU seconds of the part (its render child included)
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds of "start", "parts" and "finish"
    finished: bool = False


def run(app: Flask, job_id: int) -> JobRun:
    """One job, end to end: start in this thread, the parts in the pool, the finish in this thread. A failure is
    recorded on the job (never raised)."""
    from district.db import db
    from district.rendering import jobs

    result = JobRun(job_id)
    with app.app_context():
        try:
            t0 = time.monotonic()
            _warm_pool(app)  # the pool processes start (app, engine) while the job starts
            part_ids = jobs.run_start(job_id)  # committed before any part is handed over
            t1 = result.phases["start"] = time.monotonic() - t0
            if part_ids is None:  # could not start: the job says why
                return result
            if part_ids:
                _render_parts(app, job_id, part_ids, result)
            t2 = time.monotonic() - t0
            result.phases["parts"] = t2 - t1
            with db.transaction(write=False) as s:
                ready = jobs.all_parts_done(s, job_id)
            if ready:
                result.finished = jobs.run_finish(job_id, str(app.config["PDF_DIR"]))
            result.phases["finish"] = time.monotonic() - t0 - t2
            if result.pids:
                log.info("PDF job %s: %d parts in %d processes, %s", job_id, len(result.outcomes),
                         len(set(result.pids.values())), "done" if result.finished else "not done")  # fmt: skip
        except Exception as exc:  # the parts record their own failures; this is anything they let through
            log.exception("PDF job %s failed in the background", job_id)
            db.session.remove()
            with db.transaction() as s:
                db.begin_write(s)
                jobs.job_failed(s, job_id, _why(exc))
        finally:
            db.session.remove()
    return result


def _child_ready() -> int:  # pragma: no cover - runs in a pool process
    return os.getpid()


def _warm_pool(app: Flask) -> None:
    """Have every pool process start now (one no-op each, not waited for), so their start overlaps the job's."""
    try:
        pool = _pool_for(app)
        for _ in range(processes(app.config)):
            pool.submit(_child_ready)
    except BrokenProcessPool:
        shutdown_pool()  # made anew for the parts


def _render_parts(app: Flask, job_id: int, part_ids: list[int], result: JobRun) -> None:
    """Hand every part to the pool and collect them; on the first failure the parts not yet taken are cancelled."""
    from district.db import db
    from district.rendering import jobs

    pool = _pool_for(app)
    try:
        pending: dict[Future[tuple[int, str, int, float, float]], int] = {
            pool.submit(_child_render, part_id): part_id for part_id in part_ids
        }
    except BrokenProcessPool:
        shutdown_pool()
        pool = _pool_for(app)
        pending = {pool.submit(_child_render, part_id): part_id for part_id in part_ids}
    failed = False
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            part_id = pending.pop(future)
            if future.cancelled():
                result.outcomes[part_id] = "skipped"
                continue
            try:
                _, outcome, pid, seconds, cpu = future.result()
                result.pids[part_id], result.seconds[part_id], result.cpu[part_id] = pid, seconds, cpu
            except Exception as exc:  # the pool process died (BrokenProcessPool) or could not start
                log.error("PDF part %s of job %s: %s: %s", part_id, job_id, type(exc).__name__, exc)
                outcome = "failed"
                with db.transaction() as s:
                    db.begin_write(s)
                    jobs.part_failed(s, part_id, _why(exc))
                if isinstance(exc, BrokenProcessPool):
                    shutdown_pool()
            result.outcomes[part_id] = outcome
            if outcome == "failed" and not failed:
                failed = True
                for other in pending:
                    other.cancel()  # those not yet taken; the running ones find the job failed and skip


def _exiting() -> bool:
    """Whether this process is exiting (``concurrent.futures`` refuses new work once its exit hook ran)."""
    import concurrent.futures.process as futures_process
    import concurrent.futures.thread as futures_thread

    return bool(getattr(futures_process, "_global_shutdown", False) or getattr(futures_thread, "_shutdown", False))


def _why(exc: BaseException) -> str:
    """What a job or part that failed in the runner says: the hub's words when the hub process is stopping (the
    pool refuses work then: "cannot schedule new futures after shutdown"), as the next start would say them
    (``jobs.fail_interrupted``); else the error."""
    from district.rendering import jobs

    return jobs.INTERRUPTED if _exiting() else f"{type(exc).__name__}: {exc}"


def fail_interrupted(app: Flask) -> list[int]:
    """At ``houqin serve`` (before any hub process serves): the jobs a stopped hub left queued or running are
    marked failed (``jobs.fail_interrupted``); their ids, each logged."""
    from district.db import db
    from district.rendering import jobs

    with app.app_context():
        with db.transaction() as s:
            ids = jobs.fail_interrupted(s)
    for job_id in ids:
        log.warning("PDF job %s was left unfinished by a stopped hub: marked failed", job_id)
    return ids
