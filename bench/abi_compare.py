"""Benchmark: ``elforge abi compare`` against a loop of abipkgdiff over the same package pairs.

All RPM pairs under testdata/abi (the abipkgdiff cases plus the other pairs
of the folder) go to elforge as one batch (``elforge abi compare --pairs FILE``; the same
name+arch occurs in several pairs, so two trees could not hold them). Measured on the same
machine in the same run:

* ELF layer: ``elforge abi compare --types off`` (cold cache) against ``abipkgdiff`` without
  debuginfo, pair by pair;
* type layer: the pairs that have debuginfo, ``elforge abi compare --types auto`` (abidiff
  with --d1/--d2) against ``abipkgdiff --d1 --d2``;
* cached rerun: the ELF-layer compare again with the warm cache.

Wall time and peak RSS (largest process, from ``/usr/bin/time``) for each; elforge runs both
through its CLI and through the Python API (``compare_pairs`` in a fresh interpreter), since
the CLI's start-up (all command groups imported) is a fixed cost.

    python bench/abi_compare.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


TESTDATA = Path(os.environ.get("ELFORGE_TESTDATA", ROOT.parent / "shared" / "testdata"))
ABI = TESTDATA / "abi"
BIN = Path(sys.executable).parent
EXTRA_PAIRS = [
    ("ctf/libdwarf-20180129-4.x86_64.rpm", "ctf/libdwarf-20180129-5.x86_64.rpm"),
    ("ctf/elfutils-libelf-0.186-1.x86_64.rpm", "ctf/elfutils-libelf-0.186-2.x86_64.rpm"),
    ("ctf/gmp-6.1.2-8-ol8u0.x86_64.rpm", "ctf/gmp-6.2.0-10-ol9u0.x86_64.rpm"),
    ("ctf/cracklib-2.9.6-15-ol8u0.x86_64.rpm", "ctf/cracklib-2.9.6-15-ol8u6.x86_64.rpm"),
    ("pkgdiff/nss/nss-3.23.0-1.0.fc23.x86_64.rpm", "pkgdiff/nss/nss-3.24.0-1.0.fc23.x86_64.rpm"),
    ("fedabipkgdiff/nss-util/nss-util-3.12.6-1.fc14.x86_64.rpm",
     "fedabipkgdiff/nss-util/nss-util-3.24.0-2.0.fc25.x86_64.rpm"),
    ("fedabipkgdiff/packages/vte291/0.39.1/1.fc22/x86_64/vte291-0.39.1-1.fc22.x86_64.rpm",
     "fedabipkgdiff/packages/vte291/0.39.90/1.fc22/x86_64/vte291-0.39.90-1.fc22.x86_64.rpm"),
    ("fedabipkgdiff/packages/dbus-glib/0.100.2/2.fc20/i686/dbus-glib-0.100.2-2.fc20.i686.rpm",
     "fedabipkgdiff/packages/dbus-glib/0.106/1.fc23/i686/dbus-glib-0.106-1.fc23.i686.rpm"),
]  # fmt: skip


def pairs() -> list[dict[str, list[str]]]:
    cases = json.loads((ABI / "abipkgdiff-cases.json").read_text())["cases"]
    out: dict[tuple[str, str], dict[str, list[str]]] = {}
    for c in cases:
        if not c["pkg1"].endswith(".rpm"):
            continue
        key = (c["pkg1"], c["pkg2"])
        cur = out.setdefault(key, {"pkg": [c["pkg1"], c["pkg2"]], "d1": [], "d2": []})
        if c["debuginfo1"] and c["debuginfo2"] and not cur["d1"]:
            cur["d1"], cur["d2"] = c["debuginfo1"], c["debuginfo2"]
    for a, b in EXTRA_PAIRS:
        out.setdefault((a, b), {"pkg": [a, b], "d1": [], "d2": []})
    return list(out.values())


def write_pairs(path: Path, batch: list[dict[str, list[str]]], with_debug: bool) -> Path:
    """The batch as an ``elforge abi compare --pairs`` file."""
    lines = []
    for p in batch:
        cols = [str(ABI / p["pkg"][0]), str(ABI / p["pkg"][1])]
        if with_debug:
            cols += [
                ",".join(str(ABI / f) for f in p["d1"]),
                ",".join(str(ABI / f) for f in p["d2"]),
            ]
        lines.append("\t".join(cols))
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(argv: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MiB (largest process) and exit code of one command."""
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True,
                          check=False)  # fmt: skip
    wall = time.perf_counter() - t
    rss = 0
    for line in reversed(proc.stderr.strip().splitlines()):
        if re.fullmatch(r"\d+", line.strip()):
            rss = int(line) // 1024
            break
    return wall, rss, proc.returncode


