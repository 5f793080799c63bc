"""Benchmark: closure and diff on the 17,649-package CentOS Stream 9 AppStream metadata.

The anchor is dnf's own per-package loop (tests/repo/dnf_oracle.py under the system Python
with Debian's python3-dnf: a hawkey Sack over the same repository, one Goal install job per
package), measured in the same run on the same inputs, in two settings:

* ``alone``: AppStream without its BaseOS, nearly every package uninstallable and explained
  (the case of issue 13);
* ``with base``: AppStream plus a synthetic base repository that provides what AppStream needs
  from BaseOS, every 10th rarely needed capability withheld (tests/repo/repo_helpers.py
  ``write_stub_base``): mostly installable, some real breakage.

Each measurement runs as its own process under GNU time (peak RSS). Both sides must find the
same uninstallable set (checked on every run). Targets: closure no slower than the dnf loop
(ratio <= 1.0), diff under 10 s.

    .venv/bin/python bench/repo.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "repo"))
TESTDATA = Path(os.environ.get("ELFORGE_TESTDATA", ROOT.parent / "shared" / "testdata"))
CS9 = TESTDATA / "repodata/cs9-appstream-2024"
ORACLE = ROOT / "tests" / "repo" / "dnf_oracle.py"


def measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command, through GNU time (a fresh process
    tree: a child forked from this big process would inherit its peak RSS)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 4):
        raise SystemExit(f"{args[0]} failed: {proc.stderr[-2000:]}")
    return wall, int(proc.stderr.strip().splitlines()[-1]) / 1024


def closure_pair(work: Path, name: str, extra: list[Path]) -> dict[str, list[str]]:
    """The two commands of one setting: dnf's loop (anchor) and elforge closure."""
    dnf = ["/usr/bin/python3", str(ORACLE), "--cache", str(work / f"dnf-{name}"),
           "--check", str(CS9)]  # fmt: skip
    ours = [sys.executable, "-m", "elforge", "repo", "closure", str(CS9), "--no-modules",
            "--cache-dir", str(work / "cache"), "--format", "json",
            "-o", str(work / f"closure-{name}.json")]  # fmt: skip
    for path in extra:
        dnf += ["--extra", str(path)]
        ours += ["--extra", str(path)]
    return {f"dnf loop ({name})": dnf, f"elforge closure ({name})": ours}


def same_answer(work: Path, name: str, extra: list[Path]) -> int:
    """Both tools' uninstallable sets, compared once (outside the timed runs)."""
    cmds = closure_pair(work, name, extra)
    dnf_cmd, ours_cmd = cmds.values()
    theirs = json.loads(subprocess.run(dnf_cmd, capture_output=True, text=True).stdout)
    subprocess.run(ours_cmd, capture_output=True, check=False)
    ours = json.loads((work / f"closure-{name}.json").read_text())
    if set(ours["uninstallable"]) != set(theirs["uninstallable"]):
        raise SystemExit(f"{name}: elforge and dnf disagree on the uninstallable set")
    return len(ours["uninstallable"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    from repo_helpers import write_stub_base

    from elforge.rpm.repodata import Repository

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pkgs = Repository(CS9, cache_dir=work / "cache").packages()
        write_stub_base(pkgs, work / "base", withhold_every=10)
        settings = {"alone": [], "with base": [work / "base"]}
        broken = {name: same_answer(work, name, extra) for name, extra in settings.items()}
        cmds: dict[str, list[str]] = {}
        for name, extra in settings.items():
            cmds.update(closure_pair(work, name, extra))
        py = sys.executable
        cmds["elforge diff"] = [py, "-m", "elforge", "repo", "diff", str(CS9), str(CS9),
                                "--cache-dir", str(work / "cache"), "--format", "json",
                                "-o", str(work / "d.json")]  # fmt: skip
        cmds["read primary"] = [py, "-c", "import sys; from pathlib import Path; "
                "from elforge.rpm.repodata import Repository; "
                "n = len(Repository(Path(sys.argv[1]), cache_dir=Path(sys.argv[2])).packages()); "
                "assert n == 17649", str(CS9), str(work / "cache")]  # fmt: skip
        rows: dict[str, tuple[float, float]] = {}
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        for _ in range(opts.runs):  # interleaved: a load spike hits both sides of a ratio
            for name, cmd in cmds.items():
                runs[name].append(measure(cmd))
        for name, results in runs.items():
            rows[name] = (statistics.median(r[0] for r in results), max(r[1] for r in results))
        print(f"cs9 AppStream: {len(pkgs)} packages, runs={opts.runs}")
        for name, count in broken.items():
            print(f"  {name}: {count} uninstallable, the same set for elforge and dnf")
        print(f"{'command':<28}{'wall s (median)':>17}{'peak RSS MiB':>15}")
        for name, (wall, rss) in rows.items():
            print(f"{name:<28}{wall:>17.2f}{rss:>15.0f}")
        for name in settings:
            ratio = rows[f"elforge closure ({name})"][0] / rows[f"dnf loop ({name})"][0]
            print(f"closure / dnf loop wall ratio ({name}): {ratio:.2f} (target <= 1.0)")
        print(f"diff wall: {rows['elforge diff'][0]:.2f} s (target < 10 s)")


if __name__ == "__main__":
    main()
