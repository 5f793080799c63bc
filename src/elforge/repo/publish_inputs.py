"""What ``publish`` is given, checked before anything is written.

- Repository names (layout keys, ``--reference NAME=``) are names, not paths: a name that
  could climb out of the destination (``../x``, ``/abs``, ``a/b``) is refused.
- ``--advisories`` (updateinfo) and ``--modules`` (modules.yaml) are parsed with the
  project's readers; a truncated or invalid file is one error naming it.
- Each RPM comes as a :class:`PublishInput`: where its bytes are (the artifact store names
  files by hash) and the file name it is published under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import ConfigError, FormatError, shown
from elforge.rpm.modules import read_modules
from elforge.rpm.nevra import NEVRA
from elforge.rpm.updateinfo import read_updateinfo

REPO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")

# binary packages that EL ships in the debug repositories
DEBUG_SUFFIXES = ("-debuginfo", "-debugsource")


def validate_repo_name(name: str, subject: str | Path) -> str:
    """``name`` when it is a repository name (letters, digits, ``._+-``, no ``..``)."""
    if not REPO_NAME.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"repository name {shown(name)} is not a name (letters, digits and ._+- only; "
            "no '/', no '..')",
            subject=subject,
        )
    return name


@dataclass(frozen=True)
class PublishInput:
    """One RPM to publish: its bytes at ``path``, published as ``filename``."""

    path: Path
    filename: str
    sha256: str | None = None  # content hash, when the caller knows it (the artifact store)
    source: str | None = None  # the source package it was built from, when known

    @classmethod
    def of(cls, item: PublishInput | Path) -> PublishInput:
        return item if isinstance(item, PublishInput) else cls(Path(item), Path(item).name)

    def nevra(self) -> NEVRA:
        """The package label from the file name; a name that is not one is refused."""
        if "/" in self.filename or not self.filename.endswith(".rpm"):
            raise FormatError("not an RPM file name", subject=self.filename[:200])
        return NEVRA.parse_filename(self.filename)


def package_kind(nevra: NEVRA) -> str:
    """``source``, ``debug`` or ``binary``: which of a repository's trees it belongs in."""
    if nevra.is_source:
        return "source"
    if nevra.name.endswith(DEBUG_SUFFIXES) or "-debuginfo-common" in nevra.name:
        return "debug"
    return "binary"


def base_name(nevra: NEVRA) -> str:
    """The name a layout lists: a debuginfo/debugsource package goes with its main package."""
    for suffix in DEBUG_SUFFIXES:
        if nevra.name.endswith(suffix):
            return nevra.name[: -len(suffix)]
    return nevra.name


def check_updateinfo(path: Path) -> Path:
    """``path`` when it is a readable updateinfo document with no broken update."""
    info = read_updateinfo(path)  # FormatError names the file when unreadable
    if info.errors:
        more = f" (and {len(info.errors) - 1} more)" if len(info.errors) > 1 else ""
        raise FormatError(f"{info.errors[0].problem}{more}; not published", subject=path)
    return path


def check_modules(path: Path) -> Path:
    """``path`` when it is a valid modules.yaml (modulemd v2, defaults v1)."""
    read_modules(path)  # FormatError names the file, the document and the key
    return path
