"""Compare two package trees (a reference and a candidate distribution) pair by pair.

Packages are paired by name and architecture, whatever their dist tags and vendor
suffixes; each pair is compared in a worker process (``--jobs``), at most a few pairs in
flight at a time so memory stays bounded on a whole distribution. Every pair result is cached
by the two files' sha256 and the options, so an unchanged pair costs a JSON read on the rerun.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elforge.abi.diff import DiffOptions, PackageSet, compare_packages
from elforge.abi.model import EXIT_ABI_CHANGE, EXIT_ERROR, EXIT_INCOMPATIBLE, EXIT_VERIFY
from elforge.abi.snapshot import SnapshotCache, file_sha256
from elforge.errors import ElforgeError, FormatError
from elforge.progress import NO_PROGRESS, Progress
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.rpm.header import read_header
from elforge.rpm.release import normalize_release
from elforge.rpm.remote import is_url
from elforge.rpm.repodata import Repository

SCHEMA = "elforge.abi-compare/1"
PAIR_REVISION = 2
_AUX = re.compile(r"-(debuginfo|debugsource)$")


@dataclass(frozen=True)
class TreePackage:
    path: Path
    name: str
    arch: str
    evr: str
    sourcerpm: str = ""
    # repositories: download (checksum-verified, cached) only when the package is compared
    fetch: Callable[[], Path] | None = field(default=None, compare=False)

    def local(self) -> Path:
        return self.fetch() if self.fetch is not None else self.path


@dataclass
class Tree:
    """The packages of one side: main packages by (name, arch), plus their debuginfo/devel."""

    root: str
    main: dict[tuple[str, str], TreePackage] = field(default_factory=dict)
    aux: dict[tuple[str, str], list[TreePackage]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _head(path: Path, memo_dir: Path | None) -> tuple[str, str, int, str, str, str | None]:
    """(name, arch, epoch, version, release, sourcerpm), remembered by (path, size, mtime)."""
    memo = None
    if memo_dir is not None:
        st = path.stat()
        key = hashlib.sha256(f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        memo = memo_dir / "heads" / key.hexdigest()
        with contextlib.suppress(OSError, ValueError):
            n, a, e, v, r, s = json.loads(memo.read_text(encoding="utf-8"))
            return n, a, e, v, r, s
    h = read_header(path)
    n = h.nevra
    out = (n.name, n.arch, n.epoch, n.version, n.release, h.sourcerpm)
    if memo is not None:
        _atomic_write(memo, json.dumps(out))
    return out


def is_repository(src: str | Path) -> bool:
    """An http(s) URL, or a folder with ``repodata/repomd.xml``: read through its metadata."""
    return is_url(src) or (Path(src) / "repodata" / "repomd.xml").is_file()


def _add(tree: Tree, pkg: TreePackage) -> None:
    if _AUX.search(pkg.name):
        # debuginfo of any subpackage of the same source build: abidiff picks the right
        # file by build-id (Fedora splits debuginfo per subpackage)
        tree.aux.setdefault((pkg.sourcerpm, pkg.arch), []).append(pkg)
    else:
        tree.main[(pkg.name, pkg.arch)] = pkg


def scan_tree(src: str | Path, cache_dir: Path | None = None, key: Path | None = None) -> Tree:
    """Index one side: a repository (path or URL) or a directory of RPMs (recursive)."""
    if is_repository(src):
        return scan_repository(src, cache_dir, key)
    src = Path(src)
    if not src.is_dir():
        raise FormatError("not a directory of RPMs nor a repository", subject=src)
    return scan_files(str(src), sorted(src.rglob("*.rpm")), cache_dir)


def scan_files(label: str, paths: Iterable[Path], cache_dir: Path | None = None) -> Tree:
    """Index one side given as RPM files (source RPMs are left out)."""
    tree = Tree(label)
    for path in paths:
        try:
            name, arch, epoch, version, release, sourcerpm = _head(path, cache_dir)
        except ElforgeError as exc:
            tree.errors.append(str(exc))
            continue
        if sourcerpm is None or arch in ("src", "nosrc"):
            continue
        evr = f"{epoch}:{version}-{release}" if epoch else f"{version}-{release}"
        _add(tree, TreePackage(path, name, arch, evr, sourcerpm))
    return tree


def scan_repository(
    src: str | Path, cache_dir: Path | None = None, key: Path | None = None
) -> Tree:
    """Index a repository from its primary metadata; packages are fetched when compared."""
    repos = cache_dir / "repos" if cache_dir is not None else None
    repo = Repository(src, cache_dir=repos, key=key)
    tree = Tree(str(src))
    for p in repo.packages():
        if p.sourcerpm is None or p.nevra.arch in ("src", "nosrc"):
            continue
        n = p.nevra
        evr = f"{n.epoch}:{n.version}-{n.release}" if n.epoch else f"{n.version}-{n.release}"
        fetch = functools.partial(repo.fetch_package, p)
        _add(tree, TreePackage(Path(p.location_href), n.name, n.arch, evr, p.sourcerpm, fetch))
    return tree


def _debuginfo_for(tree: Tree, pkg: TreePackage) -> list[Path]:
    aux = tree.aux.get((pkg.sourcerpm, pkg.arch), [])
    return [p.local() for p in aux if p.name.endswith("-debuginfo")]


def _devel_for(tree: Tree, pkg: TreePackage) -> list[Path]:
    dev = tree.main.get((f"{pkg.name}-devel", pkg.arch))
    return [dev.local()] if dev else []


@dataclass
class PairTask:
    name: str
    arch: str
    old: PackageSet
    new: PackageSet
    old_evr: str
    new_evr: str


@dataclass
class CompareOptions:
    diff: DiffOptions = field(default_factory=DiffOptions)
    jobs: int = max(1, (os.cpu_count() or 1))
    cache_dir: Path | None = None
    detail_min: Severity = Severity.VERIFY  # findings kept per package in the summary report
    reference_key: Path | None = None  # repository keys: repomd.xml.asc must verify
    candidate_key: Path | None = None


def _options_key(o: DiffOptions) -> str:
    sup = [str(p) + ":" + file_sha256(p) for p in o.suppression_files]
    raw = json.dumps(
        [
            PAIR_REVISION,
            o.default_suppressions,
            o.types,
            o.public_dsos_only,
            o.dso_only,
            o.abignore,
            sup,
            file_sha256(o.keyring) if o.keyring is not None else None,
        ]
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class _ShaMemo:
    """sha256 of a file, remembered by (path, size, mtime) so a rerun does not rehash."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.dir = cache_dir / "sha" if cache_dir else None

    def __call__(self, path: Path) -> str:
        st = path.stat()
        key = hashlib.sha256(f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        memo = self.dir / key.hexdigest() if self.dir else None
        if memo is not None:
            with contextlib.suppress(OSError):
                return memo.read_text().strip()
        digest = file_sha256(path)
        if memo is not None:
            _atomic_write(memo, digest)
        return digest


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _compare_pair(task: PairTask, options: CompareOptions, pair_key: str | None) -> dict[str, Any]:
    """Worker: compare one pair, return a compact, JSON-ready summary (and cache it)."""
    diff_opts = options.diff
    if options.cache_dir is not None:
        diff_opts = DiffOptions(
            suppression_files=diff_opts.suppression_files,
            default_suppressions=diff_opts.default_suppressions,
            types=diff_opts.types,
            cache=SnapshotCache(options.cache_dir / "snapshots"),
            public_dsos_only=diff_opts.public_dsos_only,
            dso_only=diff_opts.dso_only,
            abignore=diff_opts.abignore,
            keyring=diff_opts.keyring,
        )
    entry: dict[str, Any] = {
        "name": task.name,
        "arch": task.arch,
        "reference": {"file": str(task.old.main), "evr": task.old_evr},
        "candidate": {"file": str(task.new.main), "evr": task.new_evr},
    }
    try:
        r = compare_packages(task.old, task.new, diff_opts)
    except ElforgeError as exc:
        entry.update(
            verdict="error",
            exit_code=EXIT_ERROR,
            errors=[str(exc)],
            counts={},
            binaries=[],
            findings=[],
        )
        return entry
    keep = [f for f in r.all_findings() if f.severity >= options.detail_min]
    entry.update(
        verdict=r.verdict.value,
        exit_code=r.exit_code,
        counts=r.counts(),
        type_layer=r.type_layer,
        errors=r.errors,
        binaries=[
            {
                "path": b.path,
                "soname": b.soname,
                "verdict": b.verdict.value,
                "removed": len(b.removed_symbols),
                "added": len(b.added_symbols),
                "changed": len(b.changed_symbols),
            }
            for b in r.binaries
        ],
        removed_binaries=[b["path"] for b in r.removed_binaries],
        added_binaries=[b["path"] for b in r.added_binaries],
        findings=[f.to_json() for f in keep],
    )
    if pair_key is not None and options.cache_dir is not None and not r.errors:
        _atomic_write(
            options.cache_dir / "pairs" / pair_key[:2] / f"{pair_key}.json", json.dumps(entry)
        )
    return entry


@dataclass
class CompareResult:
    reference: str
    candidate: str
    packages: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)  # in reference only
    extra: list[dict[str, str]] = field(default_factory=list)  # in candidate only
    errors: list[str] = field(default_factory=list)
    cached: int = 0

    def verdict_counts(self) -> dict[str, int]:
        c = Counter(p["verdict"] for p in self.packages)
        return {k: c.get(k, 0) for k in ("identical", "compatible", "incompatible", "error")}

    def severity_counts(self) -> dict[str, int]:
        out = {s.name: 0 for s in Severity}
        for p in self.packages:
            for k, v in p.get("counts", {}).items():
                out[k] += v
        out["BAD"] += len(self.missing)
        out["INFO"] += len(self.extra)
        return out

    @property
    def exit_code(self) -> int:
        code = 0
        for p in self.packages:
            code |= p["exit_code"] & (
                EXIT_ERROR | EXIT_ABI_CHANGE | EXIT_INCOMPATIBLE | EXIT_VERIFY
            )
        if self.missing:
            code |= EXIT_ABI_CHANGE | EXIT_INCOMPATIBLE
        if self.errors:
            code |= EXIT_ERROR
        return code

    def findings(self) -> list[Finding]:
        out = []
        for m in self.missing:
            out.append(
                Finding(
                    Severity.BAD,
                    "pkg.missing-in-candidate",
                    f"{m['name']}.{m['arch']}",
                    f"{m['name']}.{m['arch']} is in the reference, not the candidate",
                    "build and publish the package",
                    "package",
                    m["file"],
                )
            )
        for m in self.extra:
            out.append(
                Finding(
                    Severity.INFO,
                    "pkg.only-in-candidate",
                    f"{m['name']}.{m['arch']}",
                    f"{m['name']}.{m['arch']} is only in the candidate",
                    "",
                    "package",
                    m["file"],
                )
            )
        for p in self.packages:
            for f in p.get("findings", []):
                out.append(
                    Finding(
                        Severity[f["severity"]],
                        f["code"],
                        f["subject"],
                        f["message"],
                        f.get("remedy", ""),
                        f.get("layer", ""),
                        f"{p['name']}.{p['arch']}:{f.get('location', '')}",
                    )
                )
            for e in p.get("errors", []):
                out.append(
                    Finding(
                        Severity.BAD,
                        "abi.error",
                        f"{p['name']}.{p['arch']}",
                        e,
                        "fix or rebuild the package",
                        "package",
                    )
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "reference": self.reference,
            "candidate": self.candidate,
            "summary": {
                "pairs": len(self.packages),
                "from_cache": self.cached,
                "missing_in_candidate": len(self.missing),
                "only_in_candidate": len(self.extra),
                "verdicts": self.verdict_counts(),
                "severities": self.severity_counts(),
            },
            "packages": self.packages,
            "missing": self.missing,
            "extra": self.extra,
            "errors": self.errors,
        }

    def to_document(self) -> ReportDocument:
        findings = self.findings()
        doc = ReportDocument(
            SCHEMA,
            f"ABI compare {self.reference} -> {self.candidate}",
            self.to_json(),
            findings=findings,
        )
        doc.summary = [
            ("pairs compared", len(self.packages)),
            ("served from cache", self.cached),
            ("missing in candidate", len(self.missing)),
            ("only in candidate", len(self.extra)),
            ("exit code", self.exit_code),
        ]
        doc.summary += [(f"verdict {k}", v) for k, v in self.verdict_counts().items()]
        doc.summary += [(f"findings {k}", v) for k, v in self.severity_counts().items() if v]
        doc.tables.append(
            Table(
                "Packages",
                ["package", "reference", "candidate", "verdict", "BAD", "VERIFY", "INFO"],
                [
                    [
                        f"{p['name']}.{p['arch']}",
                        p["reference"]["evr"],
                        p["candidate"]["evr"],
                        p["verdict"],
                        p["counts"].get("BAD", 0),
                        p["counts"].get("VERIFY", 0),
                        p["counts"].get("INFO", 0),
                    ]
                    for p in self.packages
                ],
            )
        )
        grouped: dict[str, list[Finding]] = {}
        for f in findings:
            grouped.setdefault(
                f.location.split(":", 1)[0] if ":" in f.location else f.subject, []
            ).append(f)
        for p in self.packages:
            grouped.setdefault(f"{p['name']}.{p['arch']}", [])
        doc.cases = sorted(grouped.items())
        return doc


