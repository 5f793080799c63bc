"""Result models of an import: what happened to one package, and where each file came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["imported", "unchanged", "failed"]


@dataclass(frozen=True)
class SourceRecord:
    """One file of the imported tree with its hash and the place it came from.

    ``kind`` is ``lookaside`` (a blob from a lookaside cache or an SRPM archive), ``git``
    (a file kept in the upstream repository) or ``srpm`` (a small file from a source RPM).
    """

    file: str  # path in the internal form, e.g. SOURCES/bash-5.1.tar.gz or SPECS/bash.spec
    hashtype: str
    hash: str
    origin: str
    kind: str = "lookaside"

    def to_json(self) -> dict[str, str]:
        return {
            "file": self.file,
            "hashtype": self.hashtype,
            "hash": self.hash,
            "origin": self.origin,
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceRecord:
        return cls(
            data["file"],
            data["hashtype"],
            data["hash"],
            data["origin"],
            data.get("kind", "lookaside"),
        )


@dataclass
class ImportResult:
    package: str
    branch: str
    status: Status
    upstream_url: str
    nvr: str | None = None
    upstream_commit: str | None = None
    srpm_sha256: str | None = None
    signing_key: str | None = None
    layout: str | None = None
    tag: str | None = None
    mirror_commit: str | None = None
    sources: list[SourceRecord] = field(default_factory=list)
    error: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        upstream: dict[str, Any] = {"url": self.upstream_url, "commit": self.upstream_commit}
        if self.srpm_sha256:
            upstream["srpm_sha256"] = self.srpm_sha256
        if self.signing_key:
            upstream["signing_key"] = self.signing_key
        out: dict[str, Any] = {
            "package": self.package,
            "branch": self.branch,
            "nvr": self.nvr,
            "upstream": upstream,
            "layout": self.layout,
            "tag": self.tag,
            "mirror_commit": self.mirror_commit,
            "sources": [s.to_json() for s in self.sources],
            "status": self.status,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.note:
            out["note"] = self.note
        return out
