"""Dependency closure of repositories with libsolv: which packages cannot be installed, and why.

Semantics are dnf's (the differential tests use dnf's own solver as the oracle): every
installable package of the checked repositories (not of the ``extra`` ones, which only
satisfy dependencies) is installed alone into an empty system, one job per package as
``dnf install NEVRA`` gives it to libsolv, with libdnf's solver flags (keep orphans, best
obeys policy, yum-style obsoletes), installonly packages (kernel...) multiversion, and the
pool's multilib lock-step rule (see :mod:`elforge.repo.pool`). Recommends are ignored: a weak
dependency never makes an install fail. A successful transaction proves all its packages
installable, so they are not solved again. Every package gets a fresh solver: a reused
libsolv solver keeps the package rules of its earlier solves, its rule set grows towards the
whole pool, and a distribution takes ten times longer.

For a broken package the explanation names its own unresolvable requirement and the root
cause: the package deepest in the chain whose requirement nothing provides (or the conflict
that makes the chain impossible), not only the transitive fallout. Root causes are grouped by
the missing capability: 1,400 packages that need an absent ``/bin/sh`` make one group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import solv

from elforge.progress import NO_PROGRESS, Progress
from elforge.repo.pool import (
    LoadedPool,
    RepoSpec,
    apply_modular_filtering,
    finish_pool,
    load_pool,
    solvable_label,
)
from elforge.report.model import Finding, ReportDocument, Severity, Table

SCHEMA = "elforge.repo-closure/2"


@dataclass(frozen=True)
class ClosureProblem:
    package: str  # NEVRA of the uninstallable package
    requirement: str  # its own requirement that cannot be met ("" when not a requirement)
    reason: str  # the root cause, the way dnf words it
    kind: str  # nothing-provides, conflicts, obsoletes, same-name, not-installable, other
    root_package: str | None = None  # package whose requirement is the root cause
    root_requirement: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "requirement": self.requirement,
            "reason": self.reason,
            "kind": self.kind,
            "root_package": self.root_package,
            "root_requirement": self.root_requirement,
        }


@dataclass
class ClosureResult:
    repos: list[str]
    extra: list[str]
    arch: str
    modules: bool
    checked: int = 0
    uninstallable: list[str] = field(default_factory=list)
    problems: list[ClosureProblem] = field(default_factory=list)
    filtered: list[str] = field(default_factory=list)  # hidden by modular filtering
    active_streams: list[str] = field(default_factory=list)
    filelists_loaded: list[str] = field(default_factory=list)  # read for file requirements
    filelists_errors: list[str] = field(default_factory=list)  # needed but unreadable

    @property
    def closed(self) -> bool:
        return not self.uninstallable

    def root_causes(self) -> list[dict[str, Any]]:
        """Distinct root causes (a missing capability, a conflict...), each with the packages
        whose own requirement it is and the packages it breaks, largest first."""
        groups: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
        for p in self.problems:
            if p.kind == "nothing-provides" and p.root_requirement:
                cause = f"nothing provides {p.root_requirement}"
            else:
                cause = p.reason
            needed_by, affected = groups[cause]
            needed_by.add(p.root_package or p.package)
            affected.add(p.package)
        out = [
            {"cause": cause, "needed_by": sorted(needed_by), "affects": sorted(affected)}
            for cause, (needed_by, affected) in groups.items()
        ]
        out.sort(key=lambda g: (-len(g["affects"]), g["cause"]))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "repos": self.repos,
            "extra": self.extra,
            "arch": self.arch,
            "modular_filtering": self.modules,
            "active_streams": self.active_streams,
            "closed": self.closed,
            "checked": self.checked,
            "uninstallable": self.uninstallable,
            "problems": [p.to_json() for p in self.problems],
            "root_causes": self.root_causes(),
            "filtered": self.filtered,
            "filelists_loaded": self.filelists_loaded,
            "filelists_errors": self.filelists_errors,
        }

    def to_document(self) -> ReportDocument:
        findings = [
            Finding(
                Severity.BAD,
                f"closure.{p.kind}",
                p.package,
                f"{p.requirement or 'cannot be installed'}: {p.reason}",
                remedy="ship the missing provider, add the repository that has it with "
                "--extra, or fix the requirement",
                layer="closure",
            )
            for p in self.problems
        ]
        findings += filelists_findings(self.filelists_errors, "closure.filelists-unreadable")
        table = Table(
            "Root causes",
            ["cause", "needed by", "breaks"],
            [[g["cause"], _few(g["needed_by"]), len(g["affects"])] for g in self.root_causes()],
        )
        return ReportDocument(
            schema=SCHEMA,
            title="Repository closure",
            data=self.to_json(),
            findings=findings,
            summary=[
                ("repositories", ", ".join(self.repos)),
                ("extra", ", ".join(self.extra) or "-"),
                ("architecture", self.arch),
                ("modular filtering", "on" if self.modules else "off"),
                ("packages checked", self.checked),
                ("hidden by modular filtering", len(self.filtered)),
                ("filelists read", ", ".join(self.filelists_loaded) or "-"),
                ("uninstallable", len(self.uninstallable)),
                ("closed", "yes" if self.closed else "no"),
            ],
            tables=[table] if self.problems else [],
        )


def filelists_findings(errors: Sequence[str], code: str) -> list[Finding]:
    """One BAD finding per filelists that a file requirement needed but could not be read."""
    return [
        Finding(
            Severity.BAD,
            code,
            error.split(": ", 1)[0],
            error.split(": ", 1)[-1],
            remedy="file requirements were checked against primary.xml's files only; "
            "repair the repository's filelists",
            layer="closure",
        )
        for error in errors
    ]


def _few(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _explain(
    pool: solv.Pool, solver: solv.Solver, problems: list[Any], p: solv.XSolvable
) -> ClosureProblem:
    """One problem record: the package's own failing requirement and the root cause."""
    own_req = ""
    nothing: list[tuple[solv.XSolvable, str]] = []
    conflicts: list[tuple[str, str, str | None]] = []  # kind, text, root package
    fallback = ""
    for problem in problems:
        for rule in problem.findallproblemrules():
            for info in rule.allinfos():
                t = info.type
                src = info.solvable
                if t == solv.Solver.SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP:
                    dep = info.dep.str() if info.dep is not None else ""
                    nothing.append((src, dep))
                    if src is not None and src.id == p.id and not own_req:
                        own_req = dep
                elif t == solv.Solver.SOLVER_RULE_PKG_REQUIRES:
                    if src is not None and src.id == p.id and not own_req and info.dep:
                        own_req = info.dep.str()
                elif t in (
                    solv.Solver.SOLVER_RULE_PKG_CONFLICTS,
                    solv.Solver.SOLVER_RULE_PKG_SELF_CONFLICT,
                ):
                    conflicts.append(
                        (
                            "conflicts",
                            info.problemstr(),
                            str(solvable_label(src)) if src is not None else None,
                        )
                    )
                elif t in (
                    solv.Solver.SOLVER_RULE_PKG_OBSOLETES,
                    solv.Solver.SOLVER_RULE_PKG_IMPLICIT_OBSOLETES,
                    solv.Solver.SOLVER_RULE_PKG_INSTALLED_OBSOLETES,
                ):
                    conflicts.append(
                        (
                            "obsoletes",
                            info.problemstr(),
                            str(solvable_label(src)) if src is not None else None,
                        )
                    )
                elif t == solv.Solver.SOLVER_RULE_PKG_SAME_NAME:
                    conflicts.append(("same-name", info.problemstr(), None))
                elif t == solv.Solver.SOLVER_RULE_PKG_NOT_INSTALLABLE:
                    conflicts.append(
                        (
                            "not-installable",
                            info.problemstr(),
                            str(solvable_label(src)) if src is not None else None,
                        )
                    )
                elif not fallback and t not in (
                    solv.Solver.SOLVER_RULE_JOB,
                    solv.Solver.SOLVER_RULE_PKG,
                ):
                    fallback = info.problemstr()
    label = str(solvable_label(p))
    if nothing:
        # prefer the package's own missing requirement; else the first root in the chain
        own = [(s, d) for s, d in nothing if s is not None and s.id == p.id]
        src, dep = (own or nothing)[0]
        root = str(solvable_label(src)) if src is not None else label
        return ClosureProblem(
            label,
            own_req or dep,
            f"nothing provides {dep} needed by {root}",
            "nothing-provides",
            root,
            dep,
        )
    if conflicts:
        kind, text, root_pkg = conflicts[0]
        return ClosureProblem(label, own_req, text, kind, root_pkg, None)
    return ClosureProblem(
        label, own_req, fallback or "the solver found no way to install it", "other"
    )


