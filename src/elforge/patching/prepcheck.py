"""Check that added patches apply: ``rpmbuild -bp`` the upstream spec, then
``patch --dry-run --fuzz=0`` each added patch, in order, on the prepped sources."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import ToolError
from elforge.patching.context import AddedPatch
from elforge.patching.diffs import failure_excerpt, parse_diff, run_patch
from elforge.patching.spec import find_spec, sources_dir
from elforge.proc import run_command


@dataclass
class PatchMiss:
    action_index: int
    file: str
    problem: str
    nearest: str


def build_subdir(build: Path) -> Path:
    """The unpacked source directory: follow single subdirectories down from BUILD/."""
    here = build
    while True:
        subdirs = [p for p in here.iterdir() if p.is_dir() and p.name != "SPECPARTS"]
        files = [p for p in here.iterdir() if not p.is_dir()]
        if len(subdirs) != 1 or files:
            return here
        here = subdirs[0]


def prep(tree: Path, topdir: Path) -> Path:
    spec = find_spec(tree)
    cmd = [
        "rpmbuild",
        "-bp",
        "--nodeps",
        "--define", f"_topdir {topdir}",
        "--define", f"_sourcedir {sources_dir(tree)}",
        "--define", f"_builddir {topdir / 'BUILD'}",
        str(spec),
    ]  # fmt: skip
    try:
        res = run_command(cmd, capture_output=True, text=True, timeout=900, check=False)
    except FileNotFoundError:
        raise ToolError("rpmbuild is not installed") from None
    if res.returncode != 0:
        errs = [
            x for x in res.stderr.splitlines() if "error" in x.lower()
        ] or res.stderr.splitlines()
        hint = errs[-1] if errs else "failed"
        raise ToolError(
            f"rpmbuild -bp failed ({hint.strip()}); are the sources at hand? "
            "(use --no-apply-check to skip the check)",
            subject=spec,
        )
    return build_subdir(topdir / "BUILD")


def check_added_patches(upstream_tree: Path, patches: list[AddedPatch]) -> list[PatchMiss]:
    """Prep the upstream tree and stack the added patches on it; report those that fail."""
    if not patches:
        return []
    misses = []
    with tempfile.TemporaryDirectory(prefix="elforge-prep-") as tmp:
        src = prep(upstream_tree, Path(tmp))
        for added in patches:
            ok, output = run_patch(added.path, src, added.strip, dry_run=True)
            if not ok:
                files = parse_diff(added.path.read_text(encoding="utf-8", errors="replace"))
                file, problem, near = failure_excerpt(files, output, src, added.strip)
                misses.append(
                    PatchMiss(added.action_index, file, f"{added.path.name}: {problem}", near)
                )
                continue
            run_patch(added.path, src, added.strip, dry_run=False)
    return misses
