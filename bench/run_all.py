"""Run every benchmark in bench/ one after another and keep their output.

    python bench/run_all.py [NAME ...]      # e.g. rpm_formats repo; default: all

Each script measures its own anchor in the same run and prints medians and ratios; this runner
only sequences them (never in parallel: they share two cores) and saves each output under
bench/results/<name>.txt for quoting.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("*.py") if p.stem != "run_all")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    failed = []
    for name in names:
        script = HERE / f"{name}.py"
        if not script.is_file():
            print(f"no benchmark named {name!r} in {HERE}", file=sys.stderr)
            return 2
        print(f"== {name}", flush=True)
        start = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        out = proc.stdout + (proc.stderr if proc.returncode else "")
        (results / f"{name}.txt").write_text(out, encoding="utf-8")
        print(out, end="" if out.endswith("\n") else "\n")
        print(f"-- {name}: exit {proc.returncode} in {time.monotonic() - start:.1f} s\n")
        if proc.returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
