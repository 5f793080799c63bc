"""NEVRA and EVR values: parse package labels and file names, compare with rpmvercmp."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from elforge.errors import FormatError
from elforge.rpm.vercmp import evrcmp, split_evr

# Architectures that may end a binary RPM file name or a NEVRA label.
KNOWN_ARCHES = frozenset(
    {
        "noarch", "src", "nosrc",
        "x86_64", "i386", "i486", "i586", "i686", "athlon", "x86_64_v2", "x86_64_v3", "x86_64_v4",
        "aarch64", "armv7hl", "armv7hnl", "armv7l", "armv6hl", "armhfp",
        "ppc", "ppc64", "ppc64le", "ppc64p7", "s390", "s390x",
        "riscv64", "loongarch64", "mips64el", "ia64", "sparc64", "alpha",
    }
)  # fmt: skip


@total_ordering
@dataclass(frozen=True)
class EVR:
    """Epoch, version and release; ``release`` is None for a bare ``[epoch:]version``."""

    epoch: int
    version: str
    release: str | None = None

    @classmethod
    def parse(cls, text: str) -> EVR:
        """Parse ``[epoch:]version[-release]`` as rpm does (the last ``-`` starts the release)."""
        return cls(*split_evr(text))

    def __str__(self) -> str:
        prefix = f"{self.epoch}:" if self.epoch else ""
        return prefix + self.version + (f"-{self.release}" if self.release is not None else "")

    def compare(self, other: EVR) -> int:
        return evrcmp(
            (self.epoch, self.version, self.release), (other.epoch, other.version, other.release)
        )

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, EVR):
            return NotImplemented
        return self.compare(other) < 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EVR):
            return NotImplemented
        return self.compare(other) == 0

    def __hash__(self) -> int:
        return hash((self.epoch, self.version, self.release))


@dataclass(frozen=True)
class NEVRA:
    """A package label: name, epoch, version, release and architecture."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str

    @property
    def evr(self) -> EVR:
        return EVR(self.epoch, self.version, self.release)

    @property
    def nvr(self) -> str:
        return f"{self.name}-{self.version}-{self.release}"

    @property
    def is_source(self) -> bool:
        return self.arch in ("src", "nosrc")

    def __str__(self) -> str:
        """``name-[epoch:]version-release.arch``, the form dnf prints (epoch only when set)."""
        epoch = f"{self.epoch}:" if self.epoch else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.release}.{self.arch}.rpm"

    @classmethod
    def parse(cls, label: str) -> NEVRA:
        """Parse ``name-[epoch:]version-release.arch``; a trailing ``.rpm`` is allowed.

        The epoch may also lead (``epoch:name-version-release.arch``, yum's form).
        """
        text = label.strip()
        if text.endswith(".rpm"):
            text = text[: -len(".rpm")]
        lead_epoch: int | None = None
        m = re.match(r"^(\d+):(.*)$", text)
        if m and "-" in m.group(2):
            lead_epoch, text = int(m.group(1)), m.group(2)
        head, dot, arch = text.rpartition(".")
        if not dot or not arch or "-" in arch:
            raise FormatError(
                "no architecture suffix (expected name-version-release.arch)", subject=label
            )
        return cls.from_nevr(head, arch, label=label, epoch=lead_epoch)

    @classmethod
    def from_nevr(
        cls, nevr: str, arch: str, *, label: str | None = None, epoch: int | None = None
    ) -> NEVRA:
        """Build from ``name-[epoch:]version-release`` and an architecture."""
        subject = label or nevr
        rest, sep, release = nevr.rpartition("-")
        if not sep or not release:
            raise FormatError("no release (expected name-version-release)", subject=subject)
        name, sep, version = rest.rpartition("-")
        if not sep or not name or not version:
            raise FormatError("no version (expected name-version-release)", subject=subject)
        if ":" in version:
            e, _, version = version.partition(":")
            if not e.isdigit():
                raise FormatError(f"epoch {e!r} is not a number", subject=subject)
            epoch = int(e)
        return cls(name, epoch or 0, version, release, arch)

    @classmethod
    def parse_filename(cls, filename: str) -> NEVRA:
        """Parse an RPM file name such as ``bash-5.1.8-9.el9.x86_64.rpm`` (or ``.src.rpm``)."""
        base = filename.rsplit("/", 1)[-1]
        if not base.endswith(".rpm"):
            raise FormatError("not an RPM file name (no .rpm suffix)", subject=filename)
        return cls.parse(base)
