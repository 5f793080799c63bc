"""Benchmark the RPM format core against rpm's own tools, measured in the same run.

* header reads/s: ``read_header`` on every real RPM of the test data against one
  ``rpm -qp --qf`` process querying all of them (the same fields);
* payload extraction MB/s (uncompressed bytes written): ``extract`` against
  ``rpm2cpio FILE | cpio -idm`` for every RPM;
* ``elforge vercmp --batch`` pairs/s on 100,000 EVR pairs against librpm (a system
  ``/usr/bin/python3`` loop calling ``rpm.labelCompare`` on the same file); the answers
  must agree.

Each figure is the median of several rounds.  Run: ``.venv/bin/python bench/rpm_formats.py``
(``--rounds N``, ``--quick`` for fewer files).  Needs rpm, rpm2cpio, cpio, python3-rpm.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from elforge.errors import FormatError  # noqa: E402
from elforge.rpm.header import read_header  # noqa: E402
from elforge.rpm.payload import extract, iter_members  # noqa: E402
from elforge.rpm.vercmp import compare_labels  # noqa: E402

TESTDATA = Path(os.environ.get("ELFORGE_TESTDATA", ROOT.parent / "shared" / "testdata"))

QF = (
    "%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}|%{SOURCERPM}|%{SUMMARY}|%{LICENSE}|"
    "%{VENDOR}|%{BUILDHOST}|%{BUILDTIME}|%{PAYLOADCOMPRESSOR}|%{RSAHEADER:pgpsig}|"
    "[%{PROVIDENEVRS},][%{REQUIRENEVRS},][%{CONFLICTNEVRS},][%{OBSOLETENEVRS},]"
    "[%{RECOMMENDNEVRS},][%{SUGGESTNEVRS},]"
    "[%{FILENAMES}:%{FILEMODES}:%{FILESIZES}:%{FILELINKTOS}:%{FILEDIGESTS},]"
    "[%{CHANGELOGTIME}:%{CHANGELOGNAME}:%{CHANGELOGTEXT},]\n"
)
LIBRPM_LOOP = r"""
import sys, rpm
def evr(s):
    e, sep, rest = s.partition(":")
    if not sep:
        e, rest = "0", s
    v, sep, r = rest.rpartition("-")
    if not sep:
        v, r = rest, None
    return (e, v, r)
import time
start = time.perf_counter()
out = []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    a, b = line.split("\t")
    out.append(str(rpm.labelCompare(evr(a), evr(b))))
