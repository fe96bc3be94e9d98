"""docs/DEPLOY.md names only commands that exist: every `houqin …` and `houqin-agent …` in its code (inline and
fenced) resolves to a real subcommand, and every option it uses is one of that subcommand's."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import click

from district.cli import main as houqin_main
from school_agent.cli import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "DEPLOY.md"
# where a command ends inside a shell line
_END = re.compile(r"\s*(?:&&|\|\||[|;>)]|$)")


def code_snippets(text: str) -> list[str]:
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    rest = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    return [line for block in fenced for line in block.splitlines()] + re.findall(r"`([^`\n]+)`", rest)


def invocations(program: str) -> list[list[str]]:
    """The argument lists given to ``program`` in the doc's code (up to a shell operator or a comment)."""
    found = []
    for snippet in code_snippets(DOC.read_text(encoding="utf-8")):
        snippet = snippet.split(" #")[0]
        # in command position: at the start, after a shell operator, or run in a compose service's container
        for m in re.finditer(
            rf"(?:^|[;&|(]\s*|\b(?:hub|migrate|worker|worker-pdf) ){re.escape(program)}(?=\s)(.*)", snippet
        ):
            tail = m.group(1)
            tail = tail[: _END.search(tail).start()]  # type: ignore[union-attr]
            found.append(shlex.split(tail))
    return found


def test_the_doc_uses_houqin_and_the_agent() -> None:
    assert len(invocations("houqin")) >= 15
    assert invocations("houqin-agent")


def test_every_houqin_command_exists() -> None:
    for args in invocations("houqin"):
        cmd: click.Command = houqin_main
        path = ["houqin"]
        rest = list(args)
        while isinstance(cmd, click.Group):
            assert rest, f"`{' '.join(path)}` needs a subcommand"
            sub = cmd.commands.get(rest[0])
            assert sub is not None, f"`{' '.join(path)} {rest[0]}` does not exist (docs/DEPLOY.md)"
            path.append(rest.pop(0))
            cmd = sub
        options = {o for p in cmd.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
        flags = {
            o
            for p in cmd.params
            if isinstance(p, click.Option) and (p.is_flag or p.count)
            for o in (*p.opts, *p.secondary_opts)
        }
        arguments = [p for p in cmd.params if isinstance(p, click.Argument)]
        positional = 0
        i = 0
        while i < len(rest):
            tok = rest[i]
            if tok.startswith("-"):
                assert tok in options, f"`{' '.join(path)}` has no option {tok} (docs/DEPLOY.md)"
                i += 1 if tok in flags else 2
            else:
                positional += 1
                i += 1
        assert positional <= len(arguments), f"`{' '.join(path + rest)}`: too many arguments"


def test_every_agent_command_exists() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for args in invocations("houqin-agent"):
        assert args and args[0] in subparsers.choices, f"`houqin-agent {' '.join(args)}`"
        sub = subparsers.choices[args[0]]
        options = {o for a in sub._actions for o in a.option_strings}
        for tok in args[1:]:
            if tok.startswith("-"):
                assert tok in options, f"`houqin-agent {args[0]}` has no option {tok}"


def test_every_houqin_variable_in_the_doc_is_a_setting() -> None:
    from district.config import SETTINGS

    settings = {f"HOUQIN_{name}" for name in SETTINGS} | {"HOUQIN_INSTANCE_PATH"}
    named = set(re.findall(r"\bHOUQIN_[A-Z_]+\b", DOC.read_text(encoding="utf-8")))
    assert named and named <= settings, f"not settings of district/config.py: {named - settings}"
