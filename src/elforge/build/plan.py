"""Plan a release's build order from its BuildRequires.

Every package's BuildRequires (read from its spec by :mod:`elforge.build.specdeps` with the
builder's macros) is resolved with libsolv against three repositories in one pool:

- ``release``: the binary packages the release itself will produce, with their Provides
  (implicit ``name = EVR`` and ``name(arch)`` included, as librpm reports them);
- the external buildroot repositories (``[build] buildroot_repos``), read with the verified
  repodata reader;
- ``host``: names the rpmbuild host provides without an rpmdb (``[build] host_provides``).

A requirement met by another package of the release is an edge to it (the release's own
output wins over an external copy: that is the point of a rebuild). Provides made at build
time (sonames, ``pkgconfig(…)``) are not in the spec: when an external repository's binary
package provides one and the release builds a binary package of that name, the edge goes to
the release's source package. Tarjan's components of
the edges are the cycles; a bootstrap entry (``[build] bootstrap = ["a", "b"]``) breaks one:
``a`` is read ``--with bootstrap`` and resolved against the external repositories only,
``b`` may use ``a``, and so on. What is left is layered into waves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import solv

from elforge.build.graph import strongly_connected, waves
from elforge.build.specdeps import SpecDeps, SpecDepsCache, SpecQuery, read_spec_deps
from elforge.errors import ElforgeError
from elforge.repo.pool import LoadedPool, finish_pool, load_pool
from elforge.report.model import Finding, ReportDocument, Severity, Table

PLAN_SCHEMA = "elforge.plan/1"
BOOTSTRAP_MACRO = ("_with_bootstrap", "1")  # what rpmbuild --with bootstrap defines

# What a Debian host running rpmbuild brings itself (no rpmdb to ask): the toolchain and the
# basic tools a spec's %build uses. Names as Fedora/EL packages spell them.
DEFAULT_HOST_PROVIDES = (
    "bash",
    "binutils",
    "coreutils",
    "diffutils",
    "findutils",
    "gawk",
    "gcc",
    "gcc-c++",
    "glibc",
    "glibc-devel",
    "grep",
    "gzip",
    "make",
    "patch",
    "rpm-build",
    "sed",
    "tar",
    "xz",
)

_OPS = {
    "<": solv.REL_LT,
    "<=": solv.REL_LT | solv.REL_EQ,
    "=": solv.REL_EQ,
    "==": solv.REL_EQ,
    ">=": solv.REL_GT | solv.REL_EQ,
    ">": solv.REL_GT,
}


@dataclass(frozen=True)
class PlanPackage:
    """One source package to plan: its name, spec and source folder."""

    name: str
    spec: Path
    sourcedir: Path


@dataclass(frozen=True)
class PlanSettings:
    macros: tuple[tuple[str, str], ...] = ()
    arch: str = "x86_64"
    buildroot_repos: tuple[str, ...] = ()
    host_provides: tuple[str, ...] = DEFAULT_HOST_PROVIDES
    bootstrap: tuple[str, ...] = ()
    cache: Path | None = None
    repo_cache: Path | None = None
    jobs: int = 2


@dataclass(frozen=True)
class Unresolved:
    package: str
    requirement: str


@dataclass(frozen=True)
class PlanError:
    subject: str  # the package, or the repository for a buildroot repository
    error: str
    repository: bool = False


@dataclass(frozen=True)
class Bootstrapped:
    cycle: tuple[str, ...]
    order: tuple[str, ...]


@dataclass(frozen=True)
class BuildPlan:
    waves: tuple[tuple[str, ...], ...]
    cycles: tuple[tuple[str, ...], ...]
    unresolved: tuple[Unresolved, ...]
    blocked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bootstrapped: tuple[Bootstrapped, ...] = ()
    errors: tuple[PlanError, ...] = ()
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bootstrap_mode: frozenset[str] = frozenset()
    parsed: int = 0

    def wave_of(self) -> dict[str, int]:
        return {name: i for i, wave in enumerate(self.waves) for name in wave}

    def not_buildable(self) -> dict[str, str]:
        """Package -> why it is not built: the cycle, the requirement or what it waits for."""
        why: dict[str, str] = {}
        # an unresolved requirement may be the fault of a repository that could not be read
        broken = "".join(f"; {e.error}" for e in self.errors if e.repository)
        for cycle in self.cycles:
            for name in cycle:
                why[name] = f"BuildRequires cycle: {' <-> '.join(cycle)} (no bootstrap entry)"
        for item in self.unresolved:
            why.setdefault(
                item.package, f"nothing provides BuildRequires {item.requirement}{broken}"
            )
        for name, waiting in self.blocked.items():
            why.setdefault(name, f"waits for {', '.join(waiting)}, which cannot be built")
        for err in self.errors:
            if not err.repository:
                why.setdefault(err.subject, err.error)
        return why

    def to_document(self) -> dict[str, Any]:
        return {
            "schema": PLAN_SCHEMA,
            "waves": [list(w) for w in self.waves],
            "cycles": [list(c) for c in self.cycles],
            "unresolved": [
                {"package": u.package, "requirement": u.requirement} for u in self.unresolved
            ],
            "blocked": [{"package": p, "waits_for": list(w)} for p, w in self.blocked.items()],
            "bootstrap": [
                {"cycle": list(b.cycle), "order": list(b.order)} for b in self.bootstrapped
            ],
            "errors": [{"subject": e.subject, "error": e.error} for e in self.errors],
        }


def parse_dep(pool: solv.Pool, text: str) -> Any:
    """A libsolv dependency id for an rpm dependency string (plain or rich)."""
    if text.startswith("("):
        return pool.parserpmrichdep(text)
    parts = text.split()
    if len(parts) == 3 and parts[1] in _OPS:
        return pool.Dep(parts[0]).Rel(_OPS[parts[1]], pool.Dep(parts[2]))
    if len(parts) == 1:
        return pool.Dep(parts[0])
    return None


def _add_provides(pool: solv.Pool, solvable: Any, provides: Iterable[str]) -> None:
    for text in provides:
        dep = parse_dep(pool, text)
        if dep is not None:
            solvable.add_deparray(solv.SOLVABLE_PROVIDES, dep)


def add_host_repo(pool: solv.Pool, names: Sequence[str]) -> None:
    """A ``host`` repository whose solvables provide ``names`` unversioned (which meets any
    versioned requirement on them, as in rpm)."""
    host = pool.add_repo("host")
    for name in names:
        s = host.add_solvable()
        s.name, s.evr, s.arch = name, "0-0", "noarch"
        s.add_deparray(solv.SOLVABLE_PROVIDES, pool.Dep(name))
    host.internalize()


def load_available(
    repos: Sequence[str], *, arch: str, cache_dir: Path | None
) -> tuple[LoadedPool, list[tuple[str, str]]]:
    """A pool of the repositories that load, and (repository, error) for each that does not
    (unreachable, bad checksum, not a repository): one broken repository is not fatal."""
    try:
        return load_pool(list(repos), arch=arch, cache_dir=cache_dir), []
    except ElforgeError:
        pass  # find which one (the slow path runs only when one is broken)
    good: list[str] = []
    broken: list[tuple[str, str]] = []
    for repo in repos:
        try:
            load_pool([repo], arch=arch, cache_dir=cache_dir)
        except ElforgeError as exc:
            broken.append((str(repo), str(exc)))
            continue
        good.append(repo)
    return load_pool(good, arch=arch, cache_dir=cache_dir), broken


class Resolver:
    """One libsolv pool: the release's future binaries, external repos and host provides."""

    def __init__(self, settings: PlanSettings, specs: Mapping[str, SpecDeps]) -> None:
        loaded, broken = load_available(
            settings.buildroot_repos, arch=settings.arch, cache_dir=settings.repo_cache
        )
        self.errors = [
            PlanError(r, f"buildroot repository unusable: {e}", repository=True) for r, e in broken
        ]
        self.pool: solv.Pool = loaded.pool
        self.source_of: dict[int, str] = {}
        # binary package name -> the release's source package that will build it
        self.builds_binary: dict[str, str] = {}
        release = self.pool.add_repo("release")
        for name in sorted(specs):
            for binary in specs[name].binaries:
                s = release.add_solvable()
                s.name, s.evr, s.arch = binary.name, binary.evr, binary.arch
                _add_provides(self.pool, s, binary.provides)
                self.source_of[s.id] = name
                self.builds_binary[binary.name] = name
        release.internalize()
        add_host_repo(self.pool, settings.host_provides)
        finish_pool(loaded)
        self._memo: dict[str, tuple[frozenset[str], bool] | None] = {}

    def providers(self, requirement: str) -> tuple[frozenset[str], bool] | None:
        """(release source packages providing it, whether an external/host repo does), or
        None when the requirement does not parse."""
        if requirement in self._memo:
            return self._memo[requirement]
        dep = parse_dep(self.pool, requirement)
        result: tuple[frozenset[str], bool] | None = None
        if dep is not None:
            found = self.pool.whatprovides(dep)
            sources = {self.source_of[s.id] for s in found if s.id in self.source_of}
            # a Provides made at build time (a soname, pkgconfig(…)) is known from an external
            # repository's copy of a binary package that the release builds too: that
            # package's source is the provider the release will have
            sources |= {self.builds_binary[s.name] for s in found if s.name in self.builds_binary}
            result = (frozenset(sources), any(s.id not in self.source_of for s in found))
        self._memo[requirement] = result
        return result

    def resolve(
        self, deps: SpecDeps, excluded: frozenset[str] = frozenset()
    ) -> tuple[set[str], list[Unresolved]]:
        """The release packages ``deps`` builds against, and what nothing provides."""
        needs: set[str] = set()
        unresolved: list[Unresolved] = []
        me = deps.package
        for requirement in deps.buildrequires:
            found = self.providers(requirement)
            if found is None:
                unresolved.append(Unresolved(me, requirement))
                continue
            sources, external = found
            others = sorted(sources - excluded - {me})
            if others:
                needs.add(others[0])
            elif external:
                continue
            elif me in sources and me not in excluded:
                needs.add(me)  # only its own output provides it: a cycle of one
            else:
                unresolved.append(Unresolved(me, requirement))
        return needs, unresolved


