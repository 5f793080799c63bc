"""Chain builds in the engine: import and patch every package, plan, then build in waves.

1. import and patch run for every package as independent tasks (recorded as they finish);
2. the debranded trees are planned (:func:`elforge.build.plan.make_plan`);
3. each wave's packages build in parallel on the executor, each in a buildroot made from the
   workspace's buildroot repository (``<workspace>/buildroot``: the earlier waves' RPMs) and
   the external repositories; after the wave its RPMs are added to that repository
   (``createrepo_c --update``).

A package in a cycle, with an unresolved BuildRequires, or needing a package that did not
build is not built: its build stage records the reason (the requirement, the cycle's
packages). A build's input hash includes the build input hashes of the packages it builds
against, so a rebuilt library rebuilds what links against it, and a rerun with nothing
changed reuses every build.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from elforge.build.builders import find_spec
from elforge.build.chain import add_to_repository, ensure_repository
from elforge.build.plan import BuildPlan, PlanPackage, PlanSettings, make_plan
from elforge.build.rootbuild import RootOptions
from elforge.engine.executors import Executor
from elforge.engine.planning import buildroot_repository, external_repos, plan_settings
from elforge.engine.protocol import PackageResult, PackageSpec, StageInputs
from elforge.errors import ElforgeError
from elforge.workspace.workspace import Workspace

OnResult = Callable[..., None]  # takes any number of PackageResults
RunTasks = Callable[[OnResult, Executor, list[PackageSpec], str], None]
BEFORE_PLANNING = ("import", "patch")


def not_built(prepared: PackageResult, reason: str) -> PackageResult:
    """The package's import/patch outcomes plus a build outcome that says why not."""
    outcome = StageInputs("build", {"not_built": reason}).outcome("failed", error=reason)
    return PackageResult(prepared.package, {**prepared.outcomes, "build": outcome})


@dataclass
class _Waves:
    """The coordinator's state while building a plan's waves."""

    ws: Workspace
    plan: BuildPlan
    prepared: dict[str, PackageResult]
    specs: dict[str, PackageSpec]
    on_result: OnResult
    external: tuple[str, ...]  # [build] buildroot_repos, after the workspace's own
    host: tuple[str, ...]  # the BuildRequires the host meets
    reasons: dict[str, str] = field(default_factory=dict)
    build_hash: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    wave_rpms: list[tuple[Path, str]] = field(default_factory=list)

    def spec_for(self, name: str) -> PackageSpec:
        spec = self.specs[name]
        build = spec.settings.build
        root = RootOptions(
            repos=(str(buildroot_repository(self.ws)), *self.external),
            host_provides=self.host,
            arch=build.arch or "x86_64",
            cache_dir=self.ws.cache_dir / "buildroot-repos",
            needs=tuple((n, self.build_hash[n]) for n in self.plan.needs.get(name, ())),
        )
        bootstrap = name in self.plan.bootstrap_mode
        settings = replace(spec.settings, build=replace(build, root=root, bootstrap=bootstrap))
        stages = tuple(s for s in spec.stages if s[0] not in BEFORE_PLANNING)
        return replace(spec, settings=settings, stages=stages, context=self.prepared[name].outcomes)

    def finish(self, *results: PackageResult) -> None:
        for result in results:
            build = result.get("build")
            if build is None:
                continue
            self.build_hash[result.package] = build.inputs_hash
            if build.status != "built":
                self.failed.add(result.package)
            else:
                self.wave_rpms += [(Path(f.path), f.filename) for f in build.rpms]
        self.on_result(*results)

    def publish_wave(self) -> None:
        """The wave's RPMs into the buildroot repository, one metadata update per wave (a
        crash before it is healed by the rerun: reused builds are added again)."""
        add_to_repository(buildroot_repository(self.ws), self.wave_rpms)
        self.wave_rpms = []

    def skip(self, name: str, reason: str) -> None:
        self.reasons[name] = reason
        self.on_result(not_built(self.prepared[name], reason))

    def wave_specs(self, wave: tuple[str, ...]) -> list[PackageSpec]:
        todo = []
        for name in wave:
            broken = [n for n in self.plan.needs.get(name, ()) if n in self.failed]
            broken += [n for n in self.plan.needs.get(name, ()) if n in self.reasons]
            if broken:
                self.failed.add(name)
                self.skip(name, f"BuildRequires from {', '.join(sorted(set(broken)))}, not built")
            else:
                todo.append(self.spec_for(name))
        return todo


def _planned(
    settings: PlanSettings, prepared: dict[str, PackageResult]
) -> tuple[BuildPlan, dict[str, str]]:
    """The plan of every package whose import/patch succeeded, and why others cannot be."""
    packages: list[PlanPackage] = []
    reasons: dict[str, str] = {}
    for name, result in prepared.items():
        last = list(result.outcomes.values())[-1]
        tree = last.tree
        if last.stops_chain or tree is None:
            continue
        try:
            layout = find_spec(tree)
        except ElforgeError as exc:
            reasons[name] = str(exc)
            continue
        packages.append(PlanPackage(name, layout.spec, layout.sourcedir))
    plan = make_plan(packages, settings)
    return plan, {**plan.not_buildable(), **reasons}


def run_in_waves(
    on_result: OnResult,
    record_now: OnResult,
    executor: Executor,
    specs: list[PackageSpec],
    ws: Workspace,
    run_tasks: RunTasks,
) -> BuildPlan:
    """Run ``specs`` (whose stages include build) as a chain build; returns the plan."""
    prepared: dict[str, PackageResult] = {}

    def keep(*results: PackageResult) -> None:
        record_now(*results)  # import/patch are in the store before any build starts
        prepared.update((r.package, r) for r in results)

    before = [
        replace(s, stages=tuple(st for st in s.stages if st[0] in BEFORE_PLANNING)) for s in specs
    ]
    run_tasks(keep, executor, before, BEFORE_PLANNING[0])
    settings = plan_settings(ws)
    plan, reasons = _planned(settings, prepared)
    by_name = {s.name: s for s in specs}
    state = _Waves(
        ws, plan, prepared, by_name, on_result, external_repos(ws), settings.host_provides
    )
    for name, result in prepared.items():
        last = list(result.outcomes.values())[-1]
        if last.stops_chain:
            on_result(result)  # drifted, failed import…: nothing to build
        elif name in reasons:
            state.skip(name, reasons[name])
    ensure_repository(buildroot_repository(ws))
    for wave in plan.waves:
        todo = state.wave_specs(wave)
        if todo:
            run_tasks(state.finish, executor, todo, todo[0].stages[0][0])
            state.publish_wave()
    return plan
