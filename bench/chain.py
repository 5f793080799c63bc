"""Benchmark: a chain build of a synthetic release with ``elforge run`` (default 200 packages).

The release (``bench/synth``: C libraries with versioned symbols, a BuildRequires DAG of depth
8, one cycle broken by a bootstrap entry) is generated first, not timed. Each case runs
``elforge run --stages import,patch,build`` on a fresh workspace, wave by wave, each build in
its own root made from the earlier waves' RPMs.

Anchor, measured in the same run: bare rpmbuild, ``rpmbuild -bs`` then ``rpmbuild --rebuild
--nodeps`` for every package in wave order, one after another, the compiler pointed at one
shared folder holding every RPM already built (what a shell loop does; no per-build root, no
sandbox, no store). Compared:

- local executor, 1 process: per-package engine overhead = (run - anchor) / N;
- local executor, 2 processes;
- Dask: a real ``dask scheduler`` and two ``dask worker`` processes on loopback;
- the no-op rerun (everything reused; target under 3 s).

Usage: python bench/chain.py [-n 200] [--skip-dask]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
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
from elforge.build.rootbuild import root_environment
from elforge.engine.pipeline import RunOptions, run_pipeline
from elforge.rpm.payload import extract
from elforge.workspace.workspace import Workspace

STAGES = ["import", "patch", "build"]
CONFIG = """\
[workspace]
name = "synthetic"
dist = ".el9"

[executor]
jobs = {jobs}

[build]
builder = "rpmbuild"
bootstrap = {bootstrap}
{packages}"""


def _workspace(
    dest: Path, release_dir: Path, names: list[str], boot: list[str], jobs: int
) -> Workspace:
    dest.mkdir(parents=True)
    packages = "".join(
        f'\n[[packages]]\nname = "{n}"\nurl = "{release_dir / n}"\nlayout = "distgit"\n'
        for n in names
    )
    (dest / "elforge.toml").write_text(
        CONFIG.format(jobs=jobs, bootstrap=repr(boot).replace("'", '"'), packages=packages)
    )
    return Workspace.open(dest)


def _run(ws: Workspace, **kw: object) -> tuple[float, dict]:
    started = time.perf_counter()
    summary = run_pipeline(ws, RunOptions(stages=STAGES, **kw))  # type: ignore[arg-type]
    return time.perf_counter() - started, summary


def _shared_root(built_repo: Path, tmp: Path) -> dict[str, str]:
    """The anchor's build environment: every built RPM in one folder (prepared, untimed)."""
    root = tmp / "shared-root"
    if not root.is_dir():
        for rpm in sorted((built_repo / "Packages").glob("*.rpm")):
            extract(rpm, root)
    return root_environment(root)


