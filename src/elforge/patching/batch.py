"""Patch many package trees: each one's failure is recorded and the others go on."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from elforge.errors import ElforgeError
from elforge.patching.drift import Diagnostic
from elforge.patching.engine import apply_config, package_name
from elforge.patching.gitrepo import CommitResult, is_repo, patch_repository
from elforge.patching.outcome import PatchOutcome
from elforge.progress import NO_PROGRESS, Progress


def package_trees(root: Path) -> list[Path]:
    """Folders under ``root`` that hold a package (a spec at the top or under SPECS/)."""
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and (any(p.glob("*.spec")) or any((p / "SPECS").glob("*.spec")))
    )  # fmt: skip


def _failed(tree: Path, exc: Exception) -> PatchOutcome:
    problem = exc.problem if isinstance(exc, ElforgeError) else f"{type(exc).__name__}: {exc}"
    out = PatchOutcome(package_name(tree), "failed", tree=str(tree))
    out.diagnostics.append(Diagnostic(-1, "patch", str(tree), problem, kind="error"))
    return out


def patch_trees(
    trees: Iterable[Path],
    configs: Path,
    *,
    config_format: str = "auto",
    release: str | None = None,
    dry_run: bool = False,
    apply_check: bool = True,
    allow_scripts: bool = False,
    dist: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> list[PatchOutcome]:
    trees = list(trees)
    outcomes = []
    progress.start("patching", len(trees))
    for tree in trees:
        try:
            outcome = apply_config(
                tree,
                configs,
                config_format=config_format,
                dry_run=dry_run,
                apply_check=apply_check,
                allow_scripts=allow_scripts,
                release=release,
                dist=dist,
            )
        except Exception as exc:  # one package's surprise must not stop the batch
            outcome = _failed(tree, exc)
        outcomes.append(outcome)
        progress.advance(note=f"{outcome.package}: {outcome.status}")
    progress.finish()
    return outcomes


def patch_repositories(
    repos: Iterable[Path],
    configs: Path,
    *,
    branch: str,
    upstream_ref: str = "HEAD",
    config_format: str = "auto",
    release: str | None = None,
    dist: str | None = None,
    apply_check: bool = True,
    allow_scripts: bool = False,
    progress: Progress = NO_PROGRESS,
) -> list[tuple[PatchOutcome, CommitResult | None]]:
    repos = list(repos)
    out: list[tuple[PatchOutcome, CommitResult | None]] = []
    progress.start("patching", len(repos))
    for repo in repos:
        try:
            if not is_repo(repo):
                raise ElforgeError("not a git repository", subject=repo)
            outcome, commit = patch_repository(
                repo,
                configs,
                branch=branch,
                upstream_ref=upstream_ref,
                config_format=config_format,
                release=release,
                dist=dist,
                apply_check=apply_check,
                allow_scripts=allow_scripts,
            )
            out.append((outcome, commit))
        except Exception as exc:
            out.append((_failed(repo, exc), None))
        progress.advance(note=f"{out[-1][0].package}: {out[-1][0].status}")
    progress.finish()
    return out
