"""Build the "reference" binaries of a set of upstream trees: what the reference vendor ships.

The example has no real vendor behind it, so the demo makes the reference distribution
itself: the unmodified upstream trees built with the vendor's macros. The rebuild is then
compared against these RPMs exactly as it would be against a real vendor's.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from elforge.build.artifacts import ArtifactStore
from elforge.build.builders import BuildOptions, BuildResult, build_tree
from elforge.build.chain import build_waves, plan_trees, with_root
from elforge.build.plan import DEFAULT_HOST_PROVIDES, PlanSettings


def build_reference(
    upstream: Path,
    dest: Path,
    opts: BuildOptions,
    *,
    jobs: int = 2,
    bootstrap: Sequence[str] = (),
) -> list[BuildResult]:
    """Build every tree under ``upstream`` in BuildRequires order, each wave against the
    earlier waves' RPMs (``dest/.buildroot``), and copy the binary RPMs to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    store = ArtifactStore(dest / ".artifacts")
    trees = {p.name: p for p in sorted(upstream.iterdir()) if p.is_dir()}
    repo = dest / ".buildroot"
    settings = PlanSettings(
        macros=tuple(sorted(opts.all_macros().items())), bootstrap=tuple(bootstrap), jobs=jobs
    )
    plan = plan_trees(trees, settings)
    chained = with_root(opts, repo, (), DEFAULT_HOST_PROVIDES)
    outcome = build_waves(
        trees,
        plan,
        chained,
        repo,
        lambda name, tree, o: build_tree(name, tree, store, dest / ".logs", o),
        jobs=jobs,
    )
    for result in outcome.results:
        for rpm in result.rpms:
            shutil.copyfile(rpm.path, dest / rpm.filename)
    return list(outcome.results)