# libdnf's solver flags (its init_solver), plus recommends off: they never decide installability
DNF_SOLVER_FLAGS = (
    solv.Solver.SOLVER_FLAG_KEEP_ORPHANS,
    solv.Solver.SOLVER_FLAG_BEST_OBEY_POLICY,
    solv.Solver.SOLVER_FLAG_YUM_OBSOLETES,
    solv.Solver.SOLVER_FLAG_IGNORE_RECOMMENDED,
)
# dnf.conf's default installonlypkgs: several versions may be installed side by side
INSTALLONLY = (
    "kernel",
    "kernel-PAE",
    "installonlypkg(kernel)",
    "installonlypkg(kernel-module)",
    "installonlypkg(vm)",
    "multiversion(kernel)",
)


def dnf_solver(pool: solv.Pool) -> solv.Solver:
    solver = pool.Solver()
    for flag in DNF_SOLVER_FLAGS:
        solver.set_flag(flag, 1)
    return solver


def installonly_jobs(pool: solv.Pool) -> list[solv.Job]:
    """The multiversion jobs dnf adds to every goal."""
    jobs = []
    for name in INSTALLONLY:
        dep = pool.str2id(name, False)
        if dep:
            jobs.append(
                pool.Job(solv.Job.SOLVER_MULTIVERSION | solv.Job.SOLVER_SOLVABLE_PROVIDES, dep)
            )
    return jobs


