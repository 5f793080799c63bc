"""The patch stage: apply the package's patch config (debranding) to a copy of its tree."""

from __future__ import annotations

import importlib
import shutil
import time
from pathlib import Path
from typing import Any

from elforge.build.hashing import file_sha256, inputs_hash, tree_hash
from elforge.engine.protocol import Context, PackageSpec, StageInputs, StageOutcome
from elforge.errors import ElforgeError
from elforge.patching.loading import locate
from elforge.sources.local import place_tree, scratch, tree_nvr


def find_patch_config(configs: Path | None, release: str, name: str) -> Path | None:
    """The package's config, found the way the patch engine finds it:
    ``<configs>/<release>/<name>.yaml``, ``common/<name>.yaml``, ``<name>.yaml``, a
    per-package autopatch/srpmproc folder, or the same in a git repository's branches."""
    if configs is None:
        return None
    found = locate(configs, name, release)
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


def _tree_exists(prev: StageOutcome) -> bool:
    return prev.tree is not None and prev.tree.is_dir()


def _unpatched(spec: PackageSpec, imported: StageOutcome, started: float) -> StageOutcome:
    """No config: the package is rebuilt exactly as upstream ships it."""
    inputs = StageInputs("patch", {"tree": imported.tree_hash, "config": None})
    reused = spec.reuse(inputs, _tree_exists)
    if reused:
        return reused
    output = {
        "tree": imported.output["tree"],
        "tree_hash": imported.tree_hash,
        "config": None,
        "nvr": imported.nvr,
        "result": None,
    }
    return inputs.outcome("identical", output, started=started)


def _problems(detail: dict[str, Any]) -> str:
    return "; ".join(
        f"action {d.get('action_index')} ({d.get('action')}) on {d.get('file')}: {d.get('problem')}"
        for d in detail.get("diagnostics", [])
    )[:2000]


def stage_patch(spec: PackageSpec, ctx: Context) -> StageOutcome:
    """Debrand: apply the package's patch config to a copy of the imported tree."""
    started = time.monotonic()
    ws, name, opts = spec.workspace, spec.name, spec.settings.patch
    imported = ctx["import"]
    config = find_patch_config(opts.configs, opts.branch, name)
    if config is None:
        return _unpatched(spec, imported, started)
    fmt = opts.settings.config_format
    inputs = StageInputs(
        "patch", {"tree": imported.tree_hash, "config": _config_hash(config, name), "format": fmt}
    )
    reused = spec.reuse(inputs, _tree_exists)
    if reused:
        return reused
    apply_config = patching_engine()
    if apply_config is None:
        error = (
            f"{config.name}: no patch engine (elforge.patching) installed; "
            "not building an undebranded tree"
        )
        return inputs.outcome("skipped", {"config": str(config)}, error=error, started=started)
    spec.needs_work()
    tmp = scratch(ws, name)
    assert imported.tree is not None
    shutil.copytree(imported.tree, tmp, symlinks=True)
    settings = opts.settings
    try:
        result = apply_config(
            tmp,
            config,
            config_format=fmt,
            allow_scripts=settings.allow_scripts,
            release=opts.branch,
            dist=settings.dist,
            lookaside_store=settings.lookaside_store,
        )
    except ElforgeError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        return inputs.outcome("failed", {"config": str(config)}, error=str(exc), started=started)
    status, detail = str(result.status), result.to_json()
    if status not in ("patched", "identical"):
        shutil.rmtree(tmp, ignore_errors=True)
        output = {"config": str(config), "result": detail}
        return inputs.outcome(status, output, error=_problems(detail) or status, started=started)
    th = tree_hash(tmp)
    dest = ws / "trees" / name / f"patched-{th[:20]}"
    place_tree(tmp, dest)
    # a config that changed nothing leaves the imported tree, whose NVR is known already
    same = th == imported.tree_hash
    output = {
        "tree": str(dest),
        "tree_hash": th,
        "config": str(config),
        "nvr": imported.nvr if same else tree_nvr(dest, settings.dist),
        "result": detail,
    }
    return inputs.outcome(status, output, started=started)
