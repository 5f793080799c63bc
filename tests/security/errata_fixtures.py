"""Builders for the errata tests: RPMs made with rpmbuild at fixed and unfixed versions, a
modules.yaml naming some of them, and dnf run against a published repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers import require_tool

SPEC = """\
Name: {name}
Version: {version}
Release: {release}%{{?dist}}
Summary: errata test package {name}
License: MIT
%description
Synthetic {name} for the errata tests.
{subpackages}
%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo {version}-{release} > %{{buildroot}}/usr/share/{name}/version
{sub_install}
%files
/usr/share/{name}/version
{sub_files}
"""


def build_rpms(
    topdir: Path,
    name: str,
    version: str,
    release: str,
    *,
    dist: str = ".el9_3",
    subpackages: tuple[str, ...] = (),
    target: str | None = None,
) -> list[Path]:
    """Binary RPMs of ``name`` (and ``name-SUB`` subpackages) built by rpmbuild."""
    require_tool("rpmbuild")
    text = SPEC.format(
        name=name,
        version=version,
        release=release,
        subpackages="".join(
            f"%package {s}\nSummary: {s}\n%description {s}\n{s} part\n" for s in subpackages
        ),
        sub_install="\n".join(
            f"echo {s} > %{{buildroot}}/usr/share/{name}/{s}" for s in subpackages
        ),
        sub_files="".join(f"%files {s}\n/usr/share/{name}/{s}\n" for s in subpackages),
    )
    top = topdir / f"{name}-{version}-{release}-{target or 'native'}"
    spec = top / f"{name}.spec"
    top.mkdir(parents=True, exist_ok=True)
    spec.write_text(text)
    cmd = ["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", f"dist {dist}",
           "--define", "debug_package %{nil}", "--define", "_build_id_links none"]  # fmt: skip
    if target:
        cmd += ["--target", target]
    proc = subprocess.run([*cmd, str(spec)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return sorted((top / "RPMS").rglob("*.rpm"))


def modules_yaml(path: Path, name: str, stream: str, version: int, rpms: list[str]) -> Path:
    """A modulemd v2 document whose artifacts are ``rpms`` (NEVRA ``n-e:v-r.a``)."""
    lines = [
        "---", "document: modulemd", "version: 2", "data:", f"  name: {name}",
        f"  stream: \"{stream}\"", f"  version: {version}", "  context: 9edba152",
        "  arch: x86_64", "  summary: test module", "  description: test module",
        "  license:", "    module: [MIT]", "  artifacts:", "    rpms:",
        *(f"    - {r}" for r in rpms), "...",
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def dnf(root: Path, *args: str, repos: dict[str, Path]) -> subprocess.CompletedProcess[str]:
    """Debian's dnf on ``repos`` only, installing into ``root`` (no network, no gpg)."""
    require_tool("dnf")
    cmd = [
        "dnf", "--setopt=reposdir=/dev/null", f"--installroot={root}", "--releasever=9",
        f"--setopt=cachedir={root.parent / (root.name + '-cache')}", "--setopt=gpgcheck=0",
        "--nodocs", "--disableplugin=*", "-y" if "--assumeno" not in args else "--assumeno",
        *(f"--repofrompath={name},file://{path}" for name, path in repos.items()),
        *(a for a in args if a != "--assumeno"),
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
