"""Benchmark: the pipeline against bare rpmbuild, on the bundled example and at scale.

1. The example (5 packages, with a reference to verify against). Anchor, measured in the
   same run: building the five upstream trees one after the other (``rpmbuild -bs`` then
   ``rpmbuild --rebuild``, what a shell loop does). Compared: ``elforge run`` cold (all
   stages, 2 local processes), the no-op rerun (everything reused), one package changed.
2. A synthetic workspace of N packages (default 200; every fourth a small C shared library,
   the others noarch data packages). Anchor, in the same run: bare ``rpmbuild -bs`` +
   ``rpmbuild --rebuild`` of the same specs with the same macros, two at a time (the
   engine's parallelism), once before and once after the engine runs (the machine's load
   drifts; the anchor is their mean). Compared: cold run (all stages), no-op rerun (target < 3 s at
   N = 200), one package changed; the per-package engine overhead is (cold - bare) / bare
   (target < 10 %).

Workspace set-up is excluded from the timings.

Usage: python bench/pipeline.py [--repeat N] [--packages N] [--synthetic-repeat N]
       [--skip-example]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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


SYNTH_NOARCH = """\
Name:           {name}
Version:        1.0
Release:        {release}%{{?dist}}
Summary:        Synthetic data package {i}
License:        MIT
BuildArch:      noarch
Source0:        {name}.txt

%description
Synthetic package {i} of the pipeline benchmark.

%prep

%build

%install
install -D -m 0644 %{{SOURCE0}} %{{buildroot}}%{{_datadir}}/synth/{name}.txt

%files
%{{_datadir}}/synth/{name}.txt

%changelog
* Mon Jan 01 2024 Bench <bench@example.invalid> - 1.0-{release}
- synthetic
"""

SYNTH_C = """\
%global debug_package %{{nil}}
Name:           {name}
Version:        1.0
Release:        {release}%{{?dist}}
Summary:        Synthetic C library {i}
License:        MIT
Source0:        {name}.c

%description
Synthetic C library {i} of the pipeline benchmark.

%prep

%build
gcc -O2 -shared -fPIC -Wl,-soname,lib{name}.so.1 -o lib{name}.so.1 %{{SOURCE0}}

%install
install -D -m 0755 lib{name}.so.1 %{{buildroot}}%{{_libdir}}/lib{name}.so.1

%files
%{{_libdir}}/lib{name}.so.1

