"""Benchmark: reading the AlmaLinux 8 OSV feed (3,237 records) and computing lag and parity.

Anchor: ``json.loads`` of every record file, the floor any reader pays.  Each measurement is
the median of REPEAT runs; ratios are against the anchor measured in the same run.

    .venv/bin/python bench/security.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("ELFORGE_TESTDATA", ROOT.parent / "shared" / "testdata"))
if not (TESTDATA / "MANIFEST.tsv").is_file():  # a worktree sits one level deeper
    TESTDATA = ROOT.parent.parent / "shared" / "testdata"
SEC = TESTDATA / "security"
FEED = SEC / "almalinux-osv" / "almalinux8"


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not FEED.is_dir():
        print(f"test data not found at {FEED} (set ELFORGE_TESTDATA)", file=sys.stderr)
        return 1

    from elforge.security.firstseen import read_first_seen_csv
    from elforge.security.lag import compute_lag
    from elforge.security.parity import compute_parity
    from elforge.security.sources import load_source, load_sources

    files = sorted(FEED.glob("*.json"))

    def anchor() -> int:
        return sum(len(json.loads(p.read_bytes())) for p in files)

    base, _ = _median(anchor, args.repeat)
    feed_t, feed = _median(lambda: load_source(FEED), args.repeat)
    fs_t, fs = _median(
        lambda: read_first_seen_csv(SEC / "almalinux-osv" / "first-seen-almalinux8.csv"),
        args.repeat,
    )
    ref = load_sources([SEC / "redhat-csaf", SEC / "redhat-hydra"])
    csaf_t, _ = _median(lambda: load_source(SEC / "redhat-csaf"), args.repeat)
    lag_t, report = _median(lambda: compute_lag(feed, fs, ref), args.repeat)
    par_t, _ = _median(lambda: compute_parity(ref, feed), args.repeat)

    print(f"records: {len(files)} OSV files, {len(feed.advisories)} advisories, "
          f"{len(feed.errors)} errors; lag measured for {report.overall.count}")  # fmt: skip
    print(f"{'step':42} {'median s':>9} {'x anchor':>9}")
    rows = [
        ("anchor: json.loads of 3,237 files", base),
        ("load_source(almalinux8): parse to Advisory", feed_t),
        ("read_first_seen_csv (3,238 rows)", fs_t),
        ("load_source(redhat-csaf): 7 CSAF files", csaf_t),
        ("compute_lag (2,040 ALSA)", lag_t),
        ("compute_parity (CSAF + hydra vs EL8)", par_t),
    ]
    for name, t in rows:
        print(f"{name:42} {t:9.3f} {t / base:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
