"""Helpers for the repository tests: RPMs made with rpmbuild, repos made with createrepo_c,
and a real HTTP server on loopback (port 0, one per test or session)."""

from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SPEC = """\
Name: {name}
Version: {version}
Release: {release}
Summary: test package {name}
License: MIT
{buildarch}
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
    arch: str = "x86_64"  # noarch, or a real one (i686 builds with --target on x86_64)
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
        name=spec.name,
        version=spec.version,
        release=spec.release,
        buildarch="BuildArch: noarch" if spec.arch == "noarch" else "",
        tags="\n".join(tags),
        install=install,
        files="\n".join(spec.files),
    )
    specdir = topdir / "SPECS"
    specdir.mkdir(parents=True, exist_ok=True)
    path = specdir / f"{spec.name}-{spec.version}-{spec.release}.spec"
    path.write_text(text)
    subprocess.run(
        [
            "rpmbuild",
            "-bb",
            "--quiet",
            *([] if spec.arch == "noarch" else ["--target", spec.arch]),
            "--define",
            f"_topdir {topdir}",
            "--define",
            "_binary_payload w2.gzdio",
            "--define",
            "_build_id_links none",
            "--define",
            "debug_package %{nil}",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    rpm_dir = topdir / "RPMS" / spec.arch
    return rpm_dir / f"{spec.name}-{spec.version}-{spec.release}.{spec.arch}.rpm"


def createrepo(folder: Path) -> Path:
    """Index ``folder`` with the createrepo_c command (gzip metadata, like EL repos)."""
    subprocess.run(
        ["createrepo_c", "--quiet", "--general-compress-type", "gz", str(folder)],
        check=True,
        capture_output=True,
    )
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
    from helpers import require_tool

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


def _write_repo(dest: Path, primary_xml: str, name: str) -> Path:
    """A repository holding only primary.xml.gz and repomd.xml (a synthetic base)."""
    import createrepo_c as cr

    (dest / "repodata").mkdir(parents=True, exist_ok=True)
    path = dest / "repodata" / f"{name}-primary.xml.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(primary_xml)
    record = cr.RepomdRecord("primary", str(path))
    record.fill(cr.SHA256)
    repomd = cr.Repomd()
    repomd.set_record(record)
    (dest / "repodata" / "repomd.xml").write_text(repomd.xml_dump())
    return path


def write_stub_base(
    packages: list, dest: Path, *, arch: str = "x86_64", withhold_every: int = 0
) -> tuple[Path, list[str]]:
    """A synthetic "base" repository (primary.xml.gz only) that provides what ``packages``
    require and nobody among them provides: one stub package per capability.

    Capabilities are provided versioned: ``cap = V`` for the bound V of every ``=``, ``>=``
    and ``<=`` requirement on it, else ``cap = 999:1-1``. With ``withhold_every=N``, every
    Nth capability among those required by at most three packages is left out, so the
    result has real, explainable breakage with transitive fallout (bench/repo.py).
    Returns the primary path and the withheld capabilities."""
    from collections import Counter
    from xml.sax.saxutils import escape, quoteattr

    provided: set[str] = set()
    files: set[str] = set()
    for pkg in packages:
        provided.update(d.name for d in pkg.provides)
        files.update(pkg.files)
    need: Counter[str] = Counter(
        d.name
        for pkg in packages
        for d in set(pkg.requires)
        if not d.name.startswith(("(", "rpmlib("))
        and d.name not in provided
        and d.name not in files
    )
    missing = sorted(need)
    # versions a provider must match: the bound of every =, >= and <= requirement
    bounds: dict[str, set[str]] = {}
    for pkg in packages:
        for d in pkg.requires:
            if d.name in need and d.evr and d.flags in ("EQ", "GE", "LE"):
                bounds.setdefault(d.name, set()).add(d.evr)
    rare = [m for m in missing if need[m] <= 3]
    withheld = rare[::withhold_every] if withhold_every else []
    skip = set(withheld)
    wanted = [m for m in missing if m not in skip]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<metadata xmlns="http://linux.duke.edu/metadata/common" '
        f'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{len(wanted)}">',
    ]
    for i, cap in enumerate(wanted):
        if cap.startswith("/"):
            body = f"<file>{escape(cap)}</file>"
        else:
            entries = "".join(
                f'<rpm:entry name={quoteattr(cap)} flags="EQ"{_evr_attrs(evr)}/>'
                for evr in sorted(bounds.get(cap, ())) or ["999:1-1"]
            )
            body = f"<rpm:provides>{entries}</rpm:provides>"
        out.append(
            f'<package type="rpm"><name>stub{i}</name><arch>{arch}</arch>'
            f'<version epoch="0" ver="1" rel="1"/>'
            f'<checksum type="sha256" pkgid="YES">{i:064x}</checksum>'
            f'<summary>stub</summary><location href="stub{i}.rpm"/>'
            f"<format>{body}</format></package>"
        )
    out.append("</metadata>")
    return _write_repo(dest, "\n".join(out), "stub"), withheld


def _evr_attrs(evr: str) -> str:
    epoch, _, rest = evr.rpartition(":")
    version, sep, release = rest.partition("-")
    out = f' epoch="{epoch or 0}" ver="{version}"'
    return out + (f' rel="{release}"' if sep else "")


# -- dnf, the oracle ----------------------------------------------------------------------

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-dnf lives here, not in the venv
ORACLE = Path(__file__).with_name("dnf_oracle.py")


def dnf_uninstallable(
    check: list[Path],
    extra: list[Path],
    cache: Path,
    *,
    arch: str = "x86_64",
    modules: bool = False,
) -> tuple[int, set[str]]:
    """(checked, uninstallable) as dnf's solver decides, a hawkey Goal per package; with
    ``modules``, dnf's modular filtering (platform:el9, default streams only) applies."""
    import json

    from helpers import require_tool

    require_tool("dnf")
    args = [SYSTEM_PYTHON, str(ORACLE), "--arch", arch, "--cache", str(cache)]
    for path in check:
        args += ["--check", str(path)]
    for path in extra:
        args += ["--extra", str(path)]
    if modules:
        args.append("--modules")
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode:
        pytest.fail(f"dnf oracle failed (is python3-dnf installed?): {proc.stderr[-2000:]}")
    doc = json.loads(proc.stdout)
    return doc["checked"], set(doc["uninstallable"])


def dnf_repoclosure(check: Path, extra: list[Path], cache: Path) -> dict[str, set[str]]:
    """``dnf repoclosure``: each package of ``check`` with the requirements nothing provides."""
    from helpers import require_tool

    require_tool("dnf")
    args = ["dnf", "repoclosure", "-q", "--setopt=reposdir=/dev/null",
            f"--setopt=cachedir={cache}", "--releasever=9", "--forcearch=x86_64",
            f"--repofrompath=check,{check}", "--check=check"]  # fmt: skip
    for i, path in enumerate(extra):
        args.append(f"--repofrompath=extra{i},{path}")
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    out: dict[str, set[str]] = {}
    package = ""
    for line in proc.stdout.splitlines():
        if line.startswith("package: "):
            package = line.split()[1]
            out[package] = set()
        elif line.startswith("    ") and package:
            out[package].add(line.strip())
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not out):
        pytest.fail(f"dnf repoclosure failed: {proc.stderr[-2000:]}")
    return out
