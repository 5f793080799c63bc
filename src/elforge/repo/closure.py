"""Dependency closure of repositories with libsolv: which packages cannot be installed, and why.

Semantics follow libsolv's ``installcheck`` so that the two agree exactly: every installable
package of the checked repositories (not the ``extra`` ones, which only satisfy
dependencies) is installed alone into an empty system; recommends are ignored. When the
pool holds ``rpm`` for the target architecture, each check also installs it and locks out
secondary-architecture packages that have a namesake in the main architecture (multilib).
Every candidate is solved alone (a successful transaction proves all its packages
installable, so they are not solved again); when some fail, installcheck's pruning by
repeated weak installs of everything decides which failures it would report (a package
installed there counts as installable: this is what lets a multilib i686 -devel package pass
although it alone trips an inferior-architecture rule).

For a broken package the explanation names its own unresolvable requirement and the root
cause: the package deepest in the chain whose requirement nothing provides (or the conflict
that makes the chain impossible), not only the transitive fallout.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
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

SCHEMA = "elforge.repo-closure/1"


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

    @property
    def closed(self) -> bool:
        return not self.uninstallable

    def root_causes(self) -> list[dict[str, Any]]:
        """Distinct root causes with the packages each one breaks, largest first."""
        groups: dict[tuple[str, str], set[str]] = defaultdict(set)
        for p in self.problems:
            groups[(p.root_package or p.package, p.reason)].add(p.package)
        out = [
            {"package": pkg, "reason": reason, "affects": sorted(affected)}
            for (pkg, reason), affected in groups.items()
        ]
        out.sort(key=lambda g: (-len(g["affects"]), g["package"]))
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
        table = Table(
            "Root causes",
            ["package", "reason", "breaks"],
            [[g["package"], g["reason"], len(g["affects"])] for g in self.root_causes()],
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
                ("uninstallable", len(self.uninstallable)),
                ("closed", "yes" if self.closed else "no"),
            ],
            tables=[table] if self.problems else [],
        )


def _rpm_context(loaded: LoadedPool) -> tuple[list[solv.Job], set[int]]:
    """installcheck's extra jobs: install rpm.<arch>, lock out shadowed secondary arches."""
    pool = loaded.pool
    rpm_id = pool.str2id("rpm", False)
    arch_id = pool.str2id(loaded.arch, False)
    if not rpm_id or not arch_id:
        return [], set()
    if not any(s.nameid == rpm_id and s.archid == arch_id for s in pool.solvables_iter()):
        return [], set()
    jobs = [
        pool.Job(
            solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE_NAME,
            pool.rel2id(rpm_id, arch_id, solv.REL_ARCH, True),
        )
    ]
    locked: set[int] = set()
    for s in pool.solvables_iter():
        if s.arch in ("src", "nosrc") or not s.installable() or s.archid == arch_id:
            continue
        for other in pool.whatprovides(s.nameid):
            if other.nameid == s.nameid and other.archid == arch_id:
                locked.add(s.id)
                break
    if locked:
        ids = pool.towhatprovides(sorted(locked))
        jobs.append(pool.Job(solv.Job.SOLVER_LOCK | solv.Job.SOLVER_SOLVABLE_ONE_OF, ids))
    return jobs, locked


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
                dep = info.dep.str() if info.dep is not None else ""
                if t == solv.Solver.SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP:
                    nothing.append((src, dep))
                    if src is not None and src.id == p.id and not own_req:
                        own_req = dep
                elif t == solv.Solver.SOLVER_RULE_PKG_REQUIRES:
                    if src is not None and src.id == p.id and not own_req:
                        own_req = dep
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


def solve_candidates(
    loaded: LoadedPool, progress: Progress = NO_PROGRESS
) -> tuple[int, list[solv.XSolvable], dict[int, ClosureProblem]]:
    """Check every candidate of the checked repos; return (checked, broken, explanations)."""
    pool = loaded.pool
    base_jobs, locked = _rpm_context(loaded)
    checked_ids = {r.id for r in loaded.checked}
    candidates = [
        s
        for s in pool.solvables_iter()
        if s.arch not in ("src", "nosrc") and s.installable() and s.id not in locked
    ]
    # 1. every candidate of the checked repos alone (installcheck's final check); a
    #    successful solve proves its whole transaction installable, so those are skipped
    to_check = [s for s in candidates if s.repo.id in checked_ids]
    failing: list[solv.XSolvable] = []
    explained: dict[int, ClosureProblem] = {}
    known_good: set[int] = set()
    progress.start("solving", len(to_check))
    try:
        for s in to_check:
            if s.id not in known_good:
                solver = pool.Solver()
                solver.set_flag(solv.Solver.SOLVER_FLAG_IGNORE_RECOMMENDED, 1)
                job = pool.Job(solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE, s.id)
                problems = solver.solve([job, *base_jobs])
                if problems:
                    failing.append(s)
                    explained[s.id] = _explain(pool, solver, problems, s)
                else:
                    known_good.update(d for d in solver.raw_decisions(0) if d > 0)
            progress.advance()
    finally:
        progress.finish()
    # 2. installcheck reports only what its pruning (repeated weak installs of every
    #    candidate) leaves: a package installed there counts as installable even if it
    #    fails alone (multilib: an i686 -devel next to its x86_64 namesakes). Skipped when
    #    nothing failed, the common case for a healthy repository.
    remaining = candidates if failing else []
    while remaining:
        solver = pool.Solver()
        solver.set_flag(solv.Solver.SOLVER_FLAG_IGNORE_RECOMMENDED, 1)
        jobs = [
            pool.Job(
                solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE | solv.Job.SOLVER_WEAK, s.id
            )
            for s in remaining
        ]
        solver.solve(jobs + base_jobs)
        installed = {d for d in solver.raw_decisions(0) if d > 0}
        kept = [s for s in remaining if s.id not in installed]
        if len(kept) == len(remaining):
            break
        remaining = kept
    survivors = {s.id for s in remaining}
    broken = [s for s in failing if s.id in survivors]
    checked = sum(1 for s in candidates if s.repo.id in checked_ids)
    return checked, broken, explained


def check_closure(
    repos: Sequence[RepoSpec],
    extra: Sequence[RepoSpec] = (),
    arch: str = "x86_64",
    modules: bool = True,
    *,
    enable: Iterable[str] = (),
    disable: Iterable[str] = (),
    filelists: bool = False,
    cache_dir: Path | None = None,
    progress: Progress = NO_PROGRESS,
) -> ClosureResult:
    """Which packages of ``repos`` cannot be installed from ``repos`` + ``extra``, and why."""
    loaded = load_pool(repos, extra, arch=arch, filelists=filelists, cache_dir=cache_dir)
    if modules:
        apply_modular_filtering(loaded, enable, disable)
    finish_pool(loaded)
    checked, broken, explained = solve_candidates(loaded, progress)
    result = ClosureResult(
        repos=[loaded.sources[r.id].name for r in loaded.checked],
        extra=[loaded.sources[r.id].name for r in loaded.extra],
        arch=arch,
        modules=modules,
        checked=checked,
    )
    labels = {s.id: str(solvable_label(s)) for s in broken}
    result.uninstallable = sorted(labels.values())
    result.problems = sorted((explained[s.id] for s in broken), key=lambda p: p.package)
    result.filtered = sorted(str(solvable_label(loaded.pool.solvables[i])) for i in loaded.filtered)
    result.active_streams = sorted(f"{n}:{s}" for n, s in loaded.active_streams)
    return result
