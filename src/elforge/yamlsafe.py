"""YAML from others, without alias bombs: the one loader for configs and repository YAML.

An alias (``*name``) shares a node, so a few hundred bytes of nested aliases expand to
billions of values as soon as anything walks or prints the result. Configs never need them;
they are refused while parsing, before anything is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from elforge.errors import FormatError

try:
    _FastBase: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _FastBase = yaml.SafeLoader


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses alias events (and so merge keys built on them)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not allowed (anchors and '*' references)",
                event.start_mark,
            )  # fmt: skip
        return super().compose_node(parent, index)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error as one short line: the problem and where."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable"])[0]
    return f"not valid YAML{where}: {str(problem)[:120]}"


def has_alias(text: str | bytes) -> int | None:
    """The line of the first alias in a YAML stream (fast C scanner), or None."""
    if (b"*" not in text) if isinstance(text, bytes) else ("*" not in text):
        return None
    for token in yaml.scan(text, Loader=_FastBase):
        if isinstance(token, yaml.AliasToken):
            return int(token.start_mark.line) + 1
    return None


def load_no_alias(text: str, *, subject: str | Path) -> Any:
    """One YAML document (safe types), refusing aliases; a YAML error is a FormatError."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        raise FormatError(yaml_problem(exc), subject=subject) from None