class _Requirements:
    """Plain requirements of packages and their providers (rich ones are the solver's:
    ``(a if b)`` holds without a provider of ``a``)."""

    def __init__(self, pool: solv.Pool) -> None:
        self.pool = pool
        self._providers: dict[int, list[int] | None] = {}

    def of(self, s: solv.XSolvable) -> Iterator[tuple[int, list[int]]]:
        """(dependency id, provider ids) of every plain requirement, prerequisites too."""
        for dep in s.lookup_idarray(solv.SOLVABLE_REQUIRES, 0):
            if dep == solv.SOLVABLE_PREREQMARKER:
                continue
            if dep not in self._providers:
                rich = self.pool.dep2str(dep).startswith("(")
                self._providers[dep] = None if rich else [x.id for x in self.pool.whatprovides(dep)]
            ids = self._providers[dep]
            if ids is not None:
                yield dep, ids


def _decided_without_solving(
    pool: solv.Pool, candidates: Sequence[solv.XSolvable]
) -> dict[int, ClosureProblem]:
    """Candidates that are uninstallable by their requirements alone, explained as the solver
    would: a plain requirement nothing provides ("nothing provides R needed by P"), or one
    whose providers are all such packages (a transaction with P would hold one of them, and
    none can be installed even alone). The rest are left to the solver."""
    reqs = _Requirements(pool)
    out: dict[int, ClosureProblem] = {}
    waiting: dict[int, list[tuple[solv.XSolvable, int, list[int]]]] = defaultdict(list)
    for s in candidates:
        for dep, providers in reqs.of(s):
            if not providers:
                label, req = str(solvable_label(s)), pool.dep2str(dep)
                reason = f"nothing provides {req} needed by {label}"
                out[s.id] = ClosureProblem(label, req, reason, "nothing-provides", label, req)
                break
            for provider in providers:
                waiting[provider].append((s, dep, providers))
    queue = list(out)
    while queue:
        for s, dep, providers in waiting.pop(queue.pop(), ()):
            if s.id not in out and all(p in out for p in providers):
                root = out[providers[0]]
                label = str(solvable_label(s))
                out[s.id] = ClosureProblem(
                    label,
                    pool.dep2str(dep),
                    root.reason,
                    root.kind,
                    root.root_package,
                    root.root_requirement,
                )
                queue.append(s.id)
    return out


def solve_candidates(
    loaded: LoadedPool, progress: Progress = NO_PROGRESS
) -> tuple[int, list[solv.XSolvable], dict[int, ClosureProblem]]:
    """Install every candidate of the checked repos alone, as dnf would; return
    (checked, broken, explanations)."""
    pool = loaded.pool
    base_jobs = installonly_jobs(pool)
    checked_ids = {r.id for r in loaded.checked}
    to_check = [
        s
        for s in pool.solvables_iter()
        if s.repo.id in checked_ids and s.arch not in ("src", "nosrc") and s.installable()
    ]
    explained = _decided_without_solving(pool, to_check)
    broken = [s for s in to_check if s.id in explained]
    known_good: set[int] = set()
    progress.start("solving", len(to_check))
    try:
        for s in to_check:
            if s.id not in known_good and s.id not in explained:
                solver = dnf_solver(pool)  # fresh: a reused one keeps every earlier rule
                job = pool.Job(solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE, s.id)
                problems = solver.solve([job, *base_jobs])
                if problems:
                    broken.append(s)
                    explained[s.id] = _explain(pool, solver, problems, s)
                else:
                    known_good.update(d for d in solver.raw_decisions(0) if d > 0)
            progress.advance(note=f"{len(broken)} uninstallable" if broken else "")
    finally:
        progress.finish()
    return len(to_check), broken, explained


def check_closure(
    repos: Sequence[RepoSpec],
    extra: Sequence[RepoSpec] = (),
    arch: str = "x86_64",
    modules: bool = True,
    *,
    enable: Iterable[str] = (),
    disable: Iterable[str] = (),
    cache_dir: Path | None = None,
    progress: Progress = NO_PROGRESS,
) -> ClosureResult:
    """Which packages of ``repos`` cannot be installed from ``repos`` + ``extra``, and why."""
    loaded = load_pool(repos, extra, arch=arch, cache_dir=cache_dir, progress=progress)
    if modules:
        apply_modular_filtering(loaded, enable, disable)
    finish_pool(loaded, progress)
    checked, broken, explained = solve_candidates(loaded, progress)
    result = ClosureResult(
        repos=[loaded.sources[r.id].name for r in loaded.checked],
        extra=[loaded.sources[r.id].name for r in loaded.extra],
        arch=arch,
        modules=modules,
        checked=checked,
        filelists_loaded=loaded.filelists_loaded,
        filelists_errors=loaded.filelists_errors,
    )
    result.uninstallable = sorted(str(solvable_label(s)) for s in broken)
    result.problems = sorted((explained[s.id] for s in broken), key=lambda p: p.package)
    result.filtered = sorted(str(solvable_label(loaded.pool.solvables[i])) for i in loaded.filtered)
    result.active_streams = sorted(f"{n}:{s}" for n, s in loaded.active_streams)
    return result
