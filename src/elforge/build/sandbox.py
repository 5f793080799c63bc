"""Run a command under bubblewrap: the system read-only, chosen folders writable, no network.

Used for what evaluates untrusted specs: the binary build (``rpmbuild --rebuild``) and the
planner's spec parser (a spec's ``%(…)`` runs a shell at parse time).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path


def have_bwrap() -> bool:
    return shutil.which("bwrap") is not None


def sandboxed(
    argv: list[str], writable: Sequence[Path] = (), *, private_tmp: bool = True
) -> list[str]:
    """``argv`` under bubblewrap: the system read-only, ``writable`` folders writable, a
    private /tmp and /var/tmp (or, without ``private_tmp``, those read-only too, so what
    lies there stays readable), no network."""
    tmp = ["--tmpfs", "/tmp", "--tmpfs", "/var/tmp"] if private_tmp else []
    binds: list[str] = []
    for path in writable:
        binds += ["--bind", str(path), str(path)]
    return [
        "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *tmp,
        *binds, "--unshare-all", "--die-with-parent", "--new-session", *argv,
    ]  # fmt: skip