sys.stdout.write("\n".join(out) + "\n")
sys.stderr.write(f"{time.perf_counter() - start}\n")
"""


def median_time(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def real_rpms(quick: bool) -> list[Path]:
    rpms = []
    for folder in ("rpms", "abi"):
        for p in sorted((TESTDATA / folder).glob("**/*.rpm")):
            try:
                read_header(p)
            except FormatError:
                continue  # git symlink stubs in the test data
            rpms.append(p)
    return rpms[:20] if quick else rpms


def bench_headers(rpms: list[Path], rounds: int) -> None:
    def ours() -> None:
        for p in rpms:
            read_header(p)

    def theirs() -> None:
        subprocess.run(
            ["rpm", "-qp", "--nosignature", "--nodigest", "--qf", QF, *map(str, rpms)],
            check=True, capture_output=True,
        )  # fmt: skip

    t_ours, t_rpm = median_time(ours, rounds), median_time(theirs, rounds)
    n = len(rpms)
    print(
        f"header reads   : elforge {n / t_ours:8.0f}/s   rpm -qp --qf {n / t_rpm:8.0f}/s   "
        f"ratio {t_rpm / t_ours:5.2f}x  ({n} RPMs, median of {rounds})"
    )


def bench_payload(rpms: list[Path], rounds: int) -> None:
    total = sum(m.size for p in rpms for m, _ in iter_members(p))
    work = Path(tempfile.mkdtemp(prefix="elforge-bench-"))
    try:

        def ours() -> None:
            for i, p in enumerate(rpms):
                extract(p, work / "ours" / str(i))
            shutil.rmtree(work / "ours")

        def theirs() -> None:
            for i, p in enumerate(rpms):
                dest = work / "cpio" / str(i)
                dest.mkdir(parents=True)
                subprocess.run(
                    f"rpm2cpio '{p}' | cpio -idm --quiet --no-absolute-filenames",
                    shell=True, cwd=dest, check=True, capture_output=True,
                )  # fmt: skip
            shutil.rmtree(work / "cpio")

        t_ours, t_cpio = median_time(ours, rounds), median_time(theirs, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mb = total / 1e6
    print(
        f"payload extract: elforge {mb / t_ours:8.1f} MB/s rpm2cpio|cpio {mb / t_cpio:8.1f} MB/s "
        f"ratio {t_cpio / t_ours:5.2f}x  ({len(rpms)} RPMs, {mb:.0f} MB, median of {rounds})"
    )


_ALPHABET = "0123456789" * 3 + "abcxyzAZ" + "._+~^" + "00"


def _version(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 12)))


def _evr(rng: random.Random) -> str:
    epoch = rng.choice(["", "", "", "1:", "2:", "10:"])
    return f"{epoch}{_version(rng)}-{_version(rng)}"


def bench_vercmp(rounds: int, pairs: int = 100_000) -> None:
    rng = random.Random(20261126)
    lines = []
    for i in range(pairs):
        a = _evr(rng)
        b = a + _version(rng)[:2] if i % 4 == 0 else _evr(rng)
        lines.append(f"{a}\t{b}")
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        batch = f.name
    elforge = [str(Path(sys.executable).parent / "elforge"), "vercmp", "--batch", batch]
    librpm = ["/usr/bin/python3", "-c", LIBRPM_LOOP, batch]
    try:
        ours_out = subprocess.run(elforge, check=True, capture_output=True).stdout
        rpm_out = subprocess.run(librpm, check=True, capture_output=True).stdout
        disagree = sum(x != y for x, y in zip(ours_out.split(), rpm_out.split(), strict=True))

        def ours() -> None:
            subprocess.run(elforge, check=True, capture_output=True)

        def theirs() -> None:
            subprocess.run(librpm, check=True, capture_output=True)

        def startup() -> None:
            subprocess.run([*elforge[:1], "--version"], check=True, capture_output=True)

        t_ours, t_rpm = median_time(ours, rounds), median_time(theirs, rounds)
        t_start = median_time(startup, rounds)
        # the comparison loops alone: ours in this process, librpm's timed inside its own
        loop_rpm = statistics.median(
            float(subprocess.run(librpm, check=True, capture_output=True).stderr)
            for _ in range(rounds)
        )
        split = [line.split("\t") for line in lines]

        def loop() -> None:
            for a, b in split:
                compare_labels(a, b)

        loop_ours = median_time(loop, rounds)
    finally:
        os.unlink(batch)
    print(
        f"vercmp --batch : elforge {pairs / t_ours:8.0f}/s   librpm loop  {pairs / t_rpm:8.0f}/s   "
        f"ratio {t_rpm / t_ours:5.2f}x  ({pairs} pairs, whole processes, median of {rounds}, "
        f"{disagree} disagreements)"
    )
    print(
        f"  elforge CLI start-up alone (elforge --version) {t_start:.2f} s; "
        f"comparison loops alone: elforge {pairs / loop_ours:8.0f}/s, "
        f"librpm {pairs / loop_rpm:8.0f}/s, ratio {loop_rpm / loop_ours:5.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20 RPMs, 3 rounds")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    for tool in ("rpm", "rpm2cpio", "cpio"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed; run scripts/install-system-deps.sh")
    if not (TESTDATA / "MANIFEST.tsv").is_file():
        sys.exit(f"test data not found at {TESTDATA} (set ELFORGE_TESTDATA)")
    rpms = real_rpms(args.quick)
    print(f"RPM format benchmarks ({len(rpms)} real RPMs from {TESTDATA})")
    bench_headers(rpms, rounds)
    bench_payload(rpms, max(1, rounds // 2 + 1))
    bench_vercmp(rounds)


if __name__ == "__main__":
    main()
