"""What a build ran on: the buildroot's package list, as far as it can be known.

- mock records the packages it installed in the chroot (``installed_pkgs.log`` in the result
  folder); that list is exact.
- rpmbuild on an RPM-based host: the host's rpmdb is the buildroot (``rpm -qa``).
- rpmbuild on a non-RPM host (Debian): the build dependencies are not in any rpmdb (builds run
  with ``--nodeps``), so the list holds what is knowable, the host's own versions of rpm and of
  the compiler toolchain, and the note says so.
"""

from __future__ import annotations

import functools
import shutil
import time
from pathlib import Path

from elforge.proc import run_command

_DEBIAN_TOOLCHAIN = ("rpm", "gcc", "g++", "make", "binutils", "libc6-dev", "patch", "tar", "gzip")


@functools.cache
def is_rpm_host() -> bool:
    """True when the host's own rpmdb holds packages (Fedora, EL…), False on Debian."""
    if shutil.which("rpm") is None:
        return False
    proc = run_command(["rpm", "-q", "--quiet", "rpm"], capture_output=True, check=False)
    return proc.returncode == 0


def _run(argv: list[str]) -> str:
    proc = run_command(argv, capture_output=True, text=True, check=False)
    return proc.stdout if proc.returncode == 0 else ""


_HOST_TTL = 60.0  # seconds a host description is reused across builds in one process
_host_cache: tuple[float, tuple[list[str], str]] | None = None


def host_buildroot() -> tuple[list[str], str]:
    """(packages, note) describing the host that ``rpmbuild`` runs on.

    Asked once a minute at most: querying the package database costs more than a small
    build, and a pipeline worker builds package after package on the same host."""
    global _host_cache
    now = time.monotonic()
    if _host_cache is None or now - _host_cache[0] > _HOST_TTL:
        _host_cache = (now, _describe_host())
    packages, note = _host_cache[1]
    return list(packages), note


def _describe_host() -> tuple[list[str], str]:
    if is_rpm_host():
        out = _run(["rpm", "-qa", "--qf", "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\n"])
        return sorted(filter(None, out.splitlines())), "host rpmdb (rpm -qa)"
    packages: list[str] = []
    if shutil.which("dpkg-query"):
        out = _run(
            [
                "dpkg-query",
                "-W",
                "-f",
                "${Package} ${Version} ${Architecture}\n",
                *_DEBIAN_TOOLCHAIN,
            ]
        )
        packages = [f"deb:{line}" for line in out.splitlines() if line.strip()]
    gcc = _run(["gcc", "-dumpfullversion"]).strip() if shutil.which("gcc") else ""
    if gcc and not any(p.startswith("deb:gcc ") for p in packages):
        packages.append(f"gcc {gcc}")
    note = (
        "non-RPM host: rpmbuild ran with --nodeps, build dependencies are not tracked by an "
        "rpmdb; listed are the host's rpm and toolchain versions"
    )
    return sorted(packages), note


def mock_buildroot(resultdir: Path) -> tuple[list[str], str]:
    log = resultdir / "installed_pkgs.log"
    if log.is_file():
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        return sorted(line.split()[0] for line in lines if line.strip()), "mock chroot"
    return [], "mock did not write installed_pkgs.log"
