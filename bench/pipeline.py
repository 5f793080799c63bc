"""Benchmark: the pipeline on the bundled example against a plain rpmbuild loop.

Anchor (measured in the same run): building the example's five upstream trees one after the
other (``rpmbuild -bs`` then ``rpmbuild --rebuild``, what a shell loop does). Compared:
``elforge run`` cold (all stages, 2 local processes), the no-op rerun (everything reused),
and a rerun after one package changed. Workspace set-up is excluded from the timings.

Usage: python bench/pipeline.py [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from elforge.build.artifacts import ArtifactStore
from elforge.build.builders import BuildOptions, build_tree
from elforge.engine.example import EXAMPLE_BOOTSTRAP, REFERENCE_MACROS, create_example_workspace
from elforge.engine.pipeline import run_pipeline
from elforge.engine.reference import build_reference
from elforge.workspace.workspace import Workspace


def _anchor(tmp: Path) -> float:
    ws = create_example_workspace(tmp / "anchor")
    store = ArtifactStore(tmp / "anchor-artifacts")
    started = time.perf_counter()
    for tree in sorted((ws / "upstream").iterdir()):
        build_tree(tree.name, tree, store, tmp / "anchor-logs", BuildOptions(dist=".el9"))
    return time.perf_counter() - started


def _pipeline(tmp: Path, reference: Path) -> tuple[float, float, float]:
    root = create_example_workspace(tmp / "ws")
    for rpm in reference.glob("*.rpm"):
        shutil.copyfile(rpm, root / "reference" / rpm.name)
    ws = Workspace.open(root)
    t0 = time.perf_counter()
    run_pipeline(ws)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_pipeline(ws)
    warm = time.perf_counter() - t0
    spec = root / "upstream" / "acme-docs" / "acme-docs.spec"
    spec.write_text(spec.read_text().replace("Release:        2", "Release:        3"))
    t0 = time.perf_counter()
    run_pipeline(ws)
    one = time.perf_counter() - t0
    return cold, warm, one


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    anchor: list[float] = []
    cold: list[float] = []
    warm: list[float] = []
    one: list[float] = []
    with tempfile.TemporaryDirectory(prefix="elforge-bench-") as tmpdir:
        tmp = Path(tmpdir)
        upstream = create_example_workspace(tmp / "ref-src") / "upstream"
        reference = tmp / "reference"
        build_reference(
            upstream,
            reference,
            BuildOptions(dist=".el9", macros=REFERENCE_MACROS),
            bootstrap=EXAMPLE_BOOTSTRAP,
        )
        for i in range(args.repeat):
            run_dir = tmp / f"run{i}"
            anchor.append(_anchor(run_dir))
            c, w, o = _pipeline(run_dir, reference)
            cold.append(c)
            warm.append(w)
            one.append(o)
    base = statistics.median(anchor)
    print(f"example: 5 source packages, {args.repeat} repeats, medians")
    print(f"{'case':<42}{'median s':>10}{'vs anchor':>11}")
    rows = [
        ("anchor: sequential rpmbuild -bs/--rebuild", anchor),
        ("elforge run, cold (2 local processes)", cold),
        ("elforge run, no-op rerun (all reused)", warm),
        ("elforge run, one package changed", one),
    ]
    for label, values in rows:
        med = statistics.median(values)
        print(f"{label:<42}{med:>10.2f}{med / base:>10.2f}x")


if __name__ == "__main__":
    main()
