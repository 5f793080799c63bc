"""Find and read a package's patch config, whatever its format.

PATH is a config file or a folder: a srpmproc patch repository (``PATCHES/*.cfg`` or
``ROCKY/CFG/*.cfg``), an autopatch package folder (``config.yaml``), or an elforge config
folder (``<release>/<package>.yaml``, then ``common/<package>.yaml``, then
``<package>.yaml``; a ``<package>/`` subfolder may hold either of the other two formats).

A config folder that is a git repository may keep a branch per release instead: with a
release given, its ``<release>`` branch is searched first, then ``common``, then the
checked-out tree (srpmproc repositories have their own main-then-release rule).
"""

from __future__ import annotations

import atexit
import io
import shutil
import tarfile
import tempfile
from pathlib import Path

from elforge.errors import ConfigError
from elforge.patching.autopatch import load_autopatch, looks_like_autopatch
from elforge.patching.config import PatchConfig, build_config, load_yaml
from elforge.patching.srpmproc import is_patch_repo, load_srpmproc
from elforge.proc import run_command
from elforge.tarsafe import extract_all

FORMATS = ("auto", "elforge", "autopatch", "srpmproc")


def _yaml_format(path: Path) -> str:
    return "autopatch" if looks_like_autopatch(load_yaml(path)) else "elforge"


_BRANCH_TREES: dict[tuple[str, str], Path] = {}


def _cleanup() -> None:
    for tree in _BRANCH_TREES.values():
        shutil.rmtree(tree.parent, ignore_errors=True)


atexit.register(_cleanup)


def _git_out(repo: Path, *args: str) -> bytes | None:
    res = run_command(["git", "-C", str(repo), *args], capture_output=True, check=False)
    return res.stdout if res.returncode == 0 else None


def branch_tree(repo: Path, branch: str) -> Path | None:
    """The files of ``branch`` of the git repository ``repo`` (a cached export), if any."""
    if not repo.is_dir():
        return None
    top = _git_out(repo, "rev-parse", "--show-toplevel")
    if top is None or Path(top.decode().strip()).resolve() != repo.resolve():
        return None
    commit = _git_out(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}^{{commit}}")
    if commit is None:
        return None
    key = (str(repo.resolve()), commit.decode().strip())
    if key not in _BRANCH_TREES:
        archive = _git_out(repo, "archive", "--format=tar", key[1])
        if archive is None:
            return None
        dest = Path(tempfile.mkdtemp(prefix="elforge-cfg-")) / branch
        dest.mkdir()
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            extract_all(tar, dest, subject=repo)
        _BRANCH_TREES[key] = dest
    return _BRANCH_TREES[key]


def locate(path: Path, package: str, release: str | None) -> tuple[Path, str] | None:
    """The config file or folder for ``package`` and its detected format (None: no config)."""
    if path.is_dir() and not is_patch_repo(path):
        for branch in ([release] if release else []) + ["common"]:
            exported = branch_tree(path, branch)
            if exported is not None:
                found = locate(exported, package, release)
                if found is not None:
                    return found
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
