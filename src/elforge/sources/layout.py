"""Upstream layouts and the one internal form every import is normalised to.

Internal form (what the mirror's import branch holds)::

    SPECS/<spec file>              the one spec
    SOURCES/<file>                 every file upstream keeps in git that the build reads
    .<name>.metadata               lookaside files: "<hash> SOURCES/<file>" lines, sorted
    .elforge/import.json           layout, upstream URL and commit or SRPM digest, metadata name
    .elforge/upstream/<file>       the original metadata file, byte for byte

It is the exploded-SRPM layout (what rpmbuild's ``_topdir`` expects) plus provenance, so
the patch and build stages never care where a package came from.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from elforge.errors import FormatError
from elforge.sources.metadata import (
    SourceEntry,
    parse_metadata_file,
    parse_sources_file,
    render_metadata,
)


class Layout(StrEnum):
    auto = "auto"
    distgit = "distgit"
    exploded = "exploded"
    srpm = "srpm"


# Git's own control files: never build input, and an upstream .gitattributes in SOURCES/
# could make git rewrite content on its way into the mirror.
_GIT_CONTROL = frozenset({".git", ".gitattributes", ".gitmodules"})
# Files at a dist-git root that are CI or tooling configuration, not build input.
_DISTGIT_NOT_SOURCES = frozenset({"sources", "gating.yaml", "rpminspect.yaml", "rpmlint.toml"})


@dataclass
class NormalisedTree:
    """A tree in internal form, with what the importer needs to know about it."""

    root: Path
    spec: Path
    entries: list[SourceEntry]
    layout: Layout
    original_metadata: str | None  # file name of the upstream metadata, if there was one
    info: dict[str, Any] = field(default_factory=dict)

    def metadata_path(self, name: str) -> Path:
        return self.root / f".{name}.metadata"


def detect_layout(tree: Path, *, subject: str) -> Layout:
    if (tree / "SPECS").is_dir() and any((tree / "SPECS").glob("*.spec")):
        return Layout.exploded
    if any(p.is_file() for p in tree.glob("*.spec")):
        return Layout.distgit
    raise FormatError(
        "neither SPECS/*.spec (exploded SRPM tree) nor *.spec at the root (dist-git)",
        subject=subject,
    )


def _regular_files(folder: Path, *, subject: str) -> list[Path]:
    files = []
    for p in sorted(folder.iterdir()):
        if p.is_symlink():
            raise FormatError(f"{p.relative_to(folder.parent)}: symbolic links are refused",
                              subject=subject)  # fmt: skip
        if p.is_file() and p.name not in _GIT_CONTROL:
            files.append(p)
    return files


def _one_spec(specs: list[Path], where: str, *, subject: str) -> Path:
    if len(specs) != 1:
        names = ", ".join(p.name for p in specs) or "none"
        raise FormatError(f"expected exactly one spec in {where}, found {names}", subject=subject)
    return specs[0]


def write_internal_metadata(
    out: Path, name: str, entries: list[SourceEntry], original: Path | None, info: dict[str, Any]
) -> None:
    (out / f".{name}.metadata").write_text(render_metadata(entries), encoding="utf-8")
    meta = out / ".elforge"
    (meta / "upstream").mkdir(parents=True, exist_ok=True)
    if original is not None:
        shutil.copyfile(original, meta / "upstream" / original.name)
    (meta / "import.json").write_text(
        json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def normalise_git_tree(
    tree: Path, out: Path, *, name: str, layout: Layout, info: dict[str, Any]
) -> NormalisedTree:
    """Copy a checked-out dist-git or exploded tree into internal form at ``out``."""
    if layout is Layout.auto:
        layout = detect_layout(tree, subject=name)
    (out / "SPECS").mkdir(parents=True)
    (out / "SOURCES").mkdir()
    original: Path | None = None
    if layout is Layout.exploded:
        if not (tree / "SPECS").is_dir():
            raise FormatError("no SPECS/ folder (is this really an exploded tree?)", subject=name)
        spec = _one_spec(sorted((tree / "SPECS").glob("*.spec")), "SPECS/", subject=name)
        metas = sorted(tree.glob(".*.metadata"))
        preferred = tree / f".{name}.metadata"
        if preferred.is_file():
            original = preferred
        elif len(metas) == 1:
            original = metas[0]
        elif metas:
            raise FormatError(f"several metadata files and none named .{name}.metadata",
                              subject=name)  # fmt: skip
        entries = (
            parse_metadata_file(
                original.read_text(encoding="utf-8"), subject=f"{name}: {original.name}"
            )
            if original
            else []
        )
        sources = (
            _regular_files(tree / "SOURCES", subject=name) if (tree / "SOURCES").is_dir() else []
        )
    elif layout is Layout.distgit:
        spec = _one_spec(sorted(p for p in tree.glob("*.spec") if p.is_file()), "the root",
                         subject=name)  # fmt: skip
        candidate = tree / "sources"
        original = candidate if candidate.is_file() else None
        entries = (
            parse_sources_file(candidate.read_text(encoding="utf-8"), subject=f"{name}: sources")
            if original
            else []
        )
        sources = [
            p
            for p in _regular_files(tree, subject=name)
            if p != spec
            and not p.name.startswith(".")
            and p.name not in _DISTGIT_NOT_SOURCES
            and not p.name.endswith(".fmf")
        ]
    else:
        raise FormatError(f"layout {layout} is not a git tree", subject=name)
    in_lookaside = {e.file for e in entries}
    shutil.copyfile(spec, out / "SPECS" / spec.name)
    for src in sources:
        if src.name not in in_lookaside:  # the lookaside copy is the one that counts
            shutil.copyfile(src, out / "SOURCES" / src.name)
    info = {**info, "layout": str(layout), "metadata": original.name if original else None}
    write_internal_metadata(out, name, entries, original, info)
    return NormalisedTree(
        out, out / "SPECS" / spec.name, entries, layout, original.name if original else None, info
    )
