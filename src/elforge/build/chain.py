"""Build a set of trees wave by wave against their own output (the buildroot repository).

After each wave its binary RPMs go into the buildroot repository (``createrepo_c --update``:
incremental, only new files are read), and the next wave's per-build roots come from it plus
the external repositories. This is the build layer's chain, used for the example's reference
binaries; the engine runs the same waves with its stages, store and executors.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from elforge.build.builders import BuildOptions, BuildResult, find_spec
from elforge.build.plan import BuildPlan, PlanPackage, PlanSettings, make_plan
from elforge.build.rootbuild import RootOptions
from elforge.errors import ToolError
from elforge.proc import run_command

BuildFn = Callable[[str, Path, BuildOptions], BuildResult]


def ensure_repository(repo: Path) -> None:
    """An (empty) rpm-md repository at ``repo`` if there is none yet."""
    if (repo / "repodata" / "repomd.xml").is_file():
        return
    (repo / "Packages").mkdir(parents=True, exist_ok=True)
    _createrepo(repo, update=False)


def _createrepo(repo: Path, *, update: bool) -> None:
    if shutil.which("createrepo_c") is None:
        raise ToolError("createrepo_c is not installed", subject="createrepo_c")
    argv = ["createrepo_c", "-q", "--no-database", *(["--update"] if update else []), str(repo)]
    proc = run_command(argv, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        raise ToolError(f"createrepo_c failed: {tail[0][:300]}", subject=repo)


def add_to_repository(repo: Path, rpms: Iterable[tuple[Path, str]]) -> int:
    """Copy ``rpms`` (path, file name; binary only) into ``repo/Packages`` and update its
    metadata incrementally; returns how many were new."""
    ensure_repository(repo)
    added = 0
    for rpm, filename in rpms:
        if filename.endswith(".src.rpm") or "/" in filename:
            continue
        dest = repo / "Packages" / filename
        if not dest.exists():
            tmp = dest.with_name(f".{dest.name}.tmp")
            shutil.copyfile(rpm, tmp)
            tmp.replace(dest)
            added += 1
    if added:
        _createrepo(repo, update=True)
    return added


def plan_trees(trees: dict[str, Path], settings: PlanSettings) -> BuildPlan:
    packages = []
    for name, tree in sorted(trees.items()):
        layout = find_spec(tree)
        packages.append(PlanPackage(name, layout.spec, layout.sourcedir))
    return make_plan(packages, settings)


@dataclass(frozen=True)
class ChainOutcome:
    plan: BuildPlan
    results: tuple[BuildResult, ...]
    not_built: dict[str, str]  # package -> why (cycle, unresolved requirement, a failed need)


def build_waves(
    trees: dict[str, Path],
    plan: BuildPlan,
    opts: BuildOptions,
    repo: Path,
    build: BuildFn,
    *,
    jobs: int = 2,
) -> ChainOutcome:
    """Build ``plan``'s waves in order, each wave in parallel; a package whose need failed
    is not built (recorded with the reason), the others go on."""
    ensure_repository(repo)
    not_built = dict(plan.not_buildable())
    results: list[BuildResult] = []
    failed: set[str] = set()
    for wave in plan.waves:
        todo: list[str] = []
        for name in wave:
            broken = [n for n in plan.needs.get(name, ()) if n in failed or n in not_built]
            if broken:
                not_built[name] = f"not built: BuildRequires from {', '.join(broken)}, not built"
                failed.add(name)
            else:
                todo.append(name)

        def one(name: str) -> BuildResult:
            return build(name, trees[name], replace(opts, bootstrap=name in plan.bootstrap_mode))

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            done = list(pool.map(one, todo))
        results.extend(done)
        failed |= {r.package for r in done if r.status != "built"}
        add_to_repository(repo, ((Path(f.path), f.filename) for r in done for f in r.rpms))
    return ChainOutcome(plan, tuple(results), not_built)


def with_root(
    opts: BuildOptions, repo: Path, external: Sequence[str], host: Sequence[str]
) -> BuildOptions:
    """``opts`` building in per-build roots from ``repo`` (first) and ``external``."""
    root = RootOptions((str(repo), *external), tuple(host), arch=opts.arch or "x86_64")
    return replace(opts, root=root)
