"""Benchmark: elforge's ELF reader against pyelftools and LIEF, in the same run.

Each reader must produce the same thing: every dynamic symbol with its name, binding, type,
size and version. Files: the shared libraries of the test data's RPMs (typical DSOs) and a
DSO with 50,000 versioned dynamic symbols generated here with gcc. Targets: at most 10 ms
for a typical DSO and 100 ms for the 50k-symbol one.

    python bench/elf_reader.py [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from elforge.abi.payload import iter_package  # noqa: E402
from elforge.elf.reader import read_elf  # noqa: E402

TESTDATA = Path(os.environ.get("ELFORGE_TESTDATA", ROOT.parent / "shared" / "testdata"))


def ours(data: bytes) -> int:
    return len(read_elf(data).symbols)


def pyelftools(data: bytes) -> int:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerSymSection

    elf = ELFFile(io.BytesIO(data))
    dynsym = elf.get_section_by_name(".dynsym")
    versym = next((s for s in elf.iter_sections() if isinstance(s, GNUVerSymSection)), None)
    verdef = elf.get_section_by_name(".gnu.version_d")
    names = {}
    if verdef is not None:
        for vd, aux in verdef.iter_versions():
            names[vd["vd_ndx"]] = next(aux).name
    n = 0
    for i, sym in enumerate(dynsym.iter_symbols()):
        _ = (sym.name, sym["st_info"]["bind"], sym["st_info"]["type"], sym["st_size"])
        if versym is not None:
            _v = names.get(versym.get_symbol(i)["ndx"])
        n += 1
    return n


def lief_reader(data: bytes) -> int:
    import lief

    lief.logging.disable()
    binary = lief.parse(list(data))
    n = 0
    for sym in binary.dynamic_symbols:
        _ = (sym.name, sym.binding, sym.type, sym.size)
        if sym.has_version:
            sv = sym.symbol_version
            _v = sv.symbol_version_auxiliary.name if sv.has_auxiliary_version else sv.value
        n += 1
    return n


def make_50k(work: Path, count: int = 50_000) -> bytes:
    src = work / "big.c"
    with src.open("w") as fh:
        for i in range(count):
            fh.write(f"int sym_{i:05d}(void) {{ return {i}; }}\n")
    vs = work / "big.map"
    vs.write_text("BIG_1.0 { global: sym_0*; sym_1*; local: *; };\n"
                  "BIG_2.0 { global: sym_2*; sym_3*; sym_4*; } BIG_1.0;\n")  # fmt: skip
    out = work / "libbig.so.1"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O0", "-o", str(out), str(src),
                    "-Wl,-soname,libbig.so.1", f"-Wl,--version-script={vs}", "-s"],
                   check=True)  # fmt: skip
    return out.read_bytes()


def median_ms(fn: Callable[[bytes], int], data: bytes, repeat: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds (CPU time is what a loaded, shared machine keeps
    stable; wall time is what a user waits)."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn(data)
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    dsos: list[tuple[str, bytes]] = []
    for rpm in sorted((TESTDATA / "abi" / "pkgdiff").rglob("*.rpm")):
        if "debuginfo" in rpm.name or "devel" in rpm.name:
            continue
        for e in iter_package(rpm):
            if e.data is not None and ".so" in e.path:
                dsos.append((f"{rpm.name}:{e.path}", e.data))
    readers = {"elforge": ours, "pyelftools": pyelftools, "lief": lief_reader}
    print(f"{len(dsos)} DSOs from the test data ({sum(len(d) for _, d in dsos) >> 20} MiB); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    wall: dict[str, list[float]] = {k: [] for k in readers}
    cpu: dict[str, list[float]] = {k: [] for k in readers}
    for _name, data in dsos:
        for k, fn in readers.items():
            w, c = median_ms(fn, data, args.repeat)
            wall[k].append(w)
            cpu[k].append(c)
    print(f"{'reader':<12}{'wall ms/DSO':>12}{'cpu ms/DSO':>12}{'cpu max':>10}{'vs elforge':>12}")
    base = statistics.median(cpu["elforge"])
    for k in readers:
        med = statistics.median(cpu[k])
        print(f"{k:<12}{statistics.median(wall[k]):>12.2f}{med:>12.2f}{max(cpu[k]):>10.1f}"
              f"{med / base:>11.1f}x")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        big = make_50k(Path(tmp))
    print(f"\ngenerated DSO: 50,000 versioned dynamic symbols ({len(big) >> 10} KiB)")
    print(f"{'reader':<12}{'wall ms':>10}{'cpu ms':>10}{'vs elforge':>12}")
    res = {k: median_ms(fn, big, args.repeat if k != "pyelftools" else 1)
           for k, fn in readers.items()}  # fmt: skip
    for k, (w, c) in res.items():
        print(f"{k:<12}{w:>10.1f}{c:>10.1f}{c / res['elforge'][1]:>11.1f}x")
    ok = statistics.median(cpu["elforge"]) <= 10 and res["elforge"][1] <= 100
    print(f"\ntargets (CPU, <=10 ms typical DSO, <=100 ms at 50k): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
