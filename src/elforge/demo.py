"""``make demo``: run elforge on the bundled example and print what it found.

Grows with the pipeline; today it sets up a workspace at demo-workspace/ and compares
real package versions the way a rebuild is compared with its reference.
"""

from __future__ import annotations

import sys
from pathlib import Path

from elforge.cli.main import main as cli_main

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    ws = ROOT / "demo-workspace"
    steps = [
        ["init", str(ws), "--force"],
        ["vercmp", "5.1.8-9.el9", "5.1.8-9.el9_4.alma.1"],
    ]
    for argv in steps:
        print(f"$ elforge {' '.join(argv)}", flush=True)
        rc = cli_main(argv)
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
