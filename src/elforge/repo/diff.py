"""Distribution parity: a rebuild's repositories against the reference's, package by package.

Each side is reduced to its newest build per (name, arch), as dnf sees it. A binary package
is *identical* when epoch, version and normalised release agree and the rebuild added no
vendor suffix; *modified* when the same build carries a vendor suffix; *newer* or *older*
by rpmvercmp on epoch, version and the release without its dist tag; *missing* or *extra*
when only one side has it. Source packages get the same verdicts, from the source RPM names
the binaries point at (and any src.rpm in the repositories).

For packages on both sides the provides and requires are compared with the release part of
versioned entries normalised. A lost ``soname`` provide (``libfoo.so.1()(64bit)``) is BAD:
whatever linked against it will not install. Files that some package requires count as
provides too; a side's filelists.xml is read only when such a path is not in its primary's
file subset (``/etc``, ``*bin/``), and one that is then unreadable is recorded in
``filelists_errors`` while the diff goes on with primary's files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elforge.errors import ElforgeError
from elforge.repo.pool import RepoSpec, as_repository
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.rpm.header import Dependency
from elforge.rpm.nevra import EVR, NEVRA
from elforge.rpm.release import normalize_release, strip_dist, vendor_suffix
from elforge.rpm.repodata import RepoPackage, Repository

SCHEMA = "elforge.repo-diff/1"
STATUSES = ("identical", "modified", "newer", "older", "missing", "extra")
SONAME = re.compile(r"^[^()\s]+\.so(?:\.[^()\s]*)?\(")


@dataclass(frozen=True)
class DepDelta:
    lost_provides: tuple[str, ...] = ()
    new_provides: tuple[str, ...] = ()
    lost_requires: tuple[str, ...] = ()
    new_requires: tuple[str, ...] = ()

    @property
    def lost_sonames(self) -> tuple[str, ...]:
        return tuple(p for p in self.lost_provides if SONAME.match(p))

    def __bool__(self) -> bool:
        return bool(
            self.lost_provides or self.new_provides or self.lost_requires or self.new_requires
        )


@dataclass(frozen=True)
class PackageDiff:
    name: str
    arch: str
    status: str
    reference: str | None
    candidate: str | None
    deps: DepDelta = field(default_factory=DepDelta)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "arch": self.arch,
            "reference": self.reference,
            "candidate": self.candidate,
            "status": self.status,
        }
        if self.deps:
            out["provides"] = {
                "lost": list(self.deps.lost_provides),
                "new": list(self.deps.new_provides),
            }
            out["requires"] = {
                "lost": list(self.deps.lost_requires),
                "new": list(self.deps.new_requires),
            }
            out["lost_sonames"] = list(self.deps.lost_sonames)
        return out


@dataclass
class RepoDiffResult:
    reference: list[str]
    candidate: list[str]
    packages: list[PackageDiff]
    sources: list[PackageDiff]
    filelists_errors: list[str] = field(default_factory=list)  # needed but unreadable

    @staticmethod
    def _summary(items: Sequence[PackageDiff]) -> dict[str, Any]:
        counts = {s: 0 for s in STATUSES}
        for p in items:
            counts[p.status] += 1
        ref_total = sum(counts[s] for s in STATUSES if s != "extra")
        pct = round(100.0 * counts["identical"] / ref_total, 2) if ref_total else 100.0
        same = counts["identical"] + counts["modified"]
        return {
            **counts,
            "reference_total": ref_total,
            "percent_identical": pct,
            "percent_same_build": round(100.0 * same / ref_total, 2) if ref_total else 100.0,
        }

    @property
    def summary(self) -> dict[str, Any]:
        return self._summary(self.packages)

    @property
    def incompatible(self) -> bool:
        """A reference binary package is missing, or a package lost a soname provide: what
        the rebuild's users would notice (the CLI's exit 8)."""
        return any(p.status == "missing" or p.deps.lost_sonames for p in self.packages)

    @property
    def source_summary(self) -> dict[str, Any]:
        return self._summary(self.sources)

    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for p in self.packages:
            subject = p.candidate or p.reference or p.name
            if p.status == "missing":
                out.append(
                    Finding(
                        Severity.BAD,
                        "repo.missing",
                        p.reference or p.name,
                        "in the reference but not in the rebuild",
                        remedy="build and publish it",
                        layer="package",
                    )
                )
            elif p.status == "older":
                out.append(
                    Finding(
                        Severity.VERIFY,
                        "repo.older",
                        subject,
                        f"older than the reference {p.reference}",
                        remedy="rebuild the reference's version",
                        layer="package",
                    )
                )
            for soname in p.deps.lost_sonames:
                out.append(
                    Finding(
                        Severity.BAD,
                        "repo.soname-lost",
                        subject,
                        f"no longer provides {soname} (the reference {p.reference} does)",
                        remedy="restore the library or its SONAME",
                        layer="package",
                    )
                )
            other_lost = [d for d in p.deps.lost_provides if d not in p.deps.lost_sonames]
            if other_lost:
                out.append(
                    Finding(
                        Severity.VERIFY,
                        "repo.provides-lost",
                        subject,
                        "no longer provides "
                        + ", ".join(other_lost[:5])
                        + (" …" if len(other_lost) > 5 else ""),
                        layer="package",
                    )
                )
            if p.deps.new_requires:
                out.append(
                    Finding(
                        Severity.INFO,
                        "repo.requires-new",
                        subject,
                        "new requirements: "
                        + ", ".join(p.deps.new_requires[:5])
                        + (" …" if len(p.deps.new_requires) > 5 else ""),
                        layer="package",
                    )
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "reference": self.reference,
            "candidate": self.candidate,
            "summary": self.summary,
            "sources": {
                "summary": self.source_summary,
                "packages": [p.to_json() for p in self.sources],
            },
            "packages": [p.to_json() for p in self.packages],
            "filelists_errors": self.filelists_errors,
        }

    def to_document(self) -> ReportDocument:
        s = self.summary
        rows = [
            [p.name, p.arch, p.status, p.reference or "-", p.candidate or "-"]
            for p in self.packages
            if p.status != "identical" or p.deps
        ]
        return ReportDocument(
            schema=SCHEMA,
            title="Repository parity",
            data=self.to_json(),
            findings=self.findings(),
            summary=[
                ("reference", ", ".join(self.reference)),
                ("candidate", ", ".join(self.candidate)),
                *[(k, s[k]) for k in STATUSES],
                ("identical (binary)", f"{s['percent_identical']}%"),
                ("same build incl. vendor suffix", f"{s['percent_same_build']}%"),
                ("identical (source)", f"{self.source_summary['percent_identical']}%"),
            ],
            tables=[
                Table("Differences", ["name", "arch", "status", "reference", "candidate"], rows)
            ]
            if rows
            else [],
        )


def _newest(items: Iterable[tuple[tuple[str, str], NEVRA, Any]]) -> dict[tuple[str, str], Any]:
    best: dict[tuple[str, str], tuple[NEVRA, Any]] = {}
    for key, nevra, payload in items:
        cur = best.get(key)
        if cur is None or nevra.evr.compare(cur[0].evr) > 0:
            best[key] = (nevra, payload)
    return best


def classify(ref: NEVRA, cand: NEVRA) -> str:
    """identical, modified, newer or older: ``cand`` against ``ref`` (same name)."""
    if ref.epoch == cand.epoch and ref.version == cand.version:
        if ref.release == cand.release:
            return "identical"
        if normalize_release(ref.release) == normalize_release(cand.release):
            return "modified" if vendor_suffix(cand.release) else "identical"
    a = EVR(ref.epoch, ref.version, strip_dist(ref.release))
    b = EVR(cand.epoch, cand.version, strip_dist(cand.release))
    order = b.compare(a)
    if order == 0:  # differs only in what strip_dist removed, e.g. el9 vs el9_4
        order = EVR(cand.epoch, cand.version, cand.release).compare(
            EVR(ref.epoch, ref.version, ref.release)
        )
    return "newer" if order > 0 else "older" if order < 0 else "identical"


class _DepKey:
    """Dependencies as comparable strings: versioned entries with normalised releases."""

    def __init__(self) -> None:
        self._cache: dict[Dependency, str] = {}

    def __call__(self, dep: Dependency) -> str:
        key = self._cache.get(dep)
        if key is None:
            key = str(dep)
            if dep.evr and "-" in dep.evr:
                version, _, release = dep.evr.rpartition("-")
                key = str(
                    Dependency(dep.name, dep.flags, f"{version}-{normalize_release(release)}")
                )
            self._cache[dep] = key
        return key


def _dep_delta(
    ref: RepoPackage, cand: RepoPackage, key: _DepKey, required_files: set[str] | frozenset[str]
) -> DepDelta:
    rp = {key(d) for d in ref.provides} | (required_files.intersection(ref.files))
    cp = {key(d) for d in cand.provides} | (required_files.intersection(cand.files))
    rr = {key(d) for d in ref.requires if not d.name.startswith("rpmlib(")}
    cr_ = {key(d) for d in cand.requires if not d.name.startswith("rpmlib(")}
    if rp == cp and rr == cr_:
        return DepDelta()
    return DepDelta(
        tuple(sorted(rp - cp)),
        tuple(sorted(cp - rp)),
        tuple(sorted(rr - cr_)),
        tuple(sorted(cr_ - rr)),
    )


def _pairs(
    ref: dict[tuple[str, str], Any],
    cand: dict[tuple[str, str], Any],
    deps: bool,
    required_files: set[str] | frozenset[str] = frozenset(),
) -> list[PackageDiff]:
    key = _DepKey()
    out: list[PackageDiff] = []
    for k in sorted(set(ref) | set(cand)):
        r, c = ref.get(k), cand.get(k)
        if r is None:
            assert c is not None
            out.append(PackageDiff(k[0], k[1], "extra", None, str(c[0])))
        elif c is None:
            out.append(PackageDiff(k[0], k[1], "missing", str(r[0]), None))
        else:
            delta = _dep_delta(r[1], c[1], key, required_files) if deps else DepDelta()
            out.append(PackageDiff(k[0], k[1], classify(r[0], c[0]), str(r[0]), str(c[0]), delta))
    return out


def _sources(pkgs: Iterable[RepoPackage]) -> dict[tuple[str, str], Any]:
    items = []
    for p in pkgs:
        if p.nevra.is_source:
            items.append(((p.name, "src"), p.nevra, None))
        elif p.sourcerpm:
            try:
                nevra = NEVRA.parse_filename(p.sourcerpm)
            except Exception:  # a malformed sourcerpm tag only loses that source entry
                continue
            nevra = NEVRA(nevra.name, p.nevra.epoch, nevra.version, nevra.release, "src")
            items.append(((nevra.name, "src"), nevra, None))
    return _newest(items)


def diff_packages(
    ref: Sequence[RepoPackage],
    cand: Sequence[RepoPackage],
    reference: list[str] | None = None,
    candidate: list[str] | None = None,
) -> RepoDiffResult:
    """Compare two package sets already read."""
    binary = lambda pkgs: _newest(  # noqa: E731
        ((p.name, p.arch), p.nevra, p) for p in pkgs if not p.nevra.is_source
    )
    required = required_files([*ref, *cand])
    return RepoDiffResult(
        reference=reference or [],
        candidate=candidate or [],
        packages=_pairs(binary(ref), binary(cand), deps=True, required_files=required),
        sources=_pairs(_sources(ref), _sources(cand), deps=False),
    )


def required_files(pkgs: Iterable[RepoPackage]) -> set[str]:
    """The file paths some package requires."""
    return {d.name for p in pkgs for d in p.requires if d.name.startswith("/")}


def _with_filelists(
    repos: list[Repository], per_repo: list[list[RepoPackage]], wanted: set[str], errors: list[str]
) -> list[RepoPackage]:
    """A side's packages, re-read with filelists only when primary lacks a wanted path."""
    have = {f for pkgs in per_repo for p in pkgs for f in p.files}
    if wanted <= have:
        return [p for pkgs in per_repo for p in pkgs]
    out: list[RepoPackage] = []
    for repo, pkgs in zip(repos, per_repo, strict=True):
        try:
            out += repo.packages(files=True)
        except ElforgeError as exc:  # this side's primary files still count
            errors.append(str(exc))
            out += pkgs
    return out


