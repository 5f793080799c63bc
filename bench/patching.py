"""Benchmark: applying a patch config to a real tree, against copying the tree (the anchor).

The engine works on a scratch copy of the tree, so a copy is the floor of its cost; the
ratio says how much the actions, the spec evaluation (rpmspec) and the write-back add.
Run: .venv/bin/python bench/patching.py [ROUNDS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from elforge.patching import apply_config
from elforge.patching.prototext import parse_text
from elforge.patching.srpmproc import SCHEMA

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("ELFORGE_TESTDATA", ROOT.parent / "shared" / "testdata"))
DATA = ROOT / "tests/patching/data"


def _median(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    src = TESTDATA / "distgit/centos-release-c8"
    with tempfile.TemporaryDirectory() as tmp:
        n = iter(range(10**6))

        def copy() -> None:
            shutil.copytree(src, Path(tmp) / f"c{next(n)}")

        def patch(config: Path) -> None:
            tree = Path(tmp) / f"p{next(n)}"
            shutil.copytree(src, tree)
            outcome = apply_config(tree, config, apply_check=False)
            assert outcome.status == "patched", outcome.to_json()

        anchor = _median(copy, rounds)
        native = _median(lambda: patch(DATA / "elforge"), rounds)
        autopatch = _median(lambda: patch(DATA / "autopatch/centos-release"), rounds)
        srpmproc = _median(lambda: patch(DATA / "srpmproc/centos-release"), rounds)
    cfg = DATA / "srpmproc/centos-release/PATCHES/debrand.cfg"
    text = cfg.read_text()
    parse = _median(lambda: parse_text(text, cfg, SCHEMA, "Cfg"), rounds * 20)
    print(f"centos-release-c8, {rounds} rounds, medians:")
    print(f"  anchor: copy the tree                 {anchor * 1000:8.2f} ms   1.00x")
    for label, t in (("elforge config", native), ("autopatch config", autopatch),
                     ("srpmproc directives", srpmproc)):  # fmt: skip
        print(f"  copy + apply {label:<24} {t * 1000:8.2f} ms {t / anchor:6.2f}x")
    print(f"  parse debrand.cfg (protobuf text)     {parse * 1000:8.3f} ms {parse / anchor:6.3f}x")


if __name__ == "__main__":
    main()
