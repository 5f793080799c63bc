"""Per-symbol kABI trees: the kernel source's ``redhat/kabi/kabi-module/kabi_<arch>/<symbol>``.

Red Hat keeps the kABI reference as one small file per symbol and generates
``Module.kabi_<arch>`` and ``kabi_stablelist_<arch>`` from it. A symbol file holds:

- a version line ``#<first>-<last>``: the minor releases the entry is valid for, ``last``
  exclusive and empty for "still valid" (``#0-`` since x.0, ``#2-5`` from x.2 up to x.4);
- optional metadata lines ``#<KEY>:<value>``; ``#I:<n>`` selects the n-th data line (0-based);
- one or more Module.symvers lines (CRC, symbol, module, export type, optional namespace).

Names that contain a dot are not symbol files (the generator skips them too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import FormatError
from elforge.kabi.symvers import KabiSymbol, SymbolSet, parse_symvers_line

_RANGE = re.compile(r"#(\d+)-(\d*)")
_META = re.compile(r"#([^0-9][^:]*):(.*)")


@dataclass(frozen=True)
class TreeEntry:
    symbol: KabiSymbol
    first_minor: int
    last_minor: int | None  # exclusive; None while still valid

    def valid_for(self, minor: int | None) -> bool:
        """Valid in ``minor``; ``None`` means the newest release (still-valid entries only)."""
        if minor is None:
            return self.last_minor is None
        return self.first_minor <= minor and (self.last_minor is None or minor < self.last_minor)


def parse_tree_file(path: Path) -> TreeEntry:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read kABI symbol file: {exc}", subject=path) from exc
    version: tuple[int, int | None] | None = None
    index = 0
    data: list[tuple[int, str]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        meta = _META.fullmatch(line)
        if meta:
            if meta.group(1) == "I":
                try:
                    index = int(meta.group(2))
                except ValueError:
                    raise FormatError(f"line {lineno}: bad index {line!r}", subject=path) from None
            continue
        if line.startswith("#"):
            m = _RANGE.fullmatch(line.strip())
            if m is None:
                raise FormatError(
                    f"line {lineno}: bad version line {line[:40]!r} (expected #<first>-[<last>])",
                    subject=path,
                )
            if version is None:
                version = (int(m.group(1)), int(m.group(2)) if m.group(2) else None)
            continue
        data.append((lineno, line))
    if version is None:
        raise FormatError("no #<first>-[<last>] version line", subject=path)
    if not 0 <= index < len(data):
        raise FormatError(f"no data line {index} (has {len(data)})", subject=path)
    lineno, line = data[index]
    sym = parse_symvers_line(line, subject=path, lineno=lineno)
    if sym.name != path.name:
        raise FormatError(f"line {lineno}: describes {sym.name}, not {path.name}", subject=path)
    return TreeEntry(sym, version[0], version[1])


def tree_arches(root: Path) -> dict[str, Path]:
    """The ``kabi_<arch>`` directories under ``root`` (``redhat/kabi``, ``kabi-module``, or
    one ``kabi_<arch>`` directory itself)."""
    if root.name.startswith("kabi_") and root.is_dir():
        return {root.name[5:]: root}
    if (root / "kabi-module").is_dir():
        root = root / "kabi-module"
    return {
        p.name[5:]: p for p in sorted(root.iterdir()) if p.is_dir() and p.name.startswith("kabi_")
    }


def is_kabi_tree(path: Path) -> bool:
    return path.is_dir() and bool(tree_arches(path))


def read_kabi_tree(path: Path, *, arch: str | None = None, minor: int | None = None) -> SymbolSet:
    """The symbols a per-symbol tree lists for ``arch`` in minor release ``minor``
    (default: the newest, i.e. the entries still valid)."""
    arches = tree_arches(path)
    if not arches:
        raise FormatError("no kabi_<arch> directories: not a kABI tree", subject=path)
    if arch is None:
        if len(arches) > 1:
            raise FormatError(
                f"kABI tree for several architectures ({', '.join(arches)}); "
                "choose one with --arch",
                subject=path,
            )
        arch = next(iter(arches))
    if arch not in arches:
        raise FormatError(f"no kabi_{arch} directory (has {', '.join(arches)})", subject=path)
    out = SymbolSet(source=str(arches[arch]), arch=arch, kind="tree")
    for f in sorted(arches[arch].iterdir()):
        if "." in f.name or not f.is_file():
            continue
        entry = parse_tree_file(f)
        if entry.valid_for(minor):
            out.add(entry.symbol)
    return out
