"""Build the "reference" binaries of a set of upstream trees: what the reference vendor ships.

The example has no real vendor behind it, so the demo makes the reference distribution
itself: the unmodified upstream trees built with the vendor's macros. The rebuild is then
compared against these RPMs exactly as it would be against a real vendor's.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from elforge.build.artifacts import ArtifactStore
from elforge.build.builders import BuildOptions, BuildResult, build_tree


def build_reference(
    upstream: Path, dest: Path, opts: BuildOptions, *, jobs: int = 2
) -> list[BuildResult]:
    """Build every tree under ``upstream`` and copy the binary RPMs to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    store = ArtifactStore(dest / ".artifacts")
    trees = sorted(p for p in upstream.iterdir() if p.is_dir())
    # threads suffice: the work happens in rpmbuild subprocesses
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(
            pool.map(lambda t: build_tree(t.name, t, store, dest / ".logs", opts), trees)
        )
    for result in results:
        for rpm in result.rpms:
            shutil.copyfile(rpm.path, dest / rpm.filename)
    return results
