"""The build stage: SRPM and binary RPMs from the (patched) tree, into the artifact store."""

from __future__ import annotations

import time

from elforge.build.artifacts import ArtifactStore
from elforge.build.builders import build_input, build_tree
from elforge.engine.protocol import Context, PackageSpec, StageInputs, StageOutcome


def stage_build(spec: PackageSpec, ctx: Context) -> StageOutcome:
    started = time.monotonic()
    ws, name, opts = spec.workspace, spec.name, spec.settings.build
    source = ctx.get("patch") or ctx["import"]
    tree = source.tree
    assert tree is not None, "a stage that returns a tree precedes build"
    commit = ctx["import"].commit
    store = ArtifactStore(ws / "artifacts")
    inputs = StageInputs("build", build_input(tree, name, opts, commit=commit))

    def still_there(prev: StageOutcome) -> bool:
        files = [prev.srpm, *prev.rpms]
        return all(f is not None and store.has(f.sha256) for f in files)

    reused = spec.reuse(inputs, still_there)
    if reused:
        return reused
    spec.needs_work()
    result = build_tree(name, tree, store, ws / "logs" / "build", opts, commit=commit)
    return inputs.outcome(result.status, result.to_json(), error=result.error, started=started)
