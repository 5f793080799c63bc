"""kABI stablelists: the symbols Red Hat promises to keep stable within a major release.

``kabi_stablelist_<arch>`` (RHEL 8.x and later; ``kabi_whitelist_<arch>`` before) holds one
section per architecture, ``[rhel8_x86_64_stablelist]`` (``..._whitelist]`` in the older
naming), followed by one symbol a line, usually tab-indented. ``kernel-abi-stablelists``
installs them under ``/lib/modules/kabi-rhel<N><M>/``, with ``kabi-current`` pointing at the
newest. A ``Module.kabi_<arch>`` file (the same symbols with their CRCs) also serves as a
stablelist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import FormatError
from elforge.kabi.symvers import (
    KNOWN_ARCHES,
    SYMBOL_NAME,
    arch_from_name,
    parse_symvers,
    read_text,
)

_SECTION = re.compile(r"\[rhel(\d+)_(.+)_(stablelist|whitelist)\]")


@dataclass(frozen=True)
class Stablelist:
    """The stablelisted symbol names of one architecture."""

    source: str
    arch: str | None
    symbols: frozenset[str]
    release: str | None = None  # "rhel8" when the section header says so

    def __contains__(self, name: object) -> bool:
        return name in self.symbols

    def __len__(self) -> int:
        return len(self.symbols)


def _looks_like_symvers(text: str) -> bool:
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            return line.startswith("0x") and line.count("\t") >= 3
    return False


def parse_stablelists(text: str, *, subject: str | Path) -> dict[str | None, Stablelist]:
    """Every architecture's stablelist in ``text`` (a stablelist or a Module.kabi list).

    A bare list without a section header takes its architecture from the file name, when it
    has one (key None otherwise).
    """
    name_arch = arch_from_name(Path(str(subject)).name)
    if _looks_like_symvers(text):
        syms = parse_symvers(text, subject=subject, arch=name_arch, kind="kabi")
        return {syms.arch: Stablelist(str(subject), syms.arch, frozenset(syms.symbols))}

    sections: dict[str | None, set[str]] = {}
    release: dict[str | None, str] = {}
    current: str | None = None
    headed = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            m = _SECTION.fullmatch(line)
            if m is None:
                raise FormatError(
                    f"line {lineno}: bad section header {line[:80]!r} "
                    "(expected [rhelN_<arch>_stablelist])",
                    subject=subject,
                )
            if not headed and sections:
                raise FormatError(
                    f"line {lineno}: symbols before the first section header", subject=subject
                )
            current = m.group(2)
            if current not in KNOWN_ARCHES:
                raise FormatError(
                    f"line {lineno}: unknown architecture {current!r} in {line}", subject=subject
                )
            if name_arch is not None and current != name_arch:
                raise FormatError(
                    f"line {lineno}: section {line} in a file named for {name_arch}",
                    subject=subject,
                )
            sections.setdefault(current, set())
            release[current] = f"rhel{m.group(1)}"
            headed = True
            continue
        if not SYMBOL_NAME.fullmatch(line):
            raise FormatError(f"line {lineno}: bad symbol name {line[:80]!r}", subject=subject)
        sections.setdefault(current if headed else name_arch, set()).add(line)

    if not sections:
        raise FormatError("no symbols: not a kABI stablelist", subject=subject)
    return {
        arch: Stablelist(str(subject), arch, frozenset(names), release.get(arch))
        for arch, names in sections.items()
    }


def select_stablelist(
    lists: dict[str | None, Stablelist], arch: str | None, *, subject: str | Path
) -> Stablelist:
    """``arch``'s list; without ``arch``, the only one (several is a mixed-architecture error)."""
    if arch is not None:
        if arch in lists:
            return lists[arch]
        if set(lists) == {None}:
            only = lists[None]
            return Stablelist(only.source, arch, only.symbols, only.release)
        have = ", ".join(sorted(a or "?" for a in lists))
        raise FormatError(f"no stablelist for {arch} (has {have})", subject=subject)
    if len(lists) > 1:
        have = ", ".join(sorted(a or "?" for a in lists))
        raise FormatError(
            f"stablelists for several architectures ({have}); choose one with --arch",
            subject=subject,
        )
    return next(iter(lists.values()))


def read_stablelists(path: Path) -> dict[str | None, Stablelist]:
    """A stablelist file, or every ``kabi_stablelist_<arch>`` / ``Module.kabi_<arch>`` in a
    directory (such as ``/lib/modules/kabi-current``)."""
    if not path.is_dir():
        return parse_stablelists(read_text(path), subject=path)
    found: dict[str | None, Stablelist] = {}
    for pattern in ("kabi_stablelist_*", "kabi_whitelist_*", "Module.kabi_*"):
        for p in sorted(path.glob(pattern)):
            a = arch_from_name(p.name)
            if a is None or a in found or p.name.startswith("Module.kabi_dup_") or not p.is_file():
                continue
            found.update(parse_stablelists(read_text(p), subject=p))
    if not found:
        raise FormatError("no kabi_stablelist_<arch> or Module.kabi_<arch> here", subject=path)
    return found


def read_stablelist(path: Path, *, arch: str | None = None) -> Stablelist:
    """Read one architecture's stablelist from a file or a directory."""
    return select_stablelist(read_stablelists(path), arch, subject=path)
