"""The per-package stages and the chain that runs them on a worker.

A *task* is :func:`run_package` with one plain dict in and one plain dict out, so any worker
(a local process, a Dask worker on another host sharing the workspace folder) can run it. The
task never touches the store: the coordinating process hands it the outcomes recorded last
time (``previous``) and writes what it returns, in one transaction per package.

Each stage is a function ``(spec, ctx) -> outcome`` named by ``"module:function"`` in the
spec, so stages are pluggable. An outcome is a dict::

    {"stage", "status", "input_hash", "output", "error", "reused", "duration"}

A stage first computes the hash of its inputs; when that equals the hash recorded last time
and the recorded outputs still exist on disk, it returns the recorded outcome (``reused``)
instead of doing the work again. Everything a stage writes to the workspace is
content-addressed (trees by tree hash, artifacts by sha256, logs by input hash) and moved
into place atomically, so a worker killed half-way leaves nothing that a rerun could mistake
for a finished result.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import shutil
import signal
import subprocess
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from elforge.build.artifacts import ArtifactStore
from elforge.build.builders import BuildOptions, build_tree, find_spec
from elforge.build.hashing import file_sha256, inputs_hash, tree_hash
from elforge.errors import ElforgeError
from elforge.patching.loading import locate
from elforge.pathsafe import links_leaving, shown

Outcome = dict[str, Any]
StageFn = Callable[[dict[str, Any], dict[str, Outcome]], Outcome]

# A chain stops after a stage with one of these statuses: later stages would work on
# something wrong (an undebranded tree, missing RPMs).
STOPPING = frozenset({"failed", "drifted", "skipped"})

# Outcomes that depend on what is installed rather than on the inputs: always tried again.
NOT_REUSED = frozenset({"skipped", "unavailable"})

DEFAULT_STAGES: dict[str, str] = {
    "import": "elforge.engine.stages:stage_import",
    "patch": "elforge.engine.stages:stage_patch",
    "build": "elforge.engine.stages:stage_build",
    "verify": "elforge.engine.stages:stage_verify",
}


def _outcome(
    stage: str,
    status: str,
    key: str,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    started: float | None = None,
) -> Outcome:
    return {
        "stage": stage,
        "status": status,
        "input_hash": key,
        "output": output or {},
        "error": error,
        "reused": False,
        "duration": round(time.monotonic() - started, 3) if started is not None else 0.0,
    }


def _reuse(
    spec: dict[str, Any], stage: str, key: str, still_there: Callable[[dict[str, Any]], bool]
) -> Outcome | None:
    prev = spec.get("previous", {}).get(stage)
    if not prev or prev["input_hash"] != key:
        return None
    if prev["status"] in NOT_REUSED or (prev["status"] == "failed" and spec.get("retry_failed")):
        return None
    if prev["status"] not in STOPPING and not still_there(prev["output"]):
        return None
    return {**prev, "stage": stage, "reused": True, "duration": 0.0}


class NeedsWork(Exception):
    """Raised in a reuse-only pass when a stage would have to do real work."""


def _needs_work(spec: dict[str, Any]) -> None:
    if spec.get("reuse_only"):
        raise NeedsWork


def _place_tree(tmp: Path, dest: Path) -> None:
    """Move a finished tree into its content-addressed place (first writer wins)."""
    try:
        tmp.rename(dest)
    except OSError:
        if not dest.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # the same content is already there


def _scratch(ws: Path, name: str) -> Path:
    base = ws / "trees" / name
    base.mkdir(parents=True, exist_ok=True)
    return base / f".tmp-{uuid.uuid4().hex}"


def spec_nvr(tree: Path, dist: str | None) -> str | None:
    """The NVR that ``rpmspec`` evaluates for the tree's spec, or None when it cannot."""
    try:
        layout = find_spec(tree)
    except ElforgeError:
        return None
    argv = [
        "rpmspec",
        "-q",
        "--srpm",
        "--qf",
        "%{NAME}-%{VERSION}-%{RELEASE}\n",
        "--define",
        f"_sourcedir {layout.sourcedir}",
    ]
    if dist is not None:
        argv += ["--define", f"dist {dist}"]
    try:
        proc = subprocess.run(
            [*argv, str(layout.spec)], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.split()
    return lines[0] if proc.returncode == 0 and lines else None


# --------------------------------------------------------------------------- import


def local_upstream(url: str, workspace: Path) -> Path | None:
    """A package URL that names a local folder (absolute, ``file://`` or workspace-relative)."""
    path = Path(url.removeprefix("file://")) if not url.startswith(("http:", "https:")) else None
    if path is None or url.endswith(".git") or url.startswith(("ssh:", "git@")):
        return None
    path = path if path.is_absolute() else workspace / path
    return path if path.is_dir() and not (path / ".git").exists() else None


def stage_import(spec: dict[str, Any], ctx: dict[str, Outcome]) -> Outcome:
    """Bring the upstream tree into the workspace: ``trees/NAME/import-<tree hash>``.

    The "local" upstream mode copies a folder as it is; its input is the folder's content
    hash. Git and SRPM upstreams go through ``elforge.sources`` (mirror, verified lookaside,
    provenance), then the imported tree is checked out with its blobs.
    """
    started = time.monotonic()
    ws, pkg = Path(spec["workspace"]), spec["package"]
    src = local_upstream(pkg["url"], ws)
    if src is None:
        return _import_mirrored(spec, started)
    th = tree_hash(src)
    key = inputs_hash({"stage": "import", "mode": "local", "tree": th})
    if leaving := links_leaving(src):  # links are data; one pointing out would be followed
        error = f"{src}: symbolic link {shown(leaving[0])} points outside the upstream folder"
        return _outcome("import", "failed", key, error=error, started=started)
    dest = ws / "trees" / pkg["name"] / f"import-{th[:20]}"
    reused = _reuse(spec, "import", key, lambda out: Path(out["tree"]).is_dir())
    if reused:
        return reused
    _needs_work(spec)
    if not dest.is_dir():
        tmp = _scratch(ws, pkg["name"])
        shutil.copytree(src, tmp, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        if tree_hash(tmp) != th:
            shutil.rmtree(tmp, ignore_errors=True)
            return _outcome(
                "import", "failed", key, error=f"{src}: changed while copying", started=started
            )
        _place_tree(tmp, dest)
    output: dict[str, Any] = {
        "mode": "local",
        "url": str(src),
        "commit": None,
        "tree": str(dest),
        "tree_hash": th,
        "nvr": spec_nvr(dest, spec["settings"].get("dist")),
        "sources": [],
    }
    return _outcome("import", "imported", key, output, started=started)


def _import_mirrored(spec: dict[str, Any], started: float) -> Outcome:
    """Git or SRPM upstream: ``elforge.sources.import_package`` then ``checkout_tree``.

    The importer records its own provenance row (in its own transaction; a repeated import
    of the same upstream is "unchanged", never a duplicate); this stage's input hash is the
    mirror commit it produced, which names the imported content exactly.
    """
    from elforge.sources.importer import checkout_tree, import_package
    from elforge.workspace.config import PackageEntry
    from elforge.workspace.workspace import Workspace

    _needs_work(spec)  # deciding needs the remote, which the coordinator never contacts
    ws = Workspace.open(Path(spec["workspace"]))
    entry = PackageEntry.model_validate(spec["package"])
    result = import_package(ws, entry, jobs=2)
    detail = result.to_json()
    if result.status == "failed" or not result.mirror_commit:
        key = inputs_hash({"stage": "import", "url": entry.url, "error": result.error})
        return _outcome(
            "import",
            "failed",
            key,
            {"recorded_by": "elforge.sources", "result": detail},
            error=result.error,
            started=started,
        )
    key = inputs_hash({"stage": "import", "mode": "mirror", "commit": result.mirror_commit})
    reused = _reuse(spec, "import", key, lambda out: Path(out["tree"]).is_dir())
    if reused:
        return reused
    tmp = _scratch(ws.root, entry.name)
    checkout_tree(ws, entry.name, result.branch, tmp)
    th = tree_hash(tmp)
    dest = ws.root / "trees" / entry.name / f"import-{th[:20]}"
    _place_tree(tmp, dest)
    output: dict[str, Any] = {
        "mode": "mirror",
        "url": entry.url,
        "commit": result.upstream_commit,
        "mirror_commit": result.mirror_commit,
        "tag": result.tag,
        "tree": str(dest),
        "tree_hash": th,
        "nvr": result.nvr,
        "sources": [s.to_json() for s in result.sources],
        "recorded_by": "elforge.sources",
    }
    return _outcome("import", "imported", key, output, started=started)


# --------------------------------------------------------------------------- patch


def find_patch_config(configs: str | None, release: str, name: str) -> Path | None:
    """The package's config, found the way the patch engine finds it:
    ``<configs>/<release>/<name>.yaml``, ``common/<name>.yaml``, ``<name>.yaml``, a
    per-package autopatch/srpmproc folder, or the same in a git repository's branches."""
    if not configs:
        return None
    found = locate(Path(configs), name, release)
    return found[0] if found else None


def _config_hash(config: Path, name: str) -> str:
    """The config file (or folder) plus the files it adds (``files/<name>/`` next to it)."""
    if config.is_dir():
        return tree_hash(config)
    parts = {"config": file_sha256(config)}
    files = config.parent / "files" / name
    if files.is_dir():
        parts["files"] = tree_hash(files)
    return inputs_hash(parts)


def patching_engine() -> Any | None:
    """``elforge.patching.apply_config`` when the debranding engine is installed."""
    try:
        module = importlib.import_module("elforge.patching")
    except ImportError:
        return None
    return getattr(module, "apply_config", None)


def stage_patch(spec: dict[str, Any], ctx: dict[str, Outcome]) -> Outcome:
    """Debrand: apply the package's patch config to a copy of the imported tree."""
    started = time.monotonic()
    ws, name = Path(spec["workspace"]), spec["package"]["name"]
    imported = ctx["import"]["output"]
    settings = spec["settings"]
    config = find_patch_config(settings.get("patch_configs"), settings["patched_branch"], name)
    if config is None:  # no config: the package is rebuilt exactly as upstream ships it
        key = inputs_hash({"stage": "patch", "tree": imported["tree_hash"], "config": None})
        reused = _reuse(spec, "patch", key, lambda out: Path(out["tree"]).is_dir())
        if reused:
            return reused
        output = {
            "tree": imported["tree"],
            "tree_hash": imported["tree_hash"],
            "config": None,
            "nvr": imported.get("nvr"),
            "result": None,
        }
        return _outcome("patch", "identical", key, output, started=started)
    fmt = settings.get("patch_format", "auto")
    key = inputs_hash(
        {
            "stage": "patch",
            "tree": imported["tree_hash"],
            "config": _config_hash(config, name),
            "format": fmt,
        }
    )
    reused = _reuse(spec, "patch", key, lambda out: Path(out["tree"]).is_dir())
    if reused:
        return reused
    apply_config = patching_engine()
    if apply_config is None:
        return _outcome(
            "patch",
            "skipped",
            key,
            {"config": str(config)},
            error=(
                f"{config.name}: no patch engine (elforge.patching) installed; "
                "not building an undebranded tree"
            ),
            started=started,
        )
    _needs_work(spec)
    tmp = _scratch(ws, name)
    shutil.copytree(imported["tree"], tmp, symlinks=True)
    try:
        result = apply_config(
            tmp,
            config,
            config_format=fmt,
            allow_scripts=bool(settings.get("allow_scripts")),
            release=settings["patched_branch"],
            dist=settings.get("dist"),
        )
    except ElforgeError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        return _outcome(
            "patch", "failed", key, {"config": str(config)}, error=str(exc), started=started
        )
    status = str(result.status)
    detail = result.to_json()
    if status not in ("patched", "identical"):
        shutil.rmtree(tmp, ignore_errors=True)
        problems = [
            f"action {d.get('action_index')} ({d.get('action')}) on {d.get('file')}: "
            f"{d.get('problem')}"
            for d in detail.get("diagnostics", [])
        ]
        return _outcome(
            "patch",
            status,
            key,
            {"config": str(config), "result": detail},
            error="; ".join(problems)[:2000] or status,
            started=started,
        )
    th = tree_hash(tmp)
    dest = ws / "trees" / name / f"patched-{th[:20]}"
    _place_tree(tmp, dest)
    output = {
        "tree": str(dest),
        "tree_hash": th,
        "config": str(config),
        "nvr": spec_nvr(dest, settings.get("dist")),
        "result": detail,
    }
    return _outcome("patch", status, key, output, started=started)


# --------------------------------------------------------------------------- build


def build_options(settings: dict[str, Any]) -> BuildOptions:
    b = settings["build"]
    return BuildOptions(
        builder=b["builder"],
        mock_config=b.get("mock_config"),
        arch=b.get("arch"),
        dist=settings.get("dist"),
        macros=dict(b.get("macros", {})),
        timeout=float(b["timeout"]),
    )


def stage_build(spec: dict[str, Any], ctx: dict[str, Outcome]) -> Outcome:
    """SRPM and binary RPMs from the (patched) tree, outputs in the artifact store."""
    from elforge.build.builders import build_input

    started = time.monotonic()
    ws, name = Path(spec["workspace"]), spec["package"]["name"]
    source = ctx.get("patch") or ctx["import"]
    tree = Path(source["output"]["tree"])
    opts = build_options(spec["settings"])
    store = ArtifactStore(ws / "artifacts")
    key = inputs_hash(build_input(tree, name, opts, commit=ctx["import"]["output"].get("commit")))

    def still_there(out: dict[str, Any]) -> bool:
        files = [out.get("srpm") or {}, *out.get("rpms", [])]
        return all(f.get("sha256") and store.has(f["sha256"]) for f in files)

    reused = _reuse(spec, "build", key, still_there)
    if reused:
        return reused
    _needs_work(spec)
    result = build_tree(
        name, tree, store, ws / "logs" / "build", opts, commit=ctx["import"]["output"].get("commit")
    )
    return _outcome(
        "build",
        result.status,
        result.input_hash,
        result.to_json(),
        error=result.error,
        started=started,
    )


# --------------------------------------------------------------------------- verify


_VERDICT_ORDER = {"identical": 0, "compatible": 1, "incompatible": 2, "error": 3}


def _path_digest(path: Path) -> str:
    return tree_hash(path) if path.is_dir() else file_sha256(path)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def stage_verify(spec: dict[str, Any], ctx: dict[str, Outcome]) -> Outcome:
    """Compare the rebuilt binary RPMs with the reference vendor's, pair by pair.

    Pairs are made by binary package name and architecture within the source package
    (``elforge.abi.compare_packages``: package, ELF-symbol and, with debuginfo, type layers).
    A reference binary package the rebuild lacks makes the package incompatible; each pair's
    ``elforge.abi-diff/1`` report goes to ``reports/abi/``. The package's verdict is the worst
    pair's.
    """
    from elforge.abi import DiffOptions, PackageSet, compare_packages
    from elforge.abi.snapshot import SnapshotCache
    from elforge.report.render import render_json
    from elforge.rpm.nevra import NEVRA

    started = time.monotonic()
    ws = Path(spec["workspace"])
    reference = spec.get("reference", [])
    candidate = ctx["build"]["output"].get("rpms", [])
    stablelist = spec.get("settings", {}).get("stablelist")
    key = inputs_hash(
        {
            "stage": "verify",
            "reference": sorted(r["sha256"] for r in reference),
            "candidate": sorted(c["sha256"] for c in candidate),
            "stablelist": _path_digest(Path(stablelist)) if stablelist else None,
        }
    )
    reused = _reuse(spec, "verify", key, lambda out: True)
    if reused:
        return reused
    if not reference:
        return _outcome("verify", "no-reference", key, {"verdict": None}, started=started)
    _needs_work(spec)

    def by_key(files: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        out = {}
        for f in files:
            nevra = NEVRA.parse(f["nevra"])
            out[(nevra.name, nevra.arch)] = f
        return out

    refs, cands = by_key(reference), by_key(candidate)
    options = DiffOptions(cache=SnapshotCache(ws / ".elforge" / "cache" / "abi"))
    pairs: list[dict[str, Any]] = []
    errors: list[str] = []
    for pkey in sorted(refs.keys() & cands.keys()):
        ref, cand = refs[pkey], cands[pkey]
        try:
            result = compare_packages(
                PackageSet(Path(ref["path"])), PackageSet(Path(cand["path"])), options
            )
        except ElforgeError as exc:
            errors.append(str(exc))
            pairs.append({"name": pkey[0], "arch": pkey[1], "verdict": "error", "error": str(exc)})
            continue
        report = ws / "reports" / "abi" / f"{pkey[0]}.{pkey[1]}.json"
        _write_atomic(report, render_json(result.to_document()))
        counts = result.counts()
        bad = [
            f"{f.subject}: {f.message}" for f in result.all_findings() if f.severity.name == "BAD"
        ]
        pair: dict[str, Any] = {
            "name": pkey[0],
            "arch": pkey[1],
            "reference": ref["nevra"],
            "candidate": cand["nevra"],
            "verdict": result.verdict.value,
            "exit_code": result.exit_code,
            "bad": counts.get("BAD", 0),
            "verify": counts.get("VERIFY", 0),
            "report": str(report),
            "problems": bad[:5],
        }
        try:
            kabi = kernel_abi_pair(ws, pkey, Path(ref["path"]), Path(cand["path"]), stablelist)
        except ElforgeError as exc:
            kabi = {"verdict": "error", "error": str(exc)}
            errors.append(str(exc))
        if kabi is not None:
            pair["kabi"] = kabi
            if _VERDICT_ORDER[kabi["verdict"]] > _VERDICT_ORDER[pair["verdict"]]:
                pair["verdict"] = kabi["verdict"]
            pair["problems"] = (pair["problems"] + kabi.get("problems", []))[:5]
        pairs.append(pair)
    missing = [f"{n}.{a}" for n, a in sorted(refs.keys() - cands.keys())]
    extra = [f"{n}.{a}" for n, a in sorted(cands.keys() - refs.keys())]
    worst = max((p["verdict"] for p in pairs), key=_VERDICT_ORDER.__getitem__, default="identical")
    if missing and _VERDICT_ORDER[worst] < _VERDICT_ORDER["incompatible"]:
        worst = "incompatible"
    output = {
        "verdict": worst,
        "reference": ", ".join(sorted(r["filename"] for r in reference)),
        "candidate": ", ".join(sorted(c["filename"] for c in candidate)),
        "pairs": pairs,
        "missing_binaries": missing,
        "extra_binaries": extra,
    }
    if worst == "error":
        return _outcome("verify", "failed", key, output, error="; ".join(errors), started=started)
    return _outcome("verify", worst, key, output, started=started)


def kernel_abi_pair(
    ws: Path, pkey: tuple[str, str], ref: Path, cand: Path, stablelist: str | None
) -> dict[str, Any] | None:
    """The kABI half of verify: only for packages whose reference provides ``kernel(sym)``.

    The rebuilt kernel's provides are compared with the reference kernel's
    (``elforge.kabi.diff_kabi``); a removed or CRC-changed stablelisted symbol is
    incompatible. Without a configured stablelist every reference symbol counts as one.
    """
    from elforge.kabi.diff import diff_symbol_sets
    from elforge.kabi.ksym import ksym_deps
    from elforge.kabi.load import read_kernel_rpm
    from elforge.kabi.stablelist import Stablelist, read_stablelists
    from elforge.report.render import render_json
    from elforge.rpm.header import read_header

    header = read_header(ref)
    if not ksym_deps(header.provides):
        return None
    old = read_kernel_rpm(ref, header=header)
    new = read_kernel_rpm(cand)
    lists = read_stablelists(Path(stablelist)) if stablelist else None
    if lists is None:  # no stablelist: the reference's whole kABI is what we promise
        lists = {old.arch: Stablelist(str(ref), old.arch, frozenset(old.symbols))}
    result = diff_symbol_sets(
        {old.arch: old},
        {new.arch: new},
        stablelists=lists,
        stablelist_source=stablelist or str(ref),
        old_source=str(ref),
        new_source=str(cand),
    )
    report = ws / "reports" / "kabi" / f"{pkey[0]}.{pkey[1]}.json"
    _write_atomic(report, render_json(result.document()))
    bad = [f"{f.subject}: {f.message}" for f in result.findings if f.severity.name == "BAD"]
    verdict = "incompatible" if bad else ("compatible" if result.findings else "identical")
    return {
        "verdict": verdict,
        "removed": result.removed,
        "crc_changed": result.crc_changed,
        "added": len(result.added),
        "report": str(report),
        "problems": bad[:5],
    }


# --------------------------------------------------------------------------- the chain


def resolve(ref: str) -> StageFn:
    module, _, attr = ref.partition(":")
    fn: StageFn = getattr(importlib.import_module(module), attr)
    return fn


def run_package(spec: dict[str, Any]) -> dict[str, Any]:
    """The task: run the package's stages in order, stopping at the first that fails."""
    outcomes: dict[str, Outcome] = {}
    for stage, ref in spec["stages"]:
        try:
            outcome = resolve(ref)(spec, outcomes)
        except NeedsWork:
            raise
        except Exception as exc:  # a bug or an unexpected tool error: record it, go on
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            # keyed by the error, so it is recorded once; the next run computes the stage's
            # real input hash, which differs, and tries again
            key = inputs_hash({"stage": stage, "exception": detail})
            outcome = _outcome(stage, "failed", key, error=detail)
            outcome["traceback"] = traceback.format_exc()[-4000:]
        outcome["stage"] = stage
        outcomes[stage] = outcome
        if outcome["status"] in STOPPING:
            break
    return {"package": spec["package"]["name"], "outcomes": outcomes}


def try_reuse(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The package's result when every stage can be served from recorded outcomes (or is
    cheap to decide), else None: the coordinator then sends the package to the executor."""
    try:
        return run_package({**spec, "reuse_only": True})
    except NeedsWork:
        return None


def worker_init() -> None:  # pragma: no cover - runs in pool workers
    """Local pool workers die with the coordinating process (kill -9 included)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
