"""Benchmark: storing and loading a distribution profile, and checking a binary against it.

Input: a profile of a real installed system (this machine's root by default: every shared
library in the loader's search path). Anchor: the naive format — plain JSON with one
``name@version`` string per symbol, loaded into sets. Each figure is the median of REPEAT
runs; ratios are against the anchor measured in the same run.

    .venv/bin/python bench/profile_load.py [--root /] [--repeat N] [--binary /usr/bin/rpm]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from elforge.compat.appcheck import run_appcheck
from elforge.compat.create import create_profile
from elforge.compat.profile import Profile, load, save


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def naive_dump(profile: Profile, path: Path) -> None:
    libs = [
        {"soname": lib.soname, "arch": lib.arch, "package": lib.package,
         "symbols": sorted(f"{n}@{v}" if v else n for v, names in lib.symbols.items()
                           for n in names)}
        for lib in profile.libraries
    ]  # fmt: skip
    path.write_text(json.dumps({"name": profile.name, "libraries": libs}))


def naive_load(path: Path) -> dict[tuple[str, str], set[str]]:
    doc = json.loads(path.read_text())
    return {(lib["arch"], lib["soname"]): set(lib["symbols"]) for lib in doc["libraries"]}


def eager_load(path: Path) -> Profile:
    profile = load(path)
    for lib in profile.libraries:
        lib.symbols  # noqa: B018 - materialise every set
    return profile


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default="/")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--binary", default="/usr/bin/rpm")
    args = parser.parse_args()

    t0 = time.perf_counter()
    profile, _ = create_profile(Path(args.root), name="bench")
    create_s = time.perf_counter() - t0
    count = profile.symbol_count()
    print(f"input: {args.root}: {len(profile.libraries)} libraries, {count} exported symbols; "
          f"profile create {create_s:.2f} s")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        naive = Path(tmp) / "naive.json"
        ours = Path(tmp) / "profile.json"
        naive_dump(profile, naive)
        save(profile, ours)
        anchor, _ = _median(lambda: naive_load(naive), args.repeat)
        eager, _ = _median(lambda: eager_load(ours), args.repeat)
        lazy, loaded = _median(lambda: load(ours), args.repeat)
        target = Path(args.binary)

        def check() -> bool:
            return run_appcheck([target], [load(ours)]).compatible

        check_s, ok = _median(check, args.repeat)
        size_naive, size_ours = naive.stat().st_size, ours.stat().st_size

    print(f"{'measurement':<44} {'median':>10} {'ratio':>8}")
    rows = [
        ("anchor: plain JSON name@version, sets", anchor),
        ("elforge gzip JSON grouped, all sets built", eager),
        ("elforge gzip JSON grouped, lazy (load only)", lazy),
        (f"load + appcheck {target.name}", check_s),
    ]
    for label, value in rows:
        print(f"{label:<44} {value * 1000:>8.1f} ms {value / anchor:>7.2f}x")
    print(f"size: plain JSON {size_naive / 1e6:.2f} MB, elforge profile {size_ours / 1e6:.2f} MB "
          f"({size_ours / size_naive:.2%}); {target.name} compatible: {ok}")  # fmt: skip
    assert len(loaded.libraries) == len(profile.libraries)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
