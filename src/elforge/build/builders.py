"""Build a package tree into a source RPM and binary RPMs, and record how.

The flow is ``rpmbuild -bs`` on the tree, then ``rpmbuild --rebuild`` (or ``mock --rebuild``)
on the resulting SRPM, each in a scratch ``_topdir`` that is thrown away afterwards; outputs
go to the content-addressed :class:`ArtifactStore`. A failed build never raises: it returns a
``failed`` result whose log is kept, so a batch goes on with the other packages.

Trees come in two layouts: dist-git (spec and sources at the root) and exploded
(``SPECS/*.spec`` and ``SOURCES/``).

Chain builds (``BuildOptions.root`` set) build against the release's own output: rpmbuild
in a per-build root made from the buildroot repositories (:mod:`elforge.build.rootbuild`,
BuildRequires checked first, then ``--nodeps`` in a bubblewrap sandbox), mock with a config
generated per release (:mod:`elforge.build.mockconfig`). Without ``root``, on a non-RPM host
(Debian) build dependencies cannot be checked against an rpmdb, so rpmbuild runs with
``--nodeps`` there and only there; everything the spec needs must be on the host (compiler,
make). mock never gets ``--nodeps``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from elforge.build.archcheck import check_target_arch, foreign_elf_members
from elforge.build.artifacts import ArtifactStore
from elforge.build.buildroot import host_buildroot, is_rpm_host, mock_buildroot
from elforge.build.hashing import inputs_hash, lookaside_hashes, tree_hash
from elforge.build.mockconfig import MockSettings, buildroot_repos, write_mock_config
from elforge.build.rootbuild import (
    RootOptions,
    populate_root,
    root_environment,
    select_root,
)
from elforge.build.sandbox import have_bwrap, sandboxed
from elforge.build.scratch import scratch_folder
from elforge.errors import ElforgeError, FormatError, ToolError
from elforge.proc import LoggedPopen, run_command
from elforge.rpm.header import RpmHeader, read_header

BuilderName = Literal["rpmbuild", "mock"]

# Stable build metadata: the build time comes from the newest changelog entry and the build host
# is fixed, so rebuilds do not differ in those headers. (The RPMs are still not byte-identical:
# scratch paths end up in debug data and the payload, so artifact hashes differ per build.)
REPRODUCIBLE_MACROS = {
    "source_date_epoch_from_changelog": "1",
    "use_source_date_epoch_as_buildtime": "1",
    "clamp_mtime_to_source_epoch": "1",
    "_buildhost": "elforge.invalid",
}


@dataclass(frozen=True)
class BuildOptions:
    builder: BuilderName = "rpmbuild"
    mock_config: str | None = None
    arch: str | None = None  # rpmbuild --target / mock --arch
    dist: str | None = None  # the %dist macro, e.g. ".el9"
    macros: dict[str, str] = field(default_factory=dict)
    timeout: float = 3600.0
    reproducible: bool = True
    root: RootOptions | None = None  # chain build: the buildroot repositories and host
    bootstrap: bool = False  # build --with bootstrap (a cycle's bootstrap entry)
    release: str = "release"  # names the generated mock config

    def all_macros(self) -> dict[str, str]:
        out = dict(REPRODUCIBLE_MACROS) if self.reproducible else {}
        if self.dist is not None:
            out["dist"] = self.dist
        out.update(self.macros)
        if self.bootstrap:
            out["_with_bootstrap"] = "1"
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "builder": self.builder,
            "mock_config": self.mock_config,
            "arch": self.arch,
            "macros": self.all_macros(),
            "timeout": self.timeout,
            **({"root": self.root.to_json()} if self.root is not None else {}),
        }


@dataclass
class BuiltFile:
    filename: str
    nevra: str
    sha256: str
    size: int
    path: str

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "nevra": self.nevra,
            "sha256": self.sha256,
            "size": self.size,
            "path": self.path,
        }


@dataclass
class BuildResult:
    package: str
    status: Literal["built", "failed"]
    input_hash: str
    inputs: dict[str, Any]
    builder: str
    command: str
    log_path: str | None
    duration: float
    buildroot: list[str]
    buildroot_note: str
    nvr: str | None = None
    srpm: BuiltFile | None = None
    rpms: list[BuiltFile] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "status": self.status,
            "input_hash": self.input_hash,
            "inputs": self.inputs,
            "builder": self.builder,
            "command": self.command,
            "log_path": self.log_path,
            "duration": round(self.duration, 3),
            "buildroot": self.buildroot,
            "buildroot_note": self.buildroot_note,
            "nvr": self.nvr,
            "srpm": self.srpm.to_json() if self.srpm else None,
            "rpms": [r.to_json() for r in self.rpms],
            "error": self.error,
        }


class BuildFailed(Exception):
    """Internal: a step failed; the message goes into the result, the log is kept."""


@dataclass(frozen=True)
class TreeLayout:
    spec: Path
    sourcedir: Path
    layout: Literal["distgit", "exploded"]


def find_spec(tree: Path) -> TreeLayout:
    """Locate the spec and the source folder of a dist-git or exploded tree."""
    if (tree / "SPECS").is_dir():
        specs = sorted((tree / "SPECS").glob("*.spec"))
        layout: Literal["distgit", "exploded"] = "exploded"
        sourcedir = tree / "SOURCES"
    else:
        specs = sorted(tree.glob("*.spec"))
        layout, sourcedir = "distgit", tree
    if not specs:
        raise FormatError("no .spec file (expected NAME.spec or SPECS/NAME.spec)", subject=tree)
    if len(specs) > 1:
        names = ", ".join(s.name for s in specs)
        raise FormatError(f"more than one spec file: {names}", subject=tree)
    return TreeLayout(specs[0], sourcedir, layout)


def build_input(tree: Path, name: str, opts: BuildOptions, *, commit: str | None = None) -> dict:
    """Everything that determines a build's outputs; its hash keys the build."""
    return {
        "package": name,
        "tree": tree_hash(tree),
        "commit": commit,
        "lookaside": lookaside_hashes(tree),
        **opts.to_json(),
        "host_arch": os.uname().machine,
    }


