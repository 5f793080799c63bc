"""The workspace configuration resolved once into typed options.

``elforge.toml`` is validated by :mod:`elforge.workspace.config`; this module turns it into
the frozen, picklable values the engine and the CLI both use (paths made absolute, the dist
tag carried into build and patch settings). Command-line overrides are applied on top with
:class:`BuildOverrides`, so no front door assembles these values itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from elforge.build.builders import BuilderName, BuildOptions
from elforge.patching.batch import PatchSettings
from elforge.workspace.config import WorkspaceConfig


def workspace_path(root: Path, value: str | None) -> Path | None:
    """A config path as an absolute path (relative ones are relative to the workspace)."""
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else root / path


@dataclass(frozen=True)
class BuildOverrides:
    """Build settings given on the command line; None keeps the configured value."""

    builder: BuilderName | None = None
    mock_config: str | None = None
    arch: str | None = None
    dist: str | None = None
    timeout: float | None = None

    def apply(self, base: BuildOptions) -> BuildOptions:
        changes: dict[str, Any] = {
            name: value
            for name in ("builder", "mock_config", "arch", "dist", "timeout")
            if (value := getattr(self, name)) is not None
        }
        if changes.get("mock_config") and "builder" not in changes:
            changes["builder"] = "mock"  # a mock config only means something to mock
        return replace(base, **changes) if changes else base


@dataclass(frozen=True)
class PatchOptions:
    """Where the patch configs are, the branch they patch for, and how they are applied."""

    configs: Path | None
    branch: str
    settings: PatchSettings


@dataclass(frozen=True)
class PublishOptions:
    """What ``[publish]`` asks of the publisher. Add a field here, not a copy elsewhere."""

    dest: Path
    layout: dict[str, list[str]] = field(default_factory=dict)
    reference: dict[str, str] = field(default_factory=dict)
    updateinfo: Path | None = None
    modules: Path | None = None
    sign_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "dest": str(self.dest),
            "layout": self.layout,
            "reference": self.reference,
            "updateinfo": str(self.updateinfo) if self.updateinfo else None,
            "modules": str(self.modules) if self.modules else None,
            "sign_key": self.sign_key,
        }


@dataclass(frozen=True)
class VerifyOptions:
    reference: tuple[Path, ...] = ()
    suppressions: tuple[Path, ...] = ()
    stablelist: Path | None = None


@dataclass(frozen=True)
class ExecutorOptions:
    kind: str = "local"
    scheduler: str | None = None
    jobs: int = 2


@dataclass(frozen=True)
class WorkspaceOptions:
    """Everything a stage or a command needs from ``elforge.toml``, resolved."""

    root: Path
    dist: str
    release_branch: str
    patched_branch: str
    build: BuildOptions
    patch: PatchOptions
    publish: PublishOptions
    verify: VerifyOptions
    executor: ExecutorOptions

    def with_build(self, overrides: BuildOverrides) -> WorkspaceOptions:
        return replace(self, build=overrides.apply(self.build))


def resolve_options(root: Path, cfg: WorkspaceConfig) -> WorkspaceOptions:
    """Turn the validated config into options; called once per :class:`Workspace`."""
    ws = cfg.workspace

    def path(value: str | None) -> Path | None:
        return workspace_path(root, value)

    build = BuildOptions(
        builder=cfg.build.builder,
        mock_config=cfg.build.mock_config,
        arch=cfg.build.arch,
        dist=ws.dist,
        macros=dict(cfg.build.macros),
        timeout=float(cfg.build.timeout),
    )
    patch = PatchOptions(
        configs=path(cfg.patch.configs),
        branch=ws.patched_branch,
        settings=PatchSettings(
            config_format=cfg.patch.format,
            release=ws.patched_branch,
            dist=ws.dist,
            allow_scripts=cfg.patch.allow_scripts,
        ),
    )
    publish = PublishOptions(
        dest=root / cfg.publish.dest,
        layout={k: list(v) for k, v in cfg.publish.layout.items()},
        reference=dict(cfg.publish.reference),
        updateinfo=path(cfg.publish.updateinfo),
        modules=path(cfg.publish.modules),
        sign_key=cfg.publish.sign_key,
    )
    verify = VerifyOptions(
        reference=tuple(p for p in map(path, cfg.verify.reference) if p is not None),
        suppressions=tuple(p for p in map(path, cfg.verify.suppressions) if p is not None),
        stablelist=path(cfg.verify.stablelist),
    )
    executor = ExecutorOptions(cfg.executor.kind, cfg.executor.scheduler, cfg.executor.jobs)
    return WorkspaceOptions(
        root=root,
        dist=ws.dist,
        release_branch=ws.release_branch,
        patched_branch=ws.patched_branch,
        build=build,
        patch=patch,
        publish=publish,
        verify=verify,
        executor=executor,
    )
