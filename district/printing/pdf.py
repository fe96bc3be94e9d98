"""The one WeasyPrint pipeline (PDF 生成): HTML in, PDF bytes out, nothing fetched from outside.

Both the 营养餐 fund report and the per-school evaluation reports go through here:

    html = render_html("nutrition/fund_report.html", county=..., window=..., rows=...)
    pdf = render_pdf_bounded(html)          # in the Celery ``pdf`` worker
    pdf = render_pdf(html)                  # in-process (tests, CLI, small documents)

Fetching. WeasyPrint's default fetcher opens ``file://``, ``http(s)://``, ``ftp://`` and ``data:`` URLs and
follows redirects, so a school name holding ``<img src="file:///etc/passwd">`` or a CSS
``url(http://…)`` could read local files into the PDF or make the hub issue requests (SSRF). Every
document is therefore rendered with :class:`StaticURLFetcher`, which serves only regular files below
``district/static/`` addressed as ``houqin-static:/path`` (or relative to a ``houqin-static:`` base URL)
and refuses everything else: other schemes (``data:`` included), hosts, ``..`` escapes, symlinks out of
the root, hidden files, unknown file types. A refusal is an ordinary exception, which WeasyPrint logs as a
failed fetch and skips: the render goes on without that resource. The fetcher never opens a socket, so
there is no redirect to follow. Our charts are inline SVG (:mod:`district.printing.charts`), so no
``data:`` image is needed. Templates are autoescaped as well (:func:`district.printing.templating.pdf_env`);
the fetcher is the second wall.

Fonts come from fontconfig ("Noto Sans CJK SC", "Noto Serif CJK SC", Debian package ``fonts-noto-cjk``),
never through the fetcher; WeasyPrint embeds them as subsets.

Bounds. A render is bounded in time and memory by :func:`render_pdf_bounded`: it forks, limits the child's
address space (``RLIMIT_AS``) and CPU time, and kills the child at the deadline. The worker that calls it
keeps its own memory flat (the render's heap dies with the child), and the lead's Celery configuration adds
the outer bounds: the ``pdf`` queue's task gets ``task_time_limit`` (a little above ``timeout_s``) and the
``pdf`` worker ``worker_max_memory_per_child``, so even a leak outside the child recycles the worker.
"""

from __future__ import annotations

import functools
import math
import os
import resource
import select
import signal
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit, uses_relative

import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

__all__ = [
    "DEFAULT_BASE_URL",
    "SCHEME",
    "STATIC_ROOT",
    "RenderError",
    "RenderTimeout",
    "RenderTooLarge",
    "StaticURLFetcher",
    "URLRefused",
    "render_pdf",
    "render_pdf_bounded",
    "static_url",
]

SCHEME = "houqin-static"
#: ``district/static/``: the only directory whose files a PDF may load.
STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
DEFAULT_BASE_URL = f"{SCHEME}:/"

# urllib.parse.urljoin only resolves relative references for schemes it knows as hierarchical; without this,
# "report.css" relative to "houqin-static:/pdf/" would stay relative and never resolve. The list is global,
# but the scheme is ours alone, so no other URL changes meaning.
if SCHEME not in uses_relative:
    uses_relative.append(SCHEME)

# Only these file types are served; anything else in the static root (scripts, maps, dotfiles) is refused.
_SERVED_TYPES = {
    ".css": "text/css",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".otf": "font/otf",
    ".ttf": "font/ttf",
}
_MAX_STATIC_BYTES = 16 * 1024 * 1024


def static_url(path: str) -> str:
    """``"pdf/report.css"`` → ``"houqin-static:/pdf/report.css"``: how a template names a static file."""
    return f"{SCHEME}:/{path.lstrip('/')}"


class URLRefused(ValueError):
    """The fetcher will not load this URL. WeasyPrint catches it, logs it and renders without the resource."""