# The build runs under this guardian shell, which leads the build's own process group. When
# the worker that started it dies (kill -9 of the run included), the kernel sends the guardian
# SIGTERM (parent-death signal), and it takes the whole group down: rpmbuild and every script,
# compiler or sleep it started, which a parent-death signal on rpmbuild alone would orphan.
GUARDIAN = 'trap "kill -s KILL 0" TERM; "$@" & wait $!'


def _die_with_parent(parent: int) -> Callable[[], None]:
    def _in_child() -> None:  # pragma: no cover - runs in the child between fork and exec
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return _in_child


# With util-linux's setpriv the parent-death signal is armed by setpriv before it execs the
# guardian, so the worker starts the build without a preexec_fn, which would force a full
# fork of the (large) worker process instead of a vfork: ~8 ms a command. The guardian then
# checks its parent is still the worker (else it died before the signal was armed).
CHECKED_GUARDIAN = '[ "$PPID" = "$1" ] || exit 1; shift; ' + GUARDIAN


@functools.cache
def _setpriv_pdeathsig() -> bool:
    if shutil.which("setpriv") is None:
        return False
    proc = run_command(["setpriv", "--help"], capture_output=True, text=True)
    return "--pdeathsig" in proc.stdout


def _guarded(argv: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """``argv`` under the guardian shell, and the preexec function it still needs."""
    parent = os.getpid()
    if _setpriv_pdeathsig():
        wrapper = ["setpriv", "--pdeathsig", "TERM", "/bin/sh", "-c", CHECKED_GUARDIAN]
        return [*wrapper, "elforge-build", str(parent), *argv], None
    return ["/bin/sh", "-c", GUARDIAN, "elforge-build", *argv], _die_with_parent(parent)


def _run_logged(
    argv: list[str],
    log: Any,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> int:
    log.write(f"$ {shlex.join(argv)}\n")
    log.flush()
    guarded, preexec = _guarded(argv)
    proc = LoggedPopen(
        guarded,
        shown=argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,
        preexec_fn=preexec,
    )
    try:
        return proc.wait(timeout=timeout)  # LoggedPopen wakes on exit (pidfd), no polling
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.write(f"\n*** killed after the {timeout:.0f} s build timeout\n")
        raise BuildFailed(f"timed out after {timeout:.0f} s") from None


def _define_args(macros: dict[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in sorted(macros.items()):
        args += ["--define", f"{key} {value}"]
    return args


def _read_headers(paths: list[Path]) -> dict[Path, RpmHeader]:
    """Each output's header, read once for both the machine check and the store."""
    try:
        return {path: read_header(path) for path in paths}
    except FormatError as exc:
        raise BuildFailed(f"an output is not a readable RPM: {exc}") from None


def _nevra(header: RpmHeader) -> str:
    nevra = header.nevra
    arch = "src" if header.is_source else nevra.arch
    epoch = f"{nevra.epoch}:" if nevra.epoch else ""
    return f"{nevra.name}-{epoch}{nevra.version}-{nevra.release}.{arch}"


def _store_all(headers: dict[Path, RpmHeader], store: ArtifactStore) -> list[BuiltFile]:
    files = []
    for path in sorted(headers, key=lambda p: p.name):
        stored = store.put(path)
        files.append(
            BuiltFile(path.name, _nevra(headers[path]), stored.sha256, stored.size, stored.path)
        )
    return files


def _check_machines(headers: dict[Path, RpmHeader]) -> None:
    """An RPM whose ELF files are for another machine than its arch header is a failure."""
    for rpm, header in headers.items():
        foreign = foreign_elf_members(rpm, header)
        if foreign:
            more = f" and {len(foreign) - 3} more" if foreign[3:] else ""
            listed = ", ".join(foreign[:3]) + more
            raise BuildFailed(f"{rpm.name}: ELF files not built for its architecture: {listed}")


def build_srpm(layout: TreeLayout, topdir: Path, opts: BuildOptions, log: Any) -> Path:
    """``rpmbuild -bs`` in a scratch topdir; returns the SRPM path."""
    dirs = {
        "_topdir": str(topdir),
        "_sourcedir": str(layout.sourcedir),
        "_specdir": str(layout.spec.parent),
    }
    argv = [
        "rpmbuild",
        "-bs",
        *_define_args(dirs),
        *_define_args(opts.all_macros()),
        str(layout.spec),
    ]
    rc = _run_logged(argv, log, opts.timeout)
    srpms = sorted((topdir / "SRPMS").glob("*.src.rpm"))
    if rc != 0 or len(srpms) != 1:
        raise BuildFailed(f"rpmbuild -bs failed (exit {rc})")
    return srpms[0]


def check_builder(opts: BuildOptions) -> None:
    """Refuse up front, with a clear error, a builder that cannot run on this host."""
    tool = "mock" if opts.builder == "mock" else "rpmbuild"
    if shutil.which(tool) is None:
        hint = " (install it or use builder = 'rpmbuild')" if tool == "mock" else ""
        raise ToolError(f"{tool} is not installed{hint}", subject=tool)
    if opts.builder == "mock" and not opts.mock_config and opts.root is None:
        raise ToolError(
            "the mock builder needs a config (--mock-config or [build] mock_config)", subject="mock"
        )
    check_target_arch(opts.builder, opts.arch, opts.mock_config)


def rebuild_command(srpm: Path, workdir: Path, opts: BuildOptions) -> tuple[list[str], Path]:
    """The binary build command and the folder its RPMs land in."""
    check_builder(opts)
    if opts.builder == "mock":
        resultdir = workdir / "mock-result"
        argv = [
            "mock",
            "-r",
            str(chain_mock_config(workdir, opts) if opts.root else opts.mock_config),
            "--rebuild",
            str(srpm),
            "--resultdir",
            str(resultdir),
            *_define_args(opts.all_macros()),
        ]
        if opts.arch:
            argv += ["--arch", opts.arch]
        return argv, resultdir
    topdir = workdir / "binary"
    argv = [
        "rpmbuild",
        "--rebuild",
        "--define",
        f"_topdir {topdir}",
        *_define_args(opts.all_macros()),
    ]
    if not is_rpm_host() or opts.root is not None:
        argv.append("--nodeps")  # with a root: only after check_root_requires passed
    if opts.arch:
        argv += ["--target", opts.arch]
    return [*argv, str(srpm)], topdir / "RPMS"


def chain_mock_config(workdir: Path, opts: BuildOptions) -> Path:
    """The mock config of a chain build: the buildroot repositories as the chroot's repos."""
    assert opts.root is not None
    settings = MockSettings(
        name=opts.release,
        arch=opts.arch or opts.root.arch,
        dist=opts.dist or ".el9",
        repos=buildroot_repos(Path(opts.root.repos[0]), opts.root.repos[1:]),
        macros={k: v for k, v in opts.all_macros().items() if k != "dist"},
        base_config=opts.mock_config,
    )
    return write_mock_config(settings, workdir / "mock.cfg")


def prepare_root(
    srpm: Path, work: Path, opts: BuildOptions, log: Any
) -> tuple[dict[str, str], list[str], str]:
    """Make the per-build root for ``srpm`` from its BuildRequires: (environment, buildroot
    package list, note). Raises BuildFailed naming every unmet BuildRequires."""
    assert opts.root is not None
    header = read_header(srpm)
    requires = [str(d) for d in header.requires]
    try:
        selection = select_root(requires, opts.root)
        root = work / "root"
        files = populate_root(selection, root)
    except ElforgeError as exc:
        raise BuildFailed(str(exc)) from None
    log.write(f"buildroot {root}: {len(selection.packages)} packages, {len(files)} files\n")
    log.writelines(f"  {line}\n" for line in files)
    log.write(f"met by the host: {', '.join(selection.host_met) or '-'}\n")
    packages = [p.nevra for p in selection.packages] + [f"host:{h}" for h in selection.host_met]
    note = f"per-build root from {', '.join(opts.root.repos)} (BuildRequires checked)"
    return root_environment(root), packages, note


def build_tree(
    name: str,
    tree: Path,
    store: ArtifactStore,
    logs_dir: Path,
    opts: BuildOptions,
    *,
    commit: str | None = None,
    scratch: Path | None = None,
) -> BuildResult:
    """SRPM then binary RPMs from ``tree``; never raises for a failing build."""
    started = time.monotonic()
    inputs = build_input(tree, name, opts, commit=commit)
    key = inputs_hash(inputs)
    buildroot: list[str] = []
    if opts.builder == "mock":
        note = "mock chroot"
    elif opts.root is not None:
        note = "per-build root (not made: the build stopped before)"
    else:
        buildroot, note = host_buildroot()
    logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = logs_dir / f"{name}-{key[:16]}.log"
    tmp_log = log_path.with_name(f".{log_path.name}.tmp")
    result = BuildResult(
        name, "failed", key, inputs, opts.builder, "", str(log_path), 0.0, buildroot, note
    )
    with (
        scratch_folder(f"elforge-build-{name}-", scratch) as work,
        tmp_log.open("w", encoding="utf-8", errors="replace") as log,
    ):
        try:
            layout = find_spec(tree)
            srpm = build_srpm(layout, work / "source", opts, log)
            argv, outdir = rebuild_command(srpm, work, opts)
            env = None
            if opts.root is not None and opts.builder == "rpmbuild":
                env, result.buildroot, result.buildroot_note = prepare_root(srpm, work, opts, log)
                if opts.root.sandbox and have_bwrap():
                    argv = sandboxed(argv, [work])
            result.command = shlex.join(argv)
            remaining = max(1.0, opts.timeout - (time.monotonic() - started))
            rc = _run_logged(argv, log, remaining, env=env)
            if opts.builder == "mock":
                result.buildroot, result.buildroot_note = mock_buildroot(outdir)
            rpms = [p for p in sorted(outdir.rglob("*.rpm")) if not p.name.endswith(".src.rpm")]
            if rc != 0 or not rpms:
                raise BuildFailed(f"{argv[0]} failed (exit {rc})" if rc else "no RPMs produced")
            headers = _read_headers(rpms)
            _check_machines(headers)
            srpm_file = _store_all(_read_headers([srpm]), store)[0]
            result.srpm = srpm_file
            result.rpms = _store_all(headers, store)
            result.nvr = srpm_file.nevra.removesuffix(".src")
            result.status = "built"
        except (BuildFailed, FormatError, ToolError) as exc:
            result.error = str(exc)
            log.write(f"\n*** build failed: {exc}\n")
        result.duration = time.monotonic() - started
    os.replace(tmp_log, log_path)
    return result
