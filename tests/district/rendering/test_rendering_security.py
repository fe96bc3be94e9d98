"""Untrusted text cannot make a PDF render read local files or reach the network.

Two walls, each tested alone: templates autoescape (the markup arrives as text), and the fetcher refuses
everything that is not one of our static files (even raw, unescaped markup fetches nothing). A loopback HTTP
server records every request; the control test shows that WeasyPrint's default fetcher *would* hit it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import pytest
import weasyprint

from district.printing import StaticURLFetcher, pdf_env, render_pdf
from district.printing.pdf import STATIC_ROOT, URLRefused

# 1×1 grey PNG, so a fetched image would really be drawn
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63680000008200811c6a4b2e0000000049454e44ae426082"
)


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: list[str] = []
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        if self.path.endswith(".css"):
            body, kind = b"p { color: red }", "text/css"
        else:
            body, kind = PNG, "image/png"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def server() -> Iterator[Recorder]:
    srv = Recorder()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def untrusted_references(base: str) -> list[str]:
    """The three references from the brief, as a school could type them into a free-text field."""
    return [
        '<img src="file:///etc/passwd">',
        f'<link rel=stylesheet href="{base}/x.css">',
        f'<span style="background: url({base}/y.png)">备注</span>',
    ]


def raw_attack_page(base: str, local_file: Path | None = None) -> str:
    """Unescaped markup with every way we know for a document to load something."""
    secret_url = local_file.as_uri() if local_file else "file:///etc/passwd"
    refs = "\n".join(f"<div>{r}</div>" for r in untrusted_references(base))
    return f"""<!DOCTYPE html><html lang="zh-CN"><head>
<style>@import url({base}/import.css);
@font-face {{ font-family: evil; src: url({base}/font.woff); }}
body {{ font-family: evil, 'Noto Sans CJK SC'; background: url({base}/bg.png); }}</style>
<link rel="stylesheet" href="{base}/redirect.css">
<link rel="attachment" href="{secret_url}">
</head><body>
<p>富平县庄里镇中心小学 营养餐</p>
{refs}
<img src="{base}/redirect.png">
<img src="houqin-static:/../../../../../etc/passwd">
<img src="houqin-static:/pdf/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd">
<object data="{base}/object.png"></object><embed src="{base}/embed.png">
<a rel="attachment" href="{secret_url}">附件</a>
<svg width="10" height="10"><image href="{base}/svg.png" width="10" height="10"/></svg>
<pre>{'<iframe src="file:///etc/passwd"></iframe>'}</pre>
</body></html>"""


def attachments(pdf_path: Path, run_tool) -> int:
    match = re.match(r"(\d+) embedded files", run_tool("pdfdetach", "-list", pdf_path))
    assert match
    return int(match[1])


def test_autoescaped_untrusted_text_is_printed_not_fetched(server, pdftotext):
    refs = untrusted_references(server.base)
    template = pdf_env().from_string(
        '{% extends "base.html" %}{% block title %}{{ school }}{% endblock %}'
        "{% block content %}{% for r in remarks %}<p>{{ r }}</p>{% endfor %}{% endblock %}"
    )
    html = template.render(school='富平县庄里镇中心小学 <b onload="x">', remarks=refs)
    assert "<img src=" not in html  # escaped before WeasyPrint ever sees it
    text = pdftotext(render_pdf(html))
    assert '<img src="file:///etc/passwd">' in text
    assert f'<link rel=stylesheet href="{server.base}/x.css">' in text
    assert f"url({server.base}/y.png)" in text
    assert '富平县庄里镇中心小学 <b onload="x">' in text
    assert server.hits == []


def test_our_fetcher_refuses_raw_markup(server, pdftotext, pdf_file, run_tool, caplog):
    pdf = render_pdf(raw_attack_page(server.base))
    text = pdftotext(pdf)
    assert "富平县庄里镇中心小学 营养餐" in text  # the render went on
    assert "root:" not in text
    assert server.hits == []
    assert attachments(pdf_file(pdf), run_tool) == 0
    # WeasyPrint saw refusals, i.e. ordinary failed fetches
    assert any("refused to fetch" in r.getMessage() for r in caplog.records)


def test_control_default_fetcher_would_leak(server, tmp_path, pdf_file, run_tool):
    """Without our fetcher the same page calls the server and embeds a local file: the tests above can
    fail."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:secret\n")
    pdf = weasyprint.HTML(string=raw_attack_page(server.base, secret)).write_pdf()
    assert "/x.css" in server.hits and "/y.png" in server.hits
    assert attachments(pdf_file(pdf), run_tool) == 2  # <link rel=attachment> and <a rel=attachment>


REFUSED = [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "http://127.0.0.1/x.css",
    "https://example.com/report.css",
    "ftp://127.0.0.1/x.css",
    "data:text/css,p{color:red}",
    "data:image/png;base64,iVBORw0KGgo=",
    "houqin-static://evil.example/pdf/report.css",
    "houqin-static:/pdf/report.css?v=1",
    "houqin-static:/../../../../etc/passwd",
    "houqin-static:/pdf/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "houqin-static:/pdf/..%2f..%2f..%2fsecret.css",
    "houqin-static:/pdf/.hidden.css",
    "houqin-static:/pdf/missing.css",
    "houqin-static:/pdf/",
    "houqin-static:/pdf/report.css%00.png",
    "houqin-static:pdf/report.css",
    "pdf/report.css",
]


@pytest.mark.parametrize("url", REFUSED)
def test_fetcher_refuses(url):
    fetcher = StaticURLFetcher()
    with pytest.raises(URLRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_serves_our_stylesheet_and_relative_urls():
    fetcher = StaticURLFetcher()
    response = fetcher.fetch("houqin-static:/pdf/report.css")
    assert response.content_type == "text/css"
    assert response.read() == (STATIC_ROOT / "pdf" / "report.css").read_bytes()
    # relative references resolve inside our scheme (how WeasyPrint joins them) ...
    assert urljoin("houqin-static:/", "pdf/report.css") == "houqin-static:/pdf/report.css"
    assert urljoin("houqin-static:/pdf/x.css", "report.css") == "houqin-static:/pdf/report.css"
    # ... and climbing out of the root gives URLs that are refused
    for escape in ("../../../etc/passwd", "/etc/passwd", "../../../../district/printing/pdf.py"):
        with pytest.raises(URLRefused):
            fetcher.fetch(urljoin("houqin-static:/pdf/", escape))


def test_fetcher_does_not_follow_symlinks_out_of_its_root(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (root / "ok.css").write_text("p { color: black }")
    outside = tmp_path / "outside.css"
    outside.write_text("p { color: red }")
    (root / "link.css").symlink_to(outside)
    (root / "script.js").write_text("alert(1)")
    fetcher = StaticURLFetcher(root)
    assert fetcher.fetch("houqin-static:/ok.css").read() == b"p { color: black }"
    for url in ("houqin-static:/link.css", "houqin-static:/script.js"):
        with pytest.raises(URLRefused):
            fetcher.fetch(url)
