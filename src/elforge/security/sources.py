"""Load an advisory source (SRC) of any supported kind into one :class:`Feed`.

SRC may be: a folder of CSAF / OSV / Security Data API JSON files (mixed, searched
recursively), one such file, an ``updateinfo.xml`` (plain or compressed), a dnf repository
(its ``repodata/repomd.xml`` names the updateinfo), a folder holding several repositories,
or a git repository holding an OSV feed (its history then also gives first-seen times).

Bad files never stop the load: each becomes one :class:`FormatError` in ``Feed.errors``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elforge.errors import ElforgeError, FormatError, format_boundary
from elforge.jsonfile import read_json
from elforge.progress import NO_PROGRESS, Progress
from elforge.rpm.updateinfo import UpdateRecord, read_updateinfo
from elforge.security.csaf import advisory_from_csaf, parse_csaf, statements
from elforge.security.firstseen import FirstSeen, is_git_repo, read_first_seen_git
from elforge.security.hydra import parse_hydra
from elforge.security.model import (
    Advisory,
    CveStatement,
    FixedPackage,
    Reference,
    advisory_ids_in,
    kind_from_id,
    severity_from_text,
)
from elforge.security.osv import advisory_from_osv

_REPO_NS = "{http://linux.duke.edu/metadata/repo}"


@dataclass
class Feed:
    """Advisories, per-CVE statements and the errors met while reading one SRC."""

    source: str
    advisories: dict[str, Advisory] = field(default_factory=dict)
    statements: list[CveStatement] = field(default_factory=list)
    errors: list[FormatError] = field(default_factory=list)
    first_seen: FirstSeen | None = None
    files_read: int = 0

    def add(self, adv: Advisory) -> None:
        old = self.advisories.get(adv.id)
        # The same advisory from two files (several repos' updateinfo): merge packages.
        if old is not None:
            merged = dict.fromkeys(old.packages + adv.packages)
            old.packages = tuple(merged)
            old.cves = tuple(dict.fromkeys(old.cves + adv.cves))
            return
        self.advisories[adv.id] = adv

    def extend(self, other: Feed) -> None:
        for adv in other.advisories.values():
            self.add(adv)
        self.statements.extend(other.statements)
        self.errors.extend(other.errors)
        self.files_read += other.files_read
        if other.first_seen is not None and self.first_seen is None:
            self.first_seen = other.first_seen


def advisory_from_update(update: UpdateRecord, path: Path | None = None) -> Advisory:
    """An updateinfo ``<update>`` as an :class:`Advisory`."""
    related: dict[str, None] = {}
    for ref in update.references:
        if (ref.type or "").lower() == "cve":
            continue
        for other in advisory_ids_in(f"{ref.id or ''} {ref.href}"):
            if other != update.id:
                related.setdefault(other, None)
    packages = tuple(
        FixedPackage(
            p.name,
            p.epoch,
            p.version,
            p.release,
            p.arch,
            c.short or c.name,
            f"{c.module.name}:{c.module.stream}" if c.module else None,
        )
        for c in update.collections
        for p in c.packages
    )
    kind = update.type if update.type in ("security", "bugfix", "enhancement") else None
    return Advisory(
        id=update.id,
        source="updateinfo",
        kind=kind or kind_from_id(update.id),
        severity=severity_from_text(update.severity) or severity_from_text(update.title),
        title=update.title,
        issued=update.issued,
        updated=update.updated,
        cves=update.cves,
        packages=packages,
        references=tuple(Reference(r.href, r.type, r.id) for r in update.references),
        related_advisories=tuple(related),
        ecosystems=tuple(dict.fromkeys(c.name for c in update.collections if c.name)),
        description=update.description,
        path=path,
    )


def _load_json(path: Path, feed: Feed) -> None:
    doc: Any = read_json(path)
    if not isinstance(doc, dict):
        raise FormatError("JSON is not an object", subject=path)
    if isinstance(doc.get("document"), dict):
        csaf = parse_csaf(doc, path)
        feed.statements.extend(statements(csaf))
        if not csaf.is_vex:
            feed.add(advisory_from_csaf(csaf))
    elif str(doc.get("name", "")).startswith("CVE-") and (
        "affected_release" in doc or "package_state" in doc or "threat_severity" in doc
    ):
        feed.statements.extend(parse_hydra(doc, path).statements)
    elif "id" in doc and ("affected" in doc or "schema_version" in doc or "published" in doc):
        feed.add(advisory_from_osv(doc, path))
    else:
        raise FormatError("not a CSAF, OSV or Security Data API document", subject=path)


def _load_updateinfo(path: Path, feed: Feed) -> None:
    info = read_updateinfo(path)
    feed.errors.extend(info.errors)
    for update in info.updates:
        feed.add(advisory_from_update(update, path))


def updateinfo_of_repo(repo: Path) -> Path | None:
    """The updateinfo file a repository's repomd.xml names, or None (with no such entry)."""
    repomd = repo / "repodata" / "repomd.xml"
    try:
        root = ET.parse(repomd).getroot()
    except ET.ParseError as exc:
        raise FormatError(f"malformed repomd.xml: {exc}", subject=repomd) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", subject=repomd) from None
    for data in root.iter(f"{_REPO_NS}data"):
        if data.get("type") == "updateinfo":
            loc = data.find(f"{_REPO_NS}location")
            if loc is not None and loc.get("href"):
                return repo / loc.get("href", "")
    return None