class StaticURLFetcher(URLFetcher):
    """Serves ``houqin-static:/…`` from one directory (default ``district/static/``) and refuses the rest.

    ``refused`` keeps every refused URL, so a caller or a test can see what a document tried to load.
    """

    def __init__(self, root: Path | str = STATIC_ROOT) -> None:
        # The parent's urllib machinery is never used (``fetch`` below does not call it); these arguments
        # make it refuse too, should any WeasyPrint code path ever reach it.
        super().__init__(allowed_protocols=(SCHEME,), allow_redirects=False, fail_on_errors=False)
        self.root = Path(root).resolve()
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        try:
            path = self._resolve(url)
            size = path.stat().st_size
            if size > _MAX_STATIC_BYTES:
                raise URLRefused(f"{url}: {size} bytes is larger than {_MAX_STATIC_BYTES}")
            body = path.read_bytes()
        except (URLRefused, OSError) as exc:
            self.refused.append(url)
            raise URLRefused(f"refused to fetch {url!r}: {exc}") from None
        content_type = _SERVED_TYPES[path.suffix.lower()]
        if content_type == "text/css":
            content_type += "; charset=utf-8"
        return URLFetcherResponse(url, body, {"Content-Type": content_type})

    def _resolve(self, url: str) -> Path:
        try:
            parts = urlsplit(url)
        except ValueError:
            raise URLRefused("malformed URL") from None
        if parts.scheme.lower() != SCHEME:
            raise URLRefused(f"scheme {parts.scheme or '(none)'!r} is not served")
        if parts.netloc or parts.query:
            raise URLRefused("host and query are not allowed")
        rel = unquote(parts.path)
        if "\x00" in rel or "\\" in rel or not rel.startswith("/"):
            raise URLRefused("bad path")
        names = [n for n in rel.split("/") if n]
        if not names or any(n.startswith(".") for n in names):
            raise URLRefused("empty, hidden or parent path segment")
        if Path(names[-1]).suffix.lower() not in _SERVED_TYPES:
            raise URLRefused("file type not served")
        # resolve() follows symlinks, so a link pointing out of the root is caught by the containment test.
        path = self.root.joinpath(*names).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise URLRefused("not a file under the static root")
        return path


def _check_base_url(base_url: str | None) -> str:
    if base_url is None:
        return DEFAULT_BASE_URL
    if urlsplit(base_url).scheme.lower() != SCHEME:
        # A file:// or http:// base would only produce URLs the fetcher refuses; say so at the call site.
        raise ValueError(f"base_url must be a {SCHEME}: URL, got {base_url!r}")
    return base_url


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """Render an HTML document to PDF bytes in this process.

    ``base_url`` (default ``houqin-static:/``) must use our scheme; relative references resolve against it and
    load only through :class:`StaticURLFetcher`. Unfetchable resources are skipped, not fatal.
    """
    document = weasyprint.HTML(string=html, base_url=_check_base_url(base_url), url_fetcher=StaticURLFetcher())
    pdf = document.write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return pdf


# --- bounded render -----------------------------------------------------------------------------------------


class RenderError(RuntimeError):
    """The bounded render failed; the message carries the child's exception or exit status."""


class RenderTimeout(RenderError):
    """The render did not finish within ``timeout_s``; the child was killed."""


class RenderTooLarge(RenderError):
    """The render needed more memory than ``max_rss_mb`` (or died the way allocation failures die)."""


_TAG_PDF, _TAG_MEMORY, _TAG_ERROR = b"P", b"M", b"E"

_WARM_UP_HTML = (
    '<html lang="zh-CN"><body><p style="font-family: \'Noto Sans CJK SC\'">后勤</p>'
    "<p style=\"font-family: 'Noto Serif CJK SC'; font-weight: bold\">后勤</p></body></html>"
)


@functools.cache
def _warm_up() -> None:
    """Load fontconfig, Pango and the CJK fonts once in the parent, so every forked child inherits them:
    the child then starts rendering at once and its memory bound is spent on the document, not on
    fontconfig parsing its configuration (which, under a tight limit, fails noisily)."""
    render_pdf(_WARM_UP_HTML)


