"""``elforge.toml``: the workspace configuration, validated by pydantic.

Each stage owns one section; unknown keys are refused so that a typo is an error, not a
silently ignored setting.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from elforge.errors import ConfigError

CONFIG_NAME = "elforge.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSection(_Section):
    name: str = "rebuild"
    vendor: str = "Example Rebuild"
    dist: str = Field(".el9", description="dist tag used when evaluating specs")
    release_branch: str = Field("c9", description="upstream branch imported")
    patched_branch: str = Field("a9", description="branch the debranded trees are committed to")


class StoreSection(_Section):
    url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in .elforge/")


class ExecutorSection(_Section):
    kind: Literal["local", "dask"] = "local"
    scheduler: str | None = Field(None, description="Dask scheduler address, tcp://HOST:PORT")
    jobs: int = Field(2, ge=1)


class PackageEntry(_Section):
    name: str
    url: str = Field(..., description="upstream git URL, SRPM path or URL")
    branch: str | None = None
    layout: Literal["auto", "distgit", "exploded", "srpm"] = "auto"


class SourcesSection(_Section):
    lookaside: list[str] = Field(default_factory=list, description="lookaside URL templates")
    allow_unsigned: bool = False
    keys: list[str] = Field(default_factory=list, description="GPG keys that sign SRPMs")


class PatchSection(_Section):
    configs: str | None = Field(None, description="patch-config folder or git repository")
    format: Literal["auto", "elforge", "autopatch", "srpmproc"] = "auto"
    allow_scripts: bool = False


class BuildSection(_Section):
    builder: Literal["rpmbuild", "mock"] = "rpmbuild"
    mock_config: str | None = None
    timeout: int = Field(3600, ge=1, description="per-build timeout in seconds")
    macros: dict[str, str] = Field(default_factory=dict)
    arch: str | None = None
    buildroot_repos: list[str] = Field(
        default_factory=list, description="external buildroot repositories (path or URL)"
    )
    host_provides: list[str] | None = Field(
        None, description="what the rpmbuild host provides itself (default: the toolchain)"
    )
    bootstrap: list[str] = Field(
        default_factory=list, description="cycle-breaking order, built --with bootstrap"
    )


class PublishSection(_Section):
    layout: dict[str, list[str]] = Field(
        default_factory=dict, description="repository name -> package names (default: one repo)"
    )
    sign_key: str | None = Field(None, description="rpmsign key (_gpg_name) for published RPMs")
    reference: dict[str, str] = Field(
        default_factory=dict,
        description="repository name -> reference repo (path or URL) whose package list splits",
    )
    updateinfo: str | None = Field(None, description="updateinfo.xml to publish with")
    modules: str | None = Field(None, description="modules.yaml to carry over")
    dest: str = Field("repos", description="folder (relative to the workspace) to publish to")
    keep: int = Field(3, ge=1, description="builds of each package kept (for downgrades)")


class VerifySection(_Section):
    reference: list[str] = Field(default_factory=list, description="reference repos or folders")
    suppressions: list[str] = Field(default_factory=list)
    stablelist: str | None = None


class ErrataSection(_Section):
    id_scheme: str = Field(
        "FL{type}-{year}:{serial}",
        description="rebuild advisory id from the reference's: fields type (SA/BA/EA), year, "
        "serial, number",
    )
    issuer: str = Field("elforge", description="updateinfo 'from' of the advisories")
    reference: list[str] = Field(
        default_factory=list, description="reference advisory sources (CSAF/OSV folders, files)"
    )
    ecosystem: str | None = Field(None, description="OSV ecosystem (default 'VENDOR:MAJOR')")
    osv_folder: str | None = Field(None, description="OSV folder name (default NAMEMAJOR)")


class WatchSection(_Section):
    interval: str = Field("10m", description="time between polls (s, m, h suffixes)")
    jobs: int = Field(16, ge=1, le=256, description="upstreams polled at once")
    timeout: float = Field(60, gt=0, description="seconds one upstream poll may take")
    webhook: str | None = Field(None, description="URL that receives a JSON POST per event")
    webhook_attempts: int = Field(5, ge=1, le=20)
    webhook_backoff: float = Field(1.0, ge=0, description="seconds before the first retry")


class ServeSection(_Section):
    token: str | None = Field(
        None,
        description="bearer token for POST /api/runs and for binding elforge serve off loopback",
    )


class WorkspaceConfig(_Section):
    workspace: WorkspaceSection = Field(default_factory=WorkspaceSection)
    store: StoreSection = Field(default_factory=StoreSection)
    executor: ExecutorSection = Field(default_factory=ExecutorSection)
    sources: SourcesSection = Field(default_factory=SourcesSection)
    patch: PatchSection = Field(default_factory=PatchSection)
    build: BuildSection = Field(default_factory=BuildSection)
    publish: PublishSection = Field(default_factory=PublishSection)
    verify: VerifySection = Field(default_factory=VerifySection)
    errata: ErrataSection = Field(default_factory=ErrataSection)
    watch: WatchSection = Field(default_factory=WatchSection)
    serve: ServeSection = Field(default_factory=ServeSection)
    packages: list[PackageEntry] = Field(default_factory=list)


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{key}'")
        else:
            parts.append(f"key '{key}': {err['msg']} (got {err.get('input')!r})")
    return "; ".join(parts)


def parse_config(data: dict[str, Any], source: Path | str) -> WorkspaceConfig:
    try:
        return WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc), subject=source) from None


def load_config(path: Path) -> WorkspaceConfig:
    """Read and validate ``elforge.toml``; every error names the file and the key."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such file (run 'elforge init DIR' first)", subject=path) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", subject=path) from None
    return parse_config(data, path)


DEFAULT_CONFIG = """\
# elforge workspace configuration; see docs/workspace.md for every key.
[workspace]
name = "{name}"
vendor = "Example Rebuild"
dist = ".el9"
release_branch = "c9"
patched_branch = "a9"

[store]
# url = "postgresql+psycopg://user@host/elforge"   # default: SQLite in .elforge/state.db

[executor]
kind = "local"          # or "dask"
# scheduler = "tcp://127.0.0.1:8786"
jobs = 2

[sources]
lookaside = []

[build]
builder = "rpmbuild"

# [[packages]]
# name = "bash"
# url = "https://git.centos.org/rpms/bash.git"
# branch = "c9"
"""
