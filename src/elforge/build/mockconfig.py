"""A mock configuration per release: the chroot's dnf repositories, macros, dist tag, arch.

The file is what ``mock -r FILE`` reads: Python assigning ``config_opts`` keys, every one a
key mock documents (``docs/site-defaults.cfg``): ``root``, ``target_arch``,
``legal_host_arches``, ``chroot_setup_cmd``, ``dist``, ``releasever``, ``package_manager``,
``macros`` and ``dnf.conf``. With a base config (``[build] mock_config``, e.g.
``almalinux-9-x86_64``) the file ``include()``\\ s it and adds the release's repositories to
the base's ``dnf.conf``; without one it stands alone, the chroot made only from the release's
buildroot repository and the external buildroot repositories.

Values are written with ``repr`` (never pasted into code) and refused when they hold ``{{``:
mock renders config strings as Jinja templates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from elforge.errors import ConfigError

# What a chroot needs to run rpmbuild, as mock's EL configs list it.
DEFAULT_SETUP = (
    "install bash bzip2 coreutils cpio diffutils findutils gawk glibc-minimal-langpack grep "
    "gzip info patch redhat-rpm-config rpm-build sed tar unzip util-linux which xz"
)
_ID = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class MockRepo:
    """One dnf repository of the chroot."""

    repo_id: str
    baseurl: str  # file:///path or http(s)://…
    priority: int = 99


@dataclass(frozen=True)
class MockSettings:
    name: str  # the release, used for the chroot name
    arch: str = "x86_64"
    dist: str = ".el9"
    releasever: str = "9"
    repos: tuple[MockRepo, ...] = ()
    macros: Mapping[str, str] = field(default_factory=dict)
    base_config: str | None = None  # a mock config to include (name or path)
    chroot_setup_cmd: str = DEFAULT_SETUP


def as_baseurl(location: str) -> str:
    """A dnf ``baseurl`` for a repository path or URL."""
    if "://" in location:
        return location
    return Path(location).resolve().as_uri()


def repo_id(text: str) -> str:
    return _ID.sub("-", text).strip("-")[:64] or "repo"


def buildroot_repos(release_repo: Path, external: Sequence[str]) -> tuple[MockRepo, ...]:
    """The release's own buildroot repository first (highest priority), then the external."""
    repos = [MockRepo("elforge-buildroot", as_baseurl(str(release_repo)), priority=10)]
    for i, location in enumerate(external, start=1):
        repos.append(MockRepo(f"external-{i}-{repo_id(Path(location).name)}", as_baseurl(location)))
    return tuple(repos)


def _safe(value: str, what: str) -> str:
    if "{{" in value or "{%" in value or "\n" in value:
        raise ConfigError(f"{what} holds template or line-break characters", subject=value[:80])
    return value


def dnf_repo_sections(repos: Sequence[MockRepo]) -> str:
    out = []
    for repo in repos:
        out.append(
            f"[{_safe(repo.repo_id, 'repository id')}]\n"
            f"name={repo.repo_id}\n"
            f"baseurl={_safe(repo.baseurl, 'repository URL')}\n"
            "enabled=1\n"
            "gpgcheck=0\n"
            f"priority={repo.priority}\n"
            "skip_if_unavailable=False\n"
            "metadata_expire=0\n"
        )
    return "\n".join(out)


def dnf_conf(repos: Sequence[MockRepo]) -> str:
    """A complete dnf.conf: mock needs ``assumeyes=1``; ``reposdir=/dev/null`` keeps the
    host's repositories out of the chroot."""
    main = (
        "[main]\nkeepcache=1\ndebuglevel=2\nreposdir=/dev/null\nretries=20\nobsoletes=1\n"
        "gpgcheck=0\nassumeyes=1\ninstall_weak_deps=0\nmetadata_expire=0\nbest=1\n"
        "protected_packages=\n"
    )
    return main + "\n" + dnf_repo_sections(repos)


def render_mock_config(settings: MockSettings) -> str:
    """The text of the mock config file for ``settings``."""
    arch = _safe(settings.arch, "arch")
    lines = [f"# mock config for release {settings.name!r}, written by elforge"]
    if settings.base_config:
        lines.append(f"include({_safe(settings.base_config, 'mock base config')!r})")
    lines += [
        f"config_opts['root'] = {repo_id(f'elforge-{settings.name}-{arch}')!r}",
        f"config_opts['target_arch'] = {arch!r}",
        f"config_opts['legal_host_arches'] = ({arch!r},)",
        f"config_opts['dist'] = {_safe(settings.dist.lstrip('.'), 'dist tag')!r}",
        f"config_opts['releasever'] = {_safe(settings.releasever, 'releasever')!r}",
        f"config_opts['macros']['%dist'] = {_safe(settings.dist, 'dist tag')!r}",
    ]
    for key, value in sorted(settings.macros.items()):
        name = key if key.startswith("%") else f"%{key}"
        lines.append(f"config_opts['macros'][{_safe(name, 'macro')!r}] = {_safe(value, 'macro')!r}")
    if settings.base_config:
        extra = "\n" + dnf_repo_sections(settings.repos)
        lines.append(f"config_opts['dnf.conf'] += {extra!r}")
    else:
        lines += [
            "config_opts['package_manager'] = 'dnf'",
            f"config_opts['chroot_setup_cmd'] = {_safe(settings.chroot_setup_cmd, 'setup')!r}",
            f"config_opts['dnf.conf'] = {dnf_conf(settings.repos)!r}",
        ]
    return "\n".join(lines) + "\n"


def write_mock_config(settings: MockSettings, dest: Path) -> Path:
    """Write the config (atomically) and return its path."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_text(render_mock_config(settings), encoding="utf-8")
    tmp.replace(dest)
    return dest