def _anchor(release_dir: Path, plan: BuildPlan, env: dict[str, str], tmp: Path) -> float:
    """Bare rpmbuild in wave order against the shared root."""
    shutil.rmtree(tmp / "anchor", ignore_errors=True)
    started = time.perf_counter()
    for wave in plan.waves:
        for name in wave:
            top = tmp / "anchor" / name
            spec = release_dir / name / f"{name}.spec"
            defines = ["--define", f"_topdir {top}", "--define", "dist .el9"]
            if name in plan.bootstrap_mode:
                defines += ["--define", "_with_bootstrap 1"]
            subprocess.run(["rpmbuild", "-bs", *defines, str(spec)], check=True,
                           capture_output=True, env=env)  # fmt: skip
            srpm = next((top / "SRPMS").glob("*.src.rpm"))
            subprocess.run(["rpmbuild", "--rebuild", "--nodeps", *defines, str(srpm)],
                           check=True, capture_output=True, env=env)  # fmt: skip
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dask_cluster(tmp: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A real ``dask scheduler`` and two ``dask worker`` processes on loopback."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = (tmp / "dask.log").open("wb")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], stdout=log, stderr=log)]  # fmt: skip
    time.sleep(3)
    for i in range(2):
        procs.append(subprocess.Popen(
            [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--name", f"w{i}",
             "--local-directory", str(tmp / f"worker{i}")],
            stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        ))  # fmt: skip
    time.sleep(5)
    return address, procs


def _alternating(
    tmp: Path, names: list[str], boot: list[str], plan: BuildPlan, repeat: int
) -> tuple[list[float], list[float], Workspace, int]:
    """Anchor and the 1-process cold run, alternating (the machine's load drifts): each
    repeat on a fresh workspace; the first run's RPMs make the anchor's shared root."""
    anchors: list[float] = []
    local1: list[float] = []
    ws: Workspace | None = None
    built = 0
    for i in range(repeat):
        order = ["elforge", "anchor"] if i % 2 == 0 else ["anchor", "elforge"]
        for case in order:
            if case == "elforge":
                run_ws = _workspace(tmp / f"ws-local1-{i}", tmp / "release", names, boot, 1)
                seconds, summary = _run(run_ws, jobs=1)
                local1.append(seconds)
                built = summary["counts"]["built"]
                ws = ws or run_ws
            else:
                assert ws is not None  # the first repeat runs elforge first
                env = _shared_root(ws.root / "buildroot", tmp)
                anchors.append(_anchor(tmp / "release", plan, env, tmp))
    assert ws is not None
    return anchors, local1, ws, built


def _dask_case(tmp: Path, names: list[str], boot: list[str]) -> tuple[str, float]:
    address, procs = _dask_cluster(tmp)
    try:
        ws = _workspace(tmp / "ws-dask", tmp / "release", names, boot, 2)
        seconds, summary = _run(ws, executor="dask", scheduler=address)
        return (
            f"elforge run, Dask (scheduler + 2 workers), built {summary['counts']['built']}",
            seconds,
        )
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2, help="anchor/1-process pairs")
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory(prefix="elforge-bench-chain-") as tmpdir:
        tmp = Path(tmpdir)
        release = generate_release(tmp / "release", n, cycles=1)
        boot = list(release.cycles[0]) if release.cycles else []
        plan = plan_trees(
            {x: tmp / "release" / x for x in release.names},
            PlanSettings(macros=(("dist", ".el9"),), bootstrap=tuple(boot)),
        )
        anchors, local1s, ws1, built = _alternating(tmp, release.names, boot, plan, args.repeat)
        anchor, local1 = statistics.median(anchors), statistics.median(local1s)
        noop = min(_run(ws1, jobs=1)[0] for _ in range(3))
        rows = [("anchor: bare rpmbuild -bs/--rebuild, sequential", anchor),
                ("elforge run, local, 1 process", local1)]  # fmt: skip
        ws2 = _workspace(tmp / "ws-local2", tmp / "release", release.names, boot, 2)
        rows.append(("elforge run, local, 2 processes", _run(ws2, jobs=2)[0]))
        if not args.skip_dask:
            rows.append(_dask_case(tmp, release.names, boot))
        rows.append(("no-op rerun (local, everything reused; target < 3 s)", noop))
        shutil.rmtree(tmp / "anchor", ignore_errors=True)
    print(f"synthetic release: {n} source packages, {len(plan.waves)} waves "
          f"{[len(w) for w in plan.waves]}, built {built}; anchor and 1 process: medians of "
          f"{args.repeat} alternating runs {[round(a) for a in anchors]} / "
          f"{[round(x) for x in local1s]} s, the others one run")  # fmt: skip
    print(f"{'case':<62}{'seconds':>9}{'per pkg s':>11}{'vs anchor':>11}")
    for label, seconds in rows:
        print(f"{label:<62}{seconds:>9.1f}{seconds / n:>11.3f}{seconds / anchor:>10.2f}x")
    overhead = (local1 - anchor) / n
    share = overhead / (anchor / n) * 100
    print(f"per-package engine overhead (local, 1 process): {overhead:.3f} s = {share:.0f}% "
          f"of a bare rpmbuild ({anchor / n:.3f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
