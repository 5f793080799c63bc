"""Benchmark: closure and diff on the 17,649-package CentOS Stream 9 AppStream metadata.

Closure runs against libsolv's installcheck (Debian libsolv-tools) in the same run, on the
same inputs: the rpm/Debian-neutral copy of AppStream plus a synthetic base repository (see
tests/repo/repo_helpers.py: Debian's installcheck uses Debian dependency rules). Each
measurement runs as its own process under GNU time (peak RSS).
Targets: closure within 1.5x of installcheck, diff under 10 s.

    .venv/bin/python bench/repo.py [--runs N]
"""

from __future__ import annotations

import argparse
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


def measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command, through GNU time (a fresh process
    tree: a child forked from this big process would inherit its peak RSS)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    opts = parser.parse_args()
    from repo_helpers import debian_neutral_copy, write_stub_base

    from elforge.rpm.repodata import Repository

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        original = Repository(CS9, cache_dir=work / "cache")
        neutral = debian_neutral_copy(original.primary_path(), work / "neutral")
        pkgs = Repository(work / "neutral").packages()
        stub, _ = write_stub_base(pkgs, work / "base", withhold_every=10)
        py = sys.executable
        ours = [py, "-m", "elforge", "repo", "closure", str(work / "neutral"), "--extra",
                str(work / "base"), "--no-modules", "--format", "json", "-o",
                str(work / "c.json")]  # fmt: skip
        theirs = ["installcheck", "x86_64", str(neutral), "--nocheck", str(stub)]
        diff = [py, "-m", "elforge", "repo", "diff", str(CS9), str(work / "neutral"),
                "--cache-dir", str(work / "cache"), "--format", "json", "-o",
                str(work / "d.json")]  # fmt: skip
        read = [py, "-c", "import sys; from pathlib import Path; "
                "from elforge.rpm.repodata import Repository; "
                "n = len(Repository(Path(sys.argv[1]), cache_dir=Path(sys.argv[2])).packages()); "
                "assert n == 17649", str(CS9), str(work / "cache")]  # fmt: skip
        rows = {}
        for name, cmd in (("installcheck", theirs), ("elforge closure", ours),
                          ("elforge diff", diff), ("read primary", read)):  # fmt: skip
            runs = [measure(cmd) for _ in range(opts.runs)]
            rows[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))
        print(f"cs9 AppStream: {len(pkgs)} packages in the neutral copy, runs={opts.runs}")
        print(f"{'command':<18}{'wall s (median)':>17}{'peak RSS MiB':>15}")
        for name, (wall, rss) in rows.items():
            print(f"{name:<18}{wall:>17.2f}{rss:>15.0f}")
        ratio = rows["elforge closure"][0] / rows["installcheck"][0]
        print(f"closure / installcheck wall ratio: {ratio:.2f} (target <= 1.5)")
        print(f"diff wall: {rows['elforge diff'][0]:.2f} s (target < 10 s)")
        print(
            f"read primary = verify (size, sha256, open-size, open-sha256) and parse all "
            f"17,649 packages with createrepo_c into RepoPackage: {rows['read primary'][0]:.2f} s"
        )


if __name__ == "__main__":
    main()
