"""The import stage: bring the upstream tree into ``trees/NAME/import-<tree hash>``."""

from __future__ import annotations

import time
from typing import Any

from elforge.build.hashing import tree_hash
from elforge.engine.protocol import Context, PackageSpec, StageInputs, StageOutcome
from elforge.errors import FormatError
from elforge.sources.local import copy_folder, local_folder, place_tree, scratch, tree_nvr


def _tree_exists(prev: StageOutcome) -> bool:
    return prev.tree is not None and prev.tree.is_dir()


def stage_import(spec: PackageSpec, ctx: Context) -> StageOutcome:
    """The "local" upstream mode copies a folder as it is; its input is the folder's content
    hash. Git and SRPM upstreams go through ``elforge.sources`` (mirror, verified lookaside,
    provenance), then the imported tree is checked out with its blobs.
    """
    started = time.monotonic()
    ws, name = spec.workspace, spec.name
    src = local_folder(spec.package.url, ws)
    if src is None:
        return _import_mirrored(spec, started)
    th = tree_hash(src)
    inputs = StageInputs("import", {"mode": "local", "tree": th})
    reused = spec.reuse(inputs, _tree_exists)
    if reused:
        return reused
    spec.needs_work()
    try:
        dest = copy_folder(ws, name, src, th)
    except FormatError as exc:
        return inputs.outcome("failed", error=str(exc), started=started)
    output: dict[str, Any] = {
        "mode": "local",
        "url": str(src),
        "commit": None,
        "tree": str(dest),
        "tree_hash": th,
        "nvr": tree_nvr(dest, spec.settings.dist),
        "sources": [],
    }
    return inputs.outcome("imported", output, started=started)


def _import_mirrored(spec: PackageSpec, started: float) -> StageOutcome:
    """Git or SRPM upstream: ``elforge.sources.import_package`` then ``checkout_tree``.

    The importer records its own provenance row (in its own transaction; a repeated import
    of the same upstream is "unchanged", never a duplicate); this stage's input is the
    mirror commit it produced, which names the imported content exactly.
    """
    from elforge.sources.importer import checkout_tree, import_package
    from elforge.workspace.workspace import Workspace

    spec.needs_work()  # deciding needs the remote, which the coordinator never contacts
    ws = Workspace.open(spec.workspace)
    entry = spec.package.to_entry()
    result = import_package(ws, entry, jobs=2)
    detail = result.to_json()
    if result.status == "failed" or not result.mirror_commit:
        inputs = StageInputs("import", {"url": entry.url, "error": result.error})
        failed = {"recorded_by": "elforge.sources", "result": detail}
        return inputs.outcome("failed", failed, error=result.error, started=started)
    inputs = StageInputs("import", {"mode": "mirror", "commit": result.mirror_commit})
    reused = spec.reuse(inputs, _tree_exists)
    if reused:
        return reused
    tmp = scratch(ws.root, entry.name)
    checkout_tree(ws, entry.name, result.branch, tmp)
    th = tree_hash(tmp)
    dest = ws.root / "trees" / entry.name / f"import-{th[:20]}"
    place_tree(tmp, dest)
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
    return inputs.outcome("imported", output, started=started)
