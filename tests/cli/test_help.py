"""Every command's ``--help`` is readable: no Python types as placeholders, and help text is
printed as written (Rich markup used to eat ``[publish]`` in ``(default: [publish] dest)``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
import typer.rich_utils

from elforge.cli.main import app
from helpers import run_cli

# typer's own placeholders: <bool>, <str>, <path>, <list[Path]>, <int> ...
TYPE_PLACEHOLDER = re.compile(r"<(bool|str|int|float|path|file|directory|list\[[^>]*)>")
BRACKETED = re.compile(r"\[[^\[\]]+\]")
NOT_TEXT = re.compile(r"[\s│╭╮╰╯─]+")


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="elforge")
    yield (), root
    stack = [((name,), root.get_command(ctx, name)) for name in root.list_commands(ctx)]
    while stack:
        path, command = stack.pop()
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            stack.append(((*path, name), sub))


def _flat(text: str) -> str:
    return NOT_TEXT.sub("", text)


def test_every_help_page_is_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    # wide enough that Rich never cuts a long word with an ellipsis
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 250)
    pages = 0
    for path, command in _commands():
        r = run_cli(*path, "--help")
        assert r.exit_code == 0, (path, r.stderr)
        where = " ".join(("elforge", *path))
        assert not TYPE_PLACEHOLDER.search(r.stdout), (where, TYPE_PLACEHOLDER.findall(r.stdout))
        shown = _flat(r.stdout)
        texts = [command.help or ""] + [p.help or "" for p in command.params]
        for text in texts:
            for bracketed in BRACKETED.findall(text.replace("\\[", "[")):
                assert _flat(bracketed) in shown, (where, bracketed)
        pages += 1
    assert pages > 30


def test_publish_help_keeps_the_config_section_name() -> None:
    r = run_cli("publish", "--help")
    assert "[publish]" in r.stdout and "SOURCE" in r.stdout and "<path>" not in r.stdout
    assert "<bool>" not in run_cli("--help").stdout
