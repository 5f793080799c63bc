"""Benchmark: ``elforge plan`` on a synthetic release of N source packages (default 10,000).

The release (``bench/synth``: C libraries, versioned symbols, a BuildRequires DAG of depth 8
and a few cycles) is generated first; generation is not timed. Anchor, measured in the same
run: ``rpmspec -q --buildrequires`` plus ``rpmspec -q --provides`` on a sample of the specs,
one process each (what a shell loop over the release does), per spec. Compared:

- cold plan: every spec parsed (librpm in worker processes), resolved, ordered;
- warm plan: specs unchanged, parsed results from the cache (target: under 5 s for 10,000);
- one spec changed: the cache serves all but one.

Usage: python bench/plan.py [-n 10000] [--repeat 3] [--sample 100]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import generate_release

from elforge.build.chain import plan_trees
from elforge.build.plan import BuildPlan, PlanSettings


def _anchor(specs: list[Path]) -> float:
    """Seconds per spec for the two rpmspec queries a shell loop would run."""
    started = time.perf_counter()
    for spec in specs:
        for query in ("--buildrequires", "--provides"):
            subprocess.run(
                ["rpmspec", "-q", query, "--define", "dist .el9", str(spec)],
                capture_output=True,
                check=True,
            )
    return (time.perf_counter() - started) / len(specs)


def _plan(trees: dict[str, Path], cache: Path) -> tuple[float, BuildPlan]:
    settings = PlanSettings(macros=(("dist", ".el9"),), cache=cache, jobs=2)
    started = time.perf_counter()
    plan = plan_trees(trees, settings)
    return time.perf_counter() - started, plan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elforge-bench-plan-") as tmpdir:
        tmp = Path(tmpdir)
        release = generate_release(tmp / "release", args.n)
        trees = {name: tmp / "release" / name for name in release.names}
        step = max(1, args.n // args.sample)
        anchor = _anchor([trees[n] / f"{n}.spec" for n in release.names[::step]])
        cache = tmp / "cache.json"
        cold, plan = _plan(trees, cache)
        warm = [_plan(trees, cache)[0] for _ in range(args.repeat)]
        changed = []
        for i in range(args.repeat):
            spec = trees[release.names[-1]] / f"{release.names[-1]}.spec"
            spec.write_text(spec.read_text().replace("- generated", f"- generated {i}"))
            changed.append(_plan(trees, cache)[0])
    waves = [len(w) for w in plan.waves]
    print(
        f"synthetic release: {args.n} source packages, {len(waves)} waves {waves}, "
        f"{len(plan.cycles)} cycles, {len(plan.unresolved)} unresolved, "
        f"{len(plan.errors)} errors; {args.repeat} repeats, medians"
    )
    base = anchor * args.n
    print(f"{'case':<52}{'seconds':>10}{'per spec ms':>13}{'vs anchor':>11}")
    rows = [
        (f"anchor: rpmspec x2 per spec (sample {len(release.names[::step])}, scaled)", base),
        ("cold plan (every spec parsed)", cold),
        ("warm plan (cache, target < 5 s)", statistics.median(warm)),
        ("one spec changed", statistics.median(changed)),
    ]
    for label, seconds in rows:
        per = seconds / args.n * 1000
        print(f"{label:<52}{seconds:>10.2f}{per:>13.3f}{seconds / base:>10.3f}x")


if __name__ == "__main__":
    main()