def compare_trees(
    reference: str | Path,
    candidate: str | Path,
    options: CompareOptions | None = None,
    progress: Progress = NO_PROGRESS,
) -> CompareResult:
    """Pair the two trees' packages by name and arch and compare every pair."""
    options = options or CompareOptions()
    ref = scan_tree(reference, options.cache_dir, options.reference_key)
    cand = scan_tree(candidate, options.cache_dir, options.candidate_key)
    pairing = pair_trees(ref, cand)
    result = CompareResult(str(reference), str(candidate), errors=pairing.errors)
    result.missing = [_listed(p) for p in pairing.missing]
    result.extra = [_listed(p) for p in pairing.extra]
    _run_all(pairing.pairs, options, result, progress)
    return result


def _listed(p: TreePackage) -> dict[str, str]:
    return {"name": p.name, "arch": p.arch, "evr": p.evr, "file": str(p.path)}


@dataclass
class Pairing:
    """Two sides matched by (name, arch): the pairs to compare, and what one side lacks."""

    pairs: list[PairTask] = field(default_factory=list)
    missing: list[TreePackage] = field(default_factory=list)  # in the reference only
    extra: list[TreePackage] = field(default_factory=list)  # in the candidate only
    errors: list[str] = field(default_factory=list)


def pair_trees(ref: Tree, cand: Tree) -> Pairing:
    """Pair main packages by name and arch, each with its side's debuginfo and devel."""
    out = Pairing(errors=ref.errors + cand.errors)
    out.missing = [ref.main[k] for k in sorted(ref.main.keys() - cand.main.keys())]
    out.extra = [cand.main[k] for k in sorted(cand.main.keys() - ref.main.keys())]
    for key in sorted(ref.main.keys() & cand.main.keys()):
        a, b = ref.main[key], cand.main[key]
        try:
            sides = (
                PackageSet(a.local(), _debuginfo_for(ref, a), _devel_for(ref, a)),
                PackageSet(b.local(), _debuginfo_for(cand, b), _devel_for(cand, b)),
            )
        except ElforgeError as exc:  # a download or checksum failure: this pair only
            out.errors.append(str(exc))
            continue
        out.pairs.append(PairTask(a.name, a.arch, *sides, a.evr, b.evr))
    return out


