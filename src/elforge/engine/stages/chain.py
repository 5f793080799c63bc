"""The chain runner: a package's stages in order, on whichever worker got the task.

A task is :func:`run_package`: one :class:`PackageSpec` in, one :class:`PackageResult` out,
so any worker (a local process, a Dask worker on another host sharing the workspace folder)
can run it. The task never touches the store: the coordinator hands it the outcomes recorded
last time (``spec.previous``) and writes what it returns, one transaction per package.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import signal
import traceback
from collections.abc import Callable
from dataclasses import replace

from elforge.engine.protocol import (
    Context,
    NeedsWork,
    PackageResult,
    PackageSpec,
    StageInputs,
    StageOutcome,
)

StageFn = Callable[[PackageSpec, Context], StageOutcome]

log = logging.getLogger(__name__)

DEFAULT_STAGES: dict[str, str] = {
    "import": "elforge.engine.stages.importing:stage_import",
    "patch": "elforge.engine.stages.patch:stage_patch",
    "build": "elforge.engine.stages.build:stage_build",
    "verify": "elforge.engine.stages.verify:stage_verify",
}


def resolve(ref: str) -> StageFn:
    """A stage function named ``module:function`` (stages are pluggable)."""
    module, _, attr = ref.partition(":")
    fn: StageFn = getattr(importlib.import_module(module), attr)
    return fn


def _crashed(stage: str, exc: Exception) -> StageOutcome:
    """A bug or an unexpected tool error, recorded as the stage's failure. Keyed by the
    error, so it is recorded once; the next run computes the stage's real input hash,
    which differs, and tries again."""
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    failed = StageInputs(stage, {"exception": detail}).outcome("failed", error=detail)
    return replace(failed, traceback=traceback.format_exc()[-4000:])


def run_package(spec: PackageSpec) -> PackageResult:
    """The task: run the package's stages in order, stopping at the first that fails."""
    outcomes: dict[str, StageOutcome] = dict(spec.context)
    for stage, ref in spec.stages:
        try:
            outcome = resolve(ref)(spec, outcomes)
        except NeedsWork:
            raise
        except Exception as exc:  # record it, go on with the other packages
            log.debug("%s: stage %s raised", spec.name, stage, exc_info=True)
            outcome = _crashed(stage, exc)
        outcomes[stage] = outcome
        log.debug("%s: %s %s%s", spec.name, stage, outcome.status, " (reused)" * outcome.reused)
        if outcome.stops_chain:
            break
    return PackageResult(spec.name, outcomes)


def try_reuse(spec: PackageSpec) -> PackageResult | None:
    """The package's result when every stage can be served from recorded outcomes (or is
    cheap to decide), else None: the coordinator then sends the package to the executor."""
    try:
        return run_package(replace(spec, reuse_only=True))
    except NeedsWork:
        return None


def worker_init(log_level: int = logging.WARNING) -> None:  # pragma: no cover - in workers
    """Local pool workers log like the coordinator and die with it (kill -9 included)."""
    from elforge.logs import configure_logging

    configure_logging(log_level)
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