def _walk(root: Path) -> Iterator[Path]:
    """Advisory files and repository roots under ``root`` (sorted, .git skipped)."""
    stack = [root]
    while stack:
        current = stack.pop()
        if (current / "repodata" / "repomd.xml").is_file():
            yield current
            continue
        with os.scandir(current) as it:
            entries = sorted(it, key=lambda e: e.name, reverse=True)
        for entry in entries:
            if entry.name in (".git", "repodata"):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.name.endswith(".json") or "updateinfo" in entry.name:
                yield Path(entry.path)


def _load_one(path: Path, feed: Feed) -> None:
    if path.is_dir():  # a repository root
        info = updateinfo_of_repo(path)
        if info is None:
            raise FormatError("repository has no updateinfo in repomd.xml", subject=path)
        _load_updateinfo(info, feed)
    elif path.name.endswith(".json"):
        _load_json(path, feed)
    else:
        _load_updateinfo(path, feed)


def load_source(src: Path, *, progress: Progress = NO_PROGRESS) -> Feed:
    """Read everything SRC holds; per-file problems are collected, not raised."""
    if not src.exists():
        raise FormatError("no such file or folder", subject=src)
    feed = Feed(source=str(src))
    items = list(_walk(src)) if src.is_dir() else [src]
    progress.start(f"reading {src.name or src}", len(items))
    try:
        for item in items:
            try:
                with format_boundary(item, "advisory"):
                    _load_one(item, feed)
            except FormatError as exc:
                feed.errors.append(exc)
            except ElforgeError as exc:  # a tool failing on one item: record it as well
                feed.errors.append(FormatError(exc.problem, subject=exc.subject or item))
            feed.files_read += 1
            progress.advance()
    finally:
        progress.finish()
    if src.is_dir() and is_git_repo(src):
        feed.first_seen = read_first_seen_git(src)
    return feed


def load_sources(srcs: list[Path], *, progress: Progress = NO_PROGRESS) -> Feed:
    """Each source's advisories merged; a source of which no file could be read is an error,
    not an empty feed (an unreadable reference must not pass as "no CVEs")."""
    feed = Feed(source=", ".join(str(s) for s in srcs))
    for src in srcs:
        part = load_source(src, progress=progress)
        if part.errors and not part.advisories and not part.statements:
            raise FormatError(
                f"nothing could be read: {len(part.errors)} unreadable file(s), the first: "
                f"{part.errors[0]}",
                subject=src,
            )
        feed.extend(part)
    return feed
