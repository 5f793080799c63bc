"""Readable ``--help``: placeholders a user understands and help text printed as written.

Typer shows a parameter's Python type as its placeholder (``<list[Path]>``, ``<bool>`` for a
flag, ``<str>``) and reads help text as Rich markup, so ``(default: [publish] dest)`` loses
its ``[publish]``. :func:`readable_help` fixes a command tree in place, once, when the root
group loads it: an argument is shown by its upper-case name, an option's value by an
upper-case placeholder (``PATH``, ``FILE``, ``DIR``, ``KEY``, ``N``, the choices ``a|b|c``),
flags get none, and help text is escaped so that square brackets print. A parameter that
declares its own ``metavar`` keeps it.
"""

from __future__ import annotations

from typing import Any, get_args

from rich.markup import escape
from typer.core import TyperArgument, TyperOption

_TIDIED = "_elforge_readable_help"

# the last word of a parameter's name -> placeholder, for path values
_PATH_WORDS = {
    "dir": "DIR",
    "folder": "DIR",
    "workspace": "DIR",
    "root": "DIR",
    "tree": "DIR",
    "packages": "DIR",
    "artifacts": "DIR",
    "output": "FILE",
    "file": "FILE",
    "layout": "FILE",
    "advisories": "FILE",
    "modules": "FILE",
    "suppressions": "FILE",
    "stablelist": "FILE",
    "keyring": "FILE",
}


class _PlainArgument(TyperArgument):
    """An argument shown by its placeholder alone (typer adds ``<type>`` after it)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _element_type(annotation: Any) -> Any:
    args = get_args(annotation)
    return args[0] if args else annotation


def placeholder(param: TyperArgument | TyperOption) -> str:
    """The upper-case placeholder for ``param``'s value."""
    desc = param.type_descriptor
    word = (param.name or "value").rsplit("_", 1)[-1].lower()
    kind = _element_type(desc.annotation) if desc.is_list else desc.annotation
    if desc.is_choice:
        text = "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    elif desc.is_path:
        text = _PATH_WORDS.get(word, "PATH")
    elif kind is int:
        text = "N"
    elif kind is float:
        text = "SECONDS" if "timeout" in (param.name or "") else "NUMBER"
    else:
        text = word.upper() if word not in ("value", "spec") else "TEXT"
    return text


def _tidy_param(param: Any) -> None:
    if not isinstance(param, TyperArgument | TyperOption):
        return
    if isinstance(param, TyperOption) and param.is_flag:
        param.metavar = ""
    elif param.metavar is None and isinstance(param, TyperArgument):
        param.metavar = (param.name or "value").upper()
    elif param.metavar is None:
        param.metavar = placeholder(param)
    if type(param) is TyperArgument:
        param.__class__ = _PlainArgument
    if param.help:
        param.help = escape(param.help)


def readable_help(command: Any, ctx: Any) -> None:
    """Give ``command`` and everything under it readable placeholders and literal help.

    ``ctx`` is the root context: its help option names are the ones subcommands inherit,
    so the help option each command creates for itself can be tidied here too.
    """
    if getattr(command, _TIDIED, False):
        return
    setattr(command, _TIDIED, True)
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        help_option.metavar = ""
    for attr in ("help", "short_help", "epilog"):
        text = getattr(command, attr, None)
        if text:
            setattr(command, attr, escape(text))
    for param in command.params:
        _tidy_param(param)
    for sub in getattr(command, "commands", {}).values():
        readable_help(sub, ctx)
