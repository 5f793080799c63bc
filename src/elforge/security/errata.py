"""The rebuild's own advisories: one per reference advisory, written from what it published.

For each reference advisory (CSAF, OSV or updateinfo, through ``security.sources``) the fixes
that apply to the rebuild (its major release, not extended-support streams; binary
packages) are looked up in the published repositories per binary package and arch. A
published build carries the fix when it is the same or a newer EVR after release
normalisation (``security.versions.evr_covers``); modular fixes only match builds of the
same ``name:stream`` (from modules.yaml, else the same upstream series). The outcome:

- ``published``: every fix the rebuild ships has a covering build; the advisory lists the
  earliest covering build of each (NEVRA, file name and checksum from primary.xml);
- ``pending``: the rebuild ships the package but not yet a fixed build (the reason names
  the package, arch and both EVRs);
- ``not_applicable``: the fix is for another major release or extended-support streams
  only, or the rebuild ships none of the fixed packages.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from elforge.errors import ConfigError
from elforge.rpm.release import parse_release
from elforge.rpm.updateinfo import NevraLabels, UpdateModule
from elforge.security.model import Advisory, FixedPackage, Reference
from elforge.security.parity import applicable_fixes, not_applicable_reason
from elforge.security.published import PublishedIndex, PublishedPackage
from elforge.security.versions import evr_covers, same_stream

SCHEMA = "elforge.errata/1"
STATUSES = ("published", "pending", "not_applicable")
DEFAULT_ID_SCHEME = "FL{type}-{year}:{serial}"
_PLAIN_ID = re.compile(r"^[A-Za-z]{1,16}-\d{4}:[0-9A-Za-z]{1,16}$")
_TYPE_BY_KIND = {"security": "SA", "bugfix": "BA", "enhancement": "EA"}


@dataclass(frozen=True)
class ErrataSettings:
    """How advisories are named and what the rebuild is."""

    id_scheme: str = DEFAULT_ID_SCHEME
    issuer: str = "elforge"
    majors: frozenset[int] = frozenset()  # empty: from the published packages


@dataclass(frozen=True)
class ErratumPackage(NevraLabels):
    """A published build an advisory lists."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    filename: str
    checksum: str
    checksum_type: str
    sourcerpm: str | None
    repo: str
    module: UpdateModule | None = None
    published: datetime | None = None
    published_source: str | None = None  # watch, publish-record, file-time

    def to_json(self) -> dict[str, Any]:
        return {
            "nevra": self.nevra,
            "name": self.name,
            "epoch": self.epoch,
            "version": self.version,
            "release": self.release,
            "arch": self.arch,
            "filename": self.filename,
            "checksum": self.checksum,
            "checksum_type": self.checksum_type,
            "sourcerpm": self.sourcerpm,
            "repo": self.repo,
            "module": str(self.module) if self.module else None,
            "published": self.published.isoformat() if self.published else None,
            "published_source": self.published_source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ErratumPackage:
        module = None
        if data.get("module"):
            name, stream, version, context, arch = (str(data["module"]).split(":") + [""] * 5)[:5]
            module = UpdateModule(name, stream, version, context, arch)
        published = data.get("published")
        return cls(
            name=str(data["name"]),
            epoch=int(data["epoch"]),
            version=str(data["version"]),
            release=str(data["release"]),
            arch=str(data["arch"]),
            filename=str(data["filename"]),
            checksum=str(data["checksum"]),
            checksum_type=str(data["checksum_type"]),
            sourcerpm=data.get("sourcerpm"),
            repo=str(data["repo"]),
            module=module,
            published=datetime.fromisoformat(published) if published else None,
            published_source=data.get("published_source"),
        )


@dataclass
class Erratum:
    """The rebuild's advisory for one reference advisory, whatever its state."""

    id: str
    reference_id: str
    status: str  # published, pending, not_applicable
    reason: str
    type: str  # security, bugfix, enhancement
    severity: str | None
    title: str | None
    description: str | None
    cves: tuple[str, ...]
    references: tuple[Reference, ...]
    packages: tuple[ErratumPackage, ...] = ()
    issued: datetime | None = None
    issued_source: str | None = None
    updated: datetime | None = None
    reference_issued: datetime | None = None

    def fingerprint(self) -> str:
        """What decides whether a stored erratum changed (times excluded)."""
        body = [self.status, self.reason, sorted(p.nevra + p.checksum for p in self.packages)]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference_id": self.reference_id,
            "status": self.status,
            "reason": self.reason,
            "type": self.type,
            "severity": self.severity,
            "title": self.title,
            "cves": list(self.cves),
            "references": [{"url": r.url, "type": r.type, "id": r.id} for r in self.references],
            "packages": [p.to_json() for p in self.packages],
            "issued": self.issued.isoformat() if self.issued else None,
            "issued_source": self.issued_source,
            "updated": self.updated.isoformat() if self.updated else None,
            "reference_issued": self.reference_issued.isoformat()
            if self.reference_issued
            else None,
        }


