"""Benchmark: parse and diff kABI lists (``elforge kabi diff``'s engine).

Runs on the real RHEL 8.8 and 8.9 ``Module.kabi_<arch>`` lists (four architectures) and on a
synthetic pair the size of a full RHEL ``Module.symvers`` (30,000 symbols). Prints the median
of several runs and the ratio to the anchor measured in the same run: reading the same files
and splitting them into lines, the least any parser must do. The coreutils pipeline the tests
use as an independent count (cut/sort/comm for removed and added only) is shown for scale.

    python bench/kabi.py [--repeat N] [--testdata DIR]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from elforge.kabi.diff import diff_kabi
from elforge.kabi.symvers import read_symvers
from elforge.report.render import render

ROOT = Path(__file__).resolve().parent.parent
ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x")
PIPELINE = r"""
for a in x86_64 aarch64 ppc64le s390x; do
  o=$1/Module.kabi_$a n=$2/Module.kabi_$a
  comm -3 <(cut -f2 "$o" | LC_ALL=C sort) <(cut -f2 "$n" | LC_ALL=C sort) | wc -l
done
"""


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def synthetic_pair(directory: Path, n: int = 30_000) -> tuple[Path, Path]:
    """A Module.symvers pair: 1% removed, 1% added, 0.5% CRC changed, 0.2% moved."""
    rng = random.Random(8)
    mods = ["vmlinux"] * 8 + [f"drivers/net/ethernet/vendor{i}/drv" for i in range(40)]
    old_lines, new_lines = [], []
    for i in range(n):
        crc, mod = rng.getrandbits(32), rng.choice(mods)
        export = "EXPORT_SYMBOL_GPL" if i % 3 else "EXPORT_SYMBOL"
        line = f"0x{crc:08x}\tsym_{i:06d}\t{mod}\t{export}\t"
        old_lines.append(line)
        r = rng.random()
        if r < 0.01:
            continue  # removed
        if r < 0.015:
            line = f"0x{rng.getrandbits(32):08x}\tsym_{i:06d}\t{mod}\t{export}\t"
        elif r < 0.017:
            line = f"0x{crc:08x}\tsym_{i:06d}\tdrivers/base/moved\t{export}\t"
        new_lines.append(line)
    new_lines += [f"0x{rng.getrandbits(32):08x}\tnew_{i:05d}\tvmlinux\tEXPORT_SYMBOL\t"
                  for i in range(n // 100)]  # fmt: skip
    old, new = directory / "old.symvers", directory / "new.symvers"
    old.write_text("\n".join(old_lines) + "\n")
    new.write_text("\n".join(new_lines) + "\n")
    return old, new


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--testdata", type=Path, default=ROOT.parent / "shared" / "testdata")
    args = ap.parse_args()
    el88, el89 = args.testdata / "kabi" / "el8.8", args.testdata / "kabi" / "el8.9"
    files = [d / f"Module.kabi_{a}" for d in (el88, el89) for a in ARCHES]
    lines = sum(len(f.read_text().splitlines()) for f in files)

    def anchor() -> None:
        for f in files:
            f.read_text().splitlines()

    rows: list[tuple[str, float]] = []
    rows.append(("anchor: read + split lines, 8 lists", median_ms(anchor, args.repeat)))
    rows.append(("parse 8 lists (read_symvers)",
                 median_ms(lambda: [read_symvers(f) for f in files], args.repeat)))  # fmt: skip
    rows.append(("parse + diff el8.8 -> el8.9, 4 arches",
                 median_ms(lambda: diff_kabi(el88, el89), args.repeat)))  # fmt: skip
    rows.append(("parse + diff + JSON report",
                 median_ms(lambda: render(diff_kabi(el88, el89).document(), "json"),
                           args.repeat)))  # fmt: skip
    rows.append(("coreutils cut/sort/comm (removed+added only)",
                 median_ms(lambda: subprocess.run(["bash", "-c", PIPELINE, "x", str(el88),
                                                   str(el89)], check=True, capture_output=True),
                           args.repeat)))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        old, new = synthetic_pair(Path(tmp))
        rows.append(("synthetic 30,000-symbol Module.symvers pair: parse + diff",
                     median_ms(lambda: diff_kabi(old, new), max(3, args.repeat // 3))))  # fmt: skip
        big = diff_kabi(old, new)

    base = rows[0][1]
    print(f"kABI lists: {len(files)} files, {lines} lines; median of {args.repeat} runs")
    print(f"{'measurement':<60} {'median ms':>10} {'x anchor':>9}")
    for name, ms in rows:
        print(f"{name:<60} {ms:>10.2f} {ms / base:>9.1f}")
    r = diff_kabi(el88, el89)
    for a in r.arches:
        counts = ", ".join(f"{k} {len(v)}" for k, v in a.changes.items())
        print(f"  {a.arch}: {len(a.old)} -> {len(a.new)} symbols; {counts}")
    print("  synthetic: " + ", ".join(f"{k} {len(big.names(k))}" for k in (
        "removed", "added", "crc_changed", "moved", "export_changed")))  # fmt: skip


if __name__ == "__main__":
    main()