def _vm_size_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child_render(write_fd: int, stderr_fd: int, html: str, base_url: str, timeout_s: float, max_rss_mb: int) -> None:
    """Runs in the forked child; never returns."""
    code = 70  # EX_SOFTWARE unless the result was written
    try:
        # C libraries report allocation failures on fd 2, sometimes with megabytes of the offending text;
        # the parent keeps the tail for its error message instead of flooding the worker's log.
        os.dup2(stderr_fd, 2)
        for sig in (signal.SIGINT, signal.SIGTERM):  # the worker's handlers are not ours to run
            signal.signal(sig, signal.SIG_DFL)
        # RLIMIT_AS counts the address space inherited from the parent (interpreter, WeasyPrint, mapped
        # fonts), so the bound is "what the render may add": the size at fork plus max_rss_mb.
        grow = max_rss_mb * 1024 * 1024
        limit = _vm_size_bytes() + grow
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        # A CPU backstop in case the parent dies before it can kill us.
        cpu = math.ceil(timeout_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        try:
            payload = _TAG_PDF + render_pdf(html, base_url=base_url)
        except MemoryError:
            payload = _TAG_MEMORY
        except BaseException as exc:
            # Out of memory inside C code often surfaces as some other error (SystemError, a cairo status);
            # an address space within 10% of the limit says which it was.
            near_limit = _vm_size_bytes() >= limit - grow // 10
            message = f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:4000]
            payload = (_TAG_MEMORY if near_limit else _TAG_ERROR) + message
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view) :]
        code = 0
    finally:
        os._exit(code)


def render_pdf_bounded(
    html: str, *, base_url: str | None = None, timeout_s: float = 60, max_rss_mb: int = 1024
) -> bytes:
    """Render like :func:`render_pdf`, in a forked child bounded in wall time and memory.

    Returns the PDF bytes, or raises :class:`RenderTimeout` (not done within ``timeout_s`` seconds; the child
    is killed), :class:`RenderTooLarge` (the child's address space would grow by more than ``max_rss_mb`` MiB)
    or :class:`RenderError` (any other failure, with the child's message). Fork is used for speed: the child
    starts with WeasyPrint and the font cache already loaded. POSIX only.
    """
    base = _check_base_url(base_url)
    if timeout_s <= 0 or max_rss_mb <= 0:
        raise ValueError("timeout_s and max_rss_mb must be positive")
    _warm_up()
    deadline = time.monotonic() + timeout_s
    with tempfile.TemporaryFile() as stderr_file:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            os.close(read_fd)
            _child_render(write_fd, stderr_file.fileno(), html, base, timeout_s, max_rss_mb)
        os.close(write_fd)
        out, status = _collect(pid, read_fd, deadline, timeout_s)
        stderr_file.seek(max(0, os.fstat(stderr_file.fileno()).st_size - 1000))
        lines = stderr_file.read().decode("utf-8", "replace").strip().splitlines()
        stderr_tail = lines[-1][-300:] if lines else ""
    return _child_result(out, status, max_rss_mb, stderr_tail)


def _collect(pid: int, read_fd: int, deadline: float, timeout_s: float) -> tuple[bytes, int]:
    """Read the child's output until EOF and reap it; on the deadline kill it. Always closes ``read_fd``."""
    chunks: list[bytes] = []
    reaped = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RenderTimeout(f"PDF render exceeded {timeout_s} s")
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue  # the loop head sees the deadline
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        reaped = True
    finally:
        os.close(read_fd)
        if not reaped:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    return b"".join(chunks), status


def _child_result(out: bytes, status: int, max_rss_mb: int, stderr_tail: str) -> bytes:
    tag, body = out[:1], out[1:]
    code = os.waitstatus_to_exitcode(status)
    if tag == _TAG_PDF and code == 0:
        return body
    detail = body.decode("utf-8", "replace") or stderr_tail
    if tag == _TAG_MEMORY:
        raise RenderTooLarge(f"PDF render needed more than {max_rss_mb} MiB ({detail})")
    if tag == _TAG_ERROR:
        raise RenderError(detail)
    if code < 0:
        # Under an address-space limit C code (cairo, pango, harfbuzz, GLib) that cannot allocate aborts
        # or traps instead of raising; SIGXCPU is the CPU backstop.
        if -code == signal.SIGXCPU:
            raise RenderTimeout("PDF render exceeded its CPU time limit")
        raise RenderTooLarge(
            f"PDF render died from {signal.Signals(-code).name}, likely over the {max_rss_mb} MiB limit ({stderr_tail})"
        )
    raise RenderError(f"PDF render process exited with status {code} ({stderr_tail})")
