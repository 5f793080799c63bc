"""The rebuild's own advisories merged into a repository's updateinfo at publish time."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from elforge.rpm.updateinfo import UpdateRecord, read_updateinfo, write_updateinfo


def errata_digest(errata: Sequence[UpdateRecord]) -> str | None:
    """What the errata contribute to a repository's metadata inputs (None when none)."""
    if not errata:
        return None
    return hashlib.sha256(write_updateinfo(errata).encode()).hexdigest()


def merge_errata_into_updateinfo(
    repo_dir: Path, pkgs: list[Any], updateinfo: Path | None, errata: Sequence[UpdateRecord]
) -> Path | None:
    """The updateinfo to publish: the given file's updates plus ``errata``, each limited to
    the packages this repository carries (by NEVRA; every arch, so multilib and module
    packages stay). An erratum with none of them is left out; one whose id the given file
    also has replaces it. Returns ``updateinfo`` untouched when there are no errata."""
    if not errata:
        return updateinfo
    here = {(p.name, int(p.epoch or 0), p.version, p.release, p.arch) for p in pkgs}
    merged: dict[str, UpdateRecord] = {}
    if updateinfo is not None:
        for u in read_updateinfo(updateinfo).updates:
            merged[u.id] = u
    for u in errata:
        colls = tuple(
            replace(c, packages=kept)
            for c in u.collections
            if (kept := tuple(p for p in c.packages
                              if (p.name, p.epoch, p.version, p.release, p.arch) in here))
        )  # fmt: skip
        if colls:
            merged[u.id] = replace(u, collections=colls)
    target = repo_dir / ".updateinfo.merged.xml"
    target.write_text(write_updateinfo(merged.values()), encoding="utf-8")
    return target
