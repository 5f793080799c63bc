"""Signing what ``publish`` ships: RPMs with ``rpmsign --addsign``, and each repository's
``repomd.xml`` with a detached, ASCII-armoured ``repomd.xml.asc`` (what dnf checks with
``repo_gpgcheck=1``). Both use the gpg key named like rpm's ``_gpg_name``."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from elforge.errors import ToolError
from elforge.proc import run_command


def _gpg() -> str:
    gpg = shutil.which("gpg2") or shutil.which("gpg")
    if gpg is None:
        raise ToolError("gpg is not installed (signing needs it)", subject="gpg")
    return gpg


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "no message")[:300]


def sign_rpms(paths: Sequence[Path], key: str) -> None:
    """Add a signature by ``key`` to each RPM, in place."""
    if not paths:
        return
    if shutil.which("rpmsign") is None:
        raise ToolError("rpmsign is not installed", subject="rpmsign")
    argv = ["rpmsign", "--addsign", "--define", f"_gpg_name {key}", "--define", f"__gpg {_gpg()}"]
    proc = run_command(
        [*argv, *map(str, paths)], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise ToolError(f"rpmsign failed: {_first_line(proc.stderr)}", subject=paths[0])


def sign_repomd(repomd: Path, key: str) -> Path:
    """Write ``repomd.xml.asc`` next to ``repomd``: a detached armoured signature by ``key``."""
    signature = repomd.with_name(repomd.name + ".asc")
    argv = [_gpg(), "--batch", "--yes", "--local-user", key, "--armor", "--detach-sign"]
    proc = run_command(
        [*argv, "--output", str(signature), str(repomd)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise ToolError(f"gpg --detach-sign failed: {_first_line(proc.stderr)}", subject=repomd)
    return signature