@dataclass
class ErrataResult:
    errata: list[Erratum] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # ids new or different from the store
    majors: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for e in self.errata:
            out[e.status] += 1
        return out


def rebuild_id(reference_id: str, kind: str, scheme: str) -> str:
    """``RHSA-2024:0811`` -> ``FLSA-2024:0811`` under ``FL{type}-{year}:{serial}``."""
    number = reference_id.split("-", 1)[1] if "-" in reference_id else reference_id
    year, _, serial = number.partition(":")
    suffix = reference_id.split("-", 1)[0][-2:].upper()
    kind_type = suffix if suffix in ("SA", "BA", "EA") else _TYPE_BY_KIND.get(kind, "SA")
    try:
        return scheme.format(type=kind_type, year=year, serial=serial, number=number)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"id_scheme {scheme[:80]!r}: {exc} (fields: type, year, serial, number)",
            subject="[errata] id_scheme",
        ) from None


def _in_stream(build: PublishedPackage, fix: FixedPackage) -> bool:
    if fix.module is None:
        if build.module is None:
            return True
        # OSV names no stream, but a modular release (module_el8.9.0) says the fix is one
        modular = parse_release(fix.release).module_stream is not None
        return modular and same_stream(build.version, fix.version)
    if build.stream is not None:
        return build.stream.split(":")[:2] == fix.module.split(":")[:2]
    return same_stream(build.version, fix.version)


def _binaries_of_sources(fixes: list[FixedPackage], index: PublishedIndex) -> list[FixedPackage]:
    """Source fixes (``python3.9-3.9.19-8.el9.src``) as fixes of the binaries built from them."""
    out = []
    for fix in fixes:
        if fix.arch not in ("src", "nosrc"):
            out.append(fix)
            continue
        for name in sorted(index.by_source.get(fix.name, ())):
            out.append(replace(fix, name=name, arch=None))
    return out


def _needed(
    fixes: list[FixedPackage], index: PublishedIndex
) -> dict[tuple[str, str], FixedPackage]:
    """(name, arch) -> the newest fix needed for a build the rebuild publishes."""
    out: dict[tuple[str, str], FixedPackage] = {}
    for fix in _binaries_of_sources(fixes, index):
        builds = index.by_name.get(fix.name, [])
        arches = {b.arch for b in builds if fix.arch in (None, b.arch)}
        for arch in arches:
            cur = out.get((fix.name, arch))
            key = (fix.epoch, fix.version, fix.release)
            if cur is None or evr_covers(key, (cur.epoch, cur.version, cur.release)):
                out[(fix.name, arch)] = fix
    return out


def match_fixes(
    fixes: list[FixedPackage], index: PublishedIndex
) -> tuple[list[PublishedPackage], list[str], bool]:
    """(covering builds, what is lacking, whether the rebuild ships any fixed package)."""
    covering: list[PublishedPackage] = []
    lacking: list[str] = []
    shipped = False
    for (name, arch), fix in sorted(_needed(fixes, index).items()):
        builds = [b for b in index.by_name[name] if b.arch == arch and _in_stream(b, fix)]
        if not builds:
            continue  # the rebuild ships that package only in another module stream
        shipped = True
        need = (fix.epoch, fix.version, fix.release)
        good = [b for b in builds if evr_covers((b.epoch, b.version, b.release), need)]
        if good:
            covering.append(min(good, key=_evr_key))
        else:
            newest = max(builds, key=_evr_key)
            lacking.append(f"{name}.{arch}: published {newest.evr} < fix {fix.evr}")
    return covering, lacking, shipped


class _EvrKey:
    """Orders builds by rpmvercmp after release normalisation."""

    __slots__ = ("evr",)

    def __init__(self, evr: tuple[int, str, str]) -> None:
        self.evr = evr

    def __lt__(self, other: _EvrKey) -> bool:
        return not evr_covers(self.evr, other.evr)


def _evr_key(b: PublishedPackage) -> _EvrKey:
    return _EvrKey((b.epoch, b.version, b.release))


