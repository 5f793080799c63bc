"""Helpers for the repository tests: RPMs made with rpmbuild, repos made with createrepo_c,
and a real HTTP server on loopback (port 0, one per test or session)."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import require_tool

SPEC = """\
Name: {name}
Version: {version}
Release: {release}
Summary: test package {name}
License: MIT
BuildArch: {arch}
{tags}
%description
Test package {name} made by the elforge repository tests.

%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo {name}-{version} > %{{buildroot}}/usr/share/{name}/{name}.txt
{install}

%files
/usr/share/{name}
{files}
"""


@dataclass
class Spec:
    name: str
    version: str = "1.0"
    release: str = "1"
    arch: str = "noarch"
    requires: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    obsoletes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # extra files (e.g. /usr/bin/x)


def build_rpm(spec: Spec, topdir: Path) -> Path:
    """Build one binary RPM with rpmbuild and return its path."""
    tags = []
    for kind in ("requires", "provides", "conflicts", "obsoletes"):
        for dep in getattr(spec, kind):
            tags.append(f"{kind.capitalize()}: {dep}")
    install = "\n".join(
        f"mkdir -p %{{buildroot}}{Path(f).parent} && echo x > %{{buildroot}}{f}" for f in spec.files
    )
    text = SPEC.format(
        name=spec.name, version=spec.version, release=spec.release, arch=spec.arch,
        tags="\n".join(tags), install=install, files="\n".join(spec.files),
    )  # fmt: skip
    specdir = topdir / "SPECS"
    specdir.mkdir(parents=True, exist_ok=True)
    path = specdir / f"{spec.name}-{spec.version}-{spec.release}.spec"
    path.write_text(text)
    subprocess.run(
        ["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {topdir}",
         "--define", "_binary_payload w2.gzdio", "--define", "_build_id_links none", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    rpm_dir = topdir / "RPMS" / spec.arch
    return rpm_dir / f"{spec.name}-{spec.version}-{spec.release}.{spec.arch}.rpm"


def createrepo(folder: Path) -> Path:
    """Index ``folder`` with the createrepo_c command (gzip metadata, like EL repos)."""
    subprocess.run(
        ["createrepo_c", "--quiet", "--general-compress-type", "gz", str(folder)],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:
        type(self).requests.append(self.path)


@contextmanager
def serve(directory: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (any free port); yield (base URL, log)."""
    log: list[str] = []
    handler = type("Handler", (_QuietHandler,), {"requests": log})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


# A small distribution: a base, an app stack on top of it, and deliberately broken packages.
GOOD = [
    Spec("base-libs", provides=["libbase.so.1()(64bit)"], files=["/usr/bin/basetool"]),
    Spec("app", requires=["libbase.so.1()(64bit)", "app-data = 1.0-1"]),
    Spec("app-data"),
    Spec("tool", requires=["/usr/bin/basetool"]),
]
BROKEN = [
    Spec("needs-missing", requires=["libmissing.so.7()(64bit)"]),  # root cause
    Spec("needs-broken", requires=["needs-missing"]),  # transitive fallout
    Spec("wants-new-base", requires=["base-libs >= 2.0"]),  # version not available
    Spec("conflicts-base", requires=["app"], conflicts=["base-libs"]),  # conflict
]


@pytest.fixture(scope="session", name="built_rpms")
def built_rpms_fixture(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """RPMs made with rpmbuild once per session: name -> path."""
    require_tool("rpmbuild", "createrepo_c")
    top = tmp_path_factory.mktemp("rpmbuild")
    return {s.name: build_rpm(s, top) for s in GOOD + BROKEN}


@pytest.fixture(name="small_repo")
def small_repo_fixture(tmp_path: Path, built_rpms: dict[str, Path]) -> Path:
    """A createrepo_c repository of the good and the broken packages."""
    repo = tmp_path / "small"
    repo.mkdir()
    for path in built_rpms.values():
        shutil.copy(path, repo / path.name)
    return createrepo(repo)
