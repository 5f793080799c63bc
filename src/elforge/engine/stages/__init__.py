"""The per-package stages, one module each, and the chain that runs them on a worker.

Each stage is a function ``(PackageSpec, Context) -> StageOutcome`` named by
``"module:function"`` (:data:`DEFAULT_STAGES`), so stages are pluggable. A stage first
declares its inputs (:class:`elforge.engine.protocol.StageInputs`); when their hash equals
the one recorded last time and the recorded outputs still exist on disk, the recorded
outcome is returned (``reused``) instead of doing the work again. Everything a stage writes
to the workspace is content-addressed (trees by tree hash, artifacts by sha256, logs by
input hash) and moved into place atomically, so a worker killed half-way leaves nothing
that a rerun could mistake for a finished result.

- :mod:`.importing` — upstream folder, git or SRPM into ``trees/NAME/import-*``
- :mod:`.patch` — the package's patch config applied to a copy (debranding)
- :mod:`.build` — SRPM and RPMs into the artifact store
- :mod:`.verify` — ABI against the reference, paired by ``elforge.abi.compare``
- :mod:`.kabi` — the kernel-ABI half of verify
- :mod:`.chain` — the task that runs a package's stages in order
"""

from elforge.engine.stages.chain import DEFAULT_STAGES, run_package, try_reuse, worker_init

__all__ = ["DEFAULT_STAGES", "run_package", "try_reuse", "worker_init"]
