"""The advisory model every reader produces, whatever the format it came from.

CSAF, OSV, updateinfo and the Security Data API describe the same things differently; the
mapping, lag and export code only see :class:`Advisory` and :class:`CveStatement`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

CVE_RE = re.compile(r"\bCVE-\d{4}-\d{4,}\b")
# RHSA-2024:6163, ALSA-2025:A002; URLs write RHSA-2024-6163 or rhsa-2024_6163
ADVISORY_RE = re.compile(r"\b([A-Za-z]{0,4}(?:SA|BA|EA|sa|ba|ea))-(\d{4})[:_-]([0-9A-Za-z]+)\b")

# The kind an advisory prefix names: "SA" security, "BA" bug fix, "EA" enhancement.
_KIND_BY_SUFFIX = {"SA": "security", "BA": "bugfix", "EA": "enhancement"}
SEVERITIES = ("Critical", "Important", "Moderate", "Low", "None")


@dataclass(frozen=True, slots=True)
class FixedPackage:
    """A package build an advisory ships (or the first version that fixes, for OSV)."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str | None = None  # None when the source does not say (OSV ranges)
    product: str | None = None  # CSAF product / OSV ecosystem / updateinfo collection
    module: str | None = None  # "name:stream" for modular packages

    @property
    def evr(self) -> str:
        return (f"{self.epoch}:" if self.epoch else "") + f"{self.version}-{self.release}"

    def __str__(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch else ""
        tail = f".{self.arch}" if self.arch else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}{tail}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "evr": self.evr}
        if self.arch:
            out["arch"] = self.arch
        if self.product:
            out["product"] = self.product
        if self.module:
            out["module"] = self.module
        return out


@dataclass(frozen=True)
class Reference:
    url: str
    type: str | None = None
    id: str | None = None


@dataclass
class Advisory:
    """One advisory (RHSA, ALSA, RLSA…) in the shape the security code works with."""

    id: str
    source: str  # "csaf", "osv", "updateinfo", "hydra"
    kind: str = "security"  # security, bugfix, enhancement, unknown
    severity: str | None = None  # Critical, Important, Moderate, Low, None
    title: str | None = None
    issued: datetime | None = None
    updated: datetime | None = None
    cves: tuple[str, ...] = ()
    packages: tuple[FixedPackage, ...] = ()
    references: tuple[Reference, ...] = ()
    related_advisories: tuple[str, ...] = ()  # other advisories this one names (e.g. RHSA)
    ecosystems: tuple[str, ...] = ()  # "AlmaLinux:8", product names for CSAF
    description: str | None = None
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def prefix(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def number(self) -> str:
        """``2024:6163`` out of ``RHSA-2024:6163``."""
        return self.id.split("-", 1)[1] if "-" in self.id else self.id

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "issued": self.issued.isoformat() if self.issued else None,
            "updated": self.updated.isoformat() if self.updated else None,
            "cves": list(self.cves),
            "packages": [p.to_json() for p in self.packages],
            "related_advisories": list(self.related_advisories),
        }


@dataclass(frozen=True)
class CveStatement:
    """What a vendor says about one CVE for one product: VEX and Security Data API rows.

    ``status`` is one of ``fixed``, ``known_affected``, ``known_not_affected``,
    ``under_investigation`` (CSAF's product status names).
    """

    cve: str
    product: str
    component: str | None
    status: str
    advisory: str | None = None
    date: datetime | None = None
    fixed: FixedPackage | None = None
    severity: str | None = None


def kind_from_id(advisory_id: str) -> str:
    """``security`` for *SA, ``bugfix`` for *BA, ``enhancement`` for *EA ids."""
    prefix = advisory_id.split("-", 1)[0].upper()
    return _KIND_BY_SUFFIX.get(prefix[-2:], "unknown")


def severity_from_text(text: str | None) -> str | None:
    """``Important`` from ``Important: kernel security update`` or ``important``."""
    if not text:
        return None
    head = text.split(":", 1)[0].strip().capitalize()
    if head in SEVERITIES:
        return head
    word = text.strip().capitalize()
    return word if word in SEVERITIES else None


def cves_in(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for m in CVE_RE.finditer(text):
        seen.setdefault(m.group(0), None)
    return list(seen)


def advisory_ids_in(text: str) -> list[str]:
    """Advisory ids named in free text or URLs, normalised to ``PREFIX-YYYY:NNNN``."""
    seen: dict[str, None] = {}
    for m in ADVISORY_RE.finditer(text):
        seen.setdefault(f"{m[1].upper()}-{m[2]}:{m[3].upper()}", None)
    return list(seen)
