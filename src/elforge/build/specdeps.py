"""What a source package needs to build and what it will produce, read from its spec.

librpm's own spec parser (``rpm.spec``, the parser behind ``rpmspec`` and ``rpmbuild``)
evaluates the spec with the builder's macros (dist tag, ``--with bootstrap``…), so
conditionals and macros expand exactly as the build will expand them. It runs in worker
processes (``python -m elforge.build.specdeps``, JSON in, one JSON line out per spec) under
bubblewrap when it is installed: a spec's ``%(…)`` runs a shell at parse time, so the
parser sees the system read-only, no network; the parser keeps global macro state; and a
spec that crashes librpm or kills its parser costs that spec, not the planner. When a spec
does not parse, ``rpmspec`` is run on it (in the same sandbox) to get the tool's own error
line.

Results are cached by the spec's content and the macros (``SpecDepsCache``): the parse is
the expensive part of planning, a rerun on unchanged specs reads the cache only.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from elforge.build.sandbox import have_bwrap, sandboxed
from elforge.errors import FormatError
from elforge.proc import run_command

_MAX_SPEC_BYTES = 4 << 20  # a spec larger than this is refused, not parsed
_MAX_ERROR = 300
CACHE_VERSION = "specdeps/1"


class SpecDepsError(FormatError):
    """A spec whose dependencies cannot be read (does not parse, a macro does not expand)."""


@dataclass(frozen=True)
class BinaryPackage:
    """One binary package a spec produces, with every Provides (implicit ones included)."""

    name: str
    evr: str
    arch: str
    provides: tuple[str, ...]


@dataclass(frozen=True)
class SpecDeps:
    """A source package's BuildRequires and the binary packages it will produce."""

    package: str
    buildrequires: tuple[str, ...]
    binaries: tuple[BinaryPackage, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "package": self.package,
            "buildrequires": list(self.buildrequires),
            "binaries": [
                {"name": b.name, "evr": b.evr, "arch": b.arch, "provides": list(b.provides)}
                for b in self.binaries
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> SpecDeps:
        binaries = tuple(
            BinaryPackage(b["name"], b["evr"], b["arch"], tuple(b["provides"]))
            for b in data["binaries"]  # type: ignore[attr-defined]
        )
        return cls(str(data["package"]), tuple(data["buildrequires"]), binaries)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SpecQuery:
    """One spec to read: the package name, the spec, its source folder and the macros."""

    package: str
    spec: Path
    sourcedir: Path
    macros: tuple[tuple[str, str], ...]

    def cache_key(self, content: bytes) -> str:
        digest = hashlib.sha256(content)
        digest.update(json.dumps([CACHE_VERSION, self.package, self.macros]).encode())
        return digest.hexdigest()


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def rpmspec_error(query: SpecQuery) -> str:
    """The first error line ``rpmspec`` prints for a spec librpm could not parse."""
    argv = ["rpmspec", "-q", "--srpm", "--qf", "%{NAME}\n"]
    for key, value in (*query.macros, ("_sourcedir", str(query.sourcedir))):
        argv += ["--define", f"{key} {value}"]
    try:
        proc = run_command([*argv, str(query.spec)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"rpmspec did not run: {exc}"
    lines = [ln for ln in proc.stderr.splitlines() if "error" in ln.lower()] or [proc.stderr]
    return _short(lines[0]) or f"rpmspec exited {proc.returncode}"


def _check_expanded(query: SpecQuery, deps: Iterable[str], kind: str) -> None:
    for dep in deps:
        if "%" in dep:
            raise SpecDepsError(
                f"{kind} {_short(dep)!r} has a macro that does not expand", subject=query.spec
            )


def parse_spec(query: SpecQuery) -> SpecDeps:
    """Parse one spec with librpm (call in a worker process: it resets rpm's macros)."""
    import rpm

    rpm.reloadConfig()
    for key, value in (*query.macros, ("_sourcedir", str(query.sourcedir))):
        rpm.addMacro(key, value)
    try:
        spec = rpm.spec(str(query.spec))
    except ValueError:
        raise SpecDepsError(rpmspec_error(query), subject=query.spec) from None
    buildrequires = tuple(str(d) for d in spec.sourceHeader[rpm.RPMTAG_REQUIRENEVRS])
    _check_expanded(query, buildrequires, "BuildRequires")
    binaries = []
    for pkg in spec.packages:
        h = pkg.header
        provides = tuple(str(p) for p in h[rpm.RPMTAG_PROVIDENEVRS])
        _check_expanded(query, provides, "Provides")
        epoch = h[rpm.RPMTAG_EPOCH]
        evr = f"{epoch}:" if epoch is not None else ""
        evr += f"{h[rpm.RPMTAG_VERSION]}-{h[rpm.RPMTAG_RELEASE]}"
        binaries.append(
            BinaryPackage(str(h[rpm.RPMTAG_NAME]), evr, str(h[rpm.RPMTAG_ARCH]), provides)
        )
    return SpecDeps(query.package, buildrequires, tuple(binaries))


def _parse_lines(queries: Sequence[SpecQuery], out: TextIO) -> None:
    """Worker side: one JSON line per query, flushed, so a crash names its spec."""
    for query in queries:
        line: dict[str, object]
        try:
            line = {"ok": parse_spec(query).to_json()}
        except SpecDepsError as exc:
            line = {"error": str(exc)}
        out.write(json.dumps(line) + "\n")
        out.flush()


def _query_json(query: SpecQuery) -> dict[str, object]:
    return {
        "package": query.package,
        "spec": str(query.spec),
        "sourcedir": str(query.sourcedir),
        "macros": [list(m) for m in query.macros],
    }


def _worker_argv() -> list[str]:
    argv = [sys.executable, "-m", "elforge.build.specdeps"]
    # specs may sit anywhere (under /tmp too): everything read-only, nothing writable
    return sandboxed(argv, private_tmp=False) if have_bwrap() else argv


def _run_worker(queries: list[SpecQuery]) -> list[SpecDeps | str]:
    """Parse ``queries`` in worker processes (sandboxed when bubblewrap is there): a worker
    that dies (a spec that crashes librpm or kills its parser) costs that spec only."""
    results: list[SpecDeps | str] = []
    while len(results) < len(queries):
        todo = queries[len(results) :]
        payload = json.dumps([_query_json(q) for q in todo])
        proc = run_command(_worker_argv(), input=payload, capture_output=True, text=True)
        for line in proc.stdout.splitlines()[: len(todo)]:
            data = json.loads(line)
            ok = data.get("ok")
            results.append(SpecDeps.from_json(ok) if ok is not None else str(data["error"]))
        if len(results) < len(queries) and proc.returncode != 0:
            crashed = queries[len(results)]
            results.append(f"{crashed.spec}: the spec parser died (exit {proc.returncode})")
    return results


def _parse_all(todo: list[SpecQuery], jobs: int) -> list[SpecDeps | str]:
    jobs = 1 if len(todo) <= 4 else max(1, jobs)
    size = -(-len(todo) // jobs)
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # the work is in the subprocesses
        parts = list(pool.map(_run_worker, chunks))
    return [result for part in parts for result in part]


class SpecDepsCache:
    """A JSON file of parsed specs keyed by spec content and macros."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, object]] = {}
        self.dirty = False
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_bytes())
            except (OSError, ValueError):
                data = {}  # a damaged cache is rebuilt, never trusted
            if isinstance(data, dict) and data.get("version") == CACHE_VERSION:
                self.entries = data.get("entries", {})

    def get(self, key: str) -> SpecDeps | None:
        entry = self.entries.get(key)
        try:
            return SpecDeps.from_json(entry) if entry is not None else None
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, key: str, deps: SpecDeps) -> None:
        self.entries[key] = deps.to_json()
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": CACHE_VERSION, "entries": self.entries}))
        os.replace(tmp, self.path)
        self.dirty = False  # make_plan saves after each read; write only what is new


@dataclass(frozen=True)
class SpecReadResult:
    deps: dict[str, SpecDeps]
    errors: dict[str, str]  # package -> one-line error
    parsed: int  # how many specs were parsed (not served from the cache)


def _read_content(query: SpecQuery) -> bytes:
    try:
        if query.spec.stat().st_size > _MAX_SPEC_BYTES:
            raise SpecDepsError(f"larger than {_MAX_SPEC_BYTES} bytes", subject=query.spec)
        return query.spec.read_bytes()
    except OSError as exc:
        raise SpecDepsError(f"cannot read: {exc.strerror}", subject=query.spec) from None


def read_spec_deps(
    queries: Sequence[SpecQuery], cache: SpecDepsCache, *, jobs: int = 2
) -> SpecReadResult:
    """Every query's SpecDeps (cached or parsed in worker processes) or its error."""
    deps: dict[str, SpecDeps] = {}
    errors: dict[str, str] = {}
    todo: list[tuple[SpecQuery, str]] = []
    for query in queries:
        try:
            key = query.cache_key(_read_content(query))
        except SpecDepsError as exc:
            errors[query.package] = str(exc)
            continue
        cached = cache.get(key)
        if cached is not None:
            deps[query.package] = cached
        else:
            todo.append((query, key))
    if todo:
        parsed = _parse_all([q for q, _ in todo], jobs)
        for (query, key), result in zip(todo, parsed, strict=True):
            if isinstance(result, str):
                errors[query.package] = result
            else:
                deps[query.package] = result
                cache.put(key, result)
    cache.save()
    return SpecReadResult(deps, errors, len(todo))


def _worker_main() -> None:  # pragma: no cover - runs in the worker process
    # librpm prints its parse errors on stderr; the planner reports them itself, once
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    queries = [
        SpecQuery(q["package"], Path(q["spec"]), Path(q["sourcedir"]),
                  tuple((k, v) for k, v in q["macros"]))
        for q in json.load(sys.stdin)
    ]  # fmt: skip
    _parse_lines(queries, sys.stdout)


if __name__ == "__main__":
    _worker_main()
