"""Helpers for the PDF pipeline tests: poppler's command-line tools read back what WeasyPrint wrote."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def pdf_file(tmp_path: Path) -> Callable[[bytes], Path]:
    counter = iter(range(1_000_000))

    def write(pdf: bytes) -> Path:
        path = tmp_path / f"doc{next(counter)}.pdf"
        path.write_bytes(pdf)
        return path

    return write


def run(*argv: str | Path) -> str:
    return subprocess.run(
        [str(a) for a in argv], check=True, capture_output=True, text=True, encoding="utf-8", timeout=60
    ).stdout


@pytest.fixture
def run_tool() -> Callable[..., str]:
    """Run a command-line tool (poppler's pdffonts, pdfinfo, …) and return its standard output."""
    return run


@pytest.fixture
def pdftotext(pdf_file: Callable[[bytes], Path]) -> Callable[..., str]:
    """Text of a PDF in content-stream order (``-raw``: keeps the spaces of "第 1 页 共 2 页")."""

    def extract(pdf: bytes, *, page: int | None = None) -> str:
        pages = ("-f", str(page), "-l", str(page)) if page else ()
        return run("pdftotext", "-raw", "-enc", "UTF-8", *pages, pdf_file(pdf), "-")

    return extract


@pytest.fixture
def page_count(pdf_file: Callable[[bytes], Path]) -> Callable[[bytes], int]:
    def count(pdf: bytes) -> int:
        match = re.search(r"^Pages:\s+(\d+)$", run("pdfinfo", pdf_file(pdf)), re.MULTILINE)
        assert match, "pdfinfo printed no page count"
        return int(match[1])

    return count
