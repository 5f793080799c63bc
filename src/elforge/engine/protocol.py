"""The engine's stage protocol: what a worker is given and what each stage returns.

Everything here is a frozen dataclass of plain values, so it pickles to a local process or a
Dask worker on another host unchanged. A stage declares its inputs as a :class:`StageInputs`;
the input hash is computed there and only there, and every :class:`StageOutcome` carries it
as a field. A stage's ``output`` is the JSON record written to the store (and read back as
``previous`` next time); the values other stages and the summary read from it have typed
accessors on :class:`StageOutcome`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from elforge.build.hashing import inputs_hash
from elforge.workspace.config import PackageEntry
from elforge.workspace.options import WorkspaceOptions

# A stage's record as stored (JSON): written by the stage that made it, read back as-is.
StageRecord = Mapping[str, Any]

# A chain stops after a stage with one of these statuses: later stages would work on
# something wrong (an undebranded tree, missing RPMs).
STOPPING = frozenset({"failed", "drifted", "skipped"})

# Outcomes that depend on what is installed rather than on the inputs: always tried again.
NOT_REUSED = frozenset({"skipped", "unavailable"})


@dataclass(frozen=True)
class ArtifactRef:
    """One RPM file: where it is, what it is, and its content hash."""

    path: str
    filename: str
    sha256: str
    nevra: str
    size: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ArtifactRef:
        return cls(
            path=str(data["path"]),
            filename=str(data["filename"]),
            sha256=str(data["sha256"]),
            nevra=str(data["nevra"]),
            size=int(data.get("size") or 0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "filename": self.filename,
            "sha256": self.sha256,
            "nevra": self.nevra,
            "size": self.size,
        }


@dataclass(frozen=True)
class StageOutcome:
    """What one stage did for one package (or, for publish, for the workspace)."""

    stage: str
    status: str
    inputs_hash: str
    output: StageRecord = field(default_factory=dict)
    error: str | None = None
    reused: bool = False
    duration: float = 0.0
    traceback: str | None = None

    @property
    def stops_chain(self) -> bool:
        return self.status in STOPPING

    def _text(self, key: str) -> str | None:
        value = self.output.get(key)
        return str(value) if value else None

    @property
    def tree(self) -> Path | None:
        value = self._text("tree")
        return Path(value) if value else None

    @property
    def tree_hash(self) -> str | None:
        return self._text("tree_hash")

    @property
    def nvr(self) -> str | None:
        return self._text("nvr")

    @property
    def commit(self) -> str | None:
        return self._text("commit")

    @property
    def rpms(self) -> tuple[ArtifactRef, ...]:
        return tuple(ArtifactRef.from_json(f) for f in self.output.get("rpms") or ())

    @property
    def srpm(self) -> ArtifactRef | None:
        value = self.output.get("srpm")
        return ArtifactRef.from_json(value) if value else None

    def as_reused(self, stage: str) -> StageOutcome:
        return replace(self, stage=stage, reused=True, duration=0.0)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stage": self.stage,
            "status": self.status,
            "input_hash": self.inputs_hash,
            "output": dict(self.output),
            "error": self.error,
            "reused": self.reused,
            "duration": self.duration,
        }
        if self.traceback:
            out["traceback"] = self.traceback
        return out


@dataclass(frozen=True)
class StageInputs:
    """A stage's declared inputs; ``hash`` keys its outcome (equal inputs, reused outcome)."""

    stage: str
    parts: Mapping[str, Any]
    hash: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash", inputs_hash({"stage": self.stage, **self.parts}))

    def outcome(
        self,
        status: str,
        output: Mapping[str, Any] | None = None,
        *,
        error: str | None = None,
        started: float | None = None,
    ) -> StageOutcome:
        duration = round(time.monotonic() - started, 3) if started is not None else 0.0
        return StageOutcome(
            self.stage, status, self.hash, dict(output or {}), error, False, duration
        )


@dataclass(frozen=True)
class PackageRef:
    """The ``[[packages]]`` entry a task works on."""

    name: str
    url: str
    branch: str | None = None
    layout: str = "auto"

    @classmethod
    def from_entry(cls, entry: PackageEntry) -> PackageRef:
        return cls(entry.name, entry.url, entry.branch, entry.layout)

    def to_entry(self) -> PackageEntry:
        return PackageEntry.model_validate(
            {"name": self.name, "url": self.url, "branch": self.branch, "layout": self.layout}
        )


@dataclass(frozen=True)
class PackageSpec:
    """One task: a package, the resolved settings, its chain and what was recorded before."""

    workspace: Path
    package: PackageRef
    settings: WorkspaceOptions
    stages: tuple[tuple[str, str], ...]  # (stage, "module:function")
    previous: Mapping[str, StageOutcome] = field(default_factory=dict)
    reference: tuple[ArtifactRef, ...] = ()
    retry_failed: bool = False
    reuse_only: bool = False  # the coordinator's pass: raise NeedsWork instead of working
    # outcomes of stages run earlier (a chain build runs import/patch, plans, then builds)
    context: Mapping[str, StageOutcome] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.package.name

    def reuse(
        self, inputs: StageInputs, still_there: Callable[[StageOutcome], bool]
    ) -> StageOutcome | None:
        """The recorded outcome when its inputs are equal and its outputs still exist."""
        prev = self.previous.get(inputs.stage)
        if prev is None or prev.inputs_hash != inputs.hash:
            return None
        if prev.status in NOT_REUSED or (prev.status == "failed" and self.retry_failed):
            return None
        if not prev.stops_chain and not still_there(prev):
            return None
        return prev.as_reused(inputs.stage)

    def needs_work(self) -> None:
        """Called before a stage does real work; the reuse-only pass stops there."""
        if self.reuse_only:
            raise NeedsWork


class NeedsWork(Exception):
    """Raised in a reuse-only pass when a stage would have to do real work."""


# The stages a chain has run so far, by name: what a later stage reads its inputs from.
Context = Mapping[str, StageOutcome]


@dataclass(frozen=True)
class PackageResult:
    """A task's answer: the outcome of each stage it ran, in order."""

    package: str
    outcomes: Mapping[str, StageOutcome]

    def get(self, stage: str) -> StageOutcome | None:
        return self.outcomes.get(stage)
