"""Patch many package trees: each one's failure is recorded and the others go on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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


@dataclass(frozen=True)
class PatchSettings:
    """How configs are read and checked; the same for every package of a batch."""

    config_format: str = "auto"
    release: str | None = None
    dist: str | None = None
    apply_check: bool = True
    allow_scripts: bool = False
    lookaside_store: Path | None = None  # blobs for srpmproc's lookaside directives

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "config_format": self.config_format,
            "release": self.release,
            "dist": self.dist,
            "apply_check": self.apply_check,
            "allow_scripts": self.allow_scripts,
            "lookaside_store": self.lookaside_store,
        }


T = TypeVar("T")


def _each(
    items: Iterable[Path],
    progress: Progress,
    work: Callable[[Path], T],
    failed: Callable[[Path, Exception], T],
    outcome_of: Callable[[T], PatchOutcome],
) -> list[T]:
    """Run ``work`` on every item; one item's surprise is recorded and the batch goes on."""
    items = list(items)
    out: list[T] = []
    progress.start("patching", len(items))
    for item in items:
        try:
            out.append(work(item))
        except Exception as exc:
            out.append(failed(item, exc))
        outcome = outcome_of(out[-1])
        progress.advance(note=f"{outcome.package}: {outcome.status}")
    progress.finish()
    return out


def patch_trees(
    trees: Iterable[Path],
    configs: Path,
    settings: PatchSettings = PatchSettings(),
    *,
    dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
) -> list[PatchOutcome]:
    """Patch plain package folders in place (or only classify them with ``dry_run``)."""

    def work(tree: Path) -> PatchOutcome:
        return apply_config(tree, configs, dry_run=dry_run, **settings.as_kwargs())

    return _each(trees, progress, work, _failed, lambda o: o)


def patch_repositories(
    repos: Iterable[Path],
    configs: Path,
    settings: PatchSettings = PatchSettings(),
    *,
    branch: str,
    upstream_ref: str = "HEAD",
    progress: Progress = NO_PROGRESS,
) -> list[tuple[PatchOutcome, CommitResult | None]]:
    """Patch git package repositories, committing each result to ``branch``."""

    def work(repo: Path) -> tuple[PatchOutcome, CommitResult | None]:
        if not is_repo(repo):
            raise ElforgeError("not a git repository", subject=repo)
        return patch_repository(
            repo, configs, branch=branch, upstream_ref=upstream_ref, **settings.as_kwargs()
        )

    def failed(repo: Path, exc: Exception) -> tuple[PatchOutcome, CommitResult | None]:
        return _failed(repo, exc), None

    return _each(repos, progress, work, failed, lambda pair: pair[0])
