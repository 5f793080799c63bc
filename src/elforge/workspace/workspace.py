"""A workspace on disk: where its config, state database and working folders live."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from elforge.errors import ConfigError
from elforge.workspace.config import CONFIG_NAME, DEFAULT_CONFIG, WorkspaceConfig, load_config
from elforge.workspace.options import WorkspaceOptions, resolve_options


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: WorkspaceConfig

    @cached_property
    def options(self) -> WorkspaceOptions:
        """The configuration resolved once into the typed options every consumer uses."""
        return resolve_options(self.root, self.config)

    @property
    def state_dir(self) -> Path:
        return self.root / ".elforge"

    @property
    def store_url(self) -> str:
        return self.config.store.url or f"sqlite:///{self.state_dir / 'state.db'}"

    @property
    def git_dir(self) -> Path:
        return self.root / "git"

    @property
    def lookaside_dir(self) -> Path:
        return self.root / "lookaside"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"

    @classmethod
    def open(cls, path: Path | None = None) -> Workspace:
        """Open the workspace at ``path``, or the nearest one above the current folder."""
        start = (path or Path.cwd()).resolve()
        for candidate in (start, *start.parents):
            if (candidate / CONFIG_NAME).is_file():
                return cls(candidate, load_config(candidate / CONFIG_NAME))
            if path is not None:
                break
        raise ConfigError(f"no {CONFIG_NAME} here or above (run 'elforge init DIR')", subject=start)

    @classmethod
    def init(cls, root: Path, *, force: bool = False) -> Workspace:
        root.mkdir(parents=True, exist_ok=True)
        cfg = root / CONFIG_NAME
        if cfg.exists() and not force:
            raise ConfigError("already exists (use --force to overwrite)", subject=cfg)
        cfg.write_text(DEFAULT_CONFIG.format(name=root.resolve().name), encoding="utf-8")
        ws = cls(root.resolve(), load_config(cfg))
        ws.state_dir.mkdir(exist_ok=True)
        return ws