%changelog
* Mon Jan 01 2024 Bench <bench@example.invalid> - 1.0-{release}
- synthetic
"""


def _synth_package(upstream: Path, i: int, release: int = 1) -> Path:
    name = f"synth{i:03d}"
    tree = upstream / name
    tree.mkdir(parents=True, exist_ok=True)
    if i % 4 == 0:
        (tree / f"{name}.c").write_text(
            f"int {name}_value(int x) {{ return x * {i + 1}; }}\n"
            f"int {name}_sum(const int *v, int n) "
            "{ int s = 0; while (n--) s += v[n]; return s; }\n"
        )
        spec = SYNTH_C
    else:
        (tree / f"{name}.txt").write_text(f"synthetic package {i}\n" * 20)
        spec = SYNTH_NOARCH
    (tree / f"{name}.spec").write_text(spec.format(name=name, i=i, release=release))
    return tree


def _synth_workspace(root: Path, n: int) -> Workspace:
    Workspace.init(root)
    entries = []
    for i in range(n):
        tree = _synth_package(root / "upstream", i)
        entries.append(f'\n[[packages]]\nname = "{tree.name}"\nurl = "upstream/{tree.name}"\n')
    with (root / "elforge.toml").open("a", encoding="utf-8") as fh:
        fh.write("".join(entries))
    return Workspace.open(root)


def _bare_rpmbuild(tree: Path, work: Path, opts: BuildOptions) -> None:
    """What a shell loop does: rpmbuild -bs, then rpmbuild --rebuild, same macros."""
    defines = [a for k, v in sorted(opts.all_macros().items()) for a in ("--define", f"{k} {v}")]
    top = work / tree.name
    spec = next(tree.glob("*.spec"))
    _rpmbuild(["-bs", "--define", f"_topdir {top}", "--define", f"_sourcedir {tree}",
               *defines, str(spec)])  # fmt: skip
    srpm = next((top / "SRPMS").glob("*.src.rpm"))
    _rpmbuild(["--rebuild", "--nodeps", "--define", f"_topdir {top}/bin", *defines, str(srpm)])


def _rpmbuild(args: list[str]) -> None:
    proc = subprocess.run(["rpmbuild", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"rpmbuild {args[0]} failed: {proc.stderr.strip()[-500:]}")


def _synthetic(tmp: Path, n: int) -> dict[str, float]:
    ws = _synth_workspace(tmp / "ws", n)
    trees = sorted((ws.root / "upstream").iterdir())
    out = {"bare_before": _bare_all(ws, trees, tmp / "bare-before")}
    for label in ("cold", "noop"):
        t0 = time.perf_counter()
        summary = run_pipeline(ws)
        out[label] = time.perf_counter() - t0
        assert summary["totals"]["built"] == n, summary["totals"]
    _synth_package(ws.root / "upstream", 1, release=2)
    t0 = time.perf_counter()
    summary = run_pipeline(ws)
    out["one"] = time.perf_counter() - t0
    assert summary["counts"]["built"] == 1, summary["counts"]
    # the anchor again: the machine's load drifts, so the engine is bracketed by two anchors
    out["bare_after"] = _bare_all(ws, trees, tmp / "bare-after")
    out["bare"] = (out["bare_before"] + out["bare_after"]) / 2
    return out


def _bare_all(ws: Workspace, trees: list[Path], work: Path) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=ws.options.executor.jobs) as pool:
        list(pool.map(lambda t: _bare_rpmbuild(t, work, ws.options.build), trees))
    return time.perf_counter() - started


def _report_synthetic(n: int, runs: list[dict[str, float]]) -> None:
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"\nsynthetic: {n} packages ({(n + 3) // 4} C, {n - (n + 3) // 4} noarch), "
          f"{len(runs)} repeat(s), medians")  # fmt: skip
    print(f"{'case':<48}{'median s':>10}{'vs bare':>10}{'per pkg ms':>12}")
    rows = [
        ("anchor before: bare rpmbuild -bs/--rebuild, x2", "bare_before"),
        ("anchor after (same specs, same macros)", "bare_after"),
        ("anchor: mean of before and after", "bare"),
        ("elforge run, cold (all stages, 2 processes)", "cold"),
        ("elforge run, no-op rerun (target < 3 s)", "noop"),
        ("elforge run, one package changed", "one"),
    ]
    for label, key in rows:
        value = med[key]
        print(f"{label:<48}{value:>10.2f}{value / med['bare']:>9.2f}x{1000 * value / n:>12.1f}")
    overhead = (med["cold"] - med["bare"]) / med["bare"]
    per_pkg = 1000 * (med["cold"] - med["bare"]) / n
    print(f"per-package engine overhead (cold - bare) / bare: {100 * overhead:.1f} % "
          f"(target < 10 %), {per_pkg:.1f} ms a package")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--packages", type=int, default=200, help="synthetic workspace size")
    parser.add_argument("--synthetic-repeat", type=int, default=1)
    parser.add_argument("--skip-example", action="store_true")
    args = parser.parse_args()
    if not args.skip_example:
        _example(args.repeat)
    runs = []
    for i in range(args.synthetic_repeat):
        with tempfile.TemporaryDirectory(prefix="elforge-bench-synth-") as tmpdir:
            runs.append(_synthetic(Path(tmpdir) / f"run{i}", args.packages))
    _report_synthetic(args.packages, runs)


def _example(repeat: int) -> None:
    args = argparse.Namespace(repeat=repeat)
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