def _queries(
    packages: Sequence[PlanPackage], macros: tuple[tuple[str, str], ...]
) -> list[SpecQuery]:
    return [SpecQuery(p.name, p.spec, p.sourcedir, macros) for p in packages]


def _bootstrap_exclusions(
    order: Sequence[str], cycles: Sequence[list[str]]
) -> dict[str, frozenset[str]]:
    """For each bootstrap entry, the packages of its cycle it may not use: all but the
    entries listed before it (the first is built against the external repos only)."""
    out: dict[str, frozenset[str]] = {}
    for i, name in enumerate(order):
        cycle = next((set(c) for c in cycles if name in c), {name})
        out[name] = frozenset(cycle - set(order[:i]))
    return out


def make_plan(packages: Sequence[PlanPackage], settings: PlanSettings) -> BuildPlan:
    """Read every spec, resolve every BuildRequires, and order the release into waves."""
    cache = SpecDepsCache(settings.cache)
    normal = read_spec_deps(_queries(packages, settings.macros), cache, jobs=settings.jobs)
    boot_pkgs = [p for p in packages if p.name in settings.bootstrap]
    boot = read_spec_deps(
        _queries(boot_pkgs, (*settings.macros, BOOTSTRAP_MACRO)), cache, jobs=settings.jobs
    )
    resolver = Resolver(settings, normal.deps)
    errors = [PlanError(n, e) for n, e in sorted({**normal.errors, **boot.errors}.items())]
    errors += resolver.errors
    graph: dict[str, set[str]] = {}
    unresolved: dict[str, list[Unresolved]] = {}
    for name, deps in normal.deps.items():
        graph[name], unresolved[name] = resolver.resolve(deps)
    first_cycles = strongly_connected(graph)
    order = [n for n in settings.bootstrap if n in boot.deps]
    for name, excluded in _bootstrap_exclusions(order, first_cycles).items():
        graph[name], unresolved[name] = resolver.resolve(boot.deps[name], excluded)
    cycles = strongly_connected(graph)
    broken = [
        Bootstrapped(tuple(c), tuple(n for n in order if n in c))
        for c in first_cycles
        if c not in cycles and any(n in c for n in order)
    ]
    missing = [u for name in sorted(unresolved) for u in unresolved[name]]
    out_of_order = {n for c in cycles for n in c} | {u.package for u in missing}
    buildable = {n: needs for n, needs in graph.items() if n not in out_of_order}
    layers, blocked = waves(buildable)
    return BuildPlan(
        waves=tuple(tuple(w) for w in layers),
        cycles=tuple(tuple(c) for c in cycles),
        unresolved=tuple(missing),
        blocked={n: tuple(w) for n, w in blocked.items()},
        bootstrapped=tuple(broken),
        errors=tuple(errors),
        needs={n: tuple(sorted(graph[n])) for n in sorted(graph)},
        bootstrap_mode=frozenset(order),
        parsed=normal.parsed + boot.parsed,
    )


