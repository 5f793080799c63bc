"""Find and read a package's patch config, whatever its format.

PATH is a config file or a folder: a srpmproc patch repository (``PATCHES/*.cfg`` or
``ROCKY/CFG/*.cfg``), an autopatch package folder (``config.yaml``), or an elforge config
folder (``<release>/<package>.yaml``, then ``common/<package>.yaml``, then
``<package>.yaml``; a ``<package>/`` subfolder may hold either of the other two formats).
"""

from __future__ import annotations

from pathlib import Path

from elforge.errors import ConfigError
from elforge.patching.autopatch import load_autopatch, looks_like_autopatch
from elforge.patching.config import PatchConfig, build_config, load_yaml
from elforge.patching.srpmproc import is_patch_repo, load_srpmproc

FORMATS = ("auto", "elforge", "autopatch", "srpmproc")


def _yaml_format(path: Path) -> str:
    return "autopatch" if looks_like_autopatch(load_yaml(path)) else "elforge"


def locate(path: Path, package: str, release: str | None) -> tuple[Path, str] | None:
    """The config file or folder for ``package`` and its detected format (None: no config)."""
    if path.is_file():
        if path.suffix == ".cfg":
            return path, "srpmproc"
        return path, _yaml_format(path)
    if not path.is_dir():
        raise ConfigError("no such file or folder", subject=path)
    if is_patch_repo(path):
        return path, "srpmproc"
    if (path / "config.yaml").is_file():
        return path / "config.yaml", "autopatch"
    candidates = []
    if release:
        candidates.append(path / release / f"{package}.yaml")
    candidates += [path / "common" / f"{package}.yaml", path / f"{package}.yaml"]
    for c in candidates:
        if c.is_file():
            return c, _yaml_format(c)
    sub = path / package
    if sub.is_dir() and (is_patch_repo(sub) or (sub / "config.yaml").is_file()):
        return locate(sub, package, release)
    return None


def load_config(
    path: Path, *, package: str, config_format: str = "auto", release: str | None = None
) -> PatchConfig | None:
    if config_format not in FORMATS:
        raise ConfigError(f"unknown config format '{config_format}' (known: {', '.join(FORMATS)})")
    found = locate(path, package, release)
    if found is None:
        return None
    where, detected = found
    fmt = detected if config_format == "auto" else config_format
    if fmt == "srpmproc":
        return load_srpmproc(where, release=release)
    if where.is_dir():
        raise ConfigError(f"no {fmt} config found here", subject=where)
    if fmt == "autopatch":
        return load_autopatch(where)
    return build_config(load_yaml(where), path=where, base_dir=where.parent)