def _run_all(
    tasks: list[PairTask], options: CompareOptions, result: CompareResult, progress: Progress
) -> None:
    progress.start("comparing packages", len(tasks))
    try:
        for entry in _run(tasks, options, result, progress):
            _note_versions(entry)
            result.packages.append(entry)
    finally:
        progress.finish()
    result.packages.sort(key=lambda p: (p["name"], p["arch"], p["reference"]["file"]))


def read_pairs_file(path: Path) -> list[tuple[PackageSet, PackageSet]]:
    """A batch of explicit pairs, one per line: ``OLD<TAB>NEW[<TAB>D1[,D1…]<TAB>D2[,D2…]]``.

    Relative paths are relative to the file's directory; ``#`` starts a comment line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", subject=path) from exc
    base = path.parent
    out = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) not in (2, 4):
            raise FormatError(f"line {lineno}: expected OLD, NEW and optionally D1, D2 "
                              "separated by tabs", subject=path)  # fmt: skip

        def files(col: str) -> list[Path]:
            return [base / f.strip() for f in col.split(",") if f.strip()]

        d1, d2 = (files(cols[2]), files(cols[3])) if len(cols) == 4 else ([], [])
        out.append((PackageSet(base / cols[0].strip(), d1), PackageSet(base / cols[1].strip(), d2)))
    return out


def compare_pairs(
    pairs: list[tuple[PackageSet, PackageSet]],
    options: CompareOptions | None = None,
    progress: Progress = NO_PROGRESS,
    *,
    label: str = "pairs",
) -> CompareResult:
    """Compare an explicit list of (reference, candidate) packages in one batch."""
    options = options or CompareOptions()
    result = CompareResult(label, label)
    tasks = []
    for old, new in pairs:
        try:
            a = _head(old.main, options.cache_dir)
            b = _head(new.main, options.cache_dir)
        except ElforgeError as exc:
            result.errors.append(str(exc))
            continue
        evr_a = f"{a[2]}:{a[3]}-{a[4]}" if a[2] else f"{a[3]}-{a[4]}"
        evr_b = f"{b[2]}:{b[3]}-{b[4]}" if b[2] else f"{b[3]}-{b[4]}"
        tasks.append(PairTask(a[0], a[1], old, new, evr_a, evr_b))
    _run_all(tasks, options, result, progress)
    return result


def _note_versions(entry: dict[str, Any]) -> None:
    a, b = entry["reference"]["evr"], entry["candidate"]["evr"]
    va, _, ra = a.rpartition("-")
    vb, _, rb = b.rpartition("-")
    # dist tags and vendor suffixes (".el9_4.alma.1") do not make a version difference
    entry["version_differs"] = va != vb or normalize_release(ra) != normalize_release(rb)


def _run(
    tasks: list[PairTask], options: CompareOptions, result: CompareResult, progress: Progress
) -> Iterator[dict[str, Any]]:
    sha = _ShaMemo(options.cache_dir)
    opt_key = _options_key(options.diff)
    pending: list[tuple[PairTask, str | None]] = []
    for t in tasks:
        key = None
        if options.cache_dir is not None:
            parts = [sha(t.old.main), sha(t.new.main)]
            parts += [
                sha(p) for p in (*t.old.debuginfo, *t.old.devel, *t.new.debuginfo, *t.new.devel)
            ]
            key = hashlib.sha256(("\0".join([opt_key, *parts])).encode()).hexdigest()
            hit = options.cache_dir / "pairs" / key[:2] / f"{key}.json"
            with contextlib.suppress(OSError, ValueError):
                entry = json.loads(hit.read_text(encoding="utf-8"))
                entry["reference"]["file"] = str(t.old.main)
                entry["candidate"]["file"] = str(t.new.main)
                result.cached += 1
                progress.advance(note=t.name)
                yield entry
                continue
        pending.append((t, key))
    if not pending:
        return
    if options.jobs <= 1 or len(pending) == 1:
        for t, key in pending:
            yield _compare_pair(t, options, key)
            progress.advance(note=t.name)
        return
    # bounded window: never more than 2 x jobs pairs submitted, results streamed as they come
    window = options.jobs * 2
    it = iter(pending)
    with ProcessPoolExecutor(max_workers=options.jobs) as pool:
        running: dict[Future[dict[str, Any]], PairTask] = {}
        for t, key in it:
            running[pool.submit(_compare_pair, t, options, key)] = t
            if len(running) >= window:
                break
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                t = running.pop(fut)
                try:
                    yield fut.result()
                except Exception as exc:  # a worker crash is recorded for that pair only
                    yield {
                        "name": t.name,
                        "arch": t.arch,
                        "verdict": "error",
                        "exit_code": EXIT_ERROR,
                        "counts": {},
                        "binaries": [],
                        "findings": [],
                        "errors": [f"{type(exc).__name__}: {exc}"],
                        "reference": {"file": str(t.old.main), "evr": t.old_evr},
                        "candidate": {"file": str(t.new.main), "evr": t.new_evr},
                    }
                progress.advance(note=t.name)
                nxt = next(it, None)
                if nxt is not None:
                    running[pool.submit(_compare_pair, nxt[0], options, nxt[1])] = nxt[0]
