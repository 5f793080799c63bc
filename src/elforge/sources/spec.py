"""The NVR of a source package, from its spec as rpm evaluates it (``rpmspec -q --srpm``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from elforge.errors import FormatError, ToolError
from elforge.proc import run_command

QUERY = "%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\n"


def spec_nvr(spec: Path, *, dist: str, sourcedir: Path, subject: str) -> tuple[str, str]:
    """Return ``(name, "name-version-release")`` with ``dist`` as the dist tag.

    ``_sourcedir`` points at the tree's SOURCES so specs that read files at parse time
    (``%include``, Lua ``io.open``) evaluate as rpmbuild would see them.
    """
    cmd = [
        "rpmspec", "-q", "--srpm",
        "--define", f"dist {dist}",
        "--define", f"_sourcedir {sourcedir}",
        "--qf", QUERY,
        str(spec),
    ]  # fmt: skip
    try:
        proc = run_command(cmd, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        raise ToolError("rpmspec is not installed", subject=subject) from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"rpmspec timed out on {spec.name}", subject=subject) from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.count("\t") == 3]
    if proc.returncode != 0 or not lines:
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error")]
        detail = errors[0] if errors else (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise FormatError(f"{spec.name}: rpmspec cannot evaluate it: {detail}", subject=subject)
    name, _epoch, version, release = lines[0].split("\t")
    return name, f"{name}-{version}-{release}"
