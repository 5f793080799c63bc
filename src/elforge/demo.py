"""``make demo``: run elforge on the bundled example and print what it found.

Grows with the pipeline; today it sets up a workspace at demo-workspace/ and compares
real package versions the way a rebuild is compared with its reference.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from elforge.cli.main import main as cli_main

ROOT = Path(__file__).resolve().parents[2]


def _testdata() -> Path | None:
    for cand in (os.environ.get("ELFORGE_TESTDATA"), ROOT.parent / "shared" / "testdata",
                 ROOT.parent.parent / "shared" / "testdata"):  # fmt: skip
        if cand and (Path(cand) / "abi").is_dir():
            return Path(cand)
    return None


def _abi_steps(ws: Path) -> list[list[str]]:
    """An ABI comparison of two real nss builds (test data), when the data is there."""
    td = _testdata()
    if td is None:
        return []
    nss = td / "abi" / "pkgdiff" / "nss"
    cache = str(ws / ".elforge" / "cache")
    return [
        ["abi", "diff", str(nss / "nss-3.23.0-1.0.fc23.x86_64.rpm"),
         str(nss / "nss-3.24.0-1.0.fc23.x86_64.rpm"), "--cache-dir", cache],
    ]  # fmt: skip


def main() -> int:
    ws = ROOT / "demo-workspace"
    steps = [
        ["init", str(ws), "--force"],
        ["vercmp", "5.1.8-9.el9", "5.1.8-9.el9_4.alma.1"],
    ]
    steps += _abi_steps(ws)
    for argv in steps:
        print(f"$ elforge {' '.join(argv)}", flush=True)
        rc = cli_main(argv)
        if rc and argv[0] != "abi":  # abi's exit bits report findings, not failures
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