def plan_report(plan: BuildPlan) -> ReportDocument:
    """The plan as a report: JSON is ``to_document()``; text shows waves and problems."""
    findings = [
        Finding(Severity.BAD, "plan.cycle", " ".join(c), "BuildRequires cycle",
                remedy="break it with [build] bootstrap = [...]", layer="plan")
        for c in plan.cycles
    ]  # fmt: skip
    findings += [
        Finding(Severity.BAD, "plan.unresolved", u.package,
                f"nothing provides BuildRequires {u.requirement}", layer="plan")
        for u in plan.unresolved
    ]  # fmt: skip
    findings += [Finding(Severity.BAD, "plan.error", e.subject, e.error) for e in plan.errors]
    rows: list[list[Any]] = [[i + 1, len(w), " ".join(w)] for i, w in enumerate(plan.waves)]
    problems: list[list[Any]] = [[c, " ".join(c_)] for c_ in plan.cycles for c in ["cycle"]]
    problems += [["unresolved", f"{u.package}: {u.requirement}"] for u in plan.unresolved]
    problems += [["blocked", f"{p}: waits for {', '.join(w)}"] for p, w in plan.blocked.items()]
    problems += [["error", f"{e.subject}: {e.error}"] for e in plan.errors]
    problems += [
        ["bootstrap", f"cycle {' <-> '.join(b.cycle)} broken: {b.order[0]} first --with "
         f"bootstrap against the external repositories, then {', '.join(b.order[1:]) or '-'}"]
        for b in plan.bootstrapped
    ]  # fmt: skip
    return ReportDocument(
        schema=PLAN_SCHEMA,
        title="Build plan",
        data=plan.to_document(),
        findings=findings,
        summary=[
            ("waves", len(plan.waves)),
            ("packages in waves", sum(len(w) for w in plan.waves)),
            ("cycles", len(plan.cycles)),
            ("unresolved", len(plan.unresolved)),
        ],
        tables=[
            Table("Waves", ["wave", "packages", "names"], rows),
            Table("Problems", ["kind", "detail"], problems),
        ],
    )