def diff_repos(
    ref: RepoSpec | Sequence[RepoSpec],
    cand: RepoSpec | Sequence[RepoSpec],
    *,
    cache_dir: Path | None = None,
) -> RepoDiffResult:
    """Parity of the candidate repositories against the reference ones."""
    refs: list[RepoSpec] = list(ref) if isinstance(ref, list | tuple) else [ref]  # type: ignore[list-item]
    cands: list[RepoSpec] = list(cand) if isinstance(cand, list | tuple) else [cand]  # type: ignore[list-item]
    ref_repos = [as_repository(r, cache_dir=cache_dir) for r in refs]
    cand_repos = [as_repository(c, cache_dir=cache_dir) for c in cands]
    ref_read = [r.packages() for r in ref_repos]
    cand_read = [c.packages() for c in cand_repos]
    wanted = required_files(p for pkgs in [*ref_read, *cand_read] for p in pkgs)
    errors: list[str] = []
    ref_pkgs = _with_filelists(ref_repos, ref_read, wanted, errors)
    cand_pkgs = _with_filelists(cand_repos, cand_read, wanted, errors)
    result = diff_packages(
        ref_pkgs, cand_pkgs, [r.name for r in ref_repos], [c.name for c in cand_repos]
    )
    result.filelists_errors = errors
    return result
