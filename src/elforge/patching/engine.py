"""Apply one package's patch config to its tree: the stage the pipeline calls.

The actions run on a scratch copy of the tree. Only a fully successful run (every action
within its expectation, every added patch applying) is written back, so a drifted package
keeps its upstream state and the failure is reported, not half-applied.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from elforge.errors import ElforgeError
from elforge.patching import config as cfgmod
from elforge.patching.context import ActionContext, Drift, Step
from elforge.patching.diff_actions import run_apply_diff
from elforge.patching.drift import Diagnostic
from elforge.patching.file_actions import (
    run_add_patch,
    run_add_source,
    run_add_tag,
    run_lookaside,
    run_remove_source,
    run_replace_source,
)
from elforge.patching.loading import load_config
from elforge.patching.outcome import ActionResult, PatchOutcome
from elforge.patching.prepcheck import check_added_patches
from elforge.patching.release_actions import run_changelog, run_release_suffix
from elforge.patching.script_action import run_script
from elforge.patching.spec import find_spec
from elforge.patching.srpmproc_spec import run_srpmproc_spec_change
from elforge.patching.text_actions import run_add_line, run_delete_line, run_replace


def _dispatch(action: Any, ctx: ActionContext, index: int) -> Step:
    runners: dict[type, Callable[[Any, ActionContext], Step]] = {
        cfgmod.Replace: run_replace,
        cfgmod.DeleteLine: run_delete_line,
        cfgmod.AddLine: run_add_line,
        cfgmod.AddSource: run_add_source,
        cfgmod.RemoveSource: run_remove_source,
        cfgmod.ReplaceSource: run_replace_source,
        cfgmod.ApplyDiff: run_apply_diff,
        cfgmod.ReleaseSuffix: run_release_suffix,
        cfgmod.AddTag: run_add_tag,
        cfgmod.Changelog: run_changelog,
        cfgmod.RunScript: run_script,
        cfgmod.LookasideStore: run_lookaside,
        cfgmod.SrpmprocSpecChange: run_srpmproc_spec_change,
    }
    if isinstance(action, cfgmod.AddPatch):
        return run_add_patch(action, ctx, index)
    return runners[type(action)](action, ctx)


def package_name(tree: Path) -> str:
    try:
        return find_spec(tree).stem
    except ElforgeError:
        return tree.name


def _ignore_git(directory: str, names: list[str]) -> list[str]:
    return [".git"] if ".git" in names else []


def sync_back(work: Path, tree: Path) -> None:
    """Make ``tree`` equal to ``work`` (leaving .git alone), touching only what differs."""
    for p in sorted(tree.rglob("*"), reverse=True):
        rel = p.relative_to(tree)
        if rel.parts[0] == ".git":
            continue
        twin = work / rel
        if p.is_dir() and not p.is_symlink():
            if not twin.is_dir():
                shutil.rmtree(p)
        elif not os.path.lexists(twin):
            p.unlink()
    for p in sorted(work.rglob("*")):
        rel = p.relative_to(work)
        dest = tree / rel
        if p.is_dir() and not p.is_symlink():
            dest.mkdir(exist_ok=True)
        elif not _same_entry(p, dest):
            if os.path.lexists(dest):
                dest.unlink()
            shutil.copy2(p, dest, follow_symlinks=False)


def _same_entry(a: Path, b: Path) -> bool:
    """Same link text, or same regular content; links are compared as links, never followed."""
    if a.is_symlink() or b.is_symlink():
        return a.is_symlink() and b.is_symlink() and os.readlink(a) == os.readlink(b)
    return b.is_file() and filecmp.cmp(a, b, shallow=False)


def apply_config(
    tree: Path,
    config: Path,
    *,
    config_format: str = "auto",
    dry_run: bool = False,
    apply_check: bool = True,
    allow_scripts: bool = False,
    release: str | None = None,
    release_number_hint: int | None = None,
    dist: str | None = None,
    lookaside_store: Path | None = None,
) -> PatchOutcome:
    """Apply the package's config to ``tree`` (in place unless ``dry_run``).
    ``lookaside_store`` (``<hashtype>/<digest>`` blobs, the workspace's lookaside folder)
    serves srpmproc's ``with_lookaside`` and ``add { lookaside }``."""
    tree = Path(tree)
    package = package_name(tree)
    outcome = PatchOutcome(
        package, "identical", tree=str(tree), config=str(config), dry_run=dry_run
    )
    try:
        cfg = load_config(
            Path(config), package=package, config_format=config_format, release=release
        )
    except ElforgeError as exc:
        outcome.status = "failed"
        outcome.diagnostics.append(
            Diagnostic(-1, "config", exc.subject or str(config), exc.problem, kind="error")
        )
        return outcome
    if cfg is None:
        outcome.config = ""
        return outcome
    outcome.config, outcome.config_format = cfg.path, cfg.format
    for notice in cfg.notices:
        outcome.diagnostics.append(
            Diagnostic(-1, "config", notice.file, f"line {notice.line}: {notice.problem}",
                       kind="unknown-field")
        )  # fmt: skip
    if cfg.package and cfg.package != package:
        outcome.package = cfg.package
    with tempfile.TemporaryDirectory(prefix="elforge-patch-") as tmp:
        work = Path(tmp) / "tree"
        shutil.copytree(tree, work, symlinks=True, ignore=_ignore_git)
        ctx = ActionContext(
            tree=work,
            base_dir=Path(cfg.base_dir),
            allow_scripts=allow_scripts,
            config_allows_scripts=cfg.allow_scripts,
            release_number_hint=release_number_hint,
            dist=dist,
            lookaside_store=lookaside_store,
        )
        failed = drifted = False
        for index, action in enumerate(cfg.actions):
            result = ActionResult(
                index=index,
                action=action.action,
                source=action.origin,
                expected=str(action.expectation),
                changed=0,
                files=[],
                category=action.reason.category,
                reason=action.reason.text,
                ok=False,
            )
            outcome.actions.append(result)
            try:
                step = _dispatch(action, ctx, index)
            except Drift as exc:
                drifted = True
                outcome.diagnostics.append(
                    Diagnostic(index, action.action, exc.file, exc.problem, exc.nearest)
                )
                continue
            except ElforgeError as exc:
                failed = True
                outcome.diagnostics.append(
                    Diagnostic(
                        index,
                        action.action,
                        exc.subject or cfg.path,
                        f"action {index} ({action.action}): {exc.problem}",
                        kind="error",
                    )
                )
                break
            result.changed, result.files, result.note = step.changed, step.files, step.note
            result.ok = action.expectation.accepts(step.changed)
            if not result.ok:
                drifted = True
                problem = f"changed {step.changed} place(s), expected {action.expectation}"
                if step.misses and step.changed < action.expectation.low:
                    for file, what, near in step.misses:
                        outcome.diagnostics.append(
                            Diagnostic(index, action.action, file, f"{problem}: {what}", near)
                        )
                else:
                    outcome.diagnostics.append(
                        Diagnostic(index, action.action, ", ".join(step.files) or "-", problem)
                    )
        if not failed and apply_check and ctx.added_patches:
            try:
                for pmiss in check_added_patches(tree, ctx.added_patches):
                    drifted = True
                    outcome.actions[pmiss.action_index].ok = False
                    outcome.diagnostics.append(
                        Diagnostic(
                            pmiss.action_index,
                            outcome.actions[pmiss.action_index].action,
                            pmiss.file,
                            pmiss.problem,
                            pmiss.nearest,
                        )
                    )
            except ElforgeError as exc:
                failed = True
                outcome.diagnostics.append(
                    Diagnostic(
                        -1, "apply-check", exc.subject or str(tree), exc.problem, kind="error"
                    )
                )
        outcome.commit_lines = list(ctx.commit_lines)
        if failed:
            outcome.status = "failed"
        elif drifted:
            outcome.status = "drifted"
        elif any(a.changed for a in outcome.actions):
            outcome.status = "patched"
        if outcome.status == "patched" and not dry_run:
            sync_back(work, tree)
    return outcome
