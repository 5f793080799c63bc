"""C++ symbol names as people read them: binutils' ``c++filt`` demangles, once per page.

ABI findings name symbols as the ELF file spells them (``_ZN5greet5helloEv@@GREET_1``); the
dashboard shows the demangled form next to the mangled one. All names of a page go through
one ``c++filt`` process.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable

from elforge.errors import ToolError
from elforge.proc import run_command

# An Itanium C++ ABI mangled name, up to a symbol version suffix or a delimiter.
MANGLED = re.compile(r"\b_Z[A-Za-z0-9_.$]+")
_MAX_NAMES = 5000


def demangle(names: Iterable[str]) -> dict[str, str]:
    """Mangled name -> demangled name, for the names ``c++filt`` could demangle."""
    unique = sorted({n for n in names if n.startswith("_Z")})[:_MAX_NAMES]
    if not unique:
        return {}
    tool = shutil.which("c++filt")
    if tool is None:
        raise ToolError("c++filt (binutils) is not installed", subject="c++filt")
    proc = run_command(
        [tool], input="\n".join(unique) + "\n", capture_output=True, text=True, timeout=30
    )
    out = proc.stdout.splitlines()
    if proc.returncode != 0 or len(out) != len(unique):
        raise ToolError(f"exit {proc.returncode}: {proc.stderr.strip()[:200]}", subject=tool)
    return {m: d for m, d in zip(unique, out, strict=True) if d != m}


def mangled_in(texts: Iterable[str]) -> set[str]:
    """Every mangled name in ``texts`` (subjects and messages of findings)."""
    return {m.group(0) for text in texts for m in MANGLED.finditer(text)}


def readable(text: str, names: dict[str, str]) -> str:
    """``text`` with each mangled name replaced by its demangled form."""
    return MANGLED.sub(lambda m: names.get(m.group(0), m.group(0)), text)