def elforge_cli(pairs_file: Path, cache: Path, types: str, jobs: int) -> tuple[float, int]:
    w, m, rc = timed([str(BIN / "elforge"), "-q", "abi", "compare", "--pairs", str(pairs_file),
                      "--types", types, "--jobs", str(jobs), "--cache-dir", str(cache),
                      "--format", "json", "-o", os.devnull])  # fmt: skip
    assert not rc & 1, "elforge failed"
    return w, m


API_SNIPPET = """
import sys
from pathlib import Path
from elforge.abi.compare import CompareOptions, compare_pairs, read_pairs_file
from elforge.abi.diff import DiffOptions
opts = CompareOptions(diff=DiffOptions(types=sys.argv[2]), jobs=int(sys.argv[3]),
                      cache_dir=Path(sys.argv[1]))
res = compare_pairs(read_pairs_file(Path(sys.argv[4])), opts)
assert not res.exit_code & 1, res.errors
"""


def elforge_api(pairs_file: Path, cache: Path, types: str, jobs: int) -> tuple[float, int]:
    w, m, rc = timed([sys.executable, "-c", API_SNIPPET, str(cache), types, str(jobs),
                      str(pairs_file)])  # fmt: skip
    assert rc == 0, "API run failed"
    return w, m


def abipkgdiff_loop(all_pairs: list[dict[str, list[str]]], with_debug: bool) -> tuple[float, int]:
    wall, rss = 0.0, 0
    for p in all_pairs:
        argv = ["abipkgdiff", "--no-default-suppression"]
        if with_debug:
            for f in p["d1"]:
                argv += ["--d1", str(ABI / f)]
            for f in p["d2"]:
                argv += ["--d2", str(ABI / f)]
        argv += [str(ABI / p["pkg"][0]), str(ABI / p["pkg"][1])]
        w, m, rc = timed(argv)
        assert not rc & 1, f"abipkgdiff failed on {p['pkg']}"
        wall, rss = wall + w, max(rss, m)
    return wall, rss


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    if shutil.which("abipkgdiff") is None:
        print("abipkgdiff is not installed (abigail-tools)")
        return 1
    all_pairs = pairs()
    same_arch = all_pairs  # --pairs takes cross-architecture pairs too
    typed = [p for p in same_arch if p["d1"] and p["d2"]]
    print(f"{len(same_arch)} RPM pairs ({len(typed)} with debuginfo), jobs={args.jobs}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="elforge-bench-") as tmp:
        work = Path(tmp)
        elf_pairs = write_pairs(work / "elf.tsv", same_arch, with_debug=False)
        typ_pairs = write_pairs(work / "typ.tsv", typed, with_debug=True)

        base_w, base_m = abipkgdiff_loop(same_arch, with_debug=False)
        rows.append(("ELF layer", "abipkgdiff loop", base_w, base_m, 1.0))
        w, m = elforge_cli(elf_pairs, work / "c-cli", "off", args.jobs)
        rows.append(("ELF layer", "elforge CLI, cold", w, m, base_w / w))
        w, m = elforge_api(elf_pairs, work / "c-api", "off", args.jobs)
        rows.append(("ELF layer", "elforge API, cold", w, m, base_w / w))
        w, m = elforge_cli(elf_pairs, work / "c-cli", "off", args.jobs)
        rows.append(("ELF layer", "elforge CLI, cached", w, m, base_w / w))
        w, m = elforge_api(elf_pairs, work / "c-api", "off", args.jobs)
        rows.append(("ELF layer", "elforge API, cached", w, m, base_w / w))

        tb_w, tb_m = abipkgdiff_loop(typed, with_debug=True)
        rows.append(("type layer", "abipkgdiff --d1/--d2 loop", tb_w, tb_m, 1.0))
        w, m = elforge_cli(typ_pairs, work / "t-cli", "auto", args.jobs)
        rows.append(("type layer", "elforge CLI, cold", w, m, tb_w / w))
        w, m = elforge_cli(typ_pairs, work / "t-cli", "auto", args.jobs)
        rows.append(("type layer", "elforge CLI, cached", w, m, tb_w / w))
    print(f"{'layer':<11}{'run':<28}{'wall s':>8}{'peak RSS MiB':>14}{'speed-up':>10}")
    for layer, run, w, m, ratio in rows:
        print(f"{layer:<11}{run:<28}{w:>8.2f}{m:>14}{ratio:>9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
