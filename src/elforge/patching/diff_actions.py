"""apply_diff: a unified diff applied to the package tree with ``patch --fuzz=0``."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from elforge import pathsafe
from elforge.errors import ConfigError
from elforge.patching.config import ApplyDiff
from elforge.patching.context import ActionContext, Drift, Step
from elforge.patching.diffs import (
    FilePatch,
    check_paths,
    created_links,
    failure_excerpt,
    run_patch,
    stripped,
)
from elforge.patching.drift import nearest_name

_HEADER = re.compile(r"^(---|\+\+\+) (\S+)(.*)$")


def with_sources_prefix(text: str, strip: int) -> str:
    """srpmproc's non-strict patches: a path outside SOURCES/ and SPECS/ means SOURCES/<path>."""
    out = []
    for line in text.split("\n"):
        m = _HEADER.match(line)
        if m and m[2] != "/dev/null":
            parts = m[2].split("/")
            head, rest = parts[:strip], parts[strip:]
            if rest and rest[0] not in ("SOURCES", "SPECS"):
                line = f"{m[1]} {'/'.join([*head, 'SOURCES', *rest])}{m[3]}"
        out.append(line)
    return "\n".join(out)


def _refuse_escapes(src: Path, text: str, files: list[FilePatch], strip: int, tree: Path) -> None:
    """No file reached through a link, and no new link that points out of the tree."""
    for fp in files:
        for raw in (fp.old, fp.new):
            if name := stripped(raw, strip):
                pathsafe.inside(tree, name, subject=src)
    for name, target in created_links(text, files, strip):
        if pathsafe.link_leaves(tree, tree / name, target):
            raise ConfigError(
                f"creates the symbolic link {pathsafe.shown(name)} -> "
                f"{pathsafe.shown(target)}, which leaves the tree",
                subject=src,
            )


def run_apply_diff(action: ApplyDiff, ctx: ActionContext) -> Step:
    src = ctx.config_file(action.diff, what="diff")
    text = ctx.config_bytes(action.diff, what="diff").decode("utf-8", errors="surrogateescape")
    if action.sources_prefix:
        text = with_sources_prefix(text, action.strip)
    files = check_paths(src, text, action.strip)
    _refuse_escapes(src, text, files, action.strip, ctx.tree)
    with tempfile.TemporaryDirectory(prefix="elforge-diff-") as tmp:
        diff = Path(tmp) / "change.diff"
        diff.write_text(text, encoding="utf-8", errors="surrogateescape")
        ok, output = run_patch(diff, ctx.tree, action.strip, dry_run=True)
        if not ok:
            missing = [
                name
                for fp in files
                if (name := stripped(fp.old, action.strip))
                and not (ctx.tree / name).exists()
                and fp.old != "/dev/null"
            ]
            if missing and "can't find file" in output:
                raise Drift(
                    "file to patch not found",
                    file=missing[0],
                    nearest=nearest_name(missing[0], ctx.tree_files()),
                )
            file, problem, near = failure_excerpt(files, output, ctx.tree, action.strip)
            raise Drift(f"{action.diff}: {problem}", file=file, nearest=near)
        ok, output = run_patch(diff, ctx.tree, action.strip, dry_run=False)
        if not ok:  # the dry run passed; a real failure is the tool's
            raise Drift(f"{action.diff}: patch failed: {output[-200:]}", file=action.diff)
    touched = sorted({n for fp in files for n in (stripped(fp.new, action.strip),) if n})
    return Step(changed=len(files), files=touched)