def _erratum_package(b: PublishedPackage) -> ErratumPackage:
    return ErratumPackage(
        name=b.name, epoch=b.epoch, version=b.version, release=b.release, arch=b.arch,
        filename=b.filename, checksum=b.checksum, checksum_type=b.checksum_type,
        sourcerpm=b.sourcerpm, repo=b.repo, module=b.module,
        published=b.file_time, published_source="file-time",
    )  # fmt: skip


def erratum_for(ref: Advisory, index: PublishedIndex, majors: set[int], scheme: str) -> Erratum:
    """The rebuild's advisory for ``ref`` (times from the repository files; see ``dating``)."""
    out = Erratum(
        id=rebuild_id(ref.id, ref.kind, scheme),
        reference_id=ref.id,
        status="not_applicable",
        reason="",
        type=ref.kind if ref.kind in _TYPE_BY_KIND else "security",
        severity=ref.severity,
        title=ref.title,
        description=ref.description,
        cves=ref.cves,
        references=_references(ref),
        reference_issued=ref.issued,
    )
    binaries = tuple(p for p in ref.packages if p.arch not in ("src", "nosrc"))
    if not binaries:  # recent CSAF lists only the source RPMs: their binaries carry the fix
        binaries = tuple(p for p in ref.packages if p.arch in ("src", "nosrc"))
    if not binaries:
        out.reason = "the reference advisory lists no packages"
        return out
    fixes = applicable_fixes(binaries, majors)
    if not fixes:
        out.reason = not_applicable_reason(binaries, majors)
        return out
    covering, lacking, shipped = match_fixes(fixes, index)
    if not shipped:
        names = ", ".join(sorted({f.name for f in fixes})[:5])
        out.reason = f"the rebuild publishes none of the fixed packages ({names})"
        return out
    if lacking:
        out.status = "pending"
        out.reason = "; ".join(lacking[:3]) + (
            f"; … {len(lacking) - 3} more" if len(lacking) > 3 else ""
        )
        return out
    out.status = "published"
    out.reason = f"{len(covering)} published build(s) carry the fix"
    out.packages = tuple(
        _erratum_package(b) for b in sorted(covering, key=lambda b: (b.name, b.arch))
    )
    return out


def _references(ref: Advisory) -> tuple[Reference, ...]:
    """The reference advisory first (as an erratum reference), then its other links once."""
    first = Reference(_reference_url(ref), "erratum", ref.id)
    seen = {first.url}
    out = [first]
    for r in ref.references:
        if r.url and r.url not in seen:
            seen.add(r.url)
            out.append(r)
    return tuple(out)


def _reference_url(ref: Advisory) -> str:
    for r in ref.references:
        if r.url and ref.id.replace(":", "-") in r.url.replace(":", "-").replace("_", "-").upper():
            return r.url
    return f"https://access.redhat.com/errata/{ref.id}"


def merge_with_stored(new: Erratum, old: Erratum | None, now: datetime) -> tuple[Erratum, bool]:
    """Keep the stored dates when nothing changed; set ``updated`` when builds were replaced.

    Returns the erratum to store and whether it differs from the stored one.
    """
    if old is None:
        return new, True
    if old.fingerprint() == new.fingerprint():
        return replace(new, issued=old.issued, issued_source=old.issued_source,
                       updated=old.updated, packages=old.packages), False  # fmt: skip
    if old.status == "published" and new.status == "published":
        latest = max((p.published for p in new.packages if p.published), default=now)
        return replace(new, issued=old.issued, issued_source=old.issued_source,
                       updated=max(latest, old.issued or latest)), True  # fmt: skip
    return new, True


def generate(
    reference: list[Advisory],
    index: PublishedIndex,
    settings: ErrataSettings,
    *,
    since: datetime | None = None,
) -> ErrataResult:
    """One :class:`Erratum` per reference advisory (VEX documents and, with ``since``,
    advisories issued before it are left out)."""
    majors = set(settings.majors) or index.majors()
    result = ErrataResult(majors=majors)
    for ref in sorted(reference, key=lambda a: a.id):
        if ref.kind == "vex":
            continue
        if not _PLAIN_ID.match(ref.id):  # ids become file names and XML ids downstream
            where = str(ref.path or ref.source)[:200]
            result.errors.append(f"{where}: {ref.id[:60]!r} is not a plain advisory id; skipped")
            continue
        if since is not None and ref.issued is not None and ref.issued < since:
            continue
        result.errata.append(erratum_for(ref, index, majors, settings.id_scheme))
    return result
